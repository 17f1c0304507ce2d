"""The user's own files: reading tables, and writing outputs so that nothing is half-written.

Every file kmeanslab writes goes to a temporary file in the destination's directory and is
renamed into place, so an interrupted run leaves either the old file or the new one.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io as _io
import json
import os
import stat
import tempfile
import warnings
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import DataFileError, DatasetNotFoundError, InputError, MissingExtraError, OutputError

__all__ = [
    "read_table",
    "select_columns",
    "atomic_write",
    "write_text",
    "write_json",
    "write_csv",
    "prepare_out_dir",
    "TABLE_SUFFIXES",
]

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".npy", ".npz", ".parquet", ".pq")


# --------------------------------------------------------------------------- writing


def _current_umask() -> int:
    """The process's umask.

    Linux shows it in /proc; elsewhere reading it means setting it, and it is put straight
    back (another thread creating a file in between would see the temporary value).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _new_file_mode(path: Path) -> int:
    """The permission bits ``path`` gets: an existing file's own, else ``0o666 & ~umask``.

    ``tempfile.mkstemp`` creates its file with mode 0600 whatever the umask; renamed into
    place as is, every output would be private to its owner, unlike a file ``open`` creates.
    """
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None and stat.S_ISREG(st.st_mode):
        return stat.S_IMODE(st.st_mode)
    return 0o666 & ~_current_umask()


def _cannot_write(path: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc)
    return OutputError(
        f"cannot write {str(path)!r}: {reason}; expected a path in an existing directory you can write to"
    )


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it onto ``path``.

    On any exception (``KeyboardInterrupt`` included) the temporary file is removed and
    ``path`` is untouched. The file gets the permissions a plain ``open`` would give it
    (``0o666`` less the umask), or keeps those of the file it replaces.

    Raises
    ------
    OutputError
        The temporary file cannot be created beside ``path`` or renamed onto it (no such
        directory, a file where a directory should be, no permission).
    """
    path = Path(path)
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
        open_kwargs.setdefault("newline", "")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, _new_file_mode(path))
            else:  # pragma: no cover - Windows
                os.chmod(tmp, _new_file_mode(path))
            handle = os.fdopen(fd, mode, **open_kwargs)
        except BaseException:
            os.close(fd)
            raise
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise _cannot_write(path, exc) from None
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


def write_csv(path: str | os.PathLike, array: np.ndarray, header: Sequence[str] | None = None) -> Path:
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


def prepare_out_dir(path: str | os.PathLike, name: str = "--out", *, create: bool = True) -> Path:
    """Check, and create unless ``create=False``, an output directory.

    Refuses a path that is a file or a directory that cannot be written. Commands call it
    with ``create=False`` before their work, so that bad input fails before anything is
    created, and again with ``create=True`` when there is something to write.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{name} {str(path)!r} is a file; expected a directory (or a new path)")
    if not create:
        existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
        if not existing.is_dir():
            raise InputError(
                f"{name} {str(path)!r} cannot be created: {str(existing)!r} is a file, not a directory; "
                f"expected a directory (or a new path)"
            )
        if not os.access(existing, os.W_OK | os.X_OK):
            raise InputError(
                f"{name} {str(path)!r} cannot be created: {str(existing)!r} is not writable; choose another directory"
            )
        return path
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
        ``.csv``/``.tsv``/``.txt`` or any other text table (header detected, delimiter sniffed
        among comma, semicolon, tab and spaces; UTF-8 with or without a BOM, UTF-16 with a BOM,
        or latin-1; gzipped or not; a decimal comma is understood when the delimiter is not a
        comma), ``.npy`` (memory-mapped unless ``mmap=False``), ``.npz`` (the array ``X`` if
        present, else ``data``, else the only array), ``.parquet``/``.pq`` (needs pyarrow,
        ``pip install 'kmeanslab[parquet]'``).
    columns : sequence of str or int, optional
        Keep only these columns: names, or 0-based positions (negative ones count from the
        end). Without it, non-numeric columns are dropped with a warning that names them.
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
        The file is empty, ragged, has a missing or infinite value (text tables, Parquet) or
        no numeric column, or is not of its claimed format. The message names the file (and
        the line, for text tables).
    MissingExtraError
        A Parquet file without pyarrow installed.
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
        elif isinstance(col, str) and col.strip().lstrip("-").isdigit():
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
    if not isinstance(X, np.ndarray):  # an .npz archive under a .npy name
        X.close()
        raise DataFileError(f"{path.name}: is an .npz archive, not an .npy array; rename it to .npz")
    X = _check_numeric_array(X, path)
    return select_columns(X, _default_names(X.shape[1]), columns, path)


