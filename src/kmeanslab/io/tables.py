"""Reading the user's tables: CSV/TSV and other text tables, ``.npy``, ``.npz`` and Parquet.

Every reader opens its file through :mod:`.inputs`, so a missing, unreadable or oversized file is
refused with a message that names it, and reads only what the format declares or what
:func:`~.inputs.read_limit` allows. Text tables are parsed by pandas after three checks of
our own: the same number of fields on every line, a header or not, and which convention a
comma inside a number follows (a decimal comma, ``3,6``, or a thousands separator, ``1,234``;
a file that does not say which is refused rather than guessed).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io as _io
import os
import re
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.lib import format as npy_format

from ..errors import DataFileError, InputError, KMeansLabError, MissingExtraError
from .inputs import (
    NpyHeader,
    decode_text,
    is_regular,
    open_input,
    read_input_bytes,
    read_limit,
    read_npy_header,
    too_big,
)

__all__ = [
    "read_table",
    "read_table_rows",
    "read_sparse_table",
    "is_sparse_table",
    "select_columns",
    "TABLE_SUFFIXES",
    "SPARSE_SUFFIXES",
]

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".npy", ".npz", ".parquet", ".pq")
# svmlight / libsvm text files: always sparse. (A .npz is sparse when scipy.sparse.save_npz wrote it.)
SPARSE_SUFFIXES = (".svm", ".svmlight", ".libsvm")
# The members scipy.sparse.save_npz writes for a CSR, CSC or COO matrix or array.
_SPARSE_NPZ_MEMBERS = {"format", "shape", "data"}
# Bytes looked at for NUL bytes before a text table is read further.
_BINARY_SNIFF = 8192


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
        ``.csv``/``.tsv``/``.txt`` or any other text table (header detected, delimiter sniffed
        among comma, semicolon, tab and spaces; UTF-8 with or without a BOM, UTF-16 with a BOM,
        or latin-1; gzipped or not; a pipe such as ``/dev/stdin`` too). A comma inside a number
        is read as the file shows it is meant: a decimal comma (``3,6``) when some number can
        only be read that way, a thousands separator (``1,234,567`` or ``1,234.5``) likewise;
        numbers that could be either and nothing in the file to tell are an error. ``.npy``
        (memory-mapped unless ``mmap=False``; any version, C or Fortran order), ``.npz`` (the
        array ``X`` if present, else ``data``, else the only array), ``.parquet``/``.pq`` (needs
        pyarrow, ``pip install 'kmeanslab[parquet]'``).
    columns : sequence of str or int, optional
        Keep only these columns: names, or 0-based positions (negative ones count from the
        end). Without it, text columns are dropped with a warning that names them; a column
        whose cells are mostly numbers is numeric, and a cell in it that is not a number is an
        error, not a reason to drop the column.
    mmap : bool, default=True
        Memory-map ``.npy`` files instead of reading them into memory.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        float64 for text tables and Parquet; the stored dtype for ``.npy``/``.npz``.
    feature_names : list of str
        The header's names, or ``x0, x1, ...``.

    Raises
    ------
    DatasetNotFoundError
        The path does not exist.
    DataFileError
        The file cannot be read (no permission, a directory), is larger than the read limit
        (text tables, gzip data, ``.npz`` members, Parquet), is empty, ragged, binary where
        text was expected, has a missing or infinite value (text tables, Parquet), a cell that
        is not a number in a numeric column, or no numeric column, or is not of its claimed
        format. The message names the file (and the line, for text tables).
    MissingExtraError
        A Parquet file without pyarrow installed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _read_npy(path, columns, mmap)
    if suffix == ".npz":
        return _read_npz(path, columns)
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path, columns)
    return _read_delimited(path, columns)


def read_table_rows(path: str | os.PathLike) -> pd.DataFrame:
    """Every column of a table as the file holds it, one row per row of :func:`read_table`.

    For ``kmeanslab fit --id-column`` and ``--with-data``: the cells of a text table come back
    as the text the file has (a name column, or ``3.600`` written as ``3.600``), so that they
    can be written out again unchanged; ``.npy``/``.npz`` arrays as their numbers (columns
    ``x0, x1, ...``); Parquet as pandas reads it. The file is read again: a pipe already read
    by :func:`read_table` cannot be.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    DataFrame
        Columns named as :func:`read_table` names them (the header's names, or ``x0, x1, ...``).

    Raises
    ------
    DatasetNotFoundError, DataFileError, MissingExtraError
        As :func:`read_table`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        X, names = read_table(path, mmap=False)
        return pd.DataFrame(np.asarray(X), columns=names)
    if suffix in (".parquet", ".pq"):
        frame = _parquet_frame(path)
        frame.columns = [str(c) for c in frame.columns]
        return frame
    text = _text_of(path)
    lines = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()]
    with _csv_field_limit(len(text) + 1):
        delimiter = _sniff_delimiter(lines, path)
        header = _has_header(list(_iter_rows(lines[:2], delimiter)))
    frame = _parse_frame("\n".join(lines), delimiter, header, path, as_text=True)
    if not header:
        frame.columns = _default_names(frame.shape[1])
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _default_names(n: int) -> list[str]:
    return [f"x{i}" for i in range(n)]


