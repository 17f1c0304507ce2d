"""Per-cluster sums of the rows: accumulated per slab, reduced in slab order, updated by moves.

Every pass that accumulates a chunk of rows adds them in one order that depends only on the
chunk's rows and labels (:func:`accumulate_grouped`), and the caller adds the slabs' partial
sums in slab order (NumPy's sum over the slab axis adds one whole slab after another), so the
sums are bit-identical whichever pass made them and however many threads ran it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._common import weight


@njit(cache=True, nogil=True)
def accumulate_grouped(X, rows, m, labels_of, weights, k, order, counts, sums, wsums):
    """Add rows ``rows[:m]`` (labels ``labels_of[:m]``) to ``sums``/``wsums``, label by label.

    Within a label, rows are taken in index order, four at a time: their float64 values are
    summed pairwise and added to the cluster's sum row in one read-modify-write, which cuts
    the stores (the bottleneck) by four. The order depends only on the chunk's rows and
    labels, so every pass that accumulates a chunk (the dense passes and :func:`accumulate`)
    gives bit-identical sums, whatever the number of threads.
    """
    d = X.shape[1]
    counts[: k + 1] = 0
    for t in range(m):
        counts[labels_of[t] + 1] += 1
    for j in range(k):
        counts[j + 1] += counts[j]
    for t in range(m):
        j = labels_of[t]
        order[counts[j]] = rows[t]
        counts[j] += 1
    # counts[j] now ends group j; group j starts where group j - 1 ended.
    start = 0
    for j in range(k):
        stop = counts[j]
        if stop == start:
            continue
        row = sums[j]
        w_total = 0.0
        p = start
        while p + 4 <= stop:
            x0 = X[order[p]]
            x1 = X[order[p + 1]]
            x2 = X[order[p + 2]]
            x3 = X[order[p + 3]]
            if weights is None:  # pruned by numba when compiling for one or the other
                w_total += 4.0
                for q in range(d):
                    row[q] += (np.float64(x0[q]) + np.float64(x1[q])) + (np.float64(x2[q]) + np.float64(x3[q]))
            else:
                w0 = weights[order[p]]
                w1 = weights[order[p + 1]]
                w2 = weights[order[p + 2]]
                w3 = weights[order[p + 3]]
                w_total += (w0 + w1) + (w2 + w3)
                for q in range(d):
                    row[q] += (w0 * x0[q] + w1 * x1[q]) + (w2 * x2[q] + w3 * x3[q])
            p += 4
        while p < stop:
            x0 = X[order[p]]
            if weights is None:  # pruned by numba when compiling for one or the other
                w_total += 1.0
                for q in range(d):
                    row[q] += x0[q]
            else:
                w0 = weights[order[p]]
                w_total += w0
                for q in range(d):
                    row[q] += w0 * x0[q]
            p += 1
        wsums[j] += w_total
        start = stop


@njit(cache=True, nogil=True)
def accumulate(X, labels, weights, chunk, slab_rows, sums, wsums, lo, hi):
    """Per-slab sums of the (weighted) rows of each cluster, for the slabs ``lo .. hi``.

    IN: ``X`` (n, d); ``labels`` (n,); ``weights`` (n,) or None for unit weights; ``chunk``
    and ``slab_rows`` from the layout.
    OUT: ``sums[s]`` (k, d) and ``wsums[s]`` (k,) overwritten for each slab s.
    Adds exactly what the dense passes add, in the same order, so the sums are bit-identical.
    """
    n = X.shape[0]
    k = sums.shape[1]
    rows = np.empty(chunk, np.int64)
    lab = np.empty(chunk, np.int64)
    order = np.empty(chunk, np.int64)
    counts = np.empty(k + 1, np.int64)
    for s in range(lo, hi):
        slab_sums = sums[s]
        slab_w = wsums[s]
        slab_sums[:, :] = 0.0
        slab_w[:] = 0.0
        first = s * slab_rows
        last = min(first + slab_rows, n)
        for a in range(first, last, chunk):
            m = min(a + chunk, last) - a
            for t in range(m):
                rows[t] = a + t
                lab[t] = labels[a + t]
            accumulate_grouped(X, rows, m, lab, weights, k, order, counts, slab_sums, slab_w)


@njit(cache=True, nogil=True)
def apply_moves(X, weights, labels, move_idx, move_old, slab_moves, move_cap, col_block, sums, wsums, members, lo, hi):
    """Move each changed point's row from its old cluster's sum to its new one's.

    The work units are the ``n_blocks = ceil(d / col_block)`` blocks of features and one more
    for the weights and member counts; this call does the units ``lo .. hi``. Moves are
    applied in slab order, then index order, whatever the number of threads.

    IN: ``X``, ``weights`` (None: unit), ``labels`` (the new labels); slab ``s`` recorded
    ``slab_moves[s]`` moves from ``s * move_cap`` on: ``move_idx`` the point, ``move_old`` its
    previous cluster.
    IN/OUT: ``sums`` (k, d), ``wsums`` (k,), ``members`` (k,): the points of positive weight in
    each cluster, so that a cluster that loses its last one gets sums of exactly zero, as a
    full recount would give.
    """
    d = X.shape[1]
    n_slabs = slab_moves.shape[0]
    n_blocks = (d + col_block - 1) // col_block
    for b in range(lo, hi):
        if b == n_blocks:
            for s in range(n_slabs):
                base = s * move_cap
                for t in range(base, base + slab_moves[s]):
                    i = move_idx[t]
                    w = weight(weights, i)
                    old = move_old[t]
                    new = labels[i]
                    wsums[old] -= w
                    wsums[new] += w
                    if w > 0.0:
                        members[old] -= 1
                        members[new] += 1
            continue
        q0 = b * col_block
        q1 = min(q0 + col_block, d)
        for s in range(n_slabs):
            base = s * move_cap
            for t in range(base, base + slab_moves[s]):
                i = move_idx[t]
                old = move_old[t]
                new = labels[i]
                x = X[i]
                if weights is None:
                    for q in range(q0, q1):
                        v = np.float64(x[q])
                        sums[old, q] -= v
                        sums[new, q] += v
                else:
                    w = weights[i]
                    for q in range(q0, q1):
                        v = w * x[q]
                        sums[old, q] -= v
                        sums[new, q] += v
