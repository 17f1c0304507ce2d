"""``--scale`` (fit, stored in the model, applied by predict), labels.csv's id column and
``--with-data``, and the fit summary for large k: end to end through the command line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import kmeanslab
from kmeanslab.cli import main
from kmeanslab.datasets import load_faithful
from kmeanslab.io.model_file import read_model_file, write_model_file


def _standardised(X: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``X`` standardised with the mean and std (ddof=0) of ``like``, as scikit-learn's StandardScaler."""
    return (X - like.mean(axis=0)) / like.std(axis=0)


@pytest.fixture
def named_csv(tmp_path):
    """A CSV with a text id column and two features on very different scales, and its features."""
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(0, 1000, 60), rng.normal(0, 1, 60)])
    X[:30, 1] += 12  # the clusters are told apart by the small-scale feature only
    names = [f"item-{i:02d}" for i in range(60)]
    path = tmp_path / "items.csv"
    lines = ["name,big,small"] + [f"{n},{float(a)!r},{float(b)!r}" for n, (a, b) in zip(names, X)]
    path.write_text("\n".join(lines) + "\n")
    return path, X, names


def test_fit_scale_standard_then_predict_gives_the_labels_of_standardised_data(tmp_path, capsys, named_csv):
    path, X, _ = named_csv
    out = tmp_path / "run"
    assert main(["fit", str(path), "--columns", "big,small", "-k", "2", "--scale", "standard", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "scale=standard" in printed
    expected = kmeanslab.KMeans(n_clusters=2, random_state=0).fit(_standardised(X, X))
    # The fit is the fit of the standardised data: same inertia, same labels.
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scale"] == "standard"
    assert summary["inertia"] == pytest.approx(expected.inertia_, rel=1e-12)
    fit_labels = pd.read_csv(out / "labels.csv")["label"].to_numpy()
    np.testing.assert_array_equal(fit_labels, expected.labels_)
    # The standardised split is the one the small feature makes (the raw data would split on "big").
    assert len(set(fit_labels[:30])) == 1 and len(set(fit_labels[30:])) == 1 and fit_labels[0] != fit_labels[-1]
    # centers.csv is in the data's units: the standardised centres scaled back.
    centers = np.loadtxt(out / "centers.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(centers, expected.cluster_centers_ * X.std(axis=0) + X.mean(axis=0), rtol=1e-9)
    # The model file records the rescaling; predict applies it to new rows.
    record = read_model_file(out / "model.npz")
    assert record.preprocessing["scale"] == "standard"
    np.testing.assert_allclose(record.preprocessing["offset"], X.mean(axis=0), rtol=1e-12)
    new = np.array([[1900.0, 11.2], [-1900.0, 0.1], [10.0, 3.0]])
    new_path = tmp_path / "new.csv"
    np.savetxt(new_path, new, delimiter=",", header="big,small", comments="")
    labels_path = tmp_path / "new-labels.csv"
    assert main(["predict", str(out / "model.npz"), str(new_path), "--out", str(labels_path)]) == 0
    assert "features standardised as in fitting" in capsys.readouterr().out
    predicted = pd.read_csv(labels_path)
    assert list(predicted.columns) == ["row", "label"]
    np.testing.assert_array_equal(predicted["label"], expected.predict(_standardised(new, X)))
    # Without the rescaling the last new row (3.0: below the middle, 6, but nearer +1 than -1) would
    # go with the other side: the test can fail.
    assert expected.predict(new)[2] != predicted["label"][2]


def test_fit_scale_minmax_and_constant_feature(tmp_path, capsys):
    X = np.array([[0.0, 5.0], [1.0, 5.0], [10.0, 5.0], [11.0, 5.0]])
    path = tmp_path / "x.npy"
    np.save(path, X)
    out = tmp_path / "run"
    assert main(["fit", str(path), "-k", "2", "--scale", "minmax", "--out", str(out)]) == 0
    record = read_model_file(out / "model.npz")
    np.testing.assert_array_equal(record.preprocessing["offset"], [0.0, 5.0])
    np.testing.assert_array_equal(record.preprocessing["divisor"], [11.0, 1.0])  # constant: divided by 1
    model = kmeanslab.load(out / "model.npz")
    np.testing.assert_allclose(np.sort(model.cluster_centers_[:, 0]), [0.5 / 11, 10.5 / 11])
    capsys.readouterr()


def test_model_files_without_preprocessing_load_as_none(tmp_path):
    model = kmeanslab.KMeans(n_clusters=2, random_state=0).fit(load_faithful().data)
    path = model.save(tmp_path / "plain.npz")
    assert read_model_file(path).preprocessing == {"scale": "none"}
    # A file written before the field existed: the header has no "preprocessing" key at all.
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    header = json.loads(str(arrays["__kmeanslab__"]))
    del header["preprocessing"], header["array_preprocessing"]
    arrays["__kmeanslab__"] = np.array(json.dumps(header))
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    assert read_model_file(old).preprocessing == {"scale": "none"}
    assert (
        kmeanslab.load(old).predict(load_faithful().data[:3]).tolist()
        == model.predict(load_faithful().data[:3]).tolist()
    )


def test_predict_refuses_a_damaged_scaling(tmp_path, capsys):
    model = kmeanslab.KMeans(n_clusters=2, random_state=0).fit(load_faithful().data)
    path = tmp_path / "m.npz"
    record_path = model.save(path)
    record = read_model_file(record_path)
    write_model_file(
        path,
        record.estimator,
        record.params,
        record.attributes,
        {"scale": "standard", "offset": np.zeros(2), "divisor": np.array([1.0, 0.0])},
    )
    data = tmp_path / "x.csv"
    data.write_text("1,2\n3,4\n")
    assert main(["predict", str(path), str(data)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "divisor <= 0" in err and len(err.strip().splitlines()) == 1


def test_labels_join_back_by_id_column_and_with_data(tmp_path, capsys, named_csv):
    path, X, names = named_csv
    out = tmp_path / "run"
    args = ["fit", str(path), "--columns", "big,small", "-k", "2", "--scale", "standard"]
    assert main([*args, "--out", str(out), "--id-column", "name"]) == 0
    labels = pd.read_csv(out / "labels.csv")
    capsys.readouterr()
    # Without --columns the id column is the text column the table drops, and that is no news.
    assert main(["fit", str(path), "-k", "2", "--out", str(tmp_path / "quiet"), "--id-column", "name"]) == 0
    assert "dropped" not in capsys.readouterr().err
    assert main(["fit", str(path), "-k", "2"]) == 0
    assert "dropped non-numeric column(s) ['name']" in capsys.readouterr().err
    assert list(labels.columns) == ["name", "label"]
    assert labels["name"].tolist() == names
    # Joined back on the name, every row gets the label of the fit, whatever the order of the data.
    data = pd.read_csv(path).sample(frac=1, random_state=0)
    joined = data.merge(labels, on="name", validate="one_to_one")
    expected = kmeanslab.KMeans(n_clusters=2, random_state=0).fit(_standardised(X, X)).labels_
    np.testing.assert_array_equal(joined.sort_values("name")["label"], expected)

    with_data = tmp_path / "with-data"
    assert main([*args, "--out", str(with_data), "--with-data"]) == 0
    text = (with_data / "labels.csv").read_text().splitlines()
    assert text[0] == "row,name,big,small,label"
    # Every input cell is copied as the file writes it, text and numbers alike.
    source_lines = path.read_text().splitlines()[1:]
    assert [line.rsplit(",", 1)[0] for line in text[1:]] == [f"{i},{line}" for i, line in enumerate(source_lines, 1)]
    assert [int(line.rsplit(",", 1)[1]) for line in text[1:]] == expected.tolist()
    capsys.readouterr()


def test_predict_with_id_column_and_with_data_to_stdout(tmp_path, capsys):
    model = kmeanslab.KMeans(n_clusters=2, random_state=0).fit(load_faithful().data).save(tmp_path / "m.npz")
    data = tmp_path / "new.csv"
    data.write_text("id,eruptions,waiting,label\nA,4.5,80,x\nB,1.7,50,y\n")
    assert main(["predict", str(model), str(data), "--columns", "eruptions,waiting", "--id-column", "id"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "id,label" and [line.split(",")[0] for line in lines[1:]] == ["A", "B"]
    assert main(["predict", str(model), str(data), "--columns", "eruptions,waiting", "--with-data"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # The data's own "label" column is kept; the clusters go into kmeans_label.
    assert lines[0] == "row,id,eruptions,waiting,label,kmeans_label"
    assert lines[1].startswith("1,A,4.5,80,x,") and lines[2].startswith("2,B,1.7,50,y,")
    assert {lines[1].rsplit(",", 1)[1], lines[2].rsplit(",", 1)[1]} == {"0", "1"}


def test_label_options_errors(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("name,a,b\nx,1,2\ny,3,4\nz,8,9\n")
    out = tmp_path / "run"
    assert main(["fit", str(data), "--columns", "a,b", "-k", "2", "--out", str(out), "--id-column", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--id-column 'nope' is not a column of d.csv" in err and "'name'" in err
    assert not out.exists()
    assert main(["fit", str(data), "--columns", "a,b", "-k", "2", "--id-column", "name"]) == 2
    assert "add --out DIR" in capsys.readouterr().err


def test_fit_summary_of_large_k_is_a_distribution(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 2))
    path = tmp_path / "x.npy"
    np.save(path, X)
    out = tmp_path / "run"
    assert main(["fit", str(path), "-k", "150", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    sizes = json.loads((out / "summary.json").read_text())["cluster_sizes"]
    assert len(sizes) == 150 and sum(sizes) == 600
    line = next(line for line in printed.splitlines() if "cluster sizes" in line)
    assert line.strip() == (
        f"cluster sizes          150 clusters: min {min(sizes)}, median {np.median(sizes):g}, max {max(sizes)}, "
        f"{sizes.count(0)} empty (every size in summary.json with --out)"
    )
    assert "[" not in line  # no list of 150 numbers
    # Twenty clusters or fewer are still listed one by one.
    assert main(["fit", str(path), "-k", "3"]) == 0
    assert "cluster sizes          [" in capsys.readouterr().out


def test_fit_verbose_says_converged_once(capsys):
    assert main(["fit", "-k", "2", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert out.count("converged after") == 1
    assert "iteration    1  loss" in out