_POSITION = re.compile(r"[+-]?[0-9]+")


def _resolve_columns(columns: Sequence[str | int], names: list[str], path: Path) -> list[int]:
    """0-based positions of ``columns``: a name first, else an integer position."""
    if len(columns) == 0:
        raise InputError(f"--columns is empty; expected names or positions of columns of {path.name}")
    idx = []
    for col in columns:
        if isinstance(col, str) and col in names:
            idx.append(names.index(col))
            continue
        if isinstance(col, (int, np.integer)) and not isinstance(col, bool):
            i = int(col)
        elif isinstance(col, str) and _POSITION.fullmatch(col.strip()):
            # ASCII digits only: "²".isdigit() is True, but int("²") fails.
            i = int(col)
        else:
            raise InputError(f"--columns: {col!r} is not a column of {path.name}; it has {names}")
        if not -len(names) <= i < len(names):
            raise InputError(f"--columns: position {i} is out of range for {path.name} ({len(names)} columns)")
        idx.append(i % len(names))
    return idx


def select_columns(
    X: np.ndarray, names: list[str], columns: Sequence[str | int] | None, path: Path
) -> tuple[np.ndarray, list[str]]:
    """Keep the ``columns`` (names or 0-based positions) of an array whose columns are ``names``."""
    if columns is None:
        return X, names
    idx = _resolve_columns(columns, names, Path(path))
    return X[:, idx], [names[i] for i in idx]


# --------------------------------------------------------------------------- numpy files


def _check_array_header(header: NpyHeader, name: str) -> tuple[int, ...]:
    """The 2-D shape of a numeric array as its header declares it (a 1-D array is one column)."""
    if header.dtype.kind not in "fiub" or header.dtype.hasobject or header.dtype.names:
        raise DataFileError(f"{name}: holds {header.dtype} values; expected a numeric array")
    shape = header.shape
    if len(shape) == 1:
        shape = (shape[0], 1)
    if len(shape) != 2:
        raise DataFileError(f"{name}: holds an array of shape {header.shape}; expected 2-D (n_samples, n_features)")
    if shape[0] == 0:
        raise DataFileError(f"{name}: holds no rows; expected at least one sample")
    return shape


def _read_npy(path: Path, columns, mmap: bool) -> tuple[np.ndarray, list[str]]:
    with open_input(path, "a .npy file") as handle:
        if not is_regular(handle):
            raise DataFileError(
                f"{path.name}: is not a regular file; a .npy file is read by seeking: save it to a file first"
            )
        header = read_npy_header(handle, path.name)
        shape = _check_array_header(header, path.name)
        size = _file_size(handle)
        expected = header.offset + header.nbytes
        if size < expected:
            raise DataFileError(
                f"{path.name}: is truncated ({size} bytes; its header promises {expected}); expected a complete .npy file"
            )
        order = "F" if header.fortran_order else "C"
        if header.nbytes == 0:
            X = np.empty(shape, dtype=header.dtype)
        elif mmap:
            X = np.memmap(path, dtype=header.dtype, mode="r", offset=header.offset, shape=shape, order=order)
        else:
            X = _read_exactly(handle, header, shape, path.name)
    return select_columns(X, _default_names(shape[1]), columns, path)


