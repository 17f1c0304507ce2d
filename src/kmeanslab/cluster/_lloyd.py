"""The Lloyd loop: one loop for every block source (in memory, streamed, Dask).

Each iteration is one pass over the blocks of X: every block assigns its rows to the nearest
centre and returns its per-cluster sums, weights, loss and number of labels changed; the
reduced sums give the new centres here, the empty-cluster policy applies, and a stop rule
decides. A source whose blocks are resident (X in memory) keeps each block's assigner, with
its labels and bounds, from one pass to the next, so the pruning algorithms (Hamerly, Elkan,
Yinyang) skip what their bounds prove; other sources keep only each block's labels and run
the full Lloyd pass. Every algorithm gives Lloyd's result.

``STOP_RULES`` and ``EMPTY_POLICIES`` name the choices; ``STOP_TESTS`` and
``EMPTY_CLUSTER_HANDLERS`` map each name to the small function that implements it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._core import _means, inertia
from ..errors import InputError
from ..scale import BlockSource, InMemoryBlocks
from ..validation import check_choice, is_sparse
from ._assigners import make_assigner

__all__ = [
    "EMPTY_POLICIES",
    "STOP_RULES",
    "LloydResult",
    "lloyd",
    "loss_converged",
]


# --------------------------------------------------------------------------- stop rules


def loss_converged(losses: list[float], tol: float) -> bool:
    """The assignment's rule: relative decrease ``(l[t-1] - l[t]) / l[t] < tol``, for ``t >= 2``."""
    t = len(losses) - 1
    if t < 2:
        return False
    previous, current = losses[t - 1], losses[t]
    if current <= 0.0:
        return True  # every point sits on its centre: nothing left to decrease
    return (previous - current) / current < tol


def _shift_settled(shift: float, losses: list[float], tol: float) -> bool:
    """The total squared shift of the centres is at most ``tol`` (already scaled)."""
    return shift <= tol


def _loss_settled(shift: float, losses: list[float], tol: float) -> bool:
    """The relative decrease of the loss is below ``tol`` (see :func:`loss_converged`)."""
    return loss_converged(losses, tol)


#: Each ``stop=`` name and its test ``(shift, losses, tol) -> bool``.
STOP_TESTS: dict[str, Callable[[float, list[float], float], bool]] = {
    "shift": _shift_settled,
    "loss": _loss_settled,
}
STOP_RULES = tuple(STOP_TESTS)


# --------------------------------------------------------------------------- per-block work
# Each takes (X_b, x_sq_b, w_b, state_b, (index, start, stop), *args) and returns
# (new_state_b, result_b); a block source runs it on every block (here, or on a Dask worker).


def nearest_centres(X_b, x_sq_b, centers) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre and squared distance per row: the full Lloyd pass on one block.

    Same kernel and numbers as ``_core.assign``, without its per-call thread-pool set-up (the
    sources hold :func:`kmeanslab._core.compute_context` around their passes).
    """
    assigner = make_assigner("lloyd", X_b, centers.shape[0], None, x_sq_b)
    labels, _, _ = assigner.step(centers)
    return labels, assigner.min_sq_dists(centers)


def _step_block(X_b, x_sq_b, w_b, state, info, centers, previous, algorithm, resident):
    """One Lloyd step on one block: ``(state, (sums, weights, loss sum, labels changed))``.

    On a resident block the state is the block's assigner, told how far the centres moved
    since its last step; otherwise it is the block's labels, and a full Lloyd pass runs.
    """
    k = centers.shape[0]
    if resident:
        if state is None:
            state = make_assigner(algorithm, X_b, k, w_b, x_sq_b)
        else:
            state.centers_moved(previous, centers)
        _, sums, wsums = state.step(centers)
        return state, (sums, wsums, state.loss_sum, state.n_changed)
    assigner = make_assigner("lloyd", X_b, k, w_b, x_sq_b)
    labels, sums, wsums = assigner.step(centers)
    n_changed = len(labels) if state is None else int(np.count_nonzero(labels != state))
    return labels, (sums, wsums, assigner.loss_sum, n_changed)


def _add_step_stats(a: tuple, b: tuple) -> tuple:
    """Combine two blocks' ``(sums, weights, loss sum, labels changed)``."""
    return a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]


