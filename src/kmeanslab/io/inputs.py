"""Opening the user's files for reading, with every read bounded.

Two rules hold for every file kmeanslab reads:

- **Errors name the file.** Any ``OSError`` on the way in (no such file, no permission, a name
  too long, a directory) becomes a :class:`~kmeanslab.errors.DatasetNotFoundError` or
  :class:`~kmeanslab.errors.DataFileError` that names the file and says why.
- **Reads are bounded.** A ``.npy`` file is mapped or read by row blocks, and only as much of it
  as its header declares (and the header must fit the file). Everything read *into memory* --
  a text table, a gzip stream, a ``.npz`` member, an IDX, JSON or pickle file, a text file -- is
  capped at :func:`read_limit` bytes (1 GiB unless ``$KMEANSLAB_MAX_READ_BYTES`` says otherwise),
  counted after decompression, so ``/dev/zero``, an endless pipe or a gzip bomb is refused
  instead of filling memory. A text file is checked for NUL bytes in its first block, before
  the rest is read.
"""

from __future__ import annotations

import ast
import errno
import os
import stat
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np
from numpy.lib import format as npy_format

from ..errors import DataFileError, DatasetNotFoundError, InputError

__all__ = [
    "READ_LIMIT_ENV",
    "DEFAULT_READ_LIMIT",
    "read_limit",
    "open_input",
    "read_input_bytes",
    "decode_text",
    "NpyHeader",
    "read_npy_header",
    "GZIP_MAGIC",
]

READ_LIMIT_ENV = "KMEANSLAB_MAX_READ_BYTES"
# 1 GiB of text parses into several GiB of Python and pandas objects; larger data belongs in
# .npy, which is never read whole.
DEFAULT_READ_LIMIT = 2**30
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
# Header lengths numpy itself writes are under a few hundred bytes for numeric arrays; numpy
# refuses headers over 10,000 bytes by default. 64 KiB (the most a version 1.0 header can hold)
# leaves room for any numeric dtype while bounding what a corrupt length can make us read.
_NPY_MAX_HEADER = 65536
_NPY_MAGIC = b"\x93NUMPY"


def read_limit() -> int:
    """The most bytes kmeanslab reads into memory from one file: ``$KMEANSLAB_MAX_READ_BYTES`` or 1 GiB."""
    text = os.environ.get(READ_LIMIT_ENV, "").strip()
    if not text:
        return DEFAULT_READ_LIMIT
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise InputError(f"${READ_LIMIT_ENV}={text!r} is not valid; expected a number of bytes >= 1")
    return int(text)


def human_bytes(n: int) -> str:
    """``1073741824`` as ``'1 GiB'``, ``1500`` as ``'1.5 KiB'``."""
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.3g} {unit}" if unit != "bytes" else f"{int(value)} bytes"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _cannot_read(path: Path, exc: OSError, what: str) -> Exception:
    """The error a user sees for an ``OSError`` met while opening or reading ``path``."""
    if isinstance(exc, FileNotFoundError):
        return DatasetNotFoundError(f"{str(path)!r} does not exist; expected {what}")
    if isinstance(exc, IsADirectoryError):
        return DataFileError(f"{str(path)!r} is a directory; expected {what}")
    reason = (exc.strerror or os.strerror(exc.errno)) if exc.errno else str(exc)
    return DataFileError(f"{str(path)!r} cannot be read: {reason}; expected {what} you can read")


def open_input(path: str | os.PathLike, what: str = "a data file") -> IO[bytes]:
    """Open ``path`` for reading bytes; every ``OSError`` becomes an error that names the file.

    Parameters
    ----------
    path : path-like
        A regular file, or a pipe or character device (``/dev/stdin``, ``<(zcat data.gz)``).
    what : str
        What the file should be, for the messages ("a data file", "a text file").

    Raises
    ------
    DatasetNotFoundError
        The file does not exist.
    DataFileError
        It is a directory, or cannot be opened (no permission, a name too long, ...).
    """
    path = Path(path)
    try:
        handle = open(path, "rb", buffering=0)
    except OSError as exc:
        raise _cannot_read(path, exc, what) from None
    try:
        mode = os.fstat(handle.fileno()).st_mode
    except OSError as exc:  # pragma: no cover - fstat of an open descriptor
        handle.close()
        raise _cannot_read(path, exc, what) from None
    if stat.S_ISDIR(mode):
        handle.close()
        raise _cannot_read(path, IsADirectoryError(errno.EISDIR, "Is a directory"), what)
    return handle


