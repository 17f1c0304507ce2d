"""The bottom of the engine: how a pass splits the rows, centre arrays, and the primitives on arrays.

Everything here works on validated arrays (see :func:`kmeanslab.validation.check_data`) through
the compiled kernels of :mod:`kmeanslab._kernels`; nothing holds an ``n x k`` matrix for the
whole data: passes work in row chunks, so the extra memory is ``O(chunk * k + slabs * k * d + n)``.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numba
import numpy as np
from threadpoolctl import ThreadpoolController

from . import _kernels
from ._kernels.small import SMALL_WORK
from .validation import is_sparse

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
    ``small`` problems (``n * k * d`` at most :data:`kmeanslab._kernels.small.SMALL_WORK`) run
    the kernels' NumPy twins instead of compiling the kernels: decided from the shape alone.
    """

    n: int
    chunk: int
    slab_rows: int
    n_slabs: int
    use_blas: bool = True
    center_block: int = 0
    small: bool = False

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
            small=n * k * d <= SMALL_WORK,
        )


@dataclass(frozen=True)
class CenterArrays:
    """Centres laid out for the kernels of one :class:`Layout` (rebuilt whenever they move).

    ``C`` (k_pad, d) in the data's dtype (for the tiled kernel, k_pad is k rounded up to a multiple of 3), ``c_half``
    ||c||²/2 in the data's dtype, ``c_sq`` ||c||² in float64. The source of the dot products
    is told by which of ``CT`` and ``tiles`` is None (numba then compiles only that one):
    ``CT`` the transpose of ``C`` for BLAS, or ``tiles`` (``C`` itself) for the register-tiled
    kernel, which handles the ``n_in_3tiles`` (= k_pad) centres three at a time.
    """

    C: np.ndarray
    CT: np.ndarray | None
    c_half: np.ndarray
    c_sq: np.ndarray
    n_in_3tiles: int
    tiles: np.ndarray | None = None

    @classmethod
    def build(cls, centers: np.ndarray, layout: Layout, dtype) -> CenterArrays:
        C = np.ascontiguousarray(centers, dtype=dtype)
        k, d = C.shape
        c64 = C.astype(np.float64)
        c_sq = np.einsum("ij,ij->i", c64, c64)
        c_half = (0.5 * c_sq).astype(dtype)
        if layout.use_blas:
            return cls(C, np.ascontiguousarray(C.T), c_half, c_sq, 0)
        # One tile shape (4 rows x 3 centres) for every k: the centres are padded with zero rows
        # to a multiple of 3, whose dot products no kernel reads. A second, narrower tile for the
        # last one or two centres would be barely faster and would cost a second tile kernel to
        # compile on a cold start (0.8 s of CPU time on MNIST).
        k_pad = -(-k // 3) * 3
        if k_pad > k:
            C = np.concatenate([C, np.zeros((k_pad - k, d), dtype=C.dtype)])
        return cls(C, None, c_half, c_sq, k_pad, C)


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

    BLAS threads inside the kernels' threads would oversubscribe the cores. (The BLAS that numba
    calls is SciPy's; :mod:`kmeanslab._kernels` loads it at import so that the limit reaches it.)
    The kernels' threads are numba's thread count (see :func:`kmeanslab._kernels.run`).
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(min(_n_threads(), previous))
    # numba's own parallel loops (the metrics' kernels) hand out their iterations one at a
    # time: on a shared machine a thread that lost its core for a while does not hold the
    # others back (kmeanslab._kernels.run does the same for the engine's kernels). Results do
    # not depend on the scheduling.
    previous_chunk = numba.set_parallel_chunksize(1)
    try:
        with _controller().limit(limits=1, user_api="blas"):
            yield
    finally:
        numba.set_parallel_chunksize(previous_chunk)
        numba.set_num_threads(previous)


@contextlib.contextmanager
def one_thread(serial: bool):
    """With ``serial``, run the enclosed kernels on the calling thread only (same slabs, same
    results): for work too small to be worth waking other threads for."""
    if not serial:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def row_sq_norms(X: np.ndarray, layout: Layout | None = None) -> np.ndarray:
    """Squared Euclidean norm of every row of X, accumulated in float64."""
    if is_sparse(X):
        return sparse_row_sq_norms(X)
    layout = layout or Layout.for_shape(X.shape[0], X.shape[1], 1, X.itemsize)
    out = np.empty(X.shape[0], dtype=np.float64)
    _kernels.run(_kernels.rows.row_sq_norms, layout.n_slabs, X, layout.slab_rows, out, small=layout.small)
    return out


def canonical_keys(X: np.ndarray) -> np.ndarray:
    """Two fixed random projections of every row, shape (n, 2), in float64.

    Equal rows get equal keys and distinct rows (almost surely) distinct ones, so sorting by
    the keys orders the points by value, whatever their order in X.
    """
    n, d = X.shape
    R = np.random.default_rng(_CANONICAL_SEED).standard_normal((d, 2))
    if is_sparse(X):
        # Each row's stored entries in column order (canonical CSR): equal rows, equal keys.
        return np.ascontiguousarray(X @ R, dtype=np.float64)
    layout = Layout.for_shape(n, d, 2, X.itemsize)
    out = np.empty((n, 2), dtype=np.float64)
    _kernels.run(_kernels.rows.projection_keys, layout.n_slabs, X, R, layout.slab_rows, out, small=layout.small)
    return out


def canonical_order(X: np.ndarray) -> np.ndarray:
    """A permutation that sorts the rows of X by value (see :func:`canonical_keys`).

    Random draws made over this order pick the same *points* however the rows are shuffled,
    and a point of weight w is drawn as often as w copies of it: seeding becomes invariant to
    row order and treats a sample weight exactly as a repetition.
    """
    keys = canonical_keys(X)
    return np.lexsort((keys[:, 1], keys[:, 0]))


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
    if is_sparse(X):
        return sparse_assign(X, centers, x_sq)
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
    _kernels.run(
        _kernels.lloyd.assign_pass,
        layout.n_slabs,
        X,
        arrays.C,
        arrays.CT,
        arrays.c_half,
        arrays.n_in_3tiles,
        x_sq,
        layout.chunk,
        layout.slab_rows,
        arrays.tiles,
        layout.center_block,
        labels,
        min_d2,
        small=layout.small,
    )


def cluster_sums(
    X: np.ndarray,
    labels: np.ndarray,
    k: int,
    sample_weight: np.ndarray | None = None,
    layout: Layout | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sum of the rows of each cluster and each cluster's total weight (float64)."""
    if is_sparse(X):
        return sparse_cluster_sums(X, labels, k, sample_weight)
    n, d = X.shape
    layout = layout or Layout.for_shape(n, d, k, X.itemsize)
    sums = np.empty((layout.n_slabs, k, d), dtype=np.float64)
    wsums = np.empty((layout.n_slabs, k), dtype=np.float64)
    labels = np.ascontiguousarray(labels, dtype=np.int32)
    with compute_context():
        _kernels.run(
            _kernels.sums.accumulate,
            layout.n_slabs,
            X,
            labels,
            _weights_arg(sample_weight),
            layout.chunk,
            layout.slab_rows,
            sums,
            wsums,
            small=layout.small,
        )
    return sums.sum(axis=0), wsums.sum(axis=0)


def _weights_arg(sample_weight: np.ndarray | None) -> np.ndarray | None:
    """The kernels' form of ``sample_weight``: float64, or None for unit weights (numba then
    compiles the kernels without their weighted branches)."""
    if sample_weight is None:
        return None
    return np.ascontiguousarray(sample_weight, dtype=np.float64)


def assigned_sq_dists(
    X: np.ndarray, centers: np.ndarray, labels: np.ndarray, layout: Layout | None = None
) -> np.ndarray:
    """Squared distance from each row to its assigned centre, as ``(x − c)²`` in float64.

    Summed directly rather than by the norm trick, so the values reported to users do not
    suffer the trick's cancellation.
    """
    if is_sparse(X):
        return sparse_assigned_sq_dists(X, centers, labels)
    n, d = X.shape
    layout = layout or Layout.for_shape(n, d, centers.shape[0], X.itemsize)
    out = np.empty(n, dtype=np.float64)
    with compute_context():
        _kernels.run(
            _kernels.rows.sq_dist_to_assigned,
            layout.n_slabs,
            X,
            np.ascontiguousarray(centers, dtype=X.dtype),
            np.ascontiguousarray(labels, dtype=np.int32),
            layout.slab_rows,
            out,
            small=layout.small,
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
    if is_sparse(X):
        d2 = sparse_assigned_sq_dists(X, centers, labels)
        return float(d2.sum() if sample_weight is None else np.dot(sample_weight, d2))
    n, d = X.shape
    layout = layout or Layout.for_shape(n, d, centers.shape[0], X.itemsize)
    partials = np.empty(layout.n_slabs, dtype=np.float64)
    with compute_context():
        _kernels.run(
            _kernels.rows.weighted_sq_dist_sum,
            layout.n_slabs,
            X,
            np.ascontiguousarray(centers, dtype=X.dtype),
            np.ascontiguousarray(labels, dtype=np.int32),
            _weights_arg(sample_weight),
            layout.slab_rows,
            partials,
            small=layout.small,
        )
    return float(partials.sum())


def feature_moments(X: np.ndarray, sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature (weighted) mean and variance, in two passes over X (per slab, fixed order).

    The second pass sums squared deviations from the first pass's mean, which keeps the
    variance accurate when the mean is large compared to the spread.
    """
    if is_sparse(X):
        return sparse_feature_moments(X, sample_weight)
    n, d = X.shape
    layout = Layout.for_shape(n, d, 1, X.itemsize)
    w = _weights_arg(sample_weight)
    w_total = float(n if sample_weight is None else sample_weight.sum())
    partials = np.empty((layout.n_slabs, 2, d), dtype=np.float64)
    with compute_context():
        _kernels.run(
            _kernels.rows.feature_sums,
            layout.n_slabs,
            X,
            w,
            np.zeros(d),
            layout.slab_rows,
            partials,
            small=layout.small,
        )
        mean = partials[:, 0].sum(axis=0) / w_total
        _kernels.run(
            _kernels.rows.feature_sums, layout.n_slabs, X, w, mean, layout.slab_rows, partials, small=layout.small
        )
    return mean, partials[:, 1].sum(axis=0) / w_total


def mean_feature_variance(X: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Mean over features of the (weighted) variance of X: the scale of ``tol``."""
    return float(np.mean(feature_moments(X, sample_weight)[1]))


def _means(sums: np.ndarray, wsums: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    # Without k x d temporaries (k x d passes cost on sparse data): the divisions in place, and
    # only the empty clusters' rows taken from ``fallback``.
    nonempty = wsums > 0
    out = np.empty(sums.shape, dtype=np.float64)
    np.divide(sums, wsums[:, None], out=out, where=nonempty[:, None])
    empty = np.flatnonzero(~nonempty)
    if len(empty):
        out[empty] = fallback[empty]
    return out


# --------------------------------------------------------------------------- sparse X
# Canonical CSR X (see kmeanslab.validation.check_sparse) with dense centres. The functions
# above hand a sparse X to these; X is never densified: each pass reads the stored entries.

#: Rows per slab of a sparse pass (fixed, so results do not depend on the number of threads).
SPARSE_SLAB_ROWS = 2048


def _csr(X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return X.data, X.indices, X.indptr


def sparse_slab_count(X) -> int:
    """Slabs of :data:`SPARSE_SLAB_ROWS` rows in a sparse X (the kernels' units of work)."""
    return max(1, -(-X.shape[0] // SPARSE_SLAB_ROWS))


def sparse_center_arrays(centers: np.ndarray, CT: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(CT, c_sq)``: the centres transposed, (d, k) float64 (into ``CT`` when given), and their
    squared norms in float64."""
    k, d = centers.shape
    if CT is None:
        CT = np.empty((d, k), dtype=np.float64)
    _kernels.run(_kernels.sparse.transpose_into, -(-k // 32), np.ascontiguousarray(centers), CT)
    c = np.asarray(centers, dtype=np.float64)
    # The norms summed as scikit-learn's row_norms sums them: a rounding of difference in a norm
    # can break a near-tie the other way, and the labels are to equal scikit-learn's.
    return CT, np.einsum("ij,ij->i", c, c)


def sparse_row_sq_norms(X) -> np.ndarray:
    """Squared norm of every row of a sparse X, in float64."""
    out = np.empty(X.shape[0], dtype=np.float64)
    _kernels.run(_kernels.sparse.row_sq_norms, sparse_slab_count(X), X.data, X.indptr, SPARSE_SLAB_ROWS, out)
    return out


def sparse_assign_into(X, CT, c_sq, x_sq, weights, labels, min_d2) -> tuple[int, float]:
    """Label every row of a sparse X (see ``_kernels.sparse.assign_pass``); returns (changed, loss)."""
    stats = np.empty((sparse_slab_count(X), 2), dtype=np.float64)
    _kernels.run(
        _kernels.sparse.assign_pass,
        sparse_slab_count(X),
        *_csr(X),
        CT,
        c_sq,
        x_sq,
        _weights_arg(weights),
        SPARSE_SLAB_ROWS,
        labels,
        min_d2,
        stats,
    )
    return int(stats[:, 0].sum()), float(stats[:, 1].sum())


def sparse_assign(X, centers: np.ndarray, x_sq: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`assign` for a sparse X: nearest centre (ties to the lowest index) and its squared distance."""
    x_sq = sparse_row_sq_norms(X) if x_sq is None else x_sq
    labels = np.zeros(X.shape[0], dtype=np.int32)
    min_d2 = np.empty(X.shape[0], dtype=np.float64)
    CT, c_sq = sparse_center_arrays(centers)
    with compute_context():
        sparse_assign_into(X, CT, c_sq, x_sq, None, labels, min_d2)
    return labels, min_d2


def sparse_sq_distances(X, centers: np.ndarray, x_sq: np.ndarray | None = None) -> np.ndarray:
    """Squared distance of every row of a sparse X to every centre, (n, k) float64, by the norm trick."""
    x_sq = sparse_row_sq_norms(X) if x_sq is None else x_sq
    CT, c_sq = sparse_center_arrays(centers)
    out = np.empty((X.shape[0], CT.shape[1]), dtype=np.float64)
    with compute_context():
        _kernels.run(
            _kernels.sparse.distances_pass, sparse_slab_count(X), *_csr(X), CT, c_sq, x_sq, SPARSE_SLAB_ROWS, out
        )
    return out


def sparse_cluster_sums_into(X, labels: np.ndarray, weights, sums: np.ndarray, wsums: np.ndarray) -> None:
    """Per-cluster weighted sums of the rows of a sparse X into (k, d) ``sums`` and (k,) ``wsums``."""
    k = sums.shape[0]
    # Two blocks of clusters per thread at most: each block reads all the labels.
    block = max(1, -(-k // (2 * _kernels.threads())))
    _kernels.run(
        _kernels.sparse.cluster_sums,
        -(-k // block),
        *_csr(X),
        np.ascontiguousarray(labels, dtype=np.int32),
        _weights_arg(weights),
        block,
        sums,
        wsums,
    )


def sparse_cluster_sums(X, labels, k: int, sample_weight=None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cluster_sums` for a sparse X."""
    sums = np.empty((k, X.shape[1]), dtype=np.float64)
    wsums = np.empty(k, dtype=np.float64)
    sparse_cluster_sums_into(X, labels, sample_weight, sums, wsums)
    return sums, wsums


def sparse_assigned_sq_dists(X, centers: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Squared distance of every row of a sparse X to its assigned centre, summed directly."""
    C = np.ascontiguousarray(centers, dtype=np.float64)
    c_sq = np.einsum("ij,ij->i", C, C)
    out = np.empty(X.shape[0], dtype=np.float64)
    with compute_context():
        _kernels.run(
            _kernels.sparse.sq_dist_to_assigned,
            sparse_slab_count(X),
            *_csr(X),
            C,
            c_sq,
            np.ascontiguousarray(labels, dtype=np.int32),
            SPARSE_SLAB_ROWS,
            out,
        )
    return out


def sparse_feature_moments(X, sample_weight=None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`feature_moments` for a sparse X: two passes over the stored entries."""
    d = X.shape[1]
    w = _weights_arg(sample_weight)
    w_total = float(X.shape[0] if sample_weight is None else sample_weight.sum())
    out = np.empty((2, d), dtype=np.float64)
    _kernels.sparse.feature_sums(*_csr(X), w, np.zeros(d), d, out)
    mean = out[0] / w_total
    _kernels.sparse.feature_sums(*_csr(X), w, mean, d, out)
    return mean, np.maximum(out[1], 0.0) / w_total
