"""``kmeanslab.load``: a model file back into the estimator that wrote it."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelFileError
from ..io.model_file import read_model_file
from ._base import _BaseKMeans, _is_fitted_attribute
from ._kmeans import KMeans
from ._minibatch import MiniBatchKMeans

__all__ = ["ESTIMATORS", "load"]

#: The estimators a model file may hold, by the class name it records.
ESTIMATORS: dict[str, type[_BaseKMeans]] = {cls.__name__: cls for cls in (KMeans, MiniBatchKMeans)}


def load(path: str | os.PathLike) -> _BaseKMeans:
    """Load a model saved by ``save`` (:meth:`KMeans.save`, :meth:`MiniBatchKMeans.save`).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    KMeans or MiniBatchKMeans
        Fitted, with the saved parameters and attributes; ``predict`` gives the same labels.
        A ``random_state`` that was a Generator or RandomState comes back as None.

    Raises
    ------
    DatasetNotFoundError
        There is no such file.
    ModelFileError
        The file is truncated or corrupt, breaks a bound of the format (see
        :mod:`kmeanslab.io.model_file`), is of an unknown format version, or is not a model.
    """
    path = Path(path)
    record = read_model_file(path)
    cls = ESTIMATORS.get(record.estimator)
    if cls is None:
        expected = " or ".join(ESTIMATORS)
        raise ModelFileError(f"{path}: holds a {record.estimator!r}; expected a {expected} model")
    known = cls().get_params(deep=False)
    unknown = sorted(set(record.params) - set(known))
    if unknown:
        raise ModelFileError(
            f"{path}: has parameter(s) {unknown} that this kmeanslab's {cls.__name__} does not know; upgrade kmeanslab"
        )
    model = cls(**record.params)
    for name, value in record.attributes.items():
        if not _is_fitted_attribute(name):
            raise ModelFileError(f"{path}: {name!r} is not a fitted attribute")
        setattr(model, name, value)
    problem = model._fitted_state_problem()
    if problem is not None:
        raise ModelFileError(f"{path}: {problem}")
    return model
