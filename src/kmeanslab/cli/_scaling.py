"""``--scale``: each feature rescaled before clustering, and the same rescaling for new rows.

``standard`` subtracts the mean and divides by the standard deviation (``ddof=0``, as
scikit-learn's ``StandardScaler``); ``minmax`` subtracts the minimum and divides by the range.
A constant feature is divided by 1, not 0. The offset and divisor of each feature go into the
model file (:func:`kmeanslab.io.model_file.add_preprocessing`), so ``predict`` rescales new
rows with the numbers of the data the model was fitted on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import ModelFileError
from ._common import SCALES

__all__ = ["Scaling", "fit_scaling", "scaling_from_model"]


@dataclass(frozen=True)
class Scaling:
    """A per-feature rescaling ``(X - offset) / divisor``; ``kind="none"`` leaves X as it is."""

    kind: str
    offset: np.ndarray | None = None
    divisor: np.ndarray | None = None

    def apply(self, X: np.ndarray) -> np.ndarray:
        """``X`` rescaled (float64), or ``X`` itself for ``none``."""
        if self.kind == "none":
            return X
        return (np.asarray(X, dtype=np.float64) - self.offset) / self.divisor

    def as_record(self) -> dict:
        """What the model file stores (see :func:`kmeanslab.io.model_file.write_model_file`)."""
        if self.kind == "none":
            return {"scale": "none"}
        return {"scale": self.kind, "offset": self.offset, "divisor": self.divisor}

    def describe(self) -> str:
        """How the features were used, for a summary line."""
        return {"none": "as they are", "standard": "standardised", "minmax": "scaled to [0, 1]"}[self.kind]


def fit_scaling(X: np.ndarray, kind: str) -> Scaling:
    """The rescaling ``kind`` (one of :data:`SCALES`) learnt from the rows of ``X``."""
    if kind == "none":
        return Scaling("none")
    X = np.asarray(X, dtype=np.float64)
    if kind == "standard":
        offset, spread = X.mean(axis=0), X.std(axis=0)
    else:
        offset = X.min(axis=0)
        spread = X.max(axis=0) - offset
    # A constant feature stays 0 rather than becoming NaN; so does one whose spread is lost in rounding.
    divisor = np.where(spread > np.finfo(np.float64).tiny, spread, 1.0)
    return Scaling(kind, offset, divisor)


def scaling_from_model(preprocessing: dict, n_features: int, path: str | os.PathLike) -> Scaling:
    """The rescaling a model file records, checked (a damaged file must not scale by NaN or 0)."""
    kind = preprocessing.get("scale", "none")
    if kind not in SCALES:
        raise ModelFileError(f"{path}: records scale {kind!r}; expected one of {', '.join(SCALES)}")
    if kind == "none":
        return Scaling("none")
    arrays = []
    for name in ("offset", "divisor"):
        value = preprocessing.get(name)
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu" or value.shape != (n_features,):
            raise ModelFileError(
                f"{path}: the {kind} scaling's {name} is missing or not {n_features} numbers; "
                f"expected a model file as 'kmeanslab fit --scale' writes it"
            )
        arrays.append(value.astype(np.float64))
    offset, divisor = arrays
    if not (np.isfinite(offset).all() and np.isfinite(divisor).all() and (divisor > 0).all()):
        raise ModelFileError(f"{path}: the {kind} scaling holds a non-finite offset or a divisor <= 0")
    return Scaling(kind, offset, divisor)
