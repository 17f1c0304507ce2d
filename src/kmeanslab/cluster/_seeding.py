"""Seeding: the initial centres, from data points, a Gaussian, the bounding box, or k-means++.

``SEEDERS`` maps every ``init=`` name to a small function ``(source, k, rng) -> (k, d)
float64 centres`` over a block source (see :mod:`kmeanslab.scale`); ``INIT_METHODS`` lists the
names. X in memory is seeded by the in-memory functions below (greedy k-means++, rows drawn
over the canonical order, so the same seed picks the same points whatever the row order);
blockwise X by passes over its blocks (k-means‖ for k-means++: the greedy method would need
k passes).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .. import _kernels
from .._core import (
    CenterArrays,
    Layout,
    _weights_arg,
    canonical_order,
    compute_context,
    feature_moments,
    mean_feature_variance,
    row_sq_norms,
    sparse_row_sq_norms,
    sparse_sq_distances,
)
from ..errors import InputError
from ..scale import BlockSource
from ..validation import check_init_array, is_sparse
from ._lloyd import lloyd, nearest_centres

__all__ = [
    "INIT_METHODS",
    "SEEDERS",
    "random_rows",
    "gaussian_init",
    "uniform_init",
    "kmeans_plusplus",
    "kmeans_parallel",
    "feature_moments_of",
    "initial_centers",
    "call_init",
]

# k-means‖ (Bahmani et al. 2012): oversampling factor l = 2k, five rounds.
KMEANS_PARALLEL_OVERSAMPLING = 2.0
KMEANS_PARALLEL_ROUNDS = 5


# --------------------------------------------------------------------------- X in memory


def random_rows(X: np.ndarray, k: int, rng: np.random.Generator, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """``k`` rows of X at distinct indices, drawn without replacement (in proportion to weight).

    Drawn over the canonical order of the rows, so the same seed picks the same points
    whatever the order of the rows of X.
    """
    n = X.shape[0]
    order = canonical_order(X)
    if sample_weight is None:
        positions = rng.choice(n, size=k, replace=False)
    else:
        positive = np.count_nonzero(sample_weight > 0)
        if positive < k:
            raise InputError(f"init='random' needs {k} points with positive sample_weight; only {positive} have one")
        w = sample_weight[order]
        positions = rng.choice(n, size=k, replace=False, p=w / w.sum())
    return _dense_rows(X, order[positions])


def gaussian_init(
    X: np.ndarray, k: int, rng: np.random.Generator, sample_weight: np.ndarray | None = None
) -> np.ndarray:
    """Centres drawn from a normal with the data's per-feature mean and standard deviation."""
    mean, var = feature_moments(X, sample_weight)
    return rng.normal(mean, np.sqrt(var), size=(k, X.shape[1]))


def uniform_init(
    X: np.ndarray, k: int, rng: np.random.Generator, sample_weight: np.ndarray | None = None
) -> np.ndarray:
    """Centres drawn uniformly in the data's bounding box."""
    if is_sparse(X):
        low = X.min(axis=0).toarray().ravel().astype(np.float64)
        high = X.max(axis=0).toarray().ravel().astype(np.float64)
    else:
        low = np.asarray(X.min(axis=0), dtype=np.float64)
        high = np.asarray(X.max(axis=0), dtype=np.float64)
    return rng.uniform(low, high, size=(k, X.shape[1]))


