"""The block sources of this process: X in memory as one block, or read one block at a time.

:class:`InMemoryBlocks` is all of X as a single resident block, so the Lloyd loop keeps one
assigner (its labels and bounds) from one iteration to the next. :class:`LocalBlocks` reads
row blocks of a memory map or any row-sliceable array-like (an h5py or zarr dataset, a
:class:`~kmeanslab.scale.NpyFile`) and holds one block of X at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._core import compute_context, row_sq_norms
from ..errors import InputError
from ..validation import check_sample_weight, is_sparse, iter_row_chunks
from ._base import BlockSource, check_block, check_shape, default_block_rows, work_dtype

__all__ = ["STREAM_MIN_BYTES", "InMemoryBlocks", "LocalBlocks", "is_out_of_core", "iter_blocks"]

# Memory maps and array-likes at least this big are streamed; smaller ones are simply read
# into memory (an array this size is no burden, and the in-memory path seeds with k-means++).
STREAM_MIN_BYTES = 256 * 2**20


class _ComputingOnce:
    """``computing()`` for sources whose ``map`` runs here: one compute_context for many passes.

    Entering :func:`kmeanslab._core.compute_context` costs about 60 µs (measured on the shared
    2-core machine), as much as a whole Lloyd iteration on a small X, so a fit holds it once.
    """

    _computing = False

    @contextlib.contextmanager
    def computing(self) -> Iterator[None]:
        if self._computing:
            yield
            return
        with compute_context():
            self._computing = True
            try:
                yield
            finally:
                self._computing = False


class InMemoryBlocks(_ComputingOnce, BlockSource):
    """All of X, in memory, as one resident block.

    Parameters
    ----------
    X : ndarray or scipy.sparse CSR of shape (n, d)
        Validated data (see :func:`kmeanslab.validation.check_data`): C-ordered float32/float64,
        or canonical CSR (``check_data(..., accept_sparse=True)``), which stays sparse: the
        kernels read its stored entries and ``take`` densifies only the rows it is asked for.
    sample_weight : ndarray of shape (n,), optional
        Validated weights (see :func:`kmeanslab.validation.check_sample_weight`).
    x_sq : ndarray of shape (n,), optional
        The rows' squared norms in float64; computed here when not given.
    """

    resident = True
    in_memory = True

    def __init__(self, X: np.ndarray, sample_weight: np.ndarray | None = None, x_sq: np.ndarray | None = None):
        self.X = X
        self.sparse = is_sparse(X)
        self.n, self.d = X.shape
        self.dtype = X.dtype
        self.weights = sample_weight
        self.x_sq = row_sq_norms(X) if x_sq is None else x_sq
        self.total_weight = float(self.n if sample_weight is None else sample_weight.sum())

    @property
    def n_blocks(self) -> int:
        return 1

    def map(
        self, fn: Callable, *args: Any, state: list | None = None, keep_state: bool = False, data: bool = True
    ) -> tuple[list | None, list]:
        with self.computing():
            new_state, result = fn(
                self.X, self.x_sq, self.weights, None if state is None else state[0], (0, 0, self.n), *args
            )
        return ([new_state] if keep_state else None), [result]

    def take(self, rows: np.ndarray) -> np.ndarray:
        picked = self.X[np.asarray(rows, dtype=np.int64)]
        return np.ascontiguousarray(picked.toarray() if self.sparse else picked)


class LocalBlocks(_ComputingOnce, BlockSource):
    """Row blocks of an out-of-core X, read and processed one after another in this process.

    Blocks are validated on their first read only (the source is read-only data); their rows'
    squared norms are kept (8 bytes a row) so that later passes only read X. Memory: one block
    of X, the engine's per-block temporaries, the norms, and per-block state (one int32 label
    a row during the Lloyd loop, one float64 a row during k-means‖ seeding).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        An ``np.memmap``, :class:`~kmeanslab.scale.NpyFile`, h5py/zarr dataset: anything with
        ``shape``, ``dtype`` and row slicing ``X[a:b]``.
    sample_weight : array-like of shape (n_samples,), optional
    block_rows : int, optional
        Rows per block (default: about 32 MiB of data).
    """

    def __init__(self, X: Any, sample_weight: Any = None, *, block_rows: int | None = None, name: str = "X"):
        self.source = X
        self.name = name
        self.n, self.d = check_shape(X, name)
        self.dtype = work_dtype(X.dtype, name)
        rows = default_block_rows(self.d, np.dtype(X.dtype).itemsize) if block_rows is None else block_rows
        if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
            raise InputError(f"block_rows={rows!r} is not valid; expected an integer >= 1")
        self.bounds = list(iter_row_chunks(self.n, int(rows)))
        self.weights = check_sample_weight(sample_weight, self.n)
        self.total_weight = float(self.n if self.weights is None else self.weights.sum())
        self._x_sq: list[np.ndarray | None] = [None] * len(self.bounds)

    @property
    def n_blocks(self) -> int:
        return len(self.bounds)

    def _read(self, i: int) -> np.ndarray:
        a, b = self.bounds[i]
        if self._x_sq[i] is None:
            return check_block(self.source[a:b], self.name, f"rows {a}:{b}", whole_rows=self.n, row_offset=a)
        return np.ascontiguousarray(np.asarray(self.source[a:b]), dtype=self.dtype)

    def block(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Block ``i`` of X and its rows' squared norms."""
        X_b = self._read(i)
        if self._x_sq[i] is None:
            self._x_sq[i] = row_sq_norms(X_b)
        return X_b, self._x_sq[i]

    def map(
        self, fn: Callable, *args: Any, state: list | None = None, keep_state: bool = False, data: bool = True
    ) -> tuple[list | None, list]:
        states, results = [], []
        with self.computing():
            for i, (a, b) in enumerate(self.bounds):
                X_b, x_sq_b = self.block(i) if data else (None, None)
                w_b = None if self.weights is None else self.weights[a:b]
                new_state, result = fn(X_b, x_sq_b, w_b, None if state is None else state[i], (i, a, b), *args)
                if keep_state:
                    states.append(new_state)
                results.append(result)
        return (states if keep_state else None), results

    def take(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.d), dtype=self.dtype)
        for j, i in enumerate(rows):
            row = int(i)
            out[j] = check_block(
                self.source[row : row + 1], self.name, f"row {row}", whole_rows=self.n, row_offset=row
            )[0]
        return out