def _far_rows_block(X_b, x_sq_b, w_b, state, info, centers, pool, resident):
    """The block's ``pool`` rows farthest from their centre (candidates for empty clusters).

    Returns the rows, their squared distances, labels and weights, whether the block had more
    rows than ``pool``, and the block's count of rows of positive weight per cluster (to tell
    when relocation takes a cluster's last point). Rows of zero weight count as on their centre: moving a
    centre there gains nothing.
    """
    if resident:
        d2, labels = state.min_sq_dists(centers), state.labels
    else:
        labels, d2 = nearest_centres(X_b, x_sq_b, centers)
    far = d2 if w_b is None else np.where(w_b > 0, d2, 0.0)
    truncated = pool < len(far)
    top = np.argpartition(-far, pool - 1)[:pool] if truncated else np.arange(len(far))
    weights = np.ones(len(top)) if w_b is None else np.asarray(w_b[top], dtype=np.float64)
    # Rows of zero weight do not keep a cluster alive: its centre would be their mean, 0 / 0.
    members = labels if w_b is None else labels[w_b > 0]
    counts = np.bincount(members, minlength=centers.shape[0]).astype(np.int64)
    rows = X_b[top].toarray() if is_sparse(X_b) else X_b[top]  # a few rows: O(k d) even for sparse X
    return None, (np.ascontiguousarray(rows), far[top], np.asarray(labels[top]), weights, truncated, counts)


def _final_block(X_b, x_sq_b, w_b, state, info, centers, previous, strict, resident):
    """Labels under the final centres, the block's inertia, and its cluster sizes.

    After a strict convergence the last step's labels are final; otherwise the centres moved
    once more and the rows are labelled again.
    """
    if resident:
        if strict:
            labels = state.labels
        else:
            state.centers_moved(previous, centers)
            labels = state.final_labels(centers)
    elif strict:
        labels = state
    else:
        labels = nearest_centres(X_b, x_sq_b, centers)[0]
    sizes = np.bincount(labels, minlength=centers.shape[0]).astype(np.int64)
    return None, (labels, inertia(X_b, centers, labels, w_b), sizes)


def _add_final_stats(a: tuple, b: tuple) -> tuple:
    """Combine two blocks' ``(labels, inertia, sizes)``; the labels stay where they are."""
    return None, a[1] + b[1], a[2] + b[2]


# --------------------------------------------------------------------------- empty clusters


def _farthest_distinct(X: np.ndarray, far: np.ndarray, n_empty: int) -> list[int]:
    """Up to ``n_empty`` rows of X, farthest first, no two equal, none at distance 0.

    "Far" is the squared distance of a row to the centre it was assigned to. Rows already on
    their centre (distance 0, or zero weight) are never used: moving a centre there gains
    nothing, and with only duplicate points left an empty centre stays where it was. Equal
    distances are ordered by the rows' values, so the choice does not depend on the order
    of the rows.
    """
    n = X.shape[0]
    pool = min(n, max(4 * n_empty, n_empty + 16))
    while True:
        candidates = np.argpartition(-far, pool - 1)[:pool] if pool < n else np.arange(n)
        candidates = candidates[far[candidates] > 0.0]
        # Farthest first; equal distances by value, the largest row first (the last sort key is
        # the primary one): 1-D this is scikit-learn's choice among tied rows in sorted input.
        columns = X[candidates].T
        candidates = candidates[np.lexsort((*(-columns[::-1]), -far[candidates]))]
        chosen: list[int] = []
        for idx in candidates:
            if len(chosen) == n_empty:
                break
            if not any(np.array_equal(X[idx], X[c]) for c in chosen):
                chosen.append(int(idx))
        # Duplicates among the candidates can leave us short: widen the pool and look again.
        if len(chosen) == n_empty or pool >= n or len(candidates) < pool:
            return chosen
        pool = min(n, pool * 4)


def _take_out_of_donors(rows, labels, weights, chosen, empties, sums, wsums, sizes, new_centers) -> None:
    """Each chosen row becomes the only point of its empty cluster and leaves the one it was in.

    As scikit-learn's Lloyd (``_relocate_empty_clusters_dense``): the row's weighted value
    and weight move from its cluster's sums to the empty cluster's, so its former cluster's
    centre is the mean of the points it keeps. A cluster that gives away its last point is
    empty in turn; like scikit-learn, its centre goes to the centre of the heaviest cluster.
    """
    sums, wsums, sizes = sums.copy(), wsums.copy(), sizes.copy()
    donors = []
    for cluster, idx in zip(empties, chosen):
        donor, w = int(labels[idx]), float(weights[idx])
        sums[donor] -= w * rows[idx]
        wsums[donor] -= w
        sizes[donor] -= 1
        sums[cluster] = w * rows[idx]
        wsums[cluster] = w
        sizes[cluster] = 1
        donors.append(donor)
        new_centers[cluster] = rows[idx]
    heaviest = int(np.argmax(np.where(sizes > 0, wsums, -np.inf)))
    for donor in sorted(set(donors)):
        if sizes[donor] > 0:
            new_centers[donor] = sums[donor] / wsums[donor]
    for donor in sorted(set(donors)):
        if sizes[donor] <= 0:
            new_centers[donor] = new_centers[heaviest]


