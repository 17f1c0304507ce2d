"""Out of core: k-means on data read in row blocks, never held (or memory-mapped) whole.

Three pieces:

* :class:`NpyFile` reads a ``.npy`` file by row blocks with ordinary file reads, so a fit never
  maps or loads the whole file (an address-space limit smaller than the file is fine).
* Blockwise algorithms, written once against a small *block executor* interface: the Lloyd
  loop (:func:`blockwise_lloyd`), k-means‖ seeding (:func:`kmeans_parallel`, Bahmani et al.
  2012), weighted feature moments and random rows. Per block they call the engine's own
  functions (``_assigners.make_assigner("lloyd", ...)``, ``_core.assign``, ``_core.inertia``);
  only per-cluster sums, counts and partial losses leave a block.
* :class:`LocalBlocks`, the executor that runs them in this process, one block after another.
  :mod:`kmeanslab.distributed` implements the same interface on a Dask cluster, so a streamed
  fit and a Dask fit run the same code.

The executor interface (duck-typed): attributes ``n``, ``d``, ``dtype``, ``total_weight``, and

``map(fn, *args, state=None, keep_state=False, data=True) -> (states | None, results)``
    Call ``fn(X_b, x_sq_b, w_b, state_b, (block_index, start, stop), *args)`` on every row
    block (``x_sq_b`` the rows' squared norms, computed once per fit) inside
    :func:`kmeanslab._core.compute_context`; ``fn`` returns ``(new_state_b, result_b)``.
    ``data=False`` promises that ``fn`` reads neither ``X_b`` nor ``x_sq_b`` (a local executor
    then skips the read).
``reduce(results, combine)``, ``gather(results)``, ``take(rows)`` (global row indices, sorted),
``final(centers) -> (labels, inertia, counts)``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from . import _assigners, _core, engine
from .errors import DataFileError, DatasetNotFoundError, InputError
from .validation import as_generator, check_data, check_sample_weight, iter_row_chunks

__all__ = [
    "STREAM_MIN_BYTES",
    "NpyFile",
    "open_npy",
    "is_out_of_core",
    "iter_blocks",
    "LocalBlocks",
    "fit_kmeans",
    "predict",
    "transform",
    "blockwise_lloyd",
    "kmeans_parallel",
]

# Memory maps and array-likes at least this big are streamed; smaller ones are simply read
# into memory (an array this size is no burden, and the in-memory path seeds with k-means++).
STREAM_MIN_BYTES = 256 * 2**20
# Bytes of X per block read: large enough that the per-block work (one BLAS product per
# engine chunk) dwarfs the read call, small next to any machine's memory.
DEFAULT_BLOCK_BYTES = 32 * 2**20
# k-means‖ (Bahmani et al. 2012): oversampling factor l = 2k, five rounds.
KMEANS_PARALLEL_OVERSAMPLING = 2.0
KMEANS_PARALLEL_ROUNDS = 5


# --------------------------------------------------------------------------- reading .npy by rows


class NpyFile:
    """A 2-D ``.npy`` file read by row blocks with plain file reads (no memory map).

    Behaves like a read-only array for row slicing: ``f[a:b]`` (or ``f[a:b, cols]``) returns a
    new ndarray holding just those rows. ``np.asarray(f)`` reads everything.

    Parameters
    ----------
    path : path-like
        A C-ordered ``.npy`` file holding a 1-D (one feature) or 2-D numeric array.

    Attributes
    ----------
    shape, dtype, ndim, nbytes, path
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise DatasetNotFoundError(f"{str(self.path)!r} does not exist; expected a .npy file")
        shape, fortran, dtype, offset = _npy_header(self.path)
        if dtype.kind not in "fiub" or dtype.hasobject:
            raise DataFileError(f"{self.path.name}: holds {dtype} values; expected a numeric array")
        if len(shape) == 1:
            shape = (shape[0], 1)
        if len(shape) != 2:
            raise DataFileError(
                f"{self.path.name}: holds an array of shape {shape}; expected 2-D (n_samples, n_features)"
            )
        if fortran and shape[1] > 1:
            raise DataFileError(
                f"{self.path.name}: is stored in Fortran order, so rows are not contiguous; "
                f"expected C order: re-save it with np.save(path, np.ascontiguousarray(X))"
            )
        expected = offset + shape[0] * shape[1] * dtype.itemsize
        size = self.path.stat().st_size
        if size < expected:
            raise DataFileError(f"{self.path.name}: is truncated ({size} bytes; the header promises {expected})")
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = dtype
        self.ndim = 2
        self._offset = offset
        self._row_bytes = self.shape[1] * dtype.itemsize
        self._fd: int | None = None

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self._row_bytes

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"NpyFile({str(self.path)!r}, shape={self.shape}, dtype={self.dtype})"

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as a new C-ordered array of the file's dtype."""
        start, stop = max(0, int(start)), min(self.shape[0], int(stop))
        out = np.empty((max(0, stop - start), self.shape[1]), dtype=self.dtype)
        if out.size:
            _pread_into(self._file(), memoryview(out).cast("B"), self._offset + start * self._row_bytes)
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        cols: Any = slice(None)
        if isinstance(key, tuple):
            if len(key) != 2:
                raise IndexError(f"too many indices for a 2-D NpyFile: {key!r}")
            key, cols = key
        if isinstance(key, (int, np.integer)):
            i = int(key) + (self.shape[0] if key < 0 else 0)
            if not 0 <= i < self.shape[0]:
                raise IndexError(f"row {key} is out of range for {self.shape[0]} rows")
            return self.read(i, i + 1)[0, cols]
        if isinstance(key, slice):
            start, stop, step = key.indices(self.shape[0])
            rows = self.read(start, stop) if step == 1 else self.read(start, stop)[::step]
            return rows if cols == slice(None) else np.ascontiguousarray(rows[:, cols])
        raise TypeError(f"NpyFile rows are read by slices or integers; got {type(key).__name__}")

    def __array__(self, dtype=None, copy=None):
        rows = self.read(0, self.shape[0])
        return rows if dtype is None else rows.astype(dtype)

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        return self._fd

    def close(self) -> None:
        """Close the file descriptor (reads reopen it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def __enter__(self) -> NpyFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # An open descriptor does not travel: a copy (a Dask task, a pickle) reopens the file.
    def __reduce__(self):
        return (type(self), (str(self.path),))

    def __dask_tokenize__(self):
        stat = self.path.stat()
        return ("kmeanslab.NpyFile", str(self.path.resolve()), stat.st_size, stat.st_mtime_ns)


def _npy_header(path: Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    from numpy.lib import format as npy_format

    try:
        with open(path, "rb") as f:
            version = npy_format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = npy_format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = npy_format.read_array_header_2_0(f)
            else:  # (3, 0): utf-8 field names; numpy has no public reader for it
                shape, fortran, dtype = npy_format._read_array_header(f, version)
            offset = f.tell()
    except (ValueError, OSError, EOFError) as exc:
        raise DataFileError(f"{path.name}: not a readable .npy file ({exc})") from None
    return tuple(shape), bool(fortran), np.dtype(dtype), offset


def _pread_into(fd: int, buffer: memoryview, offset: int) -> None:
    done = 0
    while done < len(buffer):
        got = os.preadv(fd, [buffer[done:]], offset + done)
        if got == 0:
            raise DataFileError(f"unexpected end of file after {offset + done} bytes")
        done += got


def open_npy(path: str | os.PathLike) -> NpyFile:
    """Open a ``.npy`` file for row-block reads (see :class:`NpyFile`)."""
    return NpyFile(path)


# --------------------------------------------------------------------------- what is out of core


def _is_sparse(X: Any) -> bool:
    return hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse")


def is_out_of_core(X: Any, min_bytes: int | None = None) -> bool:
    """Whether ``X`` should be streamed by row blocks instead of read into memory.

    True for a 2-D ``np.memmap``, and for any other row-sliceable array-like that is not an
    ndarray (an h5py or zarr dataset, a :class:`NpyFile`: ``shape``, ``dtype`` and
    ``X[a:b]``), of at least ``min_bytes`` (default :data:`STREAM_MIN_BYTES`).
    """
    min_bytes = STREAM_MIN_BYTES if min_bytes is None else min_bytes
    if isinstance(X, np.ndarray) and not isinstance(X, np.memmap):
        return False
    if _is_sparse(X) or not hasattr(X, "__getitem__"):
        return False
    shape = getattr(X, "shape", None)
    try:
        dtype = np.dtype(getattr(X, "dtype", None))
    except TypeError:
        return False
    if dtype.kind not in "fiub" or not isinstance(shape, tuple) or len(shape) != 2:
        return False
    try:
        nbytes = int(shape[0]) * int(shape[1]) * dtype.itemsize
    except (TypeError, ValueError):  # unknown sizes (NaN)
        return False
    return nbytes >= min_bytes


def _work_dtype(dtype: Any, name: str = "X") -> np.dtype:
    """The float dtype the engine computes in for data of ``dtype`` (as check_data decides)."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "fiub":
        raise InputError(f"{name} has dtype {dtype}; expected numeric data")
    return np.dtype(np.float32) if dtype == np.float32 else np.dtype(np.float64)


