"""``kmeanslab.KMeans``: a scikit-learn compatible estimator over the engine."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from ._assigners import ALGORITHMS
from ._core import assign, assigned_sq_dists, inertia, mean_feature_variance, row_sq_norms
from .engine import EMPTY_POLICIES, STOP_RULES, LloydResult, lloyd
from .errors import InputError
from .initialization import INIT_METHODS, initial_centers
from .validation import (
    as_generator,
    check_choice,
    check_data,
    check_float,
    check_init_array,
    check_int,
    check_n_clusters,
    check_sample_weight,
    iter_row_chunks,
)

__all__ = ["KMeans", "LOSS_KINDS"]

LOSS_KINDS = ("sse", "mse", "mean_dist")


def _beyond_memory(X: Any):
    """The module that handles X when it is not for the in-memory engine, else None.

    Dask arrays go to :mod:`kmeanslab.distributed`; memory maps and row-sliceable array-likes
    (h5py, zarr, ``streaming.NpyFile``) above ``streaming.STREAM_MIN_BYTES`` to
    :mod:`kmeanslab.streaming`.
    """
    from . import distributed, streaming

    if distributed.is_dask_array(X):
        return distributed
    return streaming if streaming.is_out_of_core(X) else None


def _why_fewer_clusters(X: np.ndarray, k: int) -> str:
    """Why a fit ended with empty clusters: too few distinct points, or the centres' placement.

    Only called in that (rare) case; equal rows have equal canonical keys, so counting the
    distinct keys counts the distinct points without sorting whole rows.
    """
    from ._core import canonical_keys

    n_points = len(np.unique(canonical_keys(X), axis=0))
    if n_points < k:
        return (
            f"X has {n_points} distinct point(s), fewer than n_clusters={k}; "
            f"expected at least n_clusters distinct points, or choose a smaller n_clusters"
        )
    return "some centres attract no point; try another init or random_state"


class KMeans(TransformerMixin, ClusterMixin, BaseEstimator):
    """K-means clustering with an exact, chunked Lloyd engine.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters.
    init : {"k-means++", "random", "gaussian", "uniform"} or array of shape (n_clusters, n_features), \
