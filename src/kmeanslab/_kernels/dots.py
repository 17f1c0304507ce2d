"""Dot products of rows with centres, and the nearest centre of a row of them.

Distances use ||x||² + ||c||² − 2 x·c. The dot products of a chunk of rows come from one of two
interchangeable sources, chosen per problem shape (see :class:`kmeanslab._core.Layout`):

* a register-tiled kernel (4 rows x 3 centres per tile, 12 accumulators, vectorised along the
  features), best when k is small and d large: a BLAS product with few columns wastes most of
  its time packing;
* a BLAS matrix product (OpenBLAS sgemm/dgemm through SciPy), best for large k.

Both compute each dot product in an order that does not depend on where the row sits in the
chunk (rows are padded to whole tiles), so gathering rows in a different order gives the same
numbers. ``c_half`` is ||c||²/2 in the data's dtype and ``val = c_half - x·c`` is the quantity
minimised; the squared distance is ``x_sq + 2 val`` (``x_sq`` in float64, computed once).

Centre arrays (see :class:`kmeanslab._core.CenterArrays`): ``C`` (k_pad, d) in the data's
dtype; ``CT`` its transpose for BLAS, or None; ``tiles`` (``C`` itself) for the tiled kernel,
or None (exactly one of the two is None: it tells the source); ``n_in_3tiles`` the centres
the tiled kernel handles, three at a time (k_pad: k rounded up to a multiple of 3, the padding
rows zero and their dot products never read).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._common import FAST

# ``start`` of :func:`chunk_dots` for gathered rows. Kernels pass this variable, not the
# constant -1: numba compiles a callee once more for each literal argument it is given.
GATHERED = np.int64(-1)


@njit(cache=True, nogil=True, fastmath=FAST)
def chunk_dots(X, rows, m, start, tiles, CT, center_block, n_in_3tiles, xbuf, dots):
    """Dot products of ``m`` rows with every centre, into ``dots[:m]``.

    IN: ``X`` (n, d); ``start`` >= 0 for the rows ``start .. start+m``, else -1 and the rows
    are ``rows[:m]``. The source of the dot products is fixed by which of ``tiles`` and ``CT``
    is None, so that numba compiles only the one in use (it prunes a branch on ``arg is None``
    when the argument is None): BLAS with ``CT`` (d, k) when ``tiles`` is None, else the tiled
    kernel with ``tiles`` (k_pad, d) (``n_in_3tiles`` = k_pad of them, three at a time, in cache
    blocks of ``center_block``).
    SCRATCH: ``rows`` (>= m + 4; with ``start`` >= 0 it is overwritten with the row indices),
    ``xbuf`` (>= m rows when BLAS gathers rows).
    OUT: ``dots[t, j]`` = X[row t] · centre j for t < m (``dots`` has >= m + 4 rows).
    """
    if CT is not None:
        if start >= 0:
            np.dot(X[start : start + m], CT, dots[:m])
        else:
            d = X.shape[1]
            for t in range(m):
                x = X[rows[t]]
                for q in range(d):
                    xbuf[t, q] = x[q]
            np.dot(xbuf[:m], CT, dots[:m])
    if tiles is not None:
        if start >= 0:
            for t in range(m):
                rows[t] = start + t
        m_pad = (m + 3) // 4 * 4
        for t in range(m, m_pad):
            rows[t] = rows[m - 1]
        # Register tiles of 4 rows x 3 centres, written out here rather than in a helper: every
        # compiled function that calls a helper compiles the helper's code once more (numba
        # links and re-optimises callees), and this is the largest loop of the engine.
        # (Software prefetching of the next rows, tried here, compiled to 0.1 s more per copy of
        # this loop and made no pass faster on MNIST.)
        C = tiles
        d = X.shape[1]
        for jb in range(0, n_in_3tiles, center_block):
            # Rows come from memory during the first block of centres; later blocks find them in cache.
            j_hi = min(jb + center_block, n_in_3tiles)
            for r in range(0, m_pad, 4):
                x0 = X[rows[r]]
                x1 = X[rows[r + 1]]
                x2 = X[rows[r + 2]]
                x3 = X[rows[r + 3]]
                for j in range(jb, j_hi, 3):
                    c0 = C[j]
                    c1 = C[j + 1]
                    c2 = C[j + 2]
                    u0 = c0[0]
                    u1 = c1[0]
                    u2 = c2[0]
                    v = x0[0]
                    a00 = v * u0
                    a01 = v * u1
                    a02 = v * u2
                    v = x1[0]
                    a10 = v * u0
                    a11 = v * u1
                    a12 = v * u2
                    v = x2[0]
                    a20 = v * u0
                    a21 = v * u1
                    a22 = v * u2
                    v = x3[0]
                    a30 = v * u0
                    a31 = v * u1
                    a32 = v * u2
                    for q in range(1, d):
                        u0 = c0[q]
                        u1 = c1[q]
                        u2 = c2[q]
                        v = x0[q]
                        a00 += v * u0
                        a01 += v * u1
                        a02 += v * u2
                        v = x1[q]
                        a10 += v * u0
                        a11 += v * u1
                        a12 += v * u2
                        v = x2[q]
                        a20 += v * u0
                        a21 += v * u1
                        a22 += v * u2
                        v = x3[q]
                        a30 += v * u0
                        a31 += v * u1
                        a32 += v * u2
                    dots[r, j] = a00
                    dots[r, j + 1] = a01
                    dots[r, j + 2] = a02
                    dots[r + 1, j] = a10
                    dots[r + 1, j + 1] = a11
                    dots[r + 1, j + 2] = a12
                    dots[r + 2, j] = a20
                    dots[r + 2, j + 1] = a21
                    dots[r + 2, j + 2] = a22
                    dots[r + 3, j] = a30
                    dots[r + 3, j + 1] = a31
                    dots[r + 3, j + 2] = a32


@njit(cache=True, nogil=True, fastmath=FAST)
def row_dots(X, i, C, cand, nc, out):
    """``out[t] = X[i] · C[cand[t]]`` for t < nc, four centres at a time."""
    d = X.shape[1]
    x = X[i]
    t = 0
    while t + 4 <= nc:
        c0 = C[cand[t]]
        c1 = C[cand[t + 1]]
        c2 = C[cand[t + 2]]
        c3 = C[cand[t + 3]]
        v = x[0]
        a0 = v * c0[0]
        a1 = v * c1[0]
        a2 = v * c2[0]
        a3 = v * c3[0]
        for q in range(1, d):
            v = x[q]
            a0 += v * c0[q]
            a1 += v * c1[q]
            a2 += v * c2[q]
            a3 += v * c3[q]
        out[t] = a0
        out[t + 1] = a1
        out[t + 2] = a2
        out[t + 3] = a3
        t += 4
    while t < nc:
        c0 = C[cand[t]]
        a0 = x[0] * c0[0]
        for q in range(1, d):
            a0 += x[q] * c0[q]
        out[t] = a0
        t += 1


@njit(cache=True, nogil=True, fastmath=FAST)
def direct_sq_dist(X, i, c):
    """``||X[i] - c||²`` summed directly in the data's dtype (relative error ~ d·eps)."""
    x = X[i]
    diff = x[0] - c[0]
    acc = diff * diff
    for q in range(1, X.shape[1]):
        diff = x[q] - c[q]
        acc += diff * diff
    return np.float64(acc)


# The flags let LLVM vectorise the minimum over many centres (a minimum is exact: no flag
# changes its value; a zero's sign is all ``nsz`` may change, and -0 == +0 in the search).
@njit(cache=True, nogil=True, fastmath={"nnan", "nsz", "reassoc"})
def nearest(dots_row, c_half, k):
    """Index and value of the smallest ``c_half[j] − dots_row[j]``, ties to the lowest index.

    For many centres, a vectorised minimum then a search for its first occurrence beats a
    compare-and-select chain (its latency, not its work, is the limit). Both are written out
    here rather than in a helper: each compiled helper costs a cold start ~0.15 s or more.
    """
    if k < 24:
        best = c_half[0] - dots_row[0]
        bj = 0
        for j in range(1, k):
            v = c_half[j] - dots_row[j]
            if v < best:
                best = v
                bj = j
        return bj, best
    m = c_half[0] - dots_row[0]
    for j in range(1, k):
        m = min(m, c_half[j] - dots_row[j])
    for j in range(k):
        if c_half[j] - dots_row[j] == m:
            return j, m
    return 0, m  # unreachable: m is one of the values