def kmeans_plusplus(
    X: np.ndarray,
    k: int,
    rng: np.random.Generator,
    sample_weight: np.ndarray | None = None,
    x_sq: np.ndarray | None = None,
    n_local_trials: int | None = None,
) -> np.ndarray:
    """Greedy k-means++ (Arthur & Vassilvitskii 2007, with local trials as in scikit-learn).

    Each new centre is the best of ``2 + floor(ln k)`` candidates drawn in proportion to
    ``weight x squared distance to the nearest chosen centre``; the potentials of all
    candidates are computed in one chunked pass over X (the same chunk kernel as the Lloyd
    passes: register-tiled for d >= 48, else BLAS), the distances to the chosen centre in a
    second one, in float64.
    """
    n, d = X.shape
    if n_local_trials is None:
        n_local_trials = 2 + int(math.log(k))
    if is_sparse(X):
        return _kmeans_plusplus_sparse(X, k, rng, sample_weight, x_sq, n_local_trials)
    layout = Layout.for_shape(n, d, n_local_trials, X.itemsize)
    if x_sq is None:
        x_sq = row_sq_norms(X, layout)
    weights = None if sample_weight is None else np.ascontiguousarray(sample_weight, dtype=np.float64)
    w_arg = _weights_arg(weights)
    # Draws are made over the rows in canonical order (see _core.canonical_order).
    order = canonical_order(X)
    sorted_weights = None if weights is None else weights[order]
    centers = np.empty((k, d), dtype=np.float64)
    mass = np.ones(n) if sorted_weights is None else sorted_weights
    centers[0] = X[order[_draw(rng, np.cumsum(mass), 1)[0]]]
    closest = np.full(n, np.inf, dtype=np.float64)
    partials = np.empty((layout.n_slabs, n_local_trials), dtype=np.float64)
    with compute_context():
        _update_closest(X, centers[0], x_sq, layout, closest)
        for c in range(1, k):
            mass = closest[order]
            if sorted_weights is not None:
                mass *= sorted_weights
            cumulative = np.cumsum(mass)
            if cumulative[-1] <= 0.0:
                # Every weighted point sits on a chosen centre: repeat those centres; the
                # estimator warns that there are fewer distinct points than clusters.
                centers[c:] = centers[np.arange(k - c) % c]
                break
            candidates = order[_draw(rng, cumulative, n_local_trials)]
            cand = np.ascontiguousarray(X[candidates])
            arrays = CenterArrays.build(cand, layout, X.dtype)
            _kernels.run(
                _kernels.seeding.candidate_potentials,
                layout.n_slabs,
                X,
                arrays.C,
                arrays.CT,
                arrays.c_sq,
                arrays.n_in_3tiles,
                x_sq,
                closest,
                w_arg,
                layout.chunk,
                layout.slab_rows,
                arrays.tiles,
                layout.center_block,
                partials,
                small=layout.small,
            )
            best = int(np.argmin(partials.sum(axis=0)))
            centers[c] = cand[best]
            _update_closest(X, centers[c], x_sq, layout, closest)
    return centers


def _dense_rows(X: Any, rows: np.ndarray) -> np.ndarray:
    """Rows of X (dense or sparse) at ``rows``, as a dense float64 array."""
    picked = X[rows]
    return np.array(picked.toarray() if is_sparse(X) else picked, dtype=np.float64)


def _kmeans_plusplus_sparse(X, k, rng, sample_weight, x_sq, n_local_trials) -> np.ndarray:
    """:func:`kmeans_plusplus` for a sparse X: the same draws, distances from the sparse kernels.

    The candidates' squared distances to every row are held at once: n x (2 + ln k) floats.
    """
    n, d = X.shape
    x_sq = sparse_row_sq_norms(X) if x_sq is None else x_sq
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    order = canonical_order(X)
    sorted_weights = None if weights is None else weights[order]
    centers = np.empty((k, d), dtype=np.float64)
    mass = np.ones(n) if sorted_weights is None else sorted_weights
    centers[0] = _dense_rows(X, order[_draw(rng, np.cumsum(mass), 1)])[0]
    closest = sparse_sq_distances(X, centers[:1], x_sq)[:, 0]
    for c in range(1, k):
        mass = closest[order]
        if sorted_weights is not None:
            mass *= sorted_weights
        cumulative = np.cumsum(mass)
        if cumulative[-1] <= 0.0:
            centers[c:] = centers[np.arange(k - c) % c]  # as the dense path: every point is on a centre
            break
        candidates = order[_draw(rng, cumulative, n_local_trials)]
        cand = _dense_rows(X, candidates)
        reach = np.minimum(sparse_sq_distances(X, cand, x_sq), closest[:, None])
        potentials = reach.sum(axis=0) if weights is None else weights @ reach
        best = int(np.argmin(potentials))
        centers[c] = cand[best]
        closest = reach[:, best].copy()
    return centers


