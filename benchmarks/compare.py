"""The speed benchmark: a matrix of shapes x contenders, and a check of every target of issue 17.

Run it as ``python -m benchmarks.compare`` or ``make bench`` (which first installs the peers);
``--quick`` for a few minutes' run, ``--sections`` and ``--shapes`` to choose. The output is
markdown (tables, then a PASS/MISSED list) to paste into ``benchmarks/RESULTS.md``.

Sections (see :data:`SECTIONS`; the modules named hold the details):

* ``convergence`` (:mod:`benchmarks.matrix`): every shape and k of :mod:`benchmarks.shapes`, to
  convergence (tol 1e-4) from the same initial centres: kmeanslab ``auto`` and each of its
  algorithms, scikit-learn Lloyd and Elkan, scikit-learn-intelex (oneDAL) and faiss-cpu
  (:mod:`benchmarks.peers`), alternately, medians of ``--repeats`` rounds (default 3);
* ``iteration``: one full Lloyd iteration per cell against the cell's floor on this machine,
  ``max(bytes of X / read bandwidth, 2 n k d / GEMM peak)`` (both measured at the start);
* ``memory``: the peak RSS of each cell's ``auto`` fit, in a fresh process;
* ``minibatch`` (:mod:`benchmarks.beyond`): ``MiniBatchKMeans`` against scikit-learn's;
* ``out-of-core``: a ``.npy`` above the streaming threshold, against the same fit in memory;
* ``seeding``: k-means++ on that file against ten Lloyd iterations, and greedy k-means++ on
  MNIST against ``sklearn.cluster.kmeans_plusplus``;
* ``cold-start``: ``benchmarks/cold_start.py`` (issue 11), when it is there;
* ``silhouette``: ``benchmarks/silhouette.py`` (issue 14), when it is there;
* ``scaling``: time per iteration at d = 32 as n grows tenfold.

The sparse TF-IDF shape joins the matrix once ``KMeans`` accepts scipy.sparse (found by trying);
until then it is listed as skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import time

import numba
import numpy as np
import sklearn
from threadpoolctl import threadpool_info

from kmeanslab import __version__
from kmeanslab._core import compute_context  # noqa: F401  (imports the kernels before any timing)
from kmeanslab.errors import InputError, KMeansLabError
from kmeanslab.io import write_text

from .beyond import (
    minibatch_cell,
    mnist_seeding_rows,
    out_of_core_n,
    out_of_core_rows,
    scaling_rows,
    seeding_child,
    sparse_support,
)
from .checks import check_rows
from .matrix import convergence_cell, iteration_cell, memory_cell, memory_child, warm_up
from .peers import peer_notes
from .shapes import SHAPES, _shifted, blobs32, mnist_60k_shift, mnist_test_images, shapes_for, start_rows
from .tables import format_tables
from .timing import REPOSITORY, Run, alternate, floor_seconds, machine_peaks, measure, median

__all__ = [
    "SECTIONS",
    "mnist_60k_shift",
    "mnist_test_images",
    "blobs32",
    "floor_seconds",
    "machine_peaks",
    "measure",
    "alternate",
    "median",
    "Run",
    "machine_summary",
    "run",
    "main",
    "_shifted",
    "_start",
]

SECTIONS = (
    "convergence",
    "iteration",
    "memory",
    "minibatch",
    "out-of-core",
    "seeding",
    "cold-start",
    "silhouette",
    "scaling",
)
MATRIX_SECTIONS = ("convergence", "iteration", "memory")
BUSY_LOAD = 1.5  # a one-minute load average above this at the start gets a warning in the output

# The mini-batch rows: the issue names MNIST-60k-shift at k = 10 and 100, and the blobs shapes.
MINIBATCH_KS = {"mnist": (10, 100), "blobs2": (10, 100), "blobs64": (1000,)}
QUICK_MINIBATCH_KS = {"mnist": (10,), "blobs2": (10,)}


def _start(X, k: int, seed: int) -> np.ndarray:
    """Every contender's first centres (kept under its old name for ``benchmarks.minibatch_dask``)."""
    return start_rows(X, k, seed)


# --------------------------------------------------------------------------- machine


