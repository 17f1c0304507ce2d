"""k-means++ seeding: the potentials of candidate centres and the distance to the chosen one.

Both work on the row slabs ``lo .. hi`` (see ``_threads.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._common import FAST, weight
from .dots import chunk_dots


@njit(cache=True, nogil=True)
def candidate_potentials(
    X, C, CT, cand_sq, n_in_3tiles, x_sq, closest, weights, chunk, slab_rows, tiles, center_block, out, lo, hi
):
    """k-means++ trial step: for each candidate centre, the potential ``sum w·min(closest, d²)``.

    IN: ``X``; the candidates laid out as centre arrays ``C``, ``CT``, ``tiles``, ``n_in_3tiles`` (see
    :class:`kmeanslab._core.CenterArrays`) with ``cand_sq`` their squared norms in float64;
    ``x_sq`` (n,); ``closest`` (n,) each row's squared distance to the nearest chosen centre;
    ``weights`` (None: unit); ``chunk``, ``slab_rows``, ``center_block``.
    OUT: ``out[s, j]`` the partial potential of candidate j over slab s; nothing of size
    n x n_candidates is stored.
    """
    n, d = X.shape
    n_cand = cand_sq.shape[0]
    n_cols = C.shape[0]
    rows = np.empty(chunk + 4, np.int64)
    dots = np.empty((chunk + 4, n_cols), dtype=X.dtype)
    xbuf = np.empty((1, d), X.dtype)
    for s in range(lo, hi):
        acc = out[s]
        acc[:] = 0.0
        first = s * slab_rows
        last = min(first + slab_rows, n)
        for a in range(first, last, chunk):
            m = min(a + chunk, last) - a
            chunk_dots(X, rows, m, a, tiles, CT, center_block, n_in_3tiles, xbuf, dots)
            for t in range(m):
                i = a + t
                w = weight(weights, i)
                for j in range(n_cand):
                    d2 = x_sq[i] + cand_sq[j] - 2.0 * dots[t, j]
                    if d2 < 0.0:
                        d2 = 0.0
                    if d2 > closest[i]:
                        d2 = closest[i]
                    acc[j] += w * d2


@njit(cache=True, nogil=True, fastmath=FAST)
def update_closest(X, center, c_sq, x_sq, slab_rows, closest, lo, hi):
    """IN/OUT: ``closest[i] = min(closest[i], ||X[i] - center||²)``, by the norm trick in
    float64, clipped at 0 (``c_sq`` = ||center||², ``x_sq`` the rows' squared norms).

    The dot product is accumulated in float64 (vectorised along the features), so that points
    on a chosen centre get a potential of (nearly) zero and are not drawn again.
    """
    n, d = X.shape
    for s in range(lo, hi):
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            x = X[i]
            dot = 0.0
            for q in range(d):
                dot += np.float64(x[q]) * np.float64(center[q])
            d2 = x_sq[i] + c_sq - 2.0 * dot
            if d2 < 0.0:
                d2 = 0.0
            if d2 < closest[i]:
                closest[i] = d2