def _read_npz(path: Path, columns) -> tuple[np.ndarray, list[str]]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            key = next((k for k in ("X", "data") if k in keys), keys[0] if len(keys) == 1 else None)
            if key is None:
                raise DataFileError(f"{path.name}: holds arrays {keys}; expected one array, or one named 'X' or 'data'")
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
    X, names, _ = _frame_to_array(frame, columns, path)
    _check_no_missing(X, names, [], path)
    return X, names


# --------------------------------------------------------------------------- text tables


def decode_text(raw: bytes) -> str:
    """Bytes as text: UTF-8 (a BOM dropped), else latin-1."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # latin-1 maps every byte, so it is the fallback that cannot fail.
        return raw.decode("latin-1")


def _read_text(path: Path) -> str:
    """The file as text: gunzipped if gzip, decoded by its BOM, else UTF-8, else latin-1."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise DataFileError(
                f"{path.name}: truncated or corrupt gzip data ({exc}); expected a complete gzip file: "
                f"copy or compress it again"
            ) from None
    if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataFileError(f"{path.name}: not valid UTF-16 text ({exc.reason})") from None
    elif b"\0" in raw[:8192]:
        raise DataFileError(f"{path.name}: looks like a binary file; expected a text table, .npy, .npz or Parquet")
    else:
        text = decode_text(raw)
    if not text.strip():
        raise DataFileError(f"{path.name}: the file is empty; expected a header and/or rows of numbers")
    return text


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


def _is_number(field: str) -> bool:
    try:
        float(field.replace(",", ".") if field.count(",") == 1 else field)
    except ValueError:
        return False
    return True


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
    for row, lineno in zip(_iter_rows(lines, delimiter), linenos):
        if expected is None:
            expected = len(row)
        elif len(row) != expected:
            raise DataFileError(
                f"{path.name}: line {lineno} has {len(row)} fields but line {linenos[0]} has "
                f"{expected}; expected the same number of columns on every line"
            )


def _parse_frame(text: str, delimiter: str, header: bool, decimal: str, path: Path):
    import pandas as pd

    try:
        return pd.read_csv(
            _io.StringIO(text),
            sep=r"\s+" if delimiter == " " else delimiter,
            header=0 if header else None,
            skipinitialspace=delimiter != " ",
            decimal=decimal,
        )
    except Exception as exc:  # pandas.errors.ParserError and friends
        raise DataFileError(f"{path.name}: cannot be parsed as a table ({exc})") from None


def _n_numeric(frame) -> int:
    import pandas as pd

    return sum(pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns)


def _read_delimited(path: Path, columns) -> tuple[np.ndarray, list[str]]:
    text = _read_text(path)
    # Only CR/LF end lines: str.splitlines would also split at U+0085, which latin-1 text has.
    physical = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    numbered = [(i, line) for i, line in enumerate(physical, start=1) if line.strip()]
    linenos = [i for i, _ in numbered]
    lines = [line for _, line in numbered]
    delimiter = _sniff_delimiter(lines, path)
    _check_rectangular(lines, delimiter, linenos, path)
    header = _has_header(list(_iter_rows(lines[:2], delimiter)))
    if header and len(lines) == 1:
        raise DataFileError(f"{path.name}: has a header but no rows; expected at least one sample")
    body = "\n".join(lines)
    frame = _parse_frame(body, delimiter, header, ".", path)
    if delimiter != "," and _n_numeric(frame) < frame.shape[1]:
        # "3,6;79" is 3.6 in much of Europe (and in many latin-1 files): take the reading
        # that makes more columns numeric.
        comma = _parse_frame(body, delimiter, header, ",", path)
        if _n_numeric(comma) > _n_numeric(frame):
            frame = comma
    if not header:
        frame.columns = _default_names(frame.shape[1])
    X, names, positions = _frame_to_array(frame, columns, path)
    body_lines = lines[1:] if header else lines

    def raw_field(row: int, col: int) -> str | None:
        fields = next(iter(_iter_rows([body_lines[row]], delimiter)), [])
        pos = positions[col]
        return fields[pos].strip() if pos < len(fields) else None

    _check_no_missing(X, names, linenos[1:] if header else linenos, path, raw_field)
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


def _frame_to_array(frame, columns, path: Path) -> tuple[np.ndarray, list[str], list[int]]:
    """The numeric columns of ``frame`` (or the chosen ones) as float64, their names and positions."""
    import pandas as pd

    names = [str(c) for c in frame.columns]
    frame.columns = names
    if frame.shape[0] == 0:
        raise DataFileError(f"{path.name}: holds no rows; expected at least one sample")
    if columns is not None:
        idx = _resolve_columns(columns, names, path)
        bad = [names[i] for i in idx if not pd.api.types.is_numeric_dtype(frame.iloc[:, i])]
        if bad:
            raise DataFileError(
                f"{path.name}: column(s) {bad} are not numeric; expected numbers in every selected column"
            )
    else:
        idx = [i for i in range(len(names)) if pd.api.types.is_numeric_dtype(frame.iloc[:, i])]
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