def _file_size(handle) -> int:
    return os.fstat(handle.fileno()).st_size


def _read_exactly(handle, header: NpyHeader, shape: tuple[int, ...], name: str) -> np.ndarray:
    """The array's data, read into a new array of the declared size (never more)."""
    out = np.empty(shape, dtype=header.dtype, order="F" if header.fortran_order else "C")
    view = memoryview(out.reshape(-1, order="A")).cast("B")
    done = 0
    while done < len(view):
        try:
            got = handle.readinto(view[done:])
        except OSError as exc:
            raise DataFileError(f"{name}: cannot be read: {exc.strerror or exc}") from None
        if not got:
            raise DataFileError(f"{name}: is truncated (ends after {done} bytes of data); expected a complete file")
        done += got
    return out


def _read_npz(path: Path, columns) -> tuple[np.ndarray, list[str]]:
    with open_input(path, "an .npz file") as handle:
        if not is_regular(handle):
            raise DataFileError(f"{path.name}: is not a regular file; an .npz archive is read by seeking")
        try:
            with zipfile.ZipFile(handle) as archive:
                members = {info.filename[: -len(".npy")]: info for info in archive.infolist()}
                keys = list(members)
                if _SPARSE_NPZ_MEMBERS <= set(keys):
                    raise DataFileError(
                        f"{path.name}: holds a scipy.sparse matrix (written by scipy.sparse.save_npz); "
                        f"this command needs a dense table: `kmeanslab fit` reads sparse files"
                    )
                key = next((k for k in ("X", "data") if k in keys), keys[0] if len(keys) == 1 else None)
                if key is None:
                    raise DataFileError(
                        f"{path.name}: holds arrays {keys}; expected one array, or one named 'X' or 'data'"
                    )
                X = _read_member(archive, members[key], f"{path.name}[{key!r}]", path)
        except KMeansLabError:
            raise
        except Exception as exc:  # zipfile.BadZipFile, OSError, EOFError, NotImplementedError (method), ...
            raise DataFileError(f"{path.name}: not a readable .npz file ({exc})") from None
    return select_columns(X, _default_names(X.shape[1]), columns, path)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, path: Path) -> np.ndarray:
    """One ``.npy`` member of an ``.npz`` archive, bounded by the sizes the archive and the member declare."""
    limit = read_limit()
    if info.file_size > limit:
        raise too_big(path.name, limit, f"its array {name} holds {info.file_size} bytes,")
    with archive.open(info) as member:
        header = read_npy_header(member, name)
        shape = _check_array_header(header, name)
        if header.offset + header.nbytes != info.file_size:
            raise DataFileError(
                f"{name}: its header promises {header.offset + header.nbytes} bytes but the archive "
                f"declares {info.file_size}; the file is corrupt"
            )
        return _read_exactly(member, header, shape, name)


def _read_parquet(path: Path, columns) -> tuple[np.ndarray, list[str]]:
    frame = _parquet_frame(path)
    X, names, _ = _frame_to_array(frame, columns, path)
    _check_no_missing(X, names, [], path)
    return X, names


def _parquet_frame(path: Path) -> pd.DataFrame:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingExtraError("Reading Parquet", "parquet", "pyarrow") from None
    with open_input(path, "a Parquet file") as handle:
        if not is_regular(handle):
            raise DataFileError(f"{path.name}: is not a regular file; a Parquet file is read by seeking")
        try:
            parquet = pq.ParquetFile(handle)
            # What the file declares bounds what reading it costs: its rows and columns as float64
            # (a constant column encodes to a few bytes but still takes 8 a row), or its encoded
            # data, whichever is larger (long strings).
            meta = parquet.metadata
            encoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            declared = max(encoded, meta.num_rows * meta.num_columns * 8)
            limit = read_limit()
            if declared > limit:
                raise too_big(
                    path.name, limit, f"its {meta.num_rows} rows x {meta.num_columns} columns take {declared} bytes,"
                )
            frame = parquet.read().to_pandas()
        except KMeansLabError:
            raise
        except Exception as exc:  # pyarrow.ArrowInvalid and friends
            raise DataFileError(f"{path.name}: not a readable Parquet file ({exc})") from None
    return frame


# --------------------------------------------------------------------------- text tables


