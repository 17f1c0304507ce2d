"""``kmeanslab.MiniBatchKMeans``: k-means by small random batches (Sculley 2010).

Each step draws a batch, assigns it with the engine's Lloyd pass (the same fused kernel as
the exact fit, through ``cluster._assigners.make_assigner("lloyd", ...)``) and moves each centre towards
the mean of its batch points with its own learning rate ``batch weight / total weight seen``,
so a centre settles as the evidence about it grows. Centres that attract (almost) nothing are
moved onto badly served batch points. A run stops after ``max_iter`` epochs or when an
exponentially smoothed batch loss has not improved for ``max_no_improvement`` steps. A small
batch runs the kernel on the calling thread (see ``MiniBatchKMeans._serial``): same numbers.

Batches (and the seeding sample) are drawn with replacement, in proportion to sample weight,
over the rows in canonical order (:func:`kmeanslab._core.canonical_order`). The same seed
therefore draws the same *points* whatever the order of the rows, and a point of integer
weight w is drawn exactly as w copies of it would be: weights are repetitions.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._core import (
    assign,
    canonical_order,
    compute_context,
    inertia,
    mean_feature_variance,
    one_thread,
    row_sq_norms,
)
from ..scale import InMemoryBlocks
from ..validation import as_generator, check_sample_weight, is_sparse
from ._assigners import make_assigner
from ._base import _BaseKMeans, boolean, integer, number, one_of, optional
from ._cosine import METRICS, renormalise_centres, unit_init
from ._seeding import initial_centers

__all__ = ["MiniBatchKMeans"]

# A batch step (or seeding on the sample) of fewer multiply-adds than this, about 10 ms on one
# core, runs on the calling thread; a larger one uses the kernel's threads. See _serial.
SERIAL_BATCH_WORK = 2**28


class _Sampler:
    """Draws row indices with replacement, in proportion to weight, over the canonical order."""

    def __init__(self, X: np.ndarray, sample_weight: np.ndarray | None):
        n = X.shape[0]
        self.order = canonical_order(X)
        self.unit = sample_weight is None
        mass = np.ones(n) if self.unit else sample_weight[self.order]
        self.cumulative = np.cumsum(mass)
        positive = n if sample_weight is None else int(np.count_nonzero(sample_weight))
        # How many samples the data stand for: the total weight when weights are counts,
        # but never fewer than the rows that carry weight (weights normalised to sum to 1).
        self.n_effective = max(float(self.cumulative[-1]), float(positive))

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        targets = rng.random(size) * self.cumulative[-1]
        if self.unit:  # the cumulative mass is 1, 2, ..., n: the search is a floor
            positions = targets.astype(np.intp)
        else:
            positions = np.searchsorted(self.cumulative, targets, side="right")
        return self.order[np.minimum(positions, len(self.order) - 1)]


class _EarlyStop:
    """Stop when the smoothed batch loss stalls, or when a step moves the centres less than tol."""

    def __init__(self, alpha: float, patience: int | None, tol: float):
        self.alpha, self.patience, self.tol = alpha, patience, tol
        self.smoothed: float | None = None
        self.best = math.inf
        self.stalled = 0

    def update(self, loss: float, shift: float) -> bool:
        self.smoothed = loss if self.smoothed is None else self.smoothed + self.alpha * (loss - self.smoothed)
        if self.tol > 0.0 and shift <= self.tol:
            return True
        if self.smoothed < self.best:
            self.best, self.stalled = self.smoothed, 0
        else:
            self.stalled += 1
        return self.patience is not None and self.stalled >= self.patience


def _batch_update(centers, counts, batch, weights, x_sq, centers_x):
    """Assign a batch and move the centres; returns the squared distances and who was hit."""
    assigner = make_assigner("lloyd", batch, centers.shape[0], weights, x_sq)
    _, sums, wsums = assigner.step(centers_x)
    d2 = assigner.min_sq_dists(centers_x)
    hit = wsums > 0
    counts[hit] += wsums[hit]
    # c += (batch sum − w·c) / total weight: the running mean of every point it has been given.
    centers[hit] += (sums[hit] - wsums[hit, None] * centers[hit]) / counts[hit, None]
    return d2, hit


def _reassign(centers, counts, batch, d2, weights, rng, ratio, periodic, dead=None) -> np.ndarray:
    """Move starved centres onto batch points drawn in proportion to their squared distance.

    Which centres are starved is scikit-learn's rule: a centre that has never attracted
    weight is moved at every step; with ``periodic``, also every centre whose count (the
    weight it has absorbed) is below ``ratio`` times the largest. A centre whose cluster still
    gets points keeps a count of the order of the others', so it is never moved: not hitting
    a centre for a while is no evidence that its cluster is empty (on small data an epoch of
    draws misses a cluster often). ``dead`` marks centres whose cluster an exact pass found
    empty (see ``MiniBatchKMeans._dead_centres``); they move too. A moved centre gets the
    smallest count of those that stay, so it neither freezes nor dominates. At most half a
    batch of centres moves at once. Returns the indices of the centres moved.
    """
    none = np.empty(0, dtype=np.intp)
    top = counts.max()
    if top <= 0.0:
        return none
    starved = counts <= 0.0
    if dead is not None:
        starved |= dead
    if periodic and ratio > 0.0:
        starved |= counts < ratio * top
    if not starved.any():
        return none
    mass = d2 if weights is None else d2 * weights
    eligible = np.flatnonzero(mass > 0)
    movers = np.flatnonzero(starved)
    movers = movers[np.argsort(counts[movers], kind="stable")]
    m = min(len(movers), len(eligible), max(1, batch.shape[0] // 2))
    if m == 0:
        return none
    picks = rng.choice(eligible, size=m, replace=False, p=mass[eligible] / mass[eligible].sum())
    movers = movers[:m]
    centers[movers] = batch[picks].toarray() if is_sparse(batch) else batch[picks]  # m rows only
    staying = counts[~starved]
    counts[movers] = staying.min() if staying.size else counts[movers].max()
    return movers


class MiniBatchKMeans(_BaseKMeans):
    """K-means by mini-batches: a fast approximation of :class:`kmeanslab.KMeans` for big n.

    Parameters
    ----------
    n_clusters : int, default=8
    init : {"k-means++", "random", "gaussian", "uniform"}, array of shape (n_clusters, n_features) \
