"""Data beyond memory: X as *block sources*, which the one Lloyd loop of :mod:`kmeanslab.cluster` reads.

A block source holds X as row blocks and runs a function on every block, wherever the blocks
are: the Lloyd loop, the seeding and the moments behind ``tol`` are each written once against
it (as faiss writes its loop against ``DatasetAssign``), so a fit in memory, a fit streamed
from a file and a fit on a Dask cluster run the same code and, from the same initial centres,
give the same result. Nothing here knows about estimators; the estimators choose a source.

Sources
-------
:class:`InMemoryBlocks`
    All of X in memory, one *resident* block: per-block state (the assigner with its labels
    and bounds) survives from one pass to the next, so the pruning algorithms work.
:class:`LocalBlocks`
    Row blocks of a memory map or any row-sliceable array-like (h5py, zarr,
    :class:`NpyFile`), read one at a time in this process: memory holds one block of X.
:class:`DaskBlocks`
    The row blocks of a ``dask.array`` on the workers of a ``dask.distributed`` cluster;
    lineage lets Dask recompute what a lost worker held.

:func:`block_source` picks one for an X (a dask array, an out-of-core array-like of at least
:data:`STREAM_MIN_BYTES`, or in memory); a source can also be given to ``KMeans.fit`` directly,
for instance to choose the block size::

    >>> import numpy as np
    >>> from kmeanslab import KMeans
    >>> from kmeanslab.scale import LocalBlocks
    >>> X = np.r_[np.zeros((50, 2)), np.ones((50, 2))]
    >>> KMeans(2, random_state=0).fit(LocalBlocks(X, block_rows=16)).inertia_
    0.0

The interface itself is documented on :class:`BlockSource`.
"""

from ._base import DEFAULT_BLOCK_BYTES, BlockSource, default_block_rows, work_dtype
from ._choose import beyond_memory, block_source, map_row_blocks
from ._dask import DaskBlocks, active_client, as_dask_array, connect, is_dask_array, require_dask
from ._local import STREAM_MIN_BYTES, InMemoryBlocks, LocalBlocks, is_out_of_core, iter_blocks
from ._npy import NpyFile, open_npy

__all__ = [
    "DEFAULT_BLOCK_BYTES",
    "STREAM_MIN_BYTES",
    "BlockSource",
    "DaskBlocks",
    "InMemoryBlocks",
    "LocalBlocks",
    "NpyFile",
    "active_client",
    "as_dask_array",
    "beyond_memory",
    "block_source",
    "connect",
    "default_block_rows",
    "is_dask_array",
    "is_out_of_core",
    "iter_blocks",
    "map_row_blocks",
    "open_npy",
    "require_dask",
    "work_dtype",
]
