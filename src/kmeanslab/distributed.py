"""k-means on Dask: each Lloyd iteration is a map-reduce over the blocks of a ``dask.array``.

``KMeans.fit(X)`` with a dask array ``X`` comes here (see :func:`fit_kmeans`). The row blocks
of X are materialised on the workers of the active ``dask.distributed`` client and stay there
for the fit. Every iteration then sends the ``k x d`` centres to the workers; each block runs
the engine's Lloyd pass and returns its per-cluster sums, weights and partial loss; the
partials are combined in a fixed tree on the workers and the client turns the one remaining
``(k x d, k, 1)`` partial into the new centres. The data never cross the network after the
first materialisation. Seeding is k-means‖ (Bahmani et al. 2012). The algorithms themselves
live in :mod:`kmeanslab.streaming`; this module is the Dask executor they run on.

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

from . import _core, streaming
from .errors import InputError, MissingExtraError
from .validation import check_data

__all__ = [
    "is_dask_array",
    "require_dask",
    "active_client",
    "connect",
    "as_dask_array",
    "DaskBlocks",
    "fit_kmeans",
    "predict",
    "transform",
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
        if not text.isdigit() or int(text) < 1:
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


def as_dask_array(X: Any, *, block_bytes: int = streaming.DEFAULT_BLOCK_BYTES, min_blocks: int = 1):
    """Wrap an array or a row-sliceable array-like (e.g. :class:`kmeanslab.streaming.NpyFile`).

    Blocks hold about ``block_bytes`` each, and there are at least ``min_blocks`` of them. A
    :class:`NpyFile` travels to the workers as its path: each worker reads its own blocks.
    """
    da, _ = require_dask()
    n, d = streaming._check_shape(X, "X")
    rows = streaming.default_block_rows(d, np.dtype(X.dtype).itemsize, block_bytes)
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
    with _core.compute_context():
        return fn(*args)[1]


def _state_and_result(fn, *args):
    with _core.compute_context():
        return fn(*args)


def _sq_norms(X_b):
    from ._core import row_sq_norms

    with _core.compute_context():
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


def _final_stats_block(X_b, x_sq_b, w_b, state, info, centers):
    _, (_, inertia, counts) = streaming.final_block(X_b, x_sq_b, w_b, state, info, centers)
    return None, (inertia, counts)


def _add_pairs(a, b):
    return a[0] + b[0], a[1] + b[1]


def _shell(model):
    """A bare fitted KMeans with ``model``'s centres: what a worker needs to predict."""
    from .estimator import KMeans

    shell = KMeans(n_clusters=model.cluster_centers_.shape[0])
    shell.cluster_centers_ = np.asarray(model.cluster_centers_)
    shell.n_features_in_ = int(model.n_features_in_)
    return shell


def _predict_block(block, shell):
    return shell.predict(np.asarray(block))


def _transform_block(block, shell):
    return shell.transform(np.asarray(block))


def _labels_block(block, centers):
    from ._core import assign

    return assign(check_data(np.asarray(block), "X"), centers)[0]


# --------------------------------------------------------------------------- the Dask executor


class DaskBlocks:
    """The block executor of :mod:`kmeanslab.streaming` on a ``dask.distributed`` cluster.

    The row blocks of X (and of the weights) are futures on the workers; per-block state (the
    k-means‖ distances) stays there too. Tasks are pure (keys are hashes of their inputs) and
    have lineage back to X's graph, so Dask recomputes whatever a lost worker held.
    """

    def __init__(self, client, X, sample_weight: Any = None, *, name: str = "X"):
        da, _ = require_dask()
        if X.ndim != 2:
            raise InputError(f"{name} must be a 2-D array of shape (n_samples, n_features); got shape {X.shape}")
        self.client = client
        self.name = name
        self.dtype = streaming._work_dtype(X.dtype, name)
        if X.numblocks[1] != 1:
            X = X.rechunk({1: -1})  # whole rows in every block
        self.array = X
        self.d = int(X.shape[1])
        parts = list(X.to_delayed().ravel())
        self.blocks = [
            client.submit(streaming._check_block, raw, name, f"block {i}")
            for i, raw in enumerate(client.compute(parts))
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
            from .validation import check_sample_weight

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
            self.client.submit(streaming.take_local, self.blocks[i], rows[which == i] - starts[i])
            for i in np.unique(which)
        ]
        parts = self.client.gather(futures)
        return np.concatenate(parts) if parts else np.empty((0, self.d), dtype=self.dtype)

    def final(self, centers: np.ndarray):
        _, parts = self.map(_final_stats_block, centers)
        inertia, counts = self.reduce(parts, _add_pairs)
        labels = self.array.map_blocks(_labels_block, centers, dtype=np.int32, drop_axis=1)
        return labels, float(inertia), counts

    def release(self) -> None:
        """Let the cluster forget the fit's blocks."""
        self.blocks = self.x_sq = self.weights = []


# --------------------------------------------------------------------------- the estimator's way in


def fit_kmeans(model, X, sample_weight: Any = None, *, client=None, on_iteration: Callable | None = None):
    """Fit ``model`` (a :class:`kmeanslab.KMeans`) on the dask array ``X`` on a Dask cluster.

    Parameters
    ----------
    model : KMeans
    X : dask.array.Array of shape (n_samples, n_features)
        Its row blocks are the unit of work (rechunked to whole rows if needed).
    sample_weight : array-like or dask array of shape (n_samples,), optional
    client : distributed.Client, optional
        Default: the active client (:func:`active_client`).
    on_iteration : callable, optional
        Called as ``on_iteration(iteration, centers, loss)`` after each Lloyd iteration.

    Returns
    -------
    model
        Fitted. ``cluster_centers_`` is a NumPy array; ``labels_`` a lazy dask array (the
        nearest centre of each row, computed from X when asked for).
    """
    require_dask()
    client = client or active_client()
    blocks = DaskBlocks(client, X, sample_weight)
    try:
        return streaming.fit_blockwise(model, blocks, X, on_iteration=on_iteration)
    finally:
        blocks.release()


def _check_predict_input(model, X):
    from sklearn.utils.validation import check_is_fitted, validate_data

    require_dask()
    check_is_fitted(model)
    if X.ndim != 2:
        raise InputError(f"X must be a 2-D array of shape (n_samples, n_features); got shape {X.shape}")
    streaming._check_n_features(model, int(X.shape[1]))
    validate_data(model, X, skip_check_array=True, reset=False)
    return X.rechunk({1: -1}) if X.numblocks[1] != 1 else X


def predict(model, X):
    """The nearest centre of every row of the dask array ``X``, as a lazy int32 dask array."""
    X = _check_predict_input(model, X)
    return X.map_blocks(_predict_block, _shell(model), dtype=np.int32, drop_axis=1)


def transform(model, X):
    """Distances from every row of ``X`` to every centre, as a lazy dask array (n, k)."""
    X = _check_predict_input(model, X)
    k = model.cluster_centers_.shape[0]
    dtype = streaming._work_dtype(X.dtype)
    return X.map_blocks(_transform_block, _shell(model), dtype=dtype, chunks=(X.chunks[0], (k,)))
