"""Mini-batch, streaming and Dask against the exact in-memory fit, on MNIST-60k-shift.

Run ``python -m benchmarks.minibatch_dask`` (``--quick`` for a short run). Needs the MNIST test
images under ``$KMEANSLAB_DATA/mnist`` (read by :func:`benchmarks.shapes.mnist_60k_shift`, the same
MNIST-60k-shift as the speed benchmark: the 10000 test images and five one-pixel shifts of them,
60000 x 784 float32); the Dask rows need ``kmeanslab[dask]``.

Rows printed (times are medians; on a machine shared with other work they are noisy):

* mini-batch: for each k and seed, the exact fit (``KMeans(algorithm="lloyd")``: k-means++, then
  full Lloyd to convergence) and
  ``MiniBatchKMeans`` with the same seed; the median time, the speed-up over the exact fit and
  the inertia relative to the exact fit's (target: within 2% at >= 5x less time). scikit-learn's
  ``MiniBatchKMeans`` is shown for reference.
* streaming: ``KMeans`` on the same data read block by block from a ``.npy`` file (no memory
  map), from the same initial centres as an in-memory fit.
* dask: a LocalCluster of worker processes on this machine (loopback only): the same fit from
  the same initial centres (labels and centres compared with the in-memory fit), the time per
  iteration (the median interval between iterations, and the whole fit over its iterations),
  and a k-means‖-seeded fit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.compare import _start, machine_summary, measure, mnist_60k_shift


def _timed(fn):
    run = measure(fn)
    return run.seconds, run.result


def _row(cells, widths):
    return "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))


# --------------------------------------------------------------------------- mini-batch


def bench_minibatch(X, ks, seeds, batch_size):
    from sklearn.cluster import MiniBatchKMeans as SKMiniBatch

    from kmeanslab import KMeans, MiniBatchKMeans

    # Warm the compiled kernels for float32 before timing anything.
    KMeans(4, random_state=0, max_iter=2).fit(X[:3000])
    MiniBatchKMeans(4, random_state=0, max_iter=1).fit(X[:3000])
    widths = (4, 26, 9, 9, 11, 9, 7)
    print("\n## mini-batch vs exact (MNIST-60k-shift, float32; medians over seeds", list(seeds), ")")
    print(_row(("k", "method", "seconds", "speed-up", "inertia Δ%", "steps/it", "target"), widths))
    rows = []
    for k in ks:
        exact, ours, theirs = [], [], []
        for seed in seeds:
            te, ex = _timed(lambda: KMeans(k, random_state=seed, algorithm="lloyd").fit(X))
            tm, mb = _timed(lambda: MiniBatchKMeans(k, random_state=seed, batch_size=batch_size).fit(X))
            ts, sk = _timed(lambda: SKMiniBatch(k, random_state=seed, batch_size=batch_size, n_init=1).fit(X))
            exact.append((te, ex.inertia_, ex.n_iter_))
            ours.append((tm, mb.inertia_ / ex.inertia_ - 1.0, mb.n_steps_))
            theirs.append((ts, sk.inertia_ / ex.inertia_ - 1.0, sk.n_steps_))
        t_exact = statistics.median(e[0] for e in exact)
        t_ours = statistics.median(o[0] for o in ours)
        t_theirs = statistics.median(s[0] for s in theirs)
        d_ours = statistics.median(o[1] for o in ours)
        d_theirs = statistics.median(s[1] for s in theirs)
        ok = d_ours <= 0.02 and t_exact / t_ours >= 5.0
        print(
            _row(
                (
                    k,
                    "KMeans, exact Lloyd",
                    f"{t_exact:.3f}",
                    "1.0",
                    "0.00",
                    int(statistics.median(e[2] for e in exact)),
                    "",
                ),
                widths,
            )
        )
        print(
            _row(
                (
                    k,
                    "kmeanslab MiniBatchKMeans",
                    f"{t_ours:.3f}",
                    f"{t_exact / t_ours:.1f}",
                    f"{100 * d_ours:+.2f}",
                    int(statistics.median(o[2] for o in ours)),
                    "ok" if ok else "MISSED",
                ),
                widths,
            )
        )
        print(
            _row(
                (
                    k,
                    "sklearn MiniBatchKMeans",
                    f"{t_theirs:.3f}",
                    f"{t_exact / t_theirs:.1f}",
                    f"{100 * d_theirs:+.2f}",
                    int(statistics.median(s[2] for s in theirs)),
                    "",
                ),
                widths,
            )
        )
        worst = max(o[1] for o in ours)
        print(
            f"      per seed, kmeanslab mini-batch inertia Δ%: "
            f"{', '.join(f'{100 * o[1]:+.2f}' for o in ours)} (worst {100 * worst:+.2f})"
        )
        rows.append(dict(k=k, exact_s=t_exact, minibatch_s=t_ours, inertia_rel=d_ours, ok=ok))
    return rows


# --------------------------------------------------------------------------- streaming


def bench_streaming(X, k, seed):
    from kmeanslab import KMeans
    from kmeanslab.scale import LocalBlocks, NpyFile

    start = _start(X, k, seed)
    t_mem, mem = _timed(lambda: KMeans(k, init=start, algorithm="lloyd").fit(X))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mnist60k.npy"
        np.save(path, X)
        with NpyFile(path) as source:
            t_str, st = _timed(lambda: KMeans(k, init=start).fit(LocalBlocks(source)))
    print(f"\n## streaming from a .npy file ({X.nbytes / 2**20:.0f} MiB, 32 MiB blocks, file reads), k={k}")
    widths = (26, 9, 6, 11, 16)
    print(_row(("run", "seconds", "iters", "ms/iter", "labels = memory"), widths))
    print(_row(("in memory (lloyd)", f"{t_mem:.2f}", mem.n_iter_, f"{1e3 * t_mem / mem.n_iter_:.1f}", ""), widths))
    print(
        _row(
            (
                "streamed",
                f"{t_str:.2f}",
                st.n_iter_,
                f"{1e3 * t_str / st.n_iter_:.1f}",
                str(bool(np.array_equal(st.labels_, mem.labels_))),
            ),
            widths,
        )
    )


# --------------------------------------------------------------------------- dask


def _dask_fit(model, X):
    """Fit on the dask array X; returns the seconds and the time of every iteration's end."""
    stamps = []
    run = measure(lambda: model.fit(X, on_iteration=lambda *_: stamps.append(time.perf_counter())))
    return run.seconds, 1e3 * float(np.median(np.diff(stamps))) if len(stamps) > 1 else float("nan")


