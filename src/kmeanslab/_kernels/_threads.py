"""Runs a serial kernel over its slabs on a few threads, and probes what waking them costs.

Every kernel takes the range ``[lo, hi)`` of the work units (row slabs, mostly) it should do
as its last two arguments and writes one result per unit; it releases the GIL. :func:`run`
hands the units out a few at a time to the calling thread and ``threads - 1`` workers of a
small pool, where ``threads`` is numba's thread count for the calling thread (set by
:func:`kmeanslab._core.compute_context` from any threadpoolctl limit). Which thread does which
unit changes nothing in the results: each unit's output depends only on its own rows, and the
caller reduces the units in their fixed order.

The kernels are plain ``@njit(nogil=True, cache=True)`` functions rather than numba parallel
loops: a parallel loop takes several times longer to compile (numba outlines each loop body
and compiles it once more), and compiling is what a first fit pays for.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numba

from .small import TWINS

# Units handed out per task: about four tasks per thread, so that a thread that lost its core
# for a while (a shared machine) does not hold the others back.
_TASKS_PER_THREAD = 4

_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_PID = 0
_POOL_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """The workers' pool, grown to ``workers`` threads if needed; a new one after a fork (the
    child process has none of its parent's threads)."""
    global _POOL, _POOL_SIZE, _POOL_PID
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE < workers or _POOL_PID != os.getpid():
            _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kmeanslab-kernels")
            _POOL_SIZE, _POOL_PID = workers, os.getpid()
        return _POOL


def threads() -> int:
    """The threads a kernel run from this thread would use now."""
    return max(1, numba.get_num_threads())


def run(kernel, n_units: int, *args, small: bool = False) -> None:
    """``kernel(*args, lo, hi)`` over ``[0, n_units)``, split among :func:`threads` threads.

    With ``small`` (a problem too small to be worth compiling for, see ``small.py``), the
    kernel's NumPy twin does the work instead, on the calling thread, when it has one.
    """
    if small and kernel in TWINS:
        TWINS[kernel](*args, 0, n_units)
        return
    n_threads = min(threads(), n_units)
    if n_threads <= 1:
        kernel(*args, 0, n_units)
        return
    step = max(1, n_units // (_TASKS_PER_THREAD * n_threads))
    tasks = itertools.count()  # next() on a count is atomic under the GIL

    def work() -> None:
        while True:
            lo = next(tasks) * step
            if lo >= n_units:
                return
            kernel(*args, lo, min(lo + step, n_units))

    futures = [_pool(n_threads - 1).submit(work) for _ in range(n_threads - 1)]
    try:
        work()
    finally:
        for future in futures:
            future.result()


def _nothing() -> None:
    pass


def wake_seconds() -> float:
    """Wall seconds to hand one empty task to every worker and get it back: what starting a
    threaded kernel costs right now (a scheduler time slice when the cores are taken)."""
    n_threads = threads()
    if n_threads < 2:
        return 0.0
    pool = _pool(n_threads - 1)
    start = time.perf_counter()
    for future in [pool.submit(_nothing) for _ in range(n_threads - 1)]:
        future.result()
    return time.perf_counter() - start
