"""What every block source offers the Lloyd loop, and the checks shared by the sources.

A *block* is a run of consecutive rows of X: the unit a source reads (a file read, a Dask
chunk) and hands to a function. The engine's kernels split a block further, into slabs
(parallel work) and chunks (cache-sized rows); those words never mean a block.
"""

from __future__ import annotations

import abc
import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..errors import InputError
from ..validation import check_data

__all__ = ["BlockSource", "DEFAULT_BLOCK_BYTES", "default_block_rows", "work_dtype"]

# Bytes of X per block read: large enough that the per-block work (one BLAS product per
# engine chunk) dwarfs the read call, small next to any machine's memory.
DEFAULT_BLOCK_BYTES = 32 * 2**20


class BlockSource(abc.ABC):
    """Rows of X in blocks, and the means to run a function on every block.

    The Lloyd loop, the seeding and the moments for ``tol`` are written once against this
    interface (as faiss writes its loop against ``DatasetAssign``); :class:`InMemoryBlocks`,
    :class:`LocalBlocks` and :class:`DaskBlocks` implement it.

    Attributes
    ----------
    n, d : int
        Rows and features of X.
    dtype : numpy.dtype
        The float dtype the engine computes in (float32 stays float32, anything else float64).
    total_weight : float
        Sum of the sample weights (``n`` without weights).
    n_blocks : int
    resident : bool
        Whether the blocks stay in memory between passes, so that per-block state may refer
        to its block (the in-memory source keeps an assigner with its bounds from one pass to
        the next). Otherwise per-block state must be small and stand alone (labels).
    in_memory : bool
        Whether all of X is one ndarray, ``X`` (with ``x_sq`` and ``weights``), so that an
        algorithm may use random access instead of passes.

    Notes
    -----
    ``map(fn, *args, state=None, keep_state=False, data=True) -> (states | None, results)``
        Calls ``fn(X_b, x_sq_b, w_b, state_b, (block_index, start, stop), *args)`` on every
        block, inside :func:`kmeanslab._core.compute_context`. ``X_b`` is the validated block,
        ``x_sq_b`` its rows' squared norms (computed once per fit), ``w_b`` its weights or
        None; ``fn`` returns ``(new_state_b, result_b)``. ``data=False`` promises that ``fn``
        reads neither ``X_b`` nor ``x_sq_b``. Results (and states) may be handles (Dask
        futures): read them through ``reduce`` and ``gather``.
    ``reduce(results, combine)``, ``gather(results)``
        Fold the results with ``combine`` in a fixed order; or fetch them all.
    ``take(rows)``
        Rows of X at sorted global indices, as an ndarray of ``dtype``.
    ``final_labels(parts, centers)``
        The labels a final pass computed (``parts[i][0]`` for block i), as one array of the
        source's kind (an ndarray; a lazy dask array for Dask).
    """

    resident = False
    in_memory = False
    n: int
    d: int
    dtype: np.dtype
    total_weight: float

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.d)

    @property
    @abc.abstractmethod
    def n_blocks(self) -> int: ...

    @abc.abstractmethod
    def map(
        self, fn: Callable, *args: Any, state: list | None = None, keep_state: bool = False, data: bool = True
    ) -> tuple[list | None, list]: ...

    def reduce(self, results: list, combine: Callable) -> Any:
        return functools.reduce(combine, results)

    def gather(self, results: list) -> list:
        return list(results)

    @abc.abstractmethod
    def take(self, rows: np.ndarray) -> np.ndarray: ...

    def final_labels(self, parts: list, centers: np.ndarray) -> Any:
        return np.concatenate([part[0] for part in self.gather(parts)])

    @contextlib.contextmanager
    def computing(self) -> Iterator[None]:
        """Hold what ``map`` needs across several passes (a no-op unless a source says otherwise)."""
        yield

    def release(self) -> None:  # noqa: B027  (most sources hold nothing to let go of)
        """Let go of what the source holds for a fit (Dask: the blocks on the workers)."""


def work_dtype(dtype: Any, name: str = "X") -> np.dtype:
    """The float dtype the engine computes in for data of ``dtype`` (as check_data decides)."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "fiub":
        raise InputError(f"{name} has dtype {dtype}; expected numeric data")
    return np.dtype(np.float32) if dtype == np.float32 else np.dtype(np.float64)


def default_block_rows(n_features: int, itemsize: int, block_bytes: int = DEFAULT_BLOCK_BYTES) -> int:
    """Rows per block so that a block of X holds about ``block_bytes``."""
    return max(1, block_bytes // max(1, n_features * itemsize))


def check_shape(X: Any, name: str) -> tuple[int, int]:
    """``(n, d)`` of a 2-D array-like with at least one row and one column."""
    shape = tuple(getattr(X, "shape", ()))
    if len(shape) != 2:
        raise InputError(f"{name} must be a 2-D array of shape (n_samples, n_features); got shape {shape}")
    n, d = int(shape[0]), int(shape[1])
    if n < 1 or d < 1:
        raise InputError(f"{name} has shape {shape}; expected at least one row and one column")
    return n, d


def check_block(block: Any, name: str, where: str, *, whole_rows: int | None = None, row_offset: int = 0) -> np.ndarray:
    """``check_data`` on one block of ``name``; an error says ``where`` it is ("rows a:b").

    ``whole_rows`` and ``row_offset`` (the rows of the whole array and the block's first row)
    make the bound on the values that of the whole array and the rows in messages absolute.
    """
    try:
        return check_data(np.asarray(block), name, whole_rows=whole_rows, row_offset=row_offset)
    except InputError as exc:
        raise InputError(f"{exc} [in {where} of {name}]") from None
