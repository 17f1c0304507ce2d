""":class:`NpyFile`: a ``.npy`` file read by row blocks with plain file reads, never mapped whole.

A fit that streams an ``NpyFile`` holds one block of it at a time, so an address-space limit
smaller than the file is fine (``tests/test_streaming.py`` checks it under ``RLIMIT_AS``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataFileError, DatasetNotFoundError
from ..io import NpyHeader, read_npy_header

__all__ = ["NpyFile", "open_npy"]


class NpyFile:
    """A 2-D ``.npy`` file read by row blocks with plain file reads (no memory map).

    Behaves like a read-only array for row slicing: ``f[a:b]`` (or ``f[a:b, cols]``) returns a
    new ndarray holding just those rows. ``np.asarray(f)`` reads everything.

    Parameters
    ----------
    path : path-like
        A C-ordered ``.npy`` file holding a 1-D (one feature) or 2-D numeric array.

    Attributes
    ----------
    shape, dtype, ndim, nbytes, path
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise DatasetNotFoundError(f"{str(self.path)!r} does not exist; expected a .npy file")
        shape, fortran, dtype, offset = _npy_header(self.path)
        if dtype.kind not in "fiub" or dtype.hasobject:
            raise DataFileError(f"{self.path.name}: holds {dtype} values; expected a numeric array")
        if len(shape) == 1:
            shape = (shape[0], 1)
        if len(shape) != 2:
            raise DataFileError(
                f"{self.path.name}: holds an array of shape {shape}; expected 2-D (n_samples, n_features)"
            )
        if fortran and shape[1] > 1:
            raise DataFileError(
                f"{self.path.name}: is stored in Fortran order, so rows are not contiguous; "
                f"expected C order: re-save it with np.save(path, np.ascontiguousarray(X))"
            )
        expected = offset + shape[0] * shape[1] * dtype.itemsize
        size = self.path.stat().st_size
        if size < expected:
            raise DataFileError(f"{self.path.name}: is truncated ({size} bytes; the header promises {expected})")
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = dtype
        self.ndim = 2
        self._offset = offset
        self._row_bytes = self.shape[1] * dtype.itemsize
        self._fd: int | None = None

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self._row_bytes

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"NpyFile({str(self.path)!r}, shape={self.shape}, dtype={self.dtype})"

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as a new C-ordered array of the file's dtype."""
        start, stop = max(0, int(start)), min(self.shape[0], int(stop))
        out = np.empty((max(0, stop - start), self.shape[1]), dtype=self.dtype)
        if out.size:
            _pread_into(self._file(), memoryview(out).cast("B"), self._offset + start * self._row_bytes)
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        cols: Any = slice(None)
        if isinstance(key, tuple):
            if len(key) != 2:
                raise IndexError(f"too many indices for a 2-D NpyFile: {key!r}")
            key, cols = key
        if isinstance(key, (int, np.integer)):
            i = int(key) + (self.shape[0] if key < 0 else 0)
            if not 0 <= i < self.shape[0]:
                raise IndexError(f"row {key} is out of range for {self.shape[0]} rows")
            return self.read(i, i + 1)[0, cols]
        if isinstance(key, slice):
            start, stop, step = key.indices(self.shape[0])
            rows = self.read(start, stop) if step == 1 else self.read(start, stop)[::step]
            return rows if cols == slice(None) else np.ascontiguousarray(rows[:, cols])
        raise TypeError(f"NpyFile rows are read by slices or integers; got {type(key).__name__}")

    def __array__(self, dtype=None, copy=None):
        rows = self.read(0, self.shape[0])
        return rows if dtype is None else rows.astype(dtype)

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        return self._fd

    def close(self) -> None:
        """Close the file descriptor (reads reopen it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def __enter__(self) -> NpyFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # An open descriptor does not travel: a copy (a Dask task, a pickle) reopens the file.
    def __reduce__(self):
        return (type(self), (str(self.path),))

    def __dask_tokenize__(self):
        stat = self.path.stat()
        return ("kmeanslab.NpyFile", str(self.path.resolve()), stat.st_size, stat.st_mtime_ns)


def _npy_header(path: Path) -> NpyHeader:
    """Shape, Fortran order, dtype and data offset from the header of a ``.npy`` file.

    Parsed by the same bounded reader as every other ``.npy`` the package opens
    (:func:`kmeanslab.io.read_npy_header`).
    """
    try:
        with open(path, "rb") as handle:
            return read_npy_header(handle, path.name)
    except OSError as exc:
        raise DataFileError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None


def _pread_into(fd: int, buffer: memoryview, offset: int) -> None:
    done = 0
    while done < len(buffer):
        got = os.preadv(fd, [buffer[done:]], offset + done)
        if got == 0:
            raise DataFileError(f"unexpected end of file after {offset + done} bytes")
        done += got


def open_npy(path: str | os.PathLike) -> NpyFile:
    """Open a ``.npy`` file for row-block reads (see :class:`NpyFile`)."""
    return NpyFile(path)
