"""Assigners: how each Lloyd step finds every point's nearest centre.

Full Lloyd (:class:`LloydAssigner`: every distance computed, one fused pass over X) and three
exact accelerations of it, Hamerly, Elkan and Yinyang, share one interface (see
:class:`LloydAssigner`). ``ASSIGNERS`` maps each ``algorithm=`` name to its class and
:func:`choose_algorithm` picks one for ``"auto"``.

The accelerations keep, per point, an upper bound on the distance to its centre and lower bounds
on the distances to the others (one bound for Hamerly, one per group of centres for Yinyang, one
per centre for Elkan). When the centres move by ``δ_j``, the triangle inequality loosens the bounds
by at most ``δ_j``; a point whose bounds still separate its centre from all others keeps it
without any distance being computed. Every test keeps a margin for the rounding error of the
computed distances, so a point is only skipped when Lloyd would have given it the same label.

What keeps an iteration cheap once few points move:

* bounds are *lazy* (stored offset by the cumulative drift), so a skipped point costs a few
  loads and no store;
* the cluster sums are updated from the points that changed cluster, not recomputed from X
  (a full recount, in the same order as Lloyd's pass, when many points moved or after n moves);
* when most points fail their tests (the first iterations), the step is one dense pass of the
  shared chunked kernel, which also resets every bound.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .. import _kernels
from .._core import (
    SPARSE_SLAB_ROWS,
    CenterArrays,
    Layout,
    _weights_arg,
    assign_into,
    direct_margin,
    one_thread,
    rounding_margin,
    sparse_assign_into,
    sparse_center_arrays,
    sparse_cluster_sums_into,
    sparse_slab_count,
)
from ..validation import check_choice, is_sparse


class ClusterSums:
    """Per-cluster sums and weights kept from one step to the next.

    Either recounted from X in Lloyd's order (per slab, then the slabs in order: bit-identical
    whichever algorithm asks), or updated from the points that changed cluster (see
    :func:`kmeanslab._kernels.sums.apply_moves`), which costs far less once few points move. The
    updates carry rounding, so a recount follows whenever more than ``n`` moves have been
    applied since the last one, or one step's moves overflow their buffers (an eighth of the
    points). ``members`` counts the points of positive weight of each cluster, so that a
    cluster that loses its last one gets sums of exactly zero, as a recount would give.
    """

    _MOVES_FRACTION = 8
    _COL_BLOCK = 64

    def __init__(self, X: np.ndarray, k: int, weights: np.ndarray | None, layout: Layout):
        n, d = X.shape
        self.X, self.k, self.w, self.layout = X, k, weights, layout
        self.sums = np.zeros((k, d))
        self.wsums = np.zeros(k)
        self.members = np.zeros(k, dtype=np.int64)
        self._members_stale = True
        self.move_cap = max(16, -(-layout.slab_rows // self._MOVES_FRACTION))
        self.move_idx = np.empty(layout.n_slabs * self.move_cap, dtype=np.int32)
        self.move_old = np.empty(layout.n_slabs * self.move_cap, dtype=np.int32)
        self._slab_sums: np.ndarray | None = None
        self._slab_wsums: np.ndarray | None = None
        self.since_count = 0

    def slab_buffers(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-slab partial sums for a pass that accumulates (allocated once)."""
        if self._slab_sums is None:
            n_slabs = self.layout.n_slabs
            self._slab_sums = np.empty((n_slabs, self.k, self.X.shape[1]))
            self._slab_wsums = np.empty((n_slabs, self.k))
        return self._slab_sums, self._slab_wsums

    def from_slabs(self) -> None:
        """Take the sums a pass has just accumulated per slab."""
        slab_sums, slab_wsums = self.slab_buffers()
        # Whole slabs added in slab order: the same sums whichever threads made them.
        np.sum(slab_sums, axis=0, out=self.sums)
        np.sum(slab_wsums, axis=0, out=self.wsums)
        self._members_stale = True
        self.since_count = 0

    def recount(self, labels: np.ndarray) -> None:
        """Sums of the rows of each cluster, from X, in Lloyd's order."""
        slab_sums, slab_wsums = self.slab_buffers()
        layout = self.layout
        _kernels.run(
            _kernels.sums.accumulate,
            layout.n_slabs,
            self.X,
            labels,
            self.w,
            layout.chunk,
            layout.slab_rows,
            slab_sums,
            slab_wsums,
            small=self.layout.small,
        )
        self.from_slabs()

    def apply(self, labels: np.ndarray, slab_moves: np.ndarray) -> None:
        """Account for the moves a step recorded (``slab_moves[s]`` of them in slab s)."""
        moves = int(slab_moves.sum())
        if moves == 0:
            return
        self.since_count += moves
        if np.any(slab_moves > self.move_cap) or self.since_count > self.X.shape[0]:
            self.recount(labels)
            return
        if self._members_stale:
            positive = labels if self.w is None else labels[self.w > 0]
            # The moves are already in ``labels``: count as before them, then apply them.
            self.members[:] = np.bincount(positive, minlength=self.k)
            recorded = np.concatenate(
                [np.arange(s * self.move_cap, s * self.move_cap + c) for s, c in enumerate(slab_moves)]
            ).astype(np.int64)
            idx, old = self.move_idx[recorded], self.move_old[recorded]
            keep = np.ones(len(idx), bool) if self.w is None else self.w[idx] > 0
            np.add.at(self.members, labels[idx[keep]], -1)
            np.add.at(self.members, old[keep], 1)
            self._members_stale = False
        n_col_blocks = -(-self.X.shape[1] // self._COL_BLOCK)
        _kernels.run(
            _kernels.sums.apply_moves,
            n_col_blocks + 1,  # and one unit for the weights and member counts
            self.X,
            self.w,
            labels,
            self.move_idx,
            self.move_old,
            np.asarray(slab_moves, dtype=np.int64),
            self.move_cap,
            self._COL_BLOCK,
            self.sums,
            self.wsums,
            self.members,
            small=self.layout.small,
        )
        gone = self.members == 0
        if gone.any():
            self.sums[gone] = 0.0
            self.wsums[gone] = 0.0


class LloydAssigner:
    """Full Lloyd assignment: every distance computed, one fused pass over X per iteration.

    The interface every assigner offers to :func:`lloyd` (the pruning algorithms in
    :mod:`kmeanslab.pruning` implement it too):

    * ``step(centers) -> (labels, sums, wsums)``: assign every row to its nearest centre (ties
      to the lowest index) and return the labels (int32, owned by the assigner), the float64
      per-cluster sums of the (weighted) rows and the clusters' total weights (owned by the
      assigner: read them before the next step);
    * ``n_changed``: how many labels that step changed (every label counts as changed at the
      first step);
    * ``loss_sum``: the weighted sum of squared distances of that assignment to the centres it
      was made with (float64);
    * ``min_sq_dists(centers)``: squared distance of each row to the centre ``step`` gave it,
      as plain Lloyd computes it (used to relocate empty clusters);
    * ``centers_moved(old, new)``: called whenever the centres change between steps;
    * ``final_labels(centers)``: the labels for the final centres;
    * ``name``, ``labels``, ``weights``.

    While many points change cluster the pass also accumulates the cluster sums; once few do
    (under 1/16), it records the moves and the sums are updated from them (:class:`ClusterSums`).
    """

    name = "lloyd"
    _IN_PASS_FRACTION = 16

    def __init__(self, X: np.ndarray, k: int, sample_weight: np.ndarray | None, x_sq: np.ndarray):
        n, d = X.shape
        self.X, self.k, self.weights, self.x_sq = X, k, sample_weight, x_sq
        self._w = _weights_arg(sample_weight)
        self.layout = Layout.for_shape(n, d, k, X.itemsize)
        self.labels = np.full(n, -1, dtype=np.int32)
        self.min_d2 = np.empty(n, dtype=np.float64)
        self.n_changed = n
        self.loss_sum = 0.0
        self.sums = ClusterSums(X, k, self._w, self.layout)
        self._stats = np.empty((self.layout.n_slabs, 2), dtype=np.float64)

    def step(self, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Assign every row to the nearest of ``centers``; return labels, sums and weights."""
        layout, sums = self.layout, self.sums
        n = self.X.shape[0]
        arrays = CenterArrays.build(centers, layout, self.X.dtype)
        in_pass = self.n_changed * self._IN_PASS_FRACTION > n
        slab_sums, slab_wsums = sums.slab_buffers()
        _kernels.run(
            _kernels.lloyd.lloyd_pass,
            layout.n_slabs,
            self.X,
            arrays.C,
            arrays.CT,
            arrays.c_half,
            arrays.n_in_3tiles,
            self.x_sq,
            self._w,
            layout.chunk,
            layout.slab_rows,
            arrays.tiles,
            layout.center_block,
            self.labels,
            self.min_d2,
            slab_sums,
            slab_wsums,
            self._stats,
            in_pass,
            sums.move_idx,
            sums.move_old,
            sums.move_cap,
            small=self.layout.small,
        )
        self.n_changed = int(self._stats[:, 0].sum())
        self.loss_sum = float(self._stats[:, 1].sum())
        if in_pass:
            sums.from_slabs()
        else:
            sums.apply(self.labels, self._stats[:, 0].astype(np.int64))
        return self.labels, sums.sums, sums.wsums

    def min_sq_dists(self, centers: np.ndarray) -> np.ndarray:
        """Exact squared distance of each row to the centre ``step`` assigned it to."""
        return self.min_d2

    def centers_moved(self, old: np.ndarray, new: np.ndarray) -> None:
        """Called after the centres change; full Lloyd keeps no state that depends on them."""

    def final_labels(self, centers: np.ndarray) -> np.ndarray:
        """Labels for ``centers`` without accumulating sums (the loop's last assignment)."""
        assign_into(
            self.X,
            CenterArrays.build(centers, self.layout, self.X.dtype),
            self.x_sq,
            self.layout,
            self.labels,
            self.min_d2,
        )
        return self.labels


# A step whose tests failed for more than this fraction of the points (or of the distances, for
# Elkan and Yinyang) is followed by a dense pass: the gathered path would cost as much.
_DENSE_AGAIN = 0.4
# Elkan: a point left with more than this fraction of the centres as candidates gets all its
# distances from the chunk kernel (several times faster per distance than pair by pair).
_GATHER_FRACTION = 0.25
# Yinyang: about ten centres per group (Ding et al.), with the group bounds kept within this.
_GROUP_BOUND_BYTES = 16 * 2**20
# Below this much work (in multiply-adds, about 2 ms on one core) a step may run on one thread:
# waking the kernels' threads costs a scheduler time slice (~8 ms measured) when another
# process holds the other core, which is common on a shared machine. A probe that hands an
# empty task to every thread, repeated every few steps, tells whether that is the case now.
_SERIAL_WORK = 5e7
_PROBE_EVERY = 8
_CONTENDED_SECONDS = 5e-4


class _ThreadPolicy:
    """Chooses, per step, between the slab threads and the calling thread alone.

    Only the speed depends on the choice: slabs, and so results, are the same either way.
    """

    def __init__(self):
        self._steps = _PROBE_EVERY
        self._contended = False

    def serial(self, effort: float) -> bool:
        if effort >= _SERIAL_WORK or numba.get_num_threads() < 2:
            return numba.get_num_threads() < 2
        self._steps += 1
        if self._steps >= _PROBE_EVERY:
            self._steps = 0
            self._contended = _kernels.wake_seconds() > _CONTENDED_SECONDS
        return self._contended or effort < _SERIAL_WORK / 16


def center_separations(C: np.ndarray, block: int = 256) -> tuple[np.ndarray, np.ndarray | None]:
    """Lower bounds on the distances between centres: (``s``, ``cc``).

    ``s[a]`` is half the distance from centre a to the nearest other centre. The distances come
    from float64 norms and products, less their worst-case rounding error, so they are never
    larger than the true ones. Computed in row blocks so that nothing k x k is kept.
    """
    c = np.asarray(C, dtype=np.float64)
    k, d = c.shape
    c_sq = np.einsum("ij,ij->i", c, c)
    coef = (2 * d + 16) * np.finfo(np.float64).eps
    s = np.empty(k)
    for a in range(0, k, block):
        b = min(a + block, k)
        d2 = c_sq[a:b, None] + c_sq[None, :] - 2.0 * (c[a:b] @ c.T)
        d2 -= coef * (c_sq[a:b, None] + c_sq[None, :])
        np.maximum(d2, 0.0, out=d2)
        d2[np.arange(b - a), np.arange(a, b)] = np.inf
        s[a:b] = 0.5 * np.sqrt(d2.min(axis=1))
    return s, None


def _half_distances(C: np.ndarray) -> np.ndarray:
    """Half the (lower-bounded) distance between every pair of centres, k x k float64."""
    c = np.asarray(C, dtype=np.float64)
    d = c.shape[1]
    c_sq = np.einsum("ij,ij->i", c, c)
    coef = (2 * d + 16) * np.finfo(np.float64).eps
    d2 = c_sq[:, None] + c_sq[None, :] - 2.0 * (c @ c.T)
    d2 -= coef * (c_sq[:, None] + c_sq[None, :])
    np.maximum(d2, 0.0, out=d2)
    return 0.5 * np.sqrt(d2)


def yinyang_groups(centers: np.ndarray, n_groups: int, n_iter: int = 5) -> np.ndarray:
    """Group the centres by a few Lloyd iterations on the centres themselves (deterministic).

    Returns the group index of every centre, groups numbered 0..G-1 with none empty.
    """
    c = np.asarray(centers, dtype=np.float64)
    k = c.shape[0]
    n_groups = max(1, min(n_groups, k))
    seeds = c[(np.arange(n_groups) * k) // n_groups].copy()
    c_sq = np.einsum("ij,ij->i", c, c)
    groups = np.zeros(k, dtype=np.int64)
    for _ in range(n_iter):
        d2 = c_sq[:, None] - 2.0 * (c @ seeds.T) + np.einsum("ij,ij->i", seeds, seeds)[None, :]
        groups = np.argmin(d2, axis=1)
        for g in range(n_groups):
            members = groups == g
            if members.any():
                seeds[g] = c[members].mean(axis=0)
    _, groups = np.unique(groups, return_inverse=True)  # drop empty groups, keep the order
    return groups.astype(np.int64)


class _BoundedAssigner:
    """What the three pruning assigners share: state, sums, drifts, dense passes."""

    name = "bounded"

    def __init__(self, X: np.ndarray, k: int, sample_weight: np.ndarray | None, x_sq: np.ndarray):
        n, d = X.shape
        self.X, self.k, self.weights, self.x_sq = X, k, sample_weight, x_sq
        self._w = _weights_arg(sample_weight)
        self.layout = Layout.for_shape(n, d, k, X.itemsize)
        self.labels = np.full(n, -1, dtype=np.int32)
        self.upper = np.empty(n, dtype=np.float32)
        self.n_changed = n
        self.loss_sum = 0.0
        self.stats: list[dict] = []
        self._margin = rounding_margin(d, X.dtype)
        self._tight = direct_margin(d, X.dtype)
        self._drift_factor = direct_margin(d, np.float64)
        self._weighted_x_sq = float(x_sq.sum() if sample_weight is None else np.dot(sample_weight, x_sq))
        self.drift_sum = np.zeros(k)
        self.drift_sum_max = 0.0
        self._drift = np.zeros(k)
        self.sums = ClusterSums(X, k, self._w, self.layout)
        self._stats = np.empty((self.layout.n_slabs, 3), dtype=np.int64)
        self._dense_next = True
        self._effort = math.inf
        self._threads = _ThreadPolicy()
        self._lower = np.empty((0, 1), dtype=np.float32)
        self._global_lower = np.empty(0, dtype=np.float32)
        self._groups = np.empty(0, dtype=np.int64)
        self.group_drift_sum = np.empty(0)
        self.group_drift_sum_before = np.empty(0)

    # ------------------------------------------------------------------ the interface

    def step(self, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Assign every row to the nearest of ``centers``; return labels, sums and weights."""
        arrays = CenterArrays.build(centers, self.layout, self.X.dtype)
        cmax_sq = float(arrays.c_sq.max())
        if self._dense_next:
            self._dense_step(arrays, cmax_sq)
            self._effort = math.inf
        else:
            with one_thread(self._threads.serial(self._effort)):
                moves, work, self._effort = self._pruned_step(arrays, cmax_sq)
            with one_thread(self._threads.serial(2.0 * moves * self.X.shape[1])):
                self.sums.apply(self.labels, self._stats[:, 0])
            self._dense_next = work > _DENSE_AGAIN
            self.n_changed = moves
            self.loss_sum = self._loss(arrays)
        return self.labels, self.sums.sums, self.sums.wsums

    def centers_moved(self, old: np.ndarray, new: np.ndarray) -> None:
        """Loosen the bounds by how far each centre moved (lazily: only the offsets change)."""
        diff = np.asarray(new, dtype=np.float64) - np.asarray(old, dtype=np.float64)
        drift = np.sqrt(np.einsum("ij,ij->i", diff, diff)) * self._drift_factor
        self._drift = drift
        self.drift_sum = self.drift_sum + drift
        self.drift_sum_max += float(drift.max()) if len(drift) else 0.0
        if len(self._groups):
            self.group_drift_sum_before = self.group_drift_sum.copy()
            group_drift = np.zeros(len(self.group_drift_sum))
            np.maximum.at(group_drift, self._groups, drift)
            self.group_drift_sum = self.group_drift_sum + group_drift

    def min_sq_dists(self, centers: np.ndarray) -> np.ndarray:
        """Squared distance of each row to its centre, computed as plain Lloyd computes it."""
        n = self.X.shape[0]
        labels = np.empty(n, dtype=np.int32)
        min_d2 = np.empty(n, dtype=np.float64)
        assign_into(
            self.X, CenterArrays.build(centers, self.layout, self.X.dtype), self.x_sq, self.layout, labels, min_d2
        )
        return min_d2

    def final_labels(self, centers: np.ndarray) -> np.ndarray:
        """Labels for ``centers`` (after :meth:`centers_moved`): one more, cheap, step."""
        return self.step(centers)[0]

    # ------------------------------------------------------------------ shared machinery

    def _dense_step(self, arrays: CenterArrays, cmax_sq: float) -> None:
        layout, sums = self.layout, self.sums
        slab_sums, slab_wsums = sums.slab_buffers()
        stats = np.empty((layout.n_slabs, 2))
        self._prepare_dense(arrays)
        head = (
            self.X,
            arrays.C,
            arrays.CT,
            arrays.c_half,
            arrays.n_in_3tiles,
            self.x_sq,
            self._w,
            layout.chunk,
            layout.slab_rows,
            arrays.tiles,
            layout.center_block,
        )
        self._dense_pass(head, cmax_sq, slab_sums, slab_wsums, stats)
        sums.from_slabs()
        self.n_changed = int(stats[:, 0].sum())
        self.loss_sum = float(stats[:, 1].sum())
        self._dense_next = False
        self.stats.append({"dense": True, "moves": self.n_changed})

    def _dense_pass(self, head: tuple, cmax_sq: float, slab_sums, slab_wsums, stats) -> None:
        """Run this algorithm's bound initialisation (a dense pass); ``head`` its first arguments."""
        raise NotImplementedError

    def _prepare_dense(self, arrays: CenterArrays) -> None:
        """Set up what the dense pass needs for this algorithm (Yinyang: the groups)."""

    def _loss(self, arrays: CenterArrays) -> float:
        """``sum w||x - c||²`` of the current assignment, from the sums: Σw||x||² − 2Σc·S + ΣW||c||²."""
        c = arrays.C[: self.k].astype(np.float64)
        cross = float(np.einsum("ij,ij->", c, self.sums.sums))
        return max(self._weighted_x_sq - 2.0 * cross + float(np.dot(self.sums.wsums, arrays.c_sq)), 0.0)

    def _pruned_step(self, arrays: CenterArrays, cmax_sq: float) -> tuple[int, float]:
        raise NotImplementedError


class HamerlyAssigner(_BoundedAssigner):
    """Hamerly's algorithm (2010): one lower bound per point, on the second-nearest centre.

    Best for small k: a point's test costs O(1) whatever k, and the points that fail it are
    gathered into chunks for the dense kernel.
    """

    name = "hamerly"

    def __init__(self, X, k, sample_weight, x_sq):
        super().__init__(X, k, sample_weight, x_sq)
        self._lower = np.empty((X.shape[0], 1), dtype=np.float32)

    def _dense_pass(self, head, cmax_sq, slab_sums, slab_wsums, stats):
        _kernels.run(
            _kernels.hamerly.hamerly_init,
            self.layout.n_slabs,
            *head,
            self._margin,
            cmax_sq,
            self.drift_sum,
            self.drift_sum_max,
            self.labels,
            self.upper,
            self._lower,
            slab_sums,
            slab_wsums,
            stats,
            small=self.layout.small,
        )

    def _pruned_step(self, arrays, cmax_sq):
        layout = self.layout
        s_half, _ = center_separations(arrays.C[: self.k])
        _kernels.run(
            _kernels.hamerly.hamerly_step,
            layout.n_slabs,
            self.X,
            arrays.C,
            arrays.CT,
            arrays.c_half,
            self.x_sq,
            layout.chunk,
            layout.slab_rows,
            arrays.tiles,
            layout.center_block,
            arrays.n_in_3tiles,
            s_half,
            self._margin,
            cmax_sq,
            self._tight,
            self.drift_sum,
            self.drift_sum_max,
            self.labels,
            self.upper,
            self._lower,
            self.sums.move_idx,
            self.sums.move_old,
            self.sums.move_cap,
            self._stats,
            small=self.layout.small,
        )
        moves, full, tight = (int(v) for v in self._stats.sum(axis=0))
        n, d = self.X.shape
        self.stats.append({"dense": False, "moves": moves, "full": full, "tightened": tight})
        return moves, full / max(1, n), 8 * n + (full * self.k + tight) * d


class ElkanAssigner(_BoundedAssigner):
    """Elkan's algorithm (2003): a lower bound per point and centre (n x k float32).

    Prunes the most distance computations, at the price of n x k memory and of touching k
    bounds for every point whose centre is not isolated enough.
    """

    name = "elkan"

    def __init__(self, X, k, sample_weight, x_sq):
        super().__init__(X, k, sample_weight, x_sq)
        self._lower = np.empty((X.shape[0], k), dtype=np.float32)
        self._global_lower = np.empty(X.shape[0], dtype=np.float32)

    def _dense_pass(self, head, cmax_sq, slab_sums, slab_wsums, stats):
        _kernels.run(
            _kernels.elkan.elkan_init,
            self.layout.n_slabs,
            *head,
            self._margin,
            cmax_sq,
            self.drift_sum,
            self.drift_sum_max,
            self.labels,
            self.upper,
            self._lower,
            self._global_lower,
            slab_sums,
            slab_wsums,
            stats,
            small=self.layout.small,
        )

    def _pruned_step(self, arrays, cmax_sq):
        layout = self.layout
        half_cc = _half_distances(arrays.C[: self.k])
        np.fill_diagonal(half_cc, np.inf)
        s_half = half_cc.min(axis=1) if self.k > 1 else np.full(1, np.inf)
        _kernels.run(
            _kernels.elkan.elkan_step,
            layout.n_slabs,
            self.X,
            arrays.C,
            arrays.CT,
            arrays.c_half,
            self.x_sq,
            layout.chunk,
            layout.slab_rows,
            arrays.tiles,
            layout.center_block,
            arrays.n_in_3tiles,
            half_cc,
            s_half,
            self._margin,
            cmax_sq,
            self._tight,
            self.drift_sum,
            self.drift_sum_max,
            int(self.k * _GATHER_FRACTION),
            self.labels,
            self.upper,
            self._lower,
            self._global_lower,
            self.sums.move_idx,
            self.sums.move_old,
            self.sums.move_cap,
            self._stats,
            small=self.layout.small,
        )
        moves, tightened, dists = (int(v) for v in self._stats.sum(axis=0))
        n, d = self.X.shape
        self.stats.append({"dense": False, "moves": moves, "tightened": tightened, "distances": dists})
        return moves, dists / max(1, n * self.k), n * (8 + self.k) + tightened * (2 * self.k + d) + dists * d


class YinyangAssigner(_BoundedAssigner):
    """Yinyang k-means (Ding et al. 2015): a lower bound per point and group of centres.

    The centres are grouped once, at the first step, by clustering them into about k/10
    groups (fewer when n is large, to bound the memory); a global filter, a group filter and
    a per-centre filter leave few distances to compute.
    """

    name = "yinyang"

    def __init__(self, X, k, sample_weight, x_sq):
        super().__init__(X, k, sample_weight, x_sq)
        n = X.shape[0]
        by_memory = max(1, _GROUP_BOUND_BYTES // max(1, 4 * n))
        self.n_groups = int(max(1, min(math.ceil(k / 10), by_memory, k)))
        self._global_lower = np.empty(n, dtype=np.float32)

    def _prepare_dense(self, arrays):
        if not len(self._groups):
            self._groups = yinyang_groups(arrays.C[: self.k], self.n_groups)
            self.n_groups = int(self._groups.max()) + 1
            self._lower = np.empty((self.X.shape[0], self.n_groups), dtype=np.float32)
            order = np.argsort(self._groups, kind="stable")
            self._group_members = order.astype(np.int64)
            self._group_start = np.searchsorted(self._groups[order], np.arange(self.n_groups + 1)).astype(np.int64)
            self.group_drift_sum = np.zeros(self.n_groups)
            self.group_drift_sum_before = np.zeros(self.n_groups)

    def _dense_pass(self, head, cmax_sq, slab_sums, slab_wsums, stats):
        _kernels.run(
            _kernels.yinyang.yinyang_init,
            self.layout.n_slabs,
            *head,
            self._groups,
            self._margin,
            cmax_sq,
            self.drift_sum,
            self.group_drift_sum,
            self.drift_sum_max,
            self.labels,
            self.upper,
            self._lower,
            self._global_lower,
            slab_sums,
            slab_wsums,
            stats,
            small=self.layout.small,
        )

    def _pruned_step(self, arrays, cmax_sq):
        layout = self.layout
        _kernels.run(
            _kernels.yinyang.yinyang_step,
            layout.n_slabs,
            self.X,
            arrays.C,
            arrays.c_half,
            self.x_sq,
            layout.slab_rows,
            self._groups,
            self._group_start,
            self._group_members,
            self._drift,
            self._margin,
            cmax_sq,
            self._tight,
            self.drift_sum,
            self.group_drift_sum,
            self.group_drift_sum_before,
            self.drift_sum_max,
            self.labels,
            self.upper,
            self._lower,
            self._global_lower,
            self.sums.move_idx,
            self.sums.move_old,
            self.sums.move_cap,
            self._stats,
            small=self.layout.small,
        )
        moves, grouped, dists = (int(v) for v in self._stats.sum(axis=0))
        n, d = self.X.shape
        self.stats.append({"dense": False, "moves": moves, "group_filtered": grouped, "distances": dists})
        return moves, dists / max(1, n * self.k), 8 * n + grouped * (self.n_groups * 4 + d) + 2 * dists * d


#: Every ``algorithm=`` name but ``"auto"``, and the assigner class that runs it.
ASSIGNERS = {
    "lloyd": LloydAssigner,
    "hamerly": HamerlyAssigner,
    "elkan": ElkanAssigner,
    "yinyang": YinyangAssigner,
}
ALGORITHMS = ("auto", *ASSIGNERS)

# Elkan's n x k float32 bounds are allowed up to this size (and never beyond the size of X).
_ELKAN_BOUND_BYTES = 256 * 2**20


def choose_algorithm(n: int, d: int, k: int, itemsize: int = 8) -> str:
    """The algorithm ``"auto"`` runs for a problem of this shape.

    Measured on MNIST-60k-shift (d = 784) and on Gaussian blobs (d = 32): with few clusters or
    few points, plain Lloyd (bounds cost more than they save); for high-dimensional data, Elkan
    when its n x k bounds fit in memory (it computes by far the fewest distances); otherwise
    Hamerly for small k and Yinyang for large k.
    """
    if k < 3 or n < 64 * k or n < 2048:
        return "lloyd"
    elkan_bytes = 4 * n * k
    if k >= 32 and elkan_bytes <= min(_ELKAN_BOUND_BYTES, n * d * itemsize):
        return "elkan"
    return "yinyang" if k >= 64 else "hamerly"


def make_assigner(algorithm: str, X: np.ndarray, k: int, sample_weight, x_sq):
    """Build the assigner for ``algorithm`` (``"auto"`` picks one from the problem's shape)."""
    check_choice(algorithm, "algorithm", ALGORITHMS)
    if is_sparse(X):
        return make_sparse_assigner(algorithm, X, k, sample_weight, x_sq)
    if algorithm == "auto":
        algorithm = choose_algorithm(X.shape[0], X.shape[1], k, X.itemsize)
    return ASSIGNERS[algorithm](X, k, sample_weight, x_sq)


# =========================================================================== sparse X
# Assigners for a sparse (canonical CSR) X with dense centres: the same interface as
# LloydAssigner, so the one Lloyd loop runs them unchanged. Kept apart from the dense
# assigners above: they share no kernel.


class SparseLloydAssigner:
    """Full Lloyd assignment of a sparse X: every row dotted with every centre over its stored entries.

    A step is one pass of ``_kernels.sparse.assign_pass`` (cost: stored entries x k) and one
    serial pass for the cluster sums (cost: stored entries, plus zeroing the k x d sums).
    """

    name = "lloyd"

    def __init__(self, X, k: int, sample_weight: np.ndarray | None, x_sq: np.ndarray):
        n, d = X.shape
        self.X, self.k, self.weights, self.x_sq = X, k, sample_weight, x_sq
        self._w = _weights_arg(sample_weight)
        self.labels = np.full(n, -1, dtype=np.int32)
        self.min_d2 = np.empty(n, dtype=np.float64)
        self.n_changed = n
        self.loss_sum = 0.0
        self._sums = np.zeros((k, d))
        self._wsums = np.zeros(k)
        self._CT = np.empty((d, k))  # the centres transposed for the kernel, rewritten at each step

    def _assign(self, centers: np.ndarray) -> None:
        CT, c_sq = sparse_center_arrays(centers, self._CT)
        self.n_changed, self.loss_sum = sparse_assign_into(
            self.X, CT, c_sq, self.x_sq, self._w, self.labels, self.min_d2
        )

    def step(self, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Assign every row to the nearest of ``centers``; return labels, sums and weights."""
        self._assign(centers)
        if self.n_changed:
            sparse_cluster_sums_into(self.X, self.labels, self._w, self._sums, self._wsums)
        return self.labels, self._sums, self._wsums

    def min_sq_dists(self, centers: np.ndarray) -> np.ndarray:
        """Squared distance of each row to the centre ``step`` assigned it to."""
        return self.min_d2

    def centers_moved(self, old: np.ndarray, new: np.ndarray) -> None:
        """Full Lloyd keeps no state that depends on the centres."""

    def final_labels(self, centers: np.ndarray) -> np.ndarray:
        """Labels for ``centers`` (the loop's last assignment; the sums are not needed)."""
        self._assign(centers)
        return self.labels


class SparseHamerlyAssigner(SparseLloydAssigner):
    """Hamerly's bounds on sparse rows: one upper and one lower distance bound per row.

    A row whose bounds, loosened by how far the centres moved, still prove it keeps its centre
    costs a few loads; otherwise the distance to its own centre (the row's stored values
    against one centre) may prove it, else every distance is computed as the Lloyd pass
    computes it (see ``_kernels.sparse.hamerly_step``). The bound tests keep a margin for the
    rounding of the computed distances, so a row is only skipped when Lloyd would have given it
    the same label. The cluster sums are recounted from X at every step, in row order, as the
    Lloyd pass counts them: the centres, and so the labels, are Lloyd's.
    """

    name = "hamerly"

    def __init__(self, X, k: int, sample_weight: np.ndarray | None, x_sq: np.ndarray):
        super().__init__(X, k, sample_weight, x_sq)
        n = X.shape[0]
        self.upper = np.empty(n, dtype=np.float64)
        self.lower = np.empty(n, dtype=np.float64)
        self._drift = np.zeros(k)
        self._first = True
        self._weighted_x_sq = float(x_sq.sum() if sample_weight is None else np.dot(sample_weight, x_sq))
        self.stats: list[dict] = []

    def centers_moved(self, old: np.ndarray, new: np.ndarray) -> None:
        """How far each centre moved (the bounds are loosened by it at the next step)."""
        drift = np.empty(self.k)
        rows = max(1, 2**20 // max(1, new.shape[1]))  # in row blocks: no k x d temporary
        for a in range(0, self.k, rows):
            diff = np.asarray(new[a : a + rows], dtype=np.float64) - np.asarray(old[a : a + rows], dtype=np.float64)
            drift[a : a + rows] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        # The computed norms carry a relative rounding of about d units: round them up.
        self._drift = drift * (1.0 + (new.shape[1] + 8) * np.finfo(np.float64).eps)

    def step(self, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Assign every row (pruned by the bounds); return labels, sums and weights."""
        C = np.ascontiguousarray(centers, dtype=np.float64)
        CT, c_sq = sparse_center_arrays(C, self._CT)
        order = np.argsort(-self._drift, kind="stable")
        top1 = float(self._drift[order[0]])
        top2 = float(self._drift[order[1]]) if self.k > 1 else 0.0
        n_slabs = sparse_slab_count(self.X)
        stats = np.empty((n_slabs, 2), dtype=np.int64)
        _kernels.run(
            _kernels.sparse.hamerly_step,
            n_slabs,
            self.X.data,
            self.X.indices,
            self.X.indptr,
            C,
            CT,
            c_sq,
            self.x_sq,
            float(c_sq.max()),
            self._drift,
            top1,
            top2,
            int(order[0]),
            self._first,
            SPARSE_SLAB_ROWS,
            self.labels,
            self.upper,
            self.lower,
            stats,
        )
        moves, full = (int(v) for v in stats.sum(axis=0))
        self.n_changed = self.X.shape[0] if self._first else moves
        self._first = False
        self._drift = np.zeros(self.k)
        self.stats.append({"moves": moves, "full": full})
        if self.n_changed:
            sparse_cluster_sums_into(self.X, self.labels, self._w, self._sums, self._wsums)
        # sum w||x - c||² of this assignment, from the sums: Σw||x||² − 2Σ c·S + Σ W||c||².
        cross = float(np.einsum("ij,ij->", C, self._sums))
        self.loss_sum = max(self._weighted_x_sq - 2.0 * cross + float(np.dot(self._wsums, c_sq)), 0.0)
        return self.labels, self._sums, self._wsums

    def min_sq_dists(self, centers: np.ndarray) -> np.ndarray:
        """Squared distance of each row to its centre, as the Lloyd pass computes it."""
        labels = self.labels.copy()
        CT, c_sq = sparse_center_arrays(centers, self._CT)
        sparse_assign_into(self.X, CT, c_sq, self.x_sq, self._w, labels, self.min_d2)
        return self.min_d2

    def final_labels(self, centers: np.ndarray) -> np.ndarray:
        """Labels for ``centers`` (after :meth:`centers_moved`): one more, pruned, step."""
        return self.step(centers)[0]


#: Every ``algorithm=`` name and the assigner that runs it on a sparse X: Hamerly's single pair
#: of bounds for the three pruning algorithms (Elkan's n x k bounds and Yinyang's groups save
#: distance computations that cost little on sparse rows).
SPARSE_ASSIGNERS = {
    "lloyd": SparseLloydAssigner,
    "hamerly": SparseHamerlyAssigner,
    "elkan": SparseHamerlyAssigner,
    "yinyang": SparseHamerlyAssigner,
}


def make_sparse_assigner(algorithm: str, X, k: int, sample_weight, x_sq):
    """The assigner for ``algorithm`` on a sparse X (``"auto"``: by the problem's shape)."""
    if algorithm == "auto":
        algorithm = "lloyd"
    return SPARSE_ASSIGNERS[algorithm](X, k, sample_weight, x_sq)
