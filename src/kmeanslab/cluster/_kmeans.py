"""``kmeanslab.KMeans``: exact k-means, fitted by the one Lloyd loop over a block source."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import validate_data

from .._core import canonical_keys
from ..errors import InputError
from ..scale import BlockSource, beyond_memory, block_source
from ..validation import as_generator, check_data
from ._assigners import ALGORITHMS
from ._base import _BaseKMeans, boolean, integer, number, one_of
from ._cosine import METRICS, renormalise_centres, unit_init, unit_rows
from ._lloyd import EMPTY_POLICIES, STOP_RULES, LloydResult, lloyd
from ._seeding import initial_centers, mean_feature_variance_of

__all__ = ["KMeans"]


def _why_fewer_clusters(source: BlockSource, k: int) -> str:
    """Why a fit ended with empty clusters: too few distinct points, or the centres' placement.

    Only called in that (rare) case; equal rows have equal canonical keys, so counting the
    distinct keys counts the distinct points without sorting whole rows (in memory only).
    """
    if not source.in_memory:
        return "X has fewer distinct points than clusters or some centres attract no point"
    n_points = len(np.unique(canonical_keys(source.X), axis=0))
    if n_points < k:
        # scikit-learn's wording first, then what kmeanslab knows for sure.
        return (
            f". Possibly due to duplicate points in X: X has {n_points} distinct point(s), fewer than "
            f"n_clusters={k}; expected at least n_clusters distinct points, or choose a smaller n_clusters"
        )
    return ": some centres attract no point; try another init or random_state"


class KMeans(_BaseKMeans):
    """K-means clustering with an exact, chunked Lloyd engine.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters.
    init : {"k-means++", "random", "gaussian", "uniform"}, array of shape (n_clusters, n_features) \
