"""The k-means engine: pure functions on arrays, and the one Lloyd loop everything calls.

The functional API from the course assignment (``compute_sq_dists``, ``associate_centroids``,
``update_centroids``, ``rand_init``, ``k_means``) and the estimator both run on the kernels in
:mod:`kmeanslab._kernels`. Nothing here holds an ``n x k`` matrix for the whole data: passes
work in row chunks, so the extra memory is ``O(chunk * k + slabs * k * d + n)``.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
from threadpoolctl import ThreadpoolController

from . import _kernels
from .validation import (
    as_generator,
    check_choice,
    check_data,
    check_float,
    check_int,
    check_n_clusters,
)

__all__ = [
    "compute_sq_dists",
    "associate_centroids",
    "update_centroids",
    "rand_init",
    "k_means",
    "Layout",
    "row_sq_norms",
    "canonical_keys",
    "canonical_order",
    "assign",
    "cluster_sums",
    "assigned_sq_dists",
    "inertia",
    "feature_moments",
    "mean_feature_variance",
    "lloyd",
    "LloydResult",
    "STOP_RULES",
    "EMPTY_POLICIES",
]

STOP_RULES = ("shift", "loss")
EMPTY_POLICIES = ("relocate", "zeros", "keep")

# Dot products come from a register-tiled numba kernel or from BLAS (see _kernels). Measured on
# MNIST (d=784, 2-core Zen3): the tiled kernel wins up to k≈40 (a BLAS product with few
# columns spends its time packing), BLAS wins beyond; the tiled kernel needs d large enough to
# amortise its per-tile horizontal sums.
_TILED_MAX_K = 40
_TILED_MIN_D = 48
# Tiled kernel: a chunk of rows stays in L2 (512 KiB/core) between the distance and the
# accumulation steps, and each cache block of centres fits in L2 beside it.
_TILED_CHUNK_BYTES = 2**18
_CENTER_BLOCK_BYTES = 3 * 2**16
# BLAS kernel: large chunks amortise the packing of the centres (sgemm on MNIST, k >= 100:
# 50 GFLOP/s per core at 256 rows, 74 at 1024, 75-87 at 2048); each thread's chunk of dot
# products stays within 2 MiB.
_BLAS_CHUNK_BYTES = 2**23
_BLAS_DOTS_BYTES = 2**21
_MIN_CHUNK, _MAX_CHUNK, _MAX_BLAS_CHUNK = 32, 1024, 2048
# Slabs are the unit of parallel work and of partial sums. Their count depends only on the
# problem's shape, so results do not depend on the thread count; their memory is bounded
# (at least _MIN_SLABS of them for load balance, even past the budget).
_SLAB_SUMS_BYTES = 8 * 2**20
_MIN_SLABS, _MAX_SLABS = 16, 64
_CANONICAL_SEED = 0x6B6D65616E73  # fixed: the canonical order must not depend on the user's seed


@dataclass(frozen=True)
class Layout:
    """How a pass splits ``n`` rows: chunks of ``chunk`` rows inside ``n_slabs`` slabs.

    ``use_blas`` picks the source of the dot products (BLAS, or the register-tiled kernel with
    ``center_block`` centres per cache block); both give the same labels up to rounding.
    """

    n: int
    chunk: int
    slab_rows: int
    n_slabs: int
    use_blas: bool = True
    center_block: int = 0

    @classmethod
    def for_shape(cls, n: int, d: int, k: int, itemsize: int) -> Layout:
        use_blas = not (k <= _TILED_MAX_K and d >= _TILED_MIN_D)
        if use_blas:
            target = min(_BLAS_CHUNK_BYTES // max(1, (d + k) * itemsize), _BLAS_DOTS_BYTES // max(1, k * itemsize))
            target = min(_MAX_BLAS_CHUNK, max(_MIN_CHUNK, target))
        else:
            target = min(_MAX_CHUNK, max(_MIN_CHUNK, _TILED_CHUNK_BYTES // max(1, d * itemsize)))
        # Slabs of (nearly) equal size, a whole number of chunks each: with few slabs, one
        # slab more for one thread than for the other is a visible loss.
        slab_budget = max(_MIN_SLABS, _SLAB_SUMS_BYTES // max(1, k * d * 8))
        n_slabs = int(max(1, min(_MAX_SLABS, slab_budget, math.ceil(n / target))))
        per_slab = max(1, round(n / (n_slabs * target)))
        chunk = max(4, math.ceil(n / (n_slabs * per_slab) / 4) * 4)
        slab_rows = per_slab * chunk
        n_slabs = max(1, math.ceil(n / slab_rows))
        block = max(3, _CENTER_BLOCK_BYTES // max(1, d * itemsize)) // 3 * 3
        return cls(
            n=n,
            chunk=chunk,
            slab_rows=slab_rows,
            n_slabs=n_slabs,
            use_blas=use_blas,
            center_block=0 if use_blas else block,
        )


@dataclass(frozen=True)
class CenterArrays:
    """Centres laid out for the kernels of one :class:`Layout` (rebuilt whenever they move).

    ``C`` (k_pad, d) in the data's dtype (the tiled kernel needs k_pad >= 2), ``CT`` its
    transpose for BLAS, ``c_half`` ||c||²/2 in the data's dtype, ``c_sq`` ||c||² in float64,
    ``n3`` the centres the tiled kernel handles three at a time.
    """

    C: np.ndarray
    CT: np.ndarray
    c_half: np.ndarray
    c_sq: np.ndarray
    n3: int

    @classmethod
    def build(cls, centers: np.ndarray, layout: Layout, dtype) -> CenterArrays:
        C = np.ascontiguousarray(centers, dtype=dtype)
        k, d = C.shape
        c64 = C.astype(np.float64)
        c_sq = np.einsum("ij,ij->i", c64, c64)
        c_half = (0.5 * c_sq).astype(dtype)
        if layout.use_blas:
            return cls(C, np.ascontiguousarray(C.T), c_half, c_sq, 0)
        if k == 1:
            C = np.concatenate([C, C])
        k_pad = C.shape[0]
        n3 = k_pad - {0: 0, 1: 4, 2: 2}[k_pad % 3]
        return cls(C, np.empty((d, 1), dtype=dtype), c_half, c_sq, n3)


def rounding_margin(d: int, dtype) -> float:
    """Coefficient of the norm trick's worst-case error: ``|error of d²| <= coef (||x||² + max ||c||²)``.

    A dot product of length d in precision u errs by at most about ``d u ||x|| ||c||``; the
    factor 2 and the constant cover the subtraction and the rounding of ||c||²/2.
    """
    return float((2 * d + 16) * np.finfo(dtype).eps / 2)


def direct_margin(d: int, dtype) -> float:
    """Factor that turns a directly summed squared distance into an upper bound on the true one."""
    return float(1.0 + 2 * (d + 4) * np.finfo(dtype).eps / 2)


_CONTROLLER: ThreadpoolController | None = None


def _controller() -> ThreadpoolController:
    """One threadpoolctl controller for the process: building one scans every loaded library
    (milliseconds), too slow to repeat on each call."""
    global _CONTROLLER
    if _CONTROLLER is None:
        numba.get_num_threads()  # starts numba's threading layer, loading its OpenMP runtime first
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def _n_threads() -> int:
    """Threads for the compiled kernels: numba's setting, capped by any threadpoolctl limit."""
    limit = numba.config.NUMBA_NUM_THREADS
    for lib in _controller().lib_controllers:
        if lib.user_api == "openmp":
            limit = min(limit, int(lib.num_threads))
    return max(1, limit)


