"""Compiled kernels: the only code that loops over samples.

Every kernel works on fixed row *slabs* (a partition of the rows that depends on n, k and d,
never on the number of threads) and writes one partial result per slab; the caller reduces
the slabs in a fixed order. That is why the same seed gives bit-identical results with one
thread or many. Inside a slab, rows are processed in chunks small enough that the chunk of X
and its k dot products stay in cache between the distance and the accumulation steps, so X
is read from memory once per pass.

Distances use ||x||² + ||c||² − 2 x·c. The dot products of a chunk come from one of two
interchangeable sources, chosen per problem shape (see :class:`kmeanslab.engine.Layout`):

* a register-tiled kernel (4 rows x 3 centres per tile, 12 accumulators, vectorised along the
  features), best when k is small and d large: a BLAS product with few columns wastes most of
  its time packing;
* a BLAS matrix product (OpenBLAS sgemm/dgemm through SciPy), best for large k.

Both compute each dot product in an order that does not depend on where the row sits in the
chunk (rows are padded to whole tiles), so gathering rows in a different order gives the same
numbers. ``c_half`` is ||c||²/2 in the data's dtype and ``val = c_half - x·c`` is the quantity
minimised; the squared distance is ``x_sq + 2 val`` (``x_sq`` in float64, computed once).

The pruning kernels (Hamerly, Elkan, Yinyang) keep *lazy* bounds: a stored bound is offset by
the cumulative centre drift at the time it was set, so a point whose bounds still prove its
assignment costs a few loads and no store. Bounds are float32, rounded outwards, and every
test keeps a margin ``2 E`` that covers the rounding error of the norm trick, so a point is
only left alone when plain Lloyd would have given it the same label.
"""

from __future__ import annotations

import time

import numpy as np

# numba's np.dot loads BLAS from SciPy's cython_blas: load it now, before any threadpool limit
# is set, so that the limit applies to it.
import scipy.linalg.cython_blas  # noqa: F401
from numba import njit, prange, types
from numba.core import event as numba_event

# Vectorised dot products need reassociation; FMA contraction is what the hardware does best.
# Neither touches inf/NaN semantics.
_FAST = {"reassoc", "contract", "nsz"}

MODE_LLOYD, MODE_HAMERLY, MODE_YINYANG, MODE_ELKAN = 0, 1, 2, 3


class _CompileClock(numba_event.Listener):
    """Adds up the wall time numba spends compiling (outermost compilations only)."""

    def __init__(self):
        self.seconds = 0.0
        self._depth = 0
        self._started = 0.0

    def on_start(self, event):
        if self._depth == 0:
            self._started = time.perf_counter()
        self._depth += 1

    def on_end(self, event):
        self._depth -= 1
        if self._depth == 0:
            self.seconds += time.perf_counter() - self._started


_COMPILE_CLOCK = _CompileClock()
numba_event.register("numba:compile", _COMPILE_CLOCK)


def compile_seconds() -> float:
    """Wall seconds this process has spent compiling kernels so far.

    Timings shown to users (the report's headings) subtract it, so that they measure the
    engine and not its one-time compilation.
    """
    return _COMPILE_CLOCK.seconds


_F32_UP = 2.0**-22
_TINY = 1e-30
_BIG = 3.0e38


# --------------------------------------------------------------------------- prefetching


def _make_prefetch():
    """``prefetch(X, i, q)``: hint the CPU to load the cache line of ``X[i, q]`` (LLVM intrinsic).

    Falls back to a no-op where this numba/LLVM does not accept the intrinsic.
    """
    try:
        from llvmlite import binding, ir
        from numba.core import cgutils
        from numba.extending import intrinsic

        name = "llvm.prefetch.p0" if binding.llvm_version_info[0] >= 15 else "llvm.prefetch.p0i8"

        @intrinsic
        def prefetch(typingctx, arr, i, q):
            def codegen(context, builder, signature, args):
                aryty = signature.args[0]
                ary = context.make_array(aryty)(context, builder, args[0])
                ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1], args[2]], wraparound=False)
                i8p = ir.IntType(8).as_pointer()
                i32 = ir.IntType(32)
                fn = cgutils.get_or_insert_function(
                    builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), name
                )
                # read access, keep in all cache levels, data cache
                builder.call(
                    fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)]
                )
                return context.get_dummy_value()

            return types.void(arr, i, q), codegen

        @njit(nogil=True)
        def _check(a):
            prefetch(a, 0, 0)

        _check(np.zeros((1, 1), dtype=np.float32))
        return prefetch
    except Exception:  # pragma: no cover - depends on the numba/LLVM build

        @njit(nogil=True, inline="always")
        def prefetch(arr, i, q):
            pass

        return prefetch


_prefetch = _make_prefetch()


# --------------------------------------------------------------------------- dense dot products


