"""The Lloyd loop everything calls, and the functional API of the course assignment.

The functional API (``compute_sq_dists``, ``associate_centroids``, ``update_centroids``,
``rand_init``, ``k_means``) and the estimator both run on the primitives of :mod:`kmeanslab._core`
and the assigners of :mod:`kmeanslab._assigners`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._assigners import make_assigner
from ._core import _means, assign, canonical_keys, cluster_sums, compute_context, inertia, row_sq_norms
from .initialization import random_rows
from .validation import (
    as_generator,
    check_data,
    check_float,
    check_int,
    check_n_clusters,
)

STOP_RULES = ("shift", "loss")

EMPTY_POLICIES = ("relocate", "zeros", "keep")


def _as_float(X: Any, name: str = "X") -> np.ndarray:
    return check_data(X, name)


def _centers_like(W: Any, X: np.ndarray, name: str = "W") -> np.ndarray:
    W = check_data(W, name)
    if W.shape[1] != X.shape[1]:
        raise _input_error(
            f"{name} has {W.shape[1]} features but X has {X.shape[1]}; "
            f"expected centroids with one column per feature of X"
        )
    return np.ascontiguousarray(W, dtype=X.dtype)


def _input_error(message: str) -> Exception:
    from .errors import InputError

    return InputError(message)


def compute_sq_dists(X: Any, W: Any) -> np.ndarray:
    """Squared Euclidean distances between the rows of X and of W.

    Computed as ``||x||² + ||w||² − 2 x·w`` with one matrix product and clipped at 0, since
    rounding can make the difference slightly negative for coincident points.

    Parameters
    ----------
    X : array-like of shape (n, d)
    W : array-like of shape (k, d)

    Returns
    -------
    ndarray of shape (n, k)
    """
    X = _as_float(X)
    W = _centers_like(W, X)
    x_sq = np.einsum("ij,ij->i", X, X)[:, None]
    w_sq = np.einsum("ij,ij->i", W, W)[None, :]
    d2 = x_sq + w_sq - 2.0 * (X @ W.T)
    return np.maximum(d2, 0.0, out=d2)


def associate_centroids(X: Any, W: Any) -> tuple[float, np.ndarray]:
    """Assign each point to its nearest centroid.

    Parameters
    ----------
    X : array-like of shape (n, d)
    W : array-like of shape (k, d)

    Returns
    -------
    loss : float
        The mean over points of the squared distance to the nearest centroid.
    assoc : ndarray of shape (n,)
        The index of the nearest centroid; ties go to the lowest index.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(20).reshape(5, 4); c = np.arange(3, 11).reshape(2, 4)
    >>> loss, assoc = associate_centroids(a, c)
    >>> round(loss, 10), assoc.tolist()
    (93.6, [0, 0, 1, 1, 1])
    """
    X = _as_float(X)
    W = _centers_like(W, X)
    labels, min_d2 = assign(X, W)
    return float(min_d2.mean()), labels.astype(np.intp)


def update_centroids(X: Any, k: int, assoc: Any) -> np.ndarray:
    """Mean of the points assigned to each of ``k`` clusters; an empty cluster gets zeros.

    Parameters
    ----------
    X : array-like of shape (n, d)
    k : int
        Number of clusters.
    assoc : array-like of int, shape (n,)
        Cluster index of every point, in ``[0, k)``.

    Returns
    -------
    ndarray of shape (k, d)
    """
    X = _as_float(X)
    k = check_n_clusters(k, name="k")
    labels = np.asarray(assoc)
    if labels.shape != (X.shape[0],) or labels.dtype.kind not in "iu":
        raise _input_error(
            f"assoc has shape {labels.shape} and dtype {labels.dtype}; expected {X.shape[0]} integer cluster indices"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise _input_error(f"assoc has values in [{labels.min()}, {labels.max()}]; expected indices in [0, {k - 1}]")
    sums, counts = cluster_sums(X, labels, k)
    return _means(sums, counts, fallback=np.zeros_like(sums)).astype(X.dtype)


def rand_init(X: Any, k: int, rng: Any = None) -> np.ndarray:
    """``k`` distinct rows of X, drawn without replacement.

    Parameters
    ----------
    X : array-like of shape (n, d)
    k : int
    rng : None, int, numpy Generator or RandomState

    Returns
    -------
    ndarray of shape (k, d)
    """
    X = _as_float(X)
    k = check_n_clusters(k, X.shape[0], name="k")
    return random_rows(X, k, as_generator(rng))


def k_means(X: Any, k: int, max_iters: int = 50, eps: float = 1e-5, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The assignment's k-means: random data points, then associate/update until the loss settles.

    Stops when ``(loss[t-1] - loss[t]) / loss[t] < eps``, checked from the third iteration on
    (``t >= 2``). Empty clusters get a zero centroid, as :func:`update_centroids` specifies.

    Parameters
    ----------
    X : array-like of shape (n, d)
    k : int
    max_iters : int, default=50
    eps : float, default=1e-5
    rng : None, int, numpy Generator or RandomState

    Returns
    -------
    W : ndarray of shape (k, d)
        The final centroids.
    losses : ndarray of shape (n_iterations,)
        The mean squared distance at each iteration.
    """
    X = _as_float(X)
    k = check_n_clusters(k, X.shape[0], name="k")
    max_iters = check_int(max_iters, "max_iters", min_value=1)
    eps = check_float(eps, "eps", min_value=0.0)
    W = rand_init(X, k, rng)
    losses: list[float] = []
    for _ in range(max_iters):
        loss, assoc = associate_centroids(X, W)
        losses.append(loss)
        W = update_centroids(X, k, assoc)
        if loss_converged(losses, eps):
            break
    return W, np.asarray(losses)