@contextlib.contextmanager
def compute_context():
    """Run kernels with our own threads over slabs and single-threaded BLAS inside them.

    BLAS threads inside a parallel loop would oversubscribe the cores. (The BLAS that numba
    calls is SciPy's; :mod:`kmeanslab._kernels` loads it at import so that the limit reaches it.)
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(min(_n_threads(), previous))
    # Slabs are handed out one at a time: on a shared machine a thread that lost its core
    # for a while does not hold the others back. Results do not depend on the scheduling.
    previous_chunk = numba.set_parallel_chunksize(1)
    try:
        with _controller().limit(limits=1, user_api="blas"):
            yield
    finally:
        numba.set_parallel_chunksize(previous_chunk)
        numba.set_num_threads(previous)


# --------------------------------------------------------------------------- primitives


def _as_float(X: Any, name: str = "X") -> np.ndarray:
    return check_data(X, name)


def _centers_like(W: Any, X: np.ndarray, name: str = "W") -> np.ndarray:
    W = check_data(W, name)
    if W.shape[1] != X.shape[1]:
        raise _input_error(
            f"{name} has {W.shape[1]} features but X has {X.shape[1]}; "
            f"expected centroids with one column per feature of X"
        )
    return np.ascontiguousarray(W, dtype=X.dtype)


def _input_error(message: str) -> Exception:
    from .errors import InputError

    return InputError(message)


def row_sq_norms(X: np.ndarray, layout: Layout | None = None) -> np.ndarray:
    """Squared Euclidean norm of every row of X, accumulated in float64."""
    layout = layout or Layout.for_shape(X.shape[0], X.shape[1], 1, X.itemsize)
    out = np.empty(X.shape[0], dtype=np.float64)
    _kernels.row_sq_norms(X, layout.slab_rows, layout.n_slabs, out)
    return out


def canonical_keys(X: np.ndarray) -> np.ndarray:
    """Two fixed random projections of every row, shape (n, 2), in float64.

    Equal rows get equal keys and distinct rows (almost surely) distinct ones, so sorting by
    the keys orders the points by value, whatever their order in X.
    """
    n, d = X.shape
    R = np.random.default_rng(_CANONICAL_SEED).standard_normal((d, 2))
    layout = Layout.for_shape(n, d, 2, X.itemsize)
    out = np.empty((n, 2), dtype=np.float64)
    _kernels.projection_keys(X, R, layout.slab_rows, layout.n_slabs, out)
    return out


def canonical_order(X: np.ndarray) -> np.ndarray:
    """A permutation that sorts the rows of X by value (see :func:`canonical_keys`).

    Random draws made over this order pick the same *points* however the rows are shuffled,
    and a point of weight w is drawn as often as w copies of it: seeding becomes invariant to
    row order and treats a sample weight exactly as a repetition.
    """
    keys = canonical_keys(X)
    return np.lexsort((keys[:, 1], keys[:, 0]))


def compute_sq_dists(X: Any, W: Any) -> np.ndarray:
    """Squared Euclidean distances between the rows of X and of W.

    Computed as ``||x||² + ||w||² − 2 x·w`` with one matrix product and clipped at 0, since
    rounding can make the difference slightly negative for coincident points.

    Parameters
    ----------
    X : array-like of shape (n, d)
    W : array-like of shape (k, d)

    Returns
    -------
    ndarray of shape (n, k)
    """
    X = _as_float(X)
    W = _centers_like(W, X)
    x_sq = np.einsum("ij,ij->i", X, X)[:, None]
    w_sq = np.einsum("ij,ij->i", W, W)[None, :]
    d2 = x_sq + w_sq - 2.0 * (X @ W.T)
    return np.maximum(d2, 0.0, out=d2)


def assign(
    X: np.ndarray,
    centers: np.ndarray,
    x_sq: np.ndarray | None = None,
    layout: Layout | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre (ties to the lowest index) and its squared distance, for every row.

    Expects validated arrays of the same float dtype (see :func:`kmeanslab.validation.check_data`).

    Returns
    -------
    labels : ndarray of int32, shape (n,)
    min_sq_dist : ndarray of float64, shape (n,)
    """
    n, d = X.shape
    k = centers.shape[0]
    layout = layout or Layout.for_shape(n, d, k, X.itemsize)
    if x_sq is None:
        x_sq = row_sq_norms(X, layout)
    labels = np.empty(n, dtype=np.int32)
    min_d2 = np.empty(n, dtype=np.float64)
    with compute_context():
        assign_into(X, CenterArrays.build(centers, layout, X.dtype), x_sq, layout, labels, min_d2)
    return labels, min_d2


