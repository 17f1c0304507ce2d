"""The boundary of the scores: data and a clustering of it, checked once."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._core import cluster_sums
from ..cluster import KMeans
from ..errors import InputError
from ..validation import check_data

OnFit = Callable[[], None] | None


def check_clustering(X: Any, labels: Any, *, min_clusters: int = 2) -> tuple[np.ndarray, np.ndarray, int]:
    """X, its labels encoded as ``0 .. k-1`` (int64, in the order of the sorted labels) and k.

    Raises
    ------
    InputError
        X is not valid data (see :func:`kmeanslab.validation.check_data`), ``labels`` is not one
        label per row, or the number of distinct labels is not in ``[min_clusters, n_samples - 1]``
        (the scores compare clusters with each other, so they need at least two and at least one
        cluster with two points).
    """
    X = check_data(X, "X")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != X.shape[0]:
        raise InputError(f"labels has shape {labels.shape}; expected ({X.shape[0]},), one label per row of X")
    if labels.dtype.kind not in "iubUSO":
        if labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
        else:
            raise InputError(f"labels has dtype {labels.dtype}; expected integer or string cluster labels")
    try:
        _, codes = np.unique(labels, return_inverse=True)
    except TypeError:
        raise InputError("labels mixes types that cannot be sorted; expected integer or string labels") from None
    codes = codes.astype(np.int64).ravel()
    k = int(codes.max()) + 1 if codes.size else 0
    n = X.shape[0]
    if not min_clusters <= k <= n - 1:
        raise InputError(
            f"labels has {k} distinct cluster(s) for {n} rows; expected {min_clusters} to n_samples - 1 = {n - 1}"
        )
    return X, codes, k


def cluster_means(X: np.ndarray, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each cluster's mean (float64, shape (k, d)) and size (float64, shape (k,)), through the engine."""
    sums, sizes = cluster_sums(X, codes.astype(np.int32), k)
    return sums / sizes[:, None], sizes


def make_kmeans(k: int, seed: int, n_init: int, params: Mapping[str, Any]) -> KMeans:
    """A KMeans for one fit of a score, or an error naming the parameters that KMeans does not take."""
    try:
        return KMeans(n_clusters=k, n_init=n_init, random_state=seed, **params)
    except TypeError:
        valid = sorted(set(KMeans().get_params()) - {"n_clusters", "n_init", "random_state"})
        unknown = sorted(set(params) - set(valid))
        raise InputError(f"kmeans_params has unknown name(s) {unknown}; expected KMeans parameters {valid}") from None


def fit_quietly(model: KMeans, X: np.ndarray, on_fit: OnFit = None) -> KMeans:
    """Fit, without a warning per fit for an empty cluster (uniform noise and bootstraps make them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    if on_fit is not None:
        on_fit()
    return model
