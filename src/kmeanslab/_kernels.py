"""Compiled kernels: the only code that loops over samples.

Every kernel works on fixed row *slabs* (a partition of the rows that depends on n, k and d,
never on the number of threads) and writes one partial result per slab; the caller reduces
the slabs in a fixed order. That is why the same seed gives bit-identical results with one
thread or many. Inside a slab, rows are processed in chunks small enough that the chunk of X
and its k dot products stay in cache between the distance and the accumulation steps, so X
is read from memory once per pass.

Distances use ||x||² + ||c||² − 2 x·c with the dot products from BLAS (one matrix product per
chunk); ||x||² is precomputed once per fit and only added back where a distance value (not
just the argmin) is needed.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, inline="always")
def _argmin_row(dots, i, c_sq, k):
    # Strict '<' keeps the lowest index on ties.
    best = c_sq[0] - 2.0 * dots[i, 0]
    best_j = 0
    for j in range(1, k):
        value = c_sq[j] - 2.0 * dots[i, j]
        if value < best:
            best = value
            best_j = j
    return best_j, best


@njit(cache=True, nogil=True)
def assign_rows(X, start, stop, centers_t, c_sq, x_sq, dots, labels, min_d2):
    """Nearest centre for rows ``start:stop`` of X (one BLAS product), written in place.

    ``centers_t`` is the (d, k) transposed centres, ``dots`` a scratch array of at least
    ``stop - start`` rows. ``min_d2`` receives the squared distance, clipped at 0.
    """
    m = stop - start
    k = centers_t.shape[1]
    block = dots[:m]
    np.dot(X[start:stop], centers_t, block)
    for i in range(m):
        j, best = _argmin_row(block, i, c_sq, k)
        labels[start + i] = j
        d2 = x_sq[start + i] + best
        min_d2[start + i] = d2 if d2 > 0.0 else 0.0


@njit(cache=True, nogil=True, inline="always")
def _accumulate_row(X, i, j, w, sums, wsums):
    wsums[j] += w
    for q in range(X.shape[1]):
        sums[j, q] += w * X[i, q]


@njit(parallel=True, cache=True)
def lloyd_pass(X, centers_t, c_sq, x_sq, weights, chunk, slab_rows, labels, min_d2, sums, wsums):
    """One fused Lloyd pass: assign every row and accumulate per-cluster sums, per slab.

    ``sums`` (n_slabs, k, d) and ``wsums`` (n_slabs, k) are float64 and overwritten.
    ``weights`` is None (all ones) or a float64 array of n weights.
    """
    n = X.shape[0]
    k = centers_t.shape[1]
    n_slabs = sums.shape[0]
    for s in prange(n_slabs):
        dots = np.empty((chunk, k), dtype=X.dtype)
        slab_sums = sums[s]
        slab_w = wsums[s]
        slab_sums[:, :] = 0.0
        slab_w[:] = 0.0
        lo = s * slab_rows
        hi = min(lo + slab_rows, n)
        for a in range(lo, hi, chunk):
            b = min(a + chunk, hi)
            assign_rows(X, a, b, centers_t, c_sq, x_sq, dots, labels, min_d2)
            for i in range(a, b):
                w = 1.0 if weights is None else weights[i]
                _accumulate_row(X, i, labels[i], w, slab_sums, slab_w)


@njit(parallel=True, cache=True)
def assign_all(X, centers_t, c_sq, x_sq, chunk, slab_rows, n_slabs, labels, min_d2):
    """Nearest centre and squared distance for every row, without accumulating."""
    n = X.shape[0]
    k = centers_t.shape[1]
    for s in prange(n_slabs):
        dots = np.empty((chunk, k), dtype=X.dtype)
        lo = s * slab_rows
        hi = min(lo + slab_rows, n)
        for a in range(lo, hi, chunk):
            assign_rows(X, a, min(a + chunk, hi), centers_t, c_sq, x_sq, dots, labels, min_d2)


@njit(parallel=True, cache=True)
def accumulate(X, labels, weights, slab_rows, sums, wsums):
    """Per-slab sums of the (weighted) rows of each cluster; ``sums``/``wsums`` are overwritten."""
    n = X.shape[0]
    n_slabs = sums.shape[0]
    for s in prange(n_slabs):
        slab_sums = sums[s]
        slab_w = wsums[s]
        slab_sums[:, :] = 0.0
        slab_w[:] = 0.0
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            w = 1.0 if weights is None else weights[i]
            _accumulate_row(X, i, labels[i], w, slab_sums, slab_w)


@njit(parallel=True, cache=True)
def sq_dist_to_assigned(X, centers, labels, slab_rows, n_slabs, out):
    """``out[i] = ||X[i] - centers[labels[i]]||²`` summed directly (no norm trick), in float64."""
    n, d = X.shape
    for s in prange(n_slabs):
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            c = centers[labels[i]]
            acc = 0.0
            for q in range(d):
                diff = np.float64(X[i, q]) - np.float64(c[q])
                acc += diff * diff
            out[i] = acc


@njit(parallel=True, cache=True)
def row_sq_norms(X, slab_rows, n_slabs, out):
    """``out[i] = ||X[i]||²`` accumulated in float64."""
    n, d = X.shape
    for s in prange(n_slabs):
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            acc = 0.0
            for q in range(d):
                v = np.float64(X[i, q])
                acc += v * v
            out[i] = acc


@njit(parallel=True, cache=True)
def candidate_potentials(X, cand_t, cand_sq, x_sq, closest, weights, chunk, slab_rows, out):
    """k-means++ trial step: for each candidate centre, the potential ``sum w·min(closest, d²)``.

    ``out`` (n_slabs, n_candidates) receives one partial potential per slab; nothing of size
    n x n_candidates is stored.
    """
    n = X.shape[0]
    n_cand = cand_t.shape[1]
    n_slabs = out.shape[0]
    for s in prange(n_slabs):
        dots = np.empty((chunk, n_cand), dtype=X.dtype)
        acc = out[s]
        acc[:] = 0.0
        lo = s * slab_rows
        hi = min(lo + slab_rows, n)
        for a in range(lo, hi, chunk):
            b = min(a + chunk, hi)
            block = dots[: b - a]
            np.dot(X[a:b], cand_t, block)
            for i in range(b - a):
                w = 1.0 if weights is None else weights[a + i]
                for j in range(n_cand):
                    d2 = x_sq[a + i] + cand_sq[j] - 2.0 * block[i, j]
                    if d2 < 0.0:
                        d2 = 0.0
                    if d2 > closest[a + i]:
                        d2 = closest[a + i]
                    acc[j] += w * d2


@njit(parallel=True, cache=True)
def update_closest(X, center, c_sq, x_sq, slab_rows, n_slabs, closest):
    """``closest[i] = min(closest[i], ||X[i] - center||²)`` by the norm trick, clipped at 0."""
    n, d = X.shape
    for s in prange(n_slabs):
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            dot = 0.0
            for q in range(d):
                dot += np.float64(X[i, q]) * np.float64(center[q])
            d2 = x_sq[i] + c_sq - 2.0 * dot
            if d2 < 0.0:
                d2 = 0.0
            if d2 < closest[i]:
                closest[i] = d2


@njit(parallel=True, cache=True)
def projection_keys(X, R, slab_rows, n_slabs, out):
    """``out[i] = X[i] @ R`` in float64, each row summed in one fixed order.

    Identical rows get bit-identical keys wherever they sit in X, which is what makes the
    canonical order of :func:`kmeanslab.engine.canonical_order` independent of row order.
    """
    n, d = X.shape
    m = R.shape[1]
    for s in prange(n_slabs):
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            for j in range(m):
                acc = 0.0
                for q in range(d):
                    acc += np.float64(X[i, q]) * R[q, j]
                out[i, j] = acc
