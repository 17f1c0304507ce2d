"""What KMeans and MiniBatchKMeans share: parameter checks, using a fitted model, model files.

The two estimators are siblings under :class:`_BaseKMeans` (as in scikit-learn): each declares
the checks of its own parameters once, in ``_parameter_constraints``; the base checks the ones
that depend on X (``n_clusters``, ``init``, ``n_init``) and keeps every validated value on
``self._<name>``.
"""

from __future__ import annotations

import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._core import assign, assigned_sq_dists, inertia, sparse_row_sq_norms, sparse_sq_distances
from ..errors import InputError
from ..io.model_file import write_model_file
from ..scale import beyond_memory, map_row_blocks, work_dtype
from ..validation import (
    check_choice,
    check_data,
    check_float,
    check_init_array,
    check_int,
    check_n_clusters,
    check_sample_weight,
    is_sparse,
    iter_row_chunks,
)
from ._cosine import METRICS, unit_rows
from ._seeding import INIT_METHODS

__all__ = ["LOSS_KINDS"]

LOSS_KINDS = ("sse", "mse", "mean_dist")

# Rows of a transform computed at once: bounds the temporaries to about 4 MiB.
_TRANSFORM_CHUNK_BYTES = 2**22


# --------------------------------------------------------------------------- parameter checks
# Each returns a checker ``(value, name) -> validated value`` that raises InputError.


def integer(minimum: int) -> Callable[[Any, str], int]:
    return lambda value, name: check_int(value, name, min_value=minimum)


def number(minimum: float) -> Callable[[Any, str], float]:
    return lambda value, name: check_float(value, name, min_value=minimum)


def one_of(choices: tuple[str, ...]) -> Callable[[Any, str], str]:
    return lambda value, name: check_choice(value, name, choices)


