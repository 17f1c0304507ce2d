"""The gap statistic (Tibshirani, Walther & Hastie 2001): the loss against that of structureless data.

For each k, ``W_k`` is the within-cluster sum of squares of a k-means fit. The same fits on
``B`` reference data sets drawn uniformly over the data's extent give ``log W*_k``; the gap is
``Gap(k) = mean_b log W*_kb - log W_k``: how much lower the data's loss is than the loss of
data with no clusters. With ``s_k = sd_b(log W*_kb) * sqrt(1 + 1/B)``, the choice is the
smallest k with ``Gap(k) >= Gap(k+1) - s_{k+1}`` (the "1-standard-error" rule), which can be
k = 1: no cluster structure at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from ..errors import InputError
from ..validation import as_generator, check_choice, check_data, check_int, check_n_clusters
from ._common import OnFit, fit_quietly, make_kmeans

__all__ = ["GAP_REFERENCES", "ReferenceBox", "gap_statistic", "gap_choice"]

#: Where the reference points are drawn: a box along the data's principal axes (Tibshirani's
#: method b, which follows the data's shape), or the box of the features' ranges (method a).
GAP_REFERENCES = ("pca", "box")


@dataclass(frozen=True)
class ReferenceBox:
    """A box to draw structureless data from: ``low .. high`` in the coordinates ``(x - mean) @ axes``.

    ``axes`` is the identity for ``"box"`` and the principal axes (columns) for ``"pca"``.
    """

    mean: np.ndarray
    axes: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, X: np.ndarray, reference: str = "pca") -> ReferenceBox:
        """The box of the data ``X`` (validated, 2-D), for ``reference`` in :data:`GAP_REFERENCES`."""
        reference = check_choice(reference, "reference", GAP_REFERENCES)
        X64 = np.asarray(X, dtype=np.float64)
        if reference == "box":
            d = X64.shape[1]
            return cls(np.zeros(d), np.eye(d), X64.min(axis=0), X64.max(axis=0))
        pca = PCA(svd_solver="full").fit(X64)
        projected = pca.transform(X64)
        return cls(pca.mean_, pca.components_.T, projected.min(axis=0), projected.max(axis=0))

    def draw(self, n: int, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
        """``n`` points uniform in the box, back in the data's coordinates, shape (n, d)."""
        inside = rng.uniform(self.low, self.high, size=(n, self.low.shape[0]))
        return np.ascontiguousarray(inside @ self.axes.T + self.mean, dtype=dtype)


def gap_choice(ks: Sequence[int], gap: Sequence[float], gap_se: Sequence[float]) -> int | None:
    """The 1-standard-error rule: the smallest k with ``Gap(k) >= Gap(k_next) - s(k_next)``.

    Parameters
    ----------
    ks : sequence of int
        Increasing numbers of clusters (each compared with the next one in the sequence).
    gap, gap_se : sequence of float
        ``Gap(k)`` and ``s_k`` at each k.

    Returns
    -------
    int or None
        None when the gap keeps rising by more than its error up to the last k (the range
        ends too early to tell).

    Examples
    --------
    >>> gap_choice([1, 2, 3, 4], [0.1, 0.9, 0.95, 0.97], [0.05, 0.05, 0.05, 0.05])
    2
    """
    ks = np.asarray(ks)
    gap = np.asarray(gap, dtype=float)
    gap_se = np.asarray(gap_se, dtype=float)
    if not ks.shape == gap.shape == gap_se.shape or ks.ndim != 1:
        raise InputError(f"ks, gap and gap_se have shapes {ks.shape}, {gap.shape}, {gap_se.shape}; expected equal 1-D")
    for i in range(ks.size - 1):
        if gap[i] >= gap[i + 1] - gap_se[i + 1]:
            return int(ks[i])
    return None


def _fit_inertia(X: np.ndarray, k: int, seed: int, n_init: int, params: Mapping[str, Any], on_fit: OnFit) -> float:
    return float(fit_quietly(make_kmeans(k, seed, n_init, params), X, on_fit).inertia_)


