"""Stability: does k-means find the same clusters again from another seed or another sample?

A k that matches real structure gives (nearly) the same partition from run to run; a k that
cuts a cluster in an arbitrary place does not. Agreement between two partitions of the same
points is the adjusted Rand index (scikit-learn's), and the stability is its mean over every
pair of runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score

from ..errors import InputError
from ..validation import as_generator, check_choice, check_data, check_int, check_n_clusters
from ._common import OnFit, fit_quietly, make_kmeans

__all__ = ["STABILITY_METHODS", "mean_pairwise_ari", "stability"]

#: How the runs differ: only their seed (all on the whole data), or their bootstrap sample
#: (each fitted on n rows drawn with replacement, then labelling every row).
STABILITY_METHODS = ("seeds", "bootstrap")


def mean_pairwise_ari(labelings: Sequence[Any]) -> float:
    """The mean adjusted Rand index over every pair of partitions of the same points.

    Parameters
    ----------
    labelings : sequence of array-like of shape (n_samples,)
        At least two partitions (any labels; only the grouping counts).

    Returns
    -------
    float
        At most 1 (every partition the same up to renaming); about 0 for unrelated ones;
        **higher is better**.

    Examples
    --------
    >>> mean_pairwise_ari([[0, 0, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1]])
    1.0
    """
    labelings = [np.asarray(labels) for labels in labelings]
    if len(labelings) < 2:
        raise InputError(f"labelings has {len(labelings)} partition(s); expected at least 2 to compare")
    shapes = {labels.shape for labels in labelings}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise InputError(f"labelings have shapes {sorted(shapes)}; expected 1-D partitions of the same points")
    return float(np.mean([adjusted_rand_score(a, b) for a, b in itertools.combinations(labelings, 2)]))


def stability(
    X: Any,
    n_clusters: int,
    *,
    n_runs: int = 10,
    method: str = "seeds",
    n_init: int = 1,
    random_state: Any = None,
    on_fit: OnFit = None,
    **kmeans_params: Any,
) -> float:
    """The mean pairwise adjusted Rand index of ``n_runs`` k-means partitions of X.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_clusters : int
        k, in ``[1, n_samples]`` (k = 1 is trivially stable: 1.0).
    n_runs : int, default=10
        Fits compared, pairwise (at least 2).
    method : {"seeds", "bootstrap"}, default="seeds"
        ``"seeds"``: every fit on all of X from its own seed. ``"bootstrap"``: every fit on its
        own bootstrap sample of X (n rows drawn with replacement), then every row of X labelled
        by its nearest centre, so the partitions compared are of the same points.
    n_init : int, default=1
        Initialisations per fit; more makes each fit likelier to find the best partition, so
        with ``"seeds"`` the score then measures how unique the best partition is.
    random_state : int, Generator or None
        Draws the seeds and the samples.
    on_fit : callable, optional
        Called with no argument after every fit.
    **kmeans_params
        Other :class:`kmeanslab.cluster.KMeans` parameters.

    Returns
    -------
    float
        In [-0.5, 1] (in practice [0, 1]); **higher is better**: 1 when every run finds the same
        partition.
    """
    X = check_data(X, "X")
    k = check_n_clusters(n_clusters, X.shape[0])
    n_runs = check_int(n_runs, "n_runs", min_value=2)
    method = check_choice(method, "method", STABILITY_METHODS)
    n_init = check_int(n_init, "n_init", min_value=1)
    rng = as_generator(random_state)
    labelings = []
    for seed in rng.integers(0, 2**31 - 1, size=n_runs):
        model = make_kmeans(k, int(seed), n_init, kmeans_params)
        if method == "seeds":
            labelings.append(fit_quietly(model, X, on_fit).labels_)
        else:
            sample = X[rng.integers(0, X.shape[0], size=X.shape[0])]
            labelings.append(fit_quietly(model, sample, on_fit).predict(X))
    return mean_pairwise_ari(labelings)
