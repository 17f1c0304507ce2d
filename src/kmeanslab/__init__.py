"""kmeanslab: k-means clustering you can trust and read.

The functional API of the course assignment (``compute_sq_dists``, ``associate_centroids``,
``update_centroids``, ``rand_init``, ``k_means``) and the scikit-learn compatible
:class:`KMeans` and :class:`MiniBatchKMeans` run on one chunked, compiled engine (see
:mod:`kmeanslab.cluster`, which teaches the algorithm and its vocabulary); data beyond memory
is read through the block sources of :mod:`kmeanslab.scale`. This module only re-exports.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ._version import __version__
from .cluster import (
    KMeans,
    MiniBatchKMeans,
    associate_centroids,
    compute_sq_dists,
    k_means,
    load,
    rand_init,
    update_centroids,
)
from .errors import (
    DataFileError,
    DatasetNotFoundError,
    InputError,
    KMeansLabError,
    MissingExtraError,
    ModelFileError,
    OutputError,
)

__all__ = [
    "compute_sq_dists",
    "associate_centroids",
    "update_centroids",
    "rand_init",
    "k_means",
    "KMeans",
    "MiniBatchKMeans",
    "load",
    "KMeansLabError",
    "InputError",
    "DataFileError",
    "DatasetNotFoundError",
    "ModelFileError",
    "OutputError",
    "MissingExtraError",
    "__version__",
]

# Subpackages with heavier imports (matplotlib, pandas, the text model) load on first use
# (PEP 562); cluster, and scale and io below it, are loaded by the imports above.
_LAZY_MODULES = ("datasets", "experiments", "text")


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'kmeanslab' has no attribute {name!r}")
