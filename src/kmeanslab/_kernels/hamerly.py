"""Hamerly's algorithm (2010): one lower bound per point, on the second-nearest centre.

:func:`hamerly_init` is the dense pass that (re)sets every bound; :func:`hamerly_step` the
pruned assignment. Bounds are *lazy*: a stored bound is offset by the cumulative centre drift
at the time it was set (``drift_sum``), so a point whose bounds still prove its assignment
costs a few loads and no store. Bounds are float32, rounded outwards, and every test keeps a
margin ``2 e`` that covers the rounding error of the norm trick, so a point is only left
alone when plain Lloyd would have given it the same label.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._common import down32, lower_dist, proves, record_move, up32, upper_dist
from .dots import GATHERED, chunk_dots, direct_sq_dist
from .lloyd import assign_chunk
from .sums import accumulate_grouped


@njit(cache=True, nogil=True)
def hamerly_init(
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
    sums,
    wsums,
    slab_stats,
    lo,
    hi,
):
    """Every distance computed for the slabs ``lo .. hi``: new labels, sums, and fresh bounds.

    IN: as :func:`hamerly_step`, and ``weights`` (None: unit).
    IN/OUT: ``labels``.
    OUT: ``upper`` (n,) on the distance to the assigned centre, ``lower[:, 0]`` on the
    distance to the second nearest; ``sums[s]``, ``wsums[s]`` the slab's cluster sums;
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
                second = np.inf
                for j in range(k):
                    if j != bj:
                        v = c_half[j] - dots[t, j]
                        if v < second:
                            second = v
                low = lower_dist(x_sq[i] + 2.0 * second, e) if second < np.inf else np.inf
                lower[i, 0] = down32(low + drift_sum_max)
            accumulate_grouped(X, rows, m, best_of, weights, k, order, counts, slab_sums, slab_w)
        slab_stats[s, 0] = changed
        slab_stats[s, 1] = loss


@njit(cache=True, nogil=True)
def hamerly_step(
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
    s_half,
    margin,
    cmax_sq,
    tight,
    drift_sum,
    drift_sum_max,
    labels,
    upper,
    lower,
    move_idx,
    move_old,
    move_cap,
    slab_stats,
    lo,
    hi,
):
    """One Hamerly assignment (lazy bounds; see the module docstring).

    A point keeps its centre when ``max(lower bound, 2 s(a) − u)`` proves the margin, where
    ``s(a)`` is half the distance from its centre to the nearest other centre; else ``u`` is
    tightened to the direct distance and the test repeated; the points that still fail are
    gathered, a chunk at a time, and run through the dense kernel.

    IN: ``X``; the centre arrays ``C``, ``CT``, ``tiles``, ``c_half``, ``n_in_3tiles`` (see
    ``dots.py``); ``x_sq``; ``chunk``, ``slab_rows``, ``center_block`` from the layout; ``s_half`` (k,);
    ``margin`` (the rounding-error coefficient), ``cmax_sq`` (largest ||c||²), ``tight`` (the
    direct distance's error factor); ``drift_sum`` (k,) each centre's drift since the bounds'
    origin, ``drift_sum_max`` the largest drift of any centre, summed over the steps.
    IN/OUT: ``labels``, ``upper`` (n,), ``lower`` (n, 1): lazy bounds.
    OUT: moves recorded as in :func:`.lloyd.lloyd_pass`; ``slab_stats[s]`` = (moves, points
    fully reassigned, points tightened) for the slabs ``lo .. hi``.
    """
    n, d = X.shape
    k = c_half.shape[0]
    n_cols = C.shape[0]
    rows = np.empty(chunk + 4, np.int64)
    dots = np.empty((chunk + 4, n_cols), X.dtype)
    xbuf = np.empty((chunk if CT is not None else 1, d), X.dtype)
    for s in range(lo, hi):
        first = s * slab_rows
        last = min(first + slab_rows, n)
        n_moves = 0
        n_full = 0
        n_tight = 0
        nb = 0
        for i in range(first, last):
            a = labels[i]
            u = np.float64(upper[i]) + drift_sum[a]
            low = np.float64(lower[i, 0]) - drift_sum_max
            e = margin * (x_sq[i] + cmax_sq)
            z = max(low, 2.0 * s_half[a] - u)
            if not proves(z, u * u + 2.0 * e):
                n_tight += 1
                u = np.sqrt(direct_sq_dist(X, i, C[a]) * tight)
                z = max(low, 2.0 * s_half[a] - u)
                upper[i] = up32(u - drift_sum[a])
                if not proves(z, u * u + 2.0 * e):
                    rows[nb] = i
                    nb += 1
            if nb == 0 or (nb < chunk and i + 1 < last):
                continue
            # Full assignment of the gathered rows rows[:nb] (written once, here, rather than in a
            # helper: each compiled helper that holds the dot-product kernel costs a cold start a
            # copy of it); resets their bounds and records the moves.
            n_full += nb
            chunk_dots(X, rows, nb, GATHERED, tiles, CT, center_block, n_in_3tiles, xbuf, dots)
            for t in range(nb):
                r = rows[t]
                best = c_half[0] - dots[t, 0]
                bj = 0
                second = np.inf
                for j in range(1, k):
                    v = c_half[j] - dots[t, j]
                    if v < best:
                        second = best
                        best = v
                        bj = j
                    elif v < second:
                        second = v
                e = margin * (x_sq[r] + cmax_sq)
                old = labels[r]
                if old != bj:
                    n_moves = record_move(move_idx, move_old, s * move_cap, move_cap, n_moves, r, old)
                    labels[r] = bj
                    upper[r] = up32(upper_dist(x_sq[r] + 2.0 * best, e) - drift_sum[bj])
                else:
                    # The direct distance just computed is tighter than the norm trick's.
                    upper[r] = min(upper[r], up32(upper_dist(x_sq[r] + 2.0 * best, e) - drift_sum[bj]))
                lower[r, 0] = down32(lower_dist(x_sq[r] + 2.0 * second, e) + drift_sum_max)
            nb = 0
        slab_stats[s, 0] = n_moves
        slab_stats[s, 1] = n_full
        slab_stats[s, 2] = n_tight
