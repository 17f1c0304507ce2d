"""Checks at the boundary: every public entry point validates its input here, once.

Each message names the parameter, the value received and what was expected, so that
the CLI can print it as the one line a user sees.

Values too large to compute with are refused here too, from what the engine computes: dot
products of rows and centres (and distances built from them) in the data's dtype, squared
norms, weighted sums and the loss in float64. With ``d`` features, ``n`` rows (or a total
sample weight ``W``), the largest value ``M = max |x|`` must satisfy

    4 d M² <= max(dtype)      and      4 d M² W <= max(float64)

(a squared distance is at most ``(2M)² d``; the loss sums ``W`` of them). See :func:`value_bound`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import InputError, KMeansLabError

__all__ = [
    "check_data",
    "check_sparse",
    "is_sparse",
    "check_values",
    "value_bound",
    "check_n_clusters",
    "check_int",
    "check_float",
    "check_choice",
    "check_sample_weight",
    "check_init_array",
    "as_generator",
    "iter_row_chunks",
]

# Rows per block when a check has to look at the whole array: bounds the temporaries.
_CHECK_BLOCK_BYTES = 8 * 2**20


class InputTypeError(KMeansLabError, TypeError):
    """Values that are not numbers at all (objects, dicts): a TypeError, as NumPy raises."""


def iter_row_chunks(n_rows: int, chunk_rows: int):
    """Yield ``(start, stop)`` for consecutive row blocks of at most ``chunk_rows`` rows."""
    chunk_rows = max(1, int(chunk_rows))
    for start in range(0, n_rows, chunk_rows):
        yield start, min(start + chunk_rows, n_rows)


def _rows_per_block(n_features: int, itemsize: int) -> int:
    return max(1, _CHECK_BLOCK_BYTES // max(1, n_features * itemsize))


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def value_bound(dtype: np.dtype | type, n_features: int, total_weight: float = 1.0) -> float:
    """The largest ``|x|`` k-means can compute with, for data of ``dtype`` and ``n_features`` columns.

    ``total_weight`` is the number of rows, or the sum of the sample weights: the loss adds up
    that many squared distances in float64. See the module docstring for the derivation.
    """
    room = min(float(np.finfo(dtype).max), float(np.finfo(np.float64).max) / max(float(total_weight), 1.0))
    return math.sqrt(room / (4.0 * max(int(n_features), 1)))


def _first_bad(part: np.ndarray, bound: float) -> tuple[int, int, str] | None:
    """The first (row, column, kind) of ``part`` that is NaN, infinite or larger than ``bound`` in size."""
    # max and min are two cheap passes in the data's own dtype, and NaN propagates through both.
    with np.errstate(invalid="ignore"):
        high, low = np.maximum.reduce(part, axis=None), np.minimum.reduce(part, axis=None)
    if np.isfinite(high) and np.isfinite(low) and max(float(high), -float(low)) <= bound:
        return None
    bad = ~np.isfinite(part)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        value = part[row, col]
        return int(row), int(col), "NaN" if np.isnan(value) else ("+inf" if value > 0 else "-inf")
    with np.errstate(over="ignore"):
        row, col = np.argwhere(np.abs(part.astype(np.float64, copy=False)) > bound)[0]
    return int(row), int(col), "large"


def check_values(
    X: np.ndarray,
    name: str = "X",
    *,
    n_samples: int | None = None,
    total_weight: float | None = None,
    row_offset: int = 0,
) -> None:
    """Check that every value of a 2-D float array is finite and small enough to compute with.

    Reads X block by block (so a memory map is never held whole). ``X`` may be one block of
    a larger array: ``row_offset`` is its first row, for the message, and ``n_samples`` the
    rows of the whole array, for the bound (see :func:`value_bound`).

    Raises
    ------
    InputError
        A NaN, an infinity, or a value larger than :func:`value_bound` allows; the message
        gives its row and column.
    """
    n_rows, n_cols = X.shape
    weight = total_weight if total_weight is not None else (n_samples if n_samples is not None else n_rows)
    bound = value_bound(X.dtype, n_cols, weight)
    block = _rows_per_block(n_cols, X.itemsize)
    for start, stop in iter_row_chunks(n_rows, block):
        bad = _first_bad(X[start:stop], bound)
        if bad is None:
            continue
        row, col, kind = bad
        row += start + row_offset
        if kind != "large":
            word = "NaN" if kind == "NaN" else "inf"
            raise InputError(
                f"{name} contains {word} ({kind} at row {row}, column {col}); expected finite values: "
                f"drop or impute missing and infinite values before clustering."
            )
        value = float(X[row - row_offset, col])
        raise InputError(_too_large_message(name, value, row, col, X.dtype, n_cols, weight, bound))


def _too_large_message(name, value, row, col, dtype, n_cols, weight, bound) -> str:
    dtype = np.dtype(dtype)
    limited_by_dtype = float(np.finfo(dtype).max) <= float(np.finfo(np.float64).max) / max(float(weight), 1.0)
    why = (
        f"squared distances over {n_cols} feature(s) would overflow {dtype.name}"
        if limited_by_dtype
        else f"the sum of {weight:.6g} squared distances over {n_cols} feature(s) would overflow float64"
    )
    remedy = "rescale the data (divide it by its largest absolute value, say)"
    if limited_by_dtype and dtype != np.float64:
        remedy += " or convert it to float64"
    return (
        f"{name} has a value too large for k-means ({value:.6g} at row {row}, column {col}): {why}; "
        f"expected |values| <= {bound:.3g}: {remedy}."
    )


def check_data(
    X: Any,
    name: str = "X",
    *,
    min_samples: int = 1,
    n_features: int | None = None,
    estimator_name: str | None = None,
    whole_rows: int | None = None,
    row_offset: int = 0,
    accept_sparse: bool = False,
) -> np.ndarray:
    """Return X as a C-ordered 2-D float32 or float64 array, or raise an error that says why not.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data; integers and booleans become float64, float32 stays float32.
        A memory-mapped array stays memory-mapped when it is already C-ordered float.
    name : str, default="X"
        The name used in error messages.
    min_samples : int, default=1
        The fewest rows accepted.
    n_features : int, optional
        The number of columns expected (a fitted model's ``n_features_in_``).
    estimator_name : str, optional
        Named in the message when ``n_features`` does not match.
    whole_rows, row_offset : int, optional
        When X is one block of a larger array (streamed from a file): the rows of the whole
        array, which set the bound on the values, and the block's first row, which messages give.
    accept_sparse : bool, default=False
        Return a scipy.sparse X as validated CSR (see :func:`check_sparse`) instead of refusing it.

    Returns
    -------
    ndarray of shape (n_samples, n_features)

    Raises
    ------
    InputError
        Not 2-D, empty, complex, non-finite, too large to compute with (see :func:`value_bound`),
        or with the wrong number of columns.
    """
    if is_sparse(X):
        if accept_sparse:
            return check_sparse(X, name, min_samples=min_samples, n_features=n_features, estimator_name=estimator_name)
        raise InputError(f"{name} is a sparse matrix; kmeanslab needs a dense array here: pass {name}.toarray()")
    if not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except ValueError as exc:  # ragged nested lists
            raise InputError(f"{name} could not be made into an array ({exc}); expected rows of equal length") from None
    if np.iscomplexobj(X):
        raise InputError(f"{name} has complex values: Complex data not supported; expected real numbers")
    if X.dtype.kind not in "fiub":
        try:
            X = X.astype(np.float64)
        except TypeError as exc:
            raise InputTypeError(f"{name} has values that are not numbers: {exc}") from None
        except ValueError as exc:
            raise InputError(f"{name} has values that are not numbers ({exc}); expected numeric data") from None
    if X.ndim != 2:
        hint = (
            f" Reshape your data with {name}.reshape(-1, 1) if it has a single feature,"
            f" or {name}.reshape(1, -1) if it is a single sample."
            if X.ndim == 1
            else " Reshape your data to (n_samples, n_features)."
        )
        raise InputError(
            f"{name} must be a 2-D array of shape (n_samples, n_features); "
            f"got a {X.ndim}-D array of shape {X.shape}.{hint}"
        )
    _check_shape(X.shape, name, min_samples, n_features, estimator_name)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if not X.flags.c_contiguous:
        X = np.ascontiguousarray(X)
    check_values(X, name, n_samples=whole_rows, row_offset=row_offset)
    return X


def _check_shape(
    shape: tuple[int, int], name: str, min_samples: int, n_features: int | None, estimator_name: str | None
) -> None:
    """The checks a 2-D X's shape must pass, dense or sparse (one wording for both)."""
    n_samples, n_cols = shape
    if n_cols == 0:
        raise InputError(f"{name} has 0 feature(s) (shape=({n_samples}, 0)) while a minimum of 1 is required.")
    if n_samples < min_samples:
        raise InputError(
            f"Found array with {n_samples} sample(s) (shape={shape}) while a minimum of "
            f"{min_samples} is required: {name} needs at least {min_samples} row(s)."
        )
    if n_features is not None and n_cols != n_features:
        who = estimator_name or "the model"
        raise InputError(
            f"{name} has {n_cols} features, but {who} is expecting {n_features} features as input "
            f"(the number of columns it was fitted on)."
        )


# --------------------------------------------------------------------------- sparse X


def is_sparse(X: Any) -> bool:
    """Whether X is a scipy.sparse matrix or array (any format)."""
    return hasattr(X, "toarray") and type(X).__module__.startswith("scipy.sparse")


def check_sparse(
    X: Any,
    name: str = "X",
    *,
    min_samples: int = 1,
    n_features: int | None = None,
    estimator_name: str | None = None,
) -> Any:
    """Return a scipy.sparse X as canonical CSR of float32/float64, or raise an error that says why not.

    Canonical: sorted column indices, no duplicate entries (what the sparse kernels rely on,
    and what makes equal rows store equal entries). X is copied only when it is not already
    canonical CSR of a float dtype; it is never densified. Only the stored values are checked:
    the implicit zeros are finite and small.
    """
    if X.ndim != 2:
        raise InputError(f"{name} must be a 2-D sparse matrix of shape (n_samples, n_features); got shape {X.shape}")
    _check_shape(X.shape, name, min_samples, n_features, estimator_name)
    n_samples, n_cols = X.shape
    if np.iscomplexobj(X):
        raise InputError(f"{name} has complex values: Complex data not supported; expected real numbers")
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    if X.format != "csr":
        X = X.tocsr()
    if X.dtype != dtype:
        X = X.astype(dtype)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()  # also sorts the indices
    values = X.data
    bad = np.flatnonzero(~np.isfinite(values))
    bound = value_bound(X.dtype, n_cols, n_samples)
    big = np.flatnonzero(np.abs(values) > bound) if not len(bad) else bad
    if len(bad) or len(big):
        p = int((bad if len(bad) else big)[0])
        row = int(np.searchsorted(X.indptr, p, side="right")) - 1
        col = int(X.indices[p])
        value = float(values[p])
        if len(bad):
            word = "NaN" if np.isnan(value) else "inf"
            raise InputError(
                f"{name} contains {word} ({word} at row {row}, column {col}); expected finite values: "
                f"drop or impute missing and infinite values before clustering."
            )
        raise InputError(_too_large_message(name, value, row, col, X.dtype, n_cols, n_samples, bound))
    return X


def check_n_clusters(n_clusters: Any, n_samples: int | None = None, name: str = "n_clusters") -> int:
    """Return ``n_clusters`` as an int in ``[1, n_samples]``."""
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, numbers.Integral):
        raise InputError(f"{name}={_describe(n_clusters)} is not valid; expected an integer >= 1")
    n_clusters = int(n_clusters)
    if n_clusters < 1:
        raise InputError(f"{name}={n_clusters} is not valid; expected an integer >= 1")
    if n_samples is not None and n_clusters > n_samples:
        raise InputError(
            f"{name}={n_clusters} is larger than the number of samples (n_samples={n_samples}); "
            f"expected 1 <= {name} <= n_samples"
        )
    return n_clusters