def _text_of(path: Path) -> str:
    """The file as text: gunzipped if gzip, decoded by its BOM, else UTF-8, else latin-1."""

    def refuse_binary(start: bytes) -> None:
        if start[:2] not in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) and b"\0" in start[:_BINARY_SNIFF]:
            raise DataFileError(
                f"{path.name}: looks like a binary file (NUL bytes in its first {_BINARY_SNIFF} bytes); "
                f"expected a text table, .npy, .npz or Parquet"
            )

    raw = read_input_bytes(path, what="a data file", check_start=refuse_binary)
    if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataFileError(f"{path.name}: not valid UTF-16 text ({exc.reason})") from None
    else:
        text = decode_text(raw)
    if not text.strip():
        raise DataFileError(f"{path.name}: the file is empty; expected a header and/or rows of numbers")
    return text


@contextlib.contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    """Lift the csv module's field limit (128 KiB) to ``limit`` for one file, then put it back.

    A field longer than 128 KiB is unusual but not wrong (a long text column), and the file is
    already bounded by the read limit.
    """
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, limit))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _sniff_delimiter(lines: list[str], path: Path) -> str:
    sample = "\n".join(lines[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t ").delimiter
    except csv.Error:
        pass
    # The sniffer wants the same run of delimiters on every line; columns aligned with a
    # varying number of spaces still have the same number of whitespace-separated fields.
    widths = {len(line.split()) for line in lines[:50]}
    if len(widths) == 1 and widths.pop() > 1:
        return " "
    # One column, or too irregular to tell: go by the name.
    return "\t" if path.suffix.lower() == ".tsv" else ","


def _iter_rows(lines: list[str], delimiter: str) -> Iterator[list[str]]:
    """The fields of each line, one line at a time (a big table is never held as strings)."""
    if delimiter == " ":
        # Columns aligned with runs of spaces: any whitespace separates.
        return (line.split() for line in lines)
    return csv.reader(lines, delimiter=delimiter, skipinitialspace=True)


# A comma inside a number: "3,6" and ",5" can only be a decimal comma, "1,234,567" and
# "1,234.5" only thousands separators; "1,234" could be either.
_DECIMAL_COMMA = re.compile(r"[+-]?(?:[0-9]+,[0-9]*|,[0-9]+)(?:[eE][+-]?[0-9]+)?")
_THOUSANDS = re.compile(r"[+-]?[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?")


def _comma_reading(field: str) -> str | None:
    """How a field with a comma reads as a number: "decimal", "thousands", "either", or None (not a number)."""
    decimal = _DECIMAL_COMMA.fullmatch(field) is not None
    thousands = _THOUSANDS.fullmatch(field) is not None
    if decimal and thousands:
        return "either"
    return "decimal" if decimal else "thousands" if thousands else None


def _as_number(field: str, comma: str | None) -> float | None:
    """``field`` as a float under the file's comma convention, or None."""
    if "," in field:
        reading = _comma_reading(field)
        if reading is None:
            return None
        field = field.replace(",", "." if comma == "decimal" or (comma is None and reading == "decimal") else "")
    try:
        return float(field)
    except ValueError:
        return None


def _is_number(field: str) -> bool:
    return _as_number(field.strip(), None) is not None


def _has_header(rows: list[list[str]]) -> bool:
    """A first line with a non-numeric field above a line of numbers in those places is a header."""
    first = rows[0]
    if all(_is_number(f) for f in first if f.strip()):
        return False
    if len(rows) == 1:
        return True
    second = rows[1]
    return any(not _is_number(a) and _is_number(b) for a, b in zip(first, second)) or all(
        not _is_number(f) for f in first
    )


def _check_rectangular(lines: list[str], delimiter: str, linenos: list[int], path: Path) -> None:
    expected = None
    rows = _iter_rows(lines, delimiter)
    for lineno in linenos:
        try:
            row = next(rows)
        except csv.Error as exc:
            raise DataFileError(f"{path.name}: line {lineno} cannot be read as CSV ({exc})") from None
        if expected is None:
            expected = len(row)
        elif len(row) != expected:
            raise DataFileError(
                f"{path.name}: line {lineno} has {len(row)} fields but line {linenos[0]} has "
                f"{expected}; expected the same number of columns on every line"
            )


def _parse_frame(text: str, delimiter: str, header: bool, path: Path, *, as_text: bool = False) -> pd.DataFrame:
    # as_text: every cell as its text, nothing read as a number or as missing.
    text_options = {"dtype": str, "keep_default_na": False} if as_text else {}
    try:
        return pd.read_csv(
            _io.StringIO(text),
            sep=r"\s+" if delimiter == " " else delimiter,
            header=0 if header else None,
            skipinitialspace=delimiter != " ",
            # One pass over the whole column decides its type: with the default chunked
            # reading a column could come back half floats, half strings.
            low_memory=False,
            **text_options,
        )
    except Exception as exc:  # pandas.errors.ParserError and friends
        raise DataFileError(f"{path.name}: cannot be parsed as a table ({exc})") from None


def _comma_convention(frame: pd.DataFrame, linenos: list[int], path: Path) -> str | None:
    """What a comma inside a number means in this file: "decimal", "thousands" or None (no such number).

    Decided by the whole file: one number that can only be read one way settles it. Numbers
    that could be read either way (``1,234``) and nothing to settle it are an error, as is a
    file that uses both.
    """
    seen: dict[str, tuple[int, str, str]] = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column):
            continue
        for row, value in enumerate(column):
            if isinstance(value, str) and "," in value:
                reading = _comma_reading(value.strip())
                if reading is not None:
                    seen.setdefault(reading, (row, str(name), value.strip()))
        if "decimal" in seen and "thousands" in seen:
            break

    def where(reading: str) -> str:
        row, name, value = seen[reading]
        return f"{value!r} (line {linenos[row]}, column {name!r})"

    if "decimal" in seen and "thousands" in seen:
        raise DataFileError(
            f"{path.name}: has a decimal comma in {where('decimal')} and a thousands separator in "
            f"{where('thousands')}; expected one convention for the whole file"
        )
    if "decimal" in seen:
        return "decimal"
    if "thousands" in seen:
        return "thousands"
    if "either" in seen:
        raise DataFileError(
            f"{path.name}: {where('either')} could be a number with a decimal comma or with a thousands "
            f"separator, and no other number in the file tells which; expected numbers without thousands "
            f"separators (1234 or 1234.5), or a decimal comma in at least one number that shows it (1,5)"
        )
    return None


def _numbers_in_text_columns(frame: pd.DataFrame, comma: str | None) -> dict[str, tuple[int, str]]:
    """Turn the text columns that hold numbers (with commas, say) into numeric columns, in place.

    A column stays text when at most half of its filled cells are numbers. Returns, for each
    column of mostly numbers with a cell that is not one, that cell's row and text: an error
    if the column is used (see ``_frame_to_array``), not a reason to drop it.
    """
    corrupt: dict[str, tuple[int, str]] = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column):
            continue
        filled = column.notna()
        text = column[filled].astype(str).str.strip()
        if comma == "decimal":
            text = text.str.replace(",", ".", regex=False)
        elif comma == "thousands":
            text = text.str.replace(",", "", regex=False)
        numbers = pd.to_numeric(text, errors="coerce")
        n_numbers = int(numbers.notna().sum())
        if n_numbers == len(text) and len(text) > 0:
            converted = pd.Series(np.nan, index=column.index, dtype=np.float64)
            converted[filled] = numbers.to_numpy(dtype=np.float64)
            frame[name] = converted
        elif n_numbers > len(text) / 2:
            first = numbers.isna().idxmax()
            corrupt[str(name)] = (int(column.index.get_loc(first)), str(column[first]).strip())
    return corrupt


