"""Pieces the commands share: reading DATA, checking options, printing."""

from __future__ import annotations

import argparse
import contextlib
import math
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ..cluster import METRICS
from ..datasets import load_faithful
from ..errors import InputError
from ..io import read_table, select_columns
from ..validation import check_data

console = Console(highlight=False, soft_wrap=True)
# Lines about a run when stdout carries its data (``predict --out /dev/stdout``).
console_err = Console(highlight=False, soft_wrap=True, stderr=True)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer; expected an integer >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not valid; expected an integer >= 1")
    return value


def auto_or_positive_int(text: str) -> str | int:
    """argparse type: ``auto`` or an integer >= 1 (``--n-init``)."""
    if text == "auto":
        return text
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not valid; expected 'auto' or an integer >= 1") from None


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0 (``--tol``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; expected a finite number >= 0") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not valid; expected a finite number >= 0")
    return value


@contextlib.contextmanager
def held_output() -> Iterator[None]:
    """Hold what a command prints until it has finished: a run that fails prints nothing on stdout.

    A command prints its results and then writes its files; an error while writing (a full disk)
    must not come after a summary that reads like success.
    """
    with console.capture() as captured:
        yield
    sys.stdout.write(captured.get())
    sys.stdout.flush()


def check_seed(seed: int) -> int:
    """``--seed``: an integer >= 0 (the library would call a negative one ``random_state``)."""
    if seed < 0:
        raise InputError(f"--seed {seed} is not valid; expected an integer >= 0")
    return seed


def add_data_arguments(parser: argparse.ArgumentParser, *, optional: bool = False, sparse: bool = False) -> None:
    """DATA (a CSV/TSV, .npy, .npz or Parquet file; with ``sparse``, also a sparse matrix file) and --columns."""
    help_text = "CSV/TSV (header optional), .npy, .npz or Parquet file"
    if sparse:
        help_text += ", or a sparse matrix: scipy.sparse.save_npz .npz, svmlight/libsvm .svm (kept sparse)"
    if optional:
        parser.add_argument(
            "data", nargs="?", metavar="DATA", help=help_text + " (default: the bundled Old Faithful data)"
        )
    else:
        parser.add_argument("data", metavar="DATA", help=help_text)
    parser.add_argument(
        "--columns",
        type=lambda s: [c.strip() for c in s.split(",") if c.strip()],
        metavar="A,B,...",
        help="use only these columns (names or 0-based positions)",
    )


def load_data(args: argparse.Namespace) -> tuple[np.ndarray, list[str], str]:
    """The data named on the command line: (X, feature names, a label for messages)."""

    if getattr(args, "data", None) is None:
        ds = load_faithful()
        X, names = ds.data, ds.feature_names
        if args.columns:
            X, names = select_columns(X, names, args.columns, Path("faithful.csv"))
        return X, names, "Old Faithful (bundled)"

    with warnings.catch_warnings():
        id_column = getattr(args, "id_column", None)
        if id_column is not None and not args.columns:
            # The --id-column is the text column a table drops: saying so would only alarm.
            dropped = f"{Path(args.data).name}: dropped non-numeric column(s) {[id_column]!r};"
            warnings.filterwarnings("ignore", message=re.escape(dropped), category=UserWarning)
        X, names = read_table(args.data, args.columns)
    # Text tables and Parquet report a NaN or an infinity by its line; this names the file
    # for the others (.npy, .npz) instead of the library's "X".
    X = check_data(X, Path(args.data).name)
    return X, names, str(args.data)


# --------------------------------------------------------------------------- progress


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    """``--no-progress``: no progress bar (there is none anyway when stderr is not a terminal)."""
    parser.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar on stderr (there is none when stderr is not a terminal)",
    )


@contextlib.contextmanager
def progress_bar(enabled: bool, total: int | None, what: str, unit: str = "fits") -> Iterator[Callable[..., None]]:
    """An ``advance(n=1, description=None)`` callback of a rich progress bar on stderr, or of nothing.

    The bar is drawn only when ``enabled`` and stderr is a terminal: stdout carries the
    results (and may be a pipe or a file), and a log file should not fill with redraws.
    """
    err = Console(stderr=True)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not (enabled and err.is_terminal),
    )
    with progress:
        task = progress.add_task(what, total=total)

        def advance(n: int = 1, description: str | None = None) -> None:
            if description is not None:
                progress.update(task, description=description)
            progress.advance(task, n)

        yield advance


# --------------------------------------------------------------------------- feature scaling

SCALES = ("none", "standard", "minmax")


def add_scale_argument(parser: argparse.ArgumentParser, *, stored: bool = False) -> None:
    """``--scale none|standard|minmax``; ``stored``: the model file keeps it (``fit``)."""
    parser.add_argument(
        "--scale",
        choices=SCALES,
        default="none",
        help="rescale each feature before clustering: standard (mean 0, std 1), minmax (to [0, 1]) "
        "or none (default: none)"
        + ("; model.npz keeps the rescaling, and predict applies it to new rows" if stored else ""),
    )


# --------------------------------------------------------------------------- the metric


def add_metric_argument(
    parser: argparse.ArgumentParser, *, flag: str = "--metric", default: str | None = "euclidean"
) -> None:
    """``--metric euclidean|cosine``: Euclidean k-means, or spherical (cosine) k-means on unit rows."""
    parser.add_argument(
        flag,
        dest="kmeans_metric",
        choices=METRICS,
        default=default,
        help="the k-means distance: euclidean, or cosine (spherical k-means: rows scaled to unit length, "
        "centres kept on the unit sphere, loss = sum of 1 - cos)" + (f" (default: {default})" if default else ""),
    )


# --------------------------------------------------------------------------- cluster sizes

# The most cluster sizes a summary lists one by one; above, their distribution (all in the files).
MAX_SIZES_SHOWN = 20


def describe_sizes(sizes, where: str) -> str:
    """The cluster sizes as a list, or for more than :data:`MAX_SIZES_SHOWN` clusters their distribution.

    ``where`` says where every size can be found (``"in summary.json with --out"``).
    """
    sizes = [int(v) for v in sizes]
    if len(sizes) <= MAX_SIZES_SHOWN:
        return str(sizes)
    values = np.asarray(sizes)
    empty = int(np.count_nonzero(values == 0))
    return (
        f"{len(sizes)} clusters: min {int(values.min())}, median {np.median(values):g}, max {int(values.max())}, "
        f"{empty} empty (every size {where})"
    )
