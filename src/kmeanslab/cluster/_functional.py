"""The course assignment's functional API: squared distances, assignment, update, and its k-means.

``compute_sq_dists``, ``associate_centroids``, ``update_centroids``, ``rand_init`` and
``k_means`` validate their input, then run on the same primitives as the estimators
(:mod:`kmeanslab._core`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core import _means, assign, cluster_sums
from ..errors import InputError
from ..validation import as_generator, check_data, check_float, check_int, check_n_clusters
from ._lloyd import loss_converged
from ._seeding import random_rows

__all__ = ["compute_sq_dists", "associate_centroids", "update_centroids", "rand_init", "k_means"]


def _as_float(X: Any, name: str = "X") -> np.ndarray:
    return check_data(X, name)


def _centers_like(W: Any, X: np.ndarray, name: str = "W") -> np.ndarray:
    W = check_data(W, name)
    if W.shape[1] != X.shape[1]:
        raise InputError(
            f"{name} has {W.shape[1]} features but X has {X.shape[1]}; "
            f"expected centroids with one column per feature of X"
        )
    return np.ascontiguousarray(W, dtype=X.dtype)


def compute_sq_dists(X: Any, W: Any) -> np.ndarray:
    """Squared Euclidean distances between the rows of X and of W.

    Computed as ``||x||² + ||w||² − 2 x·w`` with one matrix product and clipped at 0, since
    rounding can make the difference slightly negative for coincident points.

    Parameters
    ----------
    X : array-like of shape (n, d)
    W : array-like of shape (k, d)

    Returns
    -------
    ndarray of shape (n, k)
    """
    X = _as_float(X)
    W = _centers_like(W, X)
    x_sq = np.einsum("ij,ij->i", X, X)[:, None]
    w_sq = np.einsum("ij,ij->i", W, W)[None, :]
    d2 = x_sq + w_sq - 2.0 * (X @ W.T)
    return np.maximum(d2, 0.0, out=d2)


def associate_centroids(X: Any, W: Any) -> tuple[float, np.ndarray]:
    """Assign each point to its nearest centroid.

    Parameters
    ----------
    X : array-like of shape (n, d)
    W : array-like of shape (k, d)

    Returns
    -------
    loss : float
        The mean over points of the squared distance to the nearest centroid.
    assoc : ndarray of shape (n,)
        The index of the nearest centroid; ties go to the lowest index.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(20).reshape(5, 4); c = np.arange(3, 11).reshape(2, 4)
    >>> loss, assoc = associate_centroids(a, c)
    >>> round(loss, 10), assoc.tolist()
    (93.6, [0, 0, 1, 1, 1])
    """
    X = _as_float(X)
    W = _centers_like(W, X)
    labels, min_d2 = assign(X, W)
    return float(min_d2.mean()), labels.astype(np.intp)


def update_centroids(X: Any, k: int, assoc: Any) -> np.ndarray:
    """Mean of the points assigned to each of ``k`` clusters; an empty cluster gets zeros.

    Parameters
    ----------
    X : array-like of shape (n, d)
    k : int
        Number of clusters.
    assoc : array-like of int, shape (n,)
        Cluster index of every point, in ``[0, k)``.

    Returns
    -------
    ndarray of shape (k, d)
    """
    X = _as_float(X)
    k = check_n_clusters(k, name="k")
    labels = np.asarray(assoc)
    if labels.shape != (X.shape[0],) or labels.dtype.kind not in "iu":
        raise InputError(
            f"assoc has shape {labels.shape} and dtype {labels.dtype}; expected {X.shape[0]} integer cluster indices"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise InputError(f"assoc has values in [{labels.min()}, {labels.max()}]; expected indices in [0, {k - 1}]")
    sums, counts = cluster_sums(X, labels, k)
    return _means(sums, counts, fallback=np.zeros_like(sums)).astype(X.dtype)


def rand_init(X: Any, k: int, rng: Any = None) -> np.ndarray:
    """``k`` distinct rows of X, drawn without replacement.

    Parameters
    ----------
    X : array-like of shape (n, d)
    k : int
    rng : None, int, numpy Generator or RandomState

    Returns
    -------
    ndarray of shape (k, d)
    """
    X = _as_float(X)
    k = check_n_clusters(k, X.shape[0], name="k")
    return random_rows(X, k, as_generator(rng))


def k_means(X: Any, k: int, max_iters: int = 50, eps: float = 1e-5, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The assignment's k-means: random data points, then associate/update until the loss settles.

    Stops when ``(loss[t-1] - loss[t]) / loss[t] < eps``, checked from the third iteration on
    (``t >= 2``). Empty clusters get a zero centroid, as :func:`update_centroids` specifies.

    Parameters
    ----------
    X : array-like of shape (n, d)
    k : int
    max_iters : int, default=50
    eps : float, default=1e-5
    rng : None, int, numpy Generator or RandomState

    Returns
    -------
    W : ndarray of shape (k, d)
        The final centroids.
    losses : ndarray of shape (n_iterations,)
        The mean squared distance at each iteration.
    """
    X = _as_float(X)
    k = check_n_clusters(k, X.shape[0], name="k")
    max_iters = check_int(max_iters, "max_iters", min_value=1)
    eps = check_float(eps, "eps", min_value=0.0)
    W = rand_init(X, k, rng)
    losses: list[float] = []
    for _ in range(max_iters):
        loss, assoc = associate_centroids(X, W)
        losses.append(loss)
        W = update_centroids(X, k, assoc)
        if loss_converged(losses, eps):
            break
    return W, np.asarray(losses)
