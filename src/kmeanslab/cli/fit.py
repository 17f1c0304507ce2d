"""``kmeanslab fit``: cluster a data file and report what came out."""

from __future__ import annotations

import argparse
import os
import re

import numpy as np

from ..cluster import ALGORITHMS, EMPTY_POLICIES, INIT_METHODS, STOP_RULES, KMeans
from ..errors import InputError
from ..io import open_input, prepare_out_dir, read_npy_header, staged_output_dir, write_csv, write_json
from ..scale import STREAM_MIN_BYTES, as_dask_array, connect, open_npy
from ..validation import check_values, iter_row_chunks
from ._common import (
    add_data_arguments,
    auto_or_positive_int,
    check_seed,
    console,
    load_data,
    non_negative_float,
    positive_int,
)

OUTPUTS = ("centers.csv", "labels.csv", "model.npz", "summary.json")
# Rows per block when a streamed .npy file is checked before its fit (about 32 MiB of float64).
_CHECK_BLOCK_BYTES = 32 * 2**20


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "fit",
        parents=[common],
        help="cluster DATA into k clusters and print a summary",
        description="Cluster DATA with k-means; print k, iterations, inertia, the mean squared "
        "distance and the cluster sizes; with --out, write centers.csv, labels.csv, "
        "summary.json and model.npz.",
    )
    add_data_arguments(p, optional=True)
    p.add_argument("-k", "--clusters", dest="k", type=positive_int, default=2, help="number of clusters (default: 2)")
    p.add_argument(
        "--init",
        default="k-means++",
        choices=INIT_METHODS,
        help="initialisation (default: k-means++)",
    )
    p.add_argument(
        "--n-init",
        type=auto_or_positive_int,
        default="auto",
        help="runs from different initialisations (default: auto)",
    )
    p.add_argument("--max-iter", type=positive_int, default=300, help="most iterations per run (default: 300)")
    p.add_argument("--tol", type=non_negative_float, default=1e-4, help="tolerance of the stop rule (default: 1e-4)")
    p.add_argument("--stop", choices=STOP_RULES, default="shift", help="stop rule (default: shift)")
    p.add_argument(
        "--empty",
        choices=EMPTY_POLICIES,
        default="relocate",
        help="empty-cluster policy (default: relocate)",
    )
    p.add_argument(
        "--algorithm",
        choices=ALGORITHMS,
        default="auto",
        help="assignment algorithm (default: auto)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--out", metavar="DIR", help="write centers.csv, labels.csv, summary.json, model.npz here")
    p.add_argument("--verbose", action="store_true", help="print the loss at every iteration")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="fit on a Dask cluster: a scheduler address (tcp://host:8786), or local:N "
        "to start a local cluster of N worker processes (needs kmeanslab[dask])",
    )
    p.set_defaults(handler=run_fit)


def check_scheduler(text: str) -> str:
    """``--scheduler``: ``local:N`` (1 <= N <= 4 x the CPUs: each worker is a process) or an address."""
    if not text.startswith("local:"):
        return text
    count = text.split(":", 1)[1]
    most = 4 * (os.cpu_count() or 1)
    # ASCII digits only: "²".isdigit() is True, but int("²") fails.
    if not re.fullmatch(r"[0-9]+", count) or not 1 <= int(count) <= most:
        raise InputError(
            f"--scheduler {text!r} is not valid; expected local:N with 1 <= N <= {most} worker processes "
            f"(4 per CPU), or an address"
        )
    return text