def loss_converged(losses: list[float], tol: float) -> bool:
    """The assignment's rule: relative decrease ``(l[t-1] - l[t]) / l[t] < tol``, for ``t >= 2``."""
    t = len(losses) - 1
    if t < 2:
        return False
    previous, current = losses[t - 1], losses[t]
    if current <= 0.0:
        return True  # every point sits on its centre: nothing left to decrease
    return (previous - current) / current < tol


@dataclass
class LloydResult:
    """What one run of the Lloyd loop produced."""

    centers: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int
    loss_history: np.ndarray
    converged: bool
    n_relocated: int = 0
    extra: dict = field(default_factory=dict)


def _relocate_empty(
    X: np.ndarray,
    centers: np.ndarray,
    empty: np.ndarray,
    min_d2: np.ndarray,
    sample_weight: np.ndarray | None = None,
) -> int:
    """Move each empty cluster's centre onto a far point, farthest first, each point used once.

    "Far" is the squared distance of a point to the centre it was assigned to. Points already
    on their centre (distance 0) or of zero weight are never used: moving a centre there gains
    nothing, and with only duplicate points left the empty centre stays where it was. Equal
    distances are ordered by the points' canonical keys, so the choice does not depend on the
    order of the rows. Returns how many centres moved.
    """
    n = X.shape[0]
    n_empty = len(empty)
    far = min_d2 if sample_weight is None else np.where(sample_weight > 0, min_d2, 0.0)
    pool = min(n, max(4 * n_empty, n_empty + 16))
    while True:
        candidates = np.argpartition(-far, pool - 1)[:pool] if pool < n else np.arange(n)
        candidates = candidates[far[candidates] > 0.0]
        keys = canonical_keys(np.ascontiguousarray(X[candidates]))
        candidates = candidates[np.lexsort((keys[:, 1], keys[:, 0], -far[candidates]))]
        chosen: list[int] = []
        for idx in candidates:
            if len(chosen) == n_empty:
                break
            if not any(np.array_equal(X[idx], X[c]) for c in chosen):
                chosen.append(int(idx))
        # Duplicates among the candidates can leave us short: widen the pool and look again.
        if len(chosen) == n_empty or pool >= n or len(candidates) < pool:
            break
        pool = min(n, pool * 4)
    for cluster, idx in zip(empty, chosen):
        centers[cluster] = X[idx]
    return len(chosen)


