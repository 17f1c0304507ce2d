"""Where dataset files live: the data home, and the search for the MNIST files inside it.

The data home is the ``data_home`` argument, else ``$KMEANSLAB_DATA``, else the user cache
directory (platformdirs); inside it, files are looked for in ``mnist/`` and then at the top
level, each gzipped or not.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import platformdirs

from ..validation import check_choice

__all__ = [
    "DATA_ENV",
    "FETCH_COMMAND",
    "MNIST_FILES",
    "get_data_home",
    "data_home_origin",
    "elsewhere_hint",
    "find_mnist_files",
]

DATA_ENV = "KMEANSLAB_DATA"
FETCH_COMMAND = "kmeanslab data fetch mnist"

# (images, labels) of each split, under their original names.
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


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
    return Path(platformdirs.user_cache_dir("kmeanslab"))


def data_home_origin(data_home: str | os.PathLike | None = None) -> str:
    """Where :func:`get_data_home` took the directory from, in words."""
    if data_home is not None:
        return "given with --data-home or data_home="
    if os.environ.get(DATA_ENV, "").strip():
        return f"set by ${DATA_ENV}"
    return f"the user cache directory, the default when neither --data-home nor ${DATA_ENV} is set"


def elsewhere_hint() -> str:
    """How to make kmeanslab look for datasets in another directory."""
    return f"to look elsewhere, give --data-home DIR to the command (data_home= in Python) or set {DATA_ENV}=DIR"


def search_dirs(home: Path) -> list[Path]:
    return [home / "mnist", home]


def _find_file(name: str, home: Path) -> Path | None:
    """The first of ``<home>/mnist/name``, ``<home>/name`` (each as named, then without .gz)."""
    plain = name[: -len(".gz")]
    for directory in search_dirs(home):
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


def fetch_hint(data_home: str | os.PathLike | None) -> str:
    if data_home is None:
        return FETCH_COMMAND
    return f"{FETCH_COMMAND} --data-home {shlex.quote(str(data_home))}"


def not_found_message(split: str, missing: list[str], home: Path, data_home) -> str:
    where = " and ".join(str(d) for d in search_dirs(home))
    what = ", ".join(missing)
    return (
        f"MNIST {split} data not found: no {what} (gzipped or not) in {where} (the data home, "
        f"{data_home_origin(data_home)}); fetch it with: {fetch_hint(data_home)} "
        f"(or load_mnist(..., download=True)), or, {elsewhere_hint()}"
    )