def _relocate(source: BlockSource, states, centers_x, new_centers, empties, sums, wsums) -> int:
    """``empty="relocate"``: every block offers its farthest rows; :func:`_farthest_distinct` picks.

    The union of the blocks' farthest rows holds the global farthest ones, so the choice is
    the one a single pass over all of X would make. The pool widens when duplicates leave it
    short. The chosen rows leave their clusters (:func:`_take_out_of_donors`).
    """
    pool = max(4 * len(empties), len(empties) + 16)
    while True:
        _, parts = source.map(_far_rows_block, centers_x, pool, source.resident, state=states)
        parts = source.gather(parts)
        rows = np.ascontiguousarray(np.concatenate([p[0] for p in parts]))
        far = np.concatenate([p[1] for p in parts])
        chosen = _farthest_distinct(rows, far, len(empties))
        if len(chosen) == len(empties) or not any(p[4] for p in parts):
            break
        pool *= 4
    labels = np.concatenate([p[2] for p in parts])
    weights = np.concatenate([p[3] for p in parts])
    sizes = np.sum([p[5] for p in parts], axis=0)
    _take_out_of_donors(rows, labels, weights, chosen, empties[: len(chosen)], sums, wsums, sizes, new_centers)
    return len(chosen)


def _set_to_zeros(source, states, centers_x, new_centers, empties, sums, wsums) -> int:
    """``empty="zeros"``: an empty cluster's centre becomes the origin (the course's rule)."""
    new_centers[empties] = 0.0
    return 0


def _keep_in_place(source, states, centers_x, new_centers, empties, sums, wsums) -> int:
    """``empty="keep"``: an empty cluster's centre stays where it was."""
    return 0


#: Each ``empty=`` name and its handler ``(source, states, centers, new_centers, empties, sums, wsums)
#: -> moved``, which sets the empty clusters' centres (and any it changes) in ``new_centers``.
EMPTY_CLUSTER_HANDLERS: dict[str, Callable[..., int]] = {
    "relocate": _relocate,
    "zeros": _set_to_zeros,
    "keep": _keep_in_place,
}
EMPTY_POLICIES = tuple(EMPTY_CLUSTER_HANDLERS)


# --------------------------------------------------------------------------- the loop


@dataclass
class LloydResult:
    """What one run of the Lloyd loop produced."""

    centers: np.ndarray
    labels: Any
    inertia: float
    n_iter: int
    loss_history: np.ndarray
    converged: bool
    n_relocated: int = 0
    extra: dict = field(default_factory=dict)
    sizes: np.ndarray | None = None


# Centres of more values than this have their shift summed by row blocks (no k x d temporary).
_SHIFT_BLOCK_VALUES = 2**20


