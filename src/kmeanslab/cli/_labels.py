"""``labels.csv`` as ``fit`` and ``predict`` write it: an id column, the input rows if asked, the labels.

The id column is ``--id-column NAME`` copied from the input table (a name, a key), or else
``row``, the row's number in the input (1 for the first data row, as error messages count
them), so that the labels can always be joined back to the data. ``--with-data`` writes every
column of the input row beside its label: text tables cell by cell as the file has them.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import pandas as pd

from ..datasets import load_faithful
from ..errors import InputError
from ..io import read_table_rows, write_text

__all__ = [
    "add_label_arguments",
    "check_label_arguments",
    "labels_frame",
    "labels_table",
    "labels_csv",
    "write_labels",
]

ROW_COLUMN = "row"
LABEL_COLUMN = "label"


def add_label_arguments(parser: argparse.ArgumentParser) -> None:
    """``--id-column NAME`` and ``--with-data``."""
    parser.add_argument(
        "--id-column",
        metavar="NAME",
        help="labels.csv's first column: this column of DATA (any text: a name, a key), copied as it is "
        "(default: 'row', the row number in DATA, 1 for the first data row)",
    )
    parser.add_argument(
        "--with-data",
        action="store_true",
        help="write every column of DATA's rows beside their labels in labels.csv",
    )


def check_label_arguments(args: argparse.Namespace, command: str, needs: str) -> None:
    """``--id-column`` and ``--with-data`` shape a labels file: an error when none is written."""
    for option, given in (("--id-column", args.id_column is not None), ("--with-data", args.with_data)):
        if given:
            raise InputError(f"{command} {option} applies to the labels file; add {needs}")


def _input_rows(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    """Every column of DATA (the bundled Old Faithful when there is none), and its name for messages."""
    if getattr(args, "data", None) is None:
        ds = load_faithful()
        return pd.DataFrame(ds.data, columns=list(ds.feature_names)), "faithful.csv"
    return read_table_rows(args.data), os.path.basename(str(args.data))


def labels_frame(args: argparse.Namespace, n_rows: int) -> pd.DataFrame:
    """The columns of labels.csv before the labels: the id column, then DATA's columns with ``--with-data``."""
    if args.id_column is None and not args.with_data:
        return pd.DataFrame({ROW_COLUMN: np.arange(1, n_rows + 1)})
    rows, name = _input_rows(args)
    if rows.shape[0] != n_rows:  # the file changed between the two reads
        raise InputError(f"{name}: has {rows.shape[0]} rows now, {n_rows} when read first; it changed while read")
    columns = list(rows.columns)
    if args.id_column is not None:
        if args.id_column not in columns:
            raise InputError(f"--id-column {args.id_column!r} is not a column of {name}; it has {columns}")
        ids = rows[[args.id_column]].reset_index(drop=True)
    else:
        ids = pd.DataFrame({ROW_COLUMN: np.arange(1, n_rows + 1)})
    if not args.with_data:
        return ids
    data = rows.reset_index(drop=True)
    if args.id_column is not None:
        return data  # the id column is one of the data's own columns
    if ROW_COLUMN in columns:
        raise InputError(
            f"{name} has a column named {ROW_COLUMN!r}, which labels.csv uses for the row number; "
            f"name the id column with --id-column"
        )
    return pd.concat([ids, data], axis=1)


def labels_table(frame: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """``frame`` with the labels as its last column (``label``, or ``kmeans_label`` when DATA has a ``label``)."""
    name = LABEL_COLUMN if LABEL_COLUMN not in frame.columns else "kmeans_label"
    return frame.assign(**{name: np.asarray(labels, dtype=np.int64)})


def labels_csv(frame: pd.DataFrame, labels: np.ndarray) -> str:
    """:func:`labels_table` as CSV text."""
    return labels_table(frame, labels).to_csv(index=False, lineterminator="\n")


def write_labels(path: str | os.PathLike, frame: pd.DataFrame, labels: np.ndarray, write_csv) -> None:
    """labels.csv at ``path``, atomically: numbers through ``write_csv`` (which refuses NaN), text as it is."""
    table = labels_table(frame, labels)
    if all(pd.api.types.is_numeric_dtype(dtype) for dtype in table.dtypes):
        write_csv(path, table.to_numpy(), header=[str(c) for c in table.columns])
    else:
        write_text(path, table.to_csv(index=False, lineterminator="\n"))