def check_int(value: Any, name: str, *, min_value: int | None = None) -> int:
    """Return ``value`` as an int, at least ``min_value``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        expected = "an integer" + (f" >= {min_value}" if min_value is not None else "")
        raise InputError(f"{name}={_describe(value)} is not valid; expected {expected}")
    value = int(value)
    if min_value is not None and value < min_value:
        raise InputError(f"{name}={value} is not valid; expected an integer >= {min_value}")
    return value


def check_float(value: Any, name: str, *, min_value: float | None = None) -> float:
    """Return ``value`` as a finite float, at least ``min_value``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise InputError(f"{name}={_describe(value)} is not valid; expected a finite number")
    value = float(value)
    if min_value is not None and value < min_value:
        raise InputError(f"{name}={value!r} is not valid; expected a number >= {min_value}")
    return value


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise InputError(f"{name}={_describe(value)} is not valid; expected one of {options}")
    return value


def check_sample_weight(
    sample_weight: Any, n_samples: int, dtype: np.dtype | type = np.float64, *, X: np.ndarray | None = None
) -> np.ndarray | None:
    """Return the weights as a 1-D array of ``n_samples`` non-negative finite values, or None.

    None means every point has weight 1; the kernels have a faster path for that.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,), scalar or None
    n_samples : int
    dtype : dtype, default=float64
    X : ndarray, optional
        The validated data the weights go with: then the weighted loss is checked not to
        overflow float64 (see :func:`value_bound`). Without it only the sum of the weights is.

    Raises
    ------
    InputError
        Wrong shape, not numbers, NaN or inf, negative, all zero, a sum that overflows, or
        (with ``X``) a sum so large that the weighted loss would overflow.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, sample_weight, dtype=dtype)
    try:
        w = np.asarray(sample_weight, dtype=dtype)
    except (TypeError, ValueError):
        raise InputError(f"sample_weight={_describe(sample_weight)} is not valid; expected numbers") from None
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise InputError(f"sample_weight has shape {w.shape}; expected shape ({n_samples},), one weight per sample")
    if not np.all(np.isfinite(w)):
        raise InputError("sample_weight contains NaN or inf; expected finite non-negative weights")
    if np.any(w < 0):
        first = int(np.argmax(w < 0))
        raise InputError(
            f"sample_weight has a negative value ({float(w[first])!r} at index {first}); expected non-negative weights"
        )
    if not np.any(w > 0):
        raise InputError("sample_weight is all zero; expected at least one positive weight")
    with np.errstate(over="ignore"):
        total = float(np.add.reduce(w, dtype=np.float64))
    rescale = "rescale them: any positive factor gives the same clusters"
    if not math.isfinite(total):
        raise InputError(
            f"sample_weight sums to more than float64 holds (its largest weight is {float(w.max()):.6g}); "
            f"expected weights whose sum is finite: {rescale}"
        )
    values = X.data if X is not None and is_sparse(X) else X  # a sparse X: its stored values
    if values is not None and values.size:
        with np.errstate(invalid="ignore"):
            largest = max(float(np.maximum.reduce(values, axis=None)), -float(np.minimum.reduce(values, axis=None)))
        if largest > value_bound(X.dtype, X.shape[1], total):
            most = float(np.finfo(np.float64).max) / (4.0 * X.shape[1] * largest * largest)
            raise InputError(
                f"sample_weight sums to {total:.6g}: with values of X up to {largest:.6g} in {X.shape[1]} feature(s) "
                f"the weighted sum of squared distances would overflow float64; expected a total weight "
                f"<= {most:.3g}: {rescale}"
            )
    return np.ascontiguousarray(w)


def check_init_array(init: Any, n_clusters: int, n_features: int, dtype: np.dtype, *, n_samples: int = 1) -> np.ndarray:
    """Return an explicit array of initial centres of shape ``(n_clusters, n_features)``.

    The centres are held to the bound of the data (:func:`value_bound`, for ``n_samples`` rows).
    """
    try:
        centers = np.array(init, dtype=dtype, copy=True)
    except (TypeError, ValueError):
        raise InputError(f"init={_describe(init)} is not valid; expected an array of numbers") from None
    if centers.shape != (n_clusters, n_features):
        raise InputError(
            f"init has shape {centers.shape}; expected (n_clusters, n_features) = ({n_clusters}, {n_features})"
        )
    if not np.all(np.isfinite(centers)):
        raise InputError("init contains NaN or inf; expected finite initial centres")
    check_values(centers, "init", n_samples=n_samples)
    return np.ascontiguousarray(centers)


def as_generator(random_state: Any) -> np.random.Generator:
    """Turn None, an int, a SeedSequence, a RandomState or a Generator into a Generator.

    A RandomState is consumed for one seed, so that scikit-learn's convention of passing a
    shared RandomState advances it deterministically.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if random_state is None or isinstance(random_state, np.random.SeedSequence):
        return np.random.default_rng(random_state)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise InputError(f"random_state={random_state} is not valid; expected an integer >= 0")
        return np.random.default_rng(int(random_state))
    raise InputError(
        f"random_state={_describe(random_state)} is not valid; "
        f"expected None, an integer >= 0, or a numpy Generator/RandomState"
    )
