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
from dataclasses import dataclass, field
from typing import Any, Callable

import numba
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from . import _kernels
from .validation import (
    as_generator,
    check_choice,
    check_data,
    check_float,
    check_int,
    check_n_clusters,
    iter_row_chunks,
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

# Rows per chunk: the chunk of X and its dot products stay in the 512 KiB L2 between the
# distance step and the accumulation step (measured on MNIST, d=784: 256 rows is the knee).
_CHUNK_BYTES = 2**19
_MIN_CHUNK, _MAX_CHUNK = 32, 1024
# Slabs are the unit of parallel work and of partial sums. Their count depends only on the
# problem's shape, so results do not depend on the thread count; their memory is bounded.
_SLAB_SUMS_BYTES = 32 * 2**20
_MAX_SLABS = 64
_CANONICAL_SEED = 0x6B6D65616E73  # fixed: the canonical order must not depend on the user's seed


@dataclass(frozen=True)
class Layout:
    """How a pass splits ``n`` rows: chunks of ``chunk`` rows inside ``n_slabs`` slabs."""

    n: int
    chunk: int
    slab_rows: int
    n_slabs: int

    @classmethod
    def for_shape(cls, n: int, d: int, k: int, itemsize: int) -> "Layout":
        chunk = _CHUNK_BYTES // max(1, d * itemsize + k * itemsize)
        chunk = int(min(_MAX_CHUNK, max(_MIN_CHUNK, chunk)))
        chunk = min(chunk, max(1, n))
        n_chunks = math.ceil(n / chunk)
        slab_budget = max(1, _SLAB_SUMS_BYTES // max(1, k * d * 8))
        n_slabs = int(max(1, min(n_chunks, _MAX_SLABS, slab_budget)))
        slab_rows = math.ceil(n_chunks / n_slabs) * chunk
        n_slabs = math.ceil(n / slab_rows) if n else 1
        return cls(n=n, chunk=chunk, slab_rows=slab_rows, n_slabs=max(1, n_slabs))


def _n_threads() -> int:
    """Threads for the compiled kernels: numba's setting, capped by any threadpoolctl limit."""
    limit = numba.config.NUMBA_NUM_THREADS
    for info in threadpool_info():
        if info.get("user_api") == "openmp":
            limit = min(limit, int(info.get("num_threads", limit)))
    return max(1, limit)


@contextlib.contextmanager
def compute_context():
    """Run kernels with our own threads over slabs and single-threaded BLAS inside them.

    BLAS threads inside a parallel loop would oversubscribe the cores.
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(min(_n_threads(), previous))
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
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
    centers_t = np.ascontiguousarray(centers.T, dtype=X.dtype)
    c_sq = np.einsum("ij,ij->i", centers, centers).astype(X.dtype)
    labels = np.empty(n, dtype=np.int32)
    min_d2 = np.empty(n, dtype=np.float64)
    with compute_context():
        _kernels.assign_all(
            X, centers_t, c_sq, x_sq, layout.chunk, layout.slab_rows, layout.n_slabs, labels, min_d2
        )
    return labels, min_d2


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
        _kernels.accumulate(X, labels, sample_weight, layout.slab_rows, sums, wsums)
    return sums.sum(axis=0), wsums.sum(axis=0)


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
            X, np.ascontiguousarray(centers, dtype=X.dtype), np.ascontiguousarray(labels, dtype=np.int32),
            layout.slab_rows, layout.n_slabs, out,
        )
    return out


def inertia(
    X: np.ndarray,
    centers: np.ndarray,
    labels: np.ndarray,
    sample_weight: np.ndarray | None = None,
    layout: Layout | None = None,
) -> float:
    """Sum of (weighted) squared distances from each row to its assigned centre."""
    d2 = assigned_sq_dists(X, centers, labels, layout)
    return float(d2.sum() if sample_weight is None else np.dot(sample_weight, d2))


def feature_moments(
    X: np.ndarray, sample_weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature (weighted) mean and variance, in two chunked passes without copying X."""
    n, d = X.shape
    rows = max(1, (8 * 2**20) // max(1, d * 8))
    w_total = float(n if sample_weight is None else sample_weight.sum())
    total = np.zeros(d, dtype=np.float64)
    for a, b in iter_row_chunks(n, rows):
        part = X[a:b].astype(np.float64)
        total += part.sum(axis=0) if sample_weight is None else sample_weight[a:b] @ part
    mean = total / w_total
    sq = np.zeros(d, dtype=np.float64)
    for a, b in iter_row_chunks(n, rows):
        diff = X[a:b].astype(np.float64) - mean
        diff *= diff
        sq += diff.sum(axis=0) if sample_weight is None else sample_weight[a:b] @ diff
    return mean, sq / w_total


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
            f"assoc has shape {labels.shape} and dtype {labels.dtype}; "
            f"expected {X.shape[0]} integer cluster indices"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise _input_error(
            f"assoc has values in [{labels.min()}, {labels.max()}]; expected indices in [0, {k - 1}]"
        )
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


def k_means(
    X: Any, k: int, max_iters: int = 50, eps: float = 1e-5, rng: Any = None
) -> tuple[np.ndarray, np.ndarray]:
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
    for t in range(max_iters):
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


class LloydAssigner:
    """Full Lloyd assignment: every distance computed, one fused pass over X per iteration.

    The pruning algorithms in :mod:`kmeanslab.pruning` implement the same three methods.
    """

    name = "lloyd"

    def __init__(self, X: np.ndarray, k: int, sample_weight: np.ndarray | None, x_sq: np.ndarray):
        n, d = X.shape
        self.X, self.k, self.weights, self.x_sq = X, k, sample_weight, x_sq
        self.layout = Layout.for_shape(n, d, k, X.itemsize)
        self.labels = np.empty(n, dtype=np.int32)
        self.min_d2 = np.empty(n, dtype=np.float64)
        self._sums = np.empty((self.layout.n_slabs, k, d), dtype=np.float64)
        self._wsums = np.empty((self.layout.n_slabs, k), dtype=np.float64)

    def step(self, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Assign every row to the nearest of ``centers``; return labels, sums and weights."""
        layout = self.layout
        centers_t = np.ascontiguousarray(centers.T, dtype=self.X.dtype)
        c_sq = np.einsum("ij,ij->i", centers, centers).astype(self.X.dtype)
        _kernels.lloyd_pass(
            self.X, centers_t, c_sq, self.x_sq, self.weights, layout.chunk, layout.slab_rows,
            self.labels, self.min_d2, self._sums, self._wsums,
        )
        return self.labels, self._sums.sum(axis=0), self._wsums.sum(axis=0)

    def min_sq_dists(self, centers: np.ndarray) -> np.ndarray:
        """Exact squared distance of each row to the centre ``step`` assigned it to."""
        return self.min_d2

    def centers_moved(self, old: np.ndarray, new: np.ndarray) -> None:
        """Called after the centres change; full Lloyd keeps no state that depends on them."""


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
    previous_labels = np.full(n, -1, dtype=np.int32)
    losses: list[float] = []
    converged = strict = False
    n_relocated = 0
    n_iter = 0
    with compute_context():
        for n_iter in range(1, max_iter + 1):
            centers_x = centers.astype(X.dtype, copy=False)
            labels, sums, wsums = assigner.step(centers_x)
            loss = _loss_from_sums(assigner, centers, sums, wsums, total_weight)
            losses.append(loss)
            new_centers, moved = _m_step(X, centers, sums, wsums, empty, assigner)
            n_relocated += moved
            shift = float(np.sum((new_centers - centers) ** 2))
            assigner.centers_moved(centers_x, new_centers.astype(X.dtype, copy=False))
            centers = new_centers
            if verbose:
                log(f"iteration {n_iter:4d}  loss {loss:.10g}  shift {shift:.4g}")
            if moved == 0 and np.array_equal(labels, previous_labels):
                converged = strict = True
                break
            if stop == "shift" and shift <= tol:
                converged = True
                break
            if stop == "loss" and loss_converged(losses, tol):
                converged = True
                break
            previous_labels[:] = labels
        centers_x = centers.astype(X.dtype)
        if strict:
            labels = assigner.labels.copy()
        else:
            # The last update moved the centres: label the points by the final centres.
            labels, _ = assign(X, centers_x, x_sq)
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


def _loss_from_sums(assigner, centers, sums, wsums, total_weight) -> float:
    """Mean squared distance of this iteration's assignment to the centres it was made with.

    Lloyd's pass has every distance at hand; the pruning algorithms use the identity
    ``sum w||x - c||² = sum w||x||² - 2 c·S + W||c||²`` on the cluster sums instead.
    """
    if isinstance(assigner, LloydAssigner):
        d2 = assigner.min_d2
        total = d2.sum() if assigner.weights is None else np.dot(assigner.weights, d2)
        return float(total / total_weight)
    return float(assigner.loss(centers, sums, wsums) / total_weight)


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


def choose_algorithm(n: int, d: int, k: int) -> str:
    """The algorithm ``"auto"`` runs for a problem of this shape."""
    for name in ("yinyang", "hamerly"):
        if name not in _ASSIGNERS:
            return "lloyd"
    return "yinyang" if k >= 64 else "hamerly"


def make_assigner(algorithm: str, X: np.ndarray, k: int, sample_weight, x_sq):
    """Build the assigner for ``algorithm`` (``"auto"`` picks one from the problem's shape)."""
    check_choice(algorithm, "algorithm", ALGORITHMS)
    if algorithm == "auto":
        algorithm = choose_algorithm(X.shape[0], X.shape[1], k)
    if algorithm not in _ASSIGNERS:
        warnings.warn(f"algorithm={algorithm!r} is not available; running 'lloyd'", stacklevel=3)
        algorithm = "lloyd"
    return _ASSIGNERS[algorithm](X, k, sample_weight, x_sq)