def is_regular(handle: IO[bytes]) -> bool:
    """Whether an open file is a regular file (its size is known and it can be mapped)."""
    return stat.S_ISREG(os.fstat(handle.fileno()).st_mode)


def too_big(label: str, limit: int, detail: str) -> DataFileError:
    return DataFileError(
        f"{label}: {detail} more than {human_bytes(limit)}, the most kmeanslab reads into memory "
        f"(${READ_LIMIT_ENV}); expected a smaller file: save large data as .npy, which is read in row blocks"
    )


def _read_chunk(handle: IO[bytes], size: int, path: Path, what: str) -> bytes:
    try:
        return handle.read(size)
    except OSError as exc:
        raise _cannot_read(path, exc, what) from None


def read_input_bytes(
    path: str | os.PathLike,
    *,
    what: str = "a data file",
    gunzip: bool = True,
    limit: int | None = None,
    check_start: Callable[[bytes], None] | None = None,
    label: str | None = None,
    gzip_hint: str = "copy or compress it again",
) -> bytes:
    """The bytes of ``path`` (gunzipped when it starts with the gzip magic), at most ``limit`` of them.

    Parameters
    ----------
    path : path-like
    what : str
        What the file should be, for the messages.
    gunzip : bool, default=True
        Decompress gzip data (one or several members), whatever the file's name.
    limit : int, optional
        The most bytes to return, counted after decompression (default :func:`read_limit`).
    check_start : callable, optional
        Called with the first block (up to 1 MiB, decompressed) before the rest is read; it may
        raise to refuse the file early (a binary file where text was expected).
    label : str, optional
        How messages name the file (default: its name).
    gzip_hint : str
        What to do about corrupt gzip data, for the message.

    Raises
    ------
    DatasetNotFoundError, DataFileError
        As :func:`open_input`; also a file (or its decompressed data) larger than ``limit``, and
        truncated or corrupt gzip data.
    """
    path = Path(path)
    limit = read_limit() if limit is None else limit
    label = path.name if label is None else label
    with open_input(path, what) as handle:
        if is_regular(handle):
            size = os.fstat(handle.fileno()).st_size
        else:
            size = None
        # A pipe may return less than asked: the first block is read whole (or to the end).
        head = _read_full(handle, min(_CHUNK, limit + 1), path, what)
        if gunzip and head[:2] == GZIP_MAGIC:
            return _gunzip(handle, head, path, what, limit, check_start, label, gzip_hint)
        if size is not None and size > limit:
            raise too_big(label, limit, f"the file holds {human_bytes(size)},")
        if check_start is not None:
            check_start(head)
        parts, total = [head], len(head)
        while total <= limit:
            chunk = _read_chunk(handle, min(_CHUNK, limit + 1 - total), path, what)
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
        if total > limit:
            raise too_big(label, limit, "it holds")
        return b"".join(parts)


def _read_full(handle: IO[bytes], size: int, path: Path, what: str) -> bytes:
    """``size`` bytes, or fewer at the end of the file: reads again where a pipe returned less."""
    parts, total = [], 0
    while total < size:
        chunk = _read_chunk(handle, size - total, path, what)
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def _gunzip(handle, head: bytes, path: Path, what: str, limit: int, check_start, label: str, hint: str) -> bytes:
    """Decompress a gzip stream (one or several members) that starts with ``head``, bounded by ``limit``."""
    parts: list[bytes] = []
    total = 0
    checked = check_start is None
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    pending = head
    while True:
        if not pending:
            pending = _read_chunk(handle, _CHUNK, path, what)
            if not pending:
                break
        try:
            out = decompressor.decompress(pending, limit + 1 - total)
        except zlib.error as exc:
            raise DataFileError(
                f"{label}: truncated or corrupt gzip data ({exc}); expected a complete gzip file: {hint}"
            ) from None
        pending = decompressor.unconsumed_tail
        total += len(out)
        if total > limit:
            raise too_big(label, limit, "it decompresses to")
        parts.append(out)
        if not checked and (total >= _CHUNK or decompressor.eof):
            check_start(b"".join(parts)[:_CHUNK])
            checked = True
        if decompressor.eof:
            rest = decompressor.unused_data + pending
            if not rest:
                rest = _read_chunk(handle, _CHUNK, path, what)
            if not rest:
                break
            if rest[:2] != GZIP_MAGIC:  # trailing garbage after the last member, as gzip(1) says
                raise DataFileError(f"{label}: has data after the end of its gzip stream; expected a gzip file: {hint}")
            decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            pending = rest
    if not decompressor.eof:
        raise DataFileError(
            f"{label}: truncated or corrupt gzip data (the stream ends early); expected a complete gzip file: {hint}"
        )
    data = b"".join(parts)
    if not checked:
        check_start(data[:_CHUNK])
    return data


