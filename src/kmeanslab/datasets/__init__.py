"""Datasets: the course's teaching data, bundled, generated or fetched, each as a :class:`Dataset`.

- :func:`load_faithful` (bundled), :func:`make_blobs` and :func:`train_val_split` (synthetic data
  for the elbow experiments), :func:`load_digits` (ships with scikit-learn).
- :func:`load_mnist` reads the original IDX files; :func:`fetch_mnist` downloads and verifies them.
  :func:`load_mnist_pickle` and :func:`load_mnist_json` read the two other formats the course
  notebooks used (``mnist.pkl.gz`` and base64 JSON lines).

Where the MNIST files live: the ``data_home`` argument, else ``$KMEANSLAB_DATA``, else the user
cache directory (platformdirs); inside it, files are looked for in ``mnist/`` and then at the
top level, each gzipped or not.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import gzip
import hashlib
import importlib
import json
import os
import pickle
import shlex
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ChecksumError, DataFileError, DatasetNotFoundError, InputError
from ..io import atomic_write
from ..validation import check_choice, check_int

__all__ = [
    "Dataset",
    "DatasetStatus",
    "load_faithful",
    "make_blobs",
    "train_val_split",
    "load_digits",
    "load_mnist",
    "load_mnist_pickle",
    "load_mnist_json",
    "load_dataset_file",
    "fetch_mnist",
    "read_idx",
    "get_data_home",
    "find_mnist_files",
    "list_datasets",
    "DATA_ENV",
    "MIRROR_ENV",
    "MNIST_FILES",
    "MNIST_MD5",
    "MNIST_MIRRORS",
    "FETCH_COMMAND",
]

DATA_ENV = "KMEANSLAB_DATA"
MIRROR_ENV = "KMEANSLAB_MNIST_MIRROR"
FETCH_COMMAND = "kmeanslab data fetch mnist"

# (images, labels) of each split, under their original names.
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# The checksums the original distribution publishes for the gzipped files.
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaceb6f3df48bc1b2d9cd1",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
# Tried in order. yann.lecun.com itself no longer serves the files reliably; these two copies
# (used by torchvision and TensorFlow) serve the originals byte for byte.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

_MNIST_PIXELS = 784
_PICKLE_SPLITS = ("train", "valid", "test")
_DOWNLOAD_CHUNK = 1 << 16
_DOWNLOAD_TIMEOUT_S = 60


# --------------------------------------------------------------------------- the container


@dataclass
class Dataset:
    """A dataset: ``data`` (n, d), optional ``target`` (n,), ``images`` and ``feature_names``.

    Unpacks as ``X, y = dataset``.

    Attributes
    ----------
    data : ndarray of shape (n_samples, n_features)
    target : ndarray of shape (n_samples,) or None
        The true class of each sample, where there is one.
    images : ndarray of shape (n_samples, height, width) or None
        The samples as images, for the image datasets.
    feature_names : list of str
    name : str
    description : str
    """

    data: np.ndarray
    target: np.ndarray | None = None
    images: np.ndarray | None = None
    feature_names: list[str] = field(default_factory=list)
    name: str = ""
    description: str = ""

    def __iter__(self):
        return iter((self.data, self.target))


def _pixel_names(height: int, width: int) -> list[str]:
    return [f"pixel_{r}_{c}" for r in range(height) for c in range(width)]


def _as_float_pixels(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in [0, 1]."""
    out = pixels.astype(np.float32)
    np.divide(out, np.float32(255), out=out)
    return out


def _image_dataset(pixels: np.ndarray, labels: np.ndarray | None, name: str, description: str) -> Dataset:
    """A Dataset from uint8 images of shape (n, h, w) and their labels (if known)."""
    n, height, width = pixels.shape
    data = _as_float_pixels(pixels.reshape(n, height * width))
    return Dataset(
        data=data,
        target=None if labels is None else labels.astype(np.int64),
        images=data.reshape(n, height, width),  # a view: no second copy of the pixels
        feature_names=_pixel_names(height, width),
        name=name,
        description=description,
    )


# --------------------------------------------------------------------------- small datasets


