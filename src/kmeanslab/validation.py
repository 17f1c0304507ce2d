"""Checks at the boundary: every public entry point validates its input here, once.

Each message names the parameter, the value received and what was expected, so that
the CLI can print it as the one line a user sees.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import InputError, KMeansLabError

__all__ = [
    "check_data",
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


def _find_non_finite(X: np.ndarray) -> tuple[int, int, str] | None:
    """First (row, column, kind) of a NaN or infinity in X, reading it block by block."""
    block = _rows_per_block(X.shape[1], X.itemsize)
    for start, stop in iter_row_chunks(X.shape[0], block):
        part = X[start:stop]
        # A block sum is one cheap pass; only a non-finite sum needs the elementwise look.
        with np.errstate(over="ignore", invalid="ignore"):
            total = np.add.reduce(part, axis=None, dtype=np.float64)
        if np.isfinite(total):
            continue
        bad = ~np.isfinite(part)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            value = part[row, col]
            kind = "NaN" if np.isnan(value) else ("+inf" if value > 0 else "-inf")
            return start + int(row), int(col), kind
    return None


def check_data(
    X: Any,
    name: str = "X",
    *,
    min_samples: int = 1,
    n_features: int | None = None,
    estimator_name: str | None = None,
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

    Returns
    -------
    ndarray of shape (n_samples, n_features)

    Raises
    ------
    InputError
        Not 2-D, empty, complex, non-finite, or with the wrong number of columns.
    """
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise InputError(f"{name} is a sparse matrix; kmeanslab needs a dense array: pass {name}.toarray()")
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
    n_samples, n_cols = X.shape
    if n_cols == 0:
        raise InputError(f"{name} has 0 feature(s) (shape=({n_samples}, 0)) while a minimum of 1 is required.")
    if n_samples < min_samples:
        raise InputError(
            f"Found array with {n_samples} sample(s) (shape={X.shape}) while a minimum of "
            f"{min_samples} is required: {name} needs at least {min_samples} row(s)."
        )
    if n_features is not None and n_cols != n_features:
        who = estimator_name or "the model"
        raise InputError(
            f"{name} has {n_cols} features, but {who} is expecting {n_features} features as input "
            f"(the number of columns it was fitted on)."
        )
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if not X.flags.c_contiguous:
        X = np.ascontiguousarray(X)
    bad = _find_non_finite(X)
    if bad is not None:
        row, col, kind = bad
        word = "NaN" if kind == "NaN" else "inf"
        raise InputError(
            f"{name} contains {word} ({kind} at row {row}, column {col}); expected finite values: "
            f"drop or impute missing and infinite values before clustering."
        )
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


def check_sample_weight(sample_weight: Any, n_samples: int, dtype: np.dtype | type = np.float64) -> np.ndarray | None:
    """Return the weights as a 1-D array of ``n_samples`` non-negative finite values, or None.

    None means every point has weight 1; the kernels have a faster path for that.
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
    return np.ascontiguousarray(w)


def check_init_array(init: Any, n_clusters: int, n_features: int, dtype: np.dtype) -> np.ndarray:
    """Return an explicit array of initial centres of shape ``(n_clusters, n_features)``."""
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
