"""Model files: an estimator's name, parameters and fitted attributes in one ``.npz``, without pickle.

The format (``"kmeanslab-model"``, version 1) is a ZIP archive as ``numpy.savez`` writes it:

* ``__kmeanslab__.npy``, a 0-d unicode array holding a JSON header: the format name and
  version, the kmeanslab version, the estimator's class name, its parameters and the fitted
  attributes that JSON can hold, and the names of the ones stored as arrays;
* ``param.<name>.npy`` and ``attr.<name>.npy``, one ``.npy`` array per array-valued parameter
  (an explicit ``init``) or fitted attribute (the centres, the labels, the loss history);
* optionally, the preprocessing the model's inputs need (``kmeanslab fit --scale``): the header's
  ``preprocessing`` holds its scalars (``{"scale": "standard"}``) and ``prep.<name>.npy`` its
  arrays (the offset and divisor of each feature). A file without it (older files too) reads
  as ``{"scale": "none"}``.

The distance a model uses is its ``metric`` parameter (``"euclidean"`` or ``"cosine"``, see
:attr:`ModelRecord.metric`); files written before kmeanslab had cosine k-means have none and
read as ``"euclidean"``, which is what they were fitted with.

Nothing is unpickled, so reading a model file cannot run code. This module knows nothing of
estimators: :func:`kmeanslab.load` maps the class name to a class.

Reads are bounded. Members must be stored uncompressed, as ``numpy.savez`` and ``save`` write
them, so that no member holds more bytes than the file itself; each member's ``.npy`` header
must declare exactly the bytes the ZIP directory gives it, checked before its data is read;
only the members the header names are read; the JSON header may take at most
:data:`MAX_HEADER_BYTES` and nest at most :data:`MAX_HEADER_DEPTH` levels. Writing refuses
what reading would refuse, so a file ``save`` writes always loads.
"""

from __future__ import annotations

import json
import math
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.lib import format as npy_format

from .._version import __version__
from ..errors import DatasetNotFoundError, InputError, ModelFileError
from . import atomic_write

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_HEADER_BYTES",
    "MAX_HEADER_DEPTH",
    "NO_PREPROCESSING",
    "ModelRecord",
    "add_preprocessing",
    "read_model_file",
    "write_model_file",
]

FORMAT = "kmeanslab-model"
FORMAT_VERSION = 1
# The JSON header holds scalars and short lists: parameters, scalar attributes, names. A
# Faithful model's header takes 3 KiB (as a .npy unicode array, 4 bytes a character).
MAX_HEADER_BYTES = 2**20
MAX_HEADER_DEPTH = 32
_HEADER_KEY = "__kmeanslab__"
_PARAM_PREFIX = "param."
_ATTR_PREFIX = "attr."
_PREP_PREFIX = "prep."
#: What a model file without preprocessing (every file before ``--scale``) reads as.
NO_PREPROCESSING = {"scale": "none"}
# A .npy header is a few hundred bytes; numpy's own reader refuses more than 10000.
_MAX_NPY_HEADER = 10_000
_ARRAY_KINDS = "fiubU"
# What a damaged ZIP archive or .npy member can raise from zipfile, zlib, struct and numpy.
_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    OverflowError,
    NotImplementedError,
    RuntimeError,
    UnicodeError,
    SyntaxError,
)


@dataclass
class ModelRecord:
    """What a model file holds: ``estimator`` (a class name), ``params``, ``attributes``, ``preprocessing``."""

    estimator: str
    params: dict
    attributes: dict
    kmeanslab_version: str
    preprocessing: dict = field(default_factory=lambda: dict(NO_PREPROCESSING))

    @property
    def metric(self) -> str:
        """The model's metric: its ``metric`` parameter, ``"euclidean"`` for files older than it."""
        return str(self.params.get("metric", "euclidean"))


# --------------------------------------------------------------------------- writing


def _json_scalar(value: Any) -> Any:
    """``value`` as a JSON-ready Python value, or raise TypeError."""
    if isinstance(value, np.generic):
        value = value.item()
    json.dumps(value, allow_nan=True)  # raises TypeError for what JSON cannot hold
    return value