or callable, default="k-means++"
        How the first centres are chosen: greedy k-means++ (``2 + ln k`` local trials),
        ``n_clusters`` distinct data points, draws from a normal with the data's per-feature
        mean and standard deviation, draws uniform in the data's bounding box, or given.
        Data beyond memory is seeded by k-means‖ for "k-means++" (see :mod:`kmeanslab.scale`).
        A callable is called as ``init(X, n_clusters, random_state)`` (X in memory, as given;
        ``random_state`` a ``numpy.random.RandomState`` seeded from ``random_state``) and must
        return finite centres of shape (n_clusters, n_features).
    n_init : "auto" or int, default="auto"
        Runs from different initialisations; the one with the lowest inertia is kept.
        ``"auto"`` is 1 for k-means++ and an explicit array, 10 otherwise (a callable too).
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
        and that point leaves its cluster, as in scikit-learn; or set to zeros; or kept where
        it was.
    algorithm : {"auto", "lloyd", "hamerly", "elkan", "yinyang"}, default="auto"
        How the assignments are computed. All give plain Lloyd's result; the pruning ones skip
        distance computations that bounds prove unnecessary. ``"auto"`` picks by n, k and d.
        Data beyond memory always runs the full Lloyd pass. ``"elkan"`` with one cluster has
        nothing to prune: it runs ``"lloyd"``, with a RuntimeWarning (as scikit-learn).
    random_state : int, numpy Generator or RandomState, default=None
        Seeds the initialisation. The same value gives bit-identical results.
    verbose : bool, default=False
        Print the loss at every iteration.
    copy_x : bool, default=True
        Accepted for scikit-learn compatibility and ignored: scikit-learn centres X in place
        unless ``copy_x=True``; kmeanslab never modifies X, so there is nothing to copy.
    metric : {"euclidean", "cosine"}, default="euclidean"
        ``"cosine"`` is spherical k-means: the rows of X are scaled to unit L2 norm on the way
        in (a row of zeros has no direction: InputError naming it), the centres are scaled back
        to unit norm after every update (a cluster whose rows cancel out keeps its centre), and
        the objective is ``Σ w (1 - cos(x, c))``. Seeding, the pruning algorithms and the
        Euclidean kernels run unchanged on the unit rows (``|x - c|² = 2 (1 - cos)``), so every
        algorithm still gives plain (spherical) Lloyd's result. X must be in memory, and
        ``empty="zeros"`` is refused (a zero centre has no direction).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        The centres, in the input's float dtype.
    labels_ : ndarray of shape (n_samples,)
        The index of each training point's centre (a lazy dask array after a Dask fit).
    inertia_ : float
        Sum of (weighted) squared distances of the training points to their centres; with
        ``metric="cosine"``, ``Σ w (1 - cos(x, c))``.
    n_iter_ : int
        Iterations of the kept run.
    loss_history_ : ndarray of shape (n_iter_,)
        The mean squared distance of the assignment made at each iteration; non-increasing.
        With ``metric="cosine"``, the weighted mean of ``1 - cos(x, c)``.
    converged_ : bool
        Whether the kept run met its stop rule before ``max_iter``.
    algorithm_ : str
        The assignment algorithm that ran.
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

    _parameter_constraints = {
        "max_iter": integer(1),
        "tol": number(0.0),
        "stop": one_of(STOP_RULES),
        "empty": one_of(EMPTY_POLICIES),
        "algorithm": one_of(ALGORITHMS),
        "copy_x": boolean,
        "metric": one_of(METRICS),
    }

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
        copy_x: bool = True,
        metric: str = "euclidean",
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
        self.copy_x = copy_x
        self.metric = metric

    def fit(
        self,
        X: Any,
        y: Any = None,
        sample_weight: Any = None,
        *,
        on_iteration: Callable[[int, np.ndarray, float], None] | None = None,
    ) -> KMeans:
        """Compute the clustering.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            In memory (a sparse X, any format, is fitted as CSR and never densified); or beyond it: a dask array (fitted on the active ``dask.distributed``
            client), a memory map or row-sliceable array-like (h5py, zarr,
            :class:`kmeanslab.scale.NpyFile`) of at least ``STREAM_MIN_BYTES`` (read block by
            block), or any :class:`kmeanslab.scale.BlockSource`.
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weight of each point in the centres and the loss.
        on_iteration : callable, optional
            Called as ``on_iteration(iteration, centers, loss)`` after every Lloyd iteration
            of every run (for progress reports and timings).

        Returns
        -------
        self
        """
        cosine = self._metric_name() == "cosine"
        if cosine:
            if beyond_memory(X) or isinstance(X, BlockSource):
                self._refuse_cosine_beyond_memory()
            source = block_source(unit_rows(check_data(X, "X", accept_sparse=True)), sample_weight)
        else:
            source = block_source(X, sample_weight)
        try:
            validate_data(self, X, skip_check_array=True, reset=True)
            self._validate_params(source.n, source.d, source.dtype)
            if cosine and self._empty == "zeros":
                raise InputError(
                    "empty='zeros' is not valid with metric='cosine': a zero centre has no direction; "
                    "expected empty='relocate' or 'keep'"
                )
            if self._algorithm == "elkan" and self._n_clusters == 1:
                warnings.warn(
                    "algorithm='elkan' doesn't make sense for a single cluster: there is no other "
                    "centre whose distance could be skipped. Using 'lloyd' instead.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self._algorithm = "lloyd"
            rng = as_generator(self.random_state)
            tol = self._tol * mean_feature_variance_of(source) if self._stop == "shift" else self._tol
            best: LloydResult | None = None
            # Cosine runs the Euclidean loop on unit rows, whose losses are 2 (1 - cos): halved on the way out.
            scale = 0.5 if cosine else 1.0
            report = on_iteration
            if cosine and on_iteration is not None:
                report = lambda it, centers, loss: on_iteration(it, centers, scale * loss)  # noqa: E731
            for _ in range(self._n_init):
                start = initial_centers(source, self._n_clusters, self._init, rng)
                result = lloyd(
                    source,
                    unit_init(start) if cosine else start,
                    max_iter=self._max_iter,
                    tol=tol,
                    stop=self._stop,
                    empty=self._empty,
                    algorithm=self._algorithm,
                    verbose=bool(self.verbose),
                    on_iteration=report,
                    update_hook=renormalise_centres if cosine else None,
                    loss_scale=scale,
                )
                if best is None or result.inertia < best.inertia:
                    best = result
            assert best is not None
            n_distinct = int(np.count_nonzero(best.sizes))
            if n_distinct < self._n_clusters:
                warnings.warn(
                    f"Number of distinct clusters ({n_distinct}) found smaller than "
                    f"n_clusters ({self._n_clusters}){_why_fewer_clusters(source, self._n_clusters)}.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
        finally:
            if source is not X:
                source.release()
        self.cluster_centers_ = best.centers
        self.labels_ = best.labels
        self.inertia_ = scale * best.inertia
        self.n_iter_ = best.n_iter
        self.loss_history_ = scale * best.loss_history
        self.converged_ = best.converged
        self.algorithm_ = best.extra.get("algorithm", "lloyd")
        return self

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit, then return the label of every training point (``labels_``)."""
        return self.fit(X, sample_weight=sample_weight).labels_
