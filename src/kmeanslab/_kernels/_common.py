"""What every kernel file shares: compile accounting, rounding helpers.

Also the one notice a cold start prints: the first compilation in a process writes
"compiling kernels, first run only ..." on stderr (a warm cache compiles nothing, so says nothing).
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np

# numba's np.dot loads BLAS from SciPy's cython_blas: load it now, before any threadpool limit
# is set, so that the limit applies to it.
import scipy.linalg.cython_blas  # noqa: F401
from numba import njit
from numba.core import event as numba_event

# Vectorised dot products need reassociation; FMA contraction is what the hardware does best.
# Neither touches inf/NaN semantics.
FAST = {"reassoc", "contract", "nsz"}

_F32_UP = 2.0**-22
_TINY = 1e-30
_BIG = 3.0e38

COMPILING_NOTICE = "compiling kernels, first run only ..."


class _CompileClock(numba_event.Listener):
    """Adds up the wall time numba spends compiling (outermost compilations only).

    The first compilation of one of kmeanslab's kernels also prints :data:`COMPILING_NOTICE`
    once per process, so that a first run says why it is slow instead of looking frozen.
    """

    def __init__(self):
        self.seconds = 0.0
        self.announced = False
        self._depth = 0
        self._started = 0.0
        self._lock = threading.Lock()

    def on_start(self, event):
        if self._depth == 0:
            self._started = time.perf_counter()
        self._depth += 1
        if not self.announced and _is_ours(event):
            with self._lock:
                if not self.announced:
                    self.announced = True
                    print(COMPILING_NOTICE, file=sys.stderr, flush=True)

    def on_end(self, event):
        self._depth -= 1
        if self._depth == 0:
            self.seconds += time.perf_counter() - self._started


def _is_ours(event) -> bool:
    dispatcher = event.data.get("dispatcher") if isinstance(event.data, dict) else None
    module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
    return module.startswith("kmeanslab.")


COMPILE_CLOCK = _CompileClock()
numba_event.register("numba:compile", COMPILE_CLOCK)


def compile_seconds() -> float:
    """Wall seconds this process has spent compiling kernels so far.

    Timings shown to users (the report's headings) subtract it, so that they measure the
    engine and not its one-time compilation.
    """
    return COMPILE_CLOCK.seconds


# --------------------------------------------------------------------------- small helpers


@njit(cache=True, nogil=True, inline="always")
def up32(v):
    """A float32 no smaller than ``v``."""
    if v > _BIG:
        return np.float32(np.inf)
    return np.float32(v + abs(v) * _F32_UP + _TINY)


@njit(cache=True, nogil=True, inline="always")
def down32(v):
    """A float32 no larger than ``v`` (branch-free, so that loops of it vectorise)."""
    v = min(v, _BIG)
    return np.float32(v - abs(v) * _F32_UP - _TINY)


@njit(cache=True, nogil=True, inline="always")
def upper_dist(d2, e):
    """An upper bound on the true distance from a computed squared distance with error ``e``."""
    return np.sqrt(max(d2 + e, 0.0))


@njit(cache=True, nogil=True, inline="always")
def lower_dist(d2, e):
    """A lower bound on the true distance from a computed squared distance with error ``e``."""
    return np.sqrt(max(d2 - e, 0.0))


@njit(cache=True, nogil=True, inline="always")
def proves(lower, limit_sq):
    """True when a lower bound ``lower`` on a distance proves it exceeds the assigned one by the margin.

    ``limit_sq`` is ``u² + 2e``: the squared upper bound on the assigned distance plus twice the
    rounding error ``e`` of the computed squared distances.
    """
    return lower > 0.0 and lower * lower >= limit_sq


@njit(cache=True, nogil=True, inline="always")
def record_move(move_idx, move_old, base, cap, n_moves, i, old):
    """Note that point ``i`` left cluster ``old``; past ``cap`` moves only count them."""
    if n_moves < cap:
        move_idx[base + n_moves] = i
        move_old[base + n_moves] = old
    return n_moves + 1


@njit(cache=True, nogil=True)
def weight(weights, i):
    """``weights[i]``, or 1 when ``weights`` is None (unit weights).

    Not inlined by numba: compiled per type of ``weights``, its ``is None`` branch is pruned,
    so that a fit without weights compiles no weighted code (LLVM still inlines it).
    """
    if weights is None:
        return 1.0
    return weights[i]
