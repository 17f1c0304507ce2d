"""``kmeanslab elbow``, ``classify`` and ``compare-inits``: the course experiments on any data.

SOURCE is a dataset name (``faithful``, ``digits``, ``blobs``, ``mnist``), a dataset file
(``mnist.pkl.gz``, base64 JSON lines, an IDX images file) or a table (CSV/TSV, .npy, .npz,
Parquet). Tables carry labels in a numeric column named with ``--labels``.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from .. import datasets
from ..cluster import INIT_METHODS, KMeans
from ..datasets import Dataset, train_val_split
from ..errors import InputError
from ..experiments import (
    ELBOW_METRICS,
    ClusterClassifier,
    accuracy_vs_k,
    clustering_scores,
    compare_inits,
    elbow,
    mnist_split,
    summarize_runs,
)
from ..experiments.plots import (
    plot_accuracy_vs_k,
    plot_centroids,
    plot_confusion_matrix,
    plot_criteria,
    plot_elbow,
    plot_init_comparison,
    save_figure,
)
from ..experiments.report import format_column, format_mean_std, json_safe
from ..experiments.report.views import elbow_table, init_table, score_table
from ..io import prepare_out_dir, read_table, select_columns, staged_output_dir, write_json, write_text
from ..validation import check_data
from ._common import (
    add_progress_argument,
    add_scale_argument,
    check_seed,
    console,
    held_output,
    positive_int,
    progress_bar,
)
from ._scaling import fit_scaling

NAMED_SOURCES = ("faithful", "digits", "blobs", "mnist")
# The share of rows classify and compare-inits hold out as test rows by default, as the demo does.
DEFAULT_TEST_SHARE = 0.3
_DATASET_FILE = re.compile(r"\.(pkl|pickle|json|jsonl)(\.gz)?$|idx\d", re.IGNORECASE)


# --------------------------------------------------------------------------- shared with cli/report.py


@dataclass
class Source:
    """Data named on the command line: rows, optional labels and images, and names."""

    X: np.ndarray
    y: np.ndarray | None
    images: np.ndarray | None
    feature_names: list[str]
    label: str


# The most k values one option may list: each one is RUNS fits, and a range like 1:10000000000
# would otherwise be expanded (and searched) before anything could say it is too long.
MAX_KS = 1000


def parse_ks(text: str) -> list[int]:
    """argparse type: ``"1:20"`` (inclusive), ``"5:24,100"``, ``"2,4,8"`` or ``"10"``; at most :data:`MAX_KS` values."""
    ks: dict[int, None] = {}  # insertion-ordered, and a constant-time test of what is already there
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"([0-9]+)(?::([0-9]+))?", part)
        if not match:
            raise argparse.ArgumentTypeError(f"{text!r} is not valid; expected k values like 1:20, 5:24,100 or 2,4,8")
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) else low
        if low < 1 or high < low:
            raise argparse.ArgumentTypeError(f"{part!r} is not valid; expected 1 <= first <= last")
        if high - low + 1 + len(ks) > MAX_KS:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not valid: it names more than {MAX_KS} values of k; expected at most {MAX_KS}"
            )
        ks.update(dict.fromkeys(range(low, high + 1)))
    return list(ks)


def fraction(text: str) -> float:
    """argparse type: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not valid; expected a fraction between 0 and 1")
    return value


def add_source_arguments(parser: argparse.ArgumentParser, *, labels: bool = True) -> None:
    """SOURCE, --columns, --labels and --data-home."""
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help=f"{', '.join(NAMED_SOURCES)} (MNIST: the test split, unless a command draws its own "
        "training set), a dataset file (mnist.pkl.gz, .json lines, IDX), or a CSV/TSV/.npy/.npz/Parquet table",
    )
    parser.add_argument(
        "--columns",
        type=lambda s: [c.strip() for c in s.split(",") if c.strip()],
        metavar="A,B,...",
        help="a table's feature columns (names or 0-based positions)",
    )
    if labels:
        parser.add_argument(
            "--labels", metavar="COLUMN", help="a table's column of true labels (numeric; left out of the features)"
        )
    add_data_home_argument(parser)