def lloyd(
    X: np.ndarray,
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
) -> LloydResult:
    """Run Lloyd's algorithm from ``init_centers`` until a stop rule holds or ``max_iter``.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32 or float64, C-ordered
        Validated data (see :func:`kmeanslab.validation.check_data`).
    init_centers : ndarray of shape (k, d)
    sample_weight : ndarray of shape (n,), optional
    max_iter : int
    tol : float
        With ``stop="shift"``: the bound on the total squared centre shift, already scaled
        (the estimator multiplies its ``tol`` by the mean feature variance, as scikit-learn).
        With ``stop="loss"``: the bound on the relative decrease of the loss.
    stop : {"shift", "loss"}
    empty : {"relocate", "zeros", "keep"}
        What happens to the centre of a cluster that lost all its points.
    algorithm : {"lloyd", "hamerly", "elkan", "yinyang", "auto"}
        How assignments are computed; every algorithm gives Lloyd's result.
    x_sq : ndarray of shape (n,), optional
        Precomputed squared row norms (float64).
    verbose : bool
        Report the loss at every iteration through ``log`` (default: print).

    Returns
    -------
    LloydResult
        Also stops early (strict convergence) when an iteration changes no label.
    """
    n, d = X.shape
    k = init_centers.shape[0]
    log = log or print
    if x_sq is None:
        x_sq = row_sq_norms(X)
    assigner = make_assigner(algorithm, X, k, sample_weight, x_sq)
    total_weight = float(n if sample_weight is None else sample_weight.sum())
    centers = np.array(init_centers, dtype=np.float64, order="C")
    losses: list[float] = []
    converged = strict = False
    n_relocated = 0
    n_iter = 0
    with compute_context():
        for n_iter in range(1, max_iter + 1):
            centers_x = centers.astype(X.dtype, copy=False)
            labels, sums, wsums = assigner.step(centers_x)
            loss = assigner.loss_sum / total_weight
            losses.append(loss)
            new_centers, moved = _m_step(X, centers, sums, wsums, empty, assigner)
            n_relocated += moved
            shift = float(np.sum((new_centers - centers) ** 2))
            if verbose:
                log(f"iteration {n_iter:4d}  loss {loss:.10g}  shift {shift:.4g}")
            if moved == 0 and assigner.n_changed == 0:
                # No label changed, so the sums and the centres did not change either.
                centers = new_centers
                converged = strict = True
                break
            assigner.centers_moved(centers_x, new_centers.astype(X.dtype, copy=False))
            centers = new_centers
            if stop == "shift" and shift <= tol:
                converged = True
                break
            if stop == "loss" and loss_converged(losses, tol):
                converged = True
                break
        centers_x = centers.astype(X.dtype)
        if strict:
            labels = assigner.labels
        else:
            # The last update moved the centres: label the points by the final centres.
            labels = assigner.final_labels(centers_x)
        final_inertia = inertia(X, centers_x, labels, sample_weight)
    if verbose:
        state = "converged" if converged else "stopped at max_iter"
        log(f"{state} after {n_iter} iterations, inertia {final_inertia:.10g}")
    return LloydResult(
        centers=centers_x,
        labels=labels,
        inertia=final_inertia,
        n_iter=n_iter,
        loss_history=np.asarray(losses),
        converged=converged,
        n_relocated=n_relocated,
        extra={"algorithm": assigner.name},
    )


def _m_step(X, centers, sums, wsums, empty, assigner) -> tuple[np.ndarray, int]:
    """New centres from the sums, and the empty-cluster policy applied."""
    fallback = np.zeros_like(centers) if empty == "zeros" else centers
    new_centers = _means(sums, wsums, fallback)
    empties = np.flatnonzero(wsums <= 0)
    moved = 0
    if empty == "relocate" and len(empties):
        min_d2 = assigner.min_sq_dists(centers.astype(X.dtype, copy=False))
        moved = _relocate_empty(X, new_centers, empties, min_d2, assigner.weights)
    return new_centers, moved
