"""The container every loader returns: :class:`Dataset`, and the helpers image datasets share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Dataset"]


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


def pixel_names(height: int, width: int) -> list[str]:
    return [f"pixel_{r}_{c}" for r in range(height) for c in range(width)]


def as_float_pixels(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in [0, 1]."""
    out = pixels.astype(np.float32)
    np.divide(out, np.float32(255), out=out)
    return out


def image_dataset(pixels: np.ndarray, labels: np.ndarray | None, name: str, description: str) -> Dataset:
    """A Dataset from uint8 images of shape (n, h, w) and their labels (if known)."""
    n, height, width = pixels.shape
    data = as_float_pixels(pixels.reshape(n, height * width))
    return Dataset(
        data=data,
        target=None if labels is None else labels.astype(np.int64),
        images=data.reshape(n, height, width),  # a view: no second copy of the pixels
        feature_names=pixel_names(height, width),
        name=name,
        description=description,
    )
