"""Compiled kernels of the exact silhouette: per-cluster sums of distances, tile pair by tile pair.

The rows are visited in an order sorted by cluster (``order``), cut into tiles of ``tile_rows``
consecutive rows, so that each tile holds a few runs of one cluster each. For a pair of tiles
(I, J) the kernel gathers the two tiles' rows (shifted and divided, see below), takes their dot
products with one BLAS product, turns them into distances in place, and adds

* to each row of I, the sum of its distances to each cluster's run of rows in J, and
* to each row of J, the sum of its distances to each cluster's run of rows in I,

so every distance is computed once (the matrix is symmetric) and never more than one tile pair
of them exists per thread: memory ``O(threads * tile_rows * (tile_rows + d) + n * k)``, never
``n x n``.

Pairs are scheduled in one of two ways, both without locks, and neither lets the result depend
on the number of threads:

* in *groups* (:func:`grouped_distance_sums`), when a few copies of the ``n x k`` sums fit in a
  small budget: the caller deals the pairs into a fixed number of groups, each group adds its
  pairs in a fixed order into its own copy, and the copies are added up in group order. No
  thread waits for another until the end (on a busy machine a thread that loses its core
  holds the others back at every barrier: 7% less wall time than the rounds on 30000 MNIST
  rows, load 2-5);
* in *rounds* of disjoint pairs (a round-robin tournament, :func:`cluster_distance_sums`) when
  they do not: within a round no two pairs touch the same tile, so the rounds' pairs run in
  parallel on the one copy, and each row's sums are added up in the order of the rounds.

Rows are transformed as they are gathered: ``(x - shift) / divisor[row]``. The Euclidean distance
uses ``divisor`` = 1 and a ``shift`` per feature (distances do not change under a common shift):
the mean, so that the norm trick loses less to cancellation on data far from the origin, 0 for a
feature that is mostly zeros, and the value of a constant feature. The cosine distance uses
``shift`` = 0 and ``divisor`` = ||x|| (1 for a zero row, which stays zero, as scikit-learn's
``normalize``). Dividing rather than multiplying by ``1 / ||x||`` is what ``normalize`` does:
one-feature rows become exactly ±1, so their distances are exactly 0 or 2, as scikit-learn's.

A feature that is at its shift in every row of a tile (a zero once shifted) adds nothing to the
dot products with that tile, so each pair multiplies only the features that both of its tiles
have (their *supports*, :func:`tile_supports`), gathered as runs of consecutive features so that
each run is copied with vector loads. On sparse data such as MNIST's pixels, whose rows within a
cluster are also ordered by their first non-zero feature, tiles share about 55% of the features:
the BLAS products, nearly all of the work, shrink by as much. On dense data every tile has every
non-constant feature and nothing changes.

(Kernels of :mod:`kmeanslab.metrics`; they may move under ``kmeanslab._kernels`` with the others.)
"""

from __future__ import annotations

import numpy as np

# numba's np.dot loads BLAS from SciPy's cython_blas: load it before any threadpool limit is set.
import scipy.linalg.cython_blas  # noqa: F401
from numba import njit, prange

# Reassociation lets the float64 sums of a run vectorise; the order is still fixed per run.
_FAST = {"reassoc", "contract", "nsz"}


@njit(nogil=True, cache=True)
def _gather(
    X, order, start, stop, column_runs, shift, divisor, out
):  # IN X, order, column_runs, shift, divisor; OUT out
    """``out[r] = (X[order[start + r], columns] - shift[columns]) / divisor[order[start + r]]`` in X's dtype.

    ``columns`` comes as runs of consecutive features, ``column_runs[u] = (first, stop)``, so
    that each run is copied with vector loads.
    """
    for r in range(stop - start):
        row = order[start + r]
        source = X[row]
        target = out[r]
        s = divisor[row]
        q = 0
        for u in range(column_runs.shape[0]):
            first, length = column_runs[u, 0], column_runs[u, 1] - column_runs[u, 0]
            run, run_shift, run_target = (
                source[first : first + length],
                shift[first : first + length],
                target[q : q + length],
            )
            for j in range(length):  # unit-stride views indexed by the loop variable alone: vectorised
                run_target[j] = (run[j] - run_shift[j]) / s
            q += length


