"""kmeanslab.datasets: every loader on real files and on small files written here; fetching."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import sklearn.datasets
import sklearn.preprocessing

from _datafiles import (
    base64_record,
    fake_mnist,
    idx_bytes,
    serve_directory,
    write_idx,
    write_json_lines,
    write_mnist_split,
    write_pickle,
)
from kmeanslab import datasets
from kmeanslab.datasets import (
    MNIST_MD5,
    Dataset,
    fetch_mnist,
    load_dataset_file,
    load_digits,
    load_faithful,
    load_mnist,
    load_mnist_json,
    load_mnist_pickle,
    make_blobs,
    read_idx,
    train_val_split,
)
from kmeanslab.errors import ChecksumError, DataFileError, DatasetNotFoundError, InputError

# Digit counts of the official MNIST splits (the test split's are asserted on the real files).
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
# Sum of the 7,840,000 uint8 pixels of t10k-images-idx3-ubyte.
MNIST_TEST_PIXEL_SUM = 264923200
TEST_FILES = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    """Tests choose their data home and mirror explicitly; no proxy may divert loopback traffic."""
    monkeypatch.delenv("KMEANSLAB_DATA", raising=False)
    monkeypatch.delenv("KMEANSLAB_MNIST_MIRROR", raising=False)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------- small datasets


def test_faithful_matches_the_real_csv(data_dir):
    ds = load_faithful()
    expected = np.loadtxt(data_dir / "faithful.csv", delimiter=",", skiprows=1)
    assert ds.data.shape == (272, 2) and ds.data.dtype == np.float64
    np.testing.assert_array_equal(ds.data, expected)
    assert ds.feature_names == ["eruptions", "waiting"]
    X, y = ds
    assert X is ds.data and y is None


def test_make_blobs_is_sklearns_generator():
    ds = make_blobs(n=301, centers=4, std=0.5, seed=7)
    X, y = sklearn.datasets.make_blobs(n_samples=301, centers=4, cluster_std=0.5, random_state=7)
    np.testing.assert_array_equal(ds.data, X)
    np.testing.assert_array_equal(ds.target, y)
    assert np.bincount(ds.target).tolist() == [76, 75, 75, 75]
    assert ds.feature_names == ["x0", "x1"]
    assert not np.array_equal(make_blobs(n=301, centers=4, std=0.5, seed=8).data, X)


def test_make_blobs_given_centers_and_per_blob_std():
    centers = np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0]])
    ds = make_blobs(n=200, centers=centers, std=[0.1, 2.0], seed=0)
    assert ds.data.shape == (200, 3)
    spread = [ds.data[ds.target == j].std(axis=0).mean() for j in (0, 1)]
    assert spread[0] < 0.2 < 1.0 < spread[1]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0), "n=0"),
        (dict(centers=0), "centers=0"),
        (dict(std=-1.0), "std=-1.0"),
        (dict(centers=[1.0, 2.0]), "centers has shape (2,)"),
    ],
)
def test_make_blobs_rejects_bad_arguments(kwargs, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_blobs(**kwargs)


def test_train_val_split_of_an_array_covers_every_row_once():
    X = np.arange(50, dtype=float).reshape(25, 2)
    train, val = train_val_split(X, val=0.2, seed=3)
    assert train.shape == (20, 2) and val.shape == (5, 2)
    together = np.concatenate([train, val])
    np.testing.assert_array_equal(np.sort(together[:, 0]), X[:, 0])
    again = train_val_split(X, val=0.2, seed=3)
    np.testing.assert_array_equal(again[1], val)
    assert not np.array_equal(train_val_split(X, val=0.2, seed=4)[1], val)
    # A fraction is rounded up; an int is a row count.
    assert train_val_split(X, val=0.21, seed=0)[1].shape[0] == 6
    assert train_val_split(X, val=7, seed=0)[1].shape[0] == 7


def test_train_val_split_of_a_dataset_keeps_rows_together():
    ds = load_digits(n_class=3)
    train, val = train_val_split(ds, val=0.25, seed=0)
    assert isinstance(train, Dataset) and isinstance(val, Dataset)
    assert train.data.shape[0] + val.data.shape[0] == 537 and val.data.shape[0] == 135
    for part in (train, val):
        np.testing.assert_array_equal(part.images.reshape(-1, 64), part.data)
        # Each row's label is still the label of that image in the full set.
        full_index = [int(np.flatnonzero((ds.data == row).all(axis=1))[0]) for row in part.data[:20]]
        np.testing.assert_array_equal(ds.target[full_index], part.target[:20])


@pytest.mark.parametrize("val", [0.0, 1.0, 1.5, 0, 25, 30])
def test_train_val_split_needs_rows_on_both_sides(val):
    with pytest.raises(InputError, match="val="):
        train_val_split(np.zeros((25, 2)), val=val)


def test_load_digits_matches_sklearn_and_filters_classes():
    ds = load_digits()
    ref = sklearn.datasets.load_digits()
    assert ds.data.shape == (1797, 64) and ds.images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(ds.data, ref.data)
    three = load_digits(n_class=3)
    assert three.data.shape == (537, 64)
    assert np.bincount(three.target).tolist() == [178, 182, 177]


def test_load_digits_scale_standardises_like_the_notebook():
    ds = load_digits(n_class=10, scale=True)
    np.testing.assert_array_equal(ds.data, sklearn.preprocessing.scale(sklearn.datasets.load_digits().data))
    std = ds.data.std(axis=0)
    constant = sklearn.datasets.load_digits().data.std(axis=0) == 0
    np.testing.assert_allclose(std[~constant], 1.0, rtol=1e-12)
    assert np.all(ds.data[:, constant] == 0)
    np.testing.assert_allclose(ds.data.mean(axis=0), 0.0, atol=1e-12)
    # The images stay the raw 0..16 pixels so they still look like digits.
    assert ds.images.max() == 16 and ds.images.min() == 0


@pytest.mark.parametrize("n_class", [0, 11, 2.5])
def test_load_digits_rejects_bad_n_class(n_class):
    with pytest.raises(InputError, match="n_class"):
        load_digits(n_class=n_class)


# --------------------------------------------------------------------------- MNIST on the real files


@pytest.fixture(scope="module")
def mnist_test(mnist_dir) -> Dataset:
    return load_mnist("test", data_home=mnist_dir.parent)


def test_load_mnist_test_split_real(mnist_test, mnist_dir):
    ds = mnist_test
    assert ds.data.shape == (10000, 784) and ds.data.dtype == np.float32
    assert ds.images.shape == (10000, 28, 28) and np.shares_memory(ds.images, ds.data)
    assert ds.data.min() == 0.0 and ds.data.max() == 1.0
    assert np.bincount(ds.target).tolist() == MNIST_TEST_COUNTS
    assert ds.target.dtype == np.int64
    # Every pixel is a byte over 255: recover the bytes exactly and check them all at once.
    pixels = np.rint(ds.data.astype(np.float64) * 255)
    assert pixels.sum() == MNIST_TEST_PIXEL_SUM
    np.testing.assert_array_equal(ds.data, pixels.astype(np.float32) / np.float32(255))
    assert ds.target[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert len(ds.feature_names) == 784 and ds.feature_names[29] == "pixel_1_1"


def test_real_train_labels_read_as_idx(mnist_dir):
    labels = read_idx(mnist_dir / "train-labels-idx1-ubyte.gz", ndim=1)
    assert labels.shape == (60000,) and labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == MNIST_TRAIN_COUNTS


def test_load_mnist_uses_the_environment_variable(mnist_dir, monkeypatch):
    monkeypatch.setenv("KMEANSLAB_DATA", str(mnist_dir.parent))
    ds = load_mnist(split="test")
    assert np.bincount(ds.target).tolist() == MNIST_TEST_COUNTS


def test_load_mnist_train_without_images_says_where_and_how(mnist_dir, monkeypatch):
    monkeypatch.setenv("KMEANSLAB_DATA", str(mnist_dir.parent))
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(split="train")
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert "train-labels" not in message  # that one is there
    assert str(mnist_dir) in message and str(mnist_dir.parent) in message
    # The fetch command needs no --data-home (KMEANSLAB_DATA already points there); the message
    # then says how to look elsewhere (issue 16), naming both ways.
    assert "fetch it with: kmeanslab data fetch mnist (or load_mnist(..., download=True))" in message
    assert message.endswith("give --data-home DIR to the command (data_home= in Python) or set KMEANSLAB_DATA=DIR")
    assert "\n" not in message


def test_load_mnist_not_found_with_data_home_names_it_in_the_command(tmp_path):
    home = tmp_path / "my data"
    with pytest.raises(DatasetNotFoundError, match=r"kmeanslab data fetch mnist --data-home '.*my data'"):
        load_mnist("test", data_home=home)


def test_load_mnist_balanced_real(mnist_test, mnist_dir):
    ds = load_mnist("test", data_home=mnist_dir.parent, balanced=100, seed=0)
    assert ds.data.shape == (1000, 784)
    assert np.bincount(ds.target).tolist() == [100] * 10
    again = load_mnist("test", data_home=mnist_dir.parent, balanced=100, seed=0)
    np.testing.assert_array_equal(again.data, ds.data)
    other = load_mnist("test", data_home=mnist_dir.parent, balanced=100, seed=1)
    assert not np.array_equal(other.data, ds.data)
    # Every drawn image is an image of the full split, with its own label.
    rows = {row.tobytes(): label for row, label in zip(mnist_test.data, mnist_test.target)}
    assert all(rows[row.tobytes()] == label for row, label in zip(ds.data, ds.target))
    with pytest.raises(InputError, match="balanced=893 .* only 892 of digit 5"):
        load_mnist("test", data_home=mnist_dir.parent, balanced=893)


# --------------------------------------------------------------------------- MNIST on files written here


def test_load_mnist_train_from_small_idx_files(tmp_path):
    images, labels = fake_mnist(30, seed=1)
    write_mnist_split(tmp_path / "mnist", "train", images, labels)
    ds = load_mnist("train", data_home=tmp_path)
    assert ds.data.shape == (30, 784) and ds.data.dtype == np.float32
    np.testing.assert_array_equal(ds.data, images.reshape(30, 784).astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(ds.target, labels)
    np.testing.assert_array_equal(ds.images[3], images[3] / np.float32(255))
    balanced = load_mnist("train", data_home=tmp_path, balanced=3, seed=0)
    assert np.bincount(balanced.target).tolist() == [3] * 10


def test_load_mnist_reads_uncompressed_files_at_the_top_of_data_home(tmp_path):
    images, labels = fake_mnist(12, seed=2)
    write_mnist_split(tmp_path, "test", images, labels, gz=False)
    assert not (tmp_path / "mnist").exists()
    ds = load_mnist("test", data_home=tmp_path)
    np.testing.assert_array_equal(ds.data.reshape(12, 28, 28) * 255, images.astype(np.float32))


def test_load_mnist_rejects_bad_arguments(tmp_path):
    with pytest.raises(InputError, match="split='validation'"):
        load_mnist("validation", data_home=tmp_path)
    with pytest.raises(InputError, match="balanced=0"):
        load_mnist("test", data_home=tmp_path, balanced=0)


def _write_pair(tmp_path, images_bytes: bytes, labels_bytes: bytes) -> Path:
    (tmp_path / "mnist").mkdir(exist_ok=True)
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte").write_bytes(images_bytes)
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte").write_bytes(labels_bytes)
    return tmp_path


def test_idx_with_a_wrong_magic_number(tmp_path):
    images, labels = fake_mnist(5, seed=0)
    bad = b"\x00\x00\x08\x00" + idx_bytes(images)[4:]
    home = _write_pair(tmp_path, b"\x12\x34" + idx_bytes(images)[2:], idx_bytes(labels))
    with pytest.raises(DataFileError, match=r"t10k-images-idx3-ubyte: wrong magic number 0x12340803"):
        load_mnist("test", data_home=home)
    (home / "mnist" / "t10k-images-idx3-ubyte").write_bytes(bad)
    with pytest.raises(DataFileError, match="wrong magic number 0x00000800"):
        load_mnist("test", data_home=home)


def test_idx_labels_given_for_images(tmp_path):
    _, labels = fake_mnist(5, seed=0)
    home = _write_pair(tmp_path, idx_bytes(labels), idx_bytes(labels))
    with pytest.raises(DataFileError, match=r"says 1 dimension\(s\); expected 3 \(images\)"):
        load_mnist("test", data_home=home)


@pytest.mark.parametrize("delta", [-1, -784, +3])
def test_idx_sizes_that_disagree_with_the_file_length(tmp_path, delta):
    images, labels = fake_mnist(5, seed=0)
    data = idx_bytes(images)
    data = data[:delta] if delta < 0 else data + b"\0" * delta
    home = _write_pair(tmp_path, data, idx_bytes(labels))
    with pytest.raises(DataFileError) as info:
        load_mnist("test", data_home=home)
    assert str(info.value) == (
        f"{home / 'mnist' / 't10k-images-idx3-ubyte'}: the header says 5 x 28 x 28 (3920 bytes of data) "
        f"but the file has {3920 + delta} bytes after the header"
    )


def test_idx_too_short_for_a_header(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(b"\0\0")
    with pytest.raises(DataFileError, match="too short for an IDX header"):
        read_idx(path)
    path.write_bytes(b"\0\0\x08\x03\0\0\0\x05")
    with pytest.raises(DataFileError, match="header is cut short"):
        read_idx(path)


def test_label_count_differs_from_image_count(tmp_path):
    images, labels = fake_mnist(6, seed=0)
    home = _write_pair(tmp_path, idx_bytes(images), idx_bytes(labels[:5]))
    with pytest.raises(DataFileError) as info:
        load_mnist("test", data_home=home)
    assert str(info.value) == (
        f"{home / 'mnist' / 't10k-labels-idx1-ubyte'}: has 5 labels but "
        f"{home / 'mnist' / 't10k-images-idx3-ubyte'} has 6 images; expected one label per image"
    )


def test_idx_of_another_type(tmp_path):
    images, labels = fake_mnist(4, seed=0)
    home = _write_pair(tmp_path, idx_bytes(images.astype(np.float32)), idx_bytes(labels))
    assert read_idx(home / "mnist" / "t10k-images-idx3-ubyte").dtype == np.float32
    with pytest.raises(DataFileError, match="t10k-images-idx3-ubyte: holds float32 values; expected unsigned bytes"):
        load_mnist("test", data_home=home)


def test_labels_outside_0_to_9(tmp_path):
    images, labels = fake_mnist(6, seed=0)
    labels[2] = 12
    home = _write_pair(tmp_path, idx_bytes(images), idx_bytes(labels))
    with pytest.raises(DataFileError, match="labels from 0 to 12; expected digits 0 to 9"):
        load_mnist("test", data_home=home)


@pytest.fixture
def real_labels_gz(mnist_dir) -> bytes:
    return (mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()


def test_truncated_gz(tmp_path, real_labels_gz):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(real_labels_gz[: len(real_labels_gz) // 2])
    with pytest.raises(DataFileError) as info:
        read_idx(path)
    assert str(info.value).startswith(f"{path}: truncated or corrupt gzip data (")
    assert "fetch it again" in str(info.value)


@pytest.mark.parametrize("where", ["crc", "stream"])
def test_corrupt_gz(tmp_path, real_labels_gz, where):
    data = bytearray(real_labels_gz)
    if where == "crc":
        data[-8] ^= 0xFF  # the CRC-32 in the trailer
    else:
        data[len(data) // 2 : len(data) // 2 + 16] = b"\xff" * 16
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(DataFileError, match=f"{path}: truncated or corrupt gzip data"):
        read_idx(path)


def test_real_files_decompressed_read_the_same(tmp_path, mnist_dir, mnist_test):
    raw = gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(raw)
    np.testing.assert_array_equal(read_idx(tmp_path / "t10k-labels-idx1-ubyte"), mnist_test.target)


# --------------------------------------------------------------------------- the notebooks' other formats


def _splits(seed: int):
    parts = []
    for i, n in enumerate((20, 10, 10)):
        images, labels = fake_mnist(n, seed + i)
        parts.append((images.reshape(n, 784).astype(np.float32) / np.float32(255), labels.astype(np.int64)))
    return tuple(parts)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_mnist_pickle_round_trip(tmp_path, protocol, split):
    parts = _splits(seed=10)
    path = write_pickle(tmp_path / "mnist.pkl.gz", parts, protocol=protocol)
    ds = load_mnist_pickle(path, split=split)
    X, y = parts[("train", "valid", "test").index(split)]
    assert ds.data.dtype == np.float32 and ds.images.shape == (X.shape[0], 28, 28)
    np.testing.assert_array_equal(ds.data, X)
    np.testing.assert_array_equal(ds.target, y)


def test_mnist_pickle_uncompressed_uint8_and_lists(tmp_path):
    images, labels = fake_mnist(10, seed=3)
    flat = images.reshape(10, 784)
    parts = [[flat, labels.astype(np.int32)]] * 3
    ds = load_mnist_pickle(write_pickle(tmp_path / "mnist.pkl", parts), split="test")
    np.testing.assert_array_equal(ds.data, flat.astype(np.float32) / np.float32(255))


def test_mnist_pickle_of_real_images_matches_idx(tmp_path, mnist_test):
    X, y = mnist_test.data[:200], mnist_test.target[:200]
    path = write_pickle(tmp_path / "mnist.pkl.gz", ((X, y), (X[:10], y[:10]), (X[:5], y[:5])))
    ds = load_mnist_pickle(path)
    np.testing.assert_array_equal(ds.data, X)
    np.testing.assert_array_equal(ds.target, y)


class _Payload:
    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (str(self.target),))


def test_mnist_pickle_refuses_anything_but_arrays(tmp_path):
    marker = tmp_path / "was-run"
    X, y = _splits(seed=0)[0]
    path = write_pickle(tmp_path / "mnist.pkl.gz", ((X, y), (X, y), (X, _Payload(marker))))
    with pytest.raises(
        DataFileError, match=r"refusing to load posix\.mkdir|refusing to load os\.mkdir|refusing to load nt\.mkdir"
    ):
        load_mnist_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "content, message",
    [
        ([1, 2], "holds a list of length 2; expected a (train, valid, test) tuple"),
        ({"a": 1}, "holds a dict; expected a (train, valid, test) tuple"),
        ((np.zeros((3, 784)), None, None), "the train entry is a ndarray; expected a pair (X, y)"),
        (((np.zeros((3, 10)), np.zeros(3, int)),) * 3, "train X has shape (3, 10)"),
        (((np.zeros((3, 784)), np.zeros(4, int)),) * 3, "train y has shape (4,) for 3 images"),
        (((np.full((3, 784), 2.0), np.zeros(3, int)),) * 3, "train pixels range from 2.0 to 2.0"),
    ],
)
def test_mnist_pickle_with_the_wrong_structure(tmp_path, content, message):
    path = write_pickle(tmp_path / "mnist.pkl.gz", content)
    with pytest.raises(DataFileError) as info:
        load_mnist_pickle(path)
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_mnist_pickle_truncated(tmp_path):
    path = write_pickle(tmp_path / "mnist.pkl.gz", _splits(seed=0))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataFileError, match=f"{path}: truncated or corrupt"):
        load_mnist_pickle(path)
    plain = write_pickle(tmp_path / "mnist.pkl", _splits(seed=0))
    plain.write_bytes(plain.read_bytes()[:5000])
    with pytest.raises(DataFileError, match=f"{plain}: truncated or corrupt"):
        load_mnist_pickle(plain)


def test_base64_json_lines_of_real_images(tmp_path, mnist_test):
    pixels = np.rint(mnist_test.images[:50] * 255).astype(np.uint8)
    path = write_json_lines(tmp_path / "digits.base64.json", pixels, mnist_test.target[:50])
    ds = load_mnist_json(path)
    assert ds.data.shape == (50, 784) and ds.data.dtype == np.float32
    np.testing.assert_array_equal(ds.data, mnist_test.data[:50])
    np.testing.assert_array_equal(ds.target, mnist_test.target[:50])
    np.testing.assert_array_equal(ds.images, mnist_test.images[:50])


def test_base64_json_small_file_gzip_and_array_forms(tmp_path):
    images, labels = fake_mnist(7, seed=4)
    lines = write_json_lines(tmp_path / "d.json", images, labels)
    ref = load_mnist_json(lines)
    np.testing.assert_array_equal(ref.images * 255, images.astype(np.float32))
    np.testing.assert_array_equal(ref.target, labels)
    gz = tmp_path / "d.json.gz"
    gz.write_bytes(gzip.compress(lines.read_bytes()))
    np.testing.assert_array_equal(load_mnist_json(gz).data, ref.data)
    array = tmp_path / "d-array.json"
    array.write_text("[" + ",\n".join(lines.read_text().splitlines()) + "]")
    np.testing.assert_array_equal(load_mnist_json(array).data, ref.data)


@pytest.mark.parametrize(
    "line, message",
    [
        (base64_record(3, bytes(783)), "line 2 has 'data' that decodes to 783 bytes; expected 784 (28x28 pixels)"),
        (base64_record(3, bytes(785)), "line 2 has 'data' that decodes to 785 bytes; expected 784"),
        ('{"label": 3, "data": "not*base64"}', "line 2 has 'data' that is not valid base64"),
        ('{"label": 3, "data": 17}', "line 2 has 'data' of type int; expected a base64 string"),
        ('{"label": 10, "data": ""}', "line 2 has label 10; expected a digit 0 to 9"),
        ('{"data": ""}', "line 2 is not an object with 'label' and 'data'"),
        ('{"label": 3, "data": "AAAA"', "line 2 is not valid JSON"),
    ],
)
def test_base64_json_errors_name_the_line(tmp_path, line, message):
    path = tmp_path / "digits.base64.json"
    path.write_text(base64_record(1, bytes(784)) + "\n" + line + "\n")
    with pytest.raises(DataFileError) as info:
        load_mnist_json(path)
    assert str(info.value) == f"{path}: {message}" or str(info.value).startswith(f"{path}: {message}")


def test_base64_json_empty(tmp_path):
    path = tmp_path / "digits.base64.json"
    path.write_text("\n\n")
    with pytest.raises(DataFileError, match="holds no records"):
        load_mnist_json(path)


def test_load_dataset_file_dispatches_by_name(tmp_path, mnist_dir, mnist_test):
    ds = load_dataset_file(mnist_dir / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(ds.data, mnist_test.data)
    np.testing.assert_array_equal(ds.target, mnist_test.target)  # the labels file beside it
    images, _ = fake_mnist(4, seed=0)
    alone = write_idx(tmp_path / "my-images-idx3-ubyte", images)
    assert load_dataset_file(alone).target is None
    parts = _splits(seed=1)
    pkl = write_pickle(tmp_path / "mnist.pkl.gz", parts)
    np.testing.assert_array_equal(load_dataset_file(pkl, split="valid").data, parts[1][0])
    table = tmp_path / "x.csv"
    table.write_text("1,2\n")
    with pytest.raises(InputError, match="unknown dataset format"):
        load_dataset_file(table)
    with pytest.raises(InputError, match="split='test' applies only to .pkl files"):
        load_dataset_file(alone, split="test")


# --------------------------------------------------------------------------- where the data lives


def test_data_home_precedence(tmp_path, monkeypatch):
    import platformdirs

    assert datasets.get_data_home() == Path(platformdirs.user_cache_dir("kmeanslab"))
    monkeypatch.setenv("KMEANSLAB_DATA", str(tmp_path / "env"))
    assert datasets.get_data_home() == tmp_path / "env"
    assert datasets.get_data_home(tmp_path / "arg") == tmp_path / "arg"


def test_list_datasets(tmp_path, mnist_dir):
    rows = {r.name: r for r in datasets.list_datasets(mnist_dir.parent)}
    assert list(rows) == ["faithful", "digits", "blobs", "mnist-train", "mnist-test"]
    assert rows["faithful"].available and rows["digits"].available
    assert rows["mnist-test"].available and rows["mnist-test"].location == str(mnist_dir)
    assert not rows["mnist-train"].available
    assert "train-images-idx3-ubyte.gz" in rows["mnist-train"].note
    empty = {r.name: r for r in datasets.list_datasets(tmp_path)}
    assert not empty["mnist-test"].available and str(tmp_path / "mnist") in empty["mnist-test"].location


# --------------------------------------------------------------------------- fetching from a loopback mirror


@pytest.fixture
def mirror(mnist_dir):
    """The real files (the test split and the training labels) served from 127.0.0.1."""
    with serve_directory(mnist_dir) as (url, requests):
        yield url, requests


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_fetch_downloads_and_verifies(tmp_path, mirror, mnist_dir):
    url, requests = mirror
    names = TEST_FILES + ["train-labels-idx1-ubyte.gz"]
    paths = fetch_mnist(tmp_path, mirror=url, files=names, progress=False)
    assert paths == [tmp_path / "mnist" / n for n in names]
    for path in paths:
        assert _md5(path) == MNIST_MD5[path.name]
        assert path.read_bytes() == (mnist_dir / path.name).read_bytes()
    assert sorted(requests) == sorted(f"/{n}" for n in names)
    assert _leftovers(tmp_path / "mnist") == []
    # Verified files already there are not downloaded again.
    fetch_mnist(tmp_path, mirror=url, files=names, progress=False)
    assert len(requests) == 3


def test_load_mnist_download_true(tmp_path, mirror):
    url, requests = mirror
    ds = load_mnist("test", data_home=tmp_path, download=True, mirror=url)
    assert np.bincount(ds.target).tolist() == MNIST_TEST_COUNTS
    assert sorted(requests) == sorted(f"/{n}" for n in TEST_FILES)


def test_fetch_uses_the_mirror_environment_variable(tmp_path, mirror, monkeypatch):
    url, requests = mirror
    monkeypatch.setenv("KMEANSLAB_MNIST_MIRROR", url.rstrip("/"))
    fetch_mnist(tmp_path, files=["t10k-labels-idx1-ubyte.gz"], progress=False)
    assert requests == ["/t10k-labels-idx1-ubyte.gz"]


def test_fetch_shows_a_progress_bar(tmp_path, mirror, capsys):
    url, _ = mirror
    fetch_mnist(tmp_path, mirror=url, files=["t10k-labels-idx1-ubyte.gz"], progress=True)
    err = capsys.readouterr().err
    assert "t10k-labels-idx1-ubyte.gz" in err and "4.5" in err  # 4542 bytes shown as 4.5 kB


@pytest.fixture
def bad_mirror(tmp_path, mnist_dir):
    """A mirror serving a copy of t10k-labels with one byte changed."""
    directory = tmp_path / "bad-mirror"
    directory.mkdir()
    data = bytearray((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    data[100] ^= 0x01
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(bytes(data))
    with serve_directory(directory) as (url, requests):
        yield url, requests


def test_fetch_bad_checksum_keeps_nothing(tmp_path, bad_mirror):
    url, _ = bad_mirror
    home = tmp_path / "home"
    with pytest.raises(ChecksumError) as info:
        fetch_mnist(home, mirror=url, files=["t10k-labels-idx1-ubyte.gz"], progress=False)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte.gz" in message and MNIST_MD5["t10k-labels-idx1-ubyte.gz"] in message
    assert "discarded" in message
    assert list((home / "mnist").iterdir()) == []


def test_fetch_bad_checksum_does_not_replace_a_good_file(tmp_path, bad_mirror, mnist_dir):
    url, requests = bad_mirror
    target = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    target.parent.mkdir()
    target.write_bytes(b"an old, corrupt copy")
    with pytest.raises(ChecksumError):
        fetch_mnist(tmp_path, mirror=url, files=[target.name], progress=False)
    assert target.read_bytes() == b"an old, corrupt copy"
    assert _leftovers(target.parent) == []


def test_fetch_falls_back_to_the_next_mirror(tmp_path, bad_mirror, mirror, mnist_dir):
    bad_url, bad_requests = bad_mirror
    good_url, good_requests = mirror
    target = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    target.parent.mkdir()
    target.write_bytes(b"corrupt")  # a wrong local copy is downloaded again and replaced
    fetch_mnist(tmp_path, mirror=[bad_url, good_url], files=[target.name], progress=False)
    assert bad_requests == good_requests == ["/t10k-labels-idx1-ubyte.gz"]
    assert target.read_bytes() == (mnist_dir / target.name).read_bytes()


def test_fetch_file_missing_on_the_mirror(tmp_path, mirror):
    url, _ = mirror
    with pytest.raises(DatasetNotFoundError, match=r"train-images-idx3-ubyte.gz: could not be downloaded \(.*404"):
        fetch_mnist(tmp_path, mirror=url, files=["train-images-idx3-ubyte.gz"], progress=False)
    assert list((tmp_path / "mnist").iterdir()) == []


def test_fetch_unreachable_mirror(tmp_path):
    with serve_directory(tmp_path) as (url, _):
        pass  # the server is shut down: nothing listens on that port now
    with pytest.raises(DatasetNotFoundError, match="could not be downloaded"):
        fetch_mnist(tmp_path / "home", mirror=url, files=["t10k-labels-idx1-ubyte.gz"], progress=False)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(files=["train-images.gz"]), "'train-images.gz' is not an MNIST file"),
        (dict(mirror="ftp://example.org/mnist"), "expected an http://, https:// or file:// URL"),
        (dict(mirror=" , "), "expected at least one URL"),
    ],
)
def test_fetch_rejects_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        fetch_mnist(tmp_path, progress=False, **kwargs)


def test_fetch_from_a_file_url(tmp_path, mnist_dir):
    paths = fetch_mnist(tmp_path, mirror=mnist_dir.as_uri(), files=TEST_FILES, progress=False)
    assert [_md5(p) for p in paths] == [MNIST_MD5[n] for n in TEST_FILES]
    shutil.rmtree(tmp_path / "mnist")


def test_fetch_into_a_data_home_that_cannot_be_written(tmp_path, mirror, monkeypatch):
    url, requests = mirror
    (tmp_path / "mnist").write_text("a file where the directory should be")
    with pytest.raises(InputError, match=f"cannot create {tmp_path / 'mnist'}"):
        fetch_mnist(tmp_path, mirror=url, files=TEST_FILES, progress=False)
    assert requests == []

    import kmeanslab.datasets.fetch

    def refuse(path, mode="w", **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(kmeanslab.datasets.fetch, "atomic_write", refuse)
    home = tmp_path / "home"
    with pytest.raises(InputError, match=r"cannot write .*t10k-labels-idx1-ubyte.gz \(Permission denied\)"):
        fetch_mnist(home, mirror=url, files=["t10k-labels-idx1-ubyte.gz"], progress=False)