default="k-means++"
        How the first centres are chosen: greedy k-means++ (``2 + ln k`` local trials),
        ``n_clusters`` distinct data points, draws from a normal with the data's per-feature
        mean and standard deviation, draws uniform in the data's bounding box, or given.
    n_init : "auto" or int, default="auto"
        Runs from different initialisations; the one with the lowest inertia is kept.
        ``"auto"`` is 1 for k-means++ and an explicit array, 10 otherwise.
    max_iter : int, default=300
        The most Lloyd iterations in one run.
    tol : float, default=1e-4
        With ``stop="shift"``, stop when the total squared shift of the centres is at most
        ``tol`` times the mean feature variance of X (as scikit-learn). With ``stop="loss"``,
        stop when the relative decrease of the loss is below ``tol`` (the course assignment's
        rule, checked from the third iteration on).
    stop : {"shift", "loss"}, default="shift"
        Which stop rule ``tol`` applies to. Either way a run also stops when no label changes.
    empty : {"relocate", "zeros", "keep"}, default="relocate"
        The centre of a cluster that lost all its points is moved to the point farthest from
        its own centre (the next empty one to the next farthest, never two to the same point),
        set to zeros, or kept where it was.
    algorithm : {"auto", "lloyd", "hamerly", "elkan", "yinyang"}, default="auto"
        How the assignments are computed. All give plain Lloyd's result; the pruning ones skip
        distance computations that bounds prove unnecessary. ``"auto"`` picks by n, k and d.
    random_state : int, numpy Generator or RandomState, default=None
        Seeds the initialisation. The same value gives bit-identical results.
    verbose : bool, default=False
        Print the loss at every iteration.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        The centres, in the input's float dtype.
    labels_ : ndarray of shape (n_samples,)
        The index of each training point's centre.
    inertia_ : float
        Sum of (weighted) squared distances of the training points to their centres.
    n_iter_ : int
        Iterations of the kept run.
    loss_history_ : ndarray of shape (n_iter_,)
        The mean squared distance of the assignment made at each iteration; non-increasing.
    converged_ : bool
        Whether the kept run met its stop rule before ``max_iter``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Column names, when X was a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanslab import KMeans
    >>> X = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 0.0], [10.0, 2.0], [10.0, 4.0], [10.0, 0.0]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_.tolist())
    [[1.0, 2.0], [10.0, 2.0]]
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        n_init: Any = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        stop: str = "shift",
        empty: str = "relocate",
        algorithm: str = "auto",
        random_state: Any = None,
        verbose: bool = False,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.stop = stop
        self.empty = empty
        self.algorithm = algorithm
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ validation

    def _check_X(self, X: Any, *, reset: bool) -> np.ndarray:
        if reset:
            checked = check_data(X, "X")
        else:
            check_is_fitted(self)
            checked = check_data(X, "X", n_features=self.n_features_in_, estimator_name=type(self).__name__)
        # Feature-name bookkeeping (and its warnings) exactly as scikit-learn does it.
        validate_data(self, X, skip_check_array=True, reset=reset)
        return checked

    def _check_params(self, X: np.ndarray) -> dict:
        n_samples, n_features = X.shape
        k = check_n_clusters(self.n_clusters, n_samples)
        if isinstance(self.init, str):
            init = check_choice(self.init, "init", INIT_METHODS)
        elif hasattr(self.init, "__array__") or isinstance(self.init, (list, tuple)):
            init = check_init_array(self.init, k, n_features, X.dtype)
        else:
            raise InputError(
                f"init={self.init!r} is not valid; expected one of "
                f"{', '.join(repr(m) for m in INIT_METHODS)} or an array of shape ({k}, {n_features})"
            )
        if isinstance(self.n_init, str) and self.n_init == "auto":
            n_init = 1 if (isinstance(init, np.ndarray) or init == "k-means++") else 10
        else:
            n_init = check_int(self.n_init, "n_init", min_value=1)
            if isinstance(init, np.ndarray) and n_init != 1:
                warnings.warn(
                    f"n_init={n_init} has no effect with an explicit init array; running once",
                    RuntimeWarning,
                    stacklevel=3,
                )
                n_init = 1
        return dict(
            n_clusters=k,
            init=init,
            n_init=n_init,
            max_iter=check_int(self.max_iter, "max_iter", min_value=1),
            tol=check_float(self.tol, "tol", min_value=0.0),
            stop=check_choice(self.stop, "stop", STOP_RULES),
            empty=check_choice(self.empty, "empty", EMPTY_POLICIES),
            algorithm=check_choice(self.algorithm, "algorithm", ALGORITHMS),
        )

    # ------------------------------------------------------------------ fitting

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> KMeans:
        """Compute the clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weight of each point in the centres and the loss.

        Returns
        -------
        self
        """
        beyond = _beyond_memory(X)
        if beyond is not None:  # a dask array, or too big to hold: fit block by block
            return beyond.fit_kmeans(self, X, sample_weight)
        X = self._check_X(X, reset=True)
        params = self._check_params(X)
        weights = check_sample_weight(sample_weight, X.shape[0])
        rng = as_generator(self.random_state)
        x_sq = row_sq_norms(X)
        tol = params["tol"]
        if params["stop"] == "shift":
            tol = tol * mean_feature_variance(X, weights)
        best: LloydResult | None = None
        for _ in range(params["n_init"]):
            if isinstance(params["init"], np.ndarray):
                start = params["init"]
            else:
                start = initial_centers(X, params["n_clusters"], params["init"], rng, weights, x_sq)
            result = lloyd(
                X,
                start,
                sample_weight=weights,
                max_iter=params["max_iter"],
                tol=tol,
                stop=params["stop"],
                empty=params["empty"],
                algorithm=params["algorithm"],
                x_sq=x_sq,
                verbose=bool(self.verbose),
            )
            if best is None or result.inertia < best.inertia:
                best = result
        assert best is not None
        n_distinct = len(np.unique(best.labels))
        why = _why_fewer_clusters(X, params["n_clusters"]) if n_distinct < params["n_clusters"] else ""
        return self._set_fitted(best, n_distinct, why)

    def _set_fitted(self, best: Any, n_distinct: int, why_fewer: str, stacklevel: int = 3) -> KMeans:
        """Take the fitted attributes from the best run (an ``engine.LloydResult``).

        Warns when fewer than ``n_clusters`` clusters have points, giving ``why_fewer`` as the
        reason. Shared by the in-memory fit and the blockwise fits (streamed, Dask).
        """
        if n_distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({self.n_clusters}): {why_fewer}.",
                ConvergenceWarning,
                stacklevel=stacklevel,
            )
        self.cluster_centers_ = best.centers
        self.labels_ = best.labels
        self.inertia_ = best.inertia
        self.n_iter_ = best.n_iter
        self.loss_history_ = best.loss_history
        self.converged_ = best.converged
        self.algorithm_ = best.extra.get("algorithm", "lloyd")
        return self

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit, then return the label of every training point (``labels_``)."""
        return self.fit(X, sample_weight=sample_weight).labels_

    # ------------------------------------------------------------------ using a fitted model

    def _centers_for(self, X: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self.cluster_centers_, dtype=X.dtype)

    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest centre for each row of X (ties to the lowest index)."""
        beyond = _beyond_memory(X)
        if beyond is not None:
            return beyond.predict(self, X)
        X = self._check_X(X, reset=False)
        labels, _ = assign(X, self._centers_for(X))
        return labels

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distance from each row of X to each centre, shape (n_samples, n_clusters)."""
        beyond = _beyond_memory(X)
        if beyond is not None:
            return beyond.transform(self, X)
        X = self._check_X(X, reset=False)
        centers = self._centers_for(X)
        c_sq = np.einsum("ij,ij->i", centers, centers)
        out = np.empty((X.shape[0], centers.shape[0]), dtype=X.dtype)
        rows = max(1, 2**22 // max(1, X.shape[1] * X.itemsize))
        for a, b in iter_row_chunks(X.shape[0], rows):
            part = X[a:b]
            d2 = np.einsum("ij,ij->i", part, part)[:, None] + c_sq[None, :] - 2.0 * (part @ centers.T)
            np.sqrt(np.maximum(d2, 0.0), out=out[a:b])
        return out

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Opposite of the inertia of X under this model (higher is better)."""
        return -self.loss(X, kind="sse", sample_weight=sample_weight)

    def loss(self, X: Any, kind: str = "sse", sample_weight: Any = None) -> float:
        """The loss of X under this model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        kind : {"sse", "mse", "mean_dist"}, default="sse"
            Sum of squared distances to the nearest centre (the inertia); their mean; or the
            mean of the (unsquared) distances, reported as J_clust by the MNIST notebooks.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        kind = check_choice(kind, "kind", LOSS_KINDS)
        X = self._check_X(X, reset=False)
        weights = check_sample_weight(sample_weight, X.shape[0])
        centers = self._centers_for(X)
        labels, _ = assign(X, centers)
        if kind == "sse":
            return inertia(X, centers, labels, weights)
        total_weight = float(X.shape[0] if weights is None else weights.sum())
        if kind == "mse":
            return inertia(X, centers, labels, weights) / total_weight
        dist = np.sqrt(assigned_sq_dists(X, centers, labels))
        return float((dist.sum() if weights is None else np.dot(weights, dist)) / total_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def save(self, path: Any) -> Any:
        """Write this fitted model to ``path`` as an ``.npz`` model file.

        The file holds the centres, the parameters, the fitted attributes and a format
        version, and is read back by :func:`kmeanslab.load` without pickle.

        Parameters
        ----------
        path : path-like
            Written atomically, as given (no ``.npz`` is appended).

        Returns
        -------
        pathlib.Path
            The file written.
        """
        from .persistence import save_model

        return save_model(self, path)
