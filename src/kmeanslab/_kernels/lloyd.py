"""The dense pass: every distance of a chunk of rows, the nearest centre, the sums on the way.

:func:`assign_chunk` is the step every dense kernel shares (Lloyd's pass here, the bound
initialisations in ``hamerly.py``, ``elkan.py`` and ``yinyang.py``); :func:`lloyd_pass` is one
Lloyd iteration's assignment and :func:`assign_pass` labels rows without accumulating.

All kernels here work on the row slabs ``lo .. hi`` (see ``_threads.py``); per-slab outputs
are indexed by the slab.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._common import record_move, weight
from .dots import chunk_dots, nearest
from .sums import accumulate_grouped


@njit(cache=True, nogil=True)
def assign_chunk(
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
):
    """Nearest centre of the rows ``a .. a+m``; returns ``loss`` plus their weighted squared distances.

    IN: ``X``; the centre arrays ``C``, ``CT``, ``tiles``, ``c_half``, ``n_in_3tiles`` (see
    ``dots.py``); ``x_sq`` (n,) squared row norms; ``weights`` (None: unit); ``center_block``.
    SCRATCH: ``xbuf``.
    OUT: ``rows[:m]`` the row indices, ``dots[:m]`` their dot products with every centre,
    ``best_of[:m]`` the new labels, ``old_of[:m]`` the labels before, ``d2_of[:m]`` the squared
    distances to the new centre (clipped at 0).
    IN/OUT: ``labels`` (n,) gets the new labels.
    """
    k = c_half.shape[0]
    chunk_dots(X, rows, m, a, tiles, CT, center_block, n_in_3tiles, xbuf, dots)
    for t in range(m):
        i = a + t
        bj, best = nearest(dots[t], c_half, k)
        old_of[t] = labels[i]
        labels[i] = bj
        best_of[t] = bj
        rows[t] = i
        d2 = x_sq[i] + 2.0 * best
        if d2 < 0.0:
            d2 = 0.0
        d2_of[t] = d2
        loss += weight(weights, i) * d2
    return loss


@njit(cache=True, nogil=True)
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
    """One Lloyd assignment of the slabs ``lo .. hi``: every distance computed.

    IN: as :func:`assign_chunk`; ``chunk``, ``slab_rows`` from the layout; ``accumulate_sums``.
    IN/OUT: ``labels`` (n,).
    OUT: ``min_d2`` (n,) the squared distance to the assigned centre (clipped at 0);
    ``slab_stats[s]`` = (labels changed, weighted sum of squared distances).
    With ``accumulate_sums``: ``sums[s]`` (k, d) and ``wsums[s]`` (k,) overwritten with the
    slab's cluster sums. Without, the sums are left alone and each point that changed cluster
    is recorded instead (cheaper once few move; see :func:`.sums.apply_moves`): slab s writes
    ``move_idx``/``move_old`` (the point, its old cluster) from ``s * move_cap`` on.
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
        if accumulate_sums:
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
                min_d2[a + t] = d2_of[t]
                if old_of[t] != best_of[t]:
                    if not accumulate_sums:
                        record_move(move_idx, move_old, s * move_cap, move_cap, changed, a + t, old_of[t])
                    changed += 1
            if accumulate_sums:
                # X rows of this chunk are still in cache: add them to the sums now.
                accumulate_grouped(X, rows, m, best_of, weights, k, order, counts, slab_sums, slab_w)
        slab_stats[s, 0] = changed
        slab_stats[s, 1] = loss


@njit(cache=True, nogil=True)
def assign_pass(X, C, CT, c_half, n_in_3tiles, x_sq, chunk, slab_rows, tiles, center_block, labels, min_d2, lo, hi):
    """Nearest centre (``labels``, OUT) and squared distance (``min_d2``, OUT, clipped at 0) of
    every row of the slabs ``lo .. hi``; nothing accumulated. IN as :func:`assign_chunk`."""
    n, d = X.shape
    n_cols = C.shape[0]
    rows = np.empty(chunk + 4, np.int64)
    dots = np.empty((chunk + 4, n_cols), X.dtype)
    xbuf = np.empty((1, d), X.dtype)
    best_of = np.empty(chunk, np.int64)
    old_of = np.empty(chunk, np.int64)
    d2_of = np.empty(chunk, np.float64)
    for s in range(lo, hi):
        first = s * slab_rows
        last = min(first + slab_rows, n)
        for a in range(first, last, chunk):
            m = min(a + chunk, last) - a
            assign_chunk(
                X,
                a,
                m,
                C,
                CT,
                c_half,
                n_in_3tiles,
                x_sq,
                None,
                tiles,
                center_block,
                xbuf,
                rows,
                dots,
                labels,
                best_of,
                old_of,
                d2_of,
                0.0,
            )
            for t in range(m):
                min_d2[a + t] = d2_of[t]
