"""The bad-input matrix (issue 6): every row through the library and through the CLI.

Library: the function or estimator a user calls raises the documented error type
(:mod:`kmeanslab.errors`), in one line that names the parameter or file, the value and what
was expected. CLI: exit code 2, nothing on stdout, one line on stderr that starts with
``kmeanslab: error:``, no traceback, and nothing created in ``--out``.

Options argparse rejects (``-k 0``, ``--init nope``) leave :func:`kmeanslab.cli.main` by
``SystemExit(2)``, argparse's convention that the console script turns into exit code 2; the
other errors make ``main`` return 2. ``_run`` reads both as the exit code.

Rows the CLI has no option for (``sample_weight``, an ``init`` array) are library-only.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import kmeanslab
from _datafiles import fake_mnist, idx_bytes
from kmeanslab import KMeans, MiniBatchKMeans, k_means
from kmeanslab.cli import main
from kmeanslab.datasets import load_dataset_file, read_idx
from kmeanslab.errors import (
    DataFileError,
    DatasetNotFoundError,
    InputError,
    KMeansLabError,
    ModelFileError,
    OutputError,
)
from kmeanslab.io import prepare_out_dir, read_table, write_csv

# A gzipped table cut in the middle of its deflate stream.
_CUT_GZ = gzip.compress(("a,b\n" + "".join(f"{i},{i * i}\n" for i in range(500))).encode())[:1000]
TEN = np.random.default_rng(0).normal(size=(10, 2))


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _with(array: np.ndarray, index, value) -> np.ndarray:
    array = array.astype(float).copy()
    array[index] = value
    return array


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _fails_cleanly(capsys, argv: list[str], fragments) -> str:
    code, out, err = _run(capsys, argv)
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kmeanslab: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def _one_line_with(exc: BaseException, fragments) -> None:
    message = str(exc)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def _listing(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def model_file(tmp_path) -> Path:
    """A valid model with 2 features (fitted on two blobs)."""
    X = np.concatenate([TEN, TEN + 10.0])
    return KMeans(2, random_state=0).fit(X).save(tmp_path / "model.npz")


@pytest.fixture
def two_column_csv(tmp_path) -> Path:
    path = tmp_path / "new.csv"
    path.write_text("a,b\n0,0\n10,10\n")
    return path


# --------------------------------------------------------------------------- data files

# (id, file name, content (None: no file), k, error type, fragments in both messages,
#  fragments only the CLI has: it names the file where the library names the array X)
DATA_FILE_ROWS = [
    (
        "NaN",
        "nan.csv",
        b"a,b\n1,2\nnan,3\n4,5\n",
        2,
        DataFileError,
        ["nan.csv", "line 3", "column 'a'", "'nan'", "expected a value in every cell"],
        [],
    ),
    (
        "+inf",
        "inf.csv",
        b"a,b\n1,2\n3,inf\n4,5\n",
        2,
        DataFileError,
        ["inf.csv", "line 3", "+inf", "column 'b'", "expected finite numbers"],
        [],
    ),
    (
        "-inf",
        "ninf.csv",
        b"a,b\n1,2\n3,4\n-inf,5\n",
        2,
        DataFileError,
        ["ninf.csv", "line 4", "-inf", "column 'a'", "expected finite numbers"],
        [],
    ),
    (
        "NaN in .npy",
        "nan.npy",
        _npy(_with(np.ones((4, 2)), (1, 0), np.nan)),
        2,
        InputError,
        ["contains NaN", "NaN at row 1, column 0", "expected finite values"],
        ["nan.npy contains NaN"],
    ),
    (
        "+inf in .npy",
        "inf.npy",
        _npy(_with(np.ones((4, 2)), (2, 1), np.inf)),
        2,
        InputError,
        ["contains inf", "+inf at row 2, column 1", "expected finite values"],
        ["inf.npy contains inf"],
    ),
    (
        "-inf in .npz",
        "ninf.npz",
        None,
        2,
        InputError,
        ["contains inf", "-inf at row 3, column 0", "expected finite values"],
        ["ninf.npz contains inf"],
    ),
    (
        "NaN in Parquet",
        "nan.parquet",
        None,
        2,
        DataFileError,
        ["nan.parquet", "data row 2", "no number in column 'b'", "expected a value in every cell"],
        [],
    ),
    (
        "+inf in Parquet",
        "inf.parquet",
        None,
        2,
        DataFileError,
        ["inf.parquet", "data row 3", "+inf in column 'a'", "expected finite numbers"],
        [],
    ),
    (
        "empty file",
        "empty.csv",
        b"",
        2,
        DataFileError,
        ["empty.csv", "the file is empty", "expected a header and/or rows of numbers"],
        [],
    ),
    (
        "header only",
        "header.csv",
        b"a,b\n",
        2,
        DataFileError,
        ["header.csv", "has a header but no rows", "expected at least one sample"],
        [],
    ),
    (
        "single row, k=2",
        "one.csv",
        b"a,b\n1,2\n",
        2,
        InputError,
        ["n_clusters=2", "n_samples=1", "expected 1 <= n_clusters <= n_samples"],
        [],
    ),
    (
        "3-D .npy",
        "cube.npy",
        _npy(np.zeros((3, 2, 2))),
        2,
        DataFileError,
        ["cube.npy", "shape (3, 2, 2)", "expected 2-D (n_samples, n_features)"],
        [],
    ),
    (
        "no rows .npy",
        "none.npy",
        _npy(np.zeros((0, 3))),
        1,
        DataFileError,
        ["none.npy", "holds no rows", "expected at least one sample"],
        [],
    ),
    (
        "ragged rows",
        "ragged.csv",
        b"a,b\n1,2\n3,4,5\n6,7\n",
        2,
        DataFileError,
        ["ragged.csv", "line 3 has 3 fields", "line 1 has 2", "expected the same number of columns"],
        [],
    ),
    (
        "non-numeric columns only",
        "words.csv",
        b"name,colour\nx,red\ny,blue\n",
        2,
        DataFileError,
        ["words.csv", "no numeric column", "['name', 'colour']", "expected numbers"],
        [],
    ),
    (
        "truncated gzip",
        "cut.csv.gz",
        _CUT_GZ,
        2,
        DataFileError,
        ["cut.csv.gz", "truncated or corrupt gzip data", "expected a complete gzip file"],
        [],
    ),
    (
        "path does not exist",
        "nope.csv",
        None,
        2,
        DatasetNotFoundError,
        ["nope.csv", "does not exist", "expected a data file"],
        [],
    ),
    # Issue 15, round two.
    (
        "garbage after the .npy magic",
        "junk.npy",
        b"\x93NUMPY" + b"not a header at all" * 3,
        2,
        DataFileError,
        ["junk.npy: not a readable .npy file", "unknown format version 110.111"],
        [],
    ),
    (
        "float32 values whose squares overflow",
        "big32.npy",
        _npy(_with(np.ones((4, 2)), (1, 0), 1e38).astype(np.float32)),
        2,
        InputError,
        [
            "has a value too large for k-means",
            "at row 1, column 0",
            "would overflow float32",
            "or convert it to float64",
        ],
        ["big32.npy has a value too large"],
    ),
    (
        "float64 values whose sum of squares overflows",
        "huge.csv",
        b"a,b\n1,2\n3,4\n5,1e200\n",
        2,
        InputError,
        ["has a value too large for k-means", "at row 2, column 1", "would overflow float64", "expected |values| <="],
        ["huge.csv has a value too large"],
    ),
    (
        "a comma that could mean either",
        "either.tsv",
        b"a\tb\n1,234\t2\n5,678\t4\n",
        2,
        DataFileError,
        ["either.tsv", "'1,234' (line 2, column 'a')", "decimal comma or with a thousands separator"],
        [],
    ),
    (
        "one corrupt cell in a column of numbers",
        "cell.csv",
        b"a,b\n1,2\n3,x1\n4,5\n6,7\n",
        2,
        DataFileError,
        ["cell.csv: line 3 has 'x1' in column 'b', whose other cells are numbers", "expected a number"],
        [],
    ),
    (
        "a binary file",
        "binary.csv",
        b"a,b\n1,2\n\0\0\0\1",
        2,
        DataFileError,
        ["binary.csv: looks like a binary file", "expected a text table"],
        [],
    ),
]


def _data_file(tmp_path: Path, name: str, content: bytes | None) -> Path:
    path = tmp_path / name
    if name == "ninf.npz":
        np.savez(path, X=_with(np.ones((5, 2)), (3, 0), -np.inf))
    elif name.endswith(".parquet"):
        pd = pytest.importorskip("pandas")
        pytest.importorskip("pyarrow")
        a, b = [1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]
        if name == "nan.parquet":
            b[1] = np.nan
        else:
            a[2] = np.inf
        pd.DataFrame({"a": a, "b": b}).to_parquet(path)
    elif content is not None:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize("row", DATA_FILE_ROWS, ids=[r[0] for r in DATA_FILE_ROWS])
def test_bad_data_file_library(tmp_path, row):
    _, name, content, k, error, fragments, _ = row
    path = _data_file(tmp_path, name, content)
    with pytest.raises(error) as info:
        X, _ = read_table(path)
        KMeans(k, random_state=0).fit(X)
    _one_line_with(info.value, fragments)


@pytest.mark.parametrize("row", DATA_FILE_ROWS, ids=[r[0] for r in DATA_FILE_ROWS])
def test_bad_data_file_cli(tmp_path, capsys, row):
    _, name, content, k, _, fragments, cli_fragments = row
    path = _data_file(tmp_path, name, content)
    out = tmp_path / "run"
    _fails_cleanly(capsys, ["fit", str(path), "-k", str(k), "--out", str(out)], fragments + cli_fragments)
    assert not out.exists()


@pytest.mark.parametrize("row", DATA_FILE_ROWS[:8], ids=[r[0] for r in DATA_FILE_ROWS[:8]])
def test_non_finite_data_through_predict_cli(tmp_path, capsys, model_file, row):
    _, name, content, _, _, fragments, cli_fragments = row
    path = _data_file(tmp_path, name, content)
    labels = tmp_path / "labels.csv"
    _fails_cleanly(capsys, ["predict", str(model_file), str(path), "--out", str(labels)], fragments + cli_fragments)
    assert not labels.exists()


# --------------------------------------------------------------------------- data that are read correctly


def test_latin1_header_is_decoded(tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    path.write_bytes("dur\xe9e,temp\xe9rature\n1,2\n3,4\n5,6\n10,10\n".encode("latin-1"))
    X, names = read_table(path)
    assert names == ["durée", "température"]
    assert X.shape == (4, 2)
    out = tmp_path / "run"
    code, _, err = _run(capsys, ["fit", str(path), "-k", "2", "--out", str(out)])
    assert code == 0, err
    # Outputs are UTF-8 whatever the input's encoding.
    assert (out / "centers.csv").read_bytes().splitlines()[0] == "durée,température".encode()
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["feature_names"] == names


def test_utf8_bom_is_not_part_of_the_first_name(tmp_path, capsys):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\n1,2\n3,4\n5,6\n")
    X, names = read_table(path)
    assert names == ["a", "b"]
    np.testing.assert_array_equal(X, [[1, 2], [3, 4], [5, 6]])
    out = tmp_path / "run"
    code, _, err = _run(capsys, ["fit", str(path), "-k", "2", "--out", str(out)])
    assert code == 0, err
    assert (out / "centers.csv").read_bytes().startswith(b"a,b\n")


def test_single_row_with_k_1_is_fine(tmp_path, capsys):
    path = tmp_path / "one.csv"
    path.write_text("a,b\n1.5,-2\n")
    km = KMeans(1, random_state=0).fit(read_table(path)[0])
    np.testing.assert_array_equal(km.cluster_centers_, [[1.5, -2.0]])
    assert km.inertia_ == 0.0
    out = tmp_path / "run"
    code, stdout, err = _run(capsys, ["fit", str(path), "-k", "1", "--out", str(out)])
    assert code == 0, err
    assert "(1 x 2)" in stdout and "error" not in err
    assert json.loads((out / "summary.json").read_text())["cluster_sizes"] == [1]


def test_a_1d_npy_file_is_one_feature(tmp_path, capsys):
    """A 1-D *array* is refused (see the array rows); a 1-D ``.npy`` *file* is read as one column."""
    path = tmp_path / "v.npy"
    np.save(path, np.array([0.0, 0.1, 0.2, 10.0, 10.1, 10.2]))
    X, names = read_table(path)
    assert X.shape == (6, 1) and names == ["x0"]
    code, stdout, err = _run(capsys, ["fit", str(path), "-k", "2"])
    assert code == 0, err
    assert "(6 x 1)" in stdout and "[3, 3]" in stdout


@pytest.mark.parametrize("k", [2, 5])
def test_duplicate_rows_only_finish_with_a_warning(tmp_path, capsys, k):
    X = np.tile([[1.0, 2.0, 3.0]], (7, 1))
    with pytest.warns(ConvergenceWarning) as record:
        km = KMeans(k, random_state=0).fit(X)
    messages = [str(w.message) for w in record if issubclass(w.category, ConvergenceWarning)]
    assert any(f"X has 1 distinct point(s), fewer than n_clusters={k}" in m for m in messages), messages
    assert km.inertia_ == 0.0
    np.testing.assert_array_equal(km.cluster_centers_[np.unique(km.labels_)], X[:1])
    path = tmp_path / "same.csv"
    path.write_text("a,b,c\n" + "1,2,3\n" * 7)
    out = tmp_path / "run"
    code, stdout, err = _run(capsys, ["fit", str(path), "-k", str(k), "--out", str(out)])
    assert code == 0, err
    assert "Traceback" not in err and "error" not in err
    warning_lines = [line for line in err.splitlines() if line.startswith("kmeanslab: warning: ")]
    assert any(f"fewer than n_clusters={k}" in line for line in warning_lines), err
    assert "inertia                0" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["centers.csv", "labels.csv", "model.npz", "summary.json"]


def test_warning_for_empty_clusters_with_enough_points_says_so():
    """Empty clusters with enough distinct points are not blamed on duplicates."""
    X = np.array([[0.0], [0.1], [10.0], [10.1]])
    start = np.array([[0.0], [5.0], [100.0]])  # the third centre never gets a point
    with pytest.warns(ConvergenceWarning, match="some centres attract no point") as record:
        KMeans(3, init=start, empty="keep").fit(X)
    assert not any("distinct point(s)" in str(w.message) for w in record)


# --------------------------------------------------------------------------- arrays through the library

ARRAY_ROWS = [
    ("NaN", _with(TEN, (2, 1), np.nan), ["X contains NaN", "NaN at row 2, column 1", "expected finite values"]),
    ("+inf", _with(TEN, (4, 0), np.inf), ["X contains inf", "+inf at row 4, column 0", "expected finite values"]),
    ("-inf", _with(TEN, (9, 1), -np.inf), ["X contains inf", "-inf at row 9, column 1", "expected finite values"]),
    ("no rows", np.empty((0, 2)), ["0 sample(s)", "shape=(0, 2)", "minimum of 1"]),
    ("1-D", np.arange(6.0), ["must be a 2-D array", "1-D array of shape (6,)", "X.reshape(-1, 1)"]),
    ("3-D", np.zeros((3, 2, 2)), ["must be a 2-D array", "3-D array of shape (3, 2, 2)", "(n_samples, n_features)"]),
    ("ragged", [[1.0, 2.0], [3.0]], ["could not be made into an array", "expected rows of equal length"]),
    ("non-numeric", [["a", "b"], ["c", "d"]], ["has values that are not numbers", "expected numeric data"]),
]

ENTRY_POINTS = {
    "KMeans.fit": lambda X: KMeans(1, random_state=0).fit(X),
    "MiniBatchKMeans.fit": lambda X: MiniBatchKMeans(1, random_state=0).fit(X),
    "KMeans.predict": lambda X: KMeans(1, random_state=0).fit(TEN).predict(X),
    "k_means": lambda X: k_means(X, 1, rng=0),
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("row", ARRAY_ROWS, ids=[r[0] for r in ARRAY_ROWS])
def test_bad_array(row, entry):
    _, X, fragments = row
    with pytest.raises(InputError) as info:
        ENTRY_POINTS[entry](X)
    _one_line_with(info.value, fragments)


def test_predict_with_a_different_number_of_features(tmp_path, capsys, model_file):
    model = kmeanslab.load(model_file)
    with pytest.raises(InputError) as info:
        model.predict(np.ones((3, 3)))
    _one_line_with(info.value, ["X has 3 features", "KMeans is expecting 2 features"])
    three = tmp_path / "three.csv"
    three.write_text("a,b,c\n1,2,3\n4,5,6\n")
    labels = tmp_path / "labels.csv"
    _fails_cleanly(
        capsys,
        ["predict", str(model_file), str(three), "--out", str(labels)],
        [str(three), "X has 3 features", "expecting 2 features", "--columns"],
    )
    assert not labels.exists()


# --------------------------------------------------------------------------- parameters through the library

PARAM_ROWS = [
    ("k = 0", dict(n_clusters=0), ["n_clusters=0", "expected an integer >= 1"]),
    ("k < 0", dict(n_clusters=-3), ["n_clusters=-3", "expected an integer >= 1"]),
    ("k > n", dict(n_clusters=11), ["n_clusters=11", "n_samples=10", "expected 1 <= n_clusters <= n_samples"]),
    ("k float", dict(n_clusters=2.5), ["n_clusters=2.5", "expected an integer >= 1"]),
    ("k string", dict(n_clusters="3"), ["n_clusters='3'", "expected an integer >= 1"]),
    ("unknown init", dict(init="kmeans++"), ["init='kmeans++'", "expected one of 'k-means++', 'random'"]),
    ("init not an array", dict(init=3), ["init=3", "expected one of 'k-means++'", "array of shape (2, 2)"]),
    (
        "init too many rows",
        dict(init=np.zeros((3, 2))),
        ["init has shape (3, 2)", "expected (n_clusters, n_features) = (2, 2)"],
    ),
    ("init too many columns", dict(init=np.zeros((2, 3))), ["init has shape (2, 3)", "= (2, 2)"]),
    ("init 1-D", dict(init=np.zeros(2)), ["init has shape (2,)", "= (2, 2)"]),
    ("init NaN", dict(init=np.array([[0.0, np.nan], [1.0, 1.0]])), ["init contains NaN", "expected finite"]),
    ("max_iter = 0", dict(max_iter=0), ["max_iter=0", "expected an integer >= 1"]),
    ("max_iter < 0", dict(max_iter=-5), ["max_iter=-5", "expected an integer >= 1"]),
    ("max_iter float", dict(max_iter=2.5), ["max_iter=2.5", "expected an integer"]),
    ("tol < 0", dict(tol=-1e-3), ["tol=-0.001", "expected a number >= 0"]),
    ("tol NaN", dict(tol=float("nan")), ["tol=nan", "expected a finite number"]),
    ("n_init = 0", dict(n_init=0), ["n_init=0", "expected an integer >= 1"]),
    ("random_state < 0", dict(random_state=-1), ["random_state=-1", "expected an integer >= 0"]),
]
KMEANS_ONLY_ROWS = [
    ("unknown stop", dict(stop="never"), ["stop='never'", "expected one of 'shift', 'loss'"]),
    ("unknown empty", dict(empty="drop"), ["empty='drop'", "expected one of 'relocate', 'zeros', 'keep'"]),
    ("unknown algorithm", dict(algorithm="fast"), ["algorithm='fast'", "expected one of 'auto', 'lloyd'"]),
]
WEIGHT_ROWS = [
    (
        "negative",
        _with(np.ones(10), 3, -1.0),
        ["sample_weight has a negative value", "-1.0 at index 3", "expected non-negative"],
    ),
    ("all zero", np.zeros(10), ["sample_weight is all zero", "expected at least one positive weight"]),
    ("too short", np.ones(4), ["sample_weight has shape (4,)", "expected shape (10,)"]),
    ("too long", np.ones(11), ["sample_weight has shape (11,)", "expected shape (10,)"]),
    ("2-D", np.ones((10, 1)), ["sample_weight has shape (10, 1)", "expected shape (10,)"]),
    ("NaN", _with(np.ones(10), 0, np.nan), ["sample_weight contains NaN or inf", "expected finite"]),
    ("text", ["a"] * 10, ["sample_weight=", "expected numbers"]),
]


@pytest.mark.parametrize("estimator", [KMeans, MiniBatchKMeans])
@pytest.mark.parametrize("row", PARAM_ROWS, ids=[r[0] for r in PARAM_ROWS])
def test_bad_parameter(row, estimator):
    _, params, fragments = row
    with pytest.raises(InputError) as info:
        estimator(**{"n_clusters": 2, **params}).fit(TEN)
    _one_line_with(info.value, fragments)


@pytest.mark.parametrize("row", KMEANS_ONLY_ROWS, ids=[r[0] for r in KMEANS_ONLY_ROWS])
def test_bad_kmeans_parameter(row):
    _, params, fragments = row
    with pytest.raises(InputError) as info:
        KMeans(**{"n_clusters": 2, **params}).fit(TEN)
    _one_line_with(info.value, fragments)


@pytest.mark.parametrize("estimator", [KMeans, MiniBatchKMeans])
@pytest.mark.parametrize("row", WEIGHT_ROWS, ids=[r[0] for r in WEIGHT_ROWS])
def test_bad_sample_weight(row, estimator):
    _, weights, fragments = row
    with pytest.raises(InputError) as info:
        estimator(2, random_state=0).fit(TEN, sample_weight=weights)
    _one_line_with(info.value, fragments)


@pytest.mark.parametrize(
    "kwargs, fragments",
    [
        (dict(k=0), ["k=0", "expected an integer >= 1"]),
        (dict(k=-1), ["k=-1", "expected an integer >= 1"]),
        (dict(k=11), ["k=11", "n_samples=10", "expected 1 <= k <= n_samples"]),
        (dict(k=1.5), ["k=1.5", "expected an integer >= 1"]),
        (dict(k=2, max_iters=0), ["max_iters=0", "expected an integer >= 1"]),
        (dict(k=2, eps=-1.0), ["eps=-1.0", "expected a number >= 0"]),
    ],
    ids=["k = 0", "k < 0", "k > n", "k float", "max_iters = 0", "eps < 0"],
)
def test_bad_parameter_functional_api(kwargs, fragments):
    with pytest.raises(InputError) as info:
        k_means(TEN, **kwargs)
    _one_line_with(info.value, fragments)


# --------------------------------------------------------------------------- options through the CLI

OPTION_ROWS = [
    ("k = 0", ["-k", "0"], ["argument -k/--clusters", "0 is not valid", "expected an integer >= 1"]),
    ("k < 0", ["-k", "-2"], ["argument -k/--clusters", "-2 is not valid", "expected an integer >= 1"]),
    (
        "k not an integer",
        ["-k", "2.5"],
        ["argument -k/--clusters", "'2.5' is not an integer", "expected an integer >= 1"],
    ),
    ("k a word", ["-k", "two"], ["argument -k/--clusters", "'two' is not an integer"]),
    ("k > n", ["-k", "300"], ["n_clusters=300", "n_samples=272", "expected 1 <= n_clusters <= n_samples"]),
    ("unknown init", ["--init", "kmeans++"], ["argument --init", "'kmeans++'", "choose from", "'k-means++'"]),
    ("unknown stop", ["--stop", "never"], ["argument --stop", "'never'", "choose from", "'shift'"]),
    ("unknown empty", ["--empty", "drop"], ["argument --empty", "'drop'", "choose from", "'relocate'"]),
    ("unknown algorithm", ["--algorithm", "fast"], ["argument --algorithm", "'fast'", "choose from"]),
    ("max_iter < 1", ["--max-iter", "0"], ["argument --max-iter", "0 is not valid", "expected an integer >= 1"]),
    ("tol < 0", ["--tol", "-0.001"], ["argument --tol", "-0.001 is not valid", "expected a finite number >= 0"]),
    ("tol not a number", ["--tol", "small"], ["argument --tol", "'small' is not a number"]),
    ("tol inf", ["--tol", "inf"], ["argument --tol", "inf is not valid", "expected a finite number >= 0"]),
    ("n_init = 0", ["--n-init", "0"], ["argument --n-init", "'0' is not valid", "expected 'auto' or an integer >= 1"]),
    ("n_init a word", ["--n-init", "many"], ["argument --n-init", "'many' is not valid"]),
    ("seed < 0", ["--seed", "-1"], ["--seed -1 is not valid", "expected an integer >= 0"]),
    ("seed not an integer", ["--seed", "x"], ["argument --seed", "invalid int value: 'x'"]),
]


@pytest.mark.parametrize("row", OPTION_ROWS, ids=[r[0] for r in OPTION_ROWS])
def test_bad_option_cli(tmp_path, capsys, row):
    _, options, fragments = row
    out = tmp_path / "run"
    line = _fails_cleanly(capsys, ["fit", *options, "--out", str(out)], fragments)
    if line.startswith("kmeanslab: error: argument"):
        assert line.endswith("(see 'kmeanslab fit --help')")
    assert not out.exists()


def test_usage_errors_of_other_commands_are_one_line(capsys):
    _fails_cleanly(capsys, ["predict"], ["the following arguments are required", "MODEL"])
    _fails_cleanly(capsys, ["frobnicate"], ["argument COMMAND", "invalid choice: 'frobnicate'"])
    _fails_cleanly(capsys, ["data", "show", "mnist", "--split", "dev"], ["argument --split", "'dev'"])


# --------------------------------------------------------------------------- model files


def _rewrite_meta(path: Path, **changes) -> Path:
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays["__kmeanslab__"]))
    meta.update(changes)
    arrays["__kmeanslab__"] = np.array(json.dumps(meta))
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def _bad_model(kind: str, model_file: Path) -> Path:
    path = model_file.with_name(f"bad-{kind.replace(' ', '-')}.npz")
    if kind == "truncated":
        data = model_file.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "newer version":
        path.write_bytes(model_file.read_bytes())
        _rewrite_meta(path, format_version=2)
    elif kind == "version 0":
        path.write_bytes(model_file.read_bytes())
        _rewrite_meta(path, format_version=0)
    elif kind == "version not a number":
        path.write_bytes(model_file.read_bytes())
        _rewrite_meta(path, format_version="one")
    elif kind == "a CSV file":
        path.write_text("a,b\n1,2\n")
    elif kind == "an empty file":
        path.write_bytes(b"")
    elif kind == "an npz without header":
        np.savez(path, centers=np.zeros((2, 2)))
    elif kind == "an npy array":
        with open(path, "wb") as handle:
            np.save(handle, np.zeros((2, 2)))
    elif kind == "another format":
        path.write_bytes(model_file.read_bytes())
        _rewrite_meta(path, format="sklearn-model")
    elif kind == "missing":
        path = model_file.with_name("none.npz")
    return path


MODEL_ROWS = [
    ("truncated", ModelFileError, ["truncated or corrupt model file", "expected a complete model file"]),
    ("newer version", ModelFileError, ["model format version 2", "newer kmeanslab", "reads version 1", "upgrade"]),
    ("version 0", ModelFileError, ["unknown model format version 0", "expected 1"]),
    ("version not a number", ModelFileError, ["unknown model format version 'one'", "expected 1"]),
    ("a CSV file", ModelFileError, ["not a kmeanslab model file", "expected a model.npz"]),
    ("an empty file", ModelFileError, ["not a kmeanslab model file", "expected a model.npz"]),
    ("an npz without header", ModelFileError, ["without kmeanslab's header", "not a kmeanslab model file"]),
    ("an npy array", ModelFileError, ["a single .npy array", "not a kmeanslab model file (.npz)"]),
    ("another format", ModelFileError, ["does not say 'kmeanslab-model'", "not a kmeanslab model file"]),
    ("missing", DatasetNotFoundError, ["none.npz", "no such model file"]),
]


@pytest.mark.parametrize("row", MODEL_ROWS, ids=[r[0] for r in MODEL_ROWS])
def test_bad_model_file_library(model_file, row):
    kind, error, fragments = row
    path = _bad_model(kind, model_file)
    with pytest.raises(error) as info:
        kmeanslab.load(path)
    _one_line_with(info.value, [str(path), *fragments])


@pytest.mark.parametrize("row", MODEL_ROWS, ids=[r[0] for r in MODEL_ROWS])
def test_bad_model_file_cli(tmp_path, capsys, model_file, two_column_csv, row):
    kind, _, fragments = row
    path = _bad_model(kind, model_file)
    labels = tmp_path / "labels.csv"
    _fails_cleanly(capsys, ["predict", str(path), str(two_column_csv), "--out", str(labels)], [str(path), *fragments])
    assert not labels.exists()


# --------------------------------------------------------------------------- dataset files (IDX, gzip)


def _idx_file(tmp_path: Path, kind: str) -> Path:
    images, _ = fake_mnist(3, seed=0)
    good = idx_bytes(images)
    if kind == "bad magic":
        path = tmp_path / "a-images-idx3-ubyte"
        path.write_bytes(b"\x01\x02" + good[2:])
    elif kind == "bad magic, gzipped":
        path = tmp_path / "b-images-idx3-ubyte.gz"
        path.write_bytes(gzip.compress(b"\x00\x00\x07\x03" + good[4:]))
    elif kind == "truncated gzip":
        path = tmp_path / "c-images-idx3-ubyte.gz"
        data = gzip.compress(good)
        path.write_bytes(data[: len(data) // 2])
    elif kind == "sizes whose product wraps":
        path = tmp_path / "e-images-idx3-ubyte"
        path.write_bytes(good[:4] + (2**32 - 1).to_bytes(4, "big") * 3 + good[16:])
    elif kind == "no images":
        path = tmp_path / "f-images-idx3-ubyte"
        path.write_bytes(good[:4] + bytes(4) + good[8:16])
    else:  # missing
        path = tmp_path / "d-images-idx3-ubyte.gz"
    return path


IDX_ROWS = [
    ("bad magic", DataFileError, ["wrong magic number 0x01020803", "expected an IDX file"]),
    ("bad magic, gzipped", DataFileError, ["wrong magic number 0x00000703", "expected an IDX file"]),
    ("truncated gzip", DataFileError, ["truncated or corrupt gzip data", "fetch it again"]),
    ("missing", DatasetNotFoundError, ["no such file"]),
    ("sizes whose product wraps", DataFileError, ["the header says 4294967295 x 4294967295 x 4294967295"]),
]


@pytest.mark.parametrize("reader", ["read_idx", "load_dataset_file"])
@pytest.mark.parametrize("row", IDX_ROWS, ids=[r[0] for r in IDX_ROWS])
def test_bad_idx_library(tmp_path, row, reader):
    kind, error, fragments = row
    path = _idx_file(tmp_path, kind)
    with pytest.raises(error) as info:
        (read_idx if reader == "read_idx" else load_dataset_file)(path)
    _one_line_with(info.value, [str(path), *fragments])


@pytest.mark.parametrize("row", IDX_ROWS, ids=[r[0] for r in IDX_ROWS])
def test_bad_idx_cli(tmp_path, capsys, row):
    kind, _, fragments = row
    path = _idx_file(tmp_path, kind)
    _fails_cleanly(capsys, ["data", "show", str(path)], [str(path), *fragments])


def test_an_idx_file_of_no_images(tmp_path, capsys):
    """A valid IDX array of 0 images reads as such; as a dataset it is an error, not a crash later."""
    path = _idx_file(tmp_path, "no images")
    assert read_idx(path).shape == (0, 28, 28)
    fragments = [str(path), "holds 0 x 28 x 28 images; expected at least one image"]
    with pytest.raises(DataFileError) as info:
        load_dataset_file(path)
    _one_line_with(info.value, fragments)
    _fails_cleanly(capsys, ["data", "show", str(path)], fragments)


# --------------------------------------------------------------------------- output paths


@pytest.fixture
def locked_dir(tmp_path, monkeypatch):
    """A directory this process may not write to.

    chmod 0500 makes it so, except for root, whom chmod does not stop: there ``os.access``
    (which kmeanslab consults before writing) is made to answer as for a normal user, so the
    refusal is still tested, though the file system itself would have let root write.
    """
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        real_access = os.access

        def access(path, mode, *args, **kwargs):
            if Path(path).resolve() == locked.resolve() and mode & os.W_OK:
                return False
            return real_access(path, mode, *args, **kwargs)

        monkeypatch.setattr(os, "access", access)
    yield locked
    locked.chmod(0o700)


def test_fit_out_is_a_file(tmp_path, capsys):
    target = tmp_path / "results"
    target.write_text("keep me")
    _fails_cleanly(capsys, ["fit", "--out", str(target)], [str(target), "is a file", "expected a directory"])
    assert target.read_text() == "keep me"
    with pytest.raises(InputError, match="is a file; expected a directory"):
        prepare_out_dir(target)


def test_fit_out_under_a_file(tmp_path, capsys):
    """A directory that cannot be created, whoever runs the test (root included)."""
    blocker = tmp_path / "results"
    blocker.write_text("keep me")
    out = blocker / "run"
    _fails_cleanly(capsys, ["fit", "--out", str(out)], [str(out), "cannot be created", "is a file, not a directory"])
    assert blocker.read_text() == "keep me"
    with pytest.raises(InputError, match="cannot be created"):
        prepare_out_dir(out)
    with pytest.raises(InputError, match="cannot be created"):
        prepare_out_dir(out, create=False)


def test_fit_out_not_writable(locked_dir, capsys):
    _fails_cleanly(capsys, ["fit", "--out", str(locked_dir / "run")], ["is not writable", "choose another directory"])
    _fails_cleanly(capsys, ["fit", "--out", str(locked_dir)], [str(locked_dir), "is not writable"])
    assert list(locked_dir.iterdir()) == []


def test_predict_out_paths(tmp_path, capsys, model_file, two_column_csv):
    base = ["predict", str(model_file), str(two_column_csv), "--out"]
    _fails_cleanly(capsys, base + [str(tmp_path)], ["is a directory", "expected a file name"])
    blocker = tmp_path / "results"
    blocker.write_text("keep me")
    _fails_cleanly(capsys, base + [str(blocker / "labels.csv")], [str(blocker), "is a file, not a directory"])
    _fails_cleanly(capsys, base + [str(tmp_path / "no" / "labels.csv")], ["the directory", "does not exist"])
    assert blocker.read_text() == "keep me"
    assert not (tmp_path / "no").exists()


def test_predict_out_not_writable(locked_dir, capsys, model_file, two_column_csv):
    _fails_cleanly(
        capsys,
        ["predict", str(model_file), str(two_column_csv), "--out", str(locked_dir / "labels.csv")],
        [str(locked_dir), "is not writable"],
    )
    assert list(locked_dir.iterdir()) == []


def test_library_writers_refuse_an_impossible_path(tmp_path, model_file):
    blocker = tmp_path / "results"
    blocker.write_text("keep me")
    model = kmeanslab.load(model_file)
    for write in (lambda p: model.save(p), lambda p: write_csv(p, np.zeros(3))):
        with pytest.raises(OutputError) as info:
            write(blocker / "x.out")
        assert isinstance(info.value, OSError) and isinstance(info.value, KMeansLabError)
        _one_line_with(info.value, [str(blocker / "x.out"), "cannot write", "expected a path in an existing directory"])
        with pytest.raises(OutputError):
            write(tmp_path / "missing" / "x.out")
    assert blocker.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "results"]


# --------------------------------------------------------------------------- unexpected errors


def _explode(*args, **kwargs):
    raise RuntimeError("boom in the summary\nsecond line of the message")


def test_unexpected_error_exit_1_one_line_with_debug_hint(tmp_path, capsys, monkeypatch):
    import kmeanslab.cli.fit as fit_command

    monkeypatch.setattr(fit_command, "fit_summary", _explode)
    out = tmp_path / "run"
    code, stdout, err = _run(capsys, ["fit", "-k", "2", "--out", str(out)])
    assert code == 1
    assert stdout == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0] == (
        "kmeanslab: unexpected error: RuntimeError: boom in the summary (rerun with --debug for the traceback)"
    )
    assert not out.exists()
    with pytest.raises(RuntimeError, match="boom in the summary"):
        main(["fit", "-k", "2", "--debug", "--out", str(out)])
    assert not out.exists()


def test_unexpected_error_in_predict(tmp_path, capsys, monkeypatch, model_file, two_column_csv):
    import kmeanslab.cli.predict

    monkeypatch.setattr(kmeanslab.cli.predict, "load", _explode)
    labels = tmp_path / "labels.csv"
    code, _, err = _run(capsys, ["predict", str(model_file), str(two_column_csv), "--out", str(labels)])
    assert code == 1
    assert err.count("\n") == 1 and "RuntimeError: boom" in err and "--debug" in err
    assert "Traceback" not in err
    assert not labels.exists()


def test_bad_input_with_debug_still_raises_the_documented_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataFileError, match="the file is empty"):
        main(["fit", str(path), "--debug"])


# --------------------------------------------------------------------------- nothing lost

USER_FILES = {"notes.txt": b"my notes\n", ".hidden": b"x", "sub/keep.csv": b"1,2\n", "labels.old": b"old\n"}


def _populate(directory: Path) -> dict[str, bytes]:
    for name, content in USER_FILES.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(content)
    return _listing(directory)


def test_out_dir_keeps_files_it_did_not_create(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    before = _populate(out)
    code, _, err = _run(capsys, ["fit", "-k", "2", "--out", str(out)])
    assert code == 0, err
    after = _listing(out)
    assert {name: after[name] for name in before} == before
    assert set(after) - set(before) == {"centers.csv", "labels.csv", "summary.json", "model.npz"}
    # A second run replaces its own outputs and still leaves the others alone.
    code, _, err = _run(capsys, ["fit", "-k", "3", "--out", str(out)])
    assert code == 0, err
    again = _listing(out)
    assert {name: again[name] for name in before} == before
    assert set(again) == set(after)
    assert json.loads(again["summary.json"])["k"] == 3


@pytest.mark.parametrize("mask", [0o022, 0o027], ids=lambda m: f"umask{m:03o}")
def test_cli_outputs_get_the_users_umask(tmp_path, capsys, model_file, two_column_csv, mask):
    """Not mkstemp's 0600: what ``open`` would have given (0644 under the usual umask)."""
    previous = os.umask(mask)
    try:
        out = tmp_path / "run"
        code, _, err = _run(capsys, ["fit", "-k", "2", "--out", str(out)])
        assert code == 0, err
        labels = tmp_path / "labels.csv"
        code, _, err = _run(capsys, ["predict", str(model_file), str(two_column_csv), "--out", str(labels)])
        assert code == 0, err
    finally:
        os.umask(previous)
    written = [*sorted(out.iterdir()), labels]
    assert [p.name for p in written] == ["centers.csv", "labels.csv", "model.npz", "summary.json", "labels.csv"]
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path


