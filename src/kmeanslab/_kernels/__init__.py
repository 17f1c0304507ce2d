"""Compiled kernels: the only code that loops over samples. One file per algorithm:

* ``dots.py``     dot products of a chunk of rows with the centres (register tiles or BLAS),
  a row with a few centres, and the nearest centre of a row of them;
* ``sums.py``     per-cluster sums: accumulated per slab, reduced in slab order, updated from moves;
* ``lloyd.py``    the dense pass (every distance): Lloyd's assignment, plain labelling;
* ``hamerly.py``, ``elkan.py``, ``yinyang.py``   each pruning algorithm's bound initialisation
  (a dense pass) and its pruned step;
* ``seeding.py``  k-means++: candidates' potentials, distances to the chosen centre;
* ``rows.py``     per-row passes: norms, projections, distances to the assigned centre, moments;
* ``sparse.py``   the same passes for sparse X (CSR rows with dense centres);
* ``small.py``    NumPy twins of the kernels a Lloyd fit uses, for problems too small to be
  worth compiling for (decided from the shape alone);
* ``_common.py``  rounding helpers, compile accounting and the first-run notice;
* ``_threads.py`` :func:`run`, which spreads a kernel's slabs over a few threads.

Every kernel works on fixed row *slabs* (a partition of the rows that depends on n, k and d,
never on the number of threads) and writes one partial result per slab; the caller reduces
the slabs in a fixed order. That is why the same seed gives bit-identical results with one
thread or many. Inside a slab, rows are processed in chunks small enough that the chunk of X
and its k dot products stay in cache between the distance and the accumulation steps, so X
is read from memory once per pass. Kernels are compiled on first use, per dtype, and cached
on disk: a fit compiles only the kernels of its own algorithm.

Docstrings mark each argument IN (read), OUT (written) or IN/OUT; SCRATCH arguments are
work space. Kernels validate nothing: their callers (``_core``, ``cluster``) pass validated,
contiguous arrays of matching dtypes, so no kernel carries a formatted error message.
"""

from __future__ import annotations

from . import dots, elkan, hamerly, lloyd, rows, seeding, small, sparse, sums, yinyang
from ._common import COMPILING_NOTICE, compile_seconds
from ._threads import run, threads, wake_seconds

__all__ = [
    "COMPILING_NOTICE",
    "compile_seconds",
    "dots",
    "elkan",
    "hamerly",
    "lloyd",
    "rows",
    "run",
    "seeding",
    "small",
    "sparse",
    "sums",
    "threads",
    "wake_seconds",
    "yinyang",
]