def load_faithful() -> Dataset:
    """Old Faithful geyser eruptions: 272 rows of (eruptions, waiting), in minutes.

    The data of R's ``datasets::faithful`` as printed in the course notes; bundled.

    Returns
    -------
    Dataset
        ``data`` of shape (272, 2), float64; no target.
    """
    with resources.files("kmeanslab").joinpath("data/faithful.csv").open("r", encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        data = np.loadtxt(f, delimiter=",", dtype=np.float64)
    return Dataset(
        data=data,
        feature_names=header,
        name="faithful",
        description="Old Faithful geyser: eruption duration and waiting time to the next eruption (minutes).",
    )


def make_blobs(
    n: int = 500,
    centers: int | Any = 3,
    std: float | Sequence[float] = 1.0,
    seed: int | np.random.RandomState | None = None,
    *,
    n_features: int = 2,
) -> Dataset:
    """Isotropic Gaussian blobs (scikit-learn's generator), for the elbow experiments.

    Parameters
    ----------
    n : int, default=500
        Number of points, shared as equally as possible between the blobs.
    centers : int or array-like of shape (n_centers, n_features), default=3
        The number of blobs (centres drawn uniformly in [-10, 10]^d) or their centres.
    std : float or sequence of float, default=1.0
        The standard deviation of every blob, or one per blob.
    seed : int, RandomState or None, default=None
        The same seed gives the same points.
    n_features : int, default=2
        Dimension of the points when ``centers`` is an int.

    Returns
    -------
    Dataset
        ``data`` (n, n_features) float64 and ``target``, the blob of each point.
    """
    from sklearn.datasets import make_blobs as sk_make_blobs

    n = check_int(n, "n", min_value=1)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        centers = check_int(centers, "centers", min_value=1)
        n_features = check_int(n_features, "n_features", min_value=1)
    else:
        centers = np.asarray(centers, dtype=np.float64)
        if centers.ndim != 2 or centers.shape[0] < 1:
            raise InputError(f"centers has shape {centers.shape}; expected an int or an array (n_centers, n_features)")
        n_features = centers.shape[1]
    stds = np.atleast_1d(np.asarray(std, dtype=np.float64))
    if not np.all(np.isfinite(stds)) or np.any(stds < 0):
        raise InputError(f"std={std!r} is not valid; expected non-negative finite number(s)")
    X, y = sk_make_blobs(n_samples=n, n_features=n_features, centers=centers, cluster_std=std, random_state=seed)
    return Dataset(
        data=X,
        target=y,
        feature_names=[f"x{i}" for i in range(X.shape[1])],
        name="blobs",
        description=f"{n} points in Gaussian blobs (scikit-learn make_blobs, std={std}).",
    )


def _subset(data: np.ndarray | Dataset, index: np.ndarray) -> np.ndarray | Dataset:
    if isinstance(data, Dataset):
        return dataclasses.replace(
            data,
            data=data.data[index],
            target=None if data.target is None else data.target[index],
            images=None if data.images is None else data.images[index],
        )
    return data[index]


def train_val_split(
    data: np.ndarray | Dataset, val: float | int = 0.2, seed: int | None = None
) -> tuple[np.ndarray | Dataset, np.ndarray | Dataset]:
    """Split the rows at random into a training part and a validation part.

    Parameters
    ----------
    data : ndarray of shape (n_samples, ...) or Dataset
        With a Dataset, ``data``, ``target`` and ``images`` are split alike.
    val : float in (0, 1) or int, default=0.2
        The fraction of rows (rounded up), or the number of rows, for validation.
    seed : int or None, default=None
        The same seed gives the same split.

    Returns
    -------
    train, validation
        Of the same kind as ``data``; together they hold every row exactly once.
    """
    n = (data.data if isinstance(data, Dataset) else np.asarray(data)).shape[0]
    if isinstance(val, (float, np.floating)):
        if not 0.0 < val < 1.0:
            raise InputError(f"val={val!r} is not valid; expected a fraction in (0, 1) or a row count")
        n_val = int(np.ceil(val * n))
    else:
        n_val = check_int(val, "val", min_value=1)
    if not 1 <= n_val <= n - 1:
        raise InputError(
            f"val={val!r} gives {n_val} validation rows out of {n}; expected at least one row in each part"
        )
    order = np.random.default_rng(seed).permutation(n)
    if not isinstance(data, Dataset):
        data = np.asarray(data)
    return _subset(data, order[n_val:]), _subset(data, order[:n_val])


def load_digits(n_class: int = 10, scale: bool = False) -> Dataset:
    """scikit-learn's 8x8 handwritten digits (1797 images), as the PA2 notebook uses them.

    Parameters
    ----------
    n_class : int, default=10
        Keep the digits ``0 .. n_class - 1``.
    scale : bool, default=False
        Standardise every feature to mean 0 and variance 1 (``sklearn.preprocessing.scale``;
        constant pixels stay 0).

    Returns
    -------
    Dataset
        ``data`` (n, 64) float64, ``target``, and ``images`` (n, 8, 8): always the raw 0..16
        pixels, so that they display as digits whether or not ``data`` is scaled.
    """
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.preprocessing import scale as sk_scale

    n_class = check_int(n_class, "n_class", min_value=1)
    if n_class > 10:
        raise InputError(f"n_class={n_class} is not valid; expected an integer from 1 to 10")
    digits = sk_load_digits(n_class=n_class)
    data = sk_scale(digits.data) if scale else digits.data
    return Dataset(
        data=data,
        target=digits.target,
        images=digits.images,
        feature_names=list(digits.feature_names),
        name="digits",
        description=f"scikit-learn 8x8 digits 0-{n_class - 1}" + (", standardised" if scale else ""),
    )


# --------------------------------------------------------------------------- where the files are


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """The directory datasets are read from and fetched into.

    Parameters
    ----------
    data_home : path-like, optional
        Used when given; else ``$KMEANSLAB_DATA`` when set; else the user cache directory.

    Returns
    -------
    Path
        Not created here.
    """
    if data_home is not None:
        return Path(data_home).expanduser()
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("kmeanslab"))


