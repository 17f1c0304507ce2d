"""The benchmark's pieces: floors, the MNIST-60k-shift set, tables and targets, one short run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import compare as bench


def test_floor_is_the_larger_of_memory_and_compute_time():
    # MNIST-60k-shift at k=10 is memory bound: 60000*784*4 bytes / 13e9 B/s.
    assert bench.floor_seconds(60000, 784, 10) == pytest.approx(60000 * 784 * 4 / 13e9)
    # At k=256 the matrix product dominates: 2*60000*256*784 / 159e9 FLOP/s.
    assert bench.floor_seconds(60000, 784, 256) == pytest.approx(2 * 60000 * 256 * 784 / 159e9)
    assert bench.floor_seconds(10, 1, 1, read_bytes_per_s=40.0, peak_flops=1e9) == pytest.approx(1.0)


def test_shift_moves_pixels_and_fills_zeros():
    images = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3)
    right = bench._shifted(images, 0, 1)
    np.testing.assert_array_equal(right[0], [[0, 1, 2], [0, 4, 5], [0, 7, 8]])
    up = bench._shifted(images, -1, 0)
    np.testing.assert_array_equal(up[0], [[4, 5, 6], [7, 8, 9], [0, 0, 0]])
    diagonal = bench._shifted(images, 1, 1)
    np.testing.assert_array_equal(diagonal[0], [[0, 0, 0], [0, 1, 2], [0, 4, 5]])


@pytest.mark.data
def test_mnist_60k_shift_is_the_test_images_and_five_shifts(data_dir):
    X = bench.mnist_60k_shift(data_dir)
    assert X.shape == (60000, 784) and X.dtype == np.float32 and X.flags.c_contiguous
    images = bench.mnist_test_images(data_dir)
    np.testing.assert_array_equal(X[:10000], images.reshape(10000, 784))
    # The second block is every image moved one pixel to the right.
    np.testing.assert_array_equal(X[10000:20000].reshape(-1, 28, 28)[:, :, 1:], images[:, :, :-1])
    assert not X[10000:20000].reshape(-1, 28, 28)[:, :, 0].any()


def test_machine_peaks_are_plausible():
    peaks = bench.machine_peaks(repeats=1)
    assert 1e9 < peaks["peak_flops"] < 1e14
    assert 1e8 < peaks["read_bytes_per_s"] < 1e12


def _iteration_row(k, ratio, vs_floor):
    return dict(
        section="iteration",
        k=k,
        algorithm="kmeanslab lloyd",
        seconds=1.0,
        iterations=20,
        ms_per_iter=50.0,
        ratio=ratio,
        floor_ms=10.0,
        vs_floor=vs_floor,
        local_floor_ms=20.0,
        vs_local_floor=2.5,
        inertia_rel=0.0,
        agreement=1.0,
        peak_mib=3.0,
    )


def test_targets_say_met_or_missed():
    rows = [
        _iteration_row(10, 1.2, 1.4),
        _iteration_row(100, 0.9, 1.2),
        dict(section="convergence", k=100, algorithm="kmeanslab auto", ratio=3.5, inertia_rel=-1e-6),
        dict(section="convergence", k=10, algorithm="kmeanslab auto", ratio=2.5, inertia_rel=2e-3),
        dict(section="scaling", n=10, vs_linear=1.0),
        dict(section="scaling", n=100, vs_linear=1.15),
    ]
    lines = bench.check_targets(rows, dict(extra_mib=10.0, ok=True))
    assert lines[0].startswith("per-iteration k=10") and ": met;" in lines[0]
    assert "MISSED" in lines[1]
    assert lines[2].startswith("convergence k=100") and lines[2].endswith("met")
    assert lines[3].endswith("MISSED")  # fast enough, but inertia 0.2% worse
    assert lines[4].startswith("memory") and lines[4].endswith("met")
    assert lines[5] == "scaling n=100: 1.150 of linear (within 10%): MISSED"


def test_table_names_the_data_and_every_column():
    table = bench.format_table([_iteration_row(10, 1.2, 1.4)], "tiny")
    lines = table.strip().splitlines()
    assert lines[0] == "### Per iteration, full Lloyd (tiny, float32)"
    header = [c.strip() for c in lines[2].strip("|").split("|")]
    cells = [c.strip() for c in lines[4].strip("|").split("|")]
    assert len(header) == len(cells) == 13
    assert cells[:6] == ["10", "kmeanslab lloyd", "1.000", "20", "50.0", "1.20"]


@pytest.mark.data
@pytest.mark.slow
def test_quick_benchmark_runs_from_the_cli(data_dir, capsys, tmp_path):
    out = tmp_path / "bench.json"
    code = bench.main(
        [
            "--quick",
            "--sections",
            "iteration,seeding",
            "--repeats",
            "1",
            "--data-home",
            str(data_dir),
            "--json",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "### Per iteration, full Lloyd (MNIST test images, 10000, float32)" in printed
    assert "### k-means++ seeding" in printed
    import json

    result = json.loads(out.read_text())
    ours = [r for r in result["rows"] if r["algorithm"] == "kmeanslab lloyd"]
    assert [r["k"] for r in ours] == [10, 100]
    for r in ours:
        # Same initial centres, same iterations: the inertia agrees with scikit-learn's in float32.
        assert abs(r["inertia_rel"]) < 1e-4 and r["iterations"] == 5
        assert math.isfinite(r["ratio"]) and r["ratio"] > 0


def test_unknown_section_is_a_usage_error(capsys):
    assert bench.main(["--sections", "iteration,warp"]) == 2
    assert "--sections has unknown section(s) warp" in capsys.readouterr().err
