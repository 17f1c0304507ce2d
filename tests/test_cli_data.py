"""``kmeanslab data`` and ``kmeanslab predict`` end to end, and bad data files through the CLI."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kmeanslab
from _datafiles import base64_record, fake_mnist, idx_bytes, serve_directory, write_json_lines, write_mnist_split
from kmeanslab.cli import build_parser, main
from kmeanslab.datasets import MNIST_MD5, load_faithful

KMEANSLAB = Path(sys.executable).with_name("kmeanslab")


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("KMEANSLAB_DATA", raising=False)
    monkeypatch.delenv("KMEANSLAB_MNIST_MIRROR", raising=False)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


def _fails_cleanly(capsys, argv, *fragments) -> str:
    """Run the CLI, expect exit code 2, nothing on stdout and one line on stderr with ``fragments``."""
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kmeanslab: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --------------------------------------------------------------------------- data list / show


def test_data_list_real(capsys, mnist_dir):
    assert main(["data", "list", "--data-home", str(mnist_dir.parent)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"data home: {mnist_dir.parent}"
    rows = {line.split()[0]: line for line in out[1:] if line.startswith("  ")}
    assert list(rows) == ["faithful", "digits", "blobs", "mnist-train", "mnist-test"]
    # Then where kmeanslab looks, and how to point it elsewhere.
    home = mnist_dir.parent
    assert out[6:] == [
        "The data home is given with --data-home or data_home=.",
        f"MNIST's files are looked for in {home / 'mnist'}, then in {home}.",
        "To look elsewhere, give --data-home DIR to the command (data_home= in Python) or set KMEANSLAB_DATA=DIR.",
    ]
    assert rows["mnist-test"].split()[1:3] == ["available", str(mnist_dir)]
    assert rows["mnist-train"].split()[1] == "missing"
    assert "train-images-idx3-ubyte.gz" in rows["mnist-train"]
    assert f"kmeanslab data fetch mnist --data-home {mnist_dir.parent}" in rows["mnist-train"]


def test_data_list_reads_the_environment_variable(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("KMEANSLAB_DATA", str(tmp_path))
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert f"data home: {tmp_path}\n" in out
    assert "mnist-test   missing" in out and "(missing t10k-images-idx3-ubyte.gz, t10k-labels" in out
    assert "--data-home" not in out  # the plain command fetches into $KMEANSLAB_DATA
    assert "The data home is set by $KMEANSLAB_DATA." in out
    assert "To look elsewhere, set KMEANSLAB_DATA to another directory." in out


def test_data_list_and_not_found_say_where_and_how_to_look_elsewhere(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("KMEANSLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "The data home is the user cache directory, the default when neither --data-home nor $KMEANSLAB_DATA" in out
    assert "give --data-home DIR to the command (data_home= in Python) or set KMEANSLAB_DATA=DIR" in out
    empty = tmp_path / "empty"
    for argv in (
        ["classify", "mnist", "--data-home", str(empty)],
        ["data", "show", "mnist", "--data-home", str(empty)],
    ):
        _fails_cleanly(
            capsys,
            argv,
            f"in {empty / 'mnist'} and {empty} (the data home, given with --data-home or data_home=)",
            "fetch it with: kmeanslab data fetch mnist",
            "or set KMEANSLAB_DATA=DIR",
        )


def test_data_show_real_mnist(capsys, mnist_dir):
    assert main(["data", "show", "mnist", "--split", "test", "--data-home", str(mnist_dir.parent)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "mnist-test: 10000 x 784 float32, values 0 to 1"
    assert out[2] == "  images 28 x 28"
    assert out[3] == ("  labels 0: 980, 1: 1135, 2: 1032, 3: 1010, 4: 982, 5: 892, 6: 958, 7: 1028, 8: 974, 9: 1009")


def test_data_show_mnist_train_missing(capsys, mnist_dir, monkeypatch):
    monkeypatch.setenv("KMEANSLAB_DATA", str(mnist_dir.parent))
    _fails_cleanly(
        capsys,
        ["data", "show", "mnist"],
        "MNIST train data not found",
        "train-images-idx3-ubyte.gz",
        str(mnist_dir),
        "fetch it with: kmeanslab data fetch mnist",
    )


def test_data_show_files(capsys, tmp_path):
    images, labels = fake_mnist(20, seed=0)
    path = write_json_lines(tmp_path / "digits.base64.json", images, labels)
    assert main(["data", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mnist-json: 20 x 784 float32")
    assert "labels 0: 2, 1: 2," in out
    assert main(["data", "show", "digits"]) == 0
    assert capsys.readouterr().out.startswith("digits: 1797 x 64 float64, values 0 to 16")


# --------------------------------------------------------------------------- bad data files through the CLI


def _gz(tmp_path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(gzip.compress(data))
    return path


def test_cli_truncated_gz(capsys, tmp_path, mnist_dir):
    data = (mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes()
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(data[: len(data) // 3])
    _fails_cleanly(capsys, ["data", "show", str(path)], f"{path}: truncated or corrupt gzip data")


def test_cli_corrupt_gz(capsys, tmp_path, mnist_dir):
    data = bytearray((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    data[-8] ^= 0xFF
    images, _ = fake_mnist(10000, seed=0)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(images))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(bytes(data))
    _fails_cleanly(
        capsys,
        ["data", "show", str(tmp_path / "t10k-images-idx3-ubyte")],
        f"{tmp_path / 't10k-labels-idx1-ubyte.gz'}: truncated or corrupt gzip data",
    )


def test_cli_idx_wrong_magic_and_sizes(capsys, tmp_path):
    images, _ = fake_mnist(3, seed=0)
    magic = _gz(tmp_path, "a-images-idx3-ubyte.gz", b"\x00\x01" + idx_bytes(images)[2:])
    _fails_cleanly(capsys, ["data", "show", str(magic)], f"{magic}: wrong magic number 0x00010803")
    short = _gz(tmp_path, "b-images-idx3-ubyte.gz", idx_bytes(images)[:-1])
    _fails_cleanly(
        capsys,
        ["data", "show", str(short)],
        f"{short}: the header says 3 x 28 x 28 (2352 bytes of data) but the file has 2351 bytes after the header",
    )


def test_cli_label_count_differs(capsys, tmp_path):
    images, labels = fake_mnist(12, seed=0)
    write_mnist_split(tmp_path / "mnist", "test", images, labels[:11])
    _fails_cleanly(
        capsys,
        ["data", "show", "mnist", "--split", "test", "--data-home", str(tmp_path)],
        "has 11 labels but",
        "has 12 images; expected one label per image",
    )


def test_cli_base64_not_784_bytes(capsys, tmp_path):
    path = tmp_path / "digits.base64.json"
    path.write_text(base64_record(4, bytes(784)) + "\n" + base64_record(4, bytes(700)) + "\n")
    _fails_cleanly(
        capsys,
        ["data", "show", str(path)],
        f"{path}: line 2 has 'data' that decodes to 700 bytes; expected 784 (28x28 pixels)",
    )


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty.csv: the file is empty"),
        ("a,b\n1,2\n3,4,5\n", "empty.csv: line 3 has 3 fields but line 1 has 2"),
    ],
)
def test_cli_fit_and_predict_on_empty_or_ragged_csv(capsys, tmp_path, content, message):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    out_dir = tmp_path / "run"
    _fails_cleanly(capsys, ["fit", str(path), "-k", "2", "--out", str(out_dir)], message)
    assert not out_dir.exists() or list(out_dir.iterdir()) == []
    model = kmeanslab.KMeans(n_clusters=2, random_state=0).fit(load_faithful().data).save(tmp_path / "m.npz")
    labels = tmp_path / "labels.csv"
    _fails_cleanly(capsys, ["predict", str(model), str(path), "--out", str(labels)], message)
    assert not labels.exists()


# --------------------------------------------------------------------------- predict


@pytest.fixture
def fitted_run(tmp_path, capsys):
    """``kmeanslab fit --out`` on Old Faithful: the directory it wrote."""
    out_dir = tmp_path / "run"
    assert main(["fit", "-k", "2", "--seed", "0", "--out", str(out_dir)]) == 0
    capsys.readouterr()
    return out_dir


def test_fit_out_writes_a_model_that_predict_uses(fitted_run, tmp_path, capsys, data_dir):
    model_path = fitted_run / "model.npz"
    assert model_path.is_file()
    fit_labels = np.loadtxt(fitted_run / "labels.csv", delimiter=",", skiprows=1, dtype=int)[:, 1]
    model = kmeanslab.load(model_path)
    summary = json.loads((fitted_run / "summary.json").read_text())
    assert model.inertia_ == summary["inertia"]
    np.testing.assert_array_equal(
        model.cluster_centers_, np.loadtxt(fitted_run / "centers.csv", delimiter=",", skiprows=1)
    )
    labels_path = tmp_path / "new-labels.csv"
    assert main(["predict", str(model_path), str(data_dir / "faithful.csv"), "--out", str(labels_path)]) == 0
    out = capsys.readouterr().out
    assert "(272 x 2)" in out and f"wrote {labels_path}" in out
    assert sorted(int(s) for s in out.split("cluster sizes")[1].split("]")[0].strip(" [").split(",")) == [100, 172]
    assert labels_path.read_text() == (fitted_run / "labels.csv").read_text()
    assert np.array_equal(np.loadtxt(labels_path, delimiter=",", skiprows=1, dtype=int)[:, 1], fit_labels)


def test_predict_to_stdout_with_columns(fitted_run, tmp_path, capsys):
    data = tmp_path / "new.csv"
    data.write_text("id,waiting,eruptions\n1,80,4.5\n2,50,1.7\n3,79,3.6\n")
    assert main(["predict", str(fitted_run / "model.npz"), str(data), "--columns", "eruptions,waiting"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "row,label" and len(out) == 4
    assert [line.split(",")[0] for line in out[1:]] == ["1", "2", "3"]
    long_eruption = int(out[1].split(",")[1])
    assert [int(line.split(",")[1]) for line in out[1:]] == [long_eruption, 1 - long_eruption, long_eruption]


def test_predict_errors(fitted_run, tmp_path, capsys):
    model = fitted_run / "model.npz"
    three = tmp_path / "three.csv"
    three.write_text("1,2,3\n4,5,6\n")
    _fails_cleanly(capsys, ["predict", str(model), str(three)], "X has 3 features, but KMeans is expecting 2")
    _fails_cleanly(
        capsys,
        ["predict", str(model), str(three), "--out", str(tmp_path / "no" / "labels.csv")],
        "the directory",
        "does not exist",
    )
    _fails_cleanly(capsys, ["predict", str(tmp_path / "none.npz"), str(three)], "none.npz: no such model file")


def test_predict_with_a_model_of_unknown_version(fitted_run, tmp_path, capsys):
    model = fitted_run / "model.npz"
    with np.load(model, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays["__kmeanslab__"]))
    meta["format_version"] = 2
    arrays["__kmeanslab__"] = np.array(json.dumps(meta))
    np.savez(model, **arrays)
    labels = tmp_path / "labels.csv"
    _fails_cleanly(
        capsys,
        ["predict", str(model), str(fitted_run / "centers.csv"), "--out", str(labels)],
        f"{model}: model format version 2 was written by a newer kmeanslab",
    )
    assert not labels.exists()


def test_predict_console_script(fitted_run, tmp_path):
    """The installed ``kmeanslab`` command, as a user runs it."""
    data = tmp_path / "x.npy"
    np.save(data, np.array([[4.5, 80.0], [1.7, 50.0]]))
    done = subprocess.run(
        [str(KMEANSLAB), "predict", str(fitted_run / "model.npz"), str(data)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    labels = done.stdout.split()
    assert labels[0] == "row,label" and labels[1:] in (["1,0", "2,1"], ["1,1", "2,0"])


# --------------------------------------------------------------------------- data fetch


@pytest.fixture
def mirror(mnist_dir):
    with serve_directory(mnist_dir) as (url, requests):
        yield url, requests


def test_data_fetch_mnist_test_split(capsys, tmp_path, mirror, mnist_dir):
    url, requests = mirror
    argv = ["data", "fetch", "mnist", "--split", "test", "--mirror", url, "--data-home", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"verified {tmp_path / 'mnist' / n}" for n in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    ]
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert (tmp_path / "mnist" / name).read_bytes() == (mnist_dir / name).read_bytes()
    assert main(["data", "show", "mnist", "--split", "test", "--data-home", str(tmp_path)]) == 0
    assert "labels 0: 980, 1: 1135" in capsys.readouterr().out


def test_data_fetch_mirror_from_the_environment(capsys, tmp_path, mirror, monkeypatch):
    url, requests = mirror
    monkeypatch.setenv("KMEANSLAB_MNIST_MIRROR", url)
    monkeypatch.setenv("KMEANSLAB_DATA", str(tmp_path))
    assert main(["data", "fetch", "mnist", "--split", "test"]) == 0
    assert sorted(requests) == ["/t10k-images-idx3-ubyte.gz", "/t10k-labels-idx1-ubyte.gz"]


def test_data_fetch_bad_checksum(capsys, tmp_path, mnist_dir):
    served = tmp_path / "served"
    served.mkdir()
    (served / "t10k-labels-idx1-ubyte.gz").write_bytes((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes() + b"\0")
    (served / "t10k-images-idx3-ubyte.gz").write_bytes((mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes())
    home = tmp_path / "home"
    with serve_directory(served) as (url, _):
        _fails_cleanly(
            capsys,
            ["data", "fetch", "mnist", "--split", "test", "--mirror", url, "--data-home", str(home)],
            "t10k-labels-idx1-ubyte.gz",
            "is not the published " + MNIST_MD5["t10k-labels-idx1-ubyte.gz"],
        )
    # The images were fine and are kept; the labels with the wrong checksum are not.
    assert sorted(p.name for p in (home / "mnist").iterdir()) == ["t10k-images-idx3-ubyte.gz"]


def test_data_fetch_train_images_absent_from_the_mirror(capsys, tmp_path, mirror):
    url, _ = mirror
    _fails_cleanly(
        capsys,
        ["data", "fetch", "mnist", "--mirror", url, "--data-home", str(tmp_path)],
        "train-images-idx3-ubyte.gz: could not be downloaded",
        "HTTP 404",
    )
    assert not (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["elbow", "mnist"],
        ["classify", "mnist"],
        ["compare-inits", "mnist"],
        ["choose-k", "mnist"],
        ["report", "mnist", "--out", "r"],
        ["demo"],
        ["data", "list"],
        ["data", "show", "mnist"],
        ["data", "fetch", "mnist"],
    ],
)
def test_every_command_that_reads_datasets_takes_data_home(argv):
    args = build_parser().parse_args([*argv, "--data-home", "/some/where"])
    assert args.data_home == "/some/where"
