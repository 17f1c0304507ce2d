"""The course's small teaching datasets: Old Faithful (bundled) and scikit-learn's 8x8 digits."""

from __future__ import annotations

from importlib import resources

import numpy as np
from sklearn.datasets import load_digits as sk_load_digits
from sklearn.preprocessing import scale as sk_scale

from ..errors import InputError
from ..validation import check_int
from ._base import Dataset

__all__ = ["load_faithful", "load_digits"]


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
