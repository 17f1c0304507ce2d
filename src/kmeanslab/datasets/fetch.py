"""Getting MNIST: download from a mirror, verify the published MD5, keep only verified files;
and :func:`list_datasets`, which says what is here and where."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from ..errors import ChecksumError, DatasetNotFoundError, InputError
from ..io import atomic_write
from ._paths import DATA_ENV, fetch_hint, find_mnist_files, get_data_home, search_dirs

__all__ = ["MIRROR_ENV", "MNIST_MD5", "MNIST_SIZES", "MNIST_MIRRORS", "DatasetStatus", "fetch_mnist", "list_datasets"]

MIRROR_ENV = "KMEANSLAB_MNIST_MIRROR"
# The checksums the original distribution publishes for the gzipped files.
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaceb6f3df48bc1b2d9cd1",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
# Their published sizes in bytes: a download stops (and is discarded) past its file's size, so a
# mirror that serves something endless fills neither the disk nor the time.
MNIST_SIZES = {
    "train-images-idx3-ubyte.gz": 9912422,
    "train-labels-idx1-ubyte.gz": 28881,
    "t10k-images-idx3-ubyte.gz": 1648877,
    "t10k-labels-idx1-ubyte.gz": 4542,
}
# Tried in order. yann.lecun.com itself no longer serves the files reliably; these two copies
# (used by torchvision and TensorFlow) serve the originals byte for byte.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_DOWNLOAD_CHUNK = 1 << 16
_DOWNLOAD_TIMEOUT_S = 60


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


def _download(url: str, target: Path, md5: str, size: int, progress, task) -> None:
    """Stream ``url`` into ``target`` atomically; keep it only if it has ``size`` bytes and MD5 ``md5``."""

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
            received = 0
            while True:
                try:
                    chunk = response.read(min(_DOWNLOAD_CHUNK, size + 1 - received))
                except OSError as exc:
                    raise _MirrorError(f"{url}: the download broke off ({exc})") from None
                if not chunk:
                    break
                received += len(chunk)
                if received > size:
                    raise ChecksumError(
                        f"{url}: served more than the published {size} bytes, so its MD5 is not the published "
                        f"{md5}; the download was discarded"
                    )
                digest.update(chunk)
                handle.write(chunk)
                progress.advance(task, len(chunk))
            if digest.hexdigest() != md5:
                raise ChecksumError(
                    f"{url}: MD5 {digest.hexdigest()} is not the published {md5}; the download was discarded"
                )


def _progress(enabled: bool | None):
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
            _download(base + name, target, MNIST_MD5[name], MNIST_SIZES[name], bar, task)
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
    where = " or ".join(str(d) for d in search_dirs(home))
    return DatasetStatus(
        f"mnist-{split}",
        False,
        where,
        f"missing {', '.join(missing)}; fetch with: {fetch_hint(data_home)}",
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
