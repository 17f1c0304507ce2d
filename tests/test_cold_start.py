"""benchmarks/cold_start.py on tiny settings: fresh processes, empty numba caches, its rows."""

from __future__ import annotations

import pytest

from benchmarks import cold_start
from kmeanslab._kernels import COMPILING_NOTICE
from kmeanslab.datasets import find_mnist_files


def test_without_mnist_the_row_says_why(tmp_path):
    lines: list[str] = []
    runs = cold_start.run(repeats=1, data_home=str(tmp_path), log=lines.append)
    assert len(runs) == 1
    row = runs[0]
    assert 0.0 < row["faithful_s"] < 600.0
    # Old Faithful is a small problem: its first fit runs the kernels' NumPy twins, nothing compiled.
    assert row["faithful_compile_s"] == 0.0 and not row["notice"]
    assert "mnist_first_s" not in row and row["mnist_error"]
    assert lines[0].startswith("run 1: Old Faithful first fit") and "MNIST skipped" in lines[0]
    assert lines[-1].startswith("median of 1: Old Faithful")


def test_a_first_mnist_fit_compiles_once_and_says_so():
    if None in find_mnist_files("test").values():
        pytest.skip("no MNIST test split here (set KMEANSLAB_DATA)")
    lines: list[str] = []
    # The loader finds MNIST through KMEANSLAB_DATA, which the child inherits.
    row = cold_start.run(repeats=1, data_home=None, log=lines.append, mnist_rows=300)[0]
    assert row["notice"], f"the child did not print {COMPILING_NOTICE!r}"
    assert row["mnist_first_compile_s"] > 0.0  # an empty cache: the float32 kernels compiled
    assert row["mnist_warm_compile_s"] == 0.0  # and only once
    assert row["mnist_first_s"] > row["mnist_warm_s"] > 0.0
    assert "MNIST float32 k=10 first fit" in lines[0] and "first fit = warm +" in lines[-1]