def _read_delimited(path: Path, columns) -> tuple[np.ndarray, list[str]]:
    text = _text_of(path)
    # Only CR/LF end lines: str.splitlines would also split at U+0085, which latin-1 text has.
    physical = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    numbered = [(i, line) for i, line in enumerate(physical, start=1) if line.strip()]
    linenos = [i for i, _ in numbered]
    lines = [line for _, line in numbered]
    with _csv_field_limit(len(text) + 1):
        delimiter = _sniff_delimiter(lines, path)
        _check_rectangular(lines, delimiter, linenos, path)
        header = _has_header(list(_iter_rows(lines[:2], delimiter)))
    if header and len(lines) == 1:
        raise DataFileError(f"{path.name}: has a header but no rows; expected at least one sample")
    frame = _parse_frame("\n".join(lines), delimiter, header, path)
    body_linenos = linenos[1:] if header else linenos
    if not header:
        frame.columns = _default_names(frame.shape[1])
    corrupt = _numbers_in_text_columns(frame, _comma_convention(frame, body_linenos, path))
    X, names, positions = _frame_to_array(frame, columns, path, body_linenos, corrupt)
    body_lines = lines[1:] if header else lines

    def raw_field(row: int, col: int) -> str | None:
        with _csv_field_limit(len(text) + 1):
            fields = next(iter(_iter_rows([body_lines[row]], delimiter)), [])
        pos = positions[col]
        return fields[pos].strip() if pos < len(fields) else None

    _check_no_missing(X, names, body_linenos, path, raw_field)
    return X, names


