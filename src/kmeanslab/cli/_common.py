"""Pieces the commands share: reading DATA, checking options, printing."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from rich.console import Console

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


def add_data_arguments(parser: argparse.ArgumentParser, *, optional: bool = False) -> None:
    """DATA (a CSV/TSV, .npy, .npz or Parquet file) and --columns."""
    help_text = "CSV/TSV (header optional), .npy, .npz or Parquet file"
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

    X, names = read_table(args.data, args.columns)
    # Text tables and Parquet report a NaN or an infinity by its line; this names the file
    # for the others (.npy, .npz) instead of the library's "X".
    X = check_data(X, Path(args.data).name)
    return X, names, str(args.data)