def add_data_home_argument(parser: argparse.ArgumentParser) -> None:
    """``--data-home DIR``: where datasets are looked for (see ``kmeanslab data list``)."""
    parser.add_argument(
        "--data-home",
        metavar="DIR",
        help="where MNIST is looked for, in DIR/mnist and DIR (default: $KMEANSLAB_DATA, else the user "
        "cache directory; 'kmeanslab data list' shows which)",
    )


def scaled_source(source: Source, kind: str) -> Source:
    """The source with its features rescaled (``--scale``), its label saying so."""
    if kind == "none":
        return source
    scaling = fit_scaling(source.X, kind)
    return Source(
        scaling.apply(source.X), source.y, source.images, source.feature_names, f"{source.label} ({scaling.describe()})"
    )


def load_source(args: argparse.Namespace) -> Source:
    """The SOURCE of the command line as rows, labels and images."""

    name = args.source
    if name in NAMED_SOURCES:
        if args.columns or getattr(args, "labels", None):
            raise InputError(f"--columns and --labels apply to table files, not to the dataset {name!r}")
        if name == "faithful":
            ds = datasets.load_faithful()
        elif name == "digits":
            ds = datasets.load_digits()
        elif name == "blobs":
            ds = datasets.make_blobs(1000, centers=4, std=1.0, seed=0)
        else:
            ds = datasets.load_mnist("test", data_home=args.data_home)
        return Source(ds.data, ds.target, ds.images, list(ds.feature_names), ds.name or name)
    if _DATASET_FILE.search(Path(name).name):
        ds = datasets.load_dataset_file(name)
        return Source(ds.data, ds.target, ds.images, list(ds.feature_names), name)
    return _load_table(name, args.columns, getattr(args, "labels", None))


def _load_table(path: str, columns, labels_column) -> Source:
    """A table's features (checked here, where errors can name the file) and its labels column."""

    X, names = read_table(path, mmap=False)
    name = Path(path).name
    y = None
    if labels_column is not None:
        if labels_column not in names:
            raise InputError(f"--labels {labels_column!r} is not a numeric column of {name}; it has {names}")
        i = names.index(labels_column)
        y = _class_labels(np.asarray(X[:, i]), labels_column, name)
        X, names = np.delete(X, i, axis=1), names[:i] + names[i + 1 :]
        if not names:
            raise InputError(f"{name}: no feature column is left besides --labels {labels_column!r}")
    if columns:
        X, names = select_columns(X, names, columns, Path(path))
    # Checked before any split: an error gives the file's row, not the row of a shuffled part.
    return Source(check_data(X, name), y, None, names, path)


def _class_labels(values: np.ndarray, column: str, name: str) -> np.ndarray:
    """A column of class labels as int64; a value that is not a whole number is an error."""
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2**53)
    if not whole.all():
        row = int(np.argmin(whole))
        raise InputError(
            f"--labels {column!r} of {name} holds {float(values[row])!r} at data row {row + 1}; "
            f"expected whole numbers (class labels such as 0, 1, 2)"
        )
    return values.astype(np.int64)


def require_labels(source: Source, command: str) -> np.ndarray:
    """The source's labels, or an error saying how to give them."""

    if source.y is None:
        raise InputError(
            f"{command} needs true labels and {source.label} has none; use digits or mnist, "
            f"or a table with --labels COLUMN"
        )
    return source.y


def print_frame(frame, title: str, *, digits: int = 4, highlight: Any = None) -> None:
    """A DataFrame as a rich table; the row whose index equals ``highlight`` is marked.

    Numbers are formatted as the report formats them (:func:`kmeanslab.experiments.report.format_column`):
    one number of decimals per column, ``digits`` significant digits on its largest value.
    """
    table = Table(title=title, title_justify="left", header_style="bold")
    index_name = frame.index.name or ""
    table.add_column(str(index_name), justify="right")
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    cells = [format_column(frame[column], digits) for column in frame.columns]
    for i, key in enumerate(frame.index):
        marked = highlight is not None and key == highlight
        table.add_row(f"{key}" + (" ◀" if marked else ""), *(c[i] for c in cells), style="bold" if marked else None)
    console.print(table)