@pytest.mark.parametrize("failure", ["bad data", "bad option", "unexpected error", "interrupt"])
def test_a_failed_run_changes_nothing_in_out(tmp_path, capsys, monkeypatch, failure):
    out = tmp_path / "run"
    out.mkdir()
    assert main(["fit", "-k", "2", "--out", str(out)]) == 0  # outputs of an earlier run
    capsys.readouterr()
    before = {**_populate(out)}
    argv = ["fit", "-k", "2", "--out", str(out)]
    if failure == "bad data":
        (tmp_path / "empty.csv").write_text("")
        argv.insert(1, str(tmp_path / "empty.csv"))
        expected = 2
    elif failure == "bad option":
        argv += ["--tol", "-1"]
        expected = 2
    else:
        import kmeanslab.cli.fit
        import kmeanslab.io

        real = kmeanslab.io.write_csv
        exc = RuntimeError("disk on fire") if failure == "unexpected error" else KeyboardInterrupt()

        def half_written(path, array, header=None):
            if Path(path).name == "labels.csv":
                with kmeanslab.io.atomic_write(path) as handle:
                    handle.write("label\n0\n")
                    raise exc
            return real(path, array, header)

        monkeypatch.setattr(kmeanslab.cli.fit, "write_csv", half_written)
        expected = 1 if failure == "unexpected error" else 130
    code, _, err = _run(capsys, argv)
    assert code == expected, err
    after = _listing(out)
    if failure in ("bad data", "bad option"):
        assert after == before
    else:
        # centers.csv was replaced (whole) before labels.csv failed; labels.csv is the old one.
        assert after["labels.csv"] == before["labels.csv"]
        assert {name: after[name] for name in USER_FILES} == {name: before[name] for name in USER_FILES}
        assert set(after) == set(before)  # no temporary file left
        assert after["centers.csv"].startswith(b"eruptions,waiting\n")


