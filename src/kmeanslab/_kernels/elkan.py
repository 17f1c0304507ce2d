"""Elkan's algorithm (2003): a lower bound per point and centre (n x k float32).

:func:`elkan_init` is the dense pass that (re)sets every bound; :func:`elkan_step` the pruned
assignment (lazy bounds, as in ``hamerly.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._common import down32, lower_dist, proves, record_move, up32, upper_dist
from .dots import GATHERED, chunk_dots, direct_sq_dist, nearest, row_dots
from .lloyd import assign_chunk
from .sums import accumulate_grouped


@njit(cache=True, nogil=True)
def elkan_init(
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
    margin,
    cmax_sq,
    drift_sum,
    drift_sum_max,
    labels,
    upper,
    lower,
    global_lower,
    sums,
    wsums,
    slab_stats,
    lo,
    hi,
):
    """Every distance computed for the slabs ``lo .. hi``: new labels, sums, and fresh bounds.

    IN: as :func:`.hamerly.hamerly_init`.
    IN/OUT: ``labels``.
    OUT: ``upper`` (n,); ``lower`` (n, k) on the distance to every centre, ``global_lower``
    (n,) the smallest over the centres other than the assigned one; ``sums[s]``, ``wsums[s]``;
    ``slab_stats[s]`` = (labels changed, weighted sum of squared distances).
    """
    n, d = X.shape
    k = c_half.shape[0]
    n_cols = C.shape[0]
    rows = np.empty(chunk + 4, np.int64)
    dots = np.empty((chunk + 4, n_cols), X.dtype)
    xbuf = np.empty((1, d), X.dtype)
    best_of = np.empty(chunk, np.int64)
    old_of = np.empty(chunk, np.int64)
    d2_of = np.empty(chunk, np.float64)
    order = np.empty(chunk, np.int64)
    counts = np.empty(k + 1, np.int64)
    for s in range(lo, hi):
        slab_sums = sums[s]
        slab_w = wsums[s]
        slab_sums[:, :] = 0.0
        slab_w[:] = 0.0
        changed = 0
        loss = 0.0
        first = s * slab_rows
        last = min(first + slab_rows, n)
        for a in range(first, last, chunk):
            m = min(a + chunk, last) - a
            loss = assign_chunk(
                X,
                a,
                m,
                C,
                CT,
                c_half,
                n_in_3tiles,
                x_sq,
                weights,
                tiles,
                center_block,
                xbuf,
                rows,
                dots,
                labels,
                best_of,
                old_of,
                d2_of,
                loss,
            )
            for t in range(m):
                i = a + t
                bj = best_of[t]
                if old_of[t] != bj:
                    changed += 1
                e = margin * (x_sq[i] + cmax_sq)
                upper[i] = up32(upper_dist(d2_of[t], e) - drift_sum[bj])
                smallest = np.inf
                for j in range(k):
                    low = lower_dist(x_sq[i] + 2.0 * (c_half[j] - dots[t, j]), e)
                    lower[i, j] = down32(low + drift_sum[j])
                    if j != bj:
                        smallest = min(smallest, low)
                global_lower[i] = down32(smallest + drift_sum_max)
            accumulate_grouped(X, rows, m, best_of, weights, k, order, counts, slab_sums, slab_w)
        slab_stats[s, 0] = changed
        slab_stats[s, 1] = loss


@njit(cache=True, nogil=True, fastmath={"nnan", "nsz", "reassoc", "contract"})
def _elkan_bounds(lower_row, drift_sum, half_cc_row, u, out):
    """``out_j = max(lower_j − cum_j, 2 half_cc_j − u)``, a lower bound on the distance to centre
    j; returns the smallest. ``half_cc_row`` is +inf at the point's own centre."""
    m = np.inf
    for j in range(lower_row.shape[0]):
        v = max(np.float64(lower_row[j]) - drift_sum[j], 2.0 * half_cc_row[j] - u)
        out[j] = v
        m = min(m, v)
    return m