def _tight(frame):
    """ "0.968 ± 0.002" as "0.968±0.002": five such columns fit an 80-column terminal unwrapped."""
    return frame.apply(lambda column: column.str.replace(" ± ", "±", regex=False))


def write_frame_csv(path: Path, frame) -> Path:
    """A DataFrame as CSV, atomically."""

    return write_text(path, frame.to_csv(float_format="%.10g"))


def write_outputs(out: Path, figures: dict, frames: dict, results: dict) -> list[str]:
    """Figures as PNG, tables as CSV and the results as JSON into ``out``, all at once; the names written.

    ``results.json``, the record of a complete run, is put in place last (see
    :func:`kmeanslab.io.staged_output_dir`).
    """

    with staged_output_dir(out, last=("results.json",)) as staged:
        for name, fig in figures.items():
            save_figure(fig, staged / f"{name}.png")
        for name, frame in frames.items():
            write_frame_csv(staged / f"{name}.csv", frame)
        write_json(staged / "results.json", json_safe(results))
    return staged.committed


def add_kmeans_arguments(parser: argparse.ArgumentParser, *, init: str = "k-means++") -> None:
    parser.add_argument(
        "--init",
        default=init,
        choices=INIT_METHODS,
        help=f"initialisation (default: {init})",
    )
    parser.add_argument("--max-iter", type=positive_int, default=300, help="most iterations per fit (default: 300)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")


# --------------------------------------------------------------------------- commands


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "elbow",
        parents=[common],
        help="training and validation loss against k, and the knee",
        description="Hold out a validation share of SOURCE, fit k-means on the rest RUNS times for "
        "each k, and print the mean and std of the training loss and of the validation loss (the "
        "held-out rows assigned to the trained centres), with the knee (where the loss's relative "
        "drop slows down the most) or, with --metric, a score's best k. With --out, write elbow.png "
        "(and elbow_METRIC.png), elbow.csv and results.json.",
    )
    add_source_arguments(p, labels=False)
    p.add_argument(
        "-k",
        "--k",
        dest="ks",
        type=parse_ks,
        default=parse_ks("1:20"),
        metavar="KS",
        help="the k values: 1:20, 5:24,100 or 2,4,8 (default: 1:20)",
    )
    p.add_argument("--runs", type=positive_int, default=20, help="fits per k (default: 20)")
    p.add_argument("--val", type=fraction, default=0.2, help="validation share (default: 0.2)")
    p.add_argument(
        "--metric",
        choices=ELBOW_METRICS,
        default="distortion",
        help="what picks k: the knee of the loss (distortion, the default) or a score of the training "
        "partition, added to the table (its best mean over the runs)",
    )
    add_kmeans_arguments(p)
    add_scale_argument(p)
    p.add_argument("--out", metavar="DIR", help="write elbow.png, elbow.csv and results.json here")
    add_progress_argument(p)
    p.set_defaults(handler=run_elbow)

    p = subparsers.add_parser(
        "classify",
        parents=[common],
        help="clusters as a classifier: majority-vote accuracy",
        description="Fit k-means on training images, label each cluster by the majority of its "
        "training labels, and score the test images: accuracy, error rate, ARI, NMI, purity and the "
        "confusion matrix. Several k (-k 5:24,100) give accuracy against k. For mnist the training "
        "images are balanced (TRAIN/10 of each digit) and drawn from the training split, or from the "
        "test split when only that one is present (then the test images are the rest of it).",
    )
    add_source_arguments(p)
    p.add_argument(
        "-k",
        "--k",
        dest="ks",
        type=parse_ks,
        default=[20],
        metavar="K",
        help="number of clusters, or several: 5:24,100 (default: 20)",
    )
    p.add_argument(
        "--train",
        type=positive_int,
        help="training images (default: 1000 for mnist, else 70%% of the rows: 30%%, rounded up, are held out, "
        "as the demo does)",
    )
    p.add_argument("--test", type=positive_int, help="test images (default: all the others)")
    p.add_argument("--repeats", type=positive_int, default=1, help="fits per k, from different seeds (default: 1)")
    add_kmeans_arguments(p)
    p.add_argument("--out", metavar="DIR", help="write figures, tables and results.json here")
    add_progress_argument(p)
    p.set_defaults(handler=run_classify)

    p = subparsers.add_parser(
        "compare-inits",
        parents=[common],
        help="initialisations compared over many seeds",
        description="Fit k-means from each initialisation with each seed and report the final loss "
        "(SSE, mean squared distance, mean distance), the iterations and, with labels, the "
        "majority-vote accuracy on the test images: every run, then mean and std per initialisation.",
    )
    add_source_arguments(p)
    p.add_argument("-k", "--k", dest="k", type=positive_int, default=20, help="number of clusters (default: 20)")
    p.add_argument("--seeds", type=positive_int, default=10, help="seeds per initialisation (default: 10)")
    p.add_argument(
        "--inits",
        default="gaussian,random,k-means++",
        type=lambda s: [i.strip() for i in s.split(",") if i.strip()],
        help="initialisations, comma-separated (default: gaussian,random,k-means++)",
    )
    p.add_argument(
        "--train",
        type=positive_int,
        help="training images (default: 1000 for mnist, else 70%% of the rows: 30%%, rounded up, are held out)",
    )
    p.add_argument("--test", type=positive_int, help="test images (default: all the others)")
    p.add_argument("--max-iter", type=positive_int, default=300, help="most iterations per fit (default: 300)")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/test draw (default: 0)")
    p.add_argument("--out", metavar="DIR", help="write inits.png, runs.csv, summary.csv, results.json here")
    add_progress_argument(p)
    p.set_defaults(handler=run_compare_inits)