def _draw(rng: np.random.Generator, cumulative: np.ndarray, size: int) -> np.ndarray:
    """Positions drawn in proportion to the increments of ``cumulative`` (zero mass never drawn)."""
    targets = rng.uniform(size=size) * cumulative[-1]
    positions = np.searchsorted(cumulative, targets, side="right")
    return np.minimum(positions, len(cumulative) - 1)


def _update_closest(X, center, x_sq, layout, closest) -> None:
    c = np.ascontiguousarray(center, dtype=X.dtype)
    c_sq = float(np.dot(c.astype(np.float64), c.astype(np.float64)))
    _kernels.run(
        _kernels.seeding.update_closest, layout.n_slabs, X, c, c_sq, x_sq, layout.slab_rows, closest, small=layout.small
    )


# --------------------------------------------------------------------------- per-block work
# Each takes (X_b, x_sq_b, w_b, state_b, (index, start, stop), *args) and returns
# (new_state_b, result_b) (see kmeanslab.scale.BlockSource.map).


def _moments_block(X_b, x_sq_b, w_b, state, info):
    """Total weight, per-feature mean and variance of a block."""
    total = float(len(X_b) if w_b is None else w_b.sum())
    if total <= 0.0:
        return None, (0.0, np.zeros(X_b.shape[1]), np.zeros(X_b.shape[1]))
    mean, var = feature_moments(X_b, w_b)
    return None, (total, mean, var)


def _merge_moments(a: tuple, b: tuple) -> tuple:
    """Chan et al.'s pairwise update: the moments of the union of two blocks."""
    wa, ma, va = a
    wb, mb, vb = b
    if wb <= 0.0:
        return a
    if wa <= 0.0:
        return b
    w = wa + wb
    delta = mb - ma
    sum_sq = va * wa + vb * wb + delta * delta * (wa * wb / w)
    return w, ma + delta * (wb / w), sum_sq / w


def _bounds_block(X_b, x_sq_b, w_b, state, info):
    return None, (X_b.min(axis=0).astype(np.float64), X_b.max(axis=0).astype(np.float64))


def _merge_bounds(a: tuple, b: tuple) -> tuple:
    return np.minimum(a[0], b[0]), np.maximum(a[1], b[1])


def _keyed_rows_block(X_b, x_sq_b, w_b, state, info, m, seed):
    """The block's ``m`` best rows by the key ``log(u) / w`` (weighted sampling w/o replacement).

    Reads only the weights: the chosen rows are fetched afterwards.
    """
    index, start, stop = info
    u = np.random.default_rng([seed, index]).random(stop - start)
    with np.errstate(divide="ignore"):
        keys = np.log(u) if w_b is None else np.where(w_b > 0, np.log(u) / np.where(w_b > 0, w_b, 1.0), -np.inf)
    top = np.argsort(-keys, kind="stable")[:m]
    return None, (keys[top], top + start)


def _merge_keyed(m: int, a: tuple, b: tuple) -> tuple:
    keys = np.concatenate([a[0], b[0]])
    rows = np.concatenate([a[1], b[1]])
    top = np.lexsort((rows, -keys))[:m]
    return keys[top], rows[top]


def _weighted_sum(values: np.ndarray, w_b: np.ndarray | None) -> float:
    return float(values.sum() if w_b is None else np.dot(w_b, values))


def _closest_block(X_b, x_sq_b, w_b, state, info, centers):
    """Squared distance to the nearest of ``centers``, folded into the running minimum."""
    _, d2 = nearest_centres(X_b, x_sq_b, centers)
    closest = d2 if state is None else np.minimum(state, d2)
    return closest, _weighted_sum(closest, w_b)


