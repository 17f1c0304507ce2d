"""The Dask block source: the row blocks of a ``dask.array`` on a ``dask.distributed`` cluster.

``KMeans.fit(X)`` with a dask array ``X`` fits on :class:`DaskBlocks`. The row blocks of X are
materialised on the workers of the active client and stay there for the fit. Every Lloyd
iteration then sends the ``k x d`` centres to the workers; each block returns its per-cluster
sums, weights and partial loss; the partials are combined in a fixed tree on the workers and
the client turns the one remaining partial into the new centres. The data never cross the
network after the first materialisation. The Lloyd loop and the seeding (k-means‖, Bahmani et
al. 2012) are the ones every source runs (:mod:`kmeanslab.cluster`); this module only says how
a pass over the blocks runs on Dask.

Dask is an optional extra: ``pip install 'kmeanslab[dask]'``. Without it, the functions here
raise :class:`kmeanslab.errors.MissingExtraError`; importing this module never needs it.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._core import assign, compute_context, row_sq_norms
from ..errors import InputError, MissingExtraError
from ..validation import check_data, check_sample_weight
from ._base import DEFAULT_BLOCK_BYTES, BlockSource, check_block, check_shape, default_block_rows, work_dtype

__all__ = [
    "is_dask_array",
    "require_dask",
    "active_client",
    "connect",
    "as_dask_array",
    "DaskBlocks",
    "map_dask_rows",
]

# Partials combined per reduction task: a tree of depth log8(blocks), in a fixed order, so a
# fit's result does not depend on which worker finished first.
REDUCE_FAN_IN = 8


def is_dask_array(X: Any) -> bool:
    """Whether ``X`` is a ``dask.array.Array`` (checked without importing dask)."""
    dask = sys.modules.get("dask")
    return dask is not None and hasattr(X, "chunks") and hasattr(X, "map_blocks") and dask.is_dask_collection(X)


def require_dask():
    """Import ``dask.array`` and ``dask.distributed``, or raise :class:`MissingExtraError`."""
    try:
        import dask.array as da
        import distributed
    except ImportError:
        raise MissingExtraError("k-means on Dask", "dask", "dask[distributed]") from None
    return da, distributed


def active_client():
    """The ``dask.distributed`` client in use, or an :class:`InputError` that says how to get one."""
    _, distributed = require_dask()
    try:
        return distributed.get_client()
    except ValueError:
        raise InputError(
            "fitting on a dask array needs a dask.distributed Client; create one first, e.g. "
            "`from dask.distributed import Client; client = Client()` (or Client('tcp://host:8786'))"
        ) from None


@contextlib.contextmanager
def connect(scheduler: str, *, n_threads: int = 1) -> Iterator[Any]:
    """A client for ``scheduler``: an address, or ``"local:N"`` for a LocalCluster of N processes.

    The local cluster listens on the loopback interface only, has no dashboard, and is shut
    down (workers included) when the block exits.
    """
    _, distributed = require_dask()
    if scheduler.startswith("local:"):
        text = scheduler.split(":", 1)[1]
        if not (text.isascii() and text.isdigit()) or int(text) < 1:
            raise InputError(f"--scheduler {scheduler!r} is not valid; expected local:N with N >= 1 workers")
        with (
            distributed.LocalCluster(
                n_workers=int(text),
                threads_per_worker=n_threads,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = distributed.Client(scheduler, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"--scheduler {scheduler!r}: cannot connect ({exc})") from None
    with client:
        yield client


def as_dask_array(X: Any, *, block_bytes: int = DEFAULT_BLOCK_BYTES, min_blocks: int = 1):
    """Wrap an array or a row-sliceable array-like (e.g. :class:`kmeanslab.scale.NpyFile`).

    Blocks hold about ``block_bytes`` each, and there are at least ``min_blocks`` of them. A
    :class:`NpyFile` travels to the workers as its path: each worker reads its own blocks.
    """
    da, _ = require_dask()
    n, d = check_shape(X, "X")
    rows = default_block_rows(d, np.dtype(X.dtype).itemsize, block_bytes)
    rows = max(1, min(rows, math.ceil(n / max(1, min_blocks))))
    return da.from_array(X, chunks=(rows, d), asarray=True)


# --------------------------------------------------------------------------- tasks (run on workers)


def _hold(value):
    return value


def _validated_weights(w, index: int) -> np.ndarray:
    w = np.ascontiguousarray(w, dtype=np.float64)
    if w.ndim != 1:
        raise InputError(f"sample_weight has {w.ndim} dimensions; expected one weight per sample")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InputError(
            f"sample_weight has a negative, NaN or inf value in block {index}; expected finite non-negative weights"
        )
    return w


def _result_only(fn, *args):
    with compute_context():
        return fn(*args)[1]


def _state_and_result(fn, *args):
    with compute_context():
        return fn(*args)


def _sq_norms(X_b):
    with compute_context():
        return row_sq_norms(X_b)


def _first(pair):
    return pair[0]


def _second(pair):
    return pair[1]


def _combine_all(combine, *parts):
    out = parts[0]
    for part in parts[1:]:
        out = combine(out, part)
    return out


def _take_rows(X_b, local_rows):
    return np.ascontiguousarray(X_b[local_rows])


def _labels_block(block, centers):
    return assign(check_data(np.asarray(block), "X"), centers)[0]


# --------------------------------------------------------------------------- the Dask source


class DaskBlocks(BlockSource):
    """The row blocks of a dask array, held on the workers of a ``dask.distributed`` cluster.

    The row blocks of X (and of the weights) are futures on the workers; per-block state (the
    labels of the Lloyd loop, the k-means‖ distances) stays there too. Tasks are pure (keys are
    hashes of their inputs) and have lineage back to X's graph, so Dask recomputes whatever a
    lost worker held. Blocks are not resident: no state refers to a block, so that no task
    holds a block alive beyond the blocks themselves.

    Parameters
    ----------
    client : distributed.Client, optional
        Default: the active client (:func:`active_client`).
    X : dask.array.Array of shape (n_samples, n_features)
        Its row blocks are the unit of work (rechunked to whole rows if needed).
    sample_weight : array-like or dask array of shape (n_samples,), optional
    """

    def __init__(self, client, X, sample_weight: Any = None, *, name: str = "X"):
        da, _ = require_dask()
        client = client or active_client()
        if X.ndim != 2:
            raise InputError(f"{name} must be a 2-D array of shape (n_samples, n_features); got shape {X.shape}")
        self.client = client
        self.name = name
        self.dtype = work_dtype(X.dtype, name)
        if X.numblocks[1] != 1:
            X = X.rechunk({1: -1})  # whole rows in every block
        self.array = X
        self.d = int(X.shape[1])
        parts = list(X.to_delayed().ravel())
        self.blocks = [
            client.submit(check_block, raw, name, f"block {i}") for i, raw in enumerate(client.compute(parts))
        ]
        sizes = X.chunks[0]
        if any(math.isnan(s) for s in sizes):
            sizes = client.gather([client.submit(len, b) for b in self.blocks])
        self.sizes = [int(s) for s in sizes]
        self.x_sq = [client.submit(_sq_norms, b) for b in self.blocks]
        self.n = sum(self.sizes)
        if self.n < 1 or self.d < 1:
            raise InputError(f"{name} has shape ({self.n}, {self.d}); expected at least one row and one column")
        starts = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.bounds = [(int(starts[i]), int(starts[i + 1])) for i in range(len(self.sizes))]
        self.weights, self.total_weight = self._weights(sample_weight, da)

    def _weights(self, sample_weight, da):
        if sample_weight is None:
            return [None] * len(self.blocks), float(self.n)
        if not is_dask_array(sample_weight):
            sample_weight = da.from_array(check_sample_weight(sample_weight, self.n), chunks=(tuple(self.sizes),))
        if sample_weight.ndim != 1 or sample_weight.shape[0] != self.n:
            raise InputError(
                f"sample_weight has shape {sample_weight.shape}; expected shape ({self.n},), one weight per sample"
            )
        sample_weight = sample_weight.rechunk((tuple(self.sizes),))
        parts = self.client.compute(list(sample_weight.to_delayed().ravel()))
        weights = [self.client.submit(_validated_weights, w, i) for i, w in enumerate(parts)]
        total = float(sum(self.client.gather([self.client.submit(np.sum, w) for w in weights])))
        if total <= 0.0:
            raise InputError("sample_weight is all zero; expected at least one positive weight")
        return weights, total

    @property
    def n_blocks(self) -> int:
        return len(self.blocks)

    def _held(self, value: Any) -> Any:
        # A task that returns the array, rather than a scattered copy: Dask can recompute it.
        return self.client.submit(_hold, value) if isinstance(value, np.ndarray) else value

    def map(
        self, fn: Callable, *args: Any, state: list | None = None, keep_state: bool = False, data: bool = True
    ) -> tuple[list | None, list]:
        submit = self.client.submit
        args = tuple(self._held(a) for a in args)
        states = state or [None] * len(self.blocks)
        calls = [
            (self.blocks[i], self.x_sq[i], self.weights[i], states[i], (i, a, b))
            for i, (a, b) in enumerate(self.bounds)
        ]
        if not keep_state:
            return None, [submit(_result_only, fn, *call, *args) for call in calls]
        pairs = [submit(_state_and_result, fn, *call, *args) for call in calls]
        return [submit(_first, p) for p in pairs], [submit(_second, p) for p in pairs]

    def reduce(self, results: list, combine: Callable) -> Any:
        level = list(results)
        while len(level) > 1:
            level = [
                self.client.submit(_combine_all, combine, *level[i : i + REDUCE_FAN_IN])
                for i in range(0, len(level), REDUCE_FAN_IN)
            ]
        return level[0].result()

    def gather(self, results: list) -> list:
        return self.client.gather(results)

    def take(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        starts = np.array([a for a, _ in self.bounds])
        which = np.searchsorted(starts, rows, side="right") - 1
        futures = [
            self.client.submit(_take_rows, self.blocks[i], rows[which == i] - starts[i]) for i in np.unique(which)
        ]
        parts = self.client.gather(futures)
        return np.concatenate(parts) if parts else np.empty((0, self.d), dtype=self.dtype)

    def final_labels(self, parts: list, centers: np.ndarray):
        """A lazy dask array of the labels, recomputed from X when asked for (nothing is held)."""
        return self.array.map_blocks(_labels_block, centers, dtype=np.int32, drop_axis=1)

    def release(self) -> None:
        """Let the cluster forget the fit's blocks."""
        self.blocks = self.x_sq = self.weights = []


# --------------------------------------------------------------------------- functions of rows


def map_dask_rows(X, fn: Callable, *args: Any, dtype: Any, n_columns: int | None = None):
    """``fn(block, *args)`` on every row block of the dask array ``X``, lazily.

    ``fn`` returns one value per row (``n_columns=None``) or ``n_columns`` values per row; it
    receives the raw block and validates it itself.
    """
    require_dask()
    if X.ndim != 2:
        raise InputError(f"X must be a 2-D array of shape (n_samples, n_features); got shape {X.shape}")
    X = X.rechunk({1: -1}) if X.numblocks[1] != 1 else X
    if n_columns is None:
        return X.map_blocks(fn, *args, dtype=dtype, drop_axis=1)
    return X.map_blocks(fn, *args, dtype=dtype, chunks=(X.chunks[0], (n_columns,)))