def _search_dirs(home: Path) -> list[Path]:
    return [home / "mnist", home]


def _find_file(name: str, home: Path) -> Path | None:
    """The first of ``<home>/mnist/name``, ``<home>/name`` (each as named, then without .gz)."""
    plain = name[: -len(".gz")]
    for directory in _search_dirs(home):
        for candidate in (directory / name, directory / plain):
            if candidate.is_file():
                return candidate
    return None


def find_mnist_files(split: str, data_home: str | os.PathLike | None = None) -> dict[str, Path | None]:
    """Where the images and labels of an MNIST split are, or None for each one not found.

    Parameters
    ----------
    split : {"train", "test"}
    data_home : path-like, optional
        See :func:`get_data_home`.

    Returns
    -------
    dict
        ``{file name: path or None}`` for the images file, then the labels file.
    """
    split = check_choice(split, "split", tuple(MNIST_FILES))
    home = get_data_home(data_home)
    return {name: _find_file(name, home) for name in MNIST_FILES[split]}


def _fetch_hint(data_home: str | os.PathLike | None) -> str:
    if data_home is None:
        return FETCH_COMMAND
    return f"{FETCH_COMMAND} --data-home {shlex.quote(str(data_home))}"


def _not_found_message(split: str, missing: list[str], home: Path, data_home) -> str:
    where = " and ".join(str(d) for d in _search_dirs(home))
    what = ", ".join(missing)
    return (
        f"MNIST {split} data not found: no {what} (gzipped or not) in {where}; "
        f"fetch it with: {_fetch_hint(data_home)} (or load_mnist(..., download=True))"
    )


# --------------------------------------------------------------------------- reading files