def _is_array(value: Any) -> bool:
    if isinstance(value, (str, bytes, np.generic, dict)):
        return False
    return isinstance(value, (np.ndarray, list, tuple)) or hasattr(value, "__array__")


def _split_values(values: dict[str, Any], prefix: str, what: str) -> tuple[dict, dict, list]:
    """Scalars (for the JSON header), arrays (for the archive), names of arrays of strings."""
    scalars, arrays, str_arrays = {}, {}, []
    for name, value in values.items():
        if _is_array(value):
            array = np.asarray(value)  # a lazy (dask) array is computed here
            if array.dtype == object:
                if not all(isinstance(v, str) for v in array.ravel()):
                    raise InputError(f"cannot save {what} {name!r}: it holds Python objects, not numbers or text")
                array = array.astype(str)
                str_arrays.append(name)
            if array.dtype.kind not in _ARRAY_KINDS:
                raise InputError(f"cannot save {what} {name!r}: an array of {array.dtype}; expected numbers or text")
            arrays[prefix + name] = array
            continue
        try:
            scalars[name] = _json_scalar(value)
        except (TypeError, ValueError):
            if what == "parameter":
                # A Generator or RandomState cannot be written down; the fitted model does not
                # need it, and a refit from the loaded model draws fresh randomness.
                scalars[name] = None
            else:
                raise InputError(
                    f"cannot save {what} {name!r} of type {type(value).__name__}; expected numbers, text or arrays"
                ) from None
    return scalars, arrays, str_arrays