def default_block_rows(n_features: int, itemsize: int, block_bytes: int = DEFAULT_BLOCK_BYTES) -> int:
    """Rows per block so that a block of X holds about ``block_bytes``."""
    return max(1, block_bytes // max(1, n_features * itemsize))


def _check_shape(X: Any, name: str) -> tuple[int, int]:
    shape = tuple(getattr(X, "shape", ()))
    if len(shape) != 2:
        raise InputError(f"{name} must be a 2-D array of shape (n_samples, n_features); got shape {shape}")
    n, d = int(shape[0]), int(shape[1])
    if n < 1 or d < 1:
        raise InputError(f"{name} has shape {shape}; expected at least one row and one column")
    return n, d


def _check_block(block: Any, name: str, where: str) -> np.ndarray:
    """``check_data`` on one block of ``name``; an error says ``where`` it is ("rows a:b")."""
    try:
        return check_data(np.asarray(block), name)
    except InputError as exc:
        raise InputError(f"{exc} [in {where} of {name}]") from None


def iter_blocks(X: Any, block_rows: int | None = None, name: str = "X") -> Iterator[np.ndarray]:
    """Validated row blocks of a row-sliceable array-like, one at a time.

    Handy for feeding a stream to :meth:`kmeanslab.MiniBatchKMeans.partial_fit`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Anything with ``shape``, ``dtype`` and row slicing ``X[a:b]``.
    block_rows : int, optional
        Rows per block (default: about 32 MiB of data per block).

    Yields
    ------
    ndarray
        C-ordered float32/float64 blocks (as :func:`kmeanslab.validation.check_data` returns).
    """
    n, d = _check_shape(X, name)
    rows = default_block_rows(d, np.dtype(X.dtype).itemsize) if block_rows is None else block_rows
    for a, b in iter_row_chunks(n, rows):
        yield _check_block(X[a:b], name, f"rows {a}:{b}")


# --------------------------------------------------------------------------- the local executor


class LocalBlocks:
    """The block executor of this process: reads and processes one row block at a time.

    Blocks are validated on their first read only (the source is read-only data); their rows'
    squared norms are kept (8 bytes a row) so that later passes only read X. Memory: one block
    of X, the engine's per-block temporaries, the norms, and per-block state (k-means‖ keeps
    one float64 a row; the final pass one int32 label a row).
    """

    def __init__(self, X: Any, sample_weight: Any = None, *, block_rows: int | None = None, name: str = "X"):
        self.source = X
        self.name = name
        self.n, self.d = _check_shape(X, name)
        self.dtype = _work_dtype(X.dtype, name)
        rows = default_block_rows(self.d, np.dtype(X.dtype).itemsize) if block_rows is None else block_rows
        if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
            raise InputError(f"block_rows={rows!r} is not valid; expected an integer >= 1")
        self.bounds = list(iter_row_chunks(self.n, int(rows)))
        self.weights = check_sample_weight(sample_weight, self.n)
        self.total_weight = float(self.n if self.weights is None else self.weights.sum())
        self._x_sq: list[np.ndarray | None] = [None] * len(self.bounds)

    @property
    def n_blocks(self) -> int:
        return len(self.bounds)

    def _read(self, i: int) -> np.ndarray:
        a, b = self.bounds[i]
        if self._x_sq[i] is None:
            return _check_block(self.source[a:b], self.name, f"rows {a}:{b}")
        return np.ascontiguousarray(np.asarray(self.source[a:b]), dtype=self.dtype)

    def block(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Block ``i`` of X and its rows' squared norms."""
        X_b = self._read(i)
        if self._x_sq[i] is None:
            self._x_sq[i] = _core.row_sq_norms(X_b)
        return X_b, self._x_sq[i]

    def map(
        self, fn: Callable, *args: Any, state: list | None = None, keep_state: bool = False, data: bool = True
    ) -> tuple[list | None, list]:
        states, results = [], []
        with _core.compute_context():
            for i, (a, b) in enumerate(self.bounds):
                X_b, x_sq_b = self.block(i) if data else (None, None)
                w_b = None if self.weights is None else self.weights[a:b]
                new_state, result = fn(X_b, x_sq_b, w_b, None if state is None else state[i], (i, a, b), *args)
                if keep_state:
                    states.append(new_state)
                results.append(result)
        return (states if keep_state else None), results

    def reduce(self, results: list, combine: Callable) -> Any:
        return functools.reduce(combine, results)

    def gather(self, results: list) -> list:
        return list(results)

    def take(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.d), dtype=self.dtype)
        for j, i in enumerate(rows):
            out[j] = _check_block(self.source[int(i) : int(i) + 1], self.name, f"row {int(i)}")[0]
        return out

    def final(self, centers: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        _, parts = self.map(final_block, centers)
        labels = np.concatenate([p[0] for p in parts])
        inertia = float(sum(p[1] for p in parts))
        counts = functools.reduce(np.add, [p[2] for p in parts])
        return labels, inertia, counts


# --------------------------------------------------------------------------- per-block functions
# Each takes (X_b, x_sq_b, w_b, state_b, (index, start, stop), *args) and returns
# (new_state_b, result_b), inside _core.compute_context(). They run wherever the executor runs them
# (here, or on a Dask worker).


def _weighted_sum(values: np.ndarray, w_b: np.ndarray | None) -> float:
    return float(values.sum() if w_b is None else np.dot(w_b, values))


def _nearest(X_b, x_sq_b, centers) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre and squared distance per row: the engine's Lloyd pass on one block.

    Same kernel and numbers as ``_core.assign``, without its per-call thread-pool lookup
    (the executors hold :func:`kmeanslab._core.compute_context` around the whole pass).
    """
    assigner = _assigners.make_assigner("lloyd", X_b, centers.shape[0], None, x_sq_b)
    labels, _, _ = assigner.step(centers)
    return labels, assigner.min_sq_dists(centers)


def lloyd_block(X_b, x_sq_b, w_b, state, info, centers):
    """One Lloyd pass over a block: per-cluster sums, weights, and the block's loss."""
    assigner = _assigners.make_assigner("lloyd", X_b, centers.shape[0], w_b, x_sq_b)
    _, sums, wsums = assigner.step(centers)
    return None, (sums, wsums, _weighted_sum(assigner.min_sq_dists(centers), w_b))


def add_stats(a: tuple, b: tuple) -> tuple:
    """Combine two blocks' ``(sums, weights, loss)``."""
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def final_block(X_b, x_sq_b, w_b, state, info, centers):
    """Labels under the final centres, the block's inertia, and its cluster sizes."""
    labels, _ = _nearest(X_b, x_sq_b, centers)
    inertia = _core.inertia(X_b, centers, labels, w_b)
    counts = np.bincount(labels, minlength=centers.shape[0]).astype(np.int64)
    return None, (labels, inertia, counts)


def far_block(X_b, x_sq_b, w_b, state, info, centers, pool):
    """The ``pool`` rows farthest from their centre (candidates for empty clusters)."""
    _, d2 = _nearest(X_b, x_sq_b, centers)
    far = d2 if w_b is None else np.where(w_b > 0, d2, 0.0)
    truncated = pool < len(far)
    top = np.argpartition(-far, pool - 1)[:pool] if truncated else np.arange(len(far))
    return None, (np.ascontiguousarray(X_b[top]), far[top], truncated)


def moments_block(X_b, x_sq_b, w_b, state, info):
    """Total weight, per-feature mean and weighted sum of squared deviations of a block."""
    total = float(len(X_b) if w_b is None else w_b.sum())
    if total <= 0.0:
        return None, (0.0, np.zeros(X_b.shape[1]), np.zeros(X_b.shape[1]))
    mean, var = _core.feature_moments(X_b, w_b)
    return None, (total, mean, var * total)


def merge_moments(a: tuple, b: tuple) -> tuple:
    """Chan et al.'s pairwise update: the moments of the union of two blocks."""
    wa, ma, sa = a
    wb, mb, sb = b
    w = wa + wb
    if w <= 0.0:
        return a
    delta = mb - ma
    return w, ma + delta * (wb / w), sa + sb + delta * delta * (wa * wb / w)


def bounds_block(X_b, x_sq_b, w_b, state, info):
    return None, (X_b.min(axis=0).astype(np.float64), X_b.max(axis=0).astype(np.float64))


def merge_bounds(a: tuple, b: tuple) -> tuple:
    return np.minimum(a[0], b[0]), np.maximum(a[1], b[1])


def keyed_rows_block(X_b, x_sq_b, w_b, state, info, m, seed):
    """The block's ``m`` best rows by the key ``log(u) / w`` (weighted sampling w/o replacement).

    Reads only the weights: the chosen rows are fetched afterwards.
    """
    index, start, stop = info
    u = np.random.default_rng([seed, index]).random(stop - start)
    with np.errstate(divide="ignore"):
        keys = np.log(u) if w_b is None else np.where(w_b > 0, np.log(u) / np.where(w_b > 0, w_b, 1.0), -np.inf)
    top = np.argsort(-keys, kind="stable")[:m]
    return None, (keys[top], top + start)


def merge_keyed(m: int, a: tuple, b: tuple) -> tuple:
    keys = np.concatenate([a[0], b[0]])
    rows = np.concatenate([a[1], b[1]])
    top = np.lexsort((rows, -keys))[:m]
    return keys[top], rows[top]


def closest_block(X_b, x_sq_b, w_b, state, info, centers):
    """Squared distance to the nearest of ``centers``, folded into the running minimum."""
    _, d2 = _nearest(X_b, x_sq_b, centers)
    closest = d2 if state is None else np.minimum(state, d2)
    return closest, _weighted_sum(closest, w_b)


def sample_block(X_b, x_sq_b, w_b, state, info, phi, ell, seed):
    """k-means‖ draw: row i joins with probability ``min(1, l * w_i * d_i² / phi)``."""
    index, start, _ = info
    u = np.random.default_rng([seed, index]).random(len(state))
    mass = state if w_b is None else w_b * state
    return None, np.flatnonzero(u * phi < ell * mass) + start


def nearest_weight_block(X_b, x_sq_b, w_b, state, info, candidates):
    """How much weight of the block is nearest to each candidate."""
    labels, _ = _nearest(X_b, x_sq_b, candidates)
    return None, np.bincount(labels, weights=w_b, minlength=candidates.shape[0]).astype(np.float64)


def take_local(X_b, local_rows):
    """Rows of one block (a helper for executors that hold blocks remotely)."""
    return np.ascontiguousarray(X_b[local_rows])


# --------------------------------------------------------------------------- blockwise algorithms


def blockwise_moments(blocks) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature weighted mean and variance in one pass over the blocks."""
    _, parts = blocks.map(moments_block)
    total, mean, sq = blocks.reduce(parts, merge_moments)
    return mean, sq / total


def random_rows(blocks, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` rows at distinct positions, drawn in proportion to weight, as float64.

    Efraimidis and Spirakis' keys ``log(u) / w``: the ``m`` largest are a weighted sample without
    replacement, and every block can keep just its own ``m`` best.
    """
    seed = int(rng.integers(2**63))
    _, parts = blocks.map(keyed_rows_block, m, seed, data=False)
    _, rows = blocks.reduce(parts, functools.partial(merge_keyed, m))
    order = np.argsort(rows)
    picked = np.empty((len(rows), blocks.d), dtype=np.float64)
    picked[order] = blocks.take(rows[order])
    return picked


def kmeans_parallel(
    blocks,
    k: int,
    rng: np.random.Generator,
    *,
    oversampling: float = KMEANS_PARALLEL_OVERSAMPLING,
    rounds: int = KMEANS_PARALLEL_ROUNDS,
) -> np.ndarray:
    """k-means‖ seeding (Bahmani et al. 2012) over blocks; returns ``(k, d)`` float64 centres.

    One point drawn by weight; then ``rounds`` rounds in which every point joins the candidate
    set independently with probability ``min(1, l·w·d²/phi)`` (``l = oversampling·k``, ``phi``
    the current weighted cost); each candidate is weighted by the weight of the points nearest
    to it, and the ``~1 + rounds·l`` weighted candidates are clustered into ``k`` in memory
    by weighted k-means++ followed by weighted Lloyd. Passes over X: one for the distances to
    the first point, one per round but the last, one to weigh the candidates (the draws read
    only the running distances).
    """
    ell = oversampling * k
    chosen = [random_rows(blocks, 1, rng)]
    state, parts = blocks.map(closest_block, chosen[0].astype(blocks.dtype), keep_state=True)
    phi = float(sum(blocks.gather(parts)))
    for round_ in range(rounds):
        if phi <= 0.0:
            break  # every point sits on a candidate
        seed = int(rng.integers(2**63))
        _, picks = blocks.map(sample_block, phi, ell, seed, state=state, data=False)
        rows = np.concatenate([np.asarray(p, dtype=np.int64) for p in blocks.gather(picks)])
        if rows.size == 0:
            continue
        new = blocks.take(rows)
        chosen.append(new.astype(np.float64))
        if round_ == rounds - 1:
            break  # the last draw needs no distances: only the weighing pass below
        state, parts = blocks.map(closest_block, new, state=state, keep_state=True)
        phi = float(sum(blocks.gather(parts)))
    del state
    candidates = np.ascontiguousarray(np.vstack(chosen))
    _, parts = blocks.map(nearest_weight_block, candidates.astype(blocks.dtype))
    weight = blocks.reduce(parts, np.add)
    return recluster(candidates, weight, k, rng)


def recluster(candidates: np.ndarray, weight: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` centres from weighted candidates: weighted k-means++, then weighted Lloyd."""
    from .initialization import kmeans_plusplus

    keep = weight > 0
    candidates, weight = np.ascontiguousarray(candidates[keep]), weight[keep]
    if len(candidates) <= k:
        # Fewer distinct places than clusters: repeat some; the Lloyd loop relocates them.
        return candidates[np.arange(k) % len(candidates)].astype(np.float64)
    start = kmeans_plusplus(candidates, k, rng, sample_weight=weight)
    tol = 1e-4 * _core.mean_feature_variance(candidates, weight)
    return engine.lloyd(candidates, start, sample_weight=weight, max_iter=100, tol=tol).centers


def initial_centers(blocks, k: int, init: Any, rng: np.random.Generator) -> np.ndarray:
    """Blockwise initial centres: ``"k-means++"`` runs k-means‖ (one pass per draw would be k passes)."""
    if isinstance(init, np.ndarray):
        return np.asarray(init, dtype=np.float64)
    if init == "k-means++":
        return kmeans_parallel(blocks, k, rng)
    if init == "random":
        return random_rows(blocks, k, rng)
    if init == "gaussian":
        mean, var = blockwise_moments(blocks)
        return rng.normal(mean, np.sqrt(var), size=(k, blocks.d))
    if init == "uniform":
        _, parts = blocks.map(bounds_block)
        low, high = blocks.reduce(parts, merge_bounds)
        return rng.uniform(low, high, size=(k, blocks.d))
    raise InputError(f"init={init!r} is not valid for a blockwise fit")


def _means(centers: np.ndarray, sums: np.ndarray, wsums: np.ndarray, empty: str) -> np.ndarray:
    out = np.zeros_like(centers) if empty == "zeros" else centers.copy()
    hit = wsums > 0
    out[hit] = sums[hit] / wsums[hit, None]
    return out


def relocate_empty(blocks, centers_x: np.ndarray, new_centers: np.ndarray, empties: np.ndarray) -> int:
    """Move empty clusters' centres as the in-memory engine does, from blockwise candidates.

    Every block offers its farthest points; the engine's own rule then picks among their union,
    which holds the global farthest ones. The pool widens when duplicates leave it short.
    """
    pool = max(4 * len(empties), len(empties) + 16)
    while True:
        _, parts = blocks.map(far_block, centers_x, pool)
        parts = blocks.gather(parts)
        rows = np.ascontiguousarray(np.concatenate([p[0] for p in parts]))
        far = np.concatenate([p[1] for p in parts])
        trial = new_centers.copy()
        moved = engine._relocate_empty(rows, trial, empties, far)
        if moved == len(empties) or not any(p[2] for p in parts):
            break
        pool *= 4
    new_centers[:] = trial
    return moved


def blockwise_lloyd(
    blocks,
    init_centers: np.ndarray,
    *,
    max_iter: int = 300,
    tol: float = 1e-4,
    stop: str = "shift",
    empty: str = "relocate",
    verbose: bool = False,
    log: Callable[[str], None] | None = None,
    on_iteration: Callable[[int, np.ndarray, float], None] | None = None,
) -> tuple[np.ndarray, int, list[float], bool, int]:
    """Lloyd's algorithm as one map-reduce per iteration; the rules of :func:`kmeanslab.engine.lloyd`.

    Every block returns its per-cluster sums, weights and loss (:func:`lloyd_block`); the
    reduced sums give the new centres here. A run stops when the centres stop moving (the
    labels did not change), or by the ``stop`` rule on ``tol`` (already scaled), or at
    ``max_iter``. No per-row state survives an iteration, so a lost block is recomputed from
    the data alone.

    Returns
    -------
    centers : ndarray (k, d) in the blocks' dtype
    n_iter : int
    losses : list of float
        Mean squared distance of each iteration's assignment.
    converged : bool
    n_relocated : int
    """
    log = log or print
    centers = np.array(init_centers, dtype=np.float64, order="C")
    losses: list[float] = []
    converged = False
    n_relocated = n_iter = 0
    for n_iter in range(1, max_iter + 1):
        centers_x = centers.astype(blocks.dtype)
        _, parts = blocks.map(lloyd_block, centers_x)
        sums, wsums, loss_sum = blocks.reduce(parts, add_stats)
        loss = float(loss_sum / blocks.total_weight)
        losses.append(loss)
        new_centers = _means(centers, sums, wsums, empty)
        empties = np.flatnonzero(wsums <= 0)
        moved = relocate_empty(blocks, centers_x, new_centers, empties) if empty == "relocate" and len(empties) else 0
        n_relocated += moved
        shift = float(np.sum((new_centers - centers) ** 2))
        centers = new_centers
        if verbose:
            log(f"iteration {n_iter:4d}  loss {loss:.10g}  shift {shift:.4g}")
        if on_iteration is not None:
            on_iteration(n_iter, centers, loss)
        # Identical sums give bit-identical centres, so "no centre moved" is "no label changed"
        # (the engine's strict test, which cannot hold at the first iteration).
        if n_iter > 1 and moved == 0 and shift == 0.0:
            converged = True
            break
        if stop == "shift" and shift <= tol:
            converged = True
            break
        if stop == "loss" and engine.loss_converged(losses, tol):
            converged = True
            break
    return centers.astype(blocks.dtype), n_iter, losses, converged, n_relocated


# --------------------------------------------------------------------------- the estimator's way in


def fit_blockwise(model, blocks, X: Any, *, on_iteration: Callable | None = None):
    """Fit a :class:`kmeanslab.KMeans` with a block executor; sets its fitted attributes.

    Follows ``KMeans.fit``: the same parameters and checks, ``n_init`` runs keeping the lowest
    inertia, ``tol`` scaled by the mean feature variance. Seeding ``"k-means++"`` runs
    k-means‖; ``algorithm`` is not used (every block runs the full Lloyd pass).
    """
    from sklearn.utils.validation import validate_data

    # A zero-strided stand-in: the parameter checks only need X's shape and dtype.
    params = model._check_params(np.broadcast_to(np.zeros((), blocks.dtype), (blocks.n, blocks.d)))
    validate_data(model, X, skip_check_array=True, reset=True)
    rng = as_generator(model.random_state)
    k = params["n_clusters"]
    tol = params["tol"]
    if params["stop"] == "shift":
        tol = tol * float(np.mean(blockwise_moments(blocks)[1]))
    best = None
    for _ in range(params["n_init"]):
        start = initial_centers(blocks, k, params["init"], rng)
        centers, n_iter, losses, converged, moved = blockwise_lloyd(
            blocks,
            start,
            max_iter=params["max_iter"],
            tol=tol,
            stop=params["stop"],
            empty=params["empty"],
            verbose=bool(model.verbose),
            on_iteration=on_iteration,
        )
        labels, inertia, counts = blocks.final(centers)
        if model.verbose:
            state = "converged" if converged else "stopped at max_iter"
            print(f"{state} after {n_iter} iterations, inertia {inertia:.10g}")
        if best is None or inertia < best.inertia:
            best = engine.LloydResult(
                centers=centers,
                labels=labels,
                inertia=inertia,
                n_iter=n_iter,
                loss_history=np.asarray(losses),
                converged=converged,
                n_relocated=moved,
                extra={"algorithm": "lloyd", "counts": counts},
            )
    n_distinct = int(np.count_nonzero(best.extra["counts"]))
    return model._set_fitted(
        best, n_distinct, "X has fewer distinct points than clusters or some centres attract no point", stacklevel=4
    )


def fit_kmeans(model, X: Any, sample_weight: Any = None, *, block_rows: int | None = None):
    """Fit ``model`` (a :class:`kmeanslab.KMeans`) on ``X`` by streaming row blocks.

    Parameters
    ----------
    model : KMeans
    X : array-like of shape (n_samples, n_features)
        An ``np.memmap``, :class:`NpyFile`, h5py/zarr dataset: anything with ``shape``,
        ``dtype`` and row slicing. Only one block is in memory at a time.
    sample_weight : array-like of shape (n_samples,), optional
    block_rows : int, optional
        Rows per block (default: about 32 MiB of data).

    Returns
    -------
    model
        Fitted; ``labels_`` is an in-memory int32 array (4 bytes a row).
    """
    blocks = LocalBlocks(X, sample_weight, block_rows=block_rows)
    return fit_blockwise(model, blocks, X)


def _check_n_features(model, d: int) -> None:
    """``model`` is fitted, on ``d`` features (for a streamed or a Dask X)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    if d != model.n_features_in_:
        raise InputError(
            f"X has {d} features, but {type(model).__name__} is expecting {model.n_features_in_} "
            f"features as input (the number of columns it was fitted on)."
        )


def _check_fitted_features(model, X: Any) -> tuple[int, int]:
    n, d = _check_shape(X, "X")
    _check_n_features(model, d)
    return n, d


def predict(model, X: Any, *, block_rows: int | None = None) -> np.ndarray:
    """``model.predict`` applied block by block to an out-of-core ``X``; an int32 array."""
    _check_fitted_features(model, X)
    return np.concatenate([model.predict(b) for b in iter_blocks(X, block_rows)])


def transform(model, X: Any, *, block_rows: int | None = None) -> np.ndarray:
    """``model.transform`` applied block by block; the (n_samples, n_clusters) result is in memory."""
    n, _ = _check_fitted_features(model, X)
    parts = [model.transform(b) for b in iter_blocks(X, block_rows)]
    return np.concatenate(parts) if parts else np.empty((n, model.cluster_centers_.shape[0]))
