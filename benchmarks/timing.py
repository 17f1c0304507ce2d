"""How the benchmark measures: alternating rounds, medians, peak RSS, and the machine's floor.

Everything compared in one cell runs in one process, alternately (A, B, C, A, B, C, ...), so
that a machine shared with other work slows all of them alike; tables report medians over the
rounds and ratios of medians.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "READ_BYTES_PER_S",
    "PEAK_FLOPS",
    "Run",
    "measure",
    "alternate",
    "median",
    "floor_seconds",
    "floor_bound",
    "machine_peaks",
    "proc_status_kib",
    "reset_peak_rss",
    "run_child",
]

REPOSITORY = Path(__file__).resolve().parents[1]  # where ``python -m benchmarks...`` finds the package

# The machine model (memory read bandwidth, float32 matrix-product peak), used where the
# machine's own could not be measured.
READ_BYTES_PER_S = 13e9
PEAK_FLOPS = 159e9
SETTLE_S = 0.25  # pause before each timed run; see alternate


def proc_status_kib(key: str) -> int | None:
    """A ``/proc/self/status`` field in KiB (``VmRSS``, ``VmHWM``), None where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@dataclass
class Run:
    """One timed call: wall seconds, extra peak RSS in bytes (NaN if unknown), what it returned."""

    seconds: float
    peak_bytes: float
    result: Any = None


def measure(fn: Callable[[], Any]) -> Run:
    """Call ``fn()`` once; time it and measure its peak RSS above the RSS it started from.

    Memory the allocator kept from earlier calls and reuses is not counted: the peak is a lower
    bound (exact peaks come from the memory section, in a fresh process).
    """
    tracked = reset_peak_rss()
    before = proc_status_kib("VmRSS")
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    peak = proc_status_kib("VmHWM") if tracked else None
    extra = float("nan") if peak is None or before is None else max(0, peak - before) * 1024.0
    return Run(seconds, extra, result)


def alternate(
    runners: dict[str, Callable[[], Any]], repeats: int, log=None, keep: str = "last", settle_s: float | None = None
) -> dict[str, list[Run]]:
    """Run every runner once per round, in turn, for ``repeats`` rounds.

    Round r starts at the r-th runner (A B C, B C A, C A B, ...), so that no runner always
    follows the same one, and each run starts ``settle_s`` seconds (default :data:`SETTLE_S`)
    after the previous one ended: OpenMP and TBB workers keep spinning a while after a parallel
    region (by default up to 200 ms for Intel's runtimes), and would otherwise steal the next
    runner's cores. With ``keep="last"`` only each runner's last result is kept (earlier ones
    are dropped to free their labels); ``keep="all"`` keeps every result.
    """
    names = list(runners)
    settle_s = SETTLE_S if settle_s is None else settle_s
    runs: dict[str, list[Run]] = {name: [] for name in names}
    for r in range(repeats):
        shift = r % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            time.sleep(settle_s)
            run = measure(runners[name])
            if keep == "last" and runs[name]:
                runs[name][-1].result = None
            runs[name].append(run)
            if log:
                log(f"    round {r + 1}/{repeats} {name}: {run.seconds:.3f} s")
    return runs


def median(values) -> float:
    """The median of the values that are not NaN (NaN when none is left)."""
    values = [v for v in values if v == v]
    return float(statistics.median(values)) if values else float("nan")


def floor_seconds(
    n: int,
    d: int,
    k: int,
    itemsize: int = 4,
    read_bytes_per_s: float = READ_BYTES_PER_S,
    peak_flops: float = PEAK_FLOPS,
) -> float:
    """The floor for one full Lloyd iteration: ``max(bytes of X / bandwidth, 2nkd / peak)``.

    The defaults are the issue's machine model (13 GB/s, 159 GFLOP/s); :func:`machine_peaks`
    measures the machine the benchmark runs on.
    """
    return max(n * d * itemsize / read_bytes_per_s, 2.0 * n * k * d / peak_flops)


def floor_bound(
    n: int,
    d: int,
    k: int,
    itemsize: int = 4,
    read_bytes_per_s: float = READ_BYTES_PER_S,
    peak_flops: float = PEAK_FLOPS,
) -> str:
    """Which term of :func:`floor_seconds` is the larger: ``"compute"`` or ``"memory"``."""
    return "compute" if 2.0 * n * k * d / peak_flops >= n * d * itemsize / read_bytes_per_s else "memory"


def _parallel_sum():
    import numba

    @numba.njit(parallel=True, cache=True, fastmath=True)
    def parallel_sum(a):
        total = np.float32(0.0)
        for i in numba.prange(a.shape[0]):
            total += a[i]
        return total

    return parallel_sum


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def machine_peaks(repeats: int = 5) -> dict:
    """This machine's float32 matrix-product peak (FLOP/s) and memory read bandwidth (bytes/s).

    Best of ``repeats``: a 2048-square float32 product through NumPy's BLAS, and a parallel sum
    over 512 MiB (far beyond the caches) on numba's threads.
    """
    rng = np.random.default_rng(0)
    A = rng.random((2048, 2048), dtype=np.float32)
    B = rng.random((2048, 2048), dtype=np.float32)
    A @ B
    gemm = min(_timed(lambda: A @ B) for _ in range(repeats))
    big = np.ones(2**27, dtype=np.float32)
    parallel_sum = _parallel_sum()
    parallel_sum(big[:1024])
    read = min(_timed(lambda: parallel_sum(big)) for _ in range(repeats))
    return dict(peak_flops=2.0 * 2048**3 / gemm, read_bytes_per_s=big.nbytes / read)


def run_child(flag: str, spec: dict, timeout: float | None = None, env: dict | None = None):
    """``python -m benchmarks.compare FLAG JSON`` in a fresh process, from the repository root.

    Returns the ``subprocess.CompletedProcess``; raises ``subprocess.TimeoutExpired`` (after
    killing the child) when it runs past ``timeout`` seconds.
    """
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.compare", flag, json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPOSITORY,
        timeout=timeout,
        check=False,
    )
