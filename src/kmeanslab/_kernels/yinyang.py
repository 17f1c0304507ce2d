"""Yinyang k-means (Ding et al. 2015): a lower bound per point and group of centres.

:func:`yinyang_init` is the dense pass that (re)sets every bound; :func:`yinyang_step` the
pruned assignment (lazy bounds, as in ``hamerly.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._common import down32, lower_dist, proves, record_move, up32, upper_dist
from .dots import direct_sq_dist, row_dots
from .lloyd import assign_chunk
from .sums import accumulate_grouped


@njit(cache=True, nogil=True)
def yinyang_init(
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
    groups,
    margin,
    cmax_sq,
    drift_sum,
    group_drift_sum,
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

    IN: as :func:`.hamerly.hamerly_init`, and ``groups`` (k,), ``group_drift_sum`` (n_groups,).
    IN/OUT: ``labels``.
    OUT: ``upper`` (n,); ``lower`` (n, n_groups) on the nearest centre of each group other
    than the assigned one, ``global_lower`` (n,) the smallest of them; ``sums[s]``, ``wsums[s]``;
    ``slab_stats[s]`` = (labels changed, weighted sum of squared distances).
    """
    n, d = X.shape
    k = c_half.shape[0]
    n_groups = lower.shape[1]
    n_cols = C.shape[0]
    rows = np.empty(chunk + 4, np.int64)
    dots = np.empty((chunk + 4, n_cols), X.dtype)
    xbuf = np.empty((1, d), X.dtype)
    best_of = np.empty(chunk, np.int64)
    old_of = np.empty(chunk, np.int64)
    d2_of = np.empty(chunk, np.float64)
    order = np.empty(chunk, np.int64)
    counts = np.empty(k + 1, np.int64)
    group_min = np.empty(n_groups, np.float64)
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
                group_min[:] = np.inf
                for j in range(k):
                    if j != bj:
                        v = c_half[j] - dots[t, j]
                        g = groups[j]
                        if v < group_min[g]:
                            group_min[g] = v
                smallest = np.inf
                for g in range(n_groups):
                    low = lower_dist(x_sq[i] + 2.0 * group_min[g], e) if group_min[g] < np.inf else np.inf
                    smallest = min(smallest, low)
                    lower[i, g] = down32(low + group_drift_sum[g])
                global_lower[i] = down32(smallest + drift_sum_max)
            accumulate_grouped(X, rows, m, best_of, weights, k, order, counts, slab_sums, slab_w)
        slab_stats[s, 0] = changed
        slab_stats[s, 1] = loss


@njit(cache=True, nogil=True)
def yinyang_step(
    X,
    C,
    c_half,
    x_sq,
    slab_rows,
    groups,
    group_start,
    group_members,
    drift,
    margin,
    cmax_sq,
    tight,
    drift_sum,
    group_drift_sum,
    group_drift_sum_before,
    drift_sum_max,
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
    """One Yinyang assignment (Ding et al. 2015) with lazy bounds.

    Global filter on the smallest group bound, then (after tightening the upper bound) a group
    filter and, inside a surviving group, a per-centre filter on the group's previous bound
    minus the centre's own drift; only the survivors' distances are computed, four centres at
    a time.

    IN: ``X``; ``C``, ``c_half``; ``x_sq``; ``slab_rows``; ``groups`` (k,) each centre's group,
    ``group_members`` the centres sorted by group, group g's from ``group_start[g]`` to
    ``group_start[g + 1]``; ``drift`` (k,) how far each centre moved at the last update;
    ``margin``, ``cmax_sq``, ``tight`` as in :func:`.hamerly.hamerly_step`; ``drift_sum`` (k,),
    ``group_drift_sum`` (n_groups,) the largest drift in each group summed over the steps,
    ``group_drift_sum_before`` the same one update earlier, ``drift_sum_max``.
    IN/OUT: ``labels``, ``upper`` (n,), ``lower`` (n, n_groups) the bound on the nearest
    centre of each group other than the assigned one, ``global_lower`` (n,) the smallest.
    OUT: moves as in :func:`.lloyd.lloyd_pass`; ``slab_stats[s]`` = (moves, points that
    reached the group filter, distances computed) for the slabs ``lo .. hi``.
    """
    n, d = X.shape
    k = c_half.shape[0]
    n_groups = lower.shape[1]
    cand = np.empty(k, np.int64)
    dots = np.empty(k, X.dtype)
    new_low = np.empty(n_groups, np.float64)
    examined = np.empty(n_groups, np.bool_)
    for s in range(lo, hi):
        first = s * slab_rows
        last = min(first + slab_rows, n)
        n_moves = 0
        n_group = 0
        n_dist = 0
        for i in range(first, last):
            a = labels[i]
            u = np.float64(upper[i]) + drift_sum[a]
            e = margin * (x_sq[i] + cmax_sq)
            glob = np.float64(global_lower[i]) - drift_sum_max
            if proves(glob, u * u + 2.0 * e):
                continue
            u = np.sqrt(direct_sq_dist(X, i, C[a]) * tight)
            upper[i] = up32(u - drift_sum[a])
            limit_sq = u * u + 2.0 * e
            if proves(glob, limit_sq):
                continue
            n_group += 1
            # Group filter, then the per-centre filter inside each surviving group.
            nc = 0
            cand[nc] = a
            nc += 1
            for g in range(n_groups):
                stored = np.float64(lower[i, g])
                low = stored - group_drift_sum[g]
                if proves(low, limit_sq):
                    examined[g] = False
                    new_low[g] = low
                    continue
                examined[g] = True
                prev = stored - group_drift_sum_before[g]
                bound = np.inf
                for p in range(group_start[g], group_start[g + 1]):
                    j = group_members[p]
                    if j == a:
                        continue
                    lj = prev - drift[j]
                    if proves(lj, limit_sq):
                        bound = min(bound, lj)
                    else:
                        cand[nc] = j
                        nc += 1
                new_low[g] = bound
            n_dist += nc
            row_dots(X, i, C, cand, nc, dots)
            bj = a
            best = c_half[a] - dots[0]
            for t in range(1, nc):
                j = cand[t]
                v = c_half[j] - dots[t]
                if v < best or (v == best and j < bj):
                    best = v
                    bj = j
            # The computed centres other than the new best tighten their groups' bounds.
            for t in range(nc):
                j = cand[t]
                if j != bj:
                    low = lower_dist(x_sq[i] + 2.0 * (c_half[j] - dots[t]), e)
                    g = groups[j]
                    if low < new_low[g]:
                        new_low[g] = low
            smallest = np.inf
            for g in range(n_groups):
                lower[i, g] = down32(new_low[g] + group_drift_sum[g])
                smallest = min(smallest, new_low[g])
            global_lower[i] = down32(smallest + drift_sum_max)
            if bj != a:
                n_moves = record_move(move_idx, move_old, s * move_cap, move_cap, n_moves, i, a)
                labels[i] = bj
                upper[i] = up32(upper_dist(x_sq[i] + 2.0 * best, e) - drift_sum[bj])
        slab_stats[s, 0] = n_moves
        slab_stats[s, 1] = n_group
        slab_stats[s, 2] = n_dist