def _check_no_missing(X: np.ndarray, names: list[str], linenos: list[int], path: Path, raw_field=None) -> None:
    """Every cell holds a finite number: a missing value or an infinity is reported by its line.

    ``raw_field(row, col)``, when given, is the cell's text, so that a "NaN" or "NA" the file
    spells out is quoted back rather than called empty.
    """
    finite = np.isfinite(X)
    if finite.all():
        return
    row, col = (int(i) for i in np.argwhere(~finite)[0])
    where = f"line {linenos[row]}" if row < len(linenos) else f"data row {row + 1}"
    value = X[row, col]
    if np.isnan(value):
        text = raw_field(row, col) if raw_field is not None else None
        spelled = f" (it has {text!r}, a missing value)" if text else ""
        raise DataFileError(
            f"{path.name}: {where} has no number in column {names[col]!r}{spelled}; "
            f"expected a value in every cell (drop or fill missing values first)"
        )
    raise DataFileError(
        f"{path.name}: {where} has {'+inf' if value > 0 else '-inf'} in column {names[col]!r}; "
        f"expected finite numbers (drop or replace infinite values first)"
    )


def _frame_to_array(
    frame: pd.DataFrame,
    columns,
    path: Path,
    linenos: list[int] | None = None,
    corrupt: dict[str, tuple[int, str]] | None = None,
) -> tuple[np.ndarray, list[str], list[int]]:
    """The numeric columns of ``frame`` (or the chosen ones) as float64, their names and positions.

    ``corrupt`` maps a column of mostly numbers to its first cell that is not one (row, text).
    """
    names = [str(c) for c in frame.columns]
    corrupt = corrupt or {}
    linenos = linenos or []
    frame.columns = names
    if frame.shape[0] == 0:
        raise DataFileError(f"{path.name}: holds no rows; expected at least one sample")
    numeric = [pd.api.types.is_numeric_dtype(frame.iloc[:, i]) for i in range(len(names))]
    if columns is not None:
        idx = _resolve_columns(columns, names, path)
    else:
        idx = [i for i in range(len(names)) if numeric[i] or names[i] in corrupt]
    for i in idx:
        if names[i] in corrupt:
            row, text = corrupt[names[i]]
            where = f"line {linenos[row]}" if row < len(linenos) else f"data row {row + 1}"
            raise DataFileError(
                f"{path.name}: {where} has {text!r} in column {names[i]!r}, whose other cells are numbers; "
                f"expected a number (fix the cell, or leave the column out with --columns)"
            )
    if columns is not None:
        bad = [names[i] for i in idx if not numeric[i]]
        if bad:
            raise DataFileError(
                f"{path.name}: column(s) {bad} are not numeric; expected numbers in every selected column"
            )
    else:
        dropped = [names[i] for i in range(len(names)) if i not in idx]
        if not idx:
            raise DataFileError(f"{path.name}: has no numeric column (columns: {names}); expected numbers")
        if dropped:
            warnings.warn(
                f"{path.name}: dropped non-numeric column(s) {dropped}; choose columns with --columns",
                UserWarning,
                stacklevel=4,
            )
    X = frame.iloc[:, idx].to_numpy(dtype=np.float64)
    return X, [names[i] for i in idx], idx


# --------------------------------------------------------------------------- sparse tables


