"""MNIST and the course notebooks' digit files: readers for the three formats they came in.

- IDX, the original format (``t10k-images-idx3-ubyte[.gz]``): :func:`read_idx`, and
  :func:`load_mnist`, which finds a split's two files in the data home (and fetches them on request).
- ``mnist.pkl.gz``, a pickled ``(train, valid, test)`` tuple: :func:`load_mnist_pickle`, which
  rebuilds only numpy arrays (a tampered file cannot run code).
- base64 JSON lines (``{"label": 7, "data": "<base64>"}``): :func:`load_mnist_json`.

:func:`load_dataset_file` picks the reader by the file's name.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import io
import json
import math
import os
import pickle
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataFileError, DatasetNotFoundError, InputError
from ..io import read_input_bytes
from ..validation import check_choice, check_int
from ._base import Dataset, as_float_pixels, image_dataset, pixel_names
from ._paths import MNIST_FILES, find_mnist_files, get_data_home, not_found_message
from .fetch import fetch_mnist

__all__ = ["read_idx", "load_mnist", "load_mnist_pickle", "load_mnist_json", "load_dataset_file"]

_MNIST_PIXELS = 784
_PICKLE_SPLITS = ("train", "valid", "test")


def _read_bytes(path: Path, what: str) -> bytes:
    """The file's bytes, gunzipped when it is gzip (by its magic number, whatever its name).

    Bounded by :func:`kmeanslab.io.read_limit` (after decompression), like every file read whole.
    """
    try:
        return read_input_bytes(path, what=what, label=str(path), gzip_hint="delete it and fetch it again")
    except DatasetNotFoundError:
        raise DatasetNotFoundError(f"{path}: no such file") from None


# IDX type codes (the third byte of the magic number) and the big-endian dtypes they stand for.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (the format of the original MNIST files), gzipped or not.

    Parameters
    ----------
    path : path-like
    ndim : int, optional
        The number of dimensions expected (3 for images, 1 for labels).

    Returns
    -------
    ndarray
        In native byte order, of the shape the header gives; may be read-only.

    Raises
    ------
    DataFileError
        Corrupt gzip data, a wrong magic number, or sizes in the header that disagree with
        the length of the file.
    """
    path = Path(path)
    raw = _read_bytes(path, "an IDX file")
    if len(raw) < 4:
        raise DataFileError(f"{path}: {len(raw)} bytes is too short for an IDX header; expected an IDX file")
    magic = int.from_bytes(raw[:4], "big")
    if raw[:2] != b"\0\0" or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise DataFileError(
            f"{path}: wrong magic number 0x{magic:08x}; expected an IDX file "
            f"(0x0000TTDD: T a type code, D the number of dimensions)"
        )
    dims_in_file = raw[3]
    if ndim is not None and dims_in_file != ndim:
        raise DataFileError(
            f"{path}: magic number 0x{magic:08x} says {dims_in_file} dimension(s); expected {ndim} "
            f"({'images' if ndim == 3 else 'labels' if ndim == 1 else 'an array'})"
        )
    header = 4 + 4 * dims_in_file
    if len(raw) < header:
        raise DataFileError(f"{path}: the header is cut short ({len(raw)} bytes); expected {header}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims_in_file))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = math.prod(shape) * dtype.itemsize  # Python integers: a huge header cannot wrap to 0
    if len(raw) - header != expected:
        raise DataFileError(
            f"{path}: the header says {' x '.join(map(str, shape))} ({expected} bytes of data) "
            f"but the file has {len(raw) - header} bytes after the header"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _check_images(images: np.ndarray, path: Path) -> None:
    if images.dtype != np.uint8:
        raise DataFileError(f"{path}: holds {images.dtype} values; expected unsigned bytes (IDX type 0x08)")
    if 0 in images.shape:
        raise DataFileError(
            f"{path}: holds {' x '.join(map(str, images.shape))} images; expected at least one image of at least one pixel"
        )


def _check_labels(labels: np.ndarray, path: Path) -> None:
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataFileError(f"{path}: has labels from {labels.min()} to {labels.max()}; expected digits 0 to 9")


def _read_mnist_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    _check_images(images, images_path)
    if labels.dtype != np.uint8:
        raise DataFileError(f"{labels_path}: holds {labels.dtype} values; expected unsigned bytes (IDX type 0x08)")
    if labels.shape[0] != images.shape[0]:
        raise DataFileError(
            f"{labels_path}: has {labels.shape[0]} labels but {images_path} has "
            f"{images.shape[0]} images; expected one label per image"
        )
    _check_labels(labels, labels_path)
    return images, labels


def _balanced_index(labels: np.ndarray, per_class: int, seed, split: str) -> np.ndarray:
    """Indices of ``per_class`` random samples of each label, in file order."""
    rng = np.random.default_rng(seed)
    chosen = []
    for digit in np.unique(labels):
        where = np.flatnonzero(labels == digit)
        if where.size < per_class:
            raise InputError(
                f"balanced={per_class} asks for {per_class} images of each digit but the {split} "
                f"split has only {where.size} of digit {digit}"
            )
        chosen.append(rng.choice(where, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def load_mnist(
    split: str = "train",
    data_home: str | os.PathLike | None = None,
    balanced: int | None = None,
    seed: int | None = None,
    download: bool = False,
    *,
    mirror: str | Sequence[str] | None = None,
) -> Dataset:
    """MNIST handwritten digits from the original IDX files.

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        60000 training or 10000 test images.
    data_home : path-like, optional
        Where to look (see :func:`get_data_home`): in ``<data_home>/mnist/``, then in
        ``<data_home>``, each file gzipped or not.
    balanced : int, optional
        Draw this many images of each digit at random (``balanced=100``: the 1000-image
        training set of the MNIST notebooks), kept in file order.
    seed : int, optional
        Seeds the draw of ``balanced``.
    download : bool, default=False
        Fetch the split's missing files first (see :func:`fetch_mnist`).
    mirror : str or sequence of str, optional
        With ``download``: the mirror(s) to fetch from.

    Returns
    -------
    Dataset
        ``data`` (n, 784) float32 in [0, 1], ``target`` (n,) int64, ``images`` (n, 28, 28), a
        view of ``data``.

    Raises
    ------
    DatasetNotFoundError
        The files are not there (the message says where it looked and how to fetch them).
    DataFileError
        A file is corrupt or the two files disagree.
    """
    split = check_choice(split, "split", tuple(MNIST_FILES))
    if balanced is not None:
        balanced = check_int(balanced, "balanced", min_value=1)
    home = get_data_home(data_home)
    found = find_mnist_files(split, home)
    missing = [name for name, path in found.items() if path is None]
    if missing and download:
        fetch_mnist(home, mirror=mirror, files=missing)
        found = find_mnist_files(split, home)
        missing = [name for name, path in found.items() if path is None]
    if missing:
        raise DatasetNotFoundError(not_found_message(split, missing, home, data_home))
    images_path, labels_path = found.values()
    images, labels = _read_mnist_pair(images_path, labels_path)
    if balanced is not None:
        index = _balanced_index(labels, balanced, seed, split)
        images, labels = images[index], labels[index]
    description = f"MNIST {split} split from {images_path.parent}"
    if balanced is not None:
        description += f", {balanced} images per digit (seed={seed})"
    return image_dataset(images, labels, f"mnist-{split}", description)


# --------------------------------------------------------------------------- the notebooks' other formats


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles tuples, lists and numpy arrays, and refuses every other global.

    A pickle can run any code when loaded; this one can only rebuild arrays, so a tampered
    ``mnist.pkl.gz`` fails with an error instead of running what it carries.
    """

    # (submodule of numpy.core / numpy._core, name)
    _NUMPY_CORE = {("multiarray", "_reconstruct"), ("multiarray", "scalar"), ("numeric", "_frombuffer")}
    _GLOBALS = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes at protocol 2
    }

    def find_class(self, module: str, name: str) -> Any:
        leaf = module.rsplit(".", 1)[-1]
        if module.startswith(("numpy.core.", "numpy._core.")) and (leaf, name) in self._NUMPY_CORE:
            return getattr(_numpy_core_module(leaf), name)
        if (module, name) in self._GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}; only numpy arrays are allowed")


def _numpy_core_module(leaf: str):
    # numpy 2 renamed numpy.core to numpy._core; pickles name either.
    try:
        return importlib.import_module(f"numpy._core.{leaf}")
    except ImportError:  # pragma: no cover - numpy < 2
        return importlib.import_module(f"numpy.core.{leaf}")


def _unpickle(path: Path) -> Any:
    raw = _read_bytes(path, "a pickle file")
    try:
        # encoding="latin1": the original file was pickled by Python 2.
        return _ArrayUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as exc:
        # (UnpicklingError, EOFError, OverflowError or MemoryError for absurd lengths, struct.error, ...)
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, EOFError) or "truncated" in detail:
            raise DataFileError(f"{path}: truncated or corrupt ({detail})") from None
        raise DataFileError(f"{path}: not a pickled MNIST tuple ({detail})") from None


def _pickle_part(part: Any, split: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(part, (tuple, list)) and len(part) == 2):
        raise DataFileError(f"{path}: the {split} entry is a {type(part).__name__}; expected a pair (X, y)")
    X, y = (np.asarray(a) for a in part)
    if X.ndim != 2 or X.shape[1] != _MNIST_PIXELS or X.dtype.kind not in "fiu":
        raise DataFileError(
            f"{path}: {split} X has shape {X.shape} and dtype {X.dtype}; expected numbers of shape (n, 784)"
        )
    if y.ndim != 1 or y.shape[0] != X.shape[0] or y.dtype.kind not in "iu":
        raise DataFileError(
            f"{path}: {split} y has shape {y.shape} for {X.shape[0]} images; expected {X.shape[0]} integer labels"
        )
    _check_labels(y, path)
    return X, y


def load_mnist_pickle(path: str | os.PathLike, split: str = "train") -> Dataset:
    """MNIST from ``mnist.pkl.gz``: a pickled ``(train, valid, test)`` tuple of ``(X, y)`` pairs.

    The file the deeplearning.net tutorials distributed (50000/10000/10000 images, pixels
    float32 in [0, 1]). Only numpy arrays are unpickled: any other object in the file is an
    error, so a tampered file cannot run code.

    Parameters
    ----------
    path : path-like
        Gzipped or not.
    split : {"train", "valid", "test"}, default="train"

    Returns
    -------
    Dataset
        ``data`` (n, 784) float32 in [0, 1], ``target`` int64, ``images`` (n, 28, 28).
    """
    split = check_choice(split, "split", _PICKLE_SPLITS)
    path = Path(path)
    content = _unpickle(path)
    if not (isinstance(content, (tuple, list)) and len(content) == 3):
        raise DataFileError(
            f"{path}: holds a {type(content).__name__}"
            f"{f' of length {len(content)}' if isinstance(content, (tuple, list)) else ''}; "
            f"expected a (train, valid, test) tuple"
        )
    X, y = _pickle_part(content[_PICKLE_SPLITS.index(split)], split, path)
    if X.dtype == np.uint8:
        data = as_float_pixels(X)
    else:
        data = np.ascontiguousarray(X, dtype=np.float32)
        if not np.all(np.isfinite(data)):
            row, col = (int(i) for i in np.argwhere(~np.isfinite(data))[0])
            raise DataFileError(
                f"{path}: {split} pixel {col} of image {row} is {data[row, col]}; expected values in [0, 1]"
            )
        if data.size and (data.min() < 0.0 or data.max() > 1.0):
            raise DataFileError(
                f"{path}: {split} pixels range from {data.min()} to {data.max()}; expected values in [0, 1]"
            )
    n = data.shape[0]
    return Dataset(
        data=data,
        target=y.astype(np.int64),
        images=data.reshape(n, 28, 28),
        feature_names=pixel_names(28, 28),
        name=f"mnist-pickle-{split}",
        description=f"MNIST {split} split from {path}",
    )


def _json_records(text: str, path: Path) -> Iterable[tuple[str, Any]]:
    """(where, record) for a JSON array of objects or for JSON lines."""
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataFileError(f"{path}: not valid JSON ({exc})") from None
        for i, record in enumerate(records):
            yield f"record {i + 1}", record
        return
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"line {lineno}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFileError(f"{path}: line {lineno} is not valid JSON ({exc.msg})") from None


def _decode_record(record: Any, where: str, path: Path) -> tuple[int, bytes]:
    if not isinstance(record, dict) or "label" not in record or "data" not in record:
        raise DataFileError(f"{path}: {where} is not an object with 'label' and 'data'")
    label, encoded = record["label"], record["data"]
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise DataFileError(f"{path}: {where} has label {label!r}; expected a digit 0 to 9")
    if not isinstance(encoded, str):
        raise DataFileError(f"{path}: {where} has 'data' of type {type(encoded).__name__}; expected a base64 string")
    try:
        pixels = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DataFileError(f"{path}: {where} has 'data' that is not valid base64 ({exc})") from None
    if len(pixels) != _MNIST_PIXELS:
        raise DataFileError(
            f"{path}: {where} has 'data' that decodes to {len(pixels)} bytes; expected {_MNIST_PIXELS} (28x28 pixels)"
        )
    return label, pixels


def load_mnist_json(path: str | os.PathLike) -> Dataset:
    """Digits from JSON lines (``digits.base64.json``): ``{"label": 7, "data": "<base64>"}``.

    Each ``data`` decodes to 784 bytes, the 28x28 pixels row by row. A JSON array of the same
    objects is read too.

    Parameters
    ----------
    path : path-like
        Gzipped or not.

    Returns
    -------
    Dataset
        ``data`` (n, 784) float32 in [0, 1], ``target`` int64, ``images`` (n, 28, 28).
    """
    path = Path(path)
    raw = _read_bytes(path, "a JSON file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    labels, pixels = [], []
    for where, record in _json_records(text, path):
        label, data = _decode_record(record, where, path)
        labels.append(label)
        pixels.append(data)
    if not labels:
        raise DataFileError(f"{path}: holds no records; expected JSON lines with 'label' and 'data'")
    images = np.frombuffer(b"".join(pixels), dtype=np.uint8).reshape(len(labels), 28, 28)
    return image_dataset(images, np.asarray(labels, dtype=np.int64), "mnist-json", f"digits from {path}")


def _is_file(path: Path) -> bool:
    """Whether ``path`` is a file; a path that cannot be looked at (a name too long) is an error naming it."""
    try:
        return path.is_file()
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _labels_beside(images_path: Path) -> Path | None:
    """The labels file named like ``images_path`` (``...-images-idx3-ubyte`` -> ``...-labels-idx1-ubyte``)."""
    name = images_path.name
    if "images-idx3" not in name:
        return None
    stem = name.replace("images-idx3", "labels-idx1")
    stem = stem[: -len(".gz")] if stem.endswith(".gz") else stem
    for candidate in (stem + ".gz", stem):
        if _is_file(images_path.parent / candidate):
            return images_path.parent / candidate
    return None


def load_dataset_file(path: str | os.PathLike, split: str | None = None) -> Dataset:
    """Read a file in one of the course's dataset formats, chosen by its name.

    Parameters
    ----------
    path : path-like
        ``*.pkl``/``*.pickle`` (see :func:`load_mnist_pickle`), ``*.json``/``*.jsonl`` (see
        :func:`load_mnist_json`), or an IDX images file such as ``t10k-images-idx3-ubyte``
        (the labels file beside it, named ``...-labels-idx1-ubyte``, is read too when there);
        each optionally ``.gz``.
    split : {"train", "valid", "test"}, optional
        For a pickle: which part of the tuple (default ``"train"``).

    Returns
    -------
    Dataset
    """
    path = Path(path)
    name = path.name.lower()
    base = name[: -len(".gz")] if name.endswith(".gz") else name
    if not _is_file(path):
        raise DatasetNotFoundError(f"{path}: no such file")
    if base.endswith((".pkl", ".pickle")):
        return load_mnist_pickle(path, split or "train")
    if split is not None:
        raise InputError(f"split={split!r} applies only to .pkl files; {path.name} has no splits")
    if base.endswith((".json", ".jsonl")):
        return load_mnist_json(path)
    if "idx" in base:
        labels_path = _labels_beside(path)
        if labels_path is None:
            images = read_idx(path, ndim=3)
            _check_images(images, path)
            labels = None
        else:
            images, labels = _read_mnist_pair(path, labels_path)
        return image_dataset(images, labels, path.name, f"IDX images from {path}")
    raise InputError(
        f"{path}: unknown dataset format; expected .pkl(.gz), .json(l)(.gz) or an IDX file (*-idx3-ubyte[.gz])"
    )
