"""Cold start (issue 11): what the first fits cost in a fresh process with an empty numba cache.

Each repeat runs one subprocess with a new, empty ``NUMBA_CACHE_DIR``. It imports kmeanslab,
then times, after the import:

* ``faithful_s``: the first ``KMeans(2).fit`` on Old Faithful (float64, 272 x 2);
* ``mnist_first_s``: then the first float32 fit on the MNIST test split (10000 x 784, k = 10);
* ``mnist_warm_s``: the same fit once more, everything compiled.

Without MNIST the row has ``mnist_error`` instead of the two MNIST times. The compile seconds
numba reported (:func:`kmeanslab._kernels.compile_seconds`, wall time) come along as
``*_compile_s``, and the process's CPU seconds (all its threads) as ``*_cpu_s``: on a shared
machine the wall time also counts the time the process waited for a core.

    python -m benchmarks.cold_start [--repeats 3] [--data-home DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable

FAITHFUL_LIMIT_S = 3.0
MNIST_EXTRA_LIMIT_S = 5.0

_CHILD = r"""
import json, sys, time
import numpy as np

began = time.perf_counter()
import kmeanslab
from kmeanslab import KMeans
from kmeanslab._kernels import compile_seconds
from kmeanslab.datasets import load_faithful, load_mnist

out = {"import_s": time.perf_counter() - began}
data_home, mnist_rows = sys.argv[1] or None, int(sys.argv[2])
X = load_faithful().data
compiled, cpu = compile_seconds(), time.process_time()
began = time.perf_counter()
KMeans(2, random_state=0).fit(X)
out["faithful_s"] = time.perf_counter() - began
out["faithful_compile_s"] = compile_seconds() - compiled
out["faithful_cpu_s"] = time.process_time() - cpu
try:
    M = load_mnist("test", data_home=data_home).data.astype(np.float32)
except Exception as error:  # no MNIST here: the row says why
    out["mnist_error"] = f"{type(error).__name__}: {error}"
else:
    M = np.ascontiguousarray(M[:mnist_rows] if mnist_rows > 0 else M)
    for key in ("mnist_first", "mnist_warm"):
        compiled, cpu = compile_seconds(), time.process_time()
        began = time.perf_counter()
        KMeans(10, random_state=0).fit(M)
        out[key + "_s"] = time.perf_counter() - began
        out[key + "_compile_s"] = compile_seconds() - compiled
        out[key + "_cpu_s"] = time.process_time() - cpu
print(json.dumps(out))
"""


def measure_once(data_home: str | None = None, mnist_rows: int = 0, timeout: float = 900.0) -> dict:
    """One fresh subprocess with an empty numba cache; returns its timings (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="kmeanslab-cold-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, data_home or "", str(int(mnist_rows))],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"the cold-start child failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["notice"] = "compiling kernels, first run only" in done.stderr
    return result


def _line(i: int, r: dict) -> str:
    text = f"run {i + 1}: Old Faithful first fit {r['faithful_s']:.2f} s (compiling {r['faithful_compile_s']:.2f} s)"
    if "mnist_first_s" in r:
        extra = r["mnist_first_s"] - r["mnist_warm_s"]
        text += (
            f"; MNIST float32 k=10 first fit {r['mnist_first_s']:.2f} s = warm {r['mnist_warm_s']:.2f} s"
            f" + {extra:.2f} s (compiling {r['mnist_first_compile_s']:.2f} s; CPU time"
            f" {r['mnist_first_cpu_s']:.2f} s = warm {r['mnist_warm_cpu_s']:.2f} s"
            f" + {r['mnist_first_cpu_s'] - r['mnist_warm_cpu_s']:.2f} s)"
        )
    else:
        text += f"; MNIST skipped ({r['mnist_error']})"
    return text


def run(
    repeats: int = 3,
    data_home: str | None = None,
    log: Callable[[str], None] = print,
    *,
    mnist_rows: int = 0,
    timeout: float = 900.0,
) -> list[dict]:
    """``repeats`` cold starts, one subprocess each; logs a line per run and the medians.

    ``mnist_rows`` > 0 fits only the first rows of MNIST (for quick checks of the script).
    """
    runs = []
    for i in range(repeats):
        runs.append(measure_once(data_home, mnist_rows, timeout))
        log(_line(i, runs[-1]))
    if runs:
        text = f"median of {len(runs)}: Old Faithful {statistics.median(r['faithful_s'] for r in runs):.2f} s"
        if all("mnist_first_s" in r for r in runs):
            extra = statistics.median(r["mnist_first_s"] - r["mnist_warm_s"] for r in runs)
            extra_cpu = statistics.median(r["mnist_first_cpu_s"] - r["mnist_warm_cpu_s"] for r in runs)
            text += f"; MNIST first fit = warm + {extra:.2f} s (CPU time: warm + {extra_cpu:.2f} s)"
        log(text)
    return runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--mnist-rows", type=int, default=0)
    args = parser.parse_args(argv)
    run(args.repeats, args.data_home, mnist_rows=args.mnist_rows)


if __name__ == "__main__":
    main()
