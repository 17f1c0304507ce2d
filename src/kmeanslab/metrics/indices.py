"""Scores from the cluster means: Calinski-Harabasz and Davies-Bouldin, ``O(n k d)`` work.

Both read the data twice through the engine (one pass for the cluster sums, one for each
point's distance to its mean) and never hold more than ``k x d`` numbers besides a row
vector, so they cost about one k-means iteration.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.distance import cdist

from .._core import assigned_sq_dists, inertia
from ._common import check_clustering, cluster_means

__all__ = ["calinski_harabasz_score", "davies_bouldin_score"]


def calinski_harabasz_score(X: Any, labels: Any) -> float:
    """The variance ratio criterion: spread between the clusters over spread within them.

    ``CH = [B / (k - 1)] / [W / (n - k)]``, with ``B = sum_c n_c ||mean_c - mean||²`` the
    between-cluster dispersion and ``W = sum_i ||x_i - mean_{c(i)}||²`` the within-cluster one
    (Calinski & Harabasz 1974). Equals :func:`sklearn.metrics.calinski_harabasz_score`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        The cluster of each row; 2 to ``n_samples - 1`` distinct.

    Returns
    -------
    float
        In [0, inf); **higher is better** (dense, well-separated clusters). 1.0 when every
        cluster is a single repeated point (W = 0), as scikit-learn.

    Examples
    --------
    >>> calinski_harabasz_score([[0.0], [1.0], [9.0], [10.0]], [0, 0, 1, 1])
    162.0
    """
    X, codes, k = check_clustering(X, labels)
    n = X.shape[0]
    means, sizes = cluster_means(X, codes, k)
    overall = sizes @ means / n
    between = float(sizes @ np.einsum("ij,ij->i", means - overall, means - overall))
    within = inertia(X, means, codes.astype(np.int32))
    if within == 0.0:
        return 1.0
    return between * (n - k) / (within * (k - 1))


def davies_bouldin_score(X: Any, labels: Any) -> float:
    """The mean, over clusters, of the worst ratio of spreads to separation with another cluster.

    For clusters i and j with mean distances to their centres ``s_i``, ``s_j`` and centres
    ``d_ij`` apart, ``R_ij = (s_i + s_j) / d_ij``; the score is the mean over i of
    ``max_j R_ij`` (Davies & Bouldin 1979). Equals :func:`sklearn.metrics.davies_bouldin_score`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        The cluster of each row; 2 to ``n_samples - 1`` distinct.

    Returns
    -------
    float
        In [0, inf); **lower is better** (0: each cluster a point, far from the others). 0.0
        when every spread or every separation is zero, as scikit-learn.

    Examples
    --------
    >>> davies_bouldin_score([[0.0], [1.0], [9.0], [10.0]], [0, 0, 1, 1])
    0.1111111111111111
    """
    X, codes, k = check_clustering(X, labels)
    means, sizes = cluster_means(X, codes, k)
    distances = np.sqrt(assigned_sq_dists(X, means, codes.astype(np.int32)))
    spread = np.bincount(codes, weights=distances, minlength=k) / sizes
    separation = cdist(means, means)
    if np.allclose(spread, 0) or np.allclose(separation, 0):
        return 0.0
    separation[separation == 0] = np.inf
    ratios = (spread[:, None] + spread[None, :]) / separation
    return float(np.mean(np.max(ratios, axis=1)))
