"""The user's own files: reading tables, and writing outputs so that nothing is half-written.

Every file kmeanslab writes goes to a temporary file in the destination's directory and is
renamed into place, so an interrupted run leaves either the old file or the new one.
"""

from __future__ import annotations

import contextlib
import csv
import io as _io
import json
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import DataFileError, DatasetNotFoundError, InputError, MissingExtraError

__all__ = [
    "read_table",
    "atomic_write",
    "write_text",
    "write_json",
    "write_csv",
    "prepare_out_dir",
    "TABLE_SUFFIXES",
]

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".npy", ".npz", ".parquet", ".pq")


# --------------------------------------------------------------------------- writing


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it onto ``path``.

    On any exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
        open_kwargs.setdefault("newline", "")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path) as handle:
        handle.write(text)
    return Path(path)


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    return write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_csv(
    path: str | os.PathLike, array: np.ndarray, header: Sequence[str] | None = None
) -> Path:
    """Write a 1-D or 2-D array as CSV (with an optional header row) atomically."""
    array = np.asarray(array)
    if array.ndim == 1:
        array = array[:, None]
    with atomic_write(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        fmt = "%d" if array.dtype.kind in "iub" else "%.17g"
        np.savetxt(handle, array, delimiter=",", fmt=fmt)
    return Path(path)


def prepare_out_dir(path: str | os.PathLike, name: str = "--out") -> Path:
    """Create the output directory if needed; refuse a path that is a file or not writable."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{name} {str(path)!r} is a file; expected a directory (or a new path)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{name} {str(path)!r} cannot be created: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(f"{name} {str(path)!r} is not writable; choose another directory")
    return path


# --------------------------------------------------------------------------- reading


def read_table(
    path: str | os.PathLike,
    columns: Sequence[str | int] | None = None,
    *,
    mmap: bool = True,
) -> tuple[np.ndarray, list[str]]:
    """Read a numeric table from CSV/TSV, ``.npy``, ``.npz`` or Parquet.

    Parameters
    ----------
    path : path-like
        ``.csv``/``.tsv``/``.txt`` (header detected, delimiter sniffed; UTF-8 with or without
        a BOM, or latin-1), ``.npy`` (memory-mapped unless ``mmap=False``), ``.npz`` (the
        array ``X`` if present, else the only array), ``.parquet``/``.pq`` (needs pyarrow).
    columns : sequence of str or int, optional
        Keep only these columns (names, or 0-based positions). Without it, non-numeric
        columns are dropped with a warning that names them.
    mmap : bool, default=True
        Memory-map ``.npy`` files instead of reading them into memory.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    feature_names : list of str

    Raises
    ------
    DatasetNotFoundError
        The path does not exist.
    DataFileError
        The file is empty, ragged, has no numeric column, or is not of its claimed format.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetNotFoundError(f"{str(path)!r} does not exist; expected a data file ({', '.join(TABLE_SUFFIXES)})")
    if path.is_dir():
        raise DataFileError(f"{str(path)!r} is a directory; expected a data file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _read_npy(path, columns, mmap)
    if suffix == ".npz":
        return _read_npz(path, columns)
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path, columns)
    return _read_delimited(path, columns)


def _default_names(n: int) -> list[str]:
    return [f"x{i}" for i in range(n)]


def select_columns(
    X: np.ndarray, names: list[str], columns: Sequence[str | int] | None, path: Path
) -> tuple[np.ndarray, list[str]]:
    """Keep the ``columns`` (names or 0-based positions) of an array whose columns are ``names``."""
    if columns is None:
        return X, names
    idx = []
    for col in columns:
        if isinstance(col, str) and col in names:
            idx.append(names.index(col))
        elif isinstance(col, str) and col.lstrip("-").isdigit():
            idx.append(int(col))
        elif isinstance(col, (int, np.integer)):
            idx.append(int(col))
        else:
            raise InputError(f"--columns: {col!r} is not a column of {path.name}; it has {names}")
    for i in idx:
        if not -len(names) <= i < len(names):
            raise InputError(f"--columns: position {i} is out of range for {path.name} ({len(names)} columns)")
    return X[:, idx], [names[i] for i in idx]


def _check_numeric_array(X: np.ndarray, path: Path) -> np.ndarray:
    if X.dtype.kind not in "fiub":
        raise DataFileError(f"{path.name}: holds {X.dtype} values; expected a numeric array")
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise DataFileError(f"{path.name}: holds an array of shape {X.shape}; expected 2-D (n_samples, n_features)")
    if X.shape[0] == 0:
        raise DataFileError(f"{path.name}: holds no rows; expected at least one sample")
    return X


def _read_npy(path: Path, columns, mmap: bool) -> tuple[np.ndarray, list[str]]:
    try:
        X = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataFileError(f"{path.name}: not a readable .npy file ({exc})") from None
    X = _check_numeric_array(X, path)
    return select_columns(X, _default_names(X.shape[1]), columns, path)


def _read_npz(path: Path, columns) -> tuple[np.ndarray, list[str]]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            if "X" in keys:
                key = "X"
            elif len(keys) == 1:
                key = keys[0]
            else:
                raise DataFileError(
                    f"{path.name}: holds arrays {keys}; expected one array, or one named 'X'"
                )
            X = archive[key]
    except DataFileError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError, EOFError
        raise DataFileError(f"{path.name}: not a readable .npz file ({exc})") from None
    X = _check_numeric_array(X, path)
    return select_columns(X, _default_names(X.shape[1]), columns, path)


def _read_parquet(path: Path, columns) -> tuple[np.ndarray, list[str]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingExtraError("Reading Parquet", "parquet", "pyarrow") from None
    try:
        frame = pq.read_table(path).to_pandas()
    except Exception as exc:  # pyarrow.ArrowInvalid and friends
        raise DataFileError(f"{path.name}: not a readable Parquet file ({exc})") from None
    return _frame_to_array(frame, columns, path)


def _decode(raw: bytes, path: Path) -> str:
    if not raw.strip():
        raise DataFileError(f"{path.name}: the file is empty; expected a header and/or rows of numbers")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # latin-1 maps every byte, so it is the fallback that cannot fail.
        return raw.decode("latin-1")


def _read_delimited(path: Path, columns) -> tuple[np.ndarray, list[str]]:
    import pandas as pd

    text = _decode(path.read_bytes(), path)
    lines = [line for line in text.splitlines() if line.strip()]
    sample = "\n".join(lines[:50])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t ").delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    header = _has_header(lines, delimiter)
    widths = {len(row) for row in csv.reader(lines, delimiter=delimiter, skipinitialspace=True)}
    if len(widths) > 1:
        rows = list(csv.reader(lines, delimiter=delimiter, skipinitialspace=True))
        expected = len(rows[0])
        bad = next(i for i, row in enumerate(rows) if len(row) != expected)
        raise DataFileError(
            f"{path.name}: line {bad + 1} has {len(rows[bad])} fields but line 1 has {expected}; "
            f"expected the same number of columns on every line"
        )
    try:
        frame = pd.read_csv(
            _io.StringIO("\n".join(lines)),
            sep=delimiter,
            header=0 if header else None,
            skipinitialspace=True,
        )
    except Exception as exc:  # pandas.errors.ParserError and friends
        raise DataFileError(f"{path.name}: cannot be parsed as a table ({exc})") from None
    if not header:
        frame.columns = _default_names(frame.shape[1])
    if frame.shape[0] == 0:
        raise DataFileError(f"{path.name}: has a header but no rows; expected at least one sample")
    return _frame_to_array(frame, columns, path)


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _has_header(lines: list[str], delimiter: str) -> bool:
    """A first line with a non-numeric field above a line of numbers in those places is a header."""
    rows = list(csv.reader(lines[:2], delimiter=delimiter, skipinitialspace=True))
    first = rows[0]
    if all(_is_number(f) for f in first if f.strip()):
        return False
    if len(rows) == 1:
        return True
    second = rows[1]
    return any(not _is_number(a) and _is_number(b) for a, b in zip(first, second)) or all(
        not _is_number(f) for f in first
    )


def _frame_to_array(frame, columns, path: Path) -> tuple[np.ndarray, list[str]]:
    import pandas as pd

    names = [str(c) for c in frame.columns]
    frame.columns = names
    if columns is not None:
        chosen = []
        for col in columns:
            if isinstance(col, str) and col in names:
                chosen.append(col)
            elif (isinstance(col, (int, np.integer)) or (isinstance(col, str) and col.isdigit())) and int(col) < len(names):
                chosen.append(names[int(col)])
            else:
                raise InputError(f"--columns: {col!r} is not a column of {path.name}; it has {names}")
        frame = frame[chosen]
        bad = [c for c in chosen if not pd.api.types.is_numeric_dtype(frame[c])]
        if bad:
            raise DataFileError(f"{path.name}: column(s) {bad} are not numeric; expected numbers in every selected column")
    else:
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        dropped = [c for c in frame.columns if c not in numeric]
        if not numeric:
            raise DataFileError(f"{path.name}: has no numeric column (columns: {names}); expected numbers")
        if dropped:
            warnings.warn(f"{path.name}: dropped non-numeric column(s) {dropped}", UserWarning, stacklevel=3)
        frame = frame[numeric]
    X = frame.to_numpy(dtype=np.float64)
    return X, list(frame.columns)
