"""Which block source serves an X, and functions of rows applied block by block."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InputError
from ..validation import check_data, check_sample_weight
from ._base import BlockSource
from ._dask import DaskBlocks, is_dask_array, map_dask_rows
from ._local import InMemoryBlocks, LocalBlocks, is_out_of_core, iter_blocks

__all__ = ["block_source", "beyond_memory", "map_row_blocks"]


def beyond_memory(X: Any) -> bool:
    """Whether ``X`` is served block by block: a dask array, or an out-of-core array-like."""
    return is_dask_array(X) or is_out_of_core(X)


def block_source(X: Any, sample_weight: Any = None) -> BlockSource:
    """The block source for ``X``, its data validated.

    A :class:`BlockSource` is used as it is; a dask array becomes :class:`DaskBlocks` on the
    active client; a memory map or row-sliceable array-like of at least
    :data:`STREAM_MIN_BYTES` becomes :class:`LocalBlocks`; anything else is validated into
    memory as :class:`InMemoryBlocks` (a scipy.sparse X as canonical CSR, never densified).

    Parameters
    ----------
    X : array-like, dask array, out-of-core array-like or BlockSource
    sample_weight : array-like of shape (n_samples,), optional
        Not with a BlockSource, which holds its own weights.
    """
    if isinstance(X, BlockSource):
        if sample_weight is not None:
            raise InputError(
                f"sample_weight was given with a {type(X).__name__}; expected the weights in the block source "
                f"itself, e.g. LocalBlocks(X, sample_weight)"
            )
        return X
    if is_dask_array(X):
        return DaskBlocks(None, X, sample_weight)
    if is_out_of_core(X):
        return LocalBlocks(X, sample_weight)
    X = check_data(X, "X", accept_sparse=True)
    return InMemoryBlocks(X, check_sample_weight(sample_weight, X.shape[0], X=X))


def map_row_blocks(
    X: Any, fn: Callable, *args: Any, dtype: Any, n_columns: int | None = None, block_rows: int | None = None
) -> Any:
    """``fn(block, *args)`` on every row block of a dask or out-of-core ``X``, results stacked.

    A lazy dask array for a dask ``X``; else an ndarray built block by block (only the result
    is held whole). ``fn`` validates its block (see :func:`kmeanslab.validation.check_data`)
    and returns one value per row, or ``n_columns`` of them.
    """
    if is_dask_array(X):
        return map_dask_rows(X, fn, *args, dtype=dtype, n_columns=n_columns)
    return np.concatenate([fn(block, *args) for block in iter_blocks(X, block_rows)])
