"""Data beyond memory: ``.npy`` files read by row blocks, memory maps, h5py/zarr, and Dask.

(Stage one of the layered layout: the names below are this layer's public interface.)
"""

from ..distributed import as_dask_array, connect, is_dask_array
from ..streaming import STREAM_MIN_BYTES, NpyFile, is_out_of_core, iter_blocks, open_npy

__all__ = [
    "STREAM_MIN_BYTES",
    "NpyFile",
    "as_dask_array",
    "connect",
    "is_dask_array",
    "is_out_of_core",
    "iter_blocks",
    "open_npy",
]