def _check_out(args) -> None:

    if args.out is not None:
        prepare_out_dir(args.out, create=False)  # fail before the work


def run_elbow(args: argparse.Namespace) -> int:

    check_seed(args.seed)
    _check_out(args)
    source = scaled_source(load_source(args), args.scale)
    with held_output():
        _elbow(args, source)
    return 0


def _elbow(args: argparse.Namespace, source: Source) -> None:
    train, val = train_val_split(source.X, val=args.val, seed=args.seed)
    with progress_bar(args.progress, len(args.ks) * args.runs, "elbow") as advance:
        table = elbow(
            train,
            val,
            ks=sorted(args.ks),  # an elbow reads k in increasing order, however --k lists them
            runs=args.runs,
            init=args.init,
            seed=args.seed,
            max_iter=args.max_iter,
            metric=args.metric,
            on_fit=advance,
        )
    knee = table.attrs["knee"]
    scored = args.metric != "distortion"
    console.print(
        f"kmeanslab elbow: {source.label} ({source.X.shape[0]} x {source.X.shape[1]}), "
        f"{train.shape[0]} training / {val.shape[0]} validation rows, {args.runs} runs per k, init={args.init}"
    )
    shown = elbow_table(table).drop(columns=["knee"])
    if scored:
        shown[args.metric] = format_mean_std(table, [args.metric], digits=3)[args.metric]
    print_frame(
        _tight(shown),
        f"J: mean squared distance, mean ± std over {args.runs} runs"
        + (f"; the {args.metric} score of the training rows" if scored else ""),
        highlight=table.attrs["choice"],
    )
    console.print(f"knee: k={knee}" if knee is not None else "knee: none found (the curve has no clear bend)")
    if scored:
        console.print(f"{args.metric}: k={table.attrs['choice']}")
    if args.out is not None:
        figure = plot_elbow(table, title=f"Elbow: {Path(source.label).name}")
        figures = {"elbow": figure}
        if scored:
            figures[f"elbow_{args.metric}"] = plot_criteria(
                table, {"elbow": knee, args.metric: table.attrs["choice"]}, table.attrs["choice"]
            )
        results = {
            "source": source.label,
            "knee": knee,
            "metric": args.metric,
            "choice": table.attrs["choice"],
            "runs": args.runs,
            "val": args.val,
            "init": args.init,
            "seed": args.seed,
            "table": table.reset_index().to_dict(orient="records"),
        }
        written = write_outputs(Path(args.out), figures, {"elbow": table}, results)
        console.print(f"wrote {', '.join(written)} to {args.out}")