def assign_into(X, arrays: CenterArrays, x_sq, layout: Layout, labels, min_d2) -> None:
    """:func:`assign` into given arrays, inside a :func:`compute_context`."""
    _kernels.assign_pass(
        X,
        arrays.C,
        arrays.CT,
        arrays.c_half,
        x_sq,
        layout.chunk,
        layout.slab_rows,
        layout.n_slabs,
        layout.use_blas,
        layout.center_block,
        arrays.n3,
        labels,
        min_d2,
    )


def cluster_sums(
    X: np.ndarray,
    labels: np.ndarray,
    k: int,
    sample_weight: np.ndarray | None = None,
    layout: Layout | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sum of the rows of each cluster and each cluster's total weight (float64)."""
    n, d = X.shape
    layout = layout or Layout.for_shape(n, d, k, X.itemsize)
    sums = np.empty((layout.n_slabs, k, d), dtype=np.float64)
    wsums = np.empty((layout.n_slabs, k), dtype=np.float64)
    labels = np.ascontiguousarray(labels, dtype=np.int32)
    with compute_context():
        _kernels.accumulate(X, labels, _weights_arg(sample_weight), layout.chunk, layout.slab_rows, sums, wsums)
    return sums.sum(axis=0), wsums.sum(axis=0)


_NO_WEIGHTS = np.empty(0, dtype=np.float64)


def _weights_arg(sample_weight: np.ndarray | None) -> np.ndarray:
    """The kernels' form of ``sample_weight``: float64, or an empty array for unit weights."""
    if sample_weight is None:
        return _NO_WEIGHTS
    return np.ascontiguousarray(sample_weight, dtype=np.float64)


def assigned_sq_dists(
    X: np.ndarray, centers: np.ndarray, labels: np.ndarray, layout: Layout | None = None
) -> np.ndarray:
    """Squared distance from each row to its assigned centre, as ``(x − c)²`` in float64.

    Summed directly rather than by the norm trick, so the values reported to users do not
    suffer the trick's cancellation.
    """
    n, d = X.shape
    layout = layout or Layout.for_shape(n, d, centers.shape[0], X.itemsize)
    out = np.empty(n, dtype=np.float64)
    with compute_context():
        _kernels.sq_dist_to_assigned(
            X,
            np.ascontiguousarray(centers, dtype=X.dtype),
            np.ascontiguousarray(labels, dtype=np.int32),
            layout.slab_rows,
            layout.n_slabs,
            out,
        )
    return out


def inertia(
    X: np.ndarray,
    centers: np.ndarray,
    labels: np.ndarray,
    sample_weight: np.ndarray | None = None,
    layout: Layout | None = None,
) -> float:
    """Sum of (weighted) squared distances from each row to its assigned centre.

    Summed directly, per slab and then across slabs in a fixed order, without an n-sized array.
    """
    n, d = X.shape
    layout = layout or Layout.for_shape(n, d, centers.shape[0], X.itemsize)
    partials = np.empty(layout.n_slabs, dtype=np.float64)
    with compute_context():
        _kernels.weighted_sq_dist_sum(
            X,
            np.ascontiguousarray(centers, dtype=X.dtype),
            np.ascontiguousarray(labels, dtype=np.int32),
            _weights_arg(sample_weight),
            layout.slab_rows,
            partials,
        )
    return float(partials.sum())


def feature_moments(X: np.ndarray, sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature (weighted) mean and variance, in two passes over X (per slab, fixed order).

    The second pass sums squared deviations from the first pass's mean, which keeps the
    variance accurate when the mean is large compared to the spread.
    """
    n, d = X.shape
    layout = Layout.for_shape(n, d, 1, X.itemsize)
    w = _weights_arg(sample_weight)
    w_total = float(n if sample_weight is None else sample_weight.sum())
    partials = np.empty((layout.n_slabs, 2, d), dtype=np.float64)
    with compute_context():
        _kernels.feature_sums(X, w, np.zeros(d), layout.slab_rows, partials)
        mean = partials[:, 0].sum(axis=0) / w_total
        _kernels.feature_sums(X, w, mean, layout.slab_rows, partials)
    return mean, partials[:, 1].sum(axis=0) / w_total


def mean_feature_variance(X: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Mean over features of the (weighted) variance of X: the scale of ``tol``."""
    return float(np.mean(feature_moments(X, sample_weight)[1]))


# --------------------------------------------------------------------------- the assignment API


def associate_centroids(X: Any, W: Any) -> tuple[float, np.ndarray]:
    """Assign each point to its nearest centroid.

    Parameters
    ----------
    X : array-like of shape (n, d)
    W : array-like of shape (k, d)

    Returns
    -------
    loss : float
        The mean over points of the squared distance to the nearest centroid.
    assoc : ndarray of shape (n,)
        The index of the nearest centroid; ties go to the lowest index.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(20).reshape(5, 4); c = np.arange(3, 11).reshape(2, 4)
    >>> loss, assoc = associate_centroids(a, c)
    >>> round(loss, 10), assoc.tolist()
    (93.6, [0, 0, 1, 1, 1])
    """
    X = _as_float(X)
    W = _centers_like(W, X)
    labels, min_d2 = assign(X, W)
    return float(min_d2.mean()), labels.astype(np.intp)


def update_centroids(X: Any, k: int, assoc: Any) -> np.ndarray:
    """Mean of the points assigned to each of ``k`` clusters; an empty cluster gets zeros.

    Parameters
    ----------
    X : array-like of shape (n, d)
    k : int
        Number of clusters.
    assoc : array-like of int, shape (n,)
        Cluster index of every point, in ``[0, k)``.

    Returns
    -------
    ndarray of shape (k, d)
    """
    X = _as_float(X)
    k = check_n_clusters(k, name="k")
    labels = np.asarray(assoc)
    if labels.shape != (X.shape[0],) or labels.dtype.kind not in "iu":
        raise _input_error(
            f"assoc has shape {labels.shape} and dtype {labels.dtype}; expected {X.shape[0]} integer cluster indices"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise _input_error(f"assoc has values in [{labels.min()}, {labels.max()}]; expected indices in [0, {k - 1}]")
    sums, counts = cluster_sums(X, labels, k)
    return _means(sums, counts, fallback=np.zeros_like(sums)).astype(X.dtype)


def _means(sums: np.ndarray, wsums: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    out = fallback.astype(np.float64, copy=True)
    nonempty = wsums > 0
    out[nonempty] = sums[nonempty] / wsums[nonempty, None]
    return out


def rand_init(X: Any, k: int, rng: Any = None) -> np.ndarray:
    """``k`` distinct rows of X, drawn without replacement.

    Parameters
    ----------
    X : array-like of shape (n, d)
    k : int
    rng : None, int, numpy Generator or RandomState

    Returns
    -------
    ndarray of shape (k, d)
    """
    from .initialization import random_rows

    X = _as_float(X)
    k = check_n_clusters(k, X.shape[0], name="k")
    return random_rows(X, k, as_generator(rng))


def k_means(X: Any, k: int, max_iters: int = 50, eps: float = 1e-5, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The assignment's k-means: random data points, then associate/update until the loss settles.

    Stops when ``(loss[t-1] - loss[t]) / loss[t] < eps``, checked from the third iteration on
    (``t >= 2``). Empty clusters get a zero centroid, as :func:`update_centroids` specifies.

    Parameters
    ----------
    X : array-like of shape (n, d)
    k : int
    max_iters : int, default=50
    eps : float, default=1e-5
    rng : None, int, numpy Generator or RandomState

    Returns
    -------
    W : ndarray of shape (k, d)
        The final centroids.
    losses : ndarray of shape (n_iterations,)
        The mean squared distance at each iteration.
    """
    X = _as_float(X)
    k = check_n_clusters(k, X.shape[0], name="k")
    max_iters = check_int(max_iters, "max_iters", min_value=1)
    eps = check_float(eps, "eps", min_value=0.0)
    W = rand_init(X, k, rng)
    losses: list[float] = []
    for _ in range(max_iters):
        loss, assoc = associate_centroids(X, W)
        losses.append(loss)
        W = update_centroids(X, k, assoc)
        if loss_converged(losses, eps):
            break
    return W, np.asarray(losses)


def loss_converged(losses: list[float], tol: float) -> bool:
    """The assignment's rule: relative decrease ``(l[t-1] - l[t]) / l[t] < tol``, for ``t >= 2``."""
    t = len(losses) - 1
    if t < 2:
        return False
    previous, current = losses[t - 1], losses[t]
    if current <= 0.0:
        return True  # every point sits on its centre: nothing left to decrease
    return (previous - current) / current < tol


# --------------------------------------------------------------------------- the Lloyd loop


@dataclass
class LloydResult:
    """What one run of the Lloyd loop produced."""

    centers: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int
    loss_history: np.ndarray
    converged: bool
    n_relocated: int = 0
    extra: dict = field(default_factory=dict)


class ClusterSums:
    """Per-cluster sums and weights kept from one step to the next.

    Either recounted from X in Lloyd's order (per slab, then the slabs in order: bit-identical
    whichever algorithm asks), or updated from the points that changed cluster (see
    :func:`kmeanslab._kernels.apply_moves`), which costs far less once few points move. The
    updates carry rounding, so a recount follows whenever more than ``n`` moves have been
    applied since the last one, or one step's moves overflow their buffers (an eighth of the
    points). ``members`` counts the points of positive weight of each cluster, so that a
    cluster that loses its last one gets sums of exactly zero, as a recount would give.
    """

    _MOVES_FRACTION = 8
    _COL_BLOCK = 64

    def __init__(self, X: np.ndarray, k: int, weights: np.ndarray, layout: Layout):
        n, d = X.shape
        self.X, self.k, self.w, self.layout = X, k, weights, layout
        self.sums = np.zeros((k, d))
        self.wsums = np.zeros(k)
        self.members = np.zeros(k, dtype=np.int64)
        self._members_stale = True
        self.move_cap = max(16, -(-layout.slab_rows // self._MOVES_FRACTION))
        self.move_idx = np.empty(layout.n_slabs * self.move_cap, dtype=np.int32)
        self.move_old = np.empty(layout.n_slabs * self.move_cap, dtype=np.int32)
        self._slab_sums: np.ndarray | None = None
        self._slab_wsums: np.ndarray | None = None
        self.since_count = 0

    def slab_buffers(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-slab partial sums for a pass that accumulates (allocated once)."""
        if self._slab_sums is None:
            n_slabs = self.layout.n_slabs
            self._slab_sums = np.empty((n_slabs, self.k, self.X.shape[1]))
            self._slab_wsums = np.empty((n_slabs, self.k))
        return self._slab_sums, self._slab_wsums

    def from_slabs(self) -> None:
        """Take the sums a pass has just accumulated per slab."""
        slab_sums, slab_wsums = self.slab_buffers()
        _kernels.reduce_slabs(slab_sums, slab_wsums, self.sums, self.wsums)
        self._members_stale = True
        self.since_count = 0

    def recount(self, labels: np.ndarray) -> None:
        """Sums of the rows of each cluster, from X, in Lloyd's order."""
        slab_sums, slab_wsums = self.slab_buffers()
        layout = self.layout
        _kernels.accumulate(self.X, labels, self.w, layout.chunk, layout.slab_rows, slab_sums, slab_wsums)
        self.from_slabs()

    def apply(self, labels: np.ndarray, slab_moves: np.ndarray) -> None:
        """Account for the moves a step recorded (``slab_moves[s]`` of them in slab s)."""
        moves = int(slab_moves.sum())
        if moves == 0:
            return
        self.since_count += moves
        if np.any(slab_moves > self.move_cap) or self.since_count > self.X.shape[0]:
            self.recount(labels)
            return
        if self._members_stale:
            positive = labels if self.w.shape[0] == 0 else labels[self.w > 0]
            # The moves are already in ``labels``: count as before them, then apply them.
            self.members[:] = np.bincount(positive, minlength=self.k)
            recorded = np.concatenate(
                [np.arange(s * self.move_cap, s * self.move_cap + c) for s, c in enumerate(slab_moves)]
            ).astype(np.int64)
            idx, old = self.move_idx[recorded], self.move_old[recorded]
            keep = np.ones(len(idx), bool) if self.w.shape[0] == 0 else self.w[idx] > 0
            np.add.at(self.members, labels[idx[keep]], -1)
            np.add.at(self.members, old[keep], 1)
            self._members_stale = False
        _kernels.apply_moves(
            self.X,
            self.w,
            labels,
            self.move_idx,
            self.move_old,
            np.asarray(slab_moves, dtype=np.int64),
            self.move_cap,
            self._COL_BLOCK,
            self.sums,
            self.wsums,
            self.members,
        )
        gone = self.members == 0
        if gone.any():
            self.sums[gone] = 0.0
            self.wsums[gone] = 0.0


class LloydAssigner:
    """Full Lloyd assignment: every distance computed, one fused pass over X per iteration.

    The interface every assigner offers to :func:`lloyd` (the pruning algorithms in
    :mod:`kmeanslab.pruning` implement it too):

    * ``step(centers) -> (labels, sums, wsums)``: assign every row to its nearest centre (ties
      to the lowest index) and return the labels (int32, owned by the assigner), the float64
      per-cluster sums of the (weighted) rows and the clusters' total weights (owned by the
      assigner: read them before the next step);
    * ``n_changed``: how many labels that step changed (every label counts as changed at the
      first step);
    * ``loss_sum``: the weighted sum of squared distances of that assignment to the centres it
      was made with (float64);
    * ``min_sq_dists(centers)``: squared distance of each row to the centre ``step`` gave it,
      as plain Lloyd computes it (used to relocate empty clusters);
    * ``centers_moved(old, new)``: called whenever the centres change between steps;
    * ``final_labels(centers)``: the labels for the final centres;
    * ``name``, ``labels``, ``weights``.

    While many points change cluster the pass also accumulates the cluster sums; once few do
    (under 1/16), it records the moves and the sums are updated from them (:class:`ClusterSums`).
    """

    name = "lloyd"
    _IN_PASS_FRACTION = 16

    def __init__(self, X: np.ndarray, k: int, sample_weight: np.ndarray | None, x_sq: np.ndarray):
        n, d = X.shape
        self.X, self.k, self.weights, self.x_sq = X, k, sample_weight, x_sq
        self._w = _weights_arg(sample_weight)
        self.layout = Layout.for_shape(n, d, k, X.itemsize)
        self.labels = np.full(n, -1, dtype=np.int32)
        self.min_d2 = np.empty(n, dtype=np.float64)
        self.n_changed = n
        self.loss_sum = 0.0
        self.sums = ClusterSums(X, k, self._w, self.layout)
        self._stats = np.empty((self.layout.n_slabs, 2), dtype=np.float64)

    def step(self, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Assign every row to the nearest of ``centers``; return labels, sums and weights."""
        layout, sums = self.layout, self.sums
        n = self.X.shape[0]
        arrays = CenterArrays.build(centers, layout, self.X.dtype)
        in_pass = self.n_changed * self._IN_PASS_FRACTION > n
        slab_sums, slab_wsums = sums.slab_buffers()
        _kernels.dense_pass(
            self.X,
            arrays.C,
            arrays.CT,
            arrays.c_half,
            self.x_sq,
            self._w,
            layout.chunk,
            layout.slab_rows,
            layout.use_blas,
            layout.center_block,
            arrays.n3,
            _kernels.MODE_LLOYD,
            _NO_GROUPS,
            0.0,
            0.0,
            _NO_FLOATS,
            _NO_FLOATS,
            0.0,
            self.labels,
            self.min_d2,
            _NO_BOUNDS,
            _NO_BOUNDS_2D,
            _NO_BOUNDS,
            slab_sums,
            slab_wsums,
            self._stats,
            in_pass,
            sums.move_idx,
            sums.move_old,
            sums.move_cap,
        )
        self.n_changed = int(self._stats[:, 0].sum())
        self.loss_sum = float(self._stats[:, 1].sum())
        if in_pass:
            sums.from_slabs()
        else:
            sums.apply(self.labels, self._stats[:, 0].astype(np.int64))
        return self.labels, sums.sums, sums.wsums

    def min_sq_dists(self, centers: np.ndarray) -> np.ndarray:
        """Exact squared distance of each row to the centre ``step`` assigned it to."""
        return self.min_d2

    def centers_moved(self, old: np.ndarray, new: np.ndarray) -> None:
        """Called after the centres change; full Lloyd keeps no state that depends on them."""

    def final_labels(self, centers: np.ndarray) -> np.ndarray:
        """Labels for ``centers`` without accumulating sums (the loop's last assignment)."""
        assign_into(
            self.X,
            CenterArrays.build(centers, self.layout, self.X.dtype),
            self.x_sq,
            self.layout,
            self.labels,
            self.min_d2,
        )
        return self.labels


# Placeholders for the kernel arguments a mode does not use (one compiled signature for all).
_NO_GROUPS = np.empty(0, dtype=np.int64)
_NO_FLOATS = np.empty(0, dtype=np.float64)
_NO_BOUNDS = np.empty(0, dtype=np.float32)
_NO_BOUNDS_2D = np.empty((0, 1), dtype=np.float32)


def _relocate_empty(
    X: np.ndarray,
    centers: np.ndarray,
    empty: np.ndarray,
    min_d2: np.ndarray,
    sample_weight: np.ndarray | None = None,
) -> int:
    """Move each empty cluster's centre onto a far point, farthest first, each point used once.

    "Far" is the squared distance of a point to the centre it was assigned to. Points already
    on their centre (distance 0) or of zero weight are never used: moving a centre there gains
    nothing, and with only duplicate points left the empty centre stays where it was. Equal
    distances are ordered by the points' canonical keys, so the choice does not depend on the
    order of the rows. Returns how many centres moved.
    """
    n = X.shape[0]
    n_empty = len(empty)
    far = min_d2 if sample_weight is None else np.where(sample_weight > 0, min_d2, 0.0)
    pool = min(n, max(4 * n_empty, n_empty + 16))
    while True:
        candidates = np.argpartition(-far, pool - 1)[:pool] if pool < n else np.arange(n)
        candidates = candidates[far[candidates] > 0.0]
        keys = canonical_keys(np.ascontiguousarray(X[candidates]))
        candidates = candidates[np.lexsort((keys[:, 1], keys[:, 0], -far[candidates]))]
        chosen: list[int] = []
        for idx in candidates:
            if len(chosen) == n_empty:
                break
            if not any(np.array_equal(X[idx], X[c]) for c in chosen):
                chosen.append(int(idx))
        # Duplicates among the candidates can leave us short: widen the pool and look again.
        if len(chosen) == n_empty or pool >= n or len(candidates) < pool:
            break
        pool = min(n, pool * 4)
    for cluster, idx in zip(empty, chosen):
        centers[cluster] = X[idx]
    return len(chosen)


def lloyd(
    X: np.ndarray,
    init_centers: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    max_iter: int = 300,
    tol: float = 1e-4,
    stop: str = "shift",
    empty: str = "relocate",
    algorithm: str = "lloyd",
    x_sq: np.ndarray | None = None,
    verbose: bool = False,
    log: Callable[[str], None] | None = None,
) -> LloydResult:
    """Run Lloyd's algorithm from ``init_centers`` until a stop rule holds or ``max_iter``.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32 or float64, C-ordered
        Validated data (see :func:`kmeanslab.validation.check_data`).
    init_centers : ndarray of shape (k, d)
    sample_weight : ndarray of shape (n,), optional
    max_iter : int
    tol : float
        With ``stop="shift"``: the bound on the total squared centre shift, already scaled
        (the estimator multiplies its ``tol`` by the mean feature variance, as scikit-learn).
        With ``stop="loss"``: the bound on the relative decrease of the loss.
    stop : {"shift", "loss"}
    empty : {"relocate", "zeros", "keep"}
        What happens to the centre of a cluster that lost all its points.
    algorithm : {"lloyd", "hamerly", "elkan", "yinyang", "auto"}
        How assignments are computed; every algorithm gives Lloyd's result.
    x_sq : ndarray of shape (n,), optional
        Precomputed squared row norms (float64).
    verbose : bool
        Report the loss at every iteration through ``log`` (default: print).

    Returns
    -------
    LloydResult
        Also stops early (strict convergence) when an iteration changes no label.
    """
    n, d = X.shape
    k = init_centers.shape[0]
    log = log or print
    if x_sq is None:
        x_sq = row_sq_norms(X)
    assigner = make_assigner(algorithm, X, k, sample_weight, x_sq)
    total_weight = float(n if sample_weight is None else sample_weight.sum())
    centers = np.array(init_centers, dtype=np.float64, order="C")
    losses: list[float] = []
    converged = strict = False
    n_relocated = 0
    n_iter = 0
    with compute_context():
        for n_iter in range(1, max_iter + 1):
            centers_x = centers.astype(X.dtype, copy=False)
            labels, sums, wsums = assigner.step(centers_x)
            loss = assigner.loss_sum / total_weight
            losses.append(loss)
            new_centers, moved = _m_step(X, centers, sums, wsums, empty, assigner)
            n_relocated += moved
            shift = float(np.sum((new_centers - centers) ** 2))
            if verbose:
                log(f"iteration {n_iter:4d}  loss {loss:.10g}  shift {shift:.4g}")
            if moved == 0 and assigner.n_changed == 0:
                # No label changed, so the sums and the centres did not change either.
                centers = new_centers
                converged = strict = True
                break
            assigner.centers_moved(centers_x, new_centers.astype(X.dtype, copy=False))
            centers = new_centers
            if stop == "shift" and shift <= tol:
                converged = True
                break
            if stop == "loss" and loss_converged(losses, tol):
                converged = True
                break
        centers_x = centers.astype(X.dtype)
        if strict:
            labels = assigner.labels
        else:
            # The last update moved the centres: label the points by the final centres.
            labels = assigner.final_labels(centers_x)
        final_inertia = inertia(X, centers_x, labels, sample_weight)
    if verbose:
        state = "converged" if converged else "stopped at max_iter"
        log(f"{state} after {n_iter} iterations, inertia {final_inertia:.10g}")
    return LloydResult(
        centers=centers_x,
        labels=labels,
        inertia=final_inertia,
        n_iter=n_iter,
        loss_history=np.asarray(losses),
        converged=converged,
        n_relocated=n_relocated,
        extra={"algorithm": assigner.name},
    )


def _m_step(X, centers, sums, wsums, empty, assigner) -> tuple[np.ndarray, int]:
    """New centres from the sums, and the empty-cluster policy applied."""
    fallback = np.zeros_like(centers) if empty == "zeros" else centers
    new_centers = _means(sums, wsums, fallback)
    empties = np.flatnonzero(wsums <= 0)
    moved = 0
    if empty == "relocate" and len(empties):
        min_d2 = assigner.min_sq_dists(centers.astype(X.dtype, copy=False))
        moved = _relocate_empty(X, new_centers, empties, min_d2, assigner.weights)
    return new_centers, moved


_ASSIGNERS: dict[str, Callable[..., Any]] = {"lloyd": LloydAssigner}
ALGORITHMS = ("auto", "lloyd", "hamerly", "elkan", "yinyang")


def register_assigner(name: str, factory: Callable[..., Any]) -> None:
    """Make an assignment algorithm available to :func:`lloyd` under ``name``."""
    _ASSIGNERS[name] = factory


# Elkan's n x k float32 bounds are allowed up to this size (and never beyond the size of X).
_ELKAN_BOUND_BYTES = 256 * 2**20


def choose_algorithm(n: int, d: int, k: int, itemsize: int = 8) -> str:
    """The algorithm ``"auto"`` runs for a problem of this shape.

    Measured on MNIST-60k-shift (d = 784) and on Gaussian blobs (d = 32): with few clusters or
    few points, plain Lloyd (bounds cost more than they save); for high-dimensional data, Elkan
    when its n x k bounds fit in memory (it computes by far the fewest distances); otherwise
    Hamerly for small k and Yinyang for large k.
    """
    _load_pruning()
    if k < 3 or n < 64 * k or n < 2048:
        return "lloyd"
    elkan_bytes = 4 * n * k
    if k >= 32 and elkan_bytes <= min(_ELKAN_BOUND_BYTES, n * d * itemsize):
        return "elkan"
    return "yinyang" if k >= 64 else "hamerly"


def _load_pruning() -> None:
    from . import pruning  # noqa: F401  (registers hamerly, elkan and yinyang)


def make_assigner(algorithm: str, X: np.ndarray, k: int, sample_weight, x_sq):
    """Build the assigner for ``algorithm`` (``"auto"`` picks one from the problem's shape)."""
    check_choice(algorithm, "algorithm", ALGORITHMS)
    if algorithm == "auto":
        algorithm = choose_algorithm(X.shape[0], X.shape[1], k, X.itemsize)
    elif algorithm != "lloyd":
        _load_pruning()
    if algorithm not in _ASSIGNERS:
        warnings.warn(f"algorithm={algorithm!r} is not available; running 'lloyd'", stacklevel=3)
        algorithm = "lloyd"
    return _ASSIGNERS[algorithm](X, k, sample_weight, x_sq)
