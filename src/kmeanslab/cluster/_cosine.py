"""Cosine (spherical) k-means: unit rows at the boundary, unit centres after every update.

For unit vectors ``|x - c|² = 2 - 2 cos(x, c)``, so the nearest centre in Euclidean distance is
the one of largest cosine, and the Euclidean engine (its kernels, seeding and pruning bounds)
runs unchanged on L2-normalised rows. What changes is the centre update: the mean of unit rows
lies inside the ball, and spherical k-means projects it back onto the sphere (the centre that
maximises the summed cosine of its cluster). The objective is ``Σ w (1 - cos(x, c))``, half the
Euclidean inertia on the unit rows.

A sparse X takes the same path: its stored values are scaled once here (the sparsity pattern
is kept, nothing is densified), then the sparse Euclidean kernels run on the unit rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ..validation import is_sparse

__all__ = ["METRICS", "renormalise_centres", "unit_rows"]

#: The ``metric=`` choices of the estimators and the CLI.
METRICS = ("euclidean", "cosine")


def unit_rows(X: Any, name: str = "X") -> Any:
    """The validated array (or canonical CSR matrix) X with every row scaled to unit L2 norm, in X's dtype.

    A copy, unless every row is of unit norm already (to 4 ulps): then X itself. A sparse X
    keeps its sparsity pattern: only its stored values are scaled.

    A row of zeros has no direction, so no cosine: it is refused (InputError naming the first
    such row and how many there are) rather than given an arbitrary one.
    """
    sparse = is_sparse(X)
    if sparse:
        row_of_value = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        norms = np.sqrt(np.bincount(row_of_value, weights=np.square(X.data, dtype=np.float64), minlength=X.shape[0]))
    else:
        norms = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))
    zero = np.flatnonzero(norms == 0.0)
    if zero.size:
        raise InputError(
            f"{name} row {int(zero[0])} is all zeros ({zero.size} such row(s) in all): metric='cosine' needs a "
            f"direction for every row; expected rows with at least one non-zero value (drop or fix those rows, "
            f"or use metric='euclidean')"
        )
    if not np.all(np.isfinite(norms)):
        raise InputError(f"{name} has rows whose norm overflows float64; expected finite row norms for metric='cosine'")
    # Rows already of unit norm to rounding (TF-IDF rows, sentence embeddings) are used as they
    # are: dividing by 1 ± a few ulps would only cost a copy of X (the memory of a big corpus).
    if np.all(np.abs(norms - 1.0) <= 4.0 * np.finfo(X.dtype).eps):
        return X
    if sparse:
        unit = X.copy()
        unit.data = (X.data / norms[row_of_value]).astype(X.dtype, copy=False)
        return unit
    return np.ascontiguousarray(X / norms[:, None].astype(X.dtype, copy=False), dtype=X.dtype)


def renormalise_centres(new_centers: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """The centre update's hook for cosine: each new centre scaled back to unit norm (in place).

    A cluster whose unit rows cancel out (a mean of norm 0, e.g. two opposite points) has no
    direction to project onto: its centre stays where it was (``centers``, already unit).
    """
    norms = np.sqrt(np.einsum("ij,ij->i", new_centers, new_centers))
    flat = norms == 0.0
    if flat.any():
        new_centers[flat] = centers[flat]
        norms[flat] = 1.0
    new_centers /= norms[:, None]
    return new_centers


def unit_init(centers: np.ndarray) -> np.ndarray:
    """Initial centres on the sphere: given or drawn ones (Gaussian, box) are normalised; zero rows refused."""
    return unit_rows(np.asarray(centers, dtype=np.float64), "init")