@njit(cache=True, nogil=True, fastmath={"nnan", "nsz", "reassoc"})
def _smallest(values):
    m = np.inf
    for j in range(values.shape[0]):
        m = min(m, values[j])
    return m


@njit(cache=True, nogil=True)
def _gathered_chunk(
    X,
    rows,
    m,
    C,
    CT,
    c_half,
    x_sq,
    tiles,
    center_block,
    n_in_3tiles,
    xbuf,
    dots,
    margin,
    cmax_sq,
    drift_sum,
    drift_sum_max,
    labels,
    upper,
    lower,
    global_lower,
    move_idx,
    move_old,
    n_moves,
    base,
    cap,
):
    """Every distance for gathered rows ``rows[:m]``: new labels, all their bounds reset."""
    k = c_half.shape[0]
    chunk_dots(X, rows, m, GATHERED, tiles, CT, center_block, n_in_3tiles, xbuf, dots)
    for t in range(m):
        i = rows[t]
        bj, best = nearest(dots[t], c_half, k)
        e = margin * (x_sq[i] + cmax_sq)
        smallest = np.inf
        for j in range(k):
            low = lower_dist(x_sq[i] + 2.0 * (c_half[j] - dots[t, j]), e)
            lower[i, j] = down32(low + drift_sum[j])
            if j != bj:
                smallest = min(smallest, low)
        global_lower[i] = down32(smallest + drift_sum_max)
        upper[i] = up32(upper_dist(x_sq[i] + 2.0 * best, e) - drift_sum[bj])
        old = labels[i]
        if old != bj:
            n_moves = record_move(move_idx, move_old, base, cap, n_moves, i, old)
            labels[i] = bj
    return n_moves