def _depth(value: Any) -> int:
    """How deeply lists and dicts nest in a JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
        else:
            deepest = max(deepest, level)
            continue
        deepest = max(deepest, level + 1)
    return deepest


def _header_bytes(text: str) -> int:
    """Bytes of the header member: a .npy header and 4 bytes per character (UTF-32)."""
    return 128 + 4 * len(text)


def write_model_file(
    path: str | os.PathLike, estimator: str, params: dict, attributes: dict, preprocessing: dict | None = None
) -> Path:
    """Write a model file to ``path`` atomically (no ``.npz`` is appended).

    Parameters
    ----------
    path : path-like
    estimator : str
        The class name :func:`kmeanslab.load` maps back to a class.
    params : dict
        ``get_params()`` of the estimator: values JSON can hold, or arrays. Values that are
        neither (a numpy Generator) are written as None.
    attributes : dict
        Fitted attributes: values JSON can hold, or arrays (of numbers or text).
    preprocessing : dict, optional
        What new inputs go through before ``predict`` (``{"scale": "standard", "offset": array,
        "divisor": array}``): values JSON can hold, or arrays of numbers. Default: none.

    Returns
    -------
    Path

    Raises
    ------
    InputError
        A value cannot be stored without pickle, or the header would exceed what
        :func:`read_model_file` reads (:data:`MAX_HEADER_BYTES`, :data:`MAX_HEADER_DEPTH`).
    """
    path = Path(path)
    scalar_params, param_arrays, _ = _split_values(params, _PARAM_PREFIX, "parameter")
    scalar_attrs, attr_arrays, str_arrays = _split_values(attributes, _ATTR_PREFIX, "attribute")
    scalar_prep, prep_arrays, prep_str = _split_values(
        dict(preprocessing or NO_PREPROCESSING), _PREP_PREFIX, "preprocessing value"
    )
    if prep_str:
        raise InputError(f"cannot save preprocessing value(s) {prep_str}: expected numbers, not text")
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "estimator": estimator,
        "kmeanslab_version": __version__,
        "params": scalar_params,
        "array_params": sorted(k[len(_PARAM_PREFIX) :] for k in param_arrays),
        "attributes": scalar_attrs,
        "array_attributes": sorted(k[len(_ATTR_PREFIX) :] for k in attr_arrays),
        "object_str_attributes": str_arrays,
        "preprocessing": scalar_prep,
        "array_preprocessing": sorted(k[len(_PREP_PREFIX) :] for k in prep_arrays),
    }
    depth = _depth(header)
    if depth > MAX_HEADER_DEPTH:
        raise InputError(
            f"cannot save {path}: its header would nest {depth} levels deep; a model file allows "
            f"{MAX_HEADER_DEPTH} (an attribute holds deeply nested lists or dicts)"
        )
    text = json.dumps(header)
    if _header_bytes(text) > MAX_HEADER_BYTES:
        raise InputError(
            f"cannot save {path}: its header would take {_header_bytes(text)} bytes; a model file allows "
            f"{MAX_HEADER_BYTES} (store large attributes as arrays)"
        )
    with atomic_write(path, "wb") as handle:
        np.savez(handle, **{_HEADER_KEY: np.array(text)}, **param_arrays, **attr_arrays, **prep_arrays)
    return path


def add_preprocessing(path: str | os.PathLike, preprocessing: dict) -> Path:
    """Rewrite the model file at ``path`` (atomically) with ``preprocessing`` recorded in it.

    ``KMeans.save`` writes the estimator; the command line, which scaled the data it fitted,
    adds what new inputs need before ``predict`` (see :func:`write_model_file`).
    """
    record = read_model_file(path)
    return write_model_file(path, record.estimator, record.params, record.attributes, preprocessing)


# --------------------------------------------------------------------------- reading


def _not_a_model(path: Path) -> ModelFileError:
    head = b""
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError:
        pass
    if head.startswith(b"\x93NUMPY"):
        return ModelFileError(f"{path}: is a single .npy array, not a kmeanslab model file (.npz)")
    if head.startswith(b"PK"):
        return _corrupt(path, "the ZIP directory cannot be read")
    return ModelFileError(
        f"{path}: not a kmeanslab model file (not an .npz archive); expected a model.npz "
        f"as KMeans.save or 'kmeanslab fit --out' writes it"
    )


def _corrupt(path: Path, why: str) -> ModelFileError:
    return ModelFileError(
        f"{path}: truncated or corrupt model file ({why}); expected a complete model file "
        f"as KMeans.save or 'kmeanslab fit --out' writes it"
    )


def _read_npy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, max_bytes: int) -> np.ndarray:
    """One ``.npy`` member, its size checked against the ZIP directory before its data is read."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise ModelFileError(f"{path}: member {name} is encrypted; kmeanslab model files are not")
    if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
        raise ModelFileError(
            f"{path}: member {name} is compressed; kmeanslab reads model files whose members are stored "
            f"uncompressed, as KMeans.save writes them (a member may not hold more than the file)"
        )
    if info.file_size > max_bytes:
        raise ModelFileError(f"{path}: member {name} takes {info.file_size} bytes; at most {max_bytes} are allowed")
    with archive.open(info) as member:
        version = npy_format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(member, max_header_size=_MAX_NPY_HEADER)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npy_format.read_array_header_2_0(member, max_header_size=_MAX_NPY_HEADER)
        else:
            raise ModelFileError(f"{path}: member {name} has unknown .npy version {version}")
        dtype = np.dtype(dtype)
        if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype:
            raise ModelFileError(f"{path}: member {name} holds {dtype} values; expected numbers or text")
        offset = member.tell()
        data_bytes = math.prod(int(s) for s in shape) * dtype.itemsize
        if offset + data_bytes != info.file_size:
            raise ModelFileError(
                f"{path}: member {name} declares {offset + data_bytes} bytes (shape {tuple(shape)}, {dtype}) "
                f"but the archive gives it {info.file_size}"
            )
        data = member.read(data_bytes)
    if len(data) != data_bytes:
        raise _corrupt(path, f"member {name} ends early")
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(shape[::-1]).T.copy() if fortran else array.reshape(shape).copy()


def _parse_header(array: np.ndarray, path: Path) -> dict:
    if array.shape != () or array.dtype.kind != "U":
        raise ModelFileError(f"{path}: the model header is not a JSON string; not a kmeanslab model file")
    try:
        header = json.loads(str(array[()]))
    except RecursionError:
        raise ModelFileError(
            f"{path}: the model header nests too deeply to read; a model file allows {MAX_HEADER_DEPTH} levels"
        ) from None
    except ValueError as exc:
        raise ModelFileError(f"{path}: the model header is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path}: the header does not say {FORMAT!r}; not a kmeanslab model file")
    depth = _depth(header)
    if depth > MAX_HEADER_DEPTH:
        raise ModelFileError(
            f"{path}: the model header nests {depth} levels deep; a model file allows {MAX_HEADER_DEPTH}"
        )
    return header


