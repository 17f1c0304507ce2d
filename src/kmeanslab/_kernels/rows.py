"""Per-row passes: norms, projections, distances to the assigned centre, feature moments.

Each works on the row slabs ``lo .. hi`` (see ``_threads.py``); a kernel with per-slab
partial results writes them at the slab's index, for the caller to add up in slab order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._common import FAST, weight


@njit(cache=True, nogil=True, fastmath=FAST)
def row_sq_norms(X, slab_rows, out, lo, hi):
    """OUT: ``out[i] = ||X[i]||²`` accumulated in float64."""
    n, d = X.shape
    for s in range(lo, hi):
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            acc = 0.0
            for q in range(d):
                v = np.float64(X[i, q])
                acc += v * v
            out[i] = acc


@njit(cache=True, nogil=True)
def projection_keys(X, R, slab_rows, out, lo, hi):
    """OUT: ``out[i] = X[i] @ R`` (R: (d, m) float64) in float64, each row summed in one fixed order.

    Identical rows get bit-identical keys wherever they sit in X, which is what makes the
    canonical order of :func:`kmeanslab._core.canonical_order` independent of row order.
    """
    n, d = X.shape
    m = R.shape[1]
    for s in range(lo, hi):
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            for j in range(m):
                acc = 0.0
                for q in range(d):
                    acc += np.float64(X[i, q]) * R[q, j]
                out[i, j] = acc


@njit(cache=True, nogil=True, fastmath=FAST)
def sq_dist_to_assigned(X, centers, labels, slab_rows, out, lo, hi):
    """OUT: ``out[i] = ||X[i] - centers[labels[i]]||²`` summed directly (no norm trick), in float64.

    Vectorised along the features (a fixed order per row, whatever its position).
    """
    n, d = X.shape
    for s in range(lo, hi):
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            c = centers[labels[i]]
            acc = 0.0
            for q in range(d):
                diff = np.float64(X[i, q]) - np.float64(c[q])
                acc += diff * diff
            out[i] = acc


@njit(cache=True, nogil=True, fastmath=FAST)
def weighted_sq_dist_sum(X, centers, labels, weights, slab_rows, out, lo, hi):
    """OUT: ``out[s] = sum w ||X[i] - centers[labels[i]]||²`` over slab s, summed directly in
    float64 (``weights`` None: unit)."""
    n, d = X.shape
    for s in range(lo, hi):
        total = 0.0
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            c = centers[labels[i]]
            acc = 0.0
            for q in range(d):
                diff = np.float64(X[i, q]) - np.float64(c[q])
                acc += diff * diff
            total += weight(weights, i) * acc
        out[s] = total


@njit(cache=True, nogil=True)
def feature_sums(X, weights, center, slab_rows, out, lo, hi):
    """OUT: per slab s and feature, ``out[s, 0] = sum w (x - center)`` and
    ``out[s, 1] = sum w (x - center)²`` (``weights`` None: unit)."""
    n, d = X.shape
    for s in range(lo, hi):
        first = out[s, 0]
        second = out[s, 1]
        first[:] = 0.0
        second[:] = 0.0
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            w = weight(weights, i)
            x = X[i]
            for q in range(d):
                v = np.float64(x[q]) - center[q]
                wv = w * v
                first[q] += wv
                second[q] += wv * v
