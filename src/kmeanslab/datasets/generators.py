"""Synthetic data and splits: Gaussian blobs for the elbow experiments, and train/validation splits."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.datasets import make_blobs as sk_make_blobs

from ..errors import InputError
from ..validation import check_int
from ._base import Dataset

__all__ = ["make_blobs", "train_val_split"]


def make_blobs(
    n: int = 500,
    centers: int | Any = 3,
    std: float | Sequence[float] = 1.0,
    seed: int | np.random.RandomState | None = None,
    *,
    n_features: int = 2,
) -> Dataset:
    """Isotropic Gaussian blobs (scikit-learn's generator), for the elbow experiments.

    Parameters
    ----------
    n : int, default=500
        Number of points, shared as equally as possible between the blobs.
    centers : int or array-like of shape (n_centers, n_features), default=3
        The number of blobs (centres drawn uniformly in [-10, 10]^d) or their centres.
    std : float or sequence of float, default=1.0
        The standard deviation of every blob, or one per blob.
    seed : int, RandomState or None, default=None
        The same seed gives the same points.
    n_features : int, default=2
        Dimension of the points when ``centers`` is an int.

    Returns
    -------
    Dataset
        ``data`` (n, n_features) float64 and ``target``, the blob of each point.
    """
    n = check_int(n, "n", min_value=1)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        centers = check_int(centers, "centers", min_value=1)
        n_features = check_int(n_features, "n_features", min_value=1)
    else:
        centers = np.asarray(centers, dtype=np.float64)
        if centers.ndim != 2 or centers.shape[0] < 1:
            raise InputError(f"centers has shape {centers.shape}; expected an int or an array (n_centers, n_features)")
        n_features = centers.shape[1]
    stds = np.atleast_1d(np.asarray(std, dtype=np.float64))
    if not np.all(np.isfinite(stds)) or np.any(stds < 0):
        raise InputError(f"std={std!r} is not valid; expected non-negative finite number(s)")
    X, y = sk_make_blobs(n_samples=n, n_features=n_features, centers=centers, cluster_std=std, random_state=seed)
    return Dataset(
        data=X,
        target=y,
        feature_names=[f"x{i}" for i in range(X.shape[1])],
        name="blobs",
        description=f"{n} points in Gaussian blobs (scikit-learn make_blobs, std={std}).",
    )


def _subset(data: np.ndarray | Dataset, index: np.ndarray) -> np.ndarray | Dataset:
    if isinstance(data, Dataset):
        return dataclasses.replace(
            data,
            data=data.data[index],
            target=None if data.target is None else data.target[index],
            images=None if data.images is None else data.images[index],
        )
    return data[index]


def train_val_split(
    data: np.ndarray | Dataset, val: float | int = 0.2, seed: int | None = None
) -> tuple[np.ndarray | Dataset, np.ndarray | Dataset]:
    """Split the rows at random into a training part and a validation part.

    Parameters
    ----------
    data : ndarray of shape (n_samples, ...) or Dataset
        With a Dataset, ``data``, ``target`` and ``images`` are split alike.
    val : float in (0, 1) or int, default=0.2
        The fraction of rows (rounded up), or the number of rows, for validation.
    seed : int or None, default=None
        The same seed gives the same split.

    Returns
    -------
    train, validation
        Of the same kind as ``data``; together they hold every row exactly once.
    """
    n = (data.data if isinstance(data, Dataset) else np.asarray(data)).shape[0]
    if isinstance(val, (float, np.floating)):
        if not 0.0 < val < 1.0:
            raise InputError(f"val={val!r} is not valid; expected a fraction in (0, 1) or a row count")
        n_val = int(np.ceil(val * n))
    else:
        n_val = check_int(val, "val", min_value=1)
    if not 1 <= n_val <= n - 1:
        raise InputError(
            f"val={val!r} gives {n_val} validation rows out of {n}; expected at least one row in each part"
        )
    order = np.random.default_rng(seed).permutation(n)
    if not isinstance(data, Dataset):
        data = np.asarray(data)
    return _subset(data, order[n_val:]), _subset(data, order[:n_val])
