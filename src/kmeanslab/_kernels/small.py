"""NumPy twins of the kernels, for problems too small to be worth compiling for.

A problem whose ``n * k * d`` is at most :data:`SMALL_WORK` (Old Faithful, a course's toy
data) runs these instead of the compiled kernels: the choice depends on the shape alone (see
:class:`kmeanslab._core.Layout`), never on whether anything has been compiled, so a given
problem always takes the same path. Each twin has its kernel's arguments and outputs, slab
by slab; the dot products come from BLAS and the sums from NumPy, so values may differ from
the kernels' in the last bits, but the labels are the same (``tests/test_kernels.py`` checks
fits both ways). The canonical keys are summed in the kernel's own order, bit for bit, so
that equal rows keep equal keys. The pruning algorithms (Hamerly, Elkan, Yinyang) have no
twins: they never pay on problems this small, and run compiled when asked for.
"""

from __future__ import annotations

import numpy as np

from . import lloyd, rows, seeding, sums

# A problem of at most this many multiply-adds per pass (n * k * d) takes the NumPy twins:
# a pass costs microseconds either way, and compiling the kernels it needs costs seconds.
SMALL_WORK = 2**16


def _slab(slab_rows: int, n: int, s: int) -> slice:
    return slice(s * slab_rows, min((s + 1) * slab_rows, n))


def _w(weights, part: slice, m: int) -> np.ndarray:
    return np.ones(m) if weights is None else weights[part]


def row_sq_norms(X, slab_rows, out, lo, hi):
    for s in range(lo, hi):
        part = _slab(slab_rows, X.shape[0], s)
        x = X[part].astype(np.float64)
        out[part] = np.einsum("ij,ij->i", x, x)


def projection_keys(X, R, slab_rows, out, lo, hi):
    # Summed feature by feature, as the kernel sums (no reassociation): bit-identical keys.
    for s in range(lo, hi):
        part = _slab(slab_rows, X.shape[0], s)
        x = X[part].astype(np.float64)
        for j in range(R.shape[1]):
            acc = np.zeros(x.shape[0])
            for q in range(x.shape[1]):
                acc += x[:, q] * R[q, j]
            out[part, j] = acc


def sq_dist_to_assigned(X, centers, labels, slab_rows, out, lo, hi):
    for s in range(lo, hi):
        part = _slab(slab_rows, X.shape[0], s)
        diff = X[part].astype(np.float64) - centers.astype(np.float64)[labels[part]]
        out[part] = np.einsum("ij,ij->i", diff, diff)


def weighted_sq_dist_sum(X, centers, labels, weights, slab_rows, out, lo, hi):
    for s in range(lo, hi):
        part = _slab(slab_rows, X.shape[0], s)
        diff = X[part].astype(np.float64) - centers.astype(np.float64)[labels[part]]
        out[s] = float(np.dot(_w(weights, part, diff.shape[0]), np.einsum("ij,ij->i", diff, diff)))


def feature_sums(X, weights, center, slab_rows, out, lo, hi):
    for s in range(lo, hi):
        part = _slab(slab_rows, X.shape[0], s)
        v = X[part].astype(np.float64) - center
        wv = _w(weights, part, v.shape[0])[:, None] * v
        out[s, 0] = wv.sum(axis=0)
        out[s, 1] = (wv * v).sum(axis=0)


def update_closest(X, center, c_sq, x_sq, slab_rows, closest, lo, hi):
    for s in range(lo, hi):
        part = _slab(slab_rows, X.shape[0], s)
        d2 = x_sq[part] + c_sq - 2.0 * (X[part].astype(np.float64) @ center.astype(np.float64))
        np.minimum(closest[part], np.maximum(d2, 0.0), out=closest[part])


def _dots(X, part: slice, C, k: int) -> np.ndarray:
    """Dot products of the rows with the first k centres, in the data's dtype (as the kernels)."""
    return X[part] @ C[:k].T


def candidate_potentials(
    X, C, CT, cand_sq, n_in_3tiles, x_sq, closest, weights, chunk, slab_rows, tiles, center_block, out, lo, hi
):
    k = cand_sq.shape[0]
    for s in range(lo, hi):
        part = _slab(slab_rows, X.shape[0], s)
        d2 = x_sq[part, None] + cand_sq[None, :] - 2.0 * (X[part].astype(np.float64) @ C[:k].T.astype(np.float64))
        d2 = np.minimum(np.maximum(d2, 0.0), closest[part, None])
        out[s] = _w(weights, part, d2.shape[0]) @ d2


