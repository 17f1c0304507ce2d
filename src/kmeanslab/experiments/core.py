"""The experiments around k-means that the course notebooks ran, as library functions.

Every fit goes through :class:`kmeanslab.KMeans`, so every experiment runs on the one engine.

- :func:`elbow`: training and validation loss against k, averaged over runs, and
  :func:`find_knee` to pick k (where the loss's relative drop slows down the most).
- :func:`compare_inits` and :func:`summarize_runs`: final loss, iterations and accuracy of
  each initialisation over many seeds.
- :class:`ClusterClassifier`, :func:`clustering_scores` and :func:`accuracy_vs_k`: the clusters
  used as a classifier by majority vote, and how good that is as k grows.
- :func:`learning_curve`, :func:`fit_range`, :func:`representative_indices`: what one fit did.
- :func:`mnist_split`: the MNIST notebooks' 1000 balanced training images and a test set.

Tables are pandas DataFrames; the ``*_mean``/``*_std`` columns of a summary are the mean and
standard deviation over runs (``ddof=0``, so one run has std 0).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, confusion_matrix, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix
from sklearn.utils.validation import check_is_fitted

from ..cluster import INIT_METHODS, KMeans
from ..datasets import load_mnist
from ..errors import DatasetNotFoundError, InputError
from ..metrics import SCORES
from ..validation import check_choice, check_data, check_int, check_n_clusters

__all__ = [
    "INITS",
    "ACCURACY_KS",
    "ELBOW_METRICS",
    "elbow",
    "find_knee",
    "compare_inits",
    "summarize_runs",
    "ClusterClassifier",
    "clustering_scores",
    "purity_score",
    "accuracy_vs_k",
    "learning_curve",
    "fit_range",
    "representative_indices",
    "balanced_indices",
    "mnist_split",
    "run_seeds",
]

#: The initialisations the notebooks compared: Gaussian noise, data points, k-means++.
INITS = ("gaussian", "random", "k-means++")
#: The k values of the notebook that plotted accuracy against k.
ACCURACY_KS = (*range(5, 25), 100)
#: What can pick k in :func:`elbow`: the knee of the loss ("distortion") or a score of a partition.
ELBOW_METRICS = ("distortion", *SCORES)

OnFit = Callable[[], None] | None


# --------------------------------------------------------------------------- shared pieces


def run_seeds(runs: int, seed: Any = None) -> list[int]:
    """``runs`` seeds for single fits, drawn from ``seed`` (the same ``seed``, the same list).

    Parameters
    ----------
    runs : int
        How many seeds.
    seed : int, numpy Generator or None
        Where they come from; None draws fresh ones.

    Returns
    -------
    list of int
    """
    runs = check_int(runs, "runs", min_value=1)
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed < 0:
        raise InputError(f"seed={seed} is not valid; expected an integer >= 0 or None")
    rng = np.random.default_rng(seed)
    return [int(s) for s in rng.integers(0, 2**31 - 1, size=runs)]


def _check_ks(ks: Any, n_samples: int, name: str = "ks") -> list[int]:
    if isinstance(ks, (int, np.integer)) and not isinstance(ks, bool):
        ks = [ks]
    try:
        values = list(ks)
    except TypeError:
        raise InputError(f"{name}={ks!r} is not valid; expected an iterable of integers >= 1") from None
    if not values:
        raise InputError(f"{name} is empty; expected at least one number of clusters")
    checked = [check_n_clusters(k, n_samples, name=name) for k in values]
    if len(set(checked)) != len(checked):
        raise InputError(f"{name}={values!r} repeats a value; expected distinct numbers of clusters")
    return checked


def _make_kmeans(k: int, init: Any, seed: int, params: Mapping[str, Any]) -> KMeans:
    """A KMeans for one run: one initialisation (unless ``params`` says otherwise)."""
    options = {"n_init": 1, **params}
    try:
        return KMeans(n_clusters=k, init=init, random_state=seed, **options)
    except TypeError:
        valid = sorted(KMeans().get_params())
        unknown = sorted(set(options) - set(valid))
        raise InputError(f"kmeans_params has unknown name(s) {unknown}; expected KMeans parameters {valid}") from None


def _fit(model: KMeans, X: np.ndarray, on_fit: OnFit) -> KMeans:
    # Runs that end with an empty cluster (Gaussian starts far from the data do) are part of
    # what the experiments measure, not something to warn about once per run.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    if on_fit is not None:
        on_fit()
    return model


def _check_labels(y: Any, n_samples: int, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n_samples:
        raise InputError(f"{name} has shape {y.shape}; expected ({n_samples},), one label per row")
    return y


def summarize_runs(runs: pd.DataFrame, by: str | Sequence[str], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean and standard deviation of each measured column over the runs of each group.

    Parameters
    ----------
    runs : DataFrame
        One row per run.
    by : str or list of str
        The column(s) that name a group (``"k"``, ``"init"``).
    columns : list of str, optional
        The columns to summarise; default every numeric column except ``by`` and ``seed``.

    Returns
    -------
    DataFrame
        Indexed by ``by``, with ``<column>_mean`` and ``<column>_std`` (``ddof=0``) for each
        column, and ``runs``, the number of runs in the group. Groups keep their first order.
    """
    keys = [by] if isinstance(by, str) else list(by)
    missing = [c for c in keys if c not in runs.columns]
    if missing:
        raise InputError(f"by={by!r}: no column(s) {missing} in the runs; they have {list(runs.columns)}")
    if columns is None:
        columns = [c for c in runs.columns if c not in keys and c != "seed" and pd.api.types.is_numeric_dtype(runs[c])]
    grouped = runs.groupby(keys, sort=False)[list(columns)]
    mean = grouped.mean().add_suffix("_mean")
    std = grouped.std(ddof=0).add_suffix("_std")
    # Interleave so each measure's mean sits beside its spread.
    table = pd.concat([mean, std], axis=1)[[f"{c}_{s}" for c in columns for s in ("mean", "std")]]
    table["runs"] = runs.groupby(keys, sort=False).size()
    return table


