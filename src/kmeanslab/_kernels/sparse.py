"""Kernels for sparse X in CSR form (``data``, ``indices``, ``indptr``) with dense centres.

Each works on the row slabs ``lo .. hi`` (see ``_threads.py``). A row's dot products with the
centres are accumulated as scikit-learn's sparse Lloyd does: the squared distance less
``||x||²`` starts at ``||c||²`` and every stored entry ``v`` of the row subtracts
``2 v c[col]``, so that from the same centres both give the same labels. The centres are read
transposed (``CT``, shape (d, k)): the k values a stored entry needs lie side by side.

Per-cluster sums go to one dense (k, d) array, in row order, by a single serial call (a pass
over the stored entries only, far cheaper than the assignment): per-slab copies of k x d
would cost more memory than X itself for text data.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._common import weight


@njit(cache=True, nogil=True)
def row_sq_norms(data, indptr, slab_rows, out, lo, hi):
    """OUT: ``out[i] = ||X[i]||²`` in float64, over the stored entries of each row."""
    n = len(indptr) - 1
    for s in range(lo, hi):
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            acc = 0.0
            for p in range(indptr[i], indptr[i + 1]):
                v = np.float64(data[p])
                acc += v * v
            out[i] = acc


@njit(cache=True, nogil=True)
def _partial_distances(data, indices, indptr, i, CT, c_sq, out):
    """OUT: ``out[j] = ||c_j||² - 2 x_i·c_j`` for every centre (scikit-learn's order of operations)."""
    k = CT.shape[1]
    for j in range(k):
        out[j] = c_sq[j]
    for p in range(indptr[i], indptr[i + 1]):
        v = 2.0 * np.float64(data[p])
        row = CT[indices[p]]
        for j in range(k):
            out[j] -= v * row[j]


@njit(cache=True, nogil=True)
def assign_pass(data, indices, indptr, CT, c_sq, x_sq, w, slab_rows, labels, min_d2, stats, lo, hi):
    """Nearest centre of every row (ties to the lowest index).

    IN/OUT ``labels`` (int32; the count of changes is against the labels held on entry);
    OUT ``min_d2[i] = max(||x||² + ||c||² - 2 x·c, 0)`` for the chosen centre;
    OUT ``stats[s] = (labels changed, weighted sum of min_d2)`` per slab.
    """
    n = len(indptr) - 1
    k = CT.shape[1]
    part = np.empty(k)
    for s in range(lo, hi):
        changed = 0
        loss = 0.0
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            _partial_distances(data, indices, indptr, i, CT, c_sq, part)
            best = 0
            best_d = part[0]
            for j in range(1, k):
                if part[j] < best_d:
                    best_d = part[j]
                    best = j
            d2 = max(x_sq[i] + best_d, 0.0)
            if labels[i] != best:
                changed += 1
                labels[i] = best
            min_d2[i] = d2
            loss += weight(w, i) * d2
        stats[s, 0] = changed
        stats[s, 1] = loss


@njit(cache=True, nogil=True)
def distances_pass(data, indices, indptr, CT, c_sq, x_sq, slab_rows, out, lo, hi):
    """OUT: ``out[i, j] = max(||x_i||² + ||c_j||² - 2 x_i·c_j, 0)``: squared distances to every centre."""
    n = len(indptr) - 1
    k = CT.shape[1]
    part = np.empty(k)
    for s in range(lo, hi):
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            _partial_distances(data, indices, indptr, i, CT, c_sq, part)
            for j in range(k):
                out[i, j] = max(x_sq[i] + part[j], 0.0)


@njit(cache=True, nogil=True)
def row_center_sq_dist(data, indices, indptr, i, C, j, c_sq_j, x_sq_i):
    """``||x_i - c_j||²`` as ``||x||² + ||c||² - 2 x·c``, the dot over the row's stored entries only."""
    dot = 0.0
    cj = C[j]
    for p in range(indptr[i], indptr[i + 1]):
        dot += np.float64(data[p]) * cj[indices[p]]
    return max(x_sq_i + c_sq_j - 2.0 * dot, 0.0)


@njit(cache=True, nogil=True)
def cluster_sums(data, indices, indptr, labels, w, block, sums, wsums, lo, hi):
    """OUT: ``sums[c]`` the weighted sum of the rows labelled c, ``wsums[c]`` their weight.

    The units are blocks of ``block`` clusters: each unit zeroes its clusters' rows, then adds,
    in row order, the rows labelled with one of them (it reads every label, and the stored
    values of its own rows only). Each cluster's sum is made by one unit in row order, so the
    sums do not depend on the threads.
    """
    n = len(indptr) - 1
    c_lo = lo * block
    c_hi = min(hi * block, sums.shape[0])
    sums[c_lo:c_hi] = 0.0
    wsums[c_lo:c_hi] = 0.0
    for i in range(n):
        c = labels[i]
        if c < c_lo or c >= c_hi:
            continue
        wi = weight(w, i)
        wsums[c] += wi
        target = sums[c]
        for p in range(indptr[i], indptr[i + 1]):
            target[indices[p]] += wi * np.float64(data[p])


@njit(cache=True, nogil=True)
def sq_dist_to_assigned(data, indices, indptr, C, c_sq, labels, slab_rows, out, lo, hi):
    """OUT: ``out[i] = ||X[i] - C[labels[i]]||²`` summed directly (no norm trick), in float64.

    ``c_sq[c] = ||C[c]||²`` plus, over the row's stored entries, ``(x - c)² - c²``: each column
    the row does not store contributes ``c²``, which ``c_sq`` already holds.
    """
    n = len(indptr) - 1
    for s in range(lo, hi):
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            c = C[labels[i]]
            acc = c_sq[labels[i]]
            for p in range(indptr[i], indptr[i + 1]):
                v = np.float64(c[indices[p]])
                diff = np.float64(data[p]) - v
                acc += diff * diff - v * v
            out[i] = max(acc, 0.0)


@njit(cache=True, nogil=True)
def feature_sums(data, indices, indptr, w, center, n_cols, out):
    """OUT: ``out[0, q] = Σ w x_q`` and ``out[1, q] = Σ w (x_q - center_q)²`` over all rows (serial).

    The implicit zeros contribute ``w center_q²`` each to the second: the total weight times
    ``center_q²`` is added for every column, and each stored entry corrects its own term.
    """
    n = len(indptr) - 1
    out[:] = 0.0
    total = 0.0
    for i in range(n):
        wi = weight(w, i)
        total += wi
        for p in range(indptr[i], indptr[i + 1]):
            q = indices[p]
            v = np.float64(data[p])
            out[0, q] += wi * v
            diff = v - center[q]
            out[1, q] += wi * (diff * diff - center[q] * center[q])
    for q in range(n_cols):
        out[1, q] += total * center[q] * center[q]


@njit(cache=True, nogil=True)
def transpose_into(C, CT, lo, hi):
    """OUT: ``CT[q, j] = C[j, q]`` in float64 for the centres of 32-row blocks ``lo .. hi``, by
    32 x 32 tiles, into a buffer kept between steps."""
    k, d = C.shape
    for a in range(lo * 32, min(hi * 32, k), 32):
        for b in range(0, d, 32):
            for j in range(a, min(a + 32, k)):
                for q in range(b, min(b + 32, d)):
                    CT[q, j] = np.float64(C[j, q])


# A relative slack on the distance bounds of the pruned step, far above the rounding of the
# square roots, sums and drifts that make them (a few units of 1e-16, times d for a drift).
_SLACK = 1e-9


@njit(cache=True, nogil=True)
def _bound_error(indptr, i, d, x_sq_i, cmax_sq):
    """Bound on the rounding error of ``||x||² + ||c||² - 2 x·c`` as the Lloyd pass computes it.

    The row's stored values give ``nnz`` roundings of terms at most ``2 (||x||² + ||c||²)``
    (Cauchy-Schwarz); ``||c||²``, a sum of d squares, and ``||x||²`` add theirs.
    """
    nnz = indptr[i + 1] - indptr[i]
    return (8.0 * (nnz + 4) + 2.0 * (d + 8)) * 2.220446049250313e-16 * (x_sq_i + cmax_sq)


@njit(cache=True, nogil=True)
def hamerly_step(
    data,
    indices,
    indptr,
    C,
    CT,
    c_sq,
    x_sq,
    cmax_sq,
    drift,
    drift_max1,
    drift_max2,
    drift_argmax,
    first,
    slab_rows,
    labels,
    upper,
    lower,
    stats,
    lo,
    hi,
):
    """Hamerly's pruned assignment of sparse rows: IN/OUT labels and the bounds ``upper``, ``lower``.

    ``upper[i]`` bounds the distance to the row's centre from above, ``lower[i]`` the distance
    to every other centre from below; the centres then moved by ``drift`` (the largest two
    drifts and the index of the largest given). A row is kept on its centre when
    ``upper² + 2e < lower²``, ``e`` the bound on the rounding of a computed squared distance
    (:func:`_bound_error`): then the Lloyd pass, which compares the computed values, would
    give it the same label. Otherwise the distance to its own centre is computed (the same
    operations, in the same order, as the Lloyd pass) and, if the test still fails, every
    distance, exactly as the Lloyd pass computes them. ``first``: every row gets the full pass.
    OUT ``stats[s] = (labels changed, rows given the full pass)``.
    """
    n = len(indptr) - 1
    d, k = CT.shape
    part = np.empty(k)
    for s in range(lo, hi):
        moves = 0
        full = 0
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            e = _bound_error(indptr, i, d, x_sq[i], cmax_sq)
            a = labels[i]
            if not first:
                u = (upper[i] + drift[a]) * (1.0 + _SLACK)
                dl = drift_max2 if a == drift_argmax else drift_max1
                low = max((lower[i] - dl) * (1.0 - _SLACK), 0.0)
                if low > 0.0 and u * u + 2.0 * e < low * low:
                    upper[i] = u
                    lower[i] = low
                    continue
                own = c_sq[a]
                ca = C[a]
                for p in range(indptr[i], indptr[i + 1]):
                    own -= (2.0 * np.float64(data[p])) * ca[indices[p]]
                u = np.sqrt(max(x_sq[i] + own + e, 0.0)) * (1.0 + _SLACK)
                if low > 0.0 and u * u + 2.0 * e < low * low:
                    upper[i] = u
                    lower[i] = low
                    continue
            full += 1
            _partial_distances(data, indices, indptr, i, CT, c_sq, part)
            best = 0
            best_d = part[0]
            for j in range(1, k):
                if part[j] < best_d:
                    best_d = part[j]
                    best = j
            second = np.inf
            for j in range(k):
                if j != best and part[j] < second:
                    second = part[j]
            if a != best:
                moves += 1
                labels[i] = best
            upper[i] = np.sqrt(max(x_sq[i] + best_d + e, 0.0)) * (1.0 + _SLACK)
            lower[i] = np.sqrt(max(x_sq[i] + second - e, 0.0)) * (1.0 - _SLACK) if k > 1 else np.inf
        stats[s, 0] = moves
        stats[s, 1] = full
