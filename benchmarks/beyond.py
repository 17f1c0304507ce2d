"""Rows beyond the exact in-memory matrix: mini-batch, out of core, seeding, sparse, scaling.

* mini-batch: ``MiniBatchKMeans`` of both libraries with their default stopping rules, the same
  initial centres, batch size and seed (a new seed each round). "Same inertia, 2x sooner" is
  measured as the **stop times at matched final inertia**: each library's whole ``fit`` is timed
  until it stops by itself, and the final inertia (recomputed in float64 from the returned
  centres and labels) is compared; kmeanslab meets the target when its median time is at most
  half scikit-learn's and its median inertia at most 0.5% above scikit-learn's.
* out of core: a ``.npy`` file larger than the streaming threshold
  (``kmeanslab.scale.STREAM_MIN_BYTES``), read once beforehand so that it is in the page cache,
  fitted through ``kmeanslab.scale.open_npy`` (block reads, as ``kmeanslab fit big.npy`` does) and
  through a NumPy memory map, against the same data in memory; full Lloyd from the same centres,
  time per iteration as in the matrix's iteration rows (1 and 1 + N iterations).
* seeding: k-means++ on that file, timed as ``KMeans(init="k-means++", max_iter=1)`` minus the
  one-iteration fit from given centres (so whatever the estimator does for the file, k-means‖ or
  a seeding sample, is counted), against ten Lloyd iterations on the same source; and greedy
  k-means++ in memory on MNIST against ``sklearn.cluster.kmeans_plusplus``.
* sparse: whether ``KMeans`` accepts a scipy.sparse matrix, found by trying.
* scaling: time per full Lloyd iteration as n grows tenfold (d = 32).
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import MiniBatchKMeans as SklearnMiniBatchKMeans
from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus

from kmeanslab._core import row_sq_norms
from kmeanslab.cluster import KMeans, MiniBatchKMeans, kmeans_plusplus, lloyd
from kmeanslab.scale import STREAM_MIN_BYTES, is_out_of_core, open_npy

from .peers import exact_inertia
from .shapes import Shape, blobs32, gaussian32, start_rows
from .timing import alternate, median, run_child

__all__ = [
    "minibatch_cell",
    "sparse_support",
    "out_of_core_rows",
    "write_npy",
    "seeding_child",
    "mnist_seeding_rows",
    "scaling_rows",
]


# --------------------------------------------------------------------------- mini-batch


def _minibatch(estimator, X, start, batch_size, seed_of_round):
    counter = iter(range(10**9))

    def fit():
        seed = seed_of_round(next(counter))
        km = estimator(len(start), init=start, n_init=1, batch_size=batch_size, random_state=seed).fit(X)
        return km.cluster_centers_, km.labels_, int(km.n_steps_)

    return fit


def minibatch_cell(
    X,
    shape: Shape,
    k: int,
    repeats: int,
    seed: int = 0,
    batch_size: int = 1024,
    exact_inertia_of_cell: float | None = None,
    log=None,
) -> list[dict]:
    """kmeanslab's ``MiniBatchKMeans`` against scikit-learn's: time to stop, steps, final inertia."""
    start = start_rows(X, k, seed + k)
    runners = {
        "kmeanslab MiniBatchKMeans": _minibatch(MiniBatchKMeans, X, start, batch_size, lambda r: seed + r),
        "sklearn MiniBatchKMeans": _minibatch(SklearnMiniBatchKMeans, X, start, batch_size, lambda r: seed + r),
    }
    if log:
        log(f"  mini-batch {shape.key} k={k}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = alternate(runners, repeats, log, keep="all")
    rows = []
    for name, rs in runs.items():
        inertias = [exact_inertia(X, r.result[0], r.result[1]) for r in rs]
        rows.append(
            dict(
                section="minibatch",
                shape=shape.key,
                data=shape.label,
                k=k,
                batch_size=batch_size,
                contender=name,
                seconds=median(r.seconds for r in rs),
                steps=median(r.result[2] for r in rs),
                inertia=median(inertias),
                vs_exact=median(inertias) / exact_inertia_of_cell - 1.0 if exact_inertia_of_cell else float("nan"),
            )
        )
        for r in rs:
            r.result = None
    ours, theirs = rows
    for r in rows:
        r["speedup_vs_sklearn"] = theirs["seconds"] / r["seconds"]
        r["inertia_vs_sklearn"] = r["inertia"] / theirs["inertia"] - 1.0
    return rows


# --------------------------------------------------------------------------- sparse


def sparse_support() -> tuple[bool, str]:
    """Whether ``kmeanslab.cluster.KMeans`` fits a scipy.sparse CSR matrix (found by trying)."""
    X = sp.csr_matrix(np.array([[1.0, 0.0, 0.0], [0.9, 0.0, 0.1], [0.0, 0.0, 1.0], [0.0, 0.2, 0.9]], np.float32))
    try:
        KMeans(2, n_init=1, random_state=0).fit(X)
    except Exception as exc:  # whatever the refusal, the row is skipped with it
        return (
            False,
            f"KMeans does not accept scipy.sparse yet ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})",
        )
    return True, "KMeans accepts scipy.sparse"


# --------------------------------------------------------------------------- out of core


def write_npy(path: Path, n: int, d: int, seed: int = 0) -> None:
    """Standard Gaussian rows (:func:`benchmarks.shapes.gaussian32`) written straight into a ``.npy``.

    One Gaussian rather than blobs: from random rows of blobs, some of k >= 100 centres lose
    all their points in the first iteration, and what the estimator then does (relocation,
    a warning with a count of the distinct rows) is not the cost of an iteration.
    """
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    gaussian32(n, d, seed=seed, out=out)
    out.flush()
    del out


def _read_through(path: Path, chunk_bytes: int = 2**26) -> None:
    """Read the whole file once, so that the timed fits find it in the page cache."""
    with open(path, "rb") as f:
        while f.read(chunk_bytes):
            pass


def _fit_seconds(X, k, init, max_iter, seed):
    def fit():
        km = KMeans(k, init=init, n_init=1, max_iter=max_iter, tol=0.0, algorithm="lloyd", random_state=seed)
        km.fit(X)
        return int(km.n_iter_)

    return fit


SEEDING_SOURCE = ".npy, block reads (open_npy)"


def out_of_core_rows(
    n: int,
    d: int,
    k: int,
    repeats: int,
    n_iter: int = 3,
    seeding: bool = True,
    seeding_repeats: int = 1,
    seeding_timeout: float = 300.0,
    seed: int = 0,
    tmp_dir=None,
    log=None,
) -> list[dict]:
    """Per-iteration time from a ``.npy`` file (block reads, memory map) against in memory;
    then k-means++ seeding on the file against ten of its Lloyd iterations.

    One untimed round first: the streaming path's kernels compile only on data above the
    threshold. The seeding runs in a child process (:func:`seeding_child`) that is stopped after
    ``seeding_timeout`` seconds, so that a slow seeding cannot stall the whole benchmark.
    """
    rows = []
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="kmeanslab-bench-") as tmp:
        path = Path(tmp) / f"gaussian-{n}x{d}.npy"
        t0 = time.perf_counter()
        write_npy(path, n, d, seed)
        _read_through(path)
        if log:
            log(f"  out of core: wrote {path.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - t0:.1f} s")
        in_memory = np.load(path)
        sources = {
            "in memory": in_memory,
            SEEDING_SOURCE: open_npy(path),
            ".npy, memory map": np.load(path, mmap_mode="r"),
        }
        start = start_rows(in_memory, k, seed + k)
        runners = {}
        for name, X in sources.items():
            runners[(name, 1)] = _fit_seconds(X, k, start, 1, seed)
            runners[(name, 1 + n_iter)] = _fit_seconds(X, k, start, 1 + n_iter, seed)
        if log:
            log(f"  out of core: n={n} d={d} k={k}, full Lloyd, 1 and {1 + n_iter} iterations (and a warm-up)")
        for name in sources:
            runners[(name, 1)]()
        runs = alternate(runners, repeats, log)
        per_iteration = {}
        for name, X in sources.items():
            short, long = runs[(name, 1)], runs[(name, 1 + n_iter)]
            extra = long[-1].result - short[-1].result
            seconds = (median(r.seconds for r in long) - median(r.seconds for r in short)) / max(1, extra)
            per_iteration[name] = seconds
            rows.append(
                dict(
                    section="out-of-core",
                    source=name,
                    n=n,
                    d=d,
                    k=k,
                    file_mib=n * d * 4 / 2**20,
                    threshold_mib=STREAM_MIN_BYTES / 2**20,
                    streamed=bool(is_out_of_core(X)),
                    one_iteration_fit_s=median(r.seconds for r in short),
                    ms_per_iter=1e3 * seconds,
                )
            )
        for r in rows:
            r["vs_in_memory"] = r["ms_per_iter"] / (1e3 * per_iteration["in memory"])
        for X in sources.values():
            close = getattr(X, "close", None)
            if close:
                close()
        del sources, in_memory
        if seeding:
            rows.append(
                _seeding_row(path, k, seed, per_iteration[SEEDING_SOURCE], seeding_repeats, seeding_timeout, log)
            )
    return rows


def _seeding_row(path: Path, k: int, seed: int, iteration_s: float, repeats: int, timeout: float, log) -> dict:
    n, d = np.load(path, mmap_mode="r").shape
    row = dict(section="seeding-file", source=SEEDING_SOURCE, n=n, d=d, k=k, iteration_s=iteration_s, rounds=repeats)
    spec = dict(path=str(path), k=k, seed=seed, repeats=repeats)
    if log:
        log(f"  seeding k={k} on the file, in a child process (stopped after {timeout:.0f} s)")
    try:
        done = run_child("--seeding-child", spec, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(row, timed_out=timeout, note=f"stopped after {timeout:.0f} s")
    if done.returncode != 0:
        return dict(row, note=f"the child failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    seeding_s = result["kmeans_plusplus_fit_s"] - result["given_centres_fit_s"]
    return dict(row, fit_s=result["kmeans_plusplus_fit_s"], seeding_s=seeding_s, in_iterations=seeding_s / iteration_s)


def seeding_child(spec: dict) -> dict:
    """In a fresh process: one-iteration fits on the file from given centres and from k-means++,
    alternately (after an untimed warm-up), medians of ``repeats``."""
    source = open_npy(spec["path"])
    k, seed = spec["k"], spec["seed"]
    start = start_rows(np.load(spec["path"], mmap_mode="r"), k, seed + k)
    given = _fit_seconds(source, k, start, 1, seed)
    given()
    runs = alternate({"given": given, "k-means++": _fit_seconds(source, k, "k-means++", 1, seed)}, spec["repeats"])
    return dict(
        given_centres_fit_s=median(r.seconds for r in runs["given"]),
        kmeans_plusplus_fit_s=median(r.seconds for r in runs["k-means++"]),
    )


# --------------------------------------------------------------------------- seeding in memory


def mnist_seeding_rows(X, ks, repeats: int, seed: int = 0, log=None) -> list[dict]:
    """Greedy k-means++ (2 + ln k trials): ``kmeanslab.cluster.kmeans_plusplus`` against scikit-learn's."""
    rows = []
    for k in ks:
        runners = {
            "kmeanslab k-means++": lambda k=k: kmeans_plusplus(X, k, np.random.default_rng(seed), x_sq=row_sq_norms(X)),
            "sklearn kmeans_plusplus": lambda k=k: sklearn_kmeans_plusplus(X, k, random_state=seed)[0],
        }
        if log:
            log(f"  seeding k={k}")
        runs = alternate(runners, repeats, log)
        ref = median(r.seconds for r in runs["sklearn kmeans_plusplus"])
        for name, rs in runs.items():
            s = median(r.seconds for r in rs)
            rows.append(
                dict(
                    section="seeding",
                    k=k,
                    n=X.shape[0],
                    contender=name,
                    seconds=s,
                    vs_sklearn=ref / s,
                    peak_mib=median(r.peak_bytes for r in rs) / 2**20,
                )
            )
    return rows