# --------------------------------------------------------------------------- the elbow


def elbow(
    X_train: Any,
    X_val: Any = None,
    ks: Iterable[int] = range(1, 21),
    runs: int = 20,
    init: Any = "k-means++",
    seed: Any = None,
    *,
    metric: str = "distortion",
    on_fit: OnFit = None,
    **kmeans_params: Any,
) -> pd.DataFrame:
    """Training and validation loss against the number of clusters.

    For every k, ``runs`` fits on ``X_train`` (one initialisation each, seeds shared across k);
    the training loss is the mean squared distance of the training points to their centres,
    the validation loss that of ``X_val`` assigned to the same trained centres (nothing is
    fitted on ``X_val``).

    Parameters
    ----------
    X_train : array-like of shape (n_train, n_features)
    X_val : array-like of shape (n_val, n_features), optional
        Without it the table has no validation columns.
    ks : iterable of int, default=range(1, 21)
        The numbers of clusters, each in ``[1, n_train]``.
    runs : int, default=20
        Fits per k.
    init : str or array, default="k-means++"
        Passed to :class:`KMeans`.
    seed : int or None
        Seeds the runs; the same seed gives the same table.
    metric : str, default="distortion"
        What picks k (:data:`ELBOW_METRICS`): ``"distortion"``, the knee of the training loss;
        or a score of :data:`kmeanslab.metrics.SCORES` (``"silhouette"``,
        ``"calinski_harabasz"`` ...) of each fit's training partition, added to the table, and
        its best mean over the runs.
    on_fit : callable, optional
        Called with no argument after every fit (a progress bar's ``advance``).
    **kmeans_params
        Other :class:`KMeans` parameters (``max_iter``, ``tol``, ``stop``, ``n_init`` ...).

    Returns
    -------
    DataFrame
        Indexed by ``k``: ``train_mean``, ``train_std``, ``val_mean``, ``val_std`` (mean
        squared distance; std over runs, ``ddof=0``), ``iterations_mean``,
        ``iterations_std``, ``<metric>_mean`` and ``<metric>_std`` for a score (NaN at k = 1),
        and ``runs``. ``.attrs["knee"]`` holds :func:`find_knee` of the training curve,
        ``.attrs["metric"]`` the metric and ``.attrs["choice"]`` the k it picks.

    Examples
    --------
    >>> from kmeanslab.datasets import make_blobs, train_val_split
    >>> square = [[-5, -5], [-5, 5], [5, -5], [5, 5]]
    >>> train, val = train_val_split(make_blobs(400, centers=square, seed=0).data, seed=0)
    >>> table = elbow(train, val, ks=range(1, 9), runs=3, seed=0)
    >>> int(table.attrs["knee"])
    4
    """
    X_train = check_data(X_train, "X_train")
    if X_val is not None:
        X_val = check_data(X_val, "X_val", n_features=X_train.shape[1], estimator_name="the training data")
    ks = _check_ks(ks, X_train.shape[0])
    metric = check_choice(metric, "metric", ELBOW_METRICS)
    score = SCORES.get(metric)
    seeds = run_seeds(runs, seed)
    rows = []
    for k in ks:
        for run, s in enumerate(seeds):
            model = _fit(_make_kmeans(k, init, s, kmeans_params), X_train, on_fit)
            row = {
                "k": k,
                "run": run,
                "train": model.inertia_ / X_train.shape[0],
                "iterations": model.n_iter_,
            }
            if X_val is not None:
                row["val"] = model.loss(X_val, kind="mse")
            if score is not None:
                clusters = np.unique(model.labels_).size
                defined = 2 <= clusters <= X_train.shape[0] - 1  # a score compares two clusters or more
                row[metric] = score.function(X_train, model.labels_) if defined else np.nan
            rows.append(row)
    columns = ["train", "val", "iterations"] if X_val is not None else ["train", "iterations"]
    table = summarize_runs(pd.DataFrame(rows), "k", columns + ([metric] if score is not None else []))
    table.attrs["knee"] = find_knee(table.index.to_numpy(), table["train_mean"].to_numpy())
    table.attrs["metric"] = metric
    if score is None:
        table.attrs["choice"] = table.attrs["knee"]
    else:
        means = table[f"{metric}_mean"].dropna()
        if means.empty:
            table.attrs["choice"] = None
        else:
            table.attrs["choice"] = int(means.idxmax() if score.greater_is_better else means.idxmin())
    return table


