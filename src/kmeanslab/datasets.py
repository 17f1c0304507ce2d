"""Datasets: the course's teaching data, bundled or fetched, each as a :class:`Dataset`."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import numpy as np

__all__ = ["Dataset", "load_faithful"]


@dataclass
class Dataset:
    """A dataset: ``data`` (n, d), optional ``target`` (n,), ``images`` and ``feature_names``.

    Unpacks as ``X, y = dataset``.
    """

    data: np.ndarray
    target: np.ndarray | None = None
    images: np.ndarray | None = None
    feature_names: list[str] = field(default_factory=list)
    name: str = ""
    description: str = ""

    def __iter__(self):
        return iter((self.data, self.target))


def load_faithful() -> Dataset:
    """Old Faithful geyser eruptions: 272 rows of (eruptions, waiting), in minutes.

    The data of R's ``datasets::faithful`` as printed in the course notes; bundled.
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