def _train_test(args: argparse.Namespace, source: Source):
    """(X_train, y_train, images_train, X_test, y_test, note) for classify and compare-inits."""

    seed = args.seed
    if args.source == "mnist":
        train, test, note = mnist_split(args.train or 1000, args.test, seed=seed, data_home=args.data_home)
        return train.data, train.target, train.images, test.data, test.target, note
    y = require_labels(source, args.command)
    n = source.X.shape[0]
    whole = Dataset(source.X, y, source.images)
    if args.train is None:
        # 30% held out, rounded up: the split of the demo's same experiment (1257/540 for digits).
        if n < 2:
            raise InputError(f"{source.label} has {n} row; expected at least 2 to split into training and test rows")
        train, test = train_val_split(whole, val=DEFAULT_TEST_SHARE, seed=seed)
    else:
        if not 1 <= args.train <= n - 1:
            raise InputError(f"--train {args.train} is not valid; {source.label} has {n} rows, expected 1 to {n - 1}")
        train, test = train_val_split(whole, val=n - args.train, seed=seed)
    if args.test and args.test < test.data.shape[0]:
        test, _ = train_val_split(test, val=test.data.shape[0] - args.test, seed=seed)
    note = f"{train.data.shape[0]} training and {test.data.shape[0]} test rows drawn at random from {source.label}."
    return train.data, train.target, train.images, test.data, test.target, note


def run_classify(args: argparse.Namespace) -> int:
    check_seed(args.seed)
    _check_out(args)
    source = _source_for_split(args)
    X_train, y_train, images, X_test, y_test, note = _train_test(args, source)
    with held_output():
        console.print(f"kmeanslab classify: {note}")
        if len(args.ks) == 1 and args.repeats == 1:
            _classify_one(args, X_train, y_train, X_test, y_test, note)
        else:
            _classify_many(args, X_train, y_train, X_test, y_test, note)
    return 0


def _source_for_split(args: argparse.Namespace) -> Source | None:
    # MNIST is read by mnist_split itself (it draws the balanced training set).
    return None if args.source == "mnist" else load_source(args)


def _classify_one(args, X_train, y_train, X_test, y_test, note) -> None:

    k = args.ks[0]
    model = KMeans(k, init=args.init, n_init=1, max_iter=args.max_iter, random_state=args.seed)
    clf = ClusterClassifier(model).fit(X_train, y_train)
    fitted = clf.kmeans_
    clusters = fitted.predict(X_test)
    accuracy = clf.score(X_test, y_test)
    scores = {
        "accuracy": accuracy,
        "error": 1 - accuracy,
        "train_accuracy": clf.score(X_train, y_train),
        **clustering_scores(y_test, clusters),
    }
    console.print(
        f"  k={k}, init={args.init}, seed={args.seed}: {fitted.n_iter_} iterations, "
        f"J={fitted.inertia_ / X_train.shape[0]:.6g}, J_clust={fitted.loss(X_train, kind='mean_dist'):.6g}"
    )
    console.print("  " + "  ".join(f"{name} {value:.4f}" for name, value in scores.items()))
    console.print(f"  cluster labels (majority vote): {clf.cluster_labels_.tolist()}")
    matrix = clf.confusion_matrix(X_test, y_test)
    print_frame(matrix, "confusion matrix on the test rows (true label down, predicted across)", digits=6)
    if args.out is not None:
        figures = {
            "confusion": plot_confusion_matrix(matrix, title=f"k={k}: test confusion matrix (accuracy {accuracy:.3f})")
        }
        side = int(round(np.sqrt(X_train.shape[1])))
        if side * side == X_train.shape[1] and side >= 8:
            figures["centroids"] = plot_centroids(
                fitted.cluster_centers_,
                labels=clf.cluster_labels_,
                purity=clf.cluster_purity_,
                sizes=np.bincount(fitted.labels_, minlength=k),
                sort_by_label=True,
                title=f"k={k}: the centres (test accuracy {accuracy:.3f})",
            )
        results = {
            "setup": note,
            "k": k,
            "init": args.init,
            "seed": args.seed,
            "iterations": fitted.n_iter_,
            "scores": scores,
            "cluster_labels": clf.cluster_labels_,
            "confusion_matrix": matrix.to_numpy(),
        }
        written = write_outputs(Path(args.out), figures, {"confusion": matrix}, results)
        console.print(f"wrote {', '.join(written)} to {args.out}")


