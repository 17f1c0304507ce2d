"""The matrix: every shape x every contender, to convergence and per full iteration, and the
peak memory of each ``auto`` fit in a fresh process.

Every contender in a cell starts from the same centres (:func:`benchmarks.shapes.start_rows`
with seed ``seed + k``), runs alternately with the others for ``repeats`` rounds, and is
reported by its median. Inertia is recomputed in float64 from each fit's labels and centres,
the same way for every library, and compared with scikit-learn's Lloyd, as are the labels.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
from sklearn.cluster import MiniBatchKMeans as SklearnMiniBatchKMeans

from kmeanslab.cluster import ALGORITHMS, KMeans, MiniBatchKMeans

from .peers import Failed, Fit, exact_inertia, guarded, kmeanslab_contenders, peer_contenders
from .shapes import Shape, shapes_for, start_rows
from .timing import alternate, floor_bound, floor_seconds, median, proc_status_kib, reset_peak_rss, run_child

__all__ = [
    "REFERENCE",
    "warm_up",
    "x_nbytes",
    "cell_floor",
    "convergence_cell",
    "iteration_cell",
    "memory_cell",
    "memory_child",
]

REFERENCE = "sklearn lloyd"  # inertia and labels are compared with this contender's


def warm_up(X, peers: bool = True) -> None:
    """Compile (or load) every kernel the timed kmeanslab runs use, so no timing includes it.

    Each peer runs once too (``peers``): first calls pay for imports and thread pools.
    """
    small = X[: min(4096, X.shape[0])]
    for k in (3, 80):
        if small.shape[0] < 2 * k:
            continue
        start = start_rows(small, k, 0)
        for algorithm in ALGORITHMS:
            KMeans(k, init=start, n_init=1, max_iter=4, tol=0.0, algorithm=algorithm).fit(small)
        MiniBatchKMeans(k, init=start, n_init=1, max_iter=1, batch_size=256, random_state=0).fit(small)
        if peers:
            SklearnMiniBatchKMeans(k, init=start, n_init=1, max_iter=1, batch_size=256, random_state=0).fit(small)
            for contender in peer_contenders():
                if not (contender.dense_only and hasattr(small, "nnz")):
                    guarded(contender.make(small, start, 2, 1e-4))()


def x_nbytes(X) -> int:
    """Bytes of X: the array's, or a CSR matrix's data, indices and row pointers."""
    if hasattr(X, "indptr"):
        return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
    return int(X.nbytes)


def cell_floor(X, k: int, peaks: dict | None = None) -> tuple[float, str]:
    """The floor of one full Lloyd iteration on X (seconds) and which term bounds it.

    ``max(bytes of X / read bandwidth, 2 n k d / GEMM peak)``; for sparse X the multiply-adds are
    ``nnz k``. ``peaks`` is :func:`benchmarks.timing.machine_peaks`'s result (the issue's machine
    model without it).
    """
    peaks = peaks or {}
    n, d = X.shape
    if hasattr(X, "nnz"):  # a sparse matrix: bytes and multiply-adds by its stored entries
        equivalent_d = X.nnz / n
        itemsize = x_nbytes(X) / (n * equivalent_d)
        return (
            floor_seconds(n, equivalent_d, k, itemsize, **peaks),
            floor_bound(n, equivalent_d, k, itemsize, **peaks),
        )
    return floor_seconds(n, d, k, X.itemsize, **peaks), floor_bound(n, d, k, X.itemsize, **peaks)


def _contenders(X, ours_only: bool, own=None, peer_names=None, faiss_iterations=None):
    contenders = kmeanslab_contenders(own)
    if not ours_only:
        contenders += peer_contenders(faiss_iterations, peer_names)
    skipped = {}
    if hasattr(X, "nnz"):
        skipped = {c.name: "skipped: dense input only" for c in contenders if c.dense_only}
        contenders = [c for c in contenders if not c.dense_only]
    return contenders, skipped


def _scored(X, fit, reference) -> dict:
    """Inertia (float64) and, given the reference fit, the relative difference and agreement."""
    inertia = exact_inertia(X, fit.centers, fit.labels)
    out = dict(inertia=inertia, inertia_rel=float("nan"), agreement=float("nan"))
    if reference is not None:
        ref_inertia, ref_labels = reference
        out["inertia_rel"] = inertia / ref_inertia - 1.0 if ref_inertia > 0 else 0.0
        out["agreement"] = float(np.mean(np.asarray(fit.labels).ravel() == ref_labels))
    return out


def convergence_cell(
    X,
    shape: Shape,
    k: int,
    repeats: int,
    seed: int = 0,
    tol: float = 1e-4,
    ours_only: bool = False,
    own=None,
    peer_names=None,
    log=None,
) -> list[dict]:
    """One cell to convergence: a row per contender, then a ``convergence-cell`` summary row.

    faiss (no tolerance) runs as many iterations as scikit-learn's Lloyd took in the same round.
    """
    max_iter = shape.iterations_cap(k)
    start = start_rows(X, k, seed + k)
    reference_iterations: dict[str, int] = {}
    contenders, skipped = _contenders(
        X, ours_only, own, peer_names, faiss_iterations=lambda cap: reference_iterations.get("n", cap)
    )
    runners = {}
    for c in contenders:
        fit = guarded(c.make(X, start, max_iter, tol))
        if c.name == REFERENCE:
            fit = _remember_iterations(fit, reference_iterations)
        runners[c.name] = fit
    if log:
        log(f"  convergence {shape.key} k={k} (max_iter {max_iter})")
    runs = alternate(runners, repeats, log)
    return _convergence_rows(X, shape, k, max_iter, contenders, runs, skipped)


def _remember_iterations(fit, store):
    def call():
        result = fit()
        if isinstance(result, Fit):
            store["n"] = result.n_iter
        return result

    return call


def _convergence_rows(X, shape, k, max_iter, contenders, runs, skipped) -> list[dict]:
    ref_run = runs.get(REFERENCE, [None])[-1]
    reference = None
    if ref_run is not None and isinstance(ref_run.result, Fit):
        ref_fit = ref_run.result
        reference = (exact_inertia(X, ref_fit.centers, ref_fit.labels), np.asarray(ref_fit.labels).ravel())
    base = dict(section="convergence", shape=shape.key, data=shape.label, k=k, max_iter=max_iter)
    rows = []
    for c in contenders:
        rs = runs[c.name]
        last = rs[-1].result
        if isinstance(last, Failed):
            rows.append(dict(base, contender=c.name, ours=c.ours, note=last.note))
            continue
        seconds = median(r.seconds for r in rs)
        rows.append(
            dict(
                base,
                contender=c.name,
                ours=c.ours,
                ran=last.ran,
                seconds=seconds,
                iterations=last.n_iter,
                converged=last.n_iter < max_iter,
                ms_per_iter=1e3 * seconds / max(1, last.n_iter),
                peak_mib=median(r.peak_bytes for r in rs) / 2**20,
                **_scored(X, last, reference),
            )
        )
    rows += [dict(base, contender=name, ours=False, note=note) for name, note in skipped.items()]
    timed = [r for r in rows if "seconds" in r]
    peers = [r for r in timed if not r["ours"]]
    own = [r for r in timed if r["ours"] and r["contender"] != "kmeanslab auto"]
    best_peer = min(peers, key=lambda r: r["seconds"]) if peers else None
    for r in timed:
        r["vs_best_peer"] = best_peer["seconds"] / r["seconds"] if best_peer else float("nan")
    auto = next((r for r in timed if r["contender"] == "kmeanslab auto"), None)
    fastest_own = min(own, key=lambda r: r["seconds"]) if own else None
    rows.append(
        dict(
            base,
            section="convergence-cell",
            best_peer=best_peer["contender"] if best_peer else None,
            best_peer_s=best_peer["seconds"] if best_peer else float("nan"),
            auto_s=auto["seconds"] if auto else float("nan"),
            auto_ran=auto["ran"] if auto else None,
            auto_inertia_rel=auto["inertia_rel"] if auto else float("nan"),
            auto_iterations=auto["iterations"] if auto else None,
            fastest_own=fastest_own["contender"] if fastest_own else None,
            fastest_own_s=fastest_own["seconds"] if fastest_own else float("nan"),
            reference_inertia=reference[0] if reference else float("nan"),
        )
    )
    return rows


def iteration_cell(
    X,
    shape: Shape,
    k: int,
    repeats: int,
    n_iter: int = 10,
    seed: int = 0,
    peaks: dict | None = None,
    ours_only: bool = False,
    peer_names=None,
    log=None,
) -> list[dict]:
    """Time per full Lloyd iteration (every distance computed) against the cell's floor.

    Each contender runs 1 and ``1 + n_iter`` iterations (tol 0) from the same centres; the time
    per iteration is the difference of the medians over the difference of the iterations, so
    that what a fit does once (checks, row norms, the final labels) is not counted.
    """
    start = start_rows(X, k, seed + k)
    contenders, skipped = _contenders(X, ours_only, ["lloyd"], peer_names)
    contenders = [c for c in contenders if c.name != "sklearn elkan"]
    runners = {}
    for c in contenders:
        runners[(c.name, 1)] = guarded(c.make(X, start, 1, 0.0))
        runners[(c.name, 1 + n_iter)] = guarded(c.make(X, start, 1 + n_iter, 0.0))
    if log:
        log(f"  iteration {shape.key} k={k}")
    runs = alternate(runners, repeats, log)
    floor_s, bound = cell_floor(X, k, peaks)
    base = dict(section="iteration", shape=shape.key, data=shape.label, k=k, floor_ms=1e3 * floor_s, bound=bound)
    rows = []
    for c in contenders:
        short, long = runs[(c.name, 1)], runs[(c.name, 1 + n_iter)]
        failed = next((r.result for r in (short[-1], long[-1]) if isinstance(r.result, Failed)), None)
        if failed:
            rows.append(dict(base, contender=c.name, note=failed.note))
            continue
        extra_iterations = long[-1].result.n_iter - short[-1].result.n_iter
        seconds = median(r.seconds for r in long) - median(r.seconds for r in short)
        ms = 1e3 * seconds / extra_iterations if extra_iterations > 0 else float("nan")
        rows.append(
            dict(
                base,
                contender=c.name,
                ran=long[-1].result.ran,
                iterations=long[-1].result.n_iter,
                fit_s=median(r.seconds for r in long),
                ms_per_iter=ms,
                vs_floor=ms / (1e3 * floor_s),
            )
        )
    rows += [dict(base, contender=name, note=note) for name, note in skipped.items()]
    ref = next((r for r in rows if r["contender"] == REFERENCE and "ms_per_iter" in r), None)
    for r in rows:
        if "ms_per_iter" in r:
            r["vs_sklearn"] = ref["ms_per_iter"] / r["ms_per_iter"] if ref else float("nan")
    return rows


# --------------------------------------------------------------------------- memory


def memory_child(spec: dict) -> dict:
    """In a fresh process: make the cell's data, warm the kernels, fit ``auto``, report peak RSS."""
    baseline_kib = proc_status_kib("VmRSS")
    shape = shapes_for(spec["quick"])[spec["shape"]]
    X = shape.data(spec.get("data_home"))
    k = spec["k"]
    start = start_rows(X, k, spec["seed"] + k)
    warm_up(X, peers=False)
    tracked = reset_peak_rss()
    before_kib = proc_status_kib("VmRSS")
    t0 = time.perf_counter()
    km = KMeans(k, init=start, n_init=1, max_iter=shape.iterations_cap(k), tol=spec["tol"], algorithm="auto").fit(X)
    seconds = time.perf_counter() - t0
    peak_kib = proc_status_kib("VmHWM") if tracked else None
    return dict(
        shape=shape.key,
        data=shape.label,
        n=X.shape[0],
        d=X.shape[1],
        k=k,
        ran=getattr(km, "algorithm_", "?"),
        x_mib=x_nbytes(X) / 2**20,
        baseline_mib=(baseline_kib or 0) / 1024,
        before_fit_mib=(before_kib or 0) / 1024,
        peak_mib=(peak_kib or float("nan")) / 1024,
        iterations=int(km.n_iter_),
        seconds=seconds,
    )


def memory_cell(shape: Shape, k: int, quick: bool, seed: int = 0, tol: float = 1e-4, data_home=None) -> dict:
    """Peak RSS of the cell's ``auto`` fit, in a fresh subprocess, against X + 64 MiB + 16 B/row.

    ``extra_mib`` is the peak during the fit above the RSS just before it (X made, kernels
    compiled). glibc's mmap threshold is fixed at 128 KiB in the child, so that memory freed by
    one allocation is returned and the peak is exact.
    """
    spec = dict(shape=shape.key, quick=quick, k=k, seed=seed, tol=tol, data_home=data_home and str(data_home))
    done = run_child("--memory-child", spec, env=dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(128 * 1024)))
    row = dict(section="memory", shape=shape.key, data=shape.label, k=k)
    if done.returncode != 0:
        return dict(row, note=f"the child failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    row.update(result)
    row["section"] = "memory"
    row["extra_mib"] = result["peak_mib"] - result["before_fit_mib"]
    row["allowed_mib"] = 64.0 + 16.0 * result["n"] / 2**20
    row["ok"] = row["extra_mib"] <= row["allowed_mib"]
    return row
