"""Model files: a fitted :class:`~kmeanslab.KMeans` saved as ``.npz``, loaded without pickle.

The archive holds one JSON string, ``__kmeanslab__``, with the format name and version, the
kmeanslab version, the parameters and the scalar fitted attributes; every array (the centres,
the labels, the loss history, an explicit ``init``) is stored as its own ``.npy`` member.
Nothing in the file is unpickled, so loading a model file cannot run code.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DatasetNotFoundError, InputError, ModelFileError

__all__ = ["save_model", "load", "FORMAT", "FORMAT_VERSION"]

FORMAT = "kmeanslab-model"
FORMAT_VERSION = 1
_META_KEY = "__kmeanslab__"
_PARAM_PREFIX = "param."
_ATTR_PREFIX = "attr."


def _is_fitted_attribute(name: str) -> bool:
    return name.endswith("_") and not name.startswith("_")


def _json_scalar(value: Any) -> Any:
    """``value`` as a JSON-ready Python value, or raise TypeError."""
    if isinstance(value, np.generic):
        value = value.item()
    json.dumps(value, allow_nan=True)  # raises TypeError for what JSON cannot hold
    return value


def _split_values(values: dict[str, Any], prefix: str, what: str) -> tuple[dict, dict, list]:
    """Scalars (for the JSON header), arrays (for the archive), names of arrays of strings."""
    scalars, arrays, str_arrays = {}, {}, []
    for name, value in values.items():
        if isinstance(value, (np.ndarray, list, tuple)) and not isinstance(value, str):
            array = np.asarray(value)
            if array.dtype == object:
                if not all(isinstance(v, str) for v in array.ravel()):
                    raise InputError(f"cannot save {what} {name!r}: it holds Python objects, not numbers or text")
                array = array.astype(str)
                str_arrays.append(name)
            arrays[prefix + name] = array
            continue
        try:
            scalars[name] = _json_scalar(value)
        except TypeError:
            if what == "parameter":
                # A Generator or RandomState cannot be written down; the fitted model does not
                # need it, and a refit from the loaded model draws fresh randomness.
                scalars[name] = None
            else:
                raise InputError(
                    f"cannot save {what} {name!r} of type {type(value).__name__}; expected numbers, text or arrays"
                ) from None
    return scalars, arrays, str_arrays


def save_model(model: Any, path: str | os.PathLike) -> Path:
    """Write a fitted KMeans to ``path`` as an ``.npz`` model file, atomically.

    Parameters
    ----------
    model : KMeans
        A fitted estimator.
    path : path-like
        Written as given (no ``.npz`` is appended).

    Returns
    -------
    Path

    Raises
    ------
    sklearn.exceptions.NotFittedError
        The model has not been fitted.
    InputError
        An attribute holds something that cannot be stored without pickle.
    """
    from sklearn.utils.validation import check_is_fitted

    from ._version import __version__
    from .io import atomic_write

    check_is_fitted(model)
    path = Path(path)
    params, param_arrays, _ = _split_values(model.get_params(deep=False), _PARAM_PREFIX, "parameter")
    fitted = {k: v for k, v in vars(model).items() if _is_fitted_attribute(k)}
    attrs, attr_arrays, str_arrays = _split_values(fitted, _ATTR_PREFIX, "attribute")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "estimator": type(model).__name__,
        "kmeanslab_version": __version__,
        "params": params,
        "array_params": sorted(k[len(_PARAM_PREFIX) :] for k in param_arrays),
        "attributes": attrs,
        "array_attributes": sorted(k[len(_ATTR_PREFIX) :] for k in attr_arrays),
        "object_str_attributes": str_arrays,
    }
    with atomic_write(path, "wb") as handle:
        np.savez(handle, **{_META_KEY: np.array(json.dumps(meta))}, **param_arrays, **attr_arrays)
    return path


def _read_archive(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON header and every array of a model file."""
    if not path.exists():
        raise DatasetNotFoundError(f"{path}: no such model file")
    try:
        archive = np.load(path, allow_pickle=False)
        if isinstance(archive, np.ndarray):
            raise ModelFileError(f"{path}: is a single .npy array, not a kmeanslab model file (.npz)")
        with archive:
            arrays = {key: archive[key] for key in archive.files}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        head = path.read_bytes()[:4] if path.is_file() else b""
        if head.startswith(b"PK"):
            raise ModelFileError(
                f"{path}: truncated or corrupt model file ({exc}); expected a complete model file "
                f"as KMeans.save or 'kmeanslab fit --out' writes it"
            ) from None
        raise ModelFileError(
            f"{path}: not a kmeanslab model file (not an .npz archive); expected a model.npz "
            f"as KMeans.save or 'kmeanslab fit --out' writes it"
        ) from None
    if _META_KEY not in arrays:
        raise ModelFileError(f"{path}: an .npz archive without kmeanslab's header; not a kmeanslab model file")
    try:
        meta = json.loads(str(arrays.pop(_META_KEY)[()]))
    except (json.JSONDecodeError, TypeError, IndexError) as exc:
        raise ModelFileError(f"{path}: the model header is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: the header does not say {FORMAT!r}; not a kmeanslab model file")
    return meta, arrays