def machine_summary() -> str:
    """One line: CPU model, cores, BLAS, library versions."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    blas = next((f"{p['internal_api']} {p['version']}" for p in threadpool_info() if p["user_api"] == "blas"), "?")
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__} ({blas}), "
        f"numba {numba.__version__}, scikit-learn {sklearn.__version__}, kmeanslab {__version__}"
    )


# --------------------------------------------------------------------------- other scripts


def cold_start_rows(quick: bool, data_home, log) -> list[dict]:
    """``benchmarks/cold_start.py``'s measurement (issue 11) and its two checks."""
    if importlib.util.find_spec("benchmarks.cold_start") is None:
        return [_skipped("cold start", "benchmarks/cold_start.py is not there yet")]
    from benchmarks import cold_start

    printed: list[str] = []
    runs = cold_start.run(repeats=1 if quick else 3, data_home=data_home and str(data_home), log=printed.append)
    for line in printed:
        log(line)
    rows = [dict(section="text", title="Cold start (empty numba cache, fresh process)", body="\n".join(printed))]
    faithful_limit = getattr(cold_start, "FAITHFUL_LIMIT_S", 3.0)
    mnist_limit = getattr(cold_start, "MNIST_EXTRA_LIMIT_S", 5.0)
    faithful = median(r["faithful_s"] for r in runs)
    rows.append(
        _check(
            "cold start, first KMeans(2).fit on Old Faithful",
            faithful <= faithful_limit,
            f"{faithful:.2f} s after the import (<= {faithful_limit:g} s), median of {len(runs)}",
        )
    )
    if all("mnist_first_s" in r for r in runs):
        extra = median(r["mnist_first_s"] - r["mnist_warm_s"] for r in runs)
        warm = median(r["mnist_warm_s"] for r in runs)
        rows.append(
            _check(
                "cold start, first float32 MNIST fit at k = 10",
                extra <= mnist_limit,
                f"{warm + extra:.2f} s = warm {warm:.2f} s + {extra:.2f} s (<= warm + {mnist_limit:g} s)",
            )
        )
    else:
        rows.append(_skipped("cold start, first float32 MNIST fit", runs[0].get("mnist_error", "no MNIST")))
    return rows


_VERDICT = re.compile(r"\b(met|missed|pass|passed|fail|failed)\b", re.IGNORECASE)