def decode_text(raw: bytes) -> str:
    """Bytes as text: UTF-8 (a BOM dropped), else latin-1."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # latin-1 maps every byte, so it is the fallback that cannot fail.
        return raw.decode("latin-1")


# --------------------------------------------------------------------------- .npy headers


class NpyHeader(NamedTuple):
    """What a ``.npy`` header declares: the array's shape, order and dtype, and where its data starts."""

    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype
    offset: int

    @property
    def nbytes(self) -> int:
        """Bytes of data the header promises (an exact Python integer: it cannot wrap)."""
        count = 1
        for n in self.shape:
            count *= n
        return count * self.dtype.itemsize


def read_npy_header(handle: IO[bytes], name: str) -> NpyHeader:
    """Parse the header of the ``.npy`` data at the start of ``handle`` (a file or a ``.npz`` member).

    Versions 1.0, 2.0 and 3.0 are read; the header is parsed as a Python literal, never
    evaluated, and is at most 64 KiB.

    Raises
    ------
    DataFileError
        Not a ``.npy`` file, an unknown version, or a header that is not the dictionary of
        ``descr``, ``fortran_order`` and ``shape`` the format specifies.
    """

    def refuse(detail: str) -> DataFileError:
        return DataFileError(f"{name}: not a readable .npy file ({detail}); expected an array saved by numpy.save")

    try:
        start = handle.read(8)
    except OSError as exc:
        raise DataFileError(f"{name}: cannot be read: {exc.strerror or exc}") from None
    if start[:4] == b"PK\x03\x04":
        raise DataFileError(f"{name}: is an .npz archive, not an .npy array; rename it to .npz")
    if len(start) < 8 or start[:6] != _NPY_MAGIC:
        raise refuse("it does not start with the .npy magic string")
    version = (start[6], start[7])
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise refuse(f"unknown format version {version[0]}.{version[1]}; kmeanslab reads 1.0, 2.0 and 3.0")
    size_format = "<H" if version == (1, 0) else "<I"
    length_bytes = handle.read(struct.calcsize(size_format))
    if len(length_bytes) != struct.calcsize(size_format):
        raise refuse("the header is cut short")
    (length,) = struct.unpack(size_format, length_bytes)
    if length > _NPY_MAX_HEADER:
        raise refuse(f"a header of {length} bytes; expected at most {_NPY_MAX_HEADER}")
    raw = handle.read(length)
    if len(raw) != length:
        raise refuse("the header is cut short")
    try:
        text = raw.decode("utf-8" if version == (3, 0) else "latin-1")
        header = ast.literal_eval(text)
    except (UnicodeDecodeError, ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        raise refuse("its header is not a Python literal") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise refuse("its header is not the dictionary of 'descr', 'fortran_order' and 'shape'")
    shape, fortran = header["shape"], header["fortran_order"]
    if (
        not isinstance(shape, tuple)
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        or not isinstance(fortran, bool)
    ):
        raise refuse(f"its header declares shape {shape!r} and fortran_order {fortran!r}")
    try:
        dtype = npy_format.descr_to_dtype(header["descr"])
    except (TypeError, ValueError, KeyError, IndexError, RecursionError) as exc:
        raise refuse(f"unknown dtype {header['descr']!r}: {exc}") from None
    offset = len(_NPY_MAGIC) + 2 + struct.calcsize(size_format) + length
    return NpyHeader(tuple(shape), fortran, dtype, offset)