def _is_sparse(X: Any) -> bool:
    return hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse")


def is_out_of_core(X: Any, min_bytes: int | None = None) -> bool:
    """Whether ``X`` should be streamed by row blocks instead of read into memory.

    True for a 2-D ``np.memmap``, and for any other row-sliceable array-like that is not an
    ndarray (an h5py or zarr dataset, a :class:`NpyFile`: ``shape``, ``dtype`` and
    ``X[a:b]``), of at least ``min_bytes`` (default :data:`STREAM_MIN_BYTES`).
    """
    min_bytes = STREAM_MIN_BYTES if min_bytes is None else min_bytes
    if isinstance(X, np.ndarray) and not isinstance(X, np.memmap):
        return False
    if _is_sparse(X) or not hasattr(X, "__getitem__"):
        return False
    shape = getattr(X, "shape", None)
    try:
        dtype = np.dtype(getattr(X, "dtype", None))
    except TypeError:
        return False
    if dtype.kind not in "fiub" or not isinstance(shape, tuple) or len(shape) != 2:
        return False
    try:
        nbytes = int(shape[0]) * int(shape[1]) * dtype.itemsize
    except (TypeError, ValueError):  # unknown sizes (NaN)
        return False
    return nbytes >= min_bytes


def iter_blocks(X: Any, block_rows: int | None = None, name: str = "X") -> Iterator[np.ndarray]:
    """Validated row blocks of a row-sliceable array-like, one at a time.

    Handy for feeding a stream to :meth:`kmeanslab.MiniBatchKMeans.partial_fit`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Anything with ``shape``, ``dtype`` and row slicing ``X[a:b]``.
    block_rows : int, optional
        Rows per block (default: about 32 MiB of data per block).

    Yields
    ------
    ndarray
        C-ordered float32/float64 blocks (as :func:`kmeanslab.validation.check_data` returns).
    """
    n, d = check_shape(X, name)
    rows = default_block_rows(d, np.dtype(X.dtype).itemsize) if block_rows is None else block_rows
    for a, b in iter_row_chunks(n, rows):
        yield check_block(X[a:b], name, f"rows {a}:{b}", whole_rows=n, row_offset=a)