# --------------------------------------------------------------------------- scaling


def scaling_rows(ns, d: int = 32, k: int = 100, n_iter: int = 6, repeats: int = 3, seed: int = 0, log=None):
    """Time per full Lloyd iteration (median over the iterations after the first) as n grows."""
    rows = []
    base = None
    for n in ns:
        X = blobs32(n, d, seed=seed)
        x_sq = row_sq_norms(X)
        start = start_rows(X, k, seed).astype(np.float64)
        per_iter = []
        for _ in range(repeats):
            stamps: list[float] = []
            lloyd(
                X,
                start,
                max_iter=n_iter,
                tol=0.0,
                algorithm="lloyd",
                x_sq=x_sq,
                verbose=True,
                log=lambda _msg: stamps.append(time.perf_counter()),
            )
            steps = np.diff(stamps[:n_iter])
            per_iter.extend(steps[1:] if len(steps) > 1 else steps)
        ms = 1e3 * median(per_iter)
        base = base or (n, ms)
        rows.append(
            dict(
                section="scaling",
                n=n,
                d=d,
                k=k,
                ms_per_iter=ms,
                ratio_to_first=ms / base[1],
                linear_ratio=n / base[0],
                vs_linear=ms / (base[1] * n / base[0]),
            )
        )
        if log:
            log(f"  scaling n={n}: {ms:.1f} ms/iteration")
        del X, x_sq
    return rows


def out_of_core_n(d: int, quick: bool, full_n: int = 10_000_000) -> int:
    """Rows of the out-of-core file: the issue's 10,000,000, or (quick) just above the threshold."""
    return math.ceil(1.05 * STREAM_MIN_BYTES / (4 * d)) if quick else full_n
