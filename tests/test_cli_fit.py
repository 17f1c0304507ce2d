"""``kmeanslab fit`` end to end: summary, output files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kmeanslab.cli import main

FAITHFUL_INERTIA = 8901.7687209


def test_fit_bundled_faithful_prints_summary(capsys):
    assert main(["fit", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "Old Faithful" in out
    assert "inertia                8901.77" in out
    assert "cluster sizes          [" in out and "100" in out and "172" in out


def test_fit_writes_outputs(tmp_path, capsys):
    out_dir = tmp_path / "run"
    assert main(["fit", "-k", "2", "--seed", "3", "--out", str(out_dir)]) == 0
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["k"] == 2 and summary["n_samples"] == 272
    assert summary["inertia"] == pytest.approx(FAITHFUL_INERTIA, abs=1e-6)
    assert summary["mean_squared_distance"] == pytest.approx(summary["inertia"] / 272, rel=1e-12)
    assert sorted(summary["cluster_sizes"]) == [100, 172]
    centers = np.loadtxt(out_dir / "centers.csv", delimiter=",", skiprows=1)
    assert centers.shape == (2, 2)
    assert (out_dir / "centers.csv").read_text().splitlines()[0] == "eruptions,waiting"
    # labels.csv: the row number (1 for the first data row), then the label.
    assert (out_dir / "labels.csv").read_text().splitlines()[0] == "row,label"
    rows, labels = np.loadtxt(out_dir / "labels.csv", delimiter=",", skiprows=1, dtype=int).T
    assert labels.shape == (272,) and set(labels) == {0, 1}
    np.testing.assert_array_equal(rows, np.arange(1, 273))
    # No temporary files left behind.
    assert not [p for p in out_dir.iterdir() if p.name.startswith(".")]


def test_fit_csv_without_header_and_npy(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 0.1, (30, 3)), rng.normal(5, 0.1, (30, 3))])
    csv_path = tmp_path / "x.csv"
    np.savetxt(csv_path, X, delimiter=",")
    npy_path = tmp_path / "x.npy"
    np.save(npy_path, X)
    assert main(["fit", str(csv_path), "-k", "2"]) == 0
    first = capsys.readouterr().out
    assert main(["fit", str(npy_path), "-k", "2"]) == 0
    second = capsys.readouterr().out
    assert "(60 x 3)" in first and "(60 x 3)" in second
    assert "[30, 30]" in first and "[30, 30]" in second


@pytest.mark.parametrize(
    "args, message",
    [
        (["fit", "-k", "300"], "n_clusters=300"),
        (["fit", "missing.csv"], "does not exist"),
    ],
)
def test_fit_bad_input_exit_code_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_fit_bad_k_argument_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["fit", "-k", "0"])
    assert exc.value.code == 2
    assert "expected an integer >= 1" in capsys.readouterr().err


def test_fit_out_is_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("keep me")
    assert main(["fit", "-k", "2", "--out", str(target)]) == 2
    assert "is a file" in capsys.readouterr().err
    assert target.read_text() == "keep me"


def test_console_script_runs(tmp_path):
    exe = Path(sys.executable).with_name("kmeanslab")
    if not exe.exists():
        pytest.skip(f"console script not installed next to {sys.executable}")
    proc = subprocess.run(
        [str(exe), "fit", "-k", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "8901.77" in proc.stdout
    bad = subprocess.run([str(exe), "fit", str(tmp_path / "nope.csv")], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
