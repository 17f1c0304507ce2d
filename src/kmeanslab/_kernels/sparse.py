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
def cluster_sums(data, indices, indptr, labels, w, sums, wsums):
    """OUT: ``sums[c]`` the weighted sum of the rows labelled c, ``wsums[c]`` their weight.

    Serial, in row order (the sums do not depend on threads); both are zeroed first.
    """
    n = len(indptr) - 1
    sums[:] = 0.0
    wsums[:] = 0.0
    for i in range(n):
        c = labels[i]
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
def transpose_into(C, CT):
    """OUT: ``CT[q, j] = C[j, q]`` in float64, by 32 x 32 tiles, into a buffer kept between steps."""
    k, d = C.shape
    for a in range(0, k, 32):
        for b in range(0, d, 32):
            for j in range(a, min(a + 32, k)):
                for q in range(b, min(b + 32, d)):
                    CT[q, j] = np.float64(C[j, q])
