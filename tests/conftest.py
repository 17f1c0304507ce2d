"""Shared fixtures. Real data comes from $KMEANSLAB_DATA (``make test`` sets it to ../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


def _data_dir() -> Path | None:
    value = os.environ.get("KMEANSLAB_DATA")
    return Path(value) if value and Path(value).is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real-data directory; tests that need it are skipped, with the reason, without it."""
    path = _data_dir()
    if path is None:
        pytest.skip("real data not available: set KMEANSLAB_DATA to a directory like ../shared/data")
    return path


@pytest.fixture(scope="session")
def mnist_dir(data_dir: Path) -> Path:
    """``$KMEANSLAB_DATA/mnist`` with the official test split."""
    path = data_dir / "mnist"
    if not (path / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST test images not found in {path}")
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