def _check_version(header: dict, path: Path) -> None:
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: unknown model format version {version!r}; expected {FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {version} was written by a newer kmeanslab "
            f"({header.get('kmeanslab_version', '?')}); this one reads version {FORMAT_VERSION}: upgrade kmeanslab"
        )


def _names(header: dict, key: str, path: Path) -> list[str]:
    names = header.get(key, [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ModelFileError(f"{path}: the model header's {key!r} is not a list of names")
    return names


def _mapping(header: dict, key: str, path: Path) -> dict:
    values = header.get(key)
    if not isinstance(values, dict):
        raise ModelFileError(f"{path}: the model is incomplete (missing {key!r})")
    return dict(values)


def _open_archive(path: Path, file: IO[bytes]) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(file)
    except zipfile.BadZipFile:
        raise _not_a_model(path) from None


def read_model_file(path: str | os.PathLike) -> ModelRecord:
    """Read a model file written by :func:`write_model_file`, within the bounds above.

    Returns
    -------
    ModelRecord
        The estimator's class name, its parameters and its fitted attributes (arrays of text
        that were arrays of Python strings come back as object arrays).

    Raises
    ------
    DatasetNotFoundError
        There is no such file.
    ModelFileError
        The file is truncated or corrupt, breaks a bound, is of an unknown format version, or
        is not a model file. The message starts with the file's path.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetNotFoundError(f"{path}: no such model file")
    try:
        size = path.stat().st_size
        with open(path, "rb") as file, _open_archive(path, file) as archive:
            members = {info.filename: info for info in archive.infolist()}
            header_info = members.get(_HEADER_KEY + ".npy")
            if header_info is None:
                raise ModelFileError(f"{path}: an .npz archive without kmeanslab's header; not a kmeanslab model file")
            header = _parse_header(_read_npy_member(archive, header_info, path, MAX_HEADER_BYTES), path)
            _check_version(header, path)
            wanted = [_PARAM_PREFIX + n for n in _names(header, "array_params", path)]
            wanted += [_ATTR_PREFIX + n for n in _names(header, "array_attributes", path)]
            wanted += [_PREP_PREFIX + n for n in _names(header, "array_preprocessing", path)]
            arrays = {}
            for key in wanted:
                info = members.get(key + ".npy")
                if info is None:
                    raise ModelFileError(f"{path}: the model is incomplete (missing {key!r})")
                arrays[key] = _read_npy_member(archive, info, path, size)
    except (ModelFileError, DatasetNotFoundError):
        raise
    except RecursionError:
        raise _corrupt(path, "nested too deeply") from None
    except _READ_ERRORS as exc:
        raise _corrupt(path, f"{type(exc).__name__}: {exc}") from None
    estimator = header.get("estimator")
    if not isinstance(estimator, str):
        raise ModelFileError(f"{path}: the model header names no estimator")
    params = _mapping(header, "params", path)
    attributes = _mapping(header, "attributes", path)
    # Files written before preprocessing existed have no such key: their inputs are used as they are.
    preprocessing = _mapping(header, "preprocessing", path) if "preprocessing" in header else dict(NO_PREPROCESSING)
    preprocessing.update({name: arrays[_PREP_PREFIX + name] for name in _names(header, "array_preprocessing", path)})
    params.update({name: arrays[_PARAM_PREFIX + name] for name in _names(header, "array_params", path)})
    attributes.update({name: arrays[_ATTR_PREFIX + name] for name in _names(header, "array_attributes", path)})
    for name in _names(header, "object_str_attributes", path):
        if not isinstance(attributes.get(name), np.ndarray):
            raise ModelFileError(f"{path}: the model is incomplete (missing 'attr.{name}')")
        attributes[name] = attributes[name].astype(object)
    return ModelRecord(estimator, params, attributes, str(header.get("kmeanslab_version", "?")), preprocessing)