def _check_version(meta: dict, path: Path) -> None:
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: unknown model format version {version!r}; expected {FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {version} was written by a newer kmeanslab "
            f"({meta.get('kmeanslab_version', '?')}); this one reads version {FORMAT_VERSION}: upgrade kmeanslab"
        )


def _restore(meta: dict, arrays: dict[str, np.ndarray], path: Path):
    from .estimator import KMeans

    if meta.get("estimator") != "KMeans":
        raise ModelFileError(f"{path}: holds a {meta.get('estimator')!r}; expected a KMeans model")
    try:
        params = dict(meta["params"])
        params.update({k: arrays[_PARAM_PREFIX + k] for k in meta["array_params"]})
        attrs = dict(meta["attributes"])
        attrs.update({k: arrays[_ATTR_PREFIX + k] for k in meta["array_attributes"]})
        for name in meta["object_str_attributes"]:
            attrs[name] = attrs[name].astype(object)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the model is incomplete (missing {exc})") from None
    known = KMeans().get_params(deep=False)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ModelFileError(
            f"{path}: has parameter(s) {unknown} that this kmeanslab's KMeans does not know; upgrade kmeanslab"
        )
    model = KMeans(**params)
    for name, value in attrs.items():
        if not _is_fitted_attribute(name):
            raise ModelFileError(f"{path}: {name!r} is not a fitted attribute")
        setattr(model, name, value)
    _check_model(model, path)
    return model


def _check_model(model, path: Path) -> None:
    centers = getattr(model, "cluster_centers_", None)
    if not isinstance(centers, np.ndarray) or centers.ndim != 2 or centers.dtype.kind != "f":
        raise ModelFileError(f"{path}: cluster_centers_ is missing or not a 2-D float array")
    if not np.all(np.isfinite(centers)):
        raise ModelFileError(f"{path}: cluster_centers_ contains NaN or inf")
    k, d = centers.shape
    if getattr(model, "n_features_in_", None) != d:
        raise ModelFileError(
            f"{path}: n_features_in_={getattr(model, 'n_features_in_', None)!r} but the centres have {d} columns"
        )
    if model.n_clusters != k:
        raise ModelFileError(f"{path}: n_clusters={model.n_clusters!r} but there are {k} centres")


def load(path: str | os.PathLike):
    """Load a model saved by :meth:`KMeans.save <kmeanslab.KMeans.save>`.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    KMeans
        Fitted, with the saved parameters and attributes; ``predict`` gives the same labels.
        A ``random_state`` that was a Generator or RandomState comes back as None.

    Raises
    ------
    DatasetNotFoundError
        There is no such file.
    ModelFileError
        The file is truncated or corrupt, of an unknown format version, or not a model.
    """
    path = Path(path)
    meta, arrays = _read_archive(path)
    _check_version(meta, path)
    return _restore(meta, arrays, path)