@njit(cache=True, nogil=True)
def elkan_step(
    X,
    C,
    CT,
    c_half,
    x_sq,
    chunk,
    slab_rows,
    tiles,
    center_block,
    n_in_3tiles,
    half_cc,
    s_half,
    margin,
    cmax_sq,
    tight,
    drift_sum,
    drift_sum_max,
    gather_above,
    labels,
    upper,
    lower,
    global_lower,
    move_idx,
    move_old,
    move_cap,
    slab_stats,
    lo,
    hi,
):
    """One Elkan assignment (Elkan 2003) with lazy per-centre lower bounds.

    A point keeps its centre outright when its global lower bound (the smallest of its
    per-centre bounds when last computed, loosened by the largest drift since) or half the
    distance from its centre to the nearest other one proves the margin. Otherwise each centre
    is ruled out by its own lower bound or by half its distance to the assigned centre, and
    only the rest are computed, one pair at a time; a point with more than ``gather_above``
    candidates is instead gathered, a chunk at a time, for the dense kernel (all k distances,
    at several times the speed per distance).

    IN: as :func:`.hamerly.hamerly_step`, and ``half_cc`` (k, k) half the distance between
    each pair of centres (+inf on the diagonal), ``s_half`` (k,) its row minima,
    ``gather_above`` the candidate count past which a point is gathered.
    IN/OUT: ``labels``, ``upper`` (n,), ``lower`` (n, k) a bound per point and centre,
    ``global_lower`` (n,) the smallest over the centres other than the assigned one.
    OUT: moves as in :func:`.lloyd.lloyd_pass`; ``slab_stats[s]`` = (moves, upper bounds
    tightened, distances computed) for the slabs ``lo .. hi``.
    """
    n, d = X.shape
    k = c_half.shape[0]
    n_cols = C.shape[0]
    cand = np.empty(k, np.int64)
    pair_dots = np.empty(k, X.dtype)
    bound = np.empty(k, np.float64)
    rows = np.empty(chunk + 4, np.int64)
    dots = np.empty((chunk + 4, n_cols), X.dtype)
    xbuf = np.empty((chunk if CT is not None else 1, d), X.dtype)
    for s in range(lo, hi):
        nb = 0
        first = s * slab_rows
        last = min(first + slab_rows, n)
        n_moves = 0
        n_tight = 0
        n_dist = 0
        for i in range(first, last):
            a = labels[i]
            u = np.float64(upper[i]) + drift_sum[a]
            e = margin * (x_sq[i] + cmax_sq)
            limit_sq = u * u + 2.0 * e
            if proves(max(np.float64(global_lower[i]) - drift_sum_max, 2.0 * s_half[a] - u), limit_sq):
                continue
            m = _elkan_bounds(lower[i], drift_sum, half_cc[a], u, bound)
            if not proves(m, limit_sq):
                n_tight += 1
                u = np.sqrt(direct_sq_dist(X, i, C[a]) * tight)
                upper[i] = up32(u - drift_sum[a])
                limit_sq = u * u + 2.0 * e
                m = _elkan_bounds(lower[i], drift_sum, half_cc[a], u, bound)
            if proves(m, limit_sq):
                global_lower[i] = down32(m + drift_sum_max)
                continue
            # Candidates: centres whose bound is below sqrt(u² + 2e) (the own centre's is +inf).
            limit = np.sqrt(limit_sq)
            nc = 0
            for j in range(k):
                if bound[j] < limit:
                    cand[nc] = j
                    nc += 1
            if nc > gather_above:
                n_dist += k
                rows[nb] = i
                nb += 1
                if nb == chunk:
                    n_moves = _gathered_chunk(
                        X,
                        rows,
                        np.int64(nb),  # numba compiles a callee again for a literal argument
                        C,
                        CT,
                        c_half,
                        x_sq,
                        tiles,
                        center_block,
                        n_in_3tiles,
                        xbuf,
                        dots,
                        margin,
                        cmax_sq,
                        drift_sum,
                        drift_sum_max,
                        labels,
                        upper,
                        lower,
                        global_lower,
                        move_idx,
                        move_old,
                        np.int64(n_moves),
                        s * move_cap,
                        move_cap,
                    )
                    nb = 0
                continue
            cand[nc] = a
            nc += 1
            n_dist += nc
            row_dots(X, i, C, cand, nc, pair_dots)
            bj = a
            best = c_half[a] - pair_dots[nc - 1]
            for t in range(nc - 1):
                j = cand[t]
                v = c_half[j] - pair_dots[t]
                if v < best or (v == best and j < bj):
                    best = v
                    bj = j
            for t in range(nc):
                j = cand[t]
                low = lower_dist(x_sq[i] + 2.0 * (c_half[j] - pair_dots[t]), e)
                lower[i, j] = down32(low + drift_sum[j])
                bound[j] = low
            # The global bound covers every centre but the (new) assigned one.
            bound[bj] = np.inf
            global_lower[i] = down32(_smallest(bound) + drift_sum_max)
            if bj != a:
                n_moves = record_move(move_idx, move_old, s * move_cap, move_cap, n_moves, i, a)
                labels[i] = bj
                upper[i] = up32(upper_dist(x_sq[i] + 2.0 * best, e) - drift_sum[bj])
        if nb > 0:
            n_moves = _gathered_chunk(
                X,
                rows,
                np.int64(nb),  # numba compiles a callee again for a literal argument
                C,
                CT,
                c_half,
                x_sq,
                tiles,
                center_block,
                n_in_3tiles,
                xbuf,
                dots,
                margin,
                cmax_sq,
                drift_sum,
                drift_sum_max,
                labels,
                upper,
                lower,
                global_lower,
                move_idx,
                move_old,
                np.int64(n_moves),
                s * move_cap,
                move_cap,
            )
        slab_stats[s, 0] = n_moves
        slab_stats[s, 1] = n_tight
        slab_stats[s, 2] = n_dist