def run_fit(args: argparse.Namespace) -> int:

    check_seed(args.seed)
    if args.scheduler:
        check_scheduler(args.scheduler)
    if args.out is not None:
        prepare_out_dir(args.out, create=False)  # fail before the work, create nothing yet
    X, names, source = _load(args)
    model = KMeans(
        n_clusters=args.k,
        init=args.init,
        n_init=args.n_init,
        max_iter=args.max_iter,
        tol=args.tol,
        stop=args.stop,
        empty=args.empty,
        algorithm=args.algorithm,
        random_state=args.seed,
        verbose=args.verbose,
    )
    if args.scheduler:
        _fit_on_dask(model, X, args.scheduler)
    else:
        model.fit(X)
    summary = fit_summary(model, source, names)
    written = None
    if args.out is not None:
        # Everything is written before anything is printed: a run that fails prints nothing on stdout.
        with staged_output_dir(args.out, last=("summary.json",)) as staged:
            write_csv(staged / "centers.csv", model.cluster_centers_, header=names)
            write_csv(staged / "labels.csv", model.labels_, header=["label"])
            if hasattr(model, "save"):
                model.save(staged / "model.npz")
            write_json(staged / "summary.json", summary)
        written = staged.committed
    print_summary(summary)
    if written is not None:
        console.print(f"wrote {', '.join(sorted(written))} to {args.out}")
    return 0


def _load(args: argparse.Namespace):
    """DATA as ``load_data`` reads it, except a large C-ordered ``.npy``: opened for block reads.

    KMeans then streams it (see :mod:`kmeanslab.scale`) instead of mapping it whole. Its values
    are checked here first, block by block, so that an error names the file and the row.
    """
    path = getattr(args, "data", None)
    if path and str(path).lower().endswith(".npy") and not args.columns:
        with open_input(path, "a .npy file") as handle:
            header = read_npy_header(handle, os.path.basename(path))
        rows_contiguous = not header.fortran_order or len(header.shape) == 1 or header.shape[1:] == (1,)
        if header.nbytes >= STREAM_MIN_BYTES and rows_contiguous and len(header.shape) in (1, 2):
            source = open_npy(path)
            _check_streamed(source, os.path.basename(path))
            return source, [f"x{i}" for i in range(source.shape[1])], str(path)
    return load_data(args)


def _check_streamed(source, name: str) -> None:
    """Every value of a streamed ``.npy`` finite and small enough, read one block at a time."""
    n, d = source.shape
    work = np.float32 if source.dtype == np.float32 else np.float64
    if source.dtype.kind not in "fiub":
        raise InputError(f"{name}: holds {source.dtype} values; expected a numeric array")
    rows = max(1, _CHECK_BLOCK_BYTES // (8 * d))
    for start, stop in iter_row_chunks(n, rows):
        check_values(np.asarray(source.read(start, stop), dtype=work), name, n_samples=n, row_offset=start)


def _fit_on_dask(model, X, scheduler: str) -> None:
    """Fit on the Dask cluster at ``scheduler``; the labels come back for the summary and files."""

    with connect(scheduler) as client:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        model.fit(as_dask_array(X, min_blocks=2 * n_workers))
        model.labels_ = np.asarray(model.labels_)


def fit_summary(model, source: str, names: list[str]) -> dict:
    """What a fit produced, as plain JSON-ready values."""
    sizes = np.bincount(model.labels_, minlength=model.n_clusters).tolist()
    n = int(model.labels_.shape[0])
    return {
        "data": source,
        "n_samples": n,
        "n_features": int(model.n_features_in_),
        "feature_names": list(names),
        "k": int(model.n_clusters),
        "init": model.init if isinstance(model.init, str) else "array",
        "seed": model.random_state,
        "algorithm": model.algorithm_,
        "iterations": int(model.n_iter_),
        "converged": bool(model.converged_),
        "inertia": float(model.inertia_),
        "mean_squared_distance": float(model.inertia_) / n,
        "cluster_sizes": sizes,
        "loss_history": [float(v) for v in model.loss_history_],
        "centers": np.asarray(model.cluster_centers_, dtype=float).tolist(),
    }


def print_summary(summary: dict) -> None:
    """The short human summary of a fit."""
    state = "converged" if summary["converged"] else "stopped at --max-iter"
    console.print(
        f"kmeanslab fit: {summary['data']} ({summary['n_samples']} x {summary['n_features']}), "
        f"k={summary['k']}, init={summary['init']}, seed={summary['seed']}"
    )
    console.print(f"  {state} after {summary['iterations']} iterations ({summary['algorithm']})")
    console.print(f"  inertia                {summary['inertia']:.6g}")
    console.print(f"  mean squared distance  {summary['mean_squared_distance']:.6g}")
    console.print(f"  cluster sizes          {summary['cluster_sizes']}")