@njit(parallel=True, cache=True, fastmath=_FAST)
def transformed_sq_norms(X, column_runs, shift, divisor, out):  # IN X, column_runs, shift, divisor; OUT out
    """``out[i] = ||(X[i, columns] - shift[columns]) / divisor[i]||²`` in float64, as :func:`_gather` makes them."""
    for i in prange(X.shape[0]):
        s = divisor[i]
        acc = 0.0
        source = X[i]
        for u in range(column_runs.shape[0]):
            first, length = column_runs[u, 0], column_runs[u, 1] - column_runs[u, 0]
            run, run_shift = source[first : first + length], shift[first : first + length]
            for j in range(length):
                v = np.float64((run[j] - run_shift[j]) / s)
                acc += v * v
        out[i] = acc


@njit(parallel=True, cache=True)
def first_differences(X, shift, out):  # IN X, shift; OUT out
    """``out[i]`` = the first feature j with ``X[i, j] != shift[j]`` (``X.shape[1]`` if none): a sort key
    that puts rows with the same leading run of shifted zeros side by side."""
    d = X.shape[1]
    for i in prange(X.shape[0]):
        j = 0
        while j < d and X[i, j] == shift[j]:
            j += 1
        out[i] = j


@njit(parallel=True, cache=True)
def tile_supports(X, order, tile_rows, shift, out):  # IN X, order, shift; OUT out
    """``out[t, j] = 1`` where some row of tile t has ``X[row, j] != shift[j]`` (it is 0 in the tile once
    shifted, and adds nothing to a dot product with it), else 0."""
    n, d = X.shape[0], X.shape[1]
    for t in prange(out.shape[0]):
        target = out[t]
        target[:] = 0
        for p in range(t * tile_rows, min((t + 1) * tile_rows, n)):
            source = X[order[p]]
            for j in range(d):  # branch-free, so that it vectorises
                target[j] |= source[j] != shift[j]


@njit(nogil=True, cache=True, fastmath=_FAST)
def _euclidean_in_place(dots, sq_a, sq_b):  # INOUT dots; IN sq_a, sq_b
    """Dot products to distances ``sqrt(max(||a||² + ||b||² - 2 a·b, 0))``.

    The squared distance is formed in float64 (its cancellation is the norm trick's error), the
    square root taken in the dots' dtype: a float32 square root is several times faster and
    rounds no worse than storing a float64 one as float32.
    """
    for i in range(dots.shape[0]):
        for j in range(dots.shape[1]):
            dots[i, j] = max(sq_a[i] + sq_b[j] - 2.0 * np.float64(dots[i, j]), 0.0)
    np.sqrt(dots, dots)


@njit(nogil=True, cache=True, fastmath=_FAST)
def _cosine_in_place(dots):  # INOUT dots
    """Dot products of unit rows to cosine distances ``1 - a·b``, clipped to [0, 2] as scikit-learn."""
    for i in range(dots.shape[0]):
        for j in range(dots.shape[1]):
            dots[i, j] = min(max(1.0 - np.float64(dots[i, j]), 0.0), 2.0)


@njit(nogil=True, cache=True, fastmath=_FAST)
def _add_row_sums(dist, labels, starts, a0, b0, b1, sums):  # IN dist, labels, starts; INOUT sums
    """``sums[a0 + i, c] +=`` the distances of row i of tile A to the rows of cluster c in tile B."""
    first, last = labels[b0], labels[b1 - 1]
    for i in range(dist.shape[0]):
        for c in range(first, last + 1):
            lo = max(starts[c], b0) - b0
            hi = min(starts[c + 1], b1) - b0
            acc = 0.0
            for j in range(lo, hi):
                acc += dist[i, j]
            sums[a0 + i, c] += acc


@njit(nogil=True, cache=True, fastmath=_FAST)
def _add_column_sums(dist, labels, starts, a0, a1, b0, column_acc, sums):  # IN ...; INOUT column_acc, sums
    """``sums[b0 + j, c] +=`` the distances of row j of tile B to the rows of cluster c in tile A."""
    first, last = labels[a0], labels[a1 - 1]
    m = dist.shape[1]
    for c in range(first, last + 1):
        lo = max(starts[c], a0) - a0
        hi = min(starts[c + 1], a1) - a0
        if hi <= lo:
            continue
        column_acc[:m] = 0.0
        for i in range(lo, hi):
            for j in range(m):
                column_acc[j] += dist[i, j]
        for j in range(m):
            sums[b0 + j, c] += column_acc[j]