def is_sparse_table(path: str | os.PathLike) -> bool:
    """Whether ``path`` is read as a sparse matrix: an svmlight/libsvm file, or a ``.npz`` written
    by ``scipy.sparse.save_npz`` (told by its members; only the archive's directory is read)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in SPARSE_SUFFIXES:
        return True
    if suffix != ".npz":
        return False
    with open_input(path, "an .npz file") as handle:
        if not is_regular(handle):
            return False
        try:
            with zipfile.ZipFile(handle) as archive:
                names = {info.filename[: -len(".npy")] for info in archive.infolist()}
        except Exception:  # not a zip: read_table says why
            return False
    return _SPARSE_NPZ_MEMBERS <= names


def read_sparse_table(path: str | os.PathLike):
    """Read a sparse matrix: svmlight/libsvm text (``.svm``, ``.svmlight``, ``.libsvm``) or a
    ``scipy.sparse.save_npz`` file.

    Reads are bounded as for the other tables: the svmlight text (gzipped or not) and every
    member of the ``.npz`` at most :func:`~.inputs.read_limit` bytes. The structure is checked
    (indices within the shape, a non-decreasing index pointer) before the matrix is built.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        The stored dtype for ``.npz`` (float64 for svmlight); never densified.
    feature_names : list of str
        ``x0, x1, ...``.
    """
    path = Path(path)
    X = _read_sparse_npz(path) if path.suffix.lower() == ".npz" else _read_svmlight(path)
    return X, _default_names(X.shape[1])


def _read_svmlight(path: Path):
    from sklearn.datasets import load_svmlight_file  # sklearn is a dependency; its loader is heavy to import

    raw = read_input_bytes(path, what="an svmlight/libsvm file")
    if not raw.strip():
        raise DataFileError(f"{path.name}: is empty; expected svmlight/libsvm lines 'label index:value ...'")
    try:
        X, _ = load_svmlight_file(_io.BytesIO(raw), dtype=np.float64)
    except Exception as exc:  # ValueError on a malformed line, among others
        raise DataFileError(
            f"{path.name}: not a readable svmlight/libsvm file ({exc}); expected lines 'label index:value ...'"
        ) from None
    return X.tocsr()


def _read_format_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> np.ndarray:
    """The ``format`` member of a save_npz file: a few bytes of text (anything longer is refused)."""
    if info.file_size > 4096:
        raise DataFileError(f"{path.name}['format']: holds {info.file_size} bytes; expected a format name")
    with archive.open(info) as member:
        return npy_format.read_array(member, allow_pickle=False)


def _read_sparse_npz(path: Path):
    import scipy.sparse as sp  # a dependency of scikit-learn

    with open_input(path, "an .npz file") as handle:
        if not is_regular(handle):
            raise DataFileError(f"{path.name}: is not a regular file; an .npz archive is read by seeking")
        try:
            with zipfile.ZipFile(handle) as archive:
                members = {info.filename[: -len(".npy")]: info for info in archive.infolist()}
                arrays = {
                    key: _read_member(archive, info, f"{path.name}[{key!r}]", path).ravel()  # read as a column
                    for key, info in members.items()
                    if key in ("shape", "data", "indices", "indptr", "row", "col")
                }
                arrays["format"] = _read_format_member(archive, members["format"], path)
        except KMeansLabError:
            raise
        except Exception as exc:
            raise DataFileError(f"{path.name}: not a readable .npz file ({exc})") from None
    try:
        fmt = arrays["format"].item()
        fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
        shape = tuple(int(v) for v in np.asarray(arrays["shape"]).ravel())
        if fmt in ("csr", "csc"):
            cls = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
            X = cls((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)
            X.check_format(full_check=True)
        elif fmt == "coo":
            X = sp.coo_matrix((arrays["data"], (arrays["row"], arrays["col"])), shape=shape)
        else:
            raise DataFileError(f"{path.name}: holds a sparse matrix in {fmt!r} format; expected csr, csc or coo")
    except KMeansLabError:
        raise
    except Exception as exc:  # a missing member (KeyError), indices out of range (ValueError), ...
        raise DataFileError(f"{path.name}: holds a damaged sparse matrix ({exc!r})") from None
    if len(shape) != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise DataFileError(f"{path.name}: holds a sparse matrix of shape {shape}; expected rows and columns")
    return X.tocsr()
