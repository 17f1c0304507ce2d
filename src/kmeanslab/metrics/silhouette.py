"""The silhouette: exact (every pairwise distance, in tiles) and simplified (distances to centres).

For a point i of cluster A, ``a(i)`` is its mean distance to the other points of A and ``b(i)``
its mean distance to the points of the nearest other cluster; its silhouette is
``(b - a) / max(a, b)`` (Rousseeuw 1987), 0 for a point alone in its cluster.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from sklearn.utils import check_random_state

from .._core import compute_context, one_thread
from ..errors import InputError
from ..validation import check_choice, check_data, check_int
from . import _kernels
from ._common import check_clustering, cluster_means

__all__ = [
    "SILHOUETTE_METRICS",
    "silhouette_samples",
    "silhouette_score",
    "simplified_silhouette_samples",
    "simplified_silhouette",
]

#: The distances the exact silhouette computes: Euclidean, and cosine (``1 - cos``).
SILHOUETTE_METRICS = ("euclidean", "cosine")

# Rows per tile. A pair of tiles costs a BLAS product of 2 t² d flops and two gathers of t d
# values from memory, so larger tiles spend less on gathering: on 12000 MNIST rows (one thread,
# CPU seconds, shared 2-core machine) tiles of 256 / 512 / 640 / 1024 rows took 1.62 / 1.40 /
# 1.34 / 1.28 s. Each thread holds two gathered tiles and their t² distances, so the tile
# shrinks until all threads together hold at most _TILE_BUDGET_BYTES.
_TILE_ROWS = 1024

_MIN_TILE_ROWS = 16

_TILE_BUDGET_BYTES = 96 * 2**20

# Below this much work (n² (d + _SUM_COST), in multiply-adds) one thread does it all: each round
# of tile pairs is a parallel region, and on a shared machine waking the other threads costs
# milliseconds per round (n = 272, d = 2: 48 ms with two threads, 0.5 ms with one); 2e8 is
# about 20 ms of one thread's work.
_PARALLEL_MIN_WORK = 2e8

_SUM_COST = 8  # the summing passes cost about as much as this many features of the product


def _tile_rows(n: int, d: int, itemsize: int, threads: int) -> int:
    """Rows per tile: within the memory budget, and at least four tiles when n allows."""
    rows = _TILE_ROWS
    while rows > _MIN_TILE_ROWS and threads * (2 * rows * d + rows * rows) * itemsize > _TILE_BUDGET_BYTES:
        rows //= 2
    return int(min(rows, max(_MIN_TILE_ROWS, math.ceil(n / 4))))


# Groups of tile pairs, each with its own (n, k) sums: as many as fit in the budget, at most
# _MAX_GROUPS; fewer than _MIN_GROUPS and the rounds of the tournament are used instead.
_MAX_GROUPS = 16
_MIN_GROUPS = 4
_GROUP_BUDGET_BYTES = 64 * 2**20


def _groups(n: int, k: int) -> int:
    """How many groups of tile pairs (a number that depends on the data's size, never on the threads)."""
    return int(min(_MAX_GROUPS, _GROUP_BUDGET_BYTES // (8 * n * k)))


def _grouped_pairs(rounds: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """The tournament's pairs dealt round-robin into ``groups`` groups: (pairs, group starts)."""
    pairs = rounds.reshape(-1, 2)
    pairs = pairs[pairs[:, 0] >= 0]
    group = np.arange(pairs.shape[0]) % groups
    by_group = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[by_group], np.arange(groups + 1)).astype(np.int64)
    return np.ascontiguousarray(pairs[by_group]), starts


def _tournament(n_tiles: int) -> np.ndarray:
    """Every pair of tiles once, in rounds of disjoint pairs: shape (rounds, pairs, 2), -1 idle.

    The circle method: with an even number of players, one stays put and the others rotate,
    so each round pairs everyone and after ``players - 1`` rounds everyone has met everyone.
    A tile paired with itself comes first, in rounds of their own.
    """
    rounds = []
    half = (n_tiles + 1) // 2
    diagonal = [(t, t) for t in range(n_tiles)]
    rounds += [diagonal[i : i + half] for i in range(0, n_tiles, half)]
    players = list(range(n_tiles + n_tiles % 2))  # an odd count gets a ghost, n_tiles, who sits out
    for _ in range(len(players) - 1):
        pairs = [(players[i], players[-1 - i]) for i in range(len(players) // 2)]
        pairs = [(a, b) for a, b in pairs if a < n_tiles and b < n_tiles]
        if pairs:
            rounds.append(pairs)
        players = [players[0], players[-1], *players[1:-1]]
    out = np.full((len(rounds), max(len(r) for r in rounds), 2), -1, dtype=np.int64)
    for r, pairs in enumerate(rounds):
        out[r, : len(pairs)] = pairs
    return out


def _shift(X: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The Euclidean shift of each feature (distances do not change under any common shift).

    The mean, so that the norm trick loses less to cancellation on data far from the origin;
    but 0 for a feature that is mostly zeros (its bulk sits at 0 already, and zeros stay exact
    zeros, which the tiles skip: MNIST's pixels), and the value of a constant feature (which
    becomes zero everywhere, so no tile multiplies it).
    """
    zeros = np.zeros(X.shape[1], dtype=np.int64)
    for start in range(0, X.shape[0], _COUNT_ROWS):
        zeros += np.count_nonzero(X[start : start + _COUNT_ROWS] == 0, axis=0)
    shift = np.where(2 * zeros >= X.shape[0], 0.0, np.mean(X, axis=0, dtype=np.float64))
    return np.where(low == high, low, shift).astype(X.dtype)


# Rows per block when counting each feature's zeros (bounds the boolean temporary).
_COUNT_ROWS = 4096


def _cluster_distance_sums(X: np.ndarray, codes: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Sum of distances from every row to each cluster, shape (n, k), and the sorting order.

    Row ``order[p]`` has its sums in ``sums[p]``.
    """
    n, d = X.shape
    cosine = metric == "cosine"
    all_columns = np.array([[0, d]], dtype=np.int64)
    sums = np.zeros((n, k), dtype=np.float64)
    # Every parallel kernel inside: small data run them all on one thread (see _PARALLEL_MIN_WORK).
    with compute_context(), one_thread(n * n * (d + _SUM_COST) < _PARALLEL_MIN_WORK):
        if cosine:
            # Rows divided by their norms; all-zero features stay zero, and no tile multiplies them.
            shift = np.zeros(d, dtype=X.dtype)
            norms = np.empty(n, dtype=np.float64)
            _kernels.transformed_sq_norms(X, all_columns, shift, np.ones(n, dtype=X.dtype), norms)
            np.sqrt(norms, out=norms)
            divisor = np.where(norms > 0, norms, 1.0).astype(X.dtype)
        else:
            shift = _shift(X, X.min(axis=0), X.max(axis=0))
            divisor = np.ones(n, dtype=X.dtype)
        # Sorted by cluster, and within a cluster by the first feature not at its shift: rows that
        # start with the same run of zeros share a tile, so the tiles' supports are narrower (on
        # MNIST-60k-shift, 55% of the features shared by two tiles instead of 63%).
        first = np.empty(n, dtype=np.int64)
        _kernels.first_differences(X, shift, first)
        order = np.lexsort((first, codes)).astype(np.int64)
        del first
        sorted_codes = np.ascontiguousarray(codes[order])
        starts = np.searchsorted(sorted_codes, np.arange(k + 1)).astype(np.int64)
        tile_rows = _tile_rows(n, d, X.itemsize, numba.get_num_threads())
        n_tiles = math.ceil(n / tile_rows)
        rounds = _tournament(n_tiles)
        supports = np.empty((n_tiles, d), dtype=np.uint8)
        _kernels.tile_supports(X, order, tile_rows, shift, supports)
        sq = np.empty(n, dtype=np.float64)
        _kernels.transformed_sq_norms(X, all_columns, shift, divisor, sq)
        groups = _groups(n, k)
        if groups >= _MIN_GROUPS:
            pairs, group_starts = _grouped_pairs(rounds, groups)
            group_sums = np.zeros((groups, n, k), dtype=np.float64)
            _kernels.grouped_distance_sums(
                X,
                order,
                tile_rows,
                pairs,
                group_starts,
                supports,
                shift,
                divisor,
                sq[order],
                sorted_codes,
                starts,
                cosine,
                group_sums,
            )
            np.sum(group_sums, axis=0, out=sums)
        else:
            _kernels.cluster_distance_sums(
                X, order, tile_rows, rounds, supports, shift, divisor, sq[order], sorted_codes, starts, cosine, sums
            )
    return sums, order


def _silhouette_from_sums(sums: np.ndarray, own: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``(b - a) / max(a, b)`` from the per-cluster distance sums of each row (scikit-learn's rules).

    ``a`` is the sum to the own cluster over its size minus one, ``b`` the smallest mean to
    another cluster; a point alone in its cluster, and 0 / 0, give 0. ``sums`` is overwritten
    (it is the one ``n x k`` array; no second one is made).
    """
    rows = np.arange(sums.shape[0])
    intra = sums[rows, own]
    sums /= sizes
    sums[rows, own] = np.inf
    inter = sums.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        intra = intra / (sizes[own] - 1)
        values = (inter - intra) / np.maximum(intra, inter)
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)


def silhouette_samples(X: Any, labels: Any, *, metric: str = "euclidean") -> np.ndarray:
    """The silhouette of every point: how much closer it is to its own cluster than to the next.

    Exact: every pairwise distance is computed once, in tiles of a few hundred rows (a BLAS
    product per pair of tiles, summed at once into per-cluster totals), so memory stays
    ``O(threads * tile² + n * k)`` (never ``n x n``; up to 16 copies of the ``n x k`` totals
    where they fit in 64 MiB, so that the threads need not wait for each other), and the work
    is half of scikit-learn's
    (less on sparse data: two tiles multiply only the features both of them have).
    Values equal :func:`sklearn.metrics.silhouette_samples` to 1e-10 relative or better in
    float64 (blobs, digits, Old Faithful); float32 data are multiplied in float32 (distances
    formed and summed in float64), within about 1e-6 of the float64 values.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        The cluster of each row (any integers or strings); 2 to ``n_samples - 1`` distinct.
    metric : {"euclidean", "cosine"}, default="euclidean"
        The distance: Euclidean, or cosine ``1 - x·y / (||x|| ||y||)`` (a zero row is at
        distance 1 from everything, as in scikit-learn).

    Returns
    -------
    ndarray of shape (n_samples,), float64
        Each point's silhouette in [-1, 1]; **higher is better**: near 1 the point sits well
        inside its cluster, near 0 between two clusters, below 0 it is nearer another cluster
        than its own. A point alone in its cluster has 0.

    Examples
    --------
    >>> silhouette_samples([[0.0], [1.0], [9.0], [10.0]], [0, 0, 1, 1]).round(3).tolist()
    [0.895, 0.882, 0.882, 0.895]
    """
    metric = check_choice(metric, "metric", SILHOUETTE_METRICS)
    X, codes, k = check_clustering(X, labels)
    sums, order = _cluster_distance_sums(X, codes, k, metric)
    sizes = np.bincount(codes, minlength=k).astype(np.float64)
    values = np.empty(X.shape[0], dtype=np.float64)
    values[order] = _silhouette_from_sums(sums, codes[order], sizes)
    return values


def silhouette_score(
    X: Any,
    labels: Any,
    *,
    metric: str = "euclidean",
    sample_size: int | None = None,
    random_state: Any = None,
) -> float:
    """The mean silhouette of the points: how well separated and how compact the clusters are.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        The cluster of each row; 2 to ``n_samples - 1`` distinct.
    metric : {"euclidean", "cosine"}, default="euclidean"
    sample_size : int, optional
        Score a random subset of this many rows (drawn as scikit-learn draws them: the first
        ``sample_size`` of ``random_state.permutation(n_samples)``, so the same ``random_state``
        picks the same rows in both libraries). Default: every row, exactly.
    random_state : int, RandomState or None
        Draws the subset (only with ``sample_size``).

    Returns
    -------
    float
        The mean of :func:`silhouette_samples`, in [-1, 1]; **higher is better** (1: compact,
        far-apart clusters; 0: overlapping ones; negative: points mostly in the wrong cluster).
    """
    if sample_size is not None:
        X = check_data(X, "X")
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.shape[0] != X.shape[0]:
            raise InputError(f"labels has shape {labels.shape}; expected ({X.shape[0]},), one label per row of X")
        sample_size = check_int(sample_size, "sample_size", min_value=1)
        if sample_size > X.shape[0]:
            raise InputError(
                f"sample_size={sample_size} is larger than the number of rows ({X.shape[0]}); "
                f"expected 1 <= sample_size <= {X.shape[0]}"
            )
        try:
            rng = check_random_state(random_state)
        except ValueError:
            raise InputError(
                f"random_state={random_state!r} is not valid; expected None, an integer >= 0 or a RandomState"
            ) from None
        keep = rng.permutation(X.shape[0])[:sample_size]
        X, labels = X[keep], labels[keep]
    return float(np.mean(silhouette_samples(X, labels, metric=metric)))


# --------------------------------------------------------------------------- simplified


# Rows per block of the distances to the centres: bounds the (rows x k) temporaries to a few MiB.
_CENTRE_BLOCK_BYTES = 4 * 2**20


def simplified_silhouette_samples(X: Any, labels: Any, centers: Any = None) -> np.ndarray:
    """Each point's silhouette with distances to cluster centres instead of to every point.

    ``a`` is the distance to the point's own centre, ``b`` the distance to the nearest other
    centre, and the value ``(b - a) / max(a, b)`` (Hruschka et al. 2004): ``O(n k d)`` work
    instead of ``O(n² d)``, in row blocks (memory ``O(block * k)``). It follows the exact
    silhouette closely on compact, convex clusters, which is what k-means finds.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        The cluster of each row; 2 to ``n_samples - 1`` distinct.
    centers : array-like of shape (n_clusters, n_features), optional
        One centre per distinct label, in the order of the sorted labels (a fitted model's
        ``cluster_centers_`` with its ``labels_``). Default: the clusters' means.

    Returns
    -------
    ndarray of shape (n_samples,), float64
        In [-1, 1]; **higher is better**. 0 where a = b = 0.
    """
    X, codes, k = check_clustering(X, labels)
    if centers is None:
        centers, _ = cluster_means(X, codes, k)
    else:
        centers = check_data(centers, "centers", n_features=X.shape[1], estimator_name="X")
        if centers.shape[0] != k:
            raise InputError(
                f"centers has {centers.shape[0]} rows but labels has {k} distinct clusters; expected one centre per label"
            )
    shift = np.mean(X, axis=0, dtype=np.float64)
    C = np.asarray(centers, dtype=np.float64) - shift
    c_sq = np.einsum("ij,ij->i", C, C)
    block = max(1, _CENTRE_BLOCK_BYTES // (8 * max(k, X.shape[1])))
    values = np.empty(X.shape[0], dtype=np.float64)
    for start in range(0, X.shape[0], block):
        rows = X[start : start + block].astype(np.float64) - shift
        own = codes[start : start + block]
        d2 = np.einsum("ij,ij->i", rows, rows)[:, None] - 2.0 * rows @ C.T + c_sq
        dist = np.sqrt(np.maximum(d2, 0.0))
        index = np.arange(rows.shape[0])
        a = dist[index, own]
        dist[index, own] = np.inf
        b = dist.min(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            values[start : start + rows.shape[0]] = np.nan_to_num((b - a) / np.maximum(a, b), nan=0.0)
    return values


def simplified_silhouette(X: Any, labels: Any, centers: Any = None) -> float:
    """The mean simplified silhouette (see :func:`simplified_silhouette_samples`): ``O(n k d)``.

    Returns
    -------
    float
        In [-1, 1]; **higher is better**.
    """
    return float(np.mean(simplified_silhouette_samples(X, labels, centers)))
