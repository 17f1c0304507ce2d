"""``kmeanslab fit``: cluster a data file and report what came out."""

from __future__ import annotations

import argparse
import os
import re

import numpy as np

from ..cluster import ALGORITHMS, EMPTY_POLICIES, INIT_METHODS, STOP_RULES, KMeans
from ..errors import InputError
from ..io import open_input, prepare_out_dir, read_npy_header, staged_output_dir, write_csv, write_json
from ..io.model_file import add_preprocessing
from ..io.tables import is_sparse_table, read_sparse_table
from ..scale import STREAM_MIN_BYTES, as_dask_array, connect, open_npy
from ..validation import check_data, check_values, iter_row_chunks
from ._common import (
    add_data_arguments,
    add_metric_argument,
    add_progress_argument,
    add_scale_argument,
    auto_or_positive_int,
    check_seed,
    console,
    describe_sizes,
    load_data,
    non_negative_float,
    positive_int,
    progress_bar,
)
from ._labels import add_label_arguments, check_label_arguments, labels_frame, write_labels
from ._scaling import Scaling, fit_scaling

OUTPUTS = ("centers.csv", "labels.csv", "model.npz", "summary.json")
# Rows per block when a streamed .npy file is checked before its fit (about 32 MiB of float64).
_CHECK_BLOCK_BYTES = 32 * 2**20


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "fit",
        parents=[common],
        help="cluster DATA into k clusters and print a summary",
        description="Cluster DATA with k-means; print k, iterations, inertia, the mean squared "
        "distance and the cluster sizes (their distribution for large k); with --out, write centers.csv "
        "(in the data's units), labels.csv (an id column, then each row's label), summary.json and "
        "model.npz (with the --scale rescaling, which predict applies to new rows).",
    )
    add_data_arguments(p, optional=True, sparse=True)
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
    add_metric_argument(p)
    add_scale_argument(p, stored=True)
    p.add_argument("--out", metavar="DIR", help="write centers.csv, labels.csv, summary.json, model.npz here")
    add_label_arguments(p)
    p.add_argument("--verbose", action="store_true", help="print the loss at every iteration")
    add_progress_argument(p)
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
    # The id column and the input rows are read (and checked) before the fit, which may take long.
    rows = labels_frame(args, X.shape[0]) if args.out is not None else None
    if args.out is None:
        check_label_arguments(args, "fit", "--out DIR")
    scaling = fit_scaling(X, args.scale)
    fitted_X = scaling.apply(X)
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
        metric=args.kmeans_metric,
    )
    if args.scheduler:
        _fit_on_dask(model, fitted_X, args.scheduler)
    else:
        _fit_with_progress(model, fitted_X, args.progress)
    summary = fit_summary(model, source, names, scaling)
    written = None
    if args.out is not None:
        # Everything is written before anything is printed: a run that fails prints nothing on stdout.
        with staged_output_dir(args.out, last=("summary.json",)) as staged:
            write_csv(staged / "centers.csv", np.asarray(summary["centers"]), header=names)
            write_labels(staged / "labels.csv", rows, model.labels_, write_csv)
            if hasattr(model, "save"):
                model.save(staged / "model.npz")
                if scaling.kind != "none":
                    add_preprocessing(staged / "model.npz", scaling.as_record())
            write_json(staged / "summary.json", summary)
        written = staged.committed
    print_summary(summary, verbose=args.verbose)
    if written is not None:
        console.print(f"wrote {', '.join(sorted(written))} to {args.out}")
    return 0


def _fit_with_progress(model: KMeans, X, enabled: bool) -> None:
    """``model.fit(X)``, with a bar counting its runs on stderr when there is more than one."""
    n_init = model.n_init
    if n_init == "auto":
        n_init = 1 if isinstance(model.init, str) and model.init == "k-means++" else model._n_init_when_auto
    if n_init == 1:
        model.fit(X)
        return
    started = [0]
    with progress_bar(enabled, n_init, f"fit, k={model.n_clusters}", unit="runs") as advance:

        def on_iteration(iteration: int, centers, loss: float) -> None:
            # Iteration 1 of a run after the first: the run before it has ended.
            if iteration == 1:
                if started[0]:
                    advance()
                started[0] += 1

        model.fit(X, on_iteration=on_iteration)
        advance()