@njit(cache=True, nogil=True, fastmath=_FAST)
def _tiles3(X, rows, m_pad, C, j_lo, j_hi, out, prefetch):
    """``out[r, j] = X[rows[r]] · C[j]`` for r < m_pad (a multiple of 4), j in [j_lo, j_hi) by 3.

    With ``prefetch``, the cache lines of the next four rows are requested a few at a time,
    one batch per tile, so that they arrive from memory while this group is computed.
    """
    d = X.shape[1]
    step = max(1, 64 // X.itemsize)
    row_lines = (d + step - 1) // step
    n_tiles = max(1, (j_hi - j_lo) // 3)
    per_tile = (4 * row_lines + n_tiles - 1) // n_tiles
    for r in range(0, m_pad, 4):
        x0 = X[rows[r]]
        x1 = X[rows[r + 1]]
        x2 = X[rows[r + 2]]
        x3 = X[rows[r + 3]]
        line = 0
        for j in range(j_lo, j_hi, 3):
            if prefetch and r + 8 <= m_pad:
                for _ in range(per_tile):
                    if line < 4 * row_lines:
                        _prefetch(X, rows[r + 4 + line // row_lines], (line % row_lines) * step)
                        line += 1
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
            out[r, j] = a00
            out[r, j + 1] = a01
            out[r, j + 2] = a02
            out[r + 1, j] = a10
            out[r + 1, j + 1] = a11
            out[r + 1, j + 2] = a12
            out[r + 2, j] = a20
            out[r + 2, j + 1] = a21
            out[r + 2, j + 2] = a22
            out[r + 3, j] = a30
            out[r + 3, j + 1] = a31
            out[r + 3, j + 2] = a32


@njit(cache=True, nogil=True, fastmath=_FAST)
def _tiles2(X, rows, m_pad, C, j_lo, j_hi, out):
    """As :func:`_tiles3` with 4 x 2 tiles, for the one or two pairs of centres left over."""
    d = X.shape[1]
    for r in range(0, m_pad, 4):
        x0 = X[rows[r]]
        x1 = X[rows[r + 1]]
        x2 = X[rows[r + 2]]
        x3 = X[rows[r + 3]]
        for j in range(j_lo, j_hi, 2):
            c0 = C[j]
            c1 = C[j + 1]
            u0 = c0[0]
            u1 = c1[0]
            a00 = x0[0] * u0
            a01 = x0[0] * u1
            a10 = x1[0] * u0
            a11 = x1[0] * u1
            a20 = x2[0] * u0
            a21 = x2[0] * u1
            a30 = x3[0] * u0
            a31 = x3[0] * u1
            for q in range(1, d):
                u0 = c0[q]
                u1 = c1[q]
                v = x0[q]
                a00 += v * u0
                a01 += v * u1
                v = x1[q]
                a10 += v * u0
                a11 += v * u1
                v = x2[q]
                a20 += v * u0
                a21 += v * u1
                v = x3[q]
                a30 += v * u0
                a31 += v * u1
            out[r, j] = a00
            out[r, j + 1] = a01
            out[r + 1, j] = a10
            out[r + 1, j + 1] = a11
            out[r + 2, j] = a20
            out[r + 2, j + 1] = a21
            out[r + 3, j] = a30
            out[r + 3, j + 1] = a31


@njit(cache=True, nogil=True)
def _chunk_dots(X, rows, m, start, C, CT, use_blas, center_block, n3, xbuf, dots):
    """Dot products of ``m`` rows with every centre, into ``dots[:m]``.

    The rows are ``start .. start+m`` when ``start >= 0``, else ``rows[:m]``. With BLAS,
    gathered rows are copied to ``xbuf`` first. The tiled kernel handles ``C`` (k_pad, d) as
    ``n3`` centres in 3-tiles (in cache blocks of ``center_block``) and the rest in 2-tiles.
    """
    if use_blas:
        if start >= 0:
            np.dot(X[start : start + m], CT, dots[:m])
        else:
            for t in range(m):
                xbuf[t, :] = X[rows[t]]
            np.dot(xbuf[:m], CT, dots[:m])
        return
    if start >= 0:
        for t in range(m):
            rows[t] = start + t
    m_pad = (m + 3) // 4 * 4
    for t in range(m, m_pad):
        rows[t] = rows[m - 1]
    for jb in range(0, n3, center_block):
        # Rows come from memory during the first block of centres; later blocks find them in cache.
        _tiles3(X, rows, m_pad, C, jb, min(jb + center_block, n3), dots, jb == 0)
    if n3 < C.shape[0]:
        _tiles2(X, rows, m_pad, C, n3, C.shape[0], dots)


@njit(cache=True, nogil=True, fastmath=_FAST)
def _row_dots(X, i, C, cand, nc, out):
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


@njit(cache=True, nogil=True, fastmath=_FAST)
def _direct_sq_dist(X, i, c):
    """``||X[i] - c||²`` summed directly in the data's dtype (relative error ~ d·eps)."""
    x = X[i]
    diff = x[0] - c[0]
    acc = diff * diff
    for q in range(1, X.shape[1]):
        diff = x[q] - c[q]
        acc += diff * diff
    return np.float64(acc)


# --------------------------------------------------------------------------- small helpers


@njit(cache=True, nogil=True, inline="always")
def _up32(v):
    """A float32 no smaller than ``v``."""
    if v > _BIG:
        return np.float32(np.inf)
    return np.float32(v + abs(v) * _F32_UP + _TINY)


@njit(cache=True, nogil=True, inline="always")
def _down32(v):
    """A float32 no larger than ``v`` (branch-free, so that loops of it vectorise)."""
    v = min(v, _BIG)
    return np.float32(v - abs(v) * _F32_UP - _TINY)


@njit(cache=True, nogil=True, inline="always")
def _upper_dist(d2, e):
    """An upper bound on the true distance from a computed squared distance with error ``e``."""
    return np.sqrt(max(d2 + e, 0.0))


@njit(cache=True, nogil=True, inline="always")
def _lower_dist(d2, e):
    """A lower bound on the true distance from a computed squared distance with error ``e``."""
    return np.sqrt(max(d2 - e, 0.0))


@njit(cache=True, nogil=True, inline="always")
def _proves(lower, u2e):
    """True when a lower bound ``lower`` on a distance proves it exceeds the assigned one by the margin."""
    return lower > 0.0 and lower * lower >= u2e


@njit(cache=True, nogil=True, inline="always")
def _record_move(move_idx, move_old, base, cap, n_moves, i, old):
    """Note that point ``i`` left cluster ``old``; past ``cap`` moves only count them."""
    if n_moves < cap:
        move_idx[base + n_moves] = i
        move_old[base + n_moves] = old
    return n_moves + 1


@njit(cache=True, nogil=True, inline="always")
def _weight(weights, i):
    return 1.0 if weights.shape[0] == 0 else weights[i]


@njit(cache=True, nogil=True)
def _accumulate_grouped(X, rows, m, labels_of, weights, k, order, counts, sums, wsums):
    """Add rows ``rows[:m]`` (labels ``labels_of[:m]``) to ``sums``/``wsums``, label by label.

    Within a label, rows are taken in index order, four at a time: their float64 values are
    summed pairwise and added to the cluster's sum row in one read-modify-write, which cuts
    the stores (the bottleneck) by four. The order depends only on the chunk's rows and
    labels, so every pass that accumulates a chunk (:func:`dense_pass`, :func:`accumulate`)
    gives bit-identical sums, whatever the number of threads.
    """
    d = X.shape[1]
    counts[: k + 1] = 0
    for t in range(m):
        counts[labels_of[t] + 1] += 1
    for j in range(k):
        counts[j + 1] += counts[j]
    for t in range(m):
        j = labels_of[t]
        order[counts[j]] = rows[t]
        counts[j] += 1
    # counts[j] now ends group j; group j starts where group j - 1 ended.
    start = 0
    unit = weights.shape[0] == 0
    for j in range(k):
        stop = counts[j]
        if stop == start:
            continue
        row = sums[j]
        w_total = 0.0
        p = start
        while p + 4 <= stop:
            x0 = X[order[p]]
            x1 = X[order[p + 1]]
            x2 = X[order[p + 2]]
            x3 = X[order[p + 3]]
            if unit:
                w_total += 4.0
                for q in range(d):
                    row[q] += (np.float64(x0[q]) + np.float64(x1[q])) + (np.float64(x2[q]) + np.float64(x3[q]))
            else:
                w0 = weights[order[p]]
                w1 = weights[order[p + 1]]
                w2 = weights[order[p + 2]]
                w3 = weights[order[p + 3]]
                w_total += (w0 + w1) + (w2 + w3)
                for q in range(d):
                    row[q] += (w0 * x0[q] + w1 * x1[q]) + (w2 * x2[q] + w3 * x3[q])
            p += 4
        while p < stop:
            x0 = X[order[p]]
            if unit:
                w_total += 1.0
                for q in range(d):
                    row[q] += x0[q]
            else:
                w0 = weights[order[p]]
                w_total += w0
                for q in range(d):
                    row[q] += w0 * x0[q]
            p += 1
        wsums[j] += w_total
        start = stop


@njit(cache=True, nogil=True, fastmath={"nnan", "nsz", "reassoc"})
def _min_value(dots_row, c_half, k):
    m = c_half[0] - dots_row[0]
    for j in range(1, k):
        m = min(m, c_half[j] - dots_row[j])
    return m


@njit(cache=True, nogil=True)
def _nearest(dots_row, c_half, k):
    """Index and value of the smallest ``c_half[j] − dots_row[j]``, ties to the lowest index.

    For many centres, a vectorised minimum then a search for its first occurrence beats a
    compare-and-select chain (its latency, not its work, is the limit).
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
    m = _min_value(dots_row, c_half, k)
    for j in range(k):
        if c_half[j] - dots_row[j] == m:
            return j, m
    return 0, m  # unreachable: m is one of the values


# --------------------------------------------------------------------------- full passes


@njit(parallel=True, cache=True)
def dense_pass(
    X,
    C,
    CT,
    c_half,
    x_sq,
    weights,
    chunk,
    slab_rows,
    use_blas,
    center_block,
    n3,
    mode,
    groups,
    margin,
    cmax_sq,
    cum,
    cum_group,
    cum_max,
    labels,
    min_d2,
    upper,
    lower,
    glower,
    sums,
    wsums,
    slab_stats,
    accumulate_sums,
    move_idx,
    move_old,
    move_cap,
):
    """Every distance computed: new labels, per-slab cluster sums, and (by ``mode``) bounds.

    With ``accumulate_sums`` false, the sums are left alone and each point that changed
    cluster is recorded instead (see :func:`apply_moves`), which is cheaper once few move.

    ``MODE_LLOYD`` writes ``min_d2`` (squared distance to the assigned centre, clipped at 0).
    The pruning modes set lazy bounds instead: ``upper`` (n,), and ``lower`` (n, 1) for
    Hamerly (second-nearest), (n, n_groups) for Yinyang (nearest of each group other than the
    assigned centre, with ``glower`` the smallest of them), (n, k) for Elkan (every centre).
    ``sums`` (n_slabs, k, d) and ``wsums`` (n_slabs, k) are overwritten; ``slab_stats[s]``
    receives (labels changed, weighted sum of squared distances). ``weights`` of length 0
    means unit weights.
    """
    n, d = X.shape
    k = c_half.shape[0]
    n_slabs = sums.shape[0]
    n_cols = CT.shape[1] if use_blas else C.shape[0]
    n_groups = lower.shape[1] if mode == MODE_YINYANG else 1
    for s in prange(n_slabs):
        rows = np.empty(chunk + 4, np.int64)
        dots = np.empty((chunk + 4, n_cols), X.dtype)
        xbuf = np.empty((1, d), X.dtype)
        best_of = np.empty(chunk, np.int64)
        order = np.empty(chunk, np.int64)
        counts = np.empty(k + 1, np.int64)
        gmin = np.empty(n_groups, np.float64)
        slab_sums = sums[s]
        slab_w = wsums[s]
        if accumulate_sums:
            slab_sums[:, :] = 0.0
            slab_w[:] = 0.0
        changed = 0
        loss = 0.0
        lo = s * slab_rows
        hi = min(lo + slab_rows, n)
        for a in range(lo, hi, chunk):
            m = min(a + chunk, hi) - a
            _chunk_dots(X, rows, m, a, C, CT, use_blas, center_block, n3, xbuf, dots)
            for t in range(m):
                i = a + t
                bj, best = _nearest(dots[t], c_half, k)
                if labels[i] != bj:
                    if not accumulate_sums:
                        _record_move(move_idx, move_old, s * move_cap, move_cap, changed, i, labels[i])
                    changed += 1
                labels[i] = bj
                best_of[t] = bj
                rows[t] = i
                d2 = x_sq[i] + 2.0 * best
                if d2 < 0.0:
                    d2 = 0.0
                loss += _weight(weights, i) * d2
                if mode == MODE_LLOYD:
                    min_d2[i] = d2
                    continue
                e = margin * (x_sq[i] + cmax_sq)
                upper[i] = _up32(_upper_dist(d2, e) - cum[bj])
                if mode == MODE_HAMERLY:
                    second = np.inf
                    for j in range(k):
                        if j != bj:
                            v = c_half[j] - dots[t, j]
                            if v < second:
                                second = v
                    low = _lower_dist(x_sq[i] + 2.0 * second, e) if second < np.inf else np.inf
                    lower[i, 0] = _down32(low + cum_max)
                elif mode == MODE_YINYANG:
                    gmin[:] = np.inf
                    for j in range(k):
                        if j != bj:
                            v = c_half[j] - dots[t, j]
                            g = groups[j]
                            if v < gmin[g]:
                                gmin[g] = v
                    smallest = np.inf
                    for g in range(n_groups):
                        low = _lower_dist(x_sq[i] + 2.0 * gmin[g], e) if gmin[g] < np.inf else np.inf
                        smallest = min(smallest, low)
                        lower[i, g] = _down32(low + cum_group[g])
                    glower[i] = _down32(smallest + cum_max)
                else:
                    smallest = np.inf
                    for j in range(k):
                        low = _lower_dist(x_sq[i] + 2.0 * (c_half[j] - dots[t, j]), e)
                        lower[i, j] = _down32(low + cum[j])
                        if j != bj:
                            smallest = min(smallest, low)
                    glower[i] = _down32(smallest + cum_max)
            if accumulate_sums:
                # X rows of this chunk are still in cache: add them to the sums now.
                _accumulate_grouped(X, rows, m, best_of, weights, k, order, counts, slab_sums, slab_w)
        slab_stats[s, 0] = changed
        slab_stats[s, 1] = loss


@njit(parallel=True, cache=True)
def assign_pass(X, C, CT, c_half, x_sq, chunk, slab_rows, n_slabs, use_blas, center_block, n3, labels, min_d2):
    """Nearest centre and squared distance (clipped at 0) for every row, no accumulation."""
    n, d = X.shape
    k = c_half.shape[0]
    n_cols = CT.shape[1] if use_blas else C.shape[0]
    for s in prange(n_slabs):
        rows = np.empty(chunk + 4, np.int64)
        dots = np.empty((chunk + 4, n_cols), X.dtype)
        xbuf = np.empty((1, d), X.dtype)
        lo = s * slab_rows
        hi = min(lo + slab_rows, n)
        for a in range(lo, hi, chunk):
            m = min(a + chunk, hi) - a
            _chunk_dots(X, rows, m, a, C, CT, use_blas, center_block, n3, xbuf, dots)
            for t in range(m):
                bj, best = _nearest(dots[t], c_half, k)
                labels[a + t] = bj
                d2 = x_sq[a + t] + 2.0 * best
                min_d2[a + t] = d2 if d2 > 0.0 else 0.0


@njit(parallel=True, cache=True)
def reduce_slabs(sums, wsums, out_sums, out_wsums):
    """``out = sums.sum(axis=0)`` over the slabs, in slab order, in parallel over the clusters."""
    n_slabs, k, d = sums.shape
    for j in prange(k):
        row = out_sums[j]
        row[:] = sums[0, j]
        w = wsums[0, j]
        for s in range(1, n_slabs):
            part = sums[s, j]
            for q in range(d):
                row[q] += part[q]
            w += wsums[s, j]
        out_wsums[j] = w


@njit(parallel=True, cache=True)
def accumulate(X, labels, weights, chunk, slab_rows, sums, wsums):
    """Per-slab sums of the (weighted) rows of each cluster; ``sums``/``wsums`` are overwritten.

    Adds exactly what :func:`dense_pass` adds, in the same order, so the sums are bit-identical.
    """
    n = X.shape[0]
    k = sums.shape[1]
    n_slabs = sums.shape[0]
    for s in prange(n_slabs):
        rows = np.empty(chunk, np.int64)
        lab = np.empty(chunk, np.int64)
        order = np.empty(chunk, np.int64)
        counts = np.empty(k + 1, np.int64)
        slab_sums = sums[s]
        slab_w = wsums[s]
        slab_sums[:, :] = 0.0
        slab_w[:] = 0.0
        lo = s * slab_rows
        hi = min(lo + slab_rows, n)
        for a in range(lo, hi, chunk):
            m = min(a + chunk, hi) - a
            for t in range(m):
                rows[t] = a + t
                lab[t] = labels[a + t]
            _accumulate_grouped(X, rows, m, lab, weights, k, order, counts, slab_sums, slab_w)


@njit(parallel=True, cache=True)
def apply_moves(X, weights, labels, move_idx, move_old, slab_moves, move_cap, col_block, sums, wsums, members):
    """Move each changed point's row from its old cluster's sum to its new one's.

    Slab ``s`` recorded ``slab_moves[s]`` moves from ``s * move_cap`` on. Moves are applied in
    slab order, then index order, whatever the number of threads: the
    threads split the features into fixed blocks instead of splitting the points. ``members``
    counts the points of positive weight in each cluster, so that a cluster that loses its
    last one gets sums of exactly zero, as a full recount would give.
    """
    d = X.shape[1]
    n_slabs = slab_moves.shape[0]
    n_blocks = (d + col_block - 1) // col_block
    for b in prange(n_blocks + 1):
        if b == n_blocks:
            for s in range(n_slabs):
                base = s * move_cap
                for t in range(base, base + slab_moves[s]):
                    i = move_idx[t]
                    w = _weight(weights, i)
                    old = move_old[t]
                    new = labels[i]
                    wsums[old] -= w
                    wsums[new] += w
                    if w > 0.0:
                        members[old] -= 1
                        members[new] += 1
            continue
        q0 = b * col_block
        q1 = min(q0 + col_block, d)
        for s in range(n_slabs):
            base = s * move_cap
            for t in range(base, base + slab_moves[s]):
                i = move_idx[t]
                old = move_old[t]
                new = labels[i]
                x = X[i]
                if weights.shape[0] == 0:
                    for q in range(q0, q1):
                        v = np.float64(x[q])
                        sums[old, q] -= v
                        sums[new, q] += v
                else:
                    w = weights[i]
                    for q in range(q0, q1):
                        v = w * x[q]
                        sums[old, q] -= v
                        sums[new, q] += v


# --------------------------------------------------------------------------- Hamerly


@njit(cache=True, nogil=True)
def _hamerly_chunk(
    X,
    rows,
    m,
    C,
    CT,
    c_half,
    x_sq,
    use_blas,
    center_block,
    n3,
    xbuf,
    dots,
    margin,
    cmax_sq,
    cum,
    cum_max,
    labels,
    upper,
    lower,
    move_idx,
    move_old,
    n_moves,
    base,
    cap,
):
    """Full assignment of gathered rows ``rows[:m]``; resets their bounds; records moves."""
    k = c_half.shape[0]
    _chunk_dots(X, rows, m, -1, C, CT, use_blas, center_block, n3, xbuf, dots)
    for t in range(m):
        i = rows[t]
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
        e = margin * (x_sq[i] + cmax_sq)
        old = labels[i]
        if old != bj:
            n_moves = _record_move(move_idx, move_old, base, cap, n_moves, i, old)
            labels[i] = bj
            upper[i] = _up32(_upper_dist(x_sq[i] + 2.0 * best, e) - cum[bj])
        else:
            # The direct distance just computed is tighter than the norm trick's.
            upper[i] = min(upper[i], _up32(_upper_dist(x_sq[i] + 2.0 * best, e) - cum[bj]))
        lower[i, 0] = _down32(_lower_dist(x_sq[i] + 2.0 * second, e) + cum_max)
    return n_moves


@njit(parallel=True, cache=True)
def hamerly_step(
    X,
    C,
    CT,
    c_half,
    x_sq,
    chunk,
    slab_rows,
    use_blas,
    center_block,
    n3,
    s_half,
    margin,
    cmax_sq,
    tight,
    cum,
    cum_max,
    labels,
    upper,
    lower,
    move_idx,
    move_old,
    move_cap,
    slab_stats,
):
    """One Hamerly assignment (lazy bounds; see the module docstring).

    A point keeps its centre when ``max(lower bound, 2 s(a) − u)`` proves the margin, where
    ``s(a)`` is half the distance from its centre to the nearest other centre; else ``u`` is
    tightened to the direct distance and the test repeated; the points that still fail are
    gathered, a chunk at a time, and run through the dense kernel. ``slab_stats[s]`` gets
    (moves, points fully reassigned, points tightened).
    """
    n, d = X.shape
    n_slabs = slab_stats.shape[0]
    n_cols = CT.shape[1] if use_blas else C.shape[0]
    for s in prange(n_slabs):
        rows = np.empty(chunk + 4, np.int64)
        dots = np.empty((chunk + 4, n_cols), X.dtype)
        xbuf = np.empty((chunk if use_blas else 1, d), X.dtype)
        lo = s * slab_rows
        hi = min(lo + slab_rows, n)
        n_moves = 0
        n_full = 0
        n_tight = 0
        nb = 0
        for i in range(lo, hi):
            a = labels[i]
            u = np.float64(upper[i]) + cum[a]
            low = np.float64(lower[i, 0]) - cum_max
            e = margin * (x_sq[i] + cmax_sq)
            z = max(low, 2.0 * s_half[a] - u)
            if _proves(z, u * u + 2.0 * e):
                continue
            n_tight += 1
            u = np.sqrt(_direct_sq_dist(X, i, C[a]) * tight)
            z = max(low, 2.0 * s_half[a] - u)
            upper[i] = _up32(u - cum[a])
            if _proves(z, u * u + 2.0 * e):
                continue
            rows[nb] = i
            nb += 1
            if nb == chunk:
                n_full += nb
                n_moves = _hamerly_chunk(
                    X,
                    rows,
                    nb,
                    C,
                    CT,
                    c_half,
                    x_sq,
                    use_blas,
                    center_block,
                    n3,
                    xbuf,
                    dots,
                    margin,
                    cmax_sq,
                    cum,
                    cum_max,
                    labels,
                    upper,
                    lower,
                    move_idx,
                    move_old,
                    n_moves,
                    s * move_cap,
                    move_cap,
                )
                nb = 0
        if nb > 0:
            n_full += nb
            n_moves = _hamerly_chunk(
                X,
                rows,
                nb,
                C,
                CT,
                c_half,
                x_sq,
                use_blas,
                center_block,
                n3,
                xbuf,
                dots,
                margin,
                cmax_sq,
                cum,
                cum_max,
                labels,
                upper,
                lower,
                move_idx,
                move_old,
                n_moves,
                s * move_cap,
                move_cap,
            )
        slab_stats[s, 0] = n_moves
        slab_stats[s, 1] = n_full
        slab_stats[s, 2] = n_tight


# --------------------------------------------------------------------------- Yinyang


@njit(parallel=True, cache=True)
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
    cum,
    cum_group,
    prev_cum_group,
    cum_max,
    labels,
    upper,
    lower,
    glower,
    move_idx,
    move_old,
    move_cap,
    slab_stats,
):
    """One Yinyang assignment (Ding et al. 2015) with lazy bounds.

    Global filter on the smallest group bound, then (after tightening the upper bound) a group
    filter and, inside a surviving group, a per-centre filter on the group's previous bound
    minus the centre's own drift; only the survivors' distances are computed, four centres at
    a time. ``slab_stats[s]`` gets (moves, points that reached the group filter, distances
    computed).
    """
    n, d = X.shape
    k = c_half.shape[0]
    n_groups = lower.shape[1]
    n_slabs = slab_stats.shape[0]
    for s in prange(n_slabs):
        cand = np.empty(k, np.int64)
        dots = np.empty(k, X.dtype)
        new_low = np.empty(n_groups, np.float64)
        examined = np.empty(n_groups, np.bool_)
        lo = s * slab_rows
        hi = min(lo + slab_rows, n)
        n_moves = 0
        n_group = 0
        n_dist = 0
        for i in range(lo, hi):
            a = labels[i]
            u = np.float64(upper[i]) + cum[a]
            e = margin * (x_sq[i] + cmax_sq)
            glob = np.float64(glower[i]) - cum_max
            if _proves(glob, u * u + 2.0 * e):
                continue
            u = np.sqrt(_direct_sq_dist(X, i, C[a]) * tight)
            upper[i] = _up32(u - cum[a])
            u2e = u * u + 2.0 * e
            if _proves(glob, u2e):
                continue
            n_group += 1
            # Group filter, then the per-centre filter inside each surviving group.
            nc = 0
            cand[nc] = a
            nc += 1
            for g in range(n_groups):
                stored = np.float64(lower[i, g])
                low = stored - cum_group[g]
                if _proves(low, u2e):
                    examined[g] = False
                    new_low[g] = low
                    continue
                examined[g] = True
                prev = stored - prev_cum_group[g]
                bound = np.inf
                for p in range(group_start[g], group_start[g + 1]):
                    j = group_members[p]
                    if j == a:
                        continue
                    lj = prev - drift[j]
                    if _proves(lj, u2e):
                        bound = min(bound, lj)
                    else:
                        cand[nc] = j
                        nc += 1
                new_low[g] = bound
            n_dist += nc
            _row_dots(X, i, C, cand, nc, dots)
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
                    low = _lower_dist(x_sq[i] + 2.0 * (c_half[j] - dots[t]), e)
                    g = groups[j]
                    if low < new_low[g]:
                        new_low[g] = low
            smallest = np.inf
            for g in range(n_groups):
                lower[i, g] = _down32(new_low[g] + cum_group[g])
                smallest = min(smallest, new_low[g])
            glower[i] = _down32(smallest + cum_max)
            if bj != a:
                n_moves = _record_move(move_idx, move_old, s * move_cap, move_cap, n_moves, i, a)
                labels[i] = bj
                upper[i] = _up32(_upper_dist(x_sq[i] + 2.0 * best, e) - cum[bj])
        slab_stats[s, 0] = n_moves
        slab_stats[s, 1] = n_group
        slab_stats[s, 2] = n_dist


# --------------------------------------------------------------------------- Elkan


@njit(cache=True, nogil=True, fastmath={"nnan", "nsz", "reassoc", "contract"})
def _elkan_bounds(lower_row, cum, half_cc_row, u, out):
    """``out_j = max(lower_j − cum_j, 2 half_cc_j − u)``, a lower bound on the distance to centre
    j; returns the smallest. ``half_cc_row`` is +inf at the point's own centre."""
    m = np.inf
    for j in range(lower_row.shape[0]):
        v = max(np.float64(lower_row[j]) - cum[j], 2.0 * half_cc_row[j] - u)
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
def _elkan_chunk(
    X,
    rows,
    m,
    C,
    CT,
    c_half,
    x_sq,
    use_blas,
    center_block,
    n3,
    xbuf,
    dots,
    margin,
    cmax_sq,
    cum,
    cum_max,
    labels,
    upper,
    lower,
    glower,
    move_idx,
    move_old,
    n_moves,
    base,
    cap,
):
    """Every distance for gathered rows ``rows[:m]``: new labels, all their bounds reset."""
    k = c_half.shape[0]
    _chunk_dots(X, rows, m, -1, C, CT, use_blas, center_block, n3, xbuf, dots)
    for t in range(m):
        i = rows[t]
        bj, best = _nearest(dots[t], c_half, k)
        e = margin * (x_sq[i] + cmax_sq)
        smallest = np.inf
        for j in range(k):
            low = _lower_dist(x_sq[i] + 2.0 * (c_half[j] - dots[t, j]), e)
            lower[i, j] = _down32(low + cum[j])
            if j != bj:
                smallest = min(smallest, low)
        glower[i] = _down32(smallest + cum_max)
        upper[i] = _up32(_upper_dist(x_sq[i] + 2.0 * best, e) - cum[bj])
        old = labels[i]
        if old != bj:
            n_moves = _record_move(move_idx, move_old, base, cap, n_moves, i, old)
            labels[i] = bj
    return n_moves


@njit(parallel=True, cache=True)
def elkan_step(
    X,
    C,
    CT,
    c_half,
    x_sq,
    chunk,
    slab_rows,
    use_blas,
    center_block,
    n3,
    half_cc,
    s_half,
    margin,
    cmax_sq,
    tight,
    cum,
    cum_max,
    gather_above,
    labels,
    upper,
    lower,
    glower,
    move_idx,
    move_old,
    move_cap,
    slab_stats,
):
    """One Elkan assignment (Elkan 2003) with lazy per-centre lower bounds.

    A point keeps its centre outright when its global lower bound (the smallest of its
    per-centre bounds when last computed, loosened by the largest drift since) or half the
    distance from its centre to the nearest other one proves the margin. Otherwise each centre
    is ruled out by its own lower bound or by half its distance to the assigned centre, and
    only the rest are computed, one pair at a time; a point with more than ``gather_above``
    candidates is instead gathered, a chunk at a time, for the dense kernel (all k distances,
    at several times the speed per distance). ``slab_stats[s]`` gets (moves, upper bounds
    tightened, distances computed).
    """
    n, d = X.shape
    k = c_half.shape[0]
    n_slabs = slab_stats.shape[0]
    n_cols = CT.shape[1] if use_blas else C.shape[0]
    for s in prange(n_slabs):
        cand = np.empty(k, np.int64)
        pair_dots = np.empty(k, X.dtype)
        bound = np.empty(k, np.float64)
        rows = np.empty(chunk + 4, np.int64)
        dots = np.empty((chunk + 4, n_cols), X.dtype)
        xbuf = np.empty((chunk if use_blas else 1, d), X.dtype)
        nb = 0
        lo = s * slab_rows
        hi = min(lo + slab_rows, n)
        n_moves = 0
        n_tight = 0
        n_dist = 0
        for i in range(lo, hi):
            a = labels[i]
            u = np.float64(upper[i]) + cum[a]
            e = margin * (x_sq[i] + cmax_sq)
            u2e = u * u + 2.0 * e
            if _proves(max(np.float64(glower[i]) - cum_max, 2.0 * s_half[a] - u), u2e):
                continue
            m = _elkan_bounds(lower[i], cum, half_cc[a], u, bound)
            if not _proves(m, u2e):
                n_tight += 1
                u = np.sqrt(_direct_sq_dist(X, i, C[a]) * tight)
                upper[i] = _up32(u - cum[a])
                u2e = u * u + 2.0 * e
                m = _elkan_bounds(lower[i], cum, half_cc[a], u, bound)
            if _proves(m, u2e):
                glower[i] = _down32(m + cum_max)
                continue
            # Candidates: centres whose bound is below sqrt(u² + 2e) (the own centre's is +inf).
            limit = np.sqrt(u2e)
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
                    n_moves = _elkan_chunk(
                        X,
                        rows,
                        nb,
                        C,
                        CT,
                        c_half,
                        x_sq,
                        use_blas,
                        center_block,
                        n3,
                        xbuf,
                        dots,
                        margin,
                        cmax_sq,
                        cum,
                        cum_max,
                        labels,
                        upper,
                        lower,
                        glower,
                        move_idx,
                        move_old,
                        n_moves,
                        s * move_cap,
                        move_cap,
                    )
                    nb = 0
                continue
            cand[nc] = a
            nc += 1
            n_dist += nc
            _row_dots(X, i, C, cand, nc, pair_dots)
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
                low = _lower_dist(x_sq[i] + 2.0 * (c_half[j] - pair_dots[t]), e)
                lower[i, j] = _down32(low + cum[j])
                bound[j] = low
            # The global bound covers every centre but the (new) assigned one.
            bound[bj] = np.inf
            glower[i] = _down32(_smallest(bound) + cum_max)
            if bj != a:
                n_moves = _record_move(move_idx, move_old, s * move_cap, move_cap, n_moves, i, a)
                labels[i] = bj
                upper[i] = _up32(_upper_dist(x_sq[i] + 2.0 * best, e) - cum[bj])
        if nb > 0:
            n_moves = _elkan_chunk(
                X,
                rows,
                nb,
                C,
                CT,
                c_half,
                x_sq,
                use_blas,
                center_block,
                n3,
                xbuf,
                dots,
                margin,
                cmax_sq,
                cum,
                cum_max,
                labels,
                upper,
                lower,
                glower,
                move_idx,
                move_old,
                n_moves,
                s * move_cap,
                move_cap,
            )
        slab_stats[s, 0] = n_moves
        slab_stats[s, 1] = n_tight
        slab_stats[s, 2] = n_dist


# --------------------------------------------------------------------------- per-row utilities


@njit(parallel=True, cache=True)
def parallel_probe(out):
    """An empty parallel region: its wall time is what starting one costs right now."""
    for s in prange(out.shape[0]):
        out[s] = s


@njit(parallel=True, cache=True, fastmath=_FAST)
def sq_dist_to_assigned(X, centers, labels, slab_rows, n_slabs, out):
    """``out[i] = ||X[i] - centers[labels[i]]||²`` summed directly (no norm trick), in float64.

    Vectorised along the features (a fixed order per row, whatever its position).
    """
    n, d = X.shape
    for s in prange(n_slabs):
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            c = centers[labels[i]]
            acc = 0.0
            for q in range(d):
                diff = np.float64(X[i, q]) - np.float64(c[q])
                acc += diff * diff
            out[i] = acc


@njit(parallel=True, cache=True, fastmath=_FAST)
def weighted_sq_dist_sum(X, centers, labels, weights, slab_rows, out):
    """Per-slab ``sum w ||X[i] - centers[labels[i]]||²``, summed directly in float64."""
    n, d = X.shape
    for s in prange(out.shape[0]):
        total = 0.0
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            c = centers[labels[i]]
            acc = 0.0
            for q in range(d):
                diff = np.float64(X[i, q]) - np.float64(c[q])
                acc += diff * diff
            total += _weight(weights, i) * acc
        out[s] = total


@njit(parallel=True, cache=True)
def feature_sums(X, weights, center, slab_rows, out):
    """Per slab and feature, ``sum w (x - center)^p`` for p = 1 (``out[:, 0]``) and 2 (``out[:, 1]``)."""
    n, d = X.shape
    for s in prange(out.shape[0]):
        first = out[s, 0]
        second = out[s, 1]
        first[:] = 0.0
        second[:] = 0.0
        for i in range(s * slab_rows, min((s + 1) * slab_rows, n)):
            w = _weight(weights, i)
            x = X[i]
            for q in range(d):
                v = np.float64(x[q]) - center[q]
                wv = w * v
                first[q] += wv
                second[q] += wv * v


@njit(parallel=True, cache=True, fastmath=_FAST)
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
def candidate_potentials(X, C, CT, cand_sq, x_sq, closest, weights, chunk, slab_rows, use_blas, center_block, n3, out):
    """k-means++ trial step: for each candidate centre, the potential ``sum w·min(closest, d²)``.

    The candidates' dot products come from the shared chunk kernel (``C``/``CT`` laid out by
    :class:`kmeanslab.engine.CenterArrays`). ``out`` (n_slabs, n_candidates) receives one
    partial potential per slab; nothing of size n x n_candidates is stored.
    """
    n, d = X.shape
    n_cand = cand_sq.shape[0]
    n_slabs = out.shape[0]
    n_cols = CT.shape[1] if use_blas else C.shape[0]
    for s in prange(n_slabs):
        rows = np.empty(chunk + 4, np.int64)
        dots = np.empty((chunk + 4, n_cols), dtype=X.dtype)
        xbuf = np.empty((1, d), X.dtype)
        acc = out[s]
        acc[:] = 0.0
        lo = s * slab_rows
        hi = min(lo + slab_rows, n)
        for a in range(lo, hi, chunk):
            m = min(a + chunk, hi) - a
            _chunk_dots(X, rows, m, a, C, CT, use_blas, center_block, n3, xbuf, dots)
            for t in range(m):
                i = a + t
                w = _weight(weights, i)
                for j in range(n_cand):
                    d2 = x_sq[i] + cand_sq[j] - 2.0 * dots[t, j]
                    if d2 < 0.0:
                        d2 = 0.0
                    if d2 > closest[i]:
                        d2 = closest[i]
                    acc[j] += w * d2


@njit(parallel=True, cache=True, fastmath=_FAST)
def update_closest(X, center, c_sq, x_sq, slab_rows, n_slabs, closest):
    """``closest[i] = min(closest[i], ||X[i] - center||²)`` by the norm trick in float64, clipped at 0.

    The dot product is accumulated in float64 (vectorised along the features), so that points
    on a chosen centre get a potential of (nearly) zero and are not drawn again.
    """
    n, d = X.shape
    for s in prange(n_slabs):
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