def _sample_block(X_b, x_sq_b, w_b, state, info, phi, ell, seed):
    """k-means‖ draw: row i joins with probability ``min(1, l * w_i * d_i² / phi)``."""
    index, start, _ = info
    u = np.random.default_rng([seed, index]).random(len(state))
    mass = state if w_b is None else w_b * state
    return None, np.flatnonzero(u * phi < ell * mass) + start


def _nearest_weight_block(X_b, x_sq_b, w_b, state, info, candidates):
    """How much weight of the block is nearest to each candidate."""
    labels, _ = nearest_centres(X_b, x_sq_b, candidates)
    return None, np.bincount(labels, weights=w_b, minlength=candidates.shape[0]).astype(np.float64)


# --------------------------------------------------------------------------- X in blocks


def feature_moments_of(source: BlockSource) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature (weighted) mean and variance of a source's X, in float64."""
    if source.in_memory:
        return feature_moments(source.X, source.weights)
    _, parts = source.map(_moments_block)
    _, mean, var = source.reduce(parts, _merge_moments)
    return mean, var


def mean_feature_variance_of(source: BlockSource) -> float:
    """Mean over features of the (weighted) variance of X: the scale of ``tol``."""
    if source.in_memory:
        return mean_feature_variance(source.X, source.weights)
    return float(np.mean(feature_moments_of(source)[1]))