def find_knee(ks: Sequence[float], losses: Sequence[float]) -> int | None:
    """The knee of a decreasing loss curve: where its relative drop slows down the most.

    In log scale a k-means loss falls steeply while k is below the number of clusters (each
    new centre splits two real clusters) and then slowly (it splits one cluster's noise). The
    knee is the interior k where the slope of ``log(loss)`` changes most,

    ``knee = argmax_k  (log L(k-1) - log L(k)) / (k - k_prev) - (log L(k) - log L(k+1)) / (k_next - k)``

    (with consecutive k: ``log(L(k-1) / L(k)) - log(L(k) / L(k+1))``, the drop into k over the
    drop out of it). Each term depends only on k and its two neighbours, so adding k values
    beyond the knee does not move it, unlike a knee found on the curve rescaled to [0, 1] over
    the range (kneed's, used before): on the five blobs of ``tests/test_choose_k.py`` kneed put
    the knee at 2, 4 and 4 for the ranges 1:8, 1:12 and 1:20, where this rule says 5 for all
    three; on the 63 make_blobs data sets of the same tests (2..8 centres in 2, 10 and 50
    dimensions; the loss averaged over 5 fits) this rule found the true k for every range end
    from 8 to 20, while kneed missed it for some range end on 30 of them.

    Parameters
    ----------
    ks : sequence of numbers
        Increasing x values (the numbers of clusters).
    losses : sequence of float
        The loss at each k (>= 0): decreasing, as a k-means loss is. A loss of 0 counts as
        1e-12 of the largest one (its logarithm must be finite).

    Returns
    -------
    int or None
        The k at the knee, or None when the curve has none: fewer than three points, flat, or
        nowhere bending towards flat (its relative drop never slows down).

    Examples
    --------
    >>> find_knee([1, 2, 3, 4, 5, 6], [100.0, 40.0, 10.0, 8.0, 7.0, 6.0])
    3
    """
    x = np.asarray(ks, dtype=float)
    y = np.asarray(losses, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise InputError(f"ks and losses have shapes {x.shape} and {y.shape}; expected equal 1-D shapes")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or np.any(y < 0):
        raise InputError("ks and losses must be finite and the losses >= 0")
    if x.size and np.any(np.diff(x) <= 0):
        raise InputError(f"ks={x.tolist()} is not valid; expected increasing values")
    if x.size < 3 or np.ptp(y) == 0:
        return None
    log_loss = np.log(np.maximum(y, 1e-12 * y.max()))
    slopes = -np.diff(log_loss) / np.diff(x)  # the relative drop per unit of k, between neighbours
    slowdown = slopes[:-1] - slopes[1:]
    best = int(np.argmax(slowdown))
    if slowdown[best] <= 0:
        return None
    return int(round(float(x[best + 1])))


# --------------------------------------------------------------------------- clusters as a classifier


class ClusterClassifier(ClassifierMixin, BaseEstimator):
    """A classifier from a clustering: each cluster predicts the majority label of its members.

    Parameters
    ----------
    kmeans : KMeans, optional
        The clustering (default ``KMeans()``). Cloned and fitted on the training data in
        :meth:`fit`, unless ``prefit``.
    prefit : bool, default=False
        Use ``kmeans`` as already fitted; :meth:`fit` only counts the votes.

    Attributes
    ----------
    kmeans_ : KMeans
        The fitted clustering.
    classes_ : ndarray of shape (n_classes,)
        The labels seen in training, sorted.
    cluster_labels_ : ndarray of shape (n_clusters,)
        The label each cluster predicts: the most common training label among its members
        (ties to the smallest label). A cluster with no training member predicts the most
        common label overall.
    votes_ : ndarray of shape (n_clusters, n_classes)
        How many training points of each class fell in each cluster.
    cluster_purity_ : ndarray of shape (n_clusters,)
        The fraction of each cluster's training points that carry its label (NaN when empty).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    >>> clf = ClusterClassifier(KMeans(2, random_state=0)).fit(X, ["a", "a", "b", "b", "b", "b"])
    >>> clf.predict([[0.05], [5.05]]).tolist()
    ['a', 'b']
    """

    def __init__(self, kmeans: KMeans | None = None, *, prefit: bool = False):
        self.kmeans = kmeans
        self.prefit = prefit

    def fit(self, X: Any, y: Any) -> ClusterClassifier:
        """Fit the clustering on X (unless prefit) and label each cluster by majority vote.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The true label of each row.

        Returns
        -------
        self
        """
        X = check_data(X, "X")
        y = _check_labels(y, X.shape[0], "y")
        kmeans = KMeans() if self.kmeans is None else self.kmeans
        if self.prefit:
            check_is_fitted(kmeans)
            model = kmeans
            clusters = model.predict(X)
        else:
            model = _fit(clone(kmeans), X, None)
            clusters = model.labels_
        self.classes_, y_index = np.unique(y, return_inverse=True)
        k, n_classes = int(model.n_clusters), self.classes_.shape[0]
        votes = np.bincount(clusters * n_classes + y_index, minlength=k * n_classes).reshape(k, n_classes)
        sizes = votes.sum(axis=1)
        winners = votes.argmax(axis=1)  # argmax takes the first maximum: ties to the smallest label
        winners[sizes == 0] = votes.sum(axis=0).argmax()
        self.kmeans_ = model
        self.votes_ = votes
        self.cluster_labels_ = self.classes_[winners]
        with np.errstate(invalid="ignore", divide="ignore"):
            self.cluster_purity_ = np.where(sizes > 0, votes.max(axis=1) / sizes, np.nan)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The label of the cluster each row of X falls in."""
        check_is_fitted(self, "cluster_labels_")
        return self.cluster_labels_[self.kmeans_.predict(X)]

    def confusion_matrix(self, X: Any, y: Any) -> pd.DataFrame:
        """Counts of (true label, predicted label) on X.

        Returns
        -------
        DataFrame
            Rows the true labels, columns the predicted ones, over every label seen in training
            or in ``y``.
        """
        predicted = self.predict(X)
        y = _check_labels(y, predicted.shape[0], "y")
        labels = np.union1d(self.classes_, np.unique(y))
        counts = confusion_matrix(y, predicted, labels=labels)
        return pd.DataFrame(
            counts,
            index=pd.Index(labels, name="true"),
            columns=pd.Index(labels, name="predicted"),
        )


def purity_score(y_true: Any, clusters: Any) -> float:
    """Purity: the fraction of points whose cluster's most common true label is their own.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    clusters : array-like of shape (n_samples,)

    Returns
    -------
    float in (0, 1]
    """
    table = contingency_matrix(y_true, clusters)  # rows: classes, columns: clusters
    return float(table.max(axis=0).sum() / table.sum())


def clustering_scores(y_true: Any, clusters: Any) -> dict[str, float]:
    """How well cluster indices agree with true labels: ARI, NMI and purity.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    clusters : array-like of shape (n_samples,)

    Returns
    -------
    dict
        ``{"ari": ..., "nmi": ..., "purity": ...}``.
    """
    y_true = np.asarray(y_true)
    clusters = _check_labels(clusters, y_true.shape[0], "clusters")
    return {
        "ari": float(adjusted_rand_score(y_true, clusters)),
        "nmi": float(normalized_mutual_info_score(y_true, clusters)),
        "purity": purity_score(y_true, clusters),
    }


def _evaluation_set(X_train, y_train, X_test, y_test) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X_train = check_data(X_train, "X_train")
    y_train = _check_labels(y_train, X_train.shape[0], "y_train")
    if (X_test is None) != (y_test is None):
        raise InputError("X_test and y_test go together; expected both or neither")
    if X_test is None:
        return X_train, y_train, X_train, y_train
    X_test = check_data(X_test, "X_test", n_features=X_train.shape[1], estimator_name="the training data")
    return X_train, y_train, X_test, _check_labels(y_test, X_test.shape[0], "y_test")


def _classification_row(model: KMeans, X_train, y_train, X_test, y_test) -> dict[str, float]:
    clf = ClusterClassifier(model, prefit=True).fit(X_train, y_train)
    clusters = model.predict(X_test)
    accuracy = float(np.mean(clf.cluster_labels_[clusters] == y_test))
    return {
        "accuracy": accuracy,
        "error": 1.0 - accuracy,
        "train_accuracy": float(np.mean(clf.cluster_labels_[model.labels_] == y_train)),
        **clustering_scores(y_test, clusters),
    }


def accuracy_vs_k(
    X_train: Any,
    y_train: Any,
    X_test: Any = None,
    y_test: Any = None,
    ks: Iterable[int] = ACCURACY_KS,
    repeats: int = 3,
    init: Any = "k-means++",
    seed: Any = None,
    *,
    on_fit: OnFit = None,
    **kmeans_params: Any,
) -> pd.DataFrame:
    """Majority-vote accuracy, error rate, ARI, NMI and purity against the number of clusters.

    Each fit clusters ``X_train``; its clusters are labelled by majority vote of ``y_train``
    and then scored on ``(X_test, y_test)`` (on the training data when no test set is given).

    Parameters
    ----------
    X_train, y_train : array-like
        Training rows and their labels.
    X_test, y_test : array-like, optional
        Held-out rows and their labels.
    ks : iterable of int, default=ACCURACY_KS
        5..24 and 100, as the notebook.
    repeats : int, default=3
        Fits per k, from different seeds.
    init : str or array, default="k-means++"
    seed : int or None
    on_fit : callable, optional
        Called after every fit.
    **kmeans_params
        Other :class:`KMeans` parameters.

    Returns
    -------
    DataFrame
        Indexed by ``k``: ``<m>_mean`` and ``<m>_std`` for ``accuracy``, ``error``,
        ``train_accuracy``, ``ari``, ``nmi`` and ``purity`` (the last three of the test
        clusters against the test labels), and ``runs``.
    """
    X_train, y_train, X_test, y_test = _evaluation_set(X_train, y_train, X_test, y_test)
    ks = _check_ks(ks, X_train.shape[0])
    seeds = run_seeds(repeats, seed)
    rows = []
    for k in ks:
        for s in seeds:
            model = _fit(_make_kmeans(k, init, s, kmeans_params), X_train, on_fit)
            rows.append({"k": k, **_classification_row(model, X_train, y_train, X_test, y_test)})
    return summarize_runs(pd.DataFrame(rows), "k")


# --------------------------------------------------------------------------- initialisations


def compare_inits(
    X: Any,
    n_clusters: int,
    y: Any = None,
    X_test: Any = None,
    y_test: Any = None,
    inits: Sequence[str] = INITS,
    seeds: int | Sequence[int] = 10,
    *,
    histories: bool = False,
    on_fit: OnFit = None,
    **kmeans_params: Any,
) -> pd.DataFrame:
    """One fit per (initialisation, seed): final loss, iterations, and accuracy when labelled.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data clustered.
    n_clusters : int
    y : array-like of shape (n_samples,), optional
        Labels of X: the clusters are labelled by majority vote and scored.
    X_test, y_test : array-like, optional
        Scored instead of X when given (needs ``y``).
    inits : sequence of str, default=INITS
        ``"gaussian"``, ``"random"`` (data points), ``"k-means++"``, ``"uniform"``.
    seeds : int or sequence of int, default=10
        The seeds themselves, or how many (``0 .. seeds-1``). Every init runs with every seed.
    histories : bool, default=False
        Add a ``loss_history`` column: each run's loss at every iteration (a list), for
        :func:`kmeanslab.plots.plot_init_learning_curves`.
    on_fit : callable, optional
        Called after every fit.
    **kmeans_params
        Other :class:`KMeans` parameters (``n_init`` is 1 unless given).

    Returns
    -------
    DataFrame
        One row per run: ``init``, ``seed``, ``sse`` (sum of squared distances), ``mse``
        (their mean), ``mean_dist`` (mean distance, the notebooks' J_clust), ``iterations``,
        ``converged`` and, with labels, ``accuracy``, ``error``, ``train_accuracy``, ``ari``,
        ``nmi`` and ``purity``; with ``histories``, ``loss_history``. :func:`summarize_runs`
        ``(runs, "init")`` gives means and spread.
    """
    X = check_data(X, "X")
    k = check_n_clusters(n_clusters, X.shape[0])

    inits = [check_choice(i, "inits", INIT_METHODS) for i in inits]
    if not inits:
        raise InputError("inits is empty; expected at least one initialisation")
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = list(range(check_int(seeds, "seeds", min_value=1)))
    seeds = [check_int(s, "seeds", min_value=0) for s in seeds]
    labelled = y is not None
    if labelled:
        X, y, X_eval, y_eval = _evaluation_set(X, y, X_test, y_test)
    elif X_test is not None:
        raise InputError("X_test was given without y; expected the training labels y to label the clusters")
    rows = []
    for init in inits:
        for s in seeds:
            model = _fit(_make_kmeans(k, init, s, kmeans_params), X, on_fit)
            row = {
                "init": init,
                "seed": s,
                "sse": float(model.inertia_),
                "mse": float(model.inertia_) / X.shape[0],
                "mean_dist": model.loss(X, kind="mean_dist"),
                "iterations": int(model.n_iter_),
                "converged": bool(model.converged_),
            }
            if labelled:
                row.update(_classification_row(model, X, y, X_eval, y_eval))
            if histories:
                row["loss_history"] = [float(v) for v in model.loss_history_]
            rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- one fit


def learning_curve(model: KMeans) -> pd.DataFrame:
    """The loss at each iteration of a fitted model (its ``loss_history_``).

    Parameters
    ----------
    model : fitted KMeans

    Returns
    -------
    DataFrame
        ``iteration`` (from 1) and ``loss`` (mean squared distance of that iteration's
        assignment), one row per iteration.
    """
    check_is_fitted(model, "loss_history_")
    history = np.asarray(model.loss_history_, dtype=float)
    return pd.DataFrame({"iteration": np.arange(1, history.size + 1), "loss": history})


def fit_range(
    X: Any, ks: Iterable[int], init: Any = "k-means++", seed: Any = 0, **kmeans_params: Any
) -> dict[int, KMeans]:
    """One fitted model per k, all from the same seed.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    ks : iterable of int
    init : str or array, default="k-means++"
    seed : int, default=0
    **kmeans_params
        Other :class:`KMeans` parameters.

    Returns
    -------
    dict
        ``{k: fitted KMeans}`` in the order of ``ks``.
    """
    X = check_data(X, "X")
    return {k: _fit(_make_kmeans(k, init, seed, kmeans_params), X, None) for k in _check_ks(ks, X.shape[0])}


def representative_indices(X: Any, labels: Any, centers: Any, n: int = 5) -> np.ndarray:
    """For each cluster, the rows nearest its centre: its most typical members.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        The cluster of each row.
    centers : array-like of shape (n_clusters, n_features)
    n : int, default=5
        Members per cluster.

    Returns
    -------
    ndarray of shape (n_clusters, n), int
        Row indices, nearest first; -1 fills the places of a cluster with fewer than n members.
    """
    X = check_data(X, "X")
    centers = check_data(centers, "centers", n_features=X.shape[1], estimator_name="X")
    labels = _check_labels(labels, X.shape[0], "labels").astype(np.int64)
    n = check_int(n, "n", min_value=1)
    if labels.size and (labels.min() < 0 or labels.max() >= centers.shape[0]):
        raise InputError(
            f"labels range from {labels.min()} to {labels.max()}; expected cluster indices 0 .. {centers.shape[0] - 1}"
        )
    sq_dist = np.einsum("ij,ij->i", X - centers[labels], X - centers[labels])
    out = np.full((centers.shape[0], n), -1, dtype=np.int64)
    for c in range(centers.shape[0]):
        members = np.flatnonzero(labels == c)
        nearest = members[np.argsort(sq_dist[members], kind="stable")[:n]]
        out[c, : nearest.size] = nearest
    return out


# --------------------------------------------------------------------------- MNIST as the notebooks used it


def balanced_indices(y: Any, per_class: int, seed: Any = None) -> np.ndarray:
    """``per_class`` random indices of each label, sorted.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    per_class : int
    seed : int, Generator or None

    Returns
    -------
    ndarray of int
    """
    y = np.asarray(y)
    per_class = check_int(per_class, "per_class", min_value=1)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(y):
        where = np.flatnonzero(y == label)
        if where.size < per_class:
            shown = label.item() if isinstance(label, np.generic) else label
            raise InputError(
                f"per_class={per_class} asks for {per_class} rows of label {shown!r} but there are only {where.size}"
            )
        chosen.append(rng.choice(where, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def mnist_split(n_train: int = 1000, n_test: int | None = None, seed: Any = 0, data_home: Any = None):
    """The MNIST notebooks' set-up: ``n_train`` balanced training images and a test set.

    With the training split present, the training images are drawn from it (``n_train / 10``
    of each digit) and the test images are the test split. With only the test split present,
    the training images are drawn from the test split and the test images are the rest of it.

    Parameters
    ----------
    n_train : int, default=1000
        A multiple of 10.
    n_test : int, optional
        Keep only this many test images (a random subset); default all of them.
    seed : int, default=0
        Seeds both draws.
    data_home : path-like, optional
        Where the MNIST files are (see :func:`kmeanslab.datasets.get_data_home`).

    Returns
    -------
    train, test : Dataset
    note : str
        Where the two sets came from, for a report.

    Raises
    ------
    DatasetNotFoundError
        Neither split is there; the message says how to fetch it.
    """

    n_train = check_int(n_train, "n_train", min_value=10)
    if n_train % 10:
        raise InputError(f"n_train={n_train} is not valid; expected a multiple of 10 (the same number of each digit)")
    if n_test is not None:
        n_test = check_int(n_test, "n_test", min_value=1)
    per_class = n_train // 10
    try:
        test = load_mnist("test", data_home=data_home)
        missing_test = None
    except DatasetNotFoundError as error:
        test, missing_test = None, error
    try:
        train = load_mnist("train", data_home=data_home, balanced=per_class, seed=seed)
        note = (
            f"{n_train} training images ({per_class} of each digit) drawn from the MNIST training "
            f"split; scored on the test split"
        )
    except DatasetNotFoundError:
        if test is None:
            # Neither split: the test split is the one that is needed, so say that it is missing.
            raise missing_test from None
        fewest = int(np.bincount(test.target).min())
        if per_class >= fewest:
            raise InputError(
                f"n_train={n_train} is not valid with only the MNIST test split here: it asks for "
                f"{per_class} images of each digit and must leave some of each to score on, but the test split has "
                f"{fewest} of its rarest digit; expected n_train <= {10 * (fewest - 1)}"
            ) from None
        index = balanced_indices(test.target, per_class, seed)
        rest = np.setdiff1d(np.arange(test.data.shape[0]), index)
        train, test = _take(test, index), _take(test, rest)
        note = (
            f"Only the MNIST test split is available here: the {n_train} training images "
            f"({per_class} of each digit) are drawn from it and the scores are on the other "
            f"{rest.size} test images"
        )
    if test is None:
        raise DatasetNotFoundError("MNIST test split not found; fetch it with: kmeanslab data fetch mnist")
    available = test.data.shape[0]
    if n_test is not None and n_test < available:
        keep = np.sort(np.random.default_rng(seed).choice(available, size=n_test, replace=False))
        test = _take(test, keep)
        note += f" ({n_test} of them, at random)"
    elif n_test is not None and n_test > available:
        note += f" (all {available}: {n_test} were asked for)"
    return train, test, note + "."


def _take(dataset, index: np.ndarray):
    """The rows ``index`` of a Dataset: data, target and images alike."""
    return dataclasses.replace(
        dataset,
        data=dataset.data[index],
        target=None if dataset.target is None else dataset.target[index],
        images=None if dataset.images is None else dataset.images[index],
    )
