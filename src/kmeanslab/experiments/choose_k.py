"""How many clusters? Every criterion of :mod:`kmeanslab.metrics` over a range of k, and a vote.

:func:`choose_k` fits k-means ``repeats`` times for every k (seeds shared across k, as
:func:`~kmeanslab.experiments.elbow`), on a training share of the rows when ``val`` holds some
out, and tabulates the training and validation loss with every criterion:

==================  ===================================================  ================
criterion           its choice                                           needs
==================  ===================================================  ================
silhouette          the k with the highest mean silhouette               k >= 2
gap                 Tibshirani's 1-standard-error rule (may say k = 1)   the next k
elbow               :func:`~kmeanslab.experiments.find_knee` of the loss  k - 1 and k + 1
calinski_harabasz   the k with the highest index                         k >= 2
davies_bouldin      the k with the lowest index                          k >= 2
stability           the largest k whose partitions agree (ARI >= 0.95)   repeats >= 2
==================  ===================================================  ================

The recommendation is the k that most criteria choose; a tie goes to the k of the criterion
listed first above. :class:`KChoice` keeps the table, every choice, a sentence saying how the
criteria agree, and the best fit at every k, so that a report can draw the evidence
(:func:`~kmeanslab.experiments.plots.plot_criteria`,
:func:`~kmeanslab.experiments.plots.plot_silhouette`,
:func:`~kmeanslab.experiments.plots.plot_cluster_map`).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..cluster import KMeans
from ..datasets import train_val_split
from ..errors import InputError
from ..metrics import (
    GAP_REFERENCES,
    SILHOUETTE_METRICS,
    calinski_harabasz_score,
    davies_bouldin_score,
    gap_choice,
    gap_statistic,
    mean_pairwise_ari,
    silhouette_score,
)
from ..validation import check_choice, check_data, check_int
from .core import _check_ks, _fit, _make_kmeans, find_knee, run_seeds, summarize_runs

__all__ = ["CRITERIA", "CRITERION_TITLES", "STABLE_ARI", "KChoice", "choose_k", "planned_fits"]

#: The criteria, in the order that breaks a tie between two equally chosen k.
CRITERIA = ("silhouette", "gap", "elbow", "calinski_harabasz", "davies_bouldin", "stability")

#: How each criterion is named in tables, sentences and figures.
CRITERION_TITLES = {
    "silhouette": "silhouette",
    "gap": "gap statistic",
    "elbow": "elbow (knee)",
    "calinski_harabasz": "Calinski-Harabasz",
    "davies_bouldin": "Davies-Bouldin",
    "stability": "stability",
}

#: The mean pairwise ARI above which the repeats count as finding the same partition. A k above
#: the true one splits a cluster where the seed happens to cut it (ARI well below 0.95 on the
#: blobs of the tests); the true k finds the same clusters every time (ARI 1.0).
STABLE_ARI = 0.95

# Data this small runs each fit on one thread: waking a pool of threads for every pass costs more
# than the pass (a 400 x 2 fit on a shared 2-core machine: 1.5 ms on one thread, 30 ms on two).
_ONE_THREAD_MAX_VALUES = 2**18

OnFit = Callable[[], None] | None


@dataclass(frozen=True)
class KChoice:
    """What :func:`choose_k` found.

    Attributes
    ----------
    table : DataFrame
        Indexed by ``k``: ``train_mean/std`` and ``val_mean/std`` (mean squared distance, over
        the repeats), ``iterations_mean/std``, ``<score>_mean/std`` for the silhouette,
        Calinski-Harabasz and Davies-Bouldin scores of the training rows, ``gap`` and ``gap_se``,
        ``stability`` (mean pairwise ARI of the repeats), and ``runs``. A score that a k does
        not have (k = 1) is NaN.
    choices : dict
        Each criterion's k (None when it could not choose: too few k, one repeat ...), in the
        order of :data:`CRITERIA`.
    k : int or None
        The recommendation: the k most criteria choose.
    supporters : tuple of str
        The criteria that chose ``k``.
    summary : str
        One sentence: the recommendation and how the criteria agree.
    models : dict
        ``{k: KMeans}``, the repeat with the lowest loss at each k, fitted on the training rows.
    train_rows : ndarray of int
        Which rows of X were the training rows (all of them without a validation share).
    """

    table: pd.DataFrame
    choices: dict[str, int | None]
    k: int | None
    supporters: tuple[str, ...]
    summary: str
    models: dict[int, KMeans] = field(repr=False)
    train_rows: np.ndarray = field(repr=False)


def planned_fits(k_range: Iterable[int], *, repeats: int = 3, n_refs: int = 10, criteria=CRITERIA) -> int:
    """How many fits :func:`choose_k` makes (for a progress bar's total), with the same arguments."""
    ks = _with_k1(list(k_range))
    return len(ks) * repeats + (len(ks) * n_refs if "gap" in criteria else 0)


def _with_k1(ks: list[int]) -> list[int]:
    # A range starting at 2 gets k = 1: the knee at 2 needs the loss at 1, and the gap statistic
    # says "no clusters" by choosing 1.
    return [1, *ks] if ks and min(ks) == 2 else ks


@contextlib.contextmanager
def _threads(threads: Any, n_values: int) -> Iterator[None]:
    if threads == "auto":
        threads = 1 if n_values <= _ONE_THREAD_MAX_VALUES else None
    if threads is None:
        yield
        return
    threads = check_int(threads, "threads", min_value=1)
    # The threadpoolctl limit reaches BLAS (the gap's PCA: 1.5 s for 700 x 50 with two BLAS
    # threads on a busy 2-core machine) and the engine's kernels that run inside its compute
    # context; numba's own setting reaches the ones that do not (row norms, canonical keys).
    previous = numba.get_num_threads()
    numba.set_num_threads(min(threads, previous))
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        numba.set_num_threads(previous)


def _scores(X: np.ndarray, labels: np.ndarray, metric: str, sample_size: int | None, seed: int) -> dict:
    """The silhouette, Calinski-Harabasz and Davies-Bouldin scores of one partition (NaN if < 2 clusters)."""
    if not 2 <= np.unique(labels).size <= X.shape[0] - 1:
        return {"silhouette": np.nan, "calinski_harabasz": np.nan, "davies_bouldin": np.nan}
    size = None if sample_size is None or sample_size >= X.shape[0] else sample_size
    return {
        "silhouette": silhouette_score(X, labels, metric=metric, sample_size=size, random_state=seed),
        "calinski_harabasz": calinski_harabasz_score(X, labels),
        "davies_bouldin": davies_bouldin_score(X, labels),
    }


def _best_k(column: pd.Series, *, lowest: bool = False) -> int | None:
    values = column.dropna()
    if values.empty:
        return None
    return int(values.idxmin() if lowest else values.idxmax())


def _stable_k(stability: pd.Series) -> int | None:
    """The largest k whose repeats agree; none stable: the most stable k."""
    values = stability.dropna()
    if values.empty:
        return None
    stable = values.index[values >= STABLE_ARI]
    return int(stable.max()) if len(stable) else int(values.idxmax())


def _choices(table: pd.DataFrame, criteria: Sequence[str]) -> dict[str, int | None]:
    ks = table.index.to_numpy()
    rules = {
        "silhouette": lambda: _best_k(table["silhouette_mean"]),
        "gap": lambda: gap_choice(ks, table["gap"], table["gap_se"]),
        "elbow": lambda: find_knee(ks, table["train_mean"]),
        "calinski_harabasz": lambda: _best_k(table["calinski_harabasz_mean"]),
        "davies_bouldin": lambda: _best_k(table["davies_bouldin_mean"], lowest=True),
        "stability": lambda: _stable_k(table["stability"]),
    }
    return {name: rules[name]() for name in CRITERIA if name in criteria}


def _vote(choices: dict[str, int | None]) -> tuple[int | None, tuple[str, ...], str]:
    """The recommended k, the criteria that chose it, and a sentence on how they agree."""
    chosen = {name: k for name, k in choices.items() if k is not None}
    if not chosen:
        return None, (), "No criterion could choose k: the range has too few values of k."
    votes = Counter(chosen.values())
    most = max(votes.values())
    k = next(k for k in chosen.values() if votes[k] == most)  # in CRITERIA order: ties to the first
    supporters = tuple(name for name, choice in chosen.items() if choice == k)
    return k, supporters, _agreement(choices, k, supporters, votes)


def _agreement(choices: dict[str, int | None], k: int, supporters: tuple[str, ...], votes: Counter) -> str:
    if len(supporters) == len(choices):
        return f"k = {k}: " + (
            "the one criterion computed chooses it." if len(choices) == 1 else "every criterion chooses it."
        )
    titles = ", ".join(CRITERION_TITLES[name] for name in supporters)
    parts = [f"k = {k}: {len(supporters)} of {len(choices)} criteria choose it ({titles})"]
    tied = sorted(other for other, count in votes.items() if count == votes[k] and other != k)
    if tied:
        parts.append(
            f"as many choose k = {' and '.join(map(str, tied))}, and the tie goes to the "
            f"{CRITERION_TITLES[supporters[0]]}"
        )
    others = []
    for name, choice in choices.items():
        if choice == k:
            continue
        if choice is None:
            others.append(f"the {CRITERION_TITLES[name]} cannot choose")
        else:
            others.append(f"{CRITERION_TITLES[name]} says {choice}")
    return "; ".join([*parts, ", ".join(others)]) + "."


def choose_k(
    X: Any,
    k_range: Iterable[int] = range(1, 11),
    *,
    repeats: int = 3,
    val: float | int | None = 0.2,
    n_init: int = 3,
    init: Any = "k-means++",
    criteria: Sequence[str] = CRITERIA,
    metric: str = "euclidean",
    sample_size: int | None = 10000,
    n_refs: int = 10,
    reference: str = "pca",
    seed: Any = None,
    threads: Any = "auto",
    on_fit: OnFit = None,
    **kmeans_params: Any,
) -> KChoice:
    """Every criterion for the number of clusters over ``k_range``, each one's choice, and a vote.

    For each k, ``repeats`` fits of k-means on the training rows (``n_init`` initialisations
    each; the repeats' seeds are shared across k). The table holds the mean and spread over the
    repeats of the training loss, the validation loss (the held-out rows against the trained
    centres), the silhouette, Calinski-Harabasz and Davies-Bouldin scores of the training rows;
    the gap statistic of the best repeat against ``n_refs`` uniform reference sets; and the
    stability of the repeats (their mean pairwise ARI). See the module for each criterion's rule.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    k_range : iterable of int, default=range(1, 11)
        Increasing numbers of clusters. A range that starts at 2 gets k = 1 as well (the knee at
        2 and the gap's "no clusters" need it); it should go at least one past the k you expect.
    repeats : int, default=3
        Fits per k; stability needs at least 2.
    val : float, int or None, default=0.2
        The share (or number) of rows held out for the validation loss; None or 0: none.
    n_init : int, default=3
        Initialisations per fit (the best is kept), so that a bad local minimum does not pass
        for a worse k.
    init : str or array, default="k-means++"
    criteria : sequence of str, default=CRITERIA
        Which criteria to compute and vote with.
    metric : {"euclidean", "cosine"}, default="euclidean"
        The silhouette's distance.
    sample_size : int or None, default=10000
        The silhouette of at most this many training rows (drawn per repeat), as its cost grows
        with the square of the rows; None: all of them.
    n_refs : int, default=10
        Reference sets of the gap statistic (one initialisation per reference fit).
    reference : {"pca", "box"}, default="pca"
        Where the gap's reference points are drawn (see :func:`kmeanslab.metrics.gap_statistic`).
    seed : int or None
        Seeds the split, the fits and the references: the same seed gives the same result.
    threads : "auto", int or None, default="auto"
        Threads per fit and per score: "auto" is one thread for data of at most 2**18 values
        (hundreds of small fits, where waking threads costs more than it saves), else the
        engine's default (None).
    on_fit : callable, optional
        Called with no argument after every fit (:func:`planned_fits` gives their number).
    **kmeans_params
        Other :class:`~kmeanslab.cluster.KMeans` parameters (``max_iter``, ``tol`` ...).

    Returns
    -------
    KChoice

    Examples
    --------
    >>> from kmeanslab.datasets import make_blobs
    >>> X = make_blobs(300, centers=[[0, 0], [10, 0], [0, 10]], seed=0).data
    >>> result = choose_k(X, range(1, 8), seed=0)
    >>> result.k, result.choices["silhouette"], result.choices["gap"]
    (3, 3, 3)
    """
    X = check_data(X, "X")
    criteria = [check_choice(name, "criteria", CRITERIA) for name in criteria]
    if not criteria:
        raise InputError("criteria is empty; expected at least one of " + ", ".join(CRITERIA))
    metric = check_choice(metric, "metric", SILHOUETTE_METRICS)
    reference = check_choice(reference, "reference", GAP_REFERENCES)
    repeats = check_int(repeats, "repeats", min_value=1)
    n_init = check_int(n_init, "n_init", min_value=1)
    n_refs = check_int(n_refs, "n_refs", min_value=2)
    if sample_size is not None:
        sample_size = check_int(sample_size, "sample_size", min_value=2)
    seeds = run_seeds(repeats, seed)
    if val is None or (isinstance(val, (int, float)) and not isinstance(val, bool) and val == 0):
        X_train, X_val = X, None
        train_rows = np.arange(X.shape[0])
    else:
        train_rows, val_rows = train_val_split(np.arange(X.shape[0]), val=val, seed=seeds[0])
        X_train, X_val = X[np.sort(train_rows)], X[np.sort(val_rows)]
        train_rows = np.sort(train_rows)
    ks = _with_k1(_check_ks(k_range, X_train.shape[0], "k_range"))
    if any(b <= a for a, b in zip(ks, ks[1:])):
        raise InputError(f"k_range={ks!r} is not valid; expected increasing numbers of clusters")

    rows, labelings, models = [], {}, {}
    with _threads(threads, X.size):
        for k in ks:
            labelings[k] = []
            for run, s in enumerate(seeds):
                model = _fit(_make_kmeans(k, init, s, {"n_init": n_init, **kmeans_params}), X_train, on_fit)
                row = {"k": k, "run": run, "train": model.inertia_ / X_train.shape[0], "iterations": model.n_iter_}
                if X_val is not None:
                    row["val"] = model.loss(X_val, kind="mse")
                row.update(_scores(X_train, model.labels_, metric, sample_size, s))
                rows.append(row)
                labelings[k].append(model.labels_)
                if k not in models or model.inertia_ < models[k].inertia_:
                    models[k] = model
        measured = ["train", "val"] if X_val is not None else ["train"]
        table = summarize_runs(
            pd.DataFrame(rows), "k", [*measured, "iterations", "silhouette", "calinski_harabasz", "davies_bouldin"]
        )
        table["stability"] = [
            mean_pairwise_ari(labelings[k]) if k >= 2 and repeats >= 2 else np.nan for k in table.index
        ]
        if "gap" in criteria:
            gap = gap_statistic(
                X_train,
                ks,
                n_refs=n_refs,
                reference=reference,
                n_init=1,
                random_state=seeds[0],
                data_inertia={k: models[k].inertia_ for k in ks},
                on_fit=on_fit,
                **({"init": init} if isinstance(init, str) else {}),
                **kmeans_params,
            )
            table["gap"], table["gap_se"] = gap["gap"], gap["gap_se"]
        else:
            table["gap"], table["gap_se"] = np.nan, np.nan
    choices = _choices(table, criteria)
    k, supporters, summary = _vote(choices)
    return KChoice(table, choices, k, supporters, summary, models, train_rows)