def _classify_many(args, X_train, y_train, X_test, y_test, note) -> None:

    with progress_bar(args.progress, len(args.ks) * args.repeats, "classify") as advance:
        table = accuracy_vs_k(
            X_train,
            y_train,
            X_test,
            y_test,
            ks=args.ks,
            repeats=args.repeats,
            init=args.init,
            seed=args.seed,
            max_iter=args.max_iter,
            on_fit=advance,
        )
    print_frame(
        _tight(score_table(table).drop(columns=["seeds"], errors="ignore")),
        f"test scores against k (mean ± std over {args.repeats} seed{'s' if args.repeats != 1 else ''})",
    )
    if args.out is not None:
        figure = plot_accuracy_vs_k(table)
        results = {
            "setup": note,
            "init": args.init,
            "seed": args.seed,
            "repeats": args.repeats,
            "table": table.reset_index().to_dict(orient="records"),
        }
        written = write_outputs(Path(args.out), {"accuracy_vs_k": figure}, {"accuracy_vs_k": table}, results)
        console.print(f"wrote {', '.join(written)} to {args.out}")


def run_compare_inits(args: argparse.Namespace) -> int:

    check_seed(args.seed)
    _check_out(args)
    source = _source_for_split(args)
    if source is None or source.y is not None:
        X, y, _, X_test, y_test, note = _train_test(args, source)
    else:
        X, y, X_test, y_test = source.X, None, None, None
        note = f"{source.label} ({X.shape[0]} x {X.shape[1]}), no labels."
    with held_output():
        _compare_inits(args, X, y, X_test, y_test, note)
    return 0


def _compare_inits(args: argparse.Namespace, X, y, X_test, y_test, note: str) -> None:
    with progress_bar(args.progress, len(args.inits) * args.seeds, "compare-inits") as advance:
        runs = compare_inits(
            X, args.k, y, X_test, y_test, inits=args.inits, seeds=args.seeds, max_iter=args.max_iter, on_fit=advance
        )
    measures = [c for c in ("iterations", "sse", "mse", "mean_dist", "accuracy") if c in runs.columns]
    summary = summarize_runs(runs, "init", measures)
    console.print(f"kmeanslab compare-inits: k={args.k}, {args.seeds} seeds per initialisation. {note}")
    print_frame(
        _tight(init_table(summary).drop(columns=["SSE", "seeds"], errors="ignore")),
        f"mean ± std over {args.seeds} seed{'s' if args.seeds != 1 else ''}",
    )
    if args.out is not None:
        figure = plot_init_comparison(runs, title=f"k={args.k}: initialisations compared")
        results = {
            "setup": note,
            "k": args.k,
            "seeds": args.seeds,
            "summary": summary.reset_index().to_dict(orient="records"),
            "runs": runs.to_dict(orient="records"),
        }
        written = write_outputs(
            Path(args.out), {"inits": figure}, {"runs": runs.set_index(["init", "seed"]), "summary": summary}, results
        )
        console.print(f"wrote {', '.join(written)} to {args.out}")