def bench_dask(X, k, seed, n_workers, n_blocks):
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("\n## dask: skipped (pip install 'kmeanslab[dask]')")
        return
    from distributed import Client, LocalCluster

    from kmeanslab import KMeans
    from kmeanslab.scale import NpyFile, as_dask_array

    start = _start(X, k, seed).astype(np.float64)
    widths = (30, 8, 6, 8, 10, 16, 12)
    t_boot = time.perf_counter()
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        t_boot = time.perf_counter() - t_boot
        print(
            f"\n## dask LocalCluster: {n_workers} worker processes x 1 thread, {n_blocks} blocks, k={k} "
            f"(cluster start {t_boot:.1f} s); the workers read their blocks from a .npy file"
        )
        print(_row(("run", "seconds", "iters", "ms/iter", "median it.", "labels = memory", "centres rel."), widths))
        for dtype in (np.float32, np.float64):
            data = X.astype(dtype)
            path = Path(tmp) / f"x-{np.dtype(dtype).name}.npy"
            np.save(path, data)
            init = start.astype(dtype)
            t_mem, mem = _timed(lambda: KMeans(k, init=init, algorithm="lloyd").fit(data))
            Xd = client.persist(as_dask_array(NpyFile(path), min_blocks=n_blocks))
            assert Xd.numblocks[0] >= n_blocks
            KMeans(k, init=init, max_iter=1).fit(Xd)  # workers import kmeanslab and load the kernels
            dk = KMeans(k, init=init)
            t_d, it_ms = _dask_fit(dk, Xd)
            labels = dk.labels_.compute()
            rel = np.max(np.abs(dk.cluster_centers_ - mem.cluster_centers_)) / np.max(np.abs(mem.cluster_centers_))
            name = np.dtype(dtype).name
            print(
                _row(
                    (f"in memory, {name}", f"{t_mem:.2f}", mem.n_iter_, f"{1e3 * t_mem / mem.n_iter_:.1f}", "", "", ""),
                    widths,
                )
            )
            print(
                _row(
                    (
                        f"dask, {name}, same init",
                        f"{t_d:.2f}",
                        dk.n_iter_,
                        f"{1e3 * t_d / dk.n_iter_:.1f}",
                        f"{it_ms:.1f}",
                        f"{np.mean(labels == mem.labels_):.4%}",
                        f"{rel:.1e}",
                    ),
                    widths,
                )
            )
            if dtype == np.float32:
                t_pp, pp = _timed(lambda: KMeans(k, random_state=seed).fit(data))
                t_par, par = _timed(lambda: KMeans(k, random_state=seed).fit(Xd))
                print(
                    _row(
                        ("in memory, k-means++ seeding", f"{t_pp:.2f}", pp.n_iter_, "", "", "", f"I={pp.inertia_:.5g}"),
                        widths,
                    )
                )
                print(
                    _row(
                        ("dask, k-means‖ seeding", f"{t_par:.2f}", par.n_iter_, "", "", "", f"I={par.inertia_:.5g}"),
                        widths,
                    )
                )
            Xd = None  # let the cluster forget the persisted blocks
        d = X.shape[1]
        print(
            f"      per iteration over the network: the centres ({k * d * 4 / 1e3:.0f} kB in float32) to each "
            f"worker, {n_blocks} partials of {(k * d + k + 1) * 8 / 1e3:.0f} kB combined on the workers, "
            f"one of them to the client; the data: nothing"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.minibatch_dask", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="k=10 and 20, one seed (about a minute)")
    parser.add_argument("--ks", default="10,20,100", help="cluster counts for the mini-batch rows")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per k")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    parser.add_argument("--blocks", type=int, default=8, help="Dask blocks")
    parser.add_argument("--dask-k", type=int, default=10)
    parser.add_argument("--skip", default="", help="comma-separated sections to skip: minibatch,streaming,dask")
    args = parser.parse_args(argv)
    ks = [10, 20] if args.quick else [int(k) for k in args.ks.split(",")]
    seeds = range(1 if args.quick else args.seeds)
    skip = set(filter(None, args.skip.split(",")))
    from kmeanslab.errors import DatasetNotFoundError

    try:
        X = mnist_60k_shift()
    except DatasetNotFoundError as exc:
        raise SystemExit(f"{exc}; set KMEANSLAB_DATA to the directory that holds mnist/") from None
    print(
        f"MNIST-60k-shift: {X.shape[0]} x {X.shape[1]} {X.dtype}; {time.strftime('%Y-%m-%d')}; "
        f"load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    print(f"# {machine_summary()}")
    if "minibatch" not in skip:
        bench_minibatch(X, ks, seeds, args.batch_size)
    if "streaming" not in skip:
        bench_streaming(X, 10, seed=0)
    if "dask" not in skip:
        bench_dask(X, args.dask_k, seed=0, n_workers=args.workers, n_blocks=args.blocks)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