def _nearest(X, part: slice, C, c_half, x_sq):
    """Labels (ties to the lowest index) and clipped squared distances of the rows of ``part``."""
    k = c_half.shape[0]
    values = c_half[None, :] - _dots(X, part, C, k)
    best_of = np.argmin(values, axis=1)
    best = values[np.arange(len(best_of)), best_of].astype(np.float64)
    return best_of, np.maximum(x_sq[part] + 2.0 * best, 0.0)


def _cluster_sums(X, part: slice, labels_of, weights, k: int):
    w = _w(weights, part, labels_of.shape[0])
    slab_sums = np.zeros((k, X.shape[1]))
    np.add.at(slab_sums, labels_of, w[:, None] * X[part].astype(np.float64))
    return slab_sums, np.bincount(labels_of, weights=w, minlength=k)


def lloyd_pass(
    X,
    C,
    CT,
    c_half,
    n_in_3tiles,
    x_sq,
    weights,
    chunk,
    slab_rows,
    tiles,
    center_block,
    labels,
    min_d2,
    sums,
    wsums,
    slab_stats,
    accumulate_sums,
    move_idx,
    move_old,
    move_cap,
    lo,
    hi,
):
    k = c_half.shape[0]
    for s in range(lo, hi):
        part = _slab(slab_rows, X.shape[0], s)
        best_of, d2 = _nearest(X, part, C, c_half, x_sq)
        moved = np.flatnonzero(labels[part] != best_of)
        if accumulate_sums:
            sums[s], wsums[s] = _cluster_sums(X, part, best_of, weights, k)
        else:
            kept = moved[:move_cap]
            move_idx[s * move_cap : s * move_cap + len(kept)] = part.start + kept
            move_old[s * move_cap : s * move_cap + len(kept)] = labels[part][kept]
        labels[part] = best_of
        min_d2[part] = d2
        slab_stats[s, 0] = len(moved)
        slab_stats[s, 1] = float(np.dot(_w(weights, part, d2.shape[0]), d2))


def assign_pass(X, C, CT, c_half, n_in_3tiles, x_sq, chunk, slab_rows, tiles, center_block, labels, min_d2, lo, hi):
    for s in range(lo, hi):
        part = _slab(slab_rows, X.shape[0], s)
        labels[part], min_d2[part] = _nearest(X, part, C, c_half, x_sq)


def accumulate(X, labels, weights, chunk, slab_rows, sums, wsums, lo, hi):
    k = sums.shape[1]
    for s in range(lo, hi):
        part = _slab(slab_rows, X.shape[0], s)
        sums[s], wsums[s] = _cluster_sums(X, part, labels[part].astype(np.int64), weights, k)


def apply_moves(X, weights, labels, move_idx, move_old, slab_moves, move_cap, col_block, sums, wsums, members, lo, hi):
    # Called on every unit at once (see _threads.run): the feature blocks and the weights.
    recorded = np.concatenate([np.arange(s * move_cap, s * move_cap + c) for s, c in enumerate(slab_moves)])
    idx = move_idx[recorded.astype(np.int64)]
    old, new = move_old[recorded.astype(np.int64)], labels[idx]
    w = np.ones(len(idx)) if weights is None else weights[idx]
    rows_w = w[:, None] * X[idx].astype(np.float64)
    np.subtract.at(sums, old, rows_w)
    np.add.at(sums, new, rows_w)
    np.subtract.at(wsums, old, w)
    np.add.at(wsums, new, w)
    positive = w > 0.0
    np.subtract.at(members, old[positive], 1)
    np.add.at(members, new[positive], 1)


#: Each kernel that has a twin, and its twin.
TWINS = {
    rows.row_sq_norms: row_sq_norms,
    rows.projection_keys: projection_keys,
    rows.sq_dist_to_assigned: sq_dist_to_assigned,
    rows.weighted_sq_dist_sum: weighted_sq_dist_sum,
    rows.feature_sums: feature_sums,
    seeding.update_closest: update_closest,
    seeding.candidate_potentials: candidate_potentials,
    lloyd.lloyd_pass: lloyd_pass,
    lloyd.assign_pass: assign_pass,
    sums.accumulate: accumulate,
    sums.apply_moves: apply_moves,
}