def _load(args: argparse.Namespace):
    """DATA as ``load_data`` reads it, except a large C-ordered ``.npy``: opened for block reads.

    KMeans then streams it (see :mod:`kmeanslab.scale`) instead of mapping it whole. Its values
    are checked here first, block by block, so that an error names the file and the row. With
    ``--scale`` the data are rescaled in memory, so they are read as ``load_data`` reads them.
    """
    path = getattr(args, "data", None)
    if path and is_sparse_table(path):
        return _load_sparse(args)
    # Cosine normalises the rows in memory: a file is read whole (as load_data reads it).
    streamable = args.scale == "none" and getattr(args, "kmeans_metric", "euclidean") == "euclidean"
    if path and str(path).lower().endswith(".npy") and not args.columns and streamable:
        with open_input(path, "a .npy file") as handle:
            header = read_npy_header(handle, os.path.basename(path))
        rows_contiguous = not header.fortran_order or len(header.shape) == 1 or header.shape[1:] == (1,)
        if header.nbytes >= STREAM_MIN_BYTES and rows_contiguous and len(header.shape) in (1, 2):
            source = open_npy(path)
            _check_streamed(source, os.path.basename(path))
            return source, [f"x{i}" for i in range(source.shape[1])], str(path)
    return load_data(args)


def _load_sparse(args: argparse.Namespace):
    """A sparse DATA file (svmlight/libsvm, or scipy.sparse.save_npz), kept sparse for the fit."""
    name = os.path.basename(args.data)
    for given, option in (
        (args.columns, "--columns"),
        (args.scale != "none", "--scale"),
        (args.scheduler, "--scheduler"),
    ):
        if given:
            raise InputError(
                f"{option} is not valid with the sparse file {name}; expected it without {option} "
                f"(a sparse matrix is fitted as it is, in memory)"
            )
    for flag, option in (
        (getattr(args, "id_column", None), "--id-column"),
        (getattr(args, "with_data", False), "--with-data"),
    ):
        if flag:
            raise InputError(f"{option} is not valid with the sparse file {name}; expected it without {option}")
    X, names = read_sparse_table(args.data)
    return check_data(X, name, accept_sparse=True), names, str(args.data)


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


def fit_summary(model, source: str, names: list[str], scaling: Scaling | None = None) -> dict:
    """What a fit produced, as plain JSON-ready values; the centres in the data's own units."""
    scaling = scaling or Scaling("none")
    sizes = np.bincount(model.labels_, minlength=model.n_clusters).tolist()
    n = int(model.labels_.shape[0])
    metric = getattr(model, "metric", "euclidean")
    centers = np.asarray(model.cluster_centers_, dtype=float)
    if scaling.kind != "none":
        centers = centers * scaling.divisor + scaling.offset
    return {
        "data": source,
        "n_samples": n,
        "n_features": int(model.n_features_in_),
        "feature_names": list(names),
        "k": int(model.n_clusters),
        "init": model.init if isinstance(model.init, str) else "array",
        "seed": model.random_state,
        "scale": scaling.kind,
        "metric": metric,
        "algorithm": model.algorithm_,
        "iterations": int(model.n_iter_),
        "converged": bool(model.converged_),
        "inertia": float(model.inertia_),
        # With cosine the inertia is the sum of 1 - cos: its mean is the mean cosine distance.
        "mean_squared_distance" if metric == "euclidean" else "mean_cosine_distance": float(model.inertia_) / n,
        "cluster_sizes": sizes,
        "loss_history": [float(v) for v in model.loss_history_],
        "centers": centers.tolist(),
    }


def print_summary(summary: dict, *, verbose: bool = False) -> None:
    """The short human summary of a fit.

    With ``verbose`` the fit has already said how each run ended ("converged after N
    iterations"); the summary does not say it again.
    """
    state = "converged" if summary["converged"] else "stopped at --max-iter"
    scaled = "" if summary.get("scale", "none") == "none" else f", scale={summary['scale']}"
    cosine = summary.get("metric", "euclidean") == "cosine"
    metric = ", metric=cosine (spherical k-means on unit rows)" if cosine else ""
    console.print(
        f"kmeanslab fit: {summary['data']} ({summary['n_samples']} x {summary['n_features']}), "
        f"k={summary['k']}, init={summary['init']}, seed={summary['seed']}{scaled}{metric}"
    )
    if verbose:
        console.print(f"  algorithm              {summary['algorithm']}")
    else:
        console.print(f"  {state} after {summary['iterations']} iterations ({summary['algorithm']})")
    if cosine:
        console.print(f"  inertia (sum 1 - cos)  {summary['inertia']:.6g}")
        console.print(f"  mean cosine distance   {summary['mean_cosine_distance']:.6g}")
    else:
        console.print(f"  inertia                {summary['inertia']:.6g}")
        console.print(f"  mean squared distance  {summary['mean_squared_distance']:.6g}")
    console.print(f"  cluster sizes          {describe_sizes(summary['cluster_sizes'], 'in summary.json with --out')}")