def _log(w: float) -> float:
    # W = 0 (as many distinct points as clusters) would give -inf: the smallest positive float instead.
    return float(np.log(max(w, np.finfo(np.float64).tiny)))


def gap_statistic(
    X: Any,
    k_range: Iterable[int] = range(1, 11),
    *,
    n_refs: int = 10,
    reference: str = "pca",
    n_init: int = 3,
    random_state: Any = None,
    data_inertia: Mapping[int, float] | None = None,
    on_fit: OnFit = None,
    **kmeans_params: Any,
) -> pd.DataFrame:
    """The gap statistic for each k, with its standard error and the 1-standard-error choice.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    k_range : iterable of int, default=range(1, 11)
        Increasing numbers of clusters, each in ``[1, n_samples]``; the rule compares each k with
        the next, so the range should go one past the k you expect.
    n_refs : int, default=10
        Reference data sets (B); each is fitted once per k.
    reference : {"pca", "box"}, default="pca"
        Uniform over the box of the data's principal components (follows elongated data), or
        over the box of the features' ranges.
    n_init : int, default=3
        Initialisations per k-means fit, on the data and on the references alike.
    random_state : int, Generator or None
        Draws the references and the fits' seeds.
    data_inertia : mapping of int to float, optional
        ``{k: W_k}``, the data's within-cluster sums of squares when they are already known (from
        fits made elsewhere with the same ``n_init``); the data is then not fitted here.
    on_fit : callable, optional
        Called with no argument after every fit (a progress bar's ``advance``).
    **kmeans_params
        Other :class:`kmeanslab.cluster.KMeans` parameters (``max_iter``, ``tol`` ...).

    Returns
    -------
    DataFrame
        Indexed by ``k``: ``log_w`` (log W_k of the data), ``ref_log_w`` (mean of the references'),
        ``gap`` (their difference; **higher is better**: more structure than uniform noise, 0 none)
        and ``gap_se`` (s_k). ``.attrs["k"]`` holds :func:`gap_choice`.
    """
    X = check_data(X, "X")
    ks = [check_n_clusters(k, X.shape[0], name="k_range") for k in k_range]
    if not ks or any(b <= a for a, b in zip(ks, ks[1:])):
        raise InputError(f"k_range={ks!r} is not valid; expected increasing numbers of clusters")
    n_refs = check_int(n_refs, "n_refs", min_value=2)
    n_init = check_int(n_init, "n_init", min_value=1)
    rng = as_generator(random_state)
    seeds = rng.integers(0, 2**31 - 1, size=(n_refs + 1, len(ks)))
    if data_inertia is None:
        data_inertia = {k: _fit_inertia(X, k, int(s), n_init, kmeans_params, on_fit) for k, s in zip(ks, seeds[0])}
    elif set(ks) - set(data_inertia):
        raise InputError(f"data_inertia has no value for k = {sorted(set(ks) - set(data_inertia))}")
    box = ReferenceBox.of(X, reference)
    ref_log_w = np.empty((n_refs, len(ks)))
    for b in range(n_refs):
        Z = box.draw(X.shape[0], rng, X.dtype)
        for j, k in enumerate(ks):
            ref_log_w[b, j] = _log(_fit_inertia(Z, k, int(seeds[b + 1, j]), n_init, kmeans_params, on_fit))
    log_w = np.array([_log(data_inertia[k]) for k in ks])
    table = pd.DataFrame(
        {
            "log_w": log_w,
            "ref_log_w": ref_log_w.mean(axis=0),
            "gap": ref_log_w.mean(axis=0) - log_w,
            "gap_se": ref_log_w.std(axis=0) * np.sqrt(1.0 + 1.0 / n_refs),
        },
        index=pd.Index(ks, name="k"),
    )
    table.attrs["k"] = gap_choice(ks, table["gap"], table["gap_se"])
    return table