def optional(check: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    return lambda value, name: None if value is None else check(value, name)


def boolean(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name}={value!r} is not valid; expected True or False")
    return bool(value)


# --------------------------------------------------------------------------- functions of rows


def _nearest_of_rows(block: Any, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each row of a (raw) block."""
    X = check_data(np.asarray(block), "X")
    return assign(X, np.ascontiguousarray(centers, dtype=X.dtype))[0]


def _distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Euclidean distance from each row of a validated X to each centre, in X's dtype.

    ``|x|² + |c|² - 2 x·c`` by matrix product; where that cancels (x close to c, relative to
    their norms) it keeps little but rounding error, so those entries are recomputed as
    ``|x - c|²``: a point on a centre is at distance 0 exactly.
    """
    if is_sparse(X):
        return _sparse_distances(X, centers)
    centers = np.ascontiguousarray(centers, dtype=X.dtype)
    c_sq = np.einsum("ij,ij->i", centers, centers)
    cancels = np.sqrt(np.finfo(X.dtype).eps)
    out = np.empty((X.shape[0], centers.shape[0]), dtype=X.dtype)
    rows = max(1, _TRANSFORM_CHUNK_BYTES // max(1, X.shape[1] * X.itemsize))
    for a, b in iter_row_chunks(X.shape[0], rows):
        part = X[a:b]
        x_sq = np.einsum("ij,ij->i", part, part)
        d2 = x_sq[:, None] + c_sq[None, :] - 2.0 * (part @ centers.T)
        close = d2 <= cancels * (x_sq[:, None] + c_sq[None, :])
        for j in np.flatnonzero(close.any(axis=0)):
            near = np.flatnonzero(close[:, j])
            diff = part[near] - centers[j]
            d2[near, j] = np.einsum("ij,ij->i", diff, diff)
        np.sqrt(np.maximum(d2, 0.0), out=out[a:b])
    return out


def _sparse_distances(X: Any, centers: np.ndarray) -> np.ndarray:
    """:func:`_distances` for a sparse X: the sparse kernel's norm trick, and where it cancels,
    ``|x - c|²`` from that row alone densified (a point on a centre is at distance 0)."""
    C = np.asarray(centers, dtype=np.float64)
    x_sq = sparse_row_sq_norms(X)
    d2 = sparse_sq_distances(X, C, x_sq)
    c_sq = np.einsum("ij,ij->i", C, C)
    close = d2 <= np.sqrt(np.finfo(X.dtype).eps) * (x_sq[:, None] + c_sq[None, :])
    for i in np.flatnonzero(close.any(axis=1)):
        row = X[i].toarray()[0].astype(np.float64)
        near = np.flatnonzero(close[i])
        diff = row[None, :] - C[near]
        d2[i, near] = np.einsum("ij,ij->i", diff, diff)
    return np.sqrt(d2).astype(X.dtype, copy=False)


def _distances_of_rows(block: Any, centers: np.ndarray) -> np.ndarray:
    return _distances(check_data(np.asarray(block), "X"), centers)


def _cosine_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """``1 - cos(x, c)`` from each unit row of X to each unit centre, in X's dtype, within [0, 2]."""
    centers = np.ascontiguousarray(centers, dtype=X.dtype)
    return np.clip(1.0 - X @ centers.T, 0.0, 2.0).astype(X.dtype, copy=False)


# --------------------------------------------------------------------------- the base


class _BaseKMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator, metaclass=ABCMeta):
    """Parameter checks, predict/transform/score/loss, and ``save`` for the k-means estimators.

    ``get_feature_names_out`` names the columns of ``transform`` after the class, as
    scikit-learn: ``kmeans0``, ``kmeans1``, ... (``minibatchkmeans0``, ...); with it,
    ``set_output(transform="pandas")`` and ``config_context(transform_output="pandas")`` work.
    """

    #: The class's own parameters and their checks (n_clusters, init and n_init are the base's).
    _parameter_constraints: dict[str, Callable[[Any, str], Any]] = {}
    #: Whether ``fit`` takes a scipy.sparse X (predict, transform and score always do).
    _accepts_sparse = True
    #: ``n_init="auto"`` runs once for k-means++ or an array, this many times otherwise.
    _n_init_when_auto = 10

    @abstractmethod
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> _BaseKMeans: ...

    # ------------------------------------------------------------------ validation

    def _metric_name(self) -> str:
        """The validated ``metric`` ("euclidean" for an estimator without one)."""
        return check_choice(getattr(self, "metric", "euclidean"), "metric", METRICS)

    def _check_X(self, X: Any, *, reset: bool) -> np.ndarray:
        """X validated; with ``metric="cosine"``, a copy with unit rows (zero rows refused)."""
        if reset:
            checked = check_data(X, "X", accept_sparse=self._accepts_sparse)
        else:
            check_is_fitted(self)
            checked = check_data(
                X, "X", n_features=self.n_features_in_, estimator_name=type(self).__name__, accept_sparse=True
            )
        # Feature-name bookkeeping (and its warnings) exactly as scikit-learn does it.
        validate_data(self, X, skip_check_array=True, reset=reset)
        if self._metric_name() == "cosine":
            checked = unit_rows(checked)
        return checked

    def _refuse_cosine_beyond_memory(self) -> None:
        if self._metric_name() == "cosine":
            raise InputError(
                "metric='cosine' needs X in memory (its rows are normalised once, on the way in); "
                "got a dask or out-of-core X; expected an in-memory array, or metric='euclidean' on rows "
                "you normalised yourself"
            )

    def _validate_params(self, n_samples: int, n_features: int, dtype: np.dtype) -> None:
        """Check every parameter for data of this shape; keep the values on ``self._<name>``."""
        k = check_n_clusters(self.n_clusters, n_samples)
        if isinstance(self.init, str):
            init = check_choice(self.init, "init", INIT_METHODS)
        elif hasattr(self.init, "__array__") or isinstance(self.init, (list, tuple)):
            init = check_init_array(self.init, k, n_features, dtype)
        elif callable(self.init):
            init = self.init  # called at each seeding; its centres are checked then (_seeding)
        else:
            raise InputError(
                f"init={self.init!r} is not valid; expected one of "
                f"{', '.join(repr(m) for m in INIT_METHODS)}, an array of shape ({k}, {n_features}) "
                f"or a callable (X, n_clusters, random_state) -> centres"
            )
        explicit = isinstance(init, np.ndarray)
        if isinstance(self.n_init, str) and self.n_init == "auto":
            n_init = 1 if (explicit or init == "k-means++") else self._n_init_when_auto
        else:
            n_init = check_int(self.n_init, "n_init", min_value=1)
            if explicit and n_init != 1:
                warnings.warn(
                    f"Explicit initial center position passed: performing only one init in "
                    f"{type(self).__name__} instead of n_init={n_init} (n_init={n_init} has no effect with "
                    f"an explicit init array)",
                    RuntimeWarning,
                    stacklevel=3,
                )
                n_init = 1
        self._n_clusters, self._init, self._n_init = k, init, n_init
        for name, check in self._parameter_constraints.items():
            setattr(self, f"_{name}", check(getattr(self, name), name))

    def _check_beyond_memory(self, X: Any) -> None:
        """A fitted model, and an X of its number of features (a dask or out-of-core X)."""
        check_is_fitted(self)
        shape = tuple(getattr(X, "shape", ()))
        if len(shape) != 2:
            raise InputError(f"X must be a 2-D array of shape (n_samples, n_features); got shape {shape}")
        if int(shape[1]) != self.n_features_in_:
            raise InputError(
                f"X has {int(shape[1])} features, but {type(self).__name__} is expecting {self.n_features_in_} "
                f"features as input (the number of columns it was fitted on)."
            )
        validate_data(self, X, skip_check_array=True, reset=False)

    # ------------------------------------------------------------------ using a fitted model

    def _centers_for(self, X: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self.cluster_centers_, dtype=X.dtype)

    def predict(self, X: Any) -> Any:
        """Index of the nearest centre for each row of X (ties to the lowest index).

        A dask ``X`` gives a lazy dask array; an out-of-core ``X`` is read block by block.
        """
        if beyond_memory(X):
            self._check_beyond_memory(X)
            self._refuse_cosine_beyond_memory()
            return map_row_blocks(X, _nearest_of_rows, np.asarray(self.cluster_centers_), dtype=np.int32)
        X = self._check_X(X, reset=False)
        labels, _ = assign(X, self._centers_for(X))
        return labels

    def transform(self, X: Any) -> Any:
        """Distance from each row of X to each centre, shape (n_samples, n_clusters).

        Euclidean; with ``metric="cosine"`` the cosine distance ``1 - cos(x, c)``, in [0, 2].
        """
        if beyond_memory(X):
            self._check_beyond_memory(X)
            self._refuse_cosine_beyond_memory()
            centers = np.asarray(self.cluster_centers_)
            dtype = work_dtype(X.dtype)
            return map_row_blocks(X, _distances_of_rows, centers, dtype=dtype, n_columns=centers.shape[0])
        X = self._check_X(X, reset=False)
        if self._metric_name() == "cosine":
            return _cosine_distances(X, self.cluster_centers_)
        return _distances(X, self.cluster_centers_)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Opposite of the inertia of X under this model (higher is better)."""
        return -self.loss(X, kind="sse", sample_weight=sample_weight)

    def loss(self, X: Any, kind: str = "sse", sample_weight: Any = None) -> float:
        """The loss of X under this model.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
        kind : {"sse", "mse", "mean_dist"}, default="sse"
            Sum of squared distances to the nearest centre (the inertia); their mean; or the
            mean of the (unsquared) distances, reported as J_clust by the MNIST notebooks.
            With ``metric="cosine"`` the distance is ``1 - cos(x, c)`` and it is not squared:
            "sse" is ``Σ w (1 - cos)`` (the ``inertia_`` of a cosine fit), and "mse" and
            "mean_dist" are both its weighted mean.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        kind = check_choice(kind, "kind", LOSS_KINDS)
        X = self._check_X(X, reset=False)
        weights = check_sample_weight(sample_weight, X.shape[0], X=X)
        centers = self._centers_for(X)
        labels, _ = assign(X, centers)
        total_weight = float(X.shape[0] if weights is None else weights.sum())
        if self._metric_name() == "cosine":
            # On unit rows and centres, 1 - cos = |x - c|² / 2.
            total = 0.5 * inertia(X, centers, labels, weights)
            return total if kind == "sse" else total / total_weight
        if kind == "sse":
            return inertia(X, centers, labels, weights)
        if kind == "mse":
            return inertia(X, centers, labels, weights) / total_weight
        dist = np.sqrt(assigned_sq_dists(X, centers, labels))
        return float((dist.sum() if weights is None else np.dot(weights, dist)) / total_weight)

    @property
    def _n_features_out(self) -> int:
        """Columns of ``transform``: one per centre (read by ``get_feature_names_out``)."""
        return self.cluster_centers_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = self._accepts_sparse
        return tags

    # ------------------------------------------------------------------ model files

    def _fitted_state_problem(self) -> str | None:
        """What makes this fitted state unusable (and so not worth a model file), or None."""
        centers = getattr(self, "cluster_centers_", None)
        if not isinstance(centers, np.ndarray) or centers.ndim != 2 or centers.dtype.kind != "f":
            return "cluster_centers_ is missing or not a 2-D float array"
        if not np.all(np.isfinite(centers)):
            return "cluster_centers_ contains NaN or inf"
        k, d = centers.shape
        n_features = getattr(self, "n_features_in_", None)
        if isinstance(n_features, bool) or n_features != d:
            return f"n_features_in_={n_features!r} but the centres have {d} columns"
        if isinstance(self.n_clusters, bool) or self.n_clusters != k:
            return f"n_clusters={self.n_clusters!r} but there are {k} centres"
        return None

    def save(self, path: Any) -> Any:
        """Write this fitted model to ``path`` as an ``.npz`` model file.

        The file holds the estimator's name, its parameters and fitted attributes and a format
        version (see :mod:`kmeanslab.io.model_file`), and is read back by
        :func:`kmeanslab.load` without pickle. A model that could not be loaded back (centres
        that are not finite, say) is refused and nothing is written.

        Parameters
        ----------
        path : path-like
            Written atomically, as given (no ``.npz`` is appended).

        Returns
        -------
        pathlib.Path
            The file written.
        """
        check_is_fitted(self)
        problem = self._fitted_state_problem()
        if problem is not None:
            raise InputError(f"cannot save {path}: {problem}; a model file must load back")
        attributes = {name: value for name, value in vars(self).items() if _is_fitted_attribute(name)}
        return write_model_file(path, type(self).__name__, self.get_params(deep=False), attributes)


def _is_fitted_attribute(name: str) -> bool:
    return name.endswith("_") and not name.startswith("_")