def _weighted_rows(source: BlockSource, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` rows at distinct positions, drawn in proportion to weight, as float64.

    Efraimidis and Spirakis' keys ``log(u) / w``: the ``m`` largest are a weighted sample without
    replacement, and every block can keep just its own ``m`` best.
    """
    seed = int(rng.integers(2**63))
    _, parts = source.map(_keyed_rows_block, m, seed, data=False)
    _, rows = source.reduce(parts, functools.partial(_merge_keyed, m))
    order = np.argsort(rows)
    picked = np.empty((len(rows), source.d), dtype=np.float64)
    picked[order] = source.take(rows[order])
    return picked


def kmeans_parallel(
    source: BlockSource,
    k: int,
    rng: np.random.Generator,
    *,
    oversampling: float = KMEANS_PARALLEL_OVERSAMPLING,
    rounds: int = KMEANS_PARALLEL_ROUNDS,
) -> np.ndarray:
    """k-means‖ seeding (Bahmani et al. 2012) over a block source; returns ``(k, d)`` float64 centres.

    One point drawn by weight; then ``rounds`` rounds in which every point joins the candidate
    set independently with probability ``min(1, l·w·d²/phi)`` (``l = oversampling·k``, ``phi``
    the current weighted cost); each candidate is weighted by the weight of the points nearest
    to it, and the ``~1 + rounds·l`` weighted candidates are clustered into ``k`` in memory
    by weighted k-means++ followed by weighted Lloyd. Passes over X: one for the distances to
    the first point, one per round but the last, one to weigh the candidates (the draws read
    only the running distances).
    """
    ell = oversampling * k
    chosen = [_weighted_rows(source, 1, rng)]
    state, parts = source.map(_closest_block, chosen[0].astype(source.dtype), keep_state=True)
    phi = float(sum(source.gather(parts)))
    for round_ in range(rounds):
        if phi <= 0.0:
            break  # every point sits on a candidate
        seed = int(rng.integers(2**63))
        _, picks = source.map(_sample_block, phi, ell, seed, state=state, data=False)
        rows = np.concatenate([np.asarray(p, dtype=np.int64) for p in source.gather(picks)])
        if rows.size == 0:
            continue
        new = source.take(rows)
        chosen.append(new.astype(np.float64))
        if round_ == rounds - 1:
            break  # the last draw needs no distances: only the weighing pass below
        state, parts = source.map(_closest_block, new, state=state, keep_state=True)
        phi = float(sum(source.gather(parts)))
    del state
    candidates = np.ascontiguousarray(np.vstack(chosen))
    _, parts = source.map(_nearest_weight_block, candidates.astype(source.dtype))
    weight = source.reduce(parts, np.add)
    return recluster(candidates, weight, k, rng)


def recluster(candidates: np.ndarray, weight: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` centres from weighted candidates: weighted k-means++, then weighted Lloyd."""
    keep = weight > 0
    candidates, weight = np.ascontiguousarray(candidates[keep]), weight[keep]
    if len(candidates) <= k:
        # Fewer distinct places than clusters: repeat some; the Lloyd loop relocates them.
        return candidates[np.arange(k) % len(candidates)].astype(np.float64)
    start = kmeans_plusplus(candidates, k, rng, sample_weight=weight)
    tol = 1e-4 * mean_feature_variance(candidates, weight)
    return lloyd(candidates, start, sample_weight=weight, max_iter=100, tol=tol).centers


# --------------------------------------------------------------------------- the registry


def _seed_kmeans_plusplus(source: BlockSource, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ in memory; k-means‖ over blocks (greedy would take k passes)."""
    if source.in_memory:
        return kmeans_plusplus(source.X, k, rng, source.weights, source.x_sq)
    return kmeans_parallel(source, k, rng)


def _seed_random_rows(source: BlockSource, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct rows drawn by weight (in memory over the canonical order)."""
    if source.in_memory:
        return random_rows(source.X, k, rng, source.weights)
    return _weighted_rows(source, k, rng)


def _seed_gaussian(source: BlockSource, k: int, rng: np.random.Generator) -> np.ndarray:
    """Draws from a normal with the data's per-feature mean and standard deviation."""
    if source.in_memory:
        return gaussian_init(source.X, k, rng, source.weights)
    mean, var = feature_moments_of(source)
    return rng.normal(mean, np.sqrt(var), size=(k, source.d))


def _seed_uniform(source: BlockSource, k: int, rng: np.random.Generator) -> np.ndarray:
    """Draws uniform in the data's bounding box."""
    if source.in_memory:
        return uniform_init(source.X, k, rng, source.weights)
    _, parts = source.map(_bounds_block)
    low, high = source.reduce(parts, _merge_bounds)
    return rng.uniform(low, high, size=(k, source.d))


#: Each ``init=`` name and its seeding ``(source, k, rng) -> (k, d) float64 centres``.
SEEDERS = {
    "k-means++": _seed_kmeans_plusplus,
    "random": _seed_random_rows,
    "gaussian": _seed_gaussian,
    "uniform": _seed_uniform,
}
INIT_METHODS = tuple(SEEDERS)


def call_init(init: Any, source: BlockSource, k: int, rng: np.random.Generator) -> np.ndarray:
    """Centres from a callable ``init(X, n_clusters, random_state)``, checked, as float64.

    As scikit-learn, ``random_state`` is a ``numpy.random.RandomState`` (the API callables
    written for scikit-learn use), seeded from ``rng``: the same seed gives the same centres.
    Unlike scikit-learn, X is passed as given, not centred on its mean, so the centres are in
    X's own coordinates.
    """
    if not source.in_memory:
        raise InputError(
            f"init={init!r}: a callable init needs X in memory; got a {type(source).__name__}; "
            f"expected an in-memory array, or pass init='k-means++', 'random' or an array of centres"
        )
    random_state = np.random.RandomState(int(rng.integers(2**32)))
    centers = init(source.X, k, random_state)
    try:
        checked = check_init_array(centers, k, source.d, source.dtype)
    except InputError as error:
        raise InputError(f"init={init!r} returned centres that are not valid: {error}") from None
    return checked.astype(np.float64)


def initial_centers(source: BlockSource, k: int, init: Any, rng: np.random.Generator) -> np.ndarray:
    """Initial centres for ``init``: a name in :data:`INIT_METHODS`, an array (as float64, not copied),
    or a callable (:func:`call_init`)."""
    if isinstance(init, np.ndarray):
        return np.asarray(init, dtype=np.float64)  # not copied: the Lloyd loop copies its start
    if callable(init):
        return call_init(init, source, k, rng)
    if init not in SEEDERS:
        raise InputError(f"init={init!r} is not valid; expected one of {', '.join(map(repr, INIT_METHODS))}")
    return SEEDERS[init](source, k, rng)