def silhouette_rows(quick: bool, data_home, log, timeout: float = 3600.0) -> list[dict]:
    """``python -m benchmarks.silhouette`` (issue 14) as it prints; its verdict lines become checks."""
    if importlib.util.find_spec("benchmarks.silhouette") is None:
        return [_skipped("silhouette", "benchmarks/silhouette.py is not there yet")]
    command = [sys.executable, "-m", "benchmarks.silhouette"]
    env = dict(os.environ, **({"KMEANSLAB_DATA": str(data_home)} if data_home else {}))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), env.get("PYTHONPATH")]))
    usage = subprocess.run(
        command + ["--help"], capture_output=True, text=True, env=env, cwd=REPOSITORY, check=False
    ).stdout
    if quick and "--quick" in usage:
        command.append("--quick")
    if data_home and "--data-home" in usage:
        command += ["--data-home", str(data_home)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=REPOSITORY, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return [_skipped("silhouette", f"python -m benchmarks.silhouette did not finish within {timeout:.0f} s")]
    body = done.stdout
    if done.returncode != 0:
        return [
            _skipped("silhouette", f"python -m benchmarks.silhouette failed ({done.returncode}): {done.stderr[-300:]}")
        ]
    log(body)
    return [dict(section="text", title="Silhouette (benchmarks/silhouette.py)", body=body)] + verdict_checks(
        "silhouette", body
    )


def verdict_checks(name: str, printed: str) -> list[dict]:
    """A check for each printed line (not a table row) that says met, missed, pass or fail."""
    rows = []
    for line in printed.splitlines():
        found = _VERDICT.findall(line)
        if found and not line.lstrip().startswith("|"):
            ok = not any(word.lower() in ("missed", "fail", "failed") for word in found)
            rows.append(_check(name, ok, line.strip().lstrip("-* ")))
    return rows


def _check(name: str, ok: bool, detail: str) -> dict:
    return dict(section="check", name=name, status="PASS" if ok else "MISSED", detail=detail)


def _skipped(name: str, detail: str) -> dict:
    return dict(section="check", name=name, status="SKIPPED", detail=detail)


# --------------------------------------------------------------------------- the run


def _matrix_rows(shape, X, args, peaks, log) -> list[dict]:
    rows: list[dict] = []
    minibatch_ks = (QUICK_MINIBATCH_KS if args.quick else MINIBATCH_KS).get(shape.key, ())
    for k in shape.ks:
        reference_inertia = None
        if "convergence" in args.sections:
            cell = convergence_cell(X, shape, k, args.repeats, peer_names=args.peers, log=log)
            rows += cell
            reference_inertia = cell[-1]["reference_inertia"]
        if "iteration" in args.sections:
            n_iter = 3 if args.quick else 5
            rows += iteration_cell(X, shape, k, args.repeats, n_iter, peaks=peaks, peer_names=args.peers, log=log)
        if "memory" in args.sections:
            if log:
                log(f"  memory {shape.key} k={k}")
            rows.append(memory_cell(shape, k, args.quick, data_home=args.data_home))
        if "minibatch" in args.sections and k in minibatch_ks:
            rows += minibatch_cell(X, shape, k, args.repeats, exact_inertia_of_cell=reference_inertia, log=log)
    return rows


def run(args, log=print) -> dict:
    """Run the benchmark as ``args`` (see :func:`build_parser`) say; returns rows, checks and text."""
    started = time.perf_counter()
    shapes = shapes_for(args.quick)
    header = [
        f"# kmeanslab benchmark ({'quick' if args.quick else 'full'}), {time.strftime('%Y-%m-%d %H:%M %Z')}, "
        f"{args.repeats} rounds, load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}",
        f"# {machine_summary()}",
        "# peers: " + "; ".join(f"{name} {note}" for name, note in peer_notes().items()),
    ]
    load = os.getloadavg()[0]
    if load > BUSY_LOAD:
        header.append(
            f"# WARNING: load average {load:.1f} on {os.cpu_count()} cores: other work shares this machine; the "
            "times and the measured peaks (hence the floors) are not the machine's"
        )
    for line in header:
        log(line)
    peaks = None
    if "iteration" in args.sections:
        peaks = machine_peaks()
        header.append(
            f"# this machine: float32 matrix product {peaks['peak_flops'] / 1e9:.0f} GFLOP/s, memory read "
            f"{peaks['read_bytes_per_s'] / 1e9:.1f} GB/s (the floors use these)"
        )
        log(header[-1])
    rows: list[dict] = []
    wants_data = set(args.sections) & {*MATRIX_SECTIONS, "minibatch", "seeding"}
    sparse_ok, sparse_note = sparse_support()
    warmed: set[str] = set()
    for key in args.shapes:
        shape = shapes[key]
        if shape.sparse and not sparse_ok:
            rows.append(_skipped(f"sparse row ({shape.label})", sparse_note))
            continue
        if not wants_data:
            continue
        t0 = time.perf_counter()
        X = shape.data(args.data_home)
        log(f"# {shape.label}: made in {time.perf_counter() - t0:.1f} s")
        kind = "sparse" if shape.sparse else "dense"
        if kind not in warmed:
            warm_up(X)
            warmed.add(kind)
        rows += _matrix_rows(shape, X, args, peaks, log)
        if "seeding" in args.sections and key == "mnist":
            rows += mnist_seeding_rows(X, (10,) if args.quick else (10, 100), args.repeats, log=log)
        del X
    if "out-of-core" in args.sections:
        d, k = 32, (100 if args.quick else 1000)
        rows += out_of_core_rows(
            out_of_core_n(d, args.quick),
            d,
            k,
            args.repeats,
            n_iter=2 if args.quick else 3,
            seeding=("seeding" in args.sections),
            seeding_repeats=args.seeding_repeats,
            seeding_timeout=args.seeding_timeout,
            tmp_dir=args.tmp_dir,
            log=log,
        )
    if "cold-start" in args.sections:
        rows += cold_start_rows(args.quick, args.data_home, log)
    if "silhouette" in args.sections:
        rows += silhouette_rows(args.quick, args.data_home, log)
    if "scaling" in args.sections:
        ns = (10**4, 10**5) if args.quick else (10**5, 10**6, 10**7)
        rows += scaling_rows(ns, repeats=1 if args.quick else 3, log=log)
    checks = check_rows(rows)
    text = "\n".join(header) + "\n" + format_tables(rows)
    text += "\n\n## Against the issue's targets\n\n" + "\n".join(f"- {c.line()}" for c in checks)
    text += f"\n\n(whole run: {(time.perf_counter() - started) / 60:.1f} min)"
    log(text)
    return dict(rows=rows, checks=[c.__dict__ for c in checks], text=text, peaks=peaks)


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes, 1 round: a few minutes, for development")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)"
    )
    parser.add_argument(
        "--shapes", default=",".join(SHAPES), help=f"comma-separated subset of {','.join(SHAPES)} (default: all)"
    )
    parser.add_argument(
        "--peers",
        default=None,
        help="comma-separated peers to run (sklearn lloyd, sklearn elkan, sklearnex (oneDAL), faiss-cpu; default all)",
    )
    parser.add_argument("--repeats", type=int, default=None, help="rounds of alternating runs (default 3; quick 1)")
    parser.add_argument(
        "--seeding-repeats", type=int, default=1, help="rounds of the k-means++ fit on the out-of-core file (default 1)"
    )
    parser.add_argument(
        "--seeding-timeout",
        type=float,
        default=None,
        help="seconds after which the seeding on the file is stopped and counted as missed (default 300; quick 120)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the rows and checks as JSON")
    parser.add_argument("--out", metavar="FILE", help="also write the markdown (tables and checks) to FILE")
    parser.add_argument(
        "--data-home",
        metavar="DIR",
        default=None,
        help="directory holding mnist/ (default: $KMEANSLAB_DATA, else the user data cache)",
    )
    parser.add_argument("--tmp-dir", metavar="DIR", default=None, help="where the out-of-core .npy is written")
    return parser