# A CLI process whose labels.csv writer stops half-way (after a flush) until it is killed.
_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import kmeanslab.io as kio

    real = kio.write_csv

    def slow_write_csv(path, array, header=None):
        if Path(path).name != "labels.csv":
            return real(path, array, header)
        with kio.atomic_write(path) as handle:
            handle.write("label\\n0\\n1\\n")
            handle.flush()
            print("WRITING", flush=True)
            time.sleep(120)
            handle.write("never\\n")

    kio.write_csv = slow_write_csv
    from kmeanslab.cli import run
    sys.argv = ["kmeanslab", "fit", "-k", "2", "--out", sys.argv[1]]
    run()
    """
)


def _start_slow_writer(tmp_path: Path, out: Path) -> subprocess.Popen:
    """The CLI in a subprocess, stopped half-way through writing labels.csv (until it is signalled)."""
    script = tmp_path / "slow.py"
    script.write_text(_SLOW_WRITER)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    deadline = time.monotonic() + 240
    line = ""
    while "WRITING" not in line:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            raise AssertionError(proc.stderr.read())
        assert time.monotonic() < deadline, "the CLI never reached the slow write"
    return proc


def _staging_dirs(out: Path) -> list[Path]:
    return [p for p in out.iterdir() if p.name.startswith(".kmeanslab-staging.")]


def _outside_staging(out: Path) -> dict[str, bytes]:
    return {name: data for name, data in _listing(out).items() if not name.startswith(".kmeanslab-staging.")}


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGPIPE", "SIGKILL"])
def test_killed_mid_write_leaves_the_old_outputs(tmp_path, sig):
    """What a signal does to an ``--out`` directory the CLI is writing.

    The run writes its files into a staging directory inside ``--out``; nothing in ``--out``
    changes until all of them are written. SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE: the
    staging directory is removed, ``--out`` holds exactly what it held, and the exit code is
    128 + the signal. SIGKILL cannot be caught: ``--out`` still holds what it held, and the
    staging directory is left until the next run there removes it.
    """
    out = tmp_path / "run"
    out.mkdir()
    (out / "labels.csv").write_text("old labels\n")
    (out / "notes.txt").write_text("mine\n")
    before = _listing(out)
    proc = _start_slow_writer(tmp_path, out)
    try:
        staging = _staging_dirs(out)
        assert len(staging) == 1  # the half-written set is beside the old one, hidden
        temporaries = [p.name for p in staging[0].iterdir() if p.name.startswith(".labels.csv.")]
        assert len(temporaries) == 1 and (staging[0] / "centers.csv").is_file()
        assert _outside_staging(out) == before
        proc.send_signal(getattr(signal, sig))
        code = proc.wait(timeout=60)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert _outside_staging(out) == before
    assert not (out / "centers.csv").exists()  # the new set never landed
    if sig == "SIGKILL":
        assert code == -signal.SIGKILL
        assert len(_staging_dirs(out)) == 1
        return
    assert _staging_dirs(out) == [] and sorted(p.name for p in out.iterdir()) == ["labels.csv", "notes.txt"]
    assert code == 128 + getattr(signal, sig), err
    assert "Traceback" not in err
    if sig == "SIGPIPE":
        assert err == ""  # the reader went away: nothing to say
    else:
        assert err.strip().splitlines() == [f"kmeanslab: interrupted by {sig}"], err


def test_a_killed_runs_staging_directory_is_removed_by_the_next_run(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # a process that has exited
    left = out / f".kmeanslab-staging.{pid}.abc12_yz"
    left.mkdir()
    (left / "labels.csv").write_text("half")
    fresh = out / f".kmeanslab-staging.{pid}.def45678"
    fresh.mkdir()
    mine = out / f".kmeanslab-staging.{os.getpid()}.ghi78901"  # a live process: never touched
    mine.mkdir()
    old = time.time() - 3600
    for path in (left / "labels.csv", left, mine):
        os.utime(path, (old, old))
    stray = out / f".labels.csv.{pid}.xyz12345.tmp"  # a temporary file of a killed single-file write
    lookalike = out / f".labels.csv.{pid}.my-backup.tmp"  # not a name kmeanslab gives: kept
    lookalike.write_text("keep")
    os.utime(lookalike, (old, old))
    stray.write_text("half")
    os.utime(stray, (old, old))
    code, _, err = _run(capsys, ["fit", "-k", "2", "--out", str(out)])
    assert code == 0, err
    assert not left.exists()  # dead and old: removed
    assert fresh.exists()  # dead but recent: maybe another PID namespace still writing it
    assert mine.exists()  # alive
    code, _, err = _run(
        capsys,
        [
            "predict",
            str(out / "model.npz"),
            str(kmeanslab.__path__[0]) + "/data/faithful.csv",
            "--out",
            str(out / "labels.csv"),
        ],
    )
    assert code == 0, err
    assert not stray.exists() and lookalike.read_text() == "keep"