or callable, default="k-means++"
        Seeding, run on a sample of ``init_size`` points drawn by weight (see
        :class:`kmeanslab.KMeans` for the methods; a callable gets the sample as X).
    max_iter : int, default=100
        The most epochs: a run takes at most ``floor(max_iter * n / batch_size)`` steps (at
        least one), so ``n_iter_ <= max_iter``.
    batch_size : int, default=1024
        Points per step, drawn with replacement in proportion to sample weight; at most n.
    verbose : int, default=0
        Print the batch loss every step.
    compute_labels : bool, default=True
        After ``fit``, label all of X and compute the inertia (one exact pass); after
        ``partial_fit``, label the batch.
    random_state : int, numpy Generator or RandomState, default=None
    tol : float, default=0.0
        Stop when a step moves the centres by at most ``tol`` times the mean feature variance
        (total squared shift); 0 disables this rule.
    max_no_improvement : int or None, default=10
        Stop after this many steps without a new minimum of the smoothed batch loss; None
        disables this rule.
    init_size : int, optional
        Points drawn for seeding (and, with ``n_init > 1``, for comparing seedings). Default:
        ``3 * batch_size``, at least ``3 * n_clusters``, at most ``max(n_clusters, n)``. An
        ``init_size`` below ``n_clusters`` is replaced by ``3 * n_clusters`` (RuntimeWarning).
    n_init : "auto" or int, default="auto"
        Seedings tried; the best on a held-out sample is kept. "auto": 1 for k-means++ or an
        array, 3 otherwise.
    reassignment_ratio : float, default=0.01
        Centres whose count falls below this fraction of the largest count are moved onto
        far points (checked every ``10 + smallest count`` steps). Centres that never attract
        anything are moved at every step, and so is a centre no batch has hit for two epochs
        once an exact pass over X finds its cluster empty; a centre whose cluster has points
        is never moved for want of hits.
    metric : {"euclidean", "cosine"}, default="euclidean"
        ``"cosine"``: online spherical k-means. Rows are scaled to unit L2 norm on the way in
        (zero rows refused), every step scales the centres it moved back to unit norm, and
        ``inertia_`` is ``Σ w (1 - cos(x, c))`` (see :class:`kmeanslab.KMeans`).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
        Only with ``compute_labels=True``.
    inertia_ : float
        Only with ``compute_labels=True``: the exact inertia of X (or of the last batch).
    counts_ : ndarray of shape (n_clusters,)
        Total weight each centre has absorbed: the inverse of its learning rate.
    n_steps_ : int
        Mini-batch steps taken.
    n_iter_ : int
        Epochs started (``ceil(n_steps_ * batch_size / n)``), at most ``max_iter``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanslab import MiniBatchKMeans
    >>> X = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 0.0], [10.0, 2.0], [10.0, 4.0], [10.0, 0.0]])
    >>> km = MiniBatchKMeans(n_clusters=2, batch_size=4, random_state=0).fit(X)
    >>> sorted(np.round(km.cluster_centers_).tolist())
    [[1.0, 2.0], [10.0, 2.0]]
    """

    _parameter_constraints = {
        "max_iter": integer(1),
        "batch_size": integer(1),
        "tol": number(0.0),
        "max_no_improvement": optional(integer(0)),
        "init_size": optional(integer(1)),
        "compute_labels": boolean,
        "reassignment_ratio": number(0.0),
        "metric": one_of(METRICS),
    }
    # As scikit-learn's MiniBatchKMeans: seedings on samples are cheap but noisy.
    _n_init_when_auto = 3

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        max_iter: int = 100,
        batch_size: int = 1024,
        verbose: int = 0,
        compute_labels: bool = True,
        random_state: Any = None,
        tol: float = 0.0,
        max_no_improvement: int | None = 10,
        init_size: int | None = None,
        n_init: Any = "auto",
        reassignment_ratio: float = 0.01,
        metric: str = "euclidean",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.metric = metric

    # ------------------------------------------------------------------ fitting

    def _seeding_size(self, batch_size: int, n_effective: float) -> int:
        """Points drawn for seeding: ``init_size``, or ``3 * batch_size`` and at least ``3 * n_clusters``.

        Never more than the data hold, never fewer than ``n_clusters``: an ``init_size`` below
        ``n_clusters`` is replaced by ``3 * n_clusters``, with a RuntimeWarning (as scikit-learn).
        """
        k = self._n_clusters
        size = self._init_size
        if size is None:
            size = max(3 * batch_size, 3 * k)
        elif size < k:
            warnings.warn(
                f"init_size={size} should be larger than n_clusters={k}: seeding needs at least "
                f"n_clusters points; setting it to min(3*n_clusters, n_samples)",
                RuntimeWarning,
                stacklevel=3,
            )
            size = 3 * k
        return int(min(size, max(k, math.ceil(n_effective))))

    def _seed(self, X, x_sq, sampler, rng, size: int) -> np.ndarray:
        """Initial centres from ``size`` samples drawn by weight; with n_init > 1 the best on a held-out sample."""
        k = self._n_clusters
        if isinstance(self._init, np.ndarray):
            return self._on_metric(self._init.astype(np.float64))
        held_out = sampler.draw(rng, size) if self._n_init > 1 else None
        best, best_cost = None, math.inf
        for _ in range(self._n_init):
            rows = sampler.draw(rng, size)
            start = self._on_metric(initial_centers(InMemoryBlocks(X[rows], None, x_sq[rows]), k, self._init, rng))
            if held_out is None:
                return start
            _, d2 = assign(X[held_out], start.astype(X.dtype), x_sq[held_out])
            cost = float(d2.sum())
            if self.verbose:
                print(f"seeding: held-out inertia {cost:.10g}")
            if cost < best_cost:
                best, best_cost = start, cost
        return best

    def _step(self, batch, weights, x_sq, rng, dead=None) -> tuple[float, float]:
        centers = self._centers64
        before = centers.copy()
        d2, hit = _batch_update(centers, self.counts_, batch, weights, x_sq, centers.astype(batch.dtype))
        loss = float(d2.mean() if weights is None else np.dot(weights, d2) / max(weights.sum(), 1e-300))
        self._last_hit[hit] = self.n_steps_
        moved = _reassign(
            centers, self.counts_, batch, d2, weights, rng, self._reassignment_ratio, self._reassignment_due(), dead
        )
        if self._metric_name() == "cosine":
            # Spherical: the moved centres back onto the sphere; 1 - cos is half the squared distance.
            renormalise_centres(centers, before)
            loss *= 0.5
        self._last_hit[moved] = self.n_steps_
        self.n_steps_ += 1
        return loss, float(np.sum((centers - before) ** 2))

    def _on_metric(self, centers: np.ndarray) -> np.ndarray:
        """Initial centres as the metric wants them: unit rows for cosine."""
        return unit_init(centers) if self._metric_name() == "cosine" else centers

    def _exact_inertia(self, X, labels, weights) -> float:
        total = inertia(X, self.cluster_centers_, labels, weights)
        return 0.5 * total if self._metric_name() == "cosine" else total

    def _start(self, centers: np.ndarray) -> None:
        self._centers64 = np.array(centers, dtype=np.float64)  # its own: the steps move it in place
        self.counts_ = np.zeros(centers.shape[0])
        self._last_hit = np.zeros(centers.shape[0], dtype=np.int64)
        self._last_check = 0
        self.n_steps_ = 0

    def _resume(self) -> None:
        """The private state of the steps, rebuilt from the public one (a model read by ``load``).

        The centres continue from ``cluster_centers_`` (in float64: a float32 model continues
        from its rounded centres) and the counts from ``counts_``.
        """
        self._reassignment_ratio = number(0.0)(self.reassignment_ratio, "reassignment_ratio")
        self._rng = as_generator(self.random_state)
        self._centers64 = np.array(self.cluster_centers_, dtype=np.float64)
        self.counts_ = np.array(self.counts_, dtype=np.float64)
        self._last_hit = np.full(self._centers64.shape[0], self.n_steps_, dtype=np.int64)
        self._last_check = self.n_steps_

    @staticmethod
    def _serial(effort: float) -> bool:
        """Whether a pass of ``effort`` multiply-adds (a batch, the seeding sample) runs on one thread.

        Starting a parallel region costs microseconds on idle cores but a scheduler time slice
        when another process holds one, and a batch step is short: on a busy 2-core machine
        a 1024 x 784 step took 15 ms on two threads against 1.3 ms on one at k = 10 (3.1 ms at
        k = 100). Unlike the probing policy of the pruning steps (:mod:`kmeanslab.cluster._assigners`),
        whose passes cover all of X, the rule is fixed: below :data:`SERIAL_BATCH_WORK`
        (about 10 ms of work on one core), one thread. The slabs, and so the results, do not
        depend on it.
        """
        return effort < SERIAL_BATCH_WORK

    def _dead_centres(self, X, x_sq, weights, quiet_steps: int) -> np.ndarray | None:
        """Centres no batch has hit for ``quiet_steps`` steps whose cluster is empty, or None.

        Missing a centre for a while proves nothing (a cluster of m of n points is missed by an
        epoch of draws with probability about exp(-m)), so a quiet centre is only a suspect:
        one exact assignment pass over X says whether its cluster still has points. A live
        suspect is left alone and not suspected again for another ``quiet_steps`` steps, and
        there is at most one pass every ``quiet_steps`` steps: the passes cost at most one
        epoch of work per ``quiet_steps`` steps, and only while some centre is quiet.
        """
        if self.n_steps_ - self._last_check < quiet_steps:
            return None
        suspects = (self.n_steps_ - self._last_hit) >= quiet_steps
        if not suspects.any():
            return None
        self._last_check = self.n_steps_
        labels, _ = assign(X, self._centers64.astype(X.dtype), x_sq)
        members = np.bincount(labels if weights is None else labels[weights > 0], minlength=len(suspects))
        dead = suspects & (members == 0)
        self._last_hit[suspects & ~dead] = self.n_steps_
        return dead

    def _reassignment_due(self) -> bool:
        return (self.n_steps_ + 1) % (10 + int(min(self.counts_.min(), 1e9))) == 0

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> MiniBatchKMeans:
        """Compute the clustering by mini-batch steps over X.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Batches are drawn in proportion to these weights (weights are repetitions).

        Returns
        -------
        self
        """
        X = self._check_X(X, reset=True)
        self._validate_params(X.shape[0], X.shape[1], X.dtype)
        weights = check_sample_weight(sample_weight, X.shape[0], X=X)
        rng = as_generator(self.random_state)
        sampler = _Sampler(X, weights)
        n_eff = sampler.n_effective
        # A batch is at most the data (as scikit-learn; n counted as the weights count it, so
        # weights stay repetitions): a bigger one would only repeat draws, and an epoch would
        # be less than one step.
        batch_size = max(1, min(self._batch_size, math.floor(n_eff)))
        x_sq = row_sq_norms(X)
        tol = self._tol * mean_feature_variance(X, weights) if self._tol > 0 else 0.0
        # Whole steps within max_iter epochs (rounded down, as scikit-learn): n_iter_ <= max_iter.
        n_steps = max(1, math.floor(self._max_iter * n_eff / batch_size))
        stopper = _EarlyStop(min(1.0, 2.0 * batch_size / (n_eff + 1.0)), self._max_no_improvement, tol)
        k, d = self._n_clusters, X.shape[1]
        # A centre no batch has hit for two epochs is checked exactly (see _dead_centres).
        quiet_steps = 2 * max(1, math.ceil(n_eff / batch_size))
        with compute_context():
            seed_rows = self._seeding_size(batch_size, n_eff)
            with one_thread(self._serial(seed_rows * k * d)):
                self._start(self._seed(X, x_sq, sampler, rng, seed_rows))
            for step in range(n_steps):
                dead = self._dead_centres(X, x_sq, weights, quiet_steps)  # a pass over X: all threads
                with one_thread(self._serial(batch_size * k * d)):
                    rows = sampler.draw(rng, batch_size)
                    loss, shift = self._step(X[rows], None, x_sq[rows], rng, dead)
                if self.verbose:
                    print(f"step {step + 1:6d}/{n_steps}  batch loss {loss:.6g}  smoothed {stopper.smoothed}")
                # The first batch measures the seeding, not a step: it does not count.
                if step > 0 and stopper.update(loss, shift):
                    if self.verbose:
                        print(f"stopped early after {step + 1} steps")
                    break
            self.cluster_centers_ = self._centers64.astype(X.dtype)
            self.n_iter_ = min(self._max_iter, math.ceil(self.n_steps_ * batch_size / n_eff))
            if self.compute_labels:
                self.labels_, _ = assign(X, self.cluster_centers_, x_sq)
                self.inertia_ = self._exact_inertia(X, self.labels_, weights)
        self._rng = rng
        return self

    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> MiniBatchKMeans:
        """One mini-batch step with X as the batch (seeding on the first call).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            The batch; the first one needs at least ``n_clusters`` rows.
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        first = not hasattr(self, "cluster_centers_")
        X = self._check_X(X, reset=first)
        weights = check_sample_weight(sample_weight, X.shape[0], X=X)
        if first:
            self._validate_params(X.shape[0], X.shape[1], X.dtype)
        elif not hasattr(self, "_centers64"):
            self._resume()
        k = self.cluster_centers_.shape[0] if not first else self._n_clusters
        with compute_context(), one_thread(self._serial(X.shape[0] * k * X.shape[1])):
            x_sq = row_sq_norms(X)
            if first:
                self._rng = as_generator(self.random_state)
                init = self._init
                self._start(
                    self._on_metric(
                        init.astype(np.float64)
                        if isinstance(init, np.ndarray)
                        else initial_centers(InMemoryBlocks(X, weights, x_sq), k, init, self._rng)
                    )
                )
            loss, _ = self._step(X, weights, x_sq, self._rng)
            self.cluster_centers_ = self._centers64.astype(X.dtype)
            if self.verbose:
                print(f"step {self.n_steps_:6d}  batch loss {loss:.6g}")
            if self.compute_labels:
                self.labels_, _ = assign(X, self.cluster_centers_, x_sq)
                self.inertia_ = self._exact_inertia(X, self.labels_, weights)
        return self

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit, then return the label of every training point."""
        self.fit(X, sample_weight=sample_weight)
        return self.labels_ if self.compute_labels else self.predict(X)