def _names(value: str, allowed, option: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in value.split(",") if s.strip())
    unknown = [s for s in names if s not in allowed]
    if unknown or not names:
        raise InputError(
            f"{option} has unknown name(s) {', '.join(unknown) or '(none given)'}; expected some of {', '.join(allowed)}"
        )
    return names


def parse_args(argv) -> argparse.Namespace:
    """Parsed and checked arguments (an :class:`kmeanslab.errors.InputError` names a bad one)."""
    args = build_parser().parse_args(argv)
    args.sections = _names(args.sections, SECTIONS, "--sections")
    args.shapes = _names(args.shapes, tuple(SHAPES), "--shapes")
    if args.peers is not None:
        args.peers = _names(
            args.peers, ("sklearn lloyd", "sklearn elkan", "sklearnex (oneDAL)", "faiss-cpu"), "--peers"
        )
    for option in ("repeats", "seeding_repeats"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise InputError(f"--{option.replace('_', '-')}={value} is not valid; expected an integer >= 1")
    if args.seeding_timeout is not None and not args.seeding_timeout > 0:
        raise InputError(f"--seeding-timeout={args.seeding_timeout} is not valid; expected a number of seconds > 0")
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.seeding_timeout = args.seeding_timeout or (120.0 if args.quick else 300.0)
    return args


def main(argv=None) -> int:
    """``python -m benchmarks.compare``; also the child process of the memory section."""
    argv = list(sys.argv[1:] if argv is None else argv)
    children = {"--memory-child": memory_child, "--seeding-child": seeding_child}
    if argv[:1] and argv[0] in children:
        print(json.dumps(children[argv[0]](json.loads(argv[1]))))
        return 0
    try:
        args = parse_args(argv)
        result = run(args)
        if args.json:
            write_text(args.json, json.dumps(result, indent=1, default=_jsonable))  # atomically
        if args.out:
            write_text(args.out, result["text"] + "\n")
    except KMeansLabError as exc:
        print(f"benchmarks.compare: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _jsonable(value):
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