def _squared_shift(new: np.ndarray, old: np.ndarray) -> float:
    """Total squared distance between ``new`` and ``old`` centres."""
    if new.size <= _SHIFT_BLOCK_VALUES:
        return float(np.sum((new - old) ** 2))
    rows = max(1, _SHIFT_BLOCK_VALUES // new.shape[1])
    total = 0.0
    for a in range(0, new.shape[0], rows):
        diff = new[a : a + rows] - old[a : a + rows]
        total += float(np.einsum("ij,ij->", diff, diff))
    return total


def _check_finite(centers: np.ndarray, n_iter: int) -> None:
    if not np.all(np.isfinite(centers)):
        raise InputError(
            f"the centres overflowed at iteration {n_iter}: the weighted sums of X are not finite in float64; "
            f"expected values and sample weights whose weighted sums stay below 1e308"
        )


def lloyd(
    X: np.ndarray | BlockSource,
    init_centers: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    max_iter: int = 300,
    tol: float = 1e-4,
    stop: str = "shift",
    empty: str = "relocate",
    algorithm: str = "lloyd",
    x_sq: np.ndarray | None = None,
    verbose: bool = False,
    log: Callable[[str], None] | None = None,
    on_iteration: Callable[[int, np.ndarray, float], None] | None = None,
    update_hook: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    loss_scale: float = 1.0,
) -> LloydResult:
    """Run Lloyd's algorithm from ``init_centers`` until a stop rule holds or ``max_iter``.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32 or float64, C-ordered; or a block source
        Validated data (see :func:`kmeanslab.validation.check_data`), or any
        :class:`kmeanslab.scale.BlockSource` (which holds its own weights).
    init_centers : ndarray of shape (k, d)
    sample_weight : ndarray of shape (n,), optional
        With an ndarray X only.
    max_iter : int
    tol : float
        With ``stop="shift"``: the bound on the total squared centre shift, already scaled
        (the estimator multiplies its ``tol`` by the mean feature variance, as scikit-learn).
        With ``stop="loss"``: the bound on the relative decrease of the loss.
    stop : {"shift", "loss"}
    empty : {"relocate", "zeros", "keep"}
        What happens to the centre of a cluster that lost all its points.
    algorithm : {"lloyd", "hamerly", "elkan", "yinyang", "auto"}
        How assignments are computed on a resident source (X in memory); every algorithm gives
        Lloyd's result. Other sources run the full Lloyd pass.
    x_sq : ndarray of shape (n,), optional
        Precomputed squared row norms (float64), with an ndarray X only.
    verbose : bool
        Report the loss at every iteration through ``log`` (default: print).
    on_iteration : callable, optional
        Called as ``on_iteration(iteration, centers, loss)`` after every iteration.
    update_hook : callable, optional
        Called as ``update_hook(new_centers, centers) -> new_centers`` after every centre update
        (means and empty clusters done), before the stop rules see the shift: spherical k-means
        passes :func:`kmeanslab.cluster._cosine.renormalise_centres` to keep the centres unit.
    loss_scale : float, default=1.0
        The verbose lines report the loss and inertia times this (cosine: 0.5, so that they show
        ``Σ w (1 - cos)`` as ``inertia_`` does, not the squared distances between unit vectors);
        the result itself is not scaled.

    Returns
    -------
    LloydResult
        Also stops early (strict convergence) when an iteration changes no label.
    """
    if isinstance(X, BlockSource):
        if sample_weight is not None or x_sq is not None:
            raise InputError("sample_weight and x_sq go with an ndarray X; a block source holds its own")
        source = X
    else:
        source = InMemoryBlocks(X, sample_weight, x_sq)
    stop_test = STOP_TESTS[check_choice(stop, "stop", STOP_RULES)]
    handle_empty = EMPTY_CLUSTER_HANDLERS[check_choice(empty, "empty", EMPTY_POLICIES)]
    resident = source.resident
    log = log or print
    centers = np.array(init_centers, dtype=np.float64, order="C")
    losses: list[float] = []
    converged = strict = False
    n_relocated = n_iter = 0
    states = previous = None
    with source.computing():
        for n_iter in range(1, max_iter + 1):
            centers_x = centers.astype(source.dtype, copy=False)
            states, parts = source.map(
                _step_block, centers_x, previous, algorithm, resident, state=states, keep_state=True
            )
            sums, wsums, loss_sum, n_changed = source.reduce(parts, _add_step_stats)
            loss = float(loss_sum / source.total_weight)
            losses.append(loss)
            new_centers = _means(sums, wsums, centers)
            empties = np.flatnonzero(wsums <= 0)
            moved = handle_empty(source, states, centers_x, new_centers, empties, sums, wsums) if len(empties) else 0
            if update_hook is not None:
                new_centers = update_hook(new_centers, centers)
            shift = _squared_shift(new_centers, centers)
            if not math.isfinite(shift):
                # The centres were finite: a value of the new ones that is not makes the shift
                # inf or NaN, so the (k x d) check runs only then.
                _check_finite(new_centers, n_iter)
            n_relocated += moved
            if verbose:
                log(f"iteration {n_iter:4d}  loss {loss_scale * loss:.10g}  shift {shift:.4g}")
            if on_iteration is not None:
                on_iteration(n_iter, new_centers, loss)
            # Only the pruning assigners need the old centres (to loosen their bounds); the full
            # pass ("lloyd", dense or sparse) does not, and dropping them saves a k x d array.
            keep_old = resident and states[0].name != "lloyd"
            previous, centers = (centers_x if keep_old else None), new_centers
            if moved == 0 and n_changed == 0:
                # No label changed, so the sums and the centres did not change either.
                converged = strict = True
                break
            if stop_test(shift, losses, tol):
                converged = True
                break
        centers_x = centers.astype(source.dtype, copy=False)  # the final centres: no k x d copy
        _, parts = source.map(_final_block, centers_x, previous, strict, resident, state=states)
        _, final_inertia, sizes = source.reduce(parts, _add_final_stats)
        labels = source.final_labels(parts, centers_x)
    final_inertia = float(final_inertia)
    if verbose:
        state = "converged" if converged else "stopped at max_iter"
        log(f"{state} after {n_iter} iterations, inertia {loss_scale * final_inertia:.10g}")
    name = states[0].name if resident else "lloyd"
    return LloydResult(
        centers=centers_x,
        labels=labels,
        inertia=final_inertia,
        n_iter=n_iter,
        loss_history=np.asarray(losses),
        converged=converged,
        n_relocated=n_relocated,
        extra={"algorithm": name},
        sizes=np.asarray(sizes),
    )