@njit(nogil=True, cache=True)
def _shared_runs(supports, a, b):  # IN supports
    """The features where both tiles a and b have values (their supports' intersection), as runs
    ``(first, stop)``, and how many features they hold."""
    d = supports.shape[1]
    runs = np.empty((d // 2 + 1, 2), dtype=np.int64)
    count, width, j = 0, 0, 0
    while j < d:
        if supports[a, j] and supports[b, j]:
            first = j
            while j < d and supports[a, j] and supports[b, j]:
                j += 1
            runs[count, 0], runs[count, 1] = first, j
            count += 1
            width += j - first
        else:
            j += 1
    return runs[:count], width


@njit(nogil=True, cache=True)
def _tile_pair(X, order, tile_rows, a, b, supports, shift, divisor, sq, labels, starts, cosine, sums):
    """Everything tile pair (a, b) adds to ``sums`` (``a == b``: the tile with itself)."""
    n = X.shape[0]
    a0, a1 = a * tile_rows, min((a + 1) * tile_rows, n)
    b0, b1 = b * tile_rows, min((b + 1) * tile_rows, n)
    # A feature that is zero (once shifted) all over either tile adds nothing to their dot
    # products: only the shared features are multiplied (on MNIST, tiles of one digit share
    # about 55% of the 784 pixels).
    runs, width = _shared_runs(supports, a, b)
    if width == 0:
        dist = np.zeros((a1 - a0, b1 - b0), dtype=X.dtype)
    else:
        rows_a = np.empty((a1 - a0, width), dtype=X.dtype)
        _gather(X, order, a0, a1, runs, shift, divisor, rows_a)
        if a == b:
            rows_b = rows_a
        else:
            rows_b = np.empty((b1 - b0, width), dtype=X.dtype)
            _gather(X, order, b0, b1, runs, shift, divisor, rows_b)
        dist = np.dot(rows_a, rows_b.T)
    if cosine:
        _cosine_in_place(dist)
    else:
        _euclidean_in_place(dist, sq[a0:a1], sq[b0:b1])
    if a == b:
        for i in range(a1 - a0):
            dist[i, i] = 0.0  # a row's distance to itself, exactly (the norm trick leaves a residue)
    _add_row_sums(dist, labels, starts, a0, b0, b1, sums)
    if a != b:
        _add_column_sums(dist, labels, starts, a0, a1, b0, np.empty(b1 - b0), sums)


@njit(parallel=True, cache=True)
def cluster_distance_sums(X, order, tile_rows, rounds, supports, shift, divisor, sq, labels, starts, cosine, sums):
    """Sum of the distances from every row to the rows of each cluster (its own included).

    Parameters (all in the sorted order: position p is row ``order[p]``)
    ----------
    X : (n, d) float32/float64                                          IN
    order : (n,) int64, the rows sorted by cluster                      IN
    tile_rows : int, rows per tile                                      IN
    rounds : (n_rounds, pairs, 2) int64 tile pairs, -1 for an idle slot IN
    supports : (n_tiles, d) uint8, the features each tile has (tile_supports) IN
    shift : (d,) X.dtype; divisor : (n,) X.dtype (indexed by row)         IN
    sq : (n,) float64 squared norms of the transformed rows, by position IN
    labels : (n,) int64 cluster of each position (sorted)               IN
    starts : (k + 1,) int64 first position of each cluster              IN
    cosine : bool, cosine distance instead of Euclidean                 IN
    sums : (n, k) float64, zeroed by the caller                         INOUT
    """
    for r in range(rounds.shape[0]):
        for p in prange(rounds.shape[1]):
            a = rounds[r, p, 0]
            if a >= 0:
                _tile_pair(
                    X,
                    order,
                    tile_rows,
                    a,
                    rounds[r, p, 1],
                    supports,
                    shift,
                    divisor,
                    sq,
                    labels,
                    starts,
                    cosine,
                    sums,
                )


@njit(parallel=True, cache=True)
def grouped_distance_sums(
    X, order, tile_rows, pairs, group_starts, supports, shift, divisor, sq, labels, starts, cosine, group_sums
):
    """:func:`cluster_distance_sums` with no barrier between rounds: group g adds the tile pairs
    ``pairs[group_starts[g]:group_starts[g + 1]]``, in that order, into its own ``group_sums[g]``
    (n, k), zeroed by the caller, who adds the groups up in their order. The groups are fixed by
    the caller, not by the threads, so the result does not depend on the number of threads; a
    thread that loses its core for a while holds no other thread back.
    """
    for g in prange(group_sums.shape[0]):
        target = group_sums[g]
        for p in range(group_starts[g], group_starts[g + 1]):
            _tile_pair(
                X,
                order,
                tile_rows,
                pairs[p, 0],
                pairs[p, 1],
                supports,
                shift,
                divisor,
                sq,
                labels,
                starts,
                cosine,
                target,
            )
