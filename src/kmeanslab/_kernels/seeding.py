"""k-means++ seeding: the potentials of candidate centres and the distance to the chosen one.

Both work on the row slabs ``lo .. hi`` (see ``_threads.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._common import FAST, weight


@njit(cache=True, nogil=True, fastmath=FAST)
def candidate_potentials(
    X, C, CT, cand_sq, n_in_3tiles, x_sq, closest, weights, chunk, slab_rows, tiles, center_block, out, lo, hi
):
    """k-means++ trial step: for each candidate centre, the potential ``sum w·min(closest, d²)``.

    IN: ``X``; the candidates ``C`` (at least ``n_cand`` rows, X's dtype) with ``cand_sq``
    their squared norms in float64; ``x_sq`` (n,); ``closest`` (n,) each row's squared distance
    to the nearest chosen centre; ``weights`` (None: unit); ``slab_rows``. ``CT``, ``tiles``,
    ``n_in_3tiles``, ``chunk`` and ``center_block`` are not used (the candidates' centre
    arrays are passed whole, as to the other kernels).
    OUT: ``out[s, j]`` the partial potential of candidate j over slab s; nothing of size
    n x n_candidates is stored.

    Each dot product is summed in float64 along the row (a few candidates, the row in cache),
    as :func:`update_closest` does: no dot-product kernel to link in, which keeps this
    kernel cheap to compile on a cold start.
    """
    n, d = X.shape
    n_cand = cand_sq.shape[0]
    for s in range(lo, hi):
        acc = out[s]
        acc[:] = 0.0
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            x = X[i]
            w = weight(weights, i)
            for j in range(n_cand):
                c = C[j]
                dot = 0.0
                for q in range(d):
                    dot += np.float64(x[q]) * np.float64(c[q])
                d2 = x_sq[i] + cand_sq[j] - 2.0 * dot
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