def _open_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is gzip (by its magic number, whatever its name)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetNotFoundError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read ({exc.strerror})") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise DataFileError(f"{path}: truncated or corrupt gzip data ({exc}); delete it and fetch it again") from None


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
    raw = _open_bytes(path)
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
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataFileError(
            f"{path}: the header says {' x '.join(map(str, shape))} ({expected} bytes of data) "
            f"but the file has {len(raw) - header} bytes after the header"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _check_labels(labels: np.ndarray, path: Path) -> None:
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataFileError(f"{path}: has labels from {labels.min()} to {labels.max()}; expected digits 0 to 9")


def _read_mnist_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    for array, path in ((images, images_path), (labels, labels_path)):
        if array.dtype != np.uint8:
            raise DataFileError(f"{path}: holds {array.dtype} values; expected unsigned bytes (IDX type 0x08)")
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
        raise DatasetNotFoundError(_not_found_message(split, missing, home, data_home))
    images_path, labels_path = found.values()
    images, labels = _read_mnist_pair(images_path, labels_path)
    if balanced is not None:
        index = _balanced_index(labels, balanced, seed, split)
        images, labels = images[index], labels[index]
    description = f"MNIST {split} split from {images_path.parent}"
    if balanced is not None:
        description += f", {balanced} images per digit (seed={seed})"
    return _image_dataset(images, labels, f"mnist-{split}", description)


# --------------------------------------------------------------------------- the notebooks' formats


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
    try:
        with path.open("rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        opener = gzip.open if gz else open
        with opener(path, "rb") as handle:
            # encoding="latin1": the original file was pickled by Python 2.
            return _ArrayUnpickler(handle, encoding="latin1").load()
    except FileNotFoundError:
        raise DatasetNotFoundError(f"{path}: no such file") from None
    except (EOFError, OSError, zlib.error) as exc:
        raise DataFileError(f"{path}: truncated or corrupt ({exc or type(exc).__name__})") from None
    except Exception as exc:
        # (UnpicklingError, OverflowError or MemoryError for absurd lengths, struct.error, ...)
        detail = str(exc) or type(exc).__name__
        if "truncated" in detail:
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
        data = _as_float_pixels(X)
    else:
        data = np.ascontiguousarray(X, dtype=np.float32)
        if data.size and (data.min() < 0.0 or data.max() > 1.0):
            raise DataFileError(
                f"{path}: {split} pixels range from {data.min()} to {data.max()}; expected values in [0, 1]"
            )
    n = data.shape[0]
    return Dataset(
        data=data,
        target=y.astype(np.int64),
        images=data.reshape(n, 28, 28),
        feature_names=_pixel_names(28, 28),
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
    raw = _open_bytes(path)
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
    return _image_dataset(images, np.asarray(labels, dtype=np.int64), "mnist-json", f"digits from {path}")


def _labels_beside(images_path: Path) -> Path | None:
    """The labels file named like ``images_path`` (``...-images-idx3-ubyte`` -> ``...-labels-idx1-ubyte``)."""
    name = images_path.name
    if "images-idx3" not in name:
        return None
    stem = name.replace("images-idx3", "labels-idx1")
    stem = stem[: -len(".gz")] if stem.endswith(".gz") else stem
    for candidate in (stem + ".gz", stem):
        if (images_path.parent / candidate).is_file():
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
    if not path.is_file():
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
            if images.dtype != np.uint8:
                raise DataFileError(f"{path}: holds {images.dtype} values; expected unsigned bytes (IDX type 0x08)")
            labels = None
        else:
            images, labels = _read_mnist_pair(path, labels_path)
        return _image_dataset(images, labels, path.name, f"IDX images from {path}")
    raise InputError(
        f"{path}: unknown dataset format; expected .pkl(.gz), .json(l)(.gz) or an IDX file (*-idx3-ubyte[.gz])"
    )


# --------------------------------------------------------------------------- fetching


def _mirror_list(mirror: str | Sequence[str] | None) -> list[str]:
    if mirror is None:
        mirror = os.environ.get(MIRROR_ENV, "").strip() or MNIST_MIRRORS
    if isinstance(mirror, str):
        mirror = [m for m in mirror.split(",")]
    mirrors = [m.strip() for m in mirror if m.strip()]
    if not mirrors:
        raise InputError(f"mirror={mirror!r} is not valid; expected at least one URL")
    for m in mirrors:
        if urllib.parse.urlsplit(m).scheme not in ("http", "https", "file"):
            raise InputError(f"mirror {m!r} is not valid; expected an http://, https:// or file:// URL")
    return [m if m.endswith("/") else m + "/" for m in mirrors]


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _MirrorError(Exception):
    """The mirror could not deliver the file (network or HTTP error); try the next one."""


def _download(url: str, target: Path, md5: str, progress, task) -> None:
    """Stream ``url`` into ``target`` atomically; keep it only if its MD5 is ``md5``."""

    try:
        response = urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        raise _MirrorError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise _MirrorError(f"{url}: {getattr(exc, 'reason', exc)}") from None
    with response:
        total = response.headers.get("Content-Length")
        progress.reset(task, total=int(total) if total and total.isdigit() else None)
        digest = hashlib.md5(usedforsecurity=False)
        # A ChecksumError or _MirrorError raised inside atomic_write removes the temporary file,
        # so a failed download never leaves a file behind.
        with atomic_write(target, "wb") as handle:
            while True:
                try:
                    chunk = response.read(_DOWNLOAD_CHUNK)
                except OSError as exc:
                    raise _MirrorError(f"{url}: the download broke off ({exc})") from None
                if not chunk:
                    break
                digest.update(chunk)
                handle.write(chunk)
                progress.advance(task, len(chunk))
            if digest.hexdigest() != md5:
                raise ChecksumError(
                    f"{url}: MD5 {digest.hexdigest()} is not the published {md5}; the download was discarded"
                )


def _progress(enabled: bool | None):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    if enabled is None:
        enabled = console.is_terminal
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
    )


def _writable_dir(directory: Path) -> Path:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {directory} ({exc.strerror}); choose another data home") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputError(f"cannot write to {directory}; choose another data home (--data-home or ${DATA_ENV})")
    return directory


def fetch_mnist(
    data_home: str | os.PathLike | None = None,
    *,
    mirror: str | Sequence[str] | None = None,
    files: Iterable[str] | None = None,
    progress: bool | None = None,
) -> list[Path]:
    """Download the MNIST files into ``<data_home>/mnist/`` and verify each one's MD5.

    A file already there with the published checksum is not downloaded again. Each download
    goes to a temporary file that is renamed into place only when its MD5 matches, so an
    interrupted or corrupt download never leaves a file behind.

    Parameters
    ----------
    data_home : path-like, optional
        See :func:`get_data_home`.
    mirror : str or sequence of str, optional
        Base URL(s) holding the four files, tried in order; a string may list several separated
        by commas. Default: ``$KMEANSLAB_MNIST_MIRROR``, else :data:`MNIST_MIRRORS`.
    files : iterable of str, optional
        Which of the four files (names as in :data:`MNIST_MD5`); default all four.
    progress : bool, optional
        Show a progress bar on stderr; default: when stderr is a terminal.

    Returns
    -------
    list of Path
        The verified files, in the order of ``files``.

    Raises
    ------
    ChecksumError
        A mirror served a file whose MD5 is not the published one (and no mirror served a good one).
    DatasetNotFoundError
        No mirror could be reached or had the file.
    InputError
        An unknown file name or mirror URL, or a data home that cannot be written.
    """
    names = list(MNIST_MD5) if files is None else list(files)
    for name in names:
        if name not in MNIST_MD5:
            raise InputError(f"files: {name!r} is not an MNIST file; expected some of {', '.join(MNIST_MD5)}")
    mirrors = _mirror_list(mirror)
    target_dir = get_data_home(data_home) / "mnist"
    todo = [n for n in names if not ((target_dir / n).is_file() and _md5(target_dir / n) == MNIST_MD5[n])]
    if todo:
        _writable_dir(target_dir)
    with _progress(progress) as bar:
        for name in todo:
            task = bar.add_task(name, total=None)
            _fetch_one(name, mirrors, target_dir / name, bar, task)
    return [target_dir / n for n in names]


def _fetch_one(name: str, mirrors: list[str], target: Path, bar, task) -> None:
    failures: list[Exception] = []
    for base in mirrors:
        try:
            _download(base + name, target, MNIST_MD5[name], bar, task)
            return
        except (ChecksumError, _MirrorError) as exc:
            failures.append(exc)
        except OSError as exc:  # network errors are _MirrorError by now: this is the local disk
            raise InputError(
                f"cannot write {target} ({exc.strerror or exc}); choose another data home (--data-home or ${DATA_ENV})"
            ) from None
    reasons = "; ".join(str(e) for e in failures)
    if any(isinstance(e, ChecksumError) for e in failures):
        raise ChecksumError(f"{name}: no mirror served a file with the published checksum ({reasons})")
    raise DatasetNotFoundError(f"{name}: could not be downloaded ({reasons}); check the network or --mirror")


# --------------------------------------------------------------------------- what is available


@dataclass(frozen=True)
class DatasetStatus:
    """One row of ``kmeanslab data list``."""

    name: str
    available: bool
    location: str
    note: str


def _mnist_status(split: str, home: Path, data_home) -> DatasetStatus:
    found = find_mnist_files(split, home)
    missing = [name for name, path in found.items() if path is None]
    size = "60000" if split == "train" else "10000"
    if not missing:
        dirs = sorted({str(p.parent) for p in found.values() if p is not None})
        return DatasetStatus(f"mnist-{split}", True, ", ".join(dirs), f"{size} x 784, load_mnist(split={split!r})")
    where = " or ".join(str(d) for d in _search_dirs(home))
    return DatasetStatus(
        f"mnist-{split}",
        False,
        where,
        f"missing {', '.join(missing)}; fetch with: {_fetch_hint(data_home)}",
    )


def list_datasets(data_home: str | os.PathLike | None = None) -> list[DatasetStatus]:
    """Each dataset kmeanslab knows, whether it is available here, and where.

    Parameters
    ----------
    data_home : path-like, optional
        See :func:`get_data_home`.

    Returns
    -------
    list of DatasetStatus
    """
    home = get_data_home(data_home)
    faithful = resources.files("kmeanslab").joinpath("data/faithful.csv")
    digits = resources.files("sklearn.datasets").joinpath("data/digits.csv.gz")
    return [
        DatasetStatus("faithful", faithful.is_file(), str(faithful), "272 x 2, bundled, load_faithful()"),
        DatasetStatus("digits", digits.is_file(), str(digits), "1797 x 64, ships with scikit-learn, load_digits()"),
        DatasetStatus("blobs", True, "(generated)", "synthetic Gaussian blobs, make_blobs()"),
        _mnist_status("train", home, data_home),
        _mnist_status("test", home, data_home),
    ]
