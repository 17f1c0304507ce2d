"""Initial centres: data points, Gaussian, uniform, and greedy k-means++.

Each function takes validated data (see :func:`kmeanslab.validation.check_data`), a number of
clusters and a ``numpy.random.Generator``, and returns a ``(k, d)`` array in float64.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _kernels
from ._core import (
    CenterArrays,
    Layout,
    _weights_arg,
    canonical_order,
    compute_context,
    feature_moments,
    row_sq_norms,
)
from .errors import InputError

__all__ = [
    "INIT_METHODS",
    "random_rows",
    "gaussian_init",
    "uniform_init",
    "kmeans_plusplus",
    "initial_centers",
]

INIT_METHODS = ("k-means++", "random", "gaussian", "uniform")


def random_rows(X: np.ndarray, k: int, rng: np.random.Generator, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """``k`` rows of X at distinct indices, drawn without replacement (in proportion to weight).

    Drawn over the canonical order of the rows, so the same seed picks the same points
    whatever the order of the rows of X.
    """
    n = X.shape[0]
    order = canonical_order(X)
    if sample_weight is None:
        positions = rng.choice(n, size=k, replace=False)
    else:
        positive = np.count_nonzero(sample_weight > 0)
        if positive < k:
            raise InputError(f"init='random' needs {k} points with positive sample_weight; only {positive} have one")
        w = sample_weight[order]
        positions = rng.choice(n, size=k, replace=False, p=w / w.sum())
    return np.array(X[order[positions]], dtype=np.float64)


def gaussian_init(
    X: np.ndarray, k: int, rng: np.random.Generator, sample_weight: np.ndarray | None = None
) -> np.ndarray:
    """Centres drawn from a normal with the data's per-feature mean and standard deviation."""
    mean, var = feature_moments(X, sample_weight)
    return rng.normal(mean, np.sqrt(var), size=(k, X.shape[1]))


def uniform_init(
    X: np.ndarray, k: int, rng: np.random.Generator, sample_weight: np.ndarray | None = None
) -> np.ndarray:
    """Centres drawn uniformly in the data's bounding box."""
    low = np.asarray(X.min(axis=0), dtype=np.float64)
    high = np.asarray(X.max(axis=0), dtype=np.float64)
    return rng.uniform(low, high, size=(k, X.shape[1]))


def kmeans_plusplus(
    X: np.ndarray,
    k: int,
    rng: np.random.Generator,
    sample_weight: np.ndarray | None = None,
    x_sq: np.ndarray | None = None,
    n_local_trials: int | None = None,
) -> np.ndarray:
    """Greedy k-means++ (Arthur & Vassilvitskii 2007, with local trials as in scikit-learn).

    Each new centre is the best of ``2 + floor(ln k)`` candidates drawn in proportion to
    ``weight x squared distance to the nearest chosen centre``; the potentials of all
    candidates are computed in one chunked pass over X (the same chunk kernel as the Lloyd
    passes: register-tiled for d >= 48, else BLAS), the distances to the chosen centre in a
    second one, in float64.
    """
    n, d = X.shape
    if n_local_trials is None:
        n_local_trials = 2 + int(math.log(k))
    layout = Layout.for_shape(n, d, n_local_trials, X.itemsize)
    if x_sq is None:
        x_sq = row_sq_norms(X, layout)
    weights = None if sample_weight is None else np.ascontiguousarray(sample_weight, dtype=np.float64)
    w_arg = _weights_arg(weights)
    # Draws are made over the rows in canonical order (see engine.canonical_order).
    order = canonical_order(X)
    sorted_weights = None if weights is None else weights[order]
    centers = np.empty((k, d), dtype=np.float64)
    mass = np.ones(n) if sorted_weights is None else sorted_weights
    centers[0] = X[order[_draw(rng, np.cumsum(mass), 1)[0]]]
    closest = np.full(n, np.inf, dtype=np.float64)
    partials = np.empty((layout.n_slabs, n_local_trials), dtype=np.float64)
    with compute_context():
        _update_closest(X, centers[0], x_sq, layout, closest)
        for c in range(1, k):
            mass = closest[order]
            if sorted_weights is not None:
                mass *= sorted_weights
            cumulative = np.cumsum(mass)
            if cumulative[-1] <= 0.0:
                # Every weighted point sits on a chosen centre: repeat those centres; the
                # estimator warns that there are fewer distinct points than clusters.
                centers[c:] = centers[np.arange(k - c) % c]
                break
            candidates = order[_draw(rng, cumulative, n_local_trials)]
            cand = np.ascontiguousarray(X[candidates])
            arrays = CenterArrays.build(cand, layout, X.dtype)
            _kernels.candidate_potentials(
                X,
                arrays.C,
                arrays.CT,
                arrays.c_sq,
                x_sq,
                closest,
                w_arg,
                layout.chunk,
                layout.slab_rows,
                layout.use_blas,
                layout.center_block,
                arrays.n3,
                partials,
            )
            best = int(np.argmin(partials.sum(axis=0)))
            centers[c] = cand[best]
            _update_closest(X, centers[c], x_sq, layout, closest)
    return centers


def _draw(rng: np.random.Generator, cumulative: np.ndarray, size: int) -> np.ndarray:
    """Positions drawn in proportion to the increments of ``cumulative`` (zero mass never drawn)."""
    targets = rng.uniform(size=size) * cumulative[-1]
    positions = np.searchsorted(cumulative, targets, side="right")
    return np.minimum(positions, len(cumulative) - 1)


def _update_closest(X, center, x_sq, layout, closest) -> None:
    c = np.ascontiguousarray(center, dtype=X.dtype)
    c_sq = float(np.dot(c.astype(np.float64), c.astype(np.float64)))
    _kernels.update_closest(X, c, c_sq, x_sq, layout.slab_rows, layout.n_slabs, closest)


_METHODS = {
    "k-means++": kmeans_plusplus,
    "random": random_rows,
    "gaussian": gaussian_init,
    "uniform": uniform_init,
}


def initial_centers(
    X: np.ndarray,
    k: int,
    init: Any,
    rng: np.random.Generator,
    sample_weight: np.ndarray | None = None,
    x_sq: np.ndarray | None = None,
) -> np.ndarray:
    """Initial centres for ``init`` in :data:`INIT_METHODS` (an array is handled by the caller)."""
    if init == "k-means++":
        return kmeans_plusplus(X, k, rng, sample_weight, x_sq)
    return _METHODS[init](X, k, rng, sample_weight)
