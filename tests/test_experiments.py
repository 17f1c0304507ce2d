"""kmeanslab.experiments: numbers on small data."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from kmeanslab import KMeans
from kmeanslab import experiments as ex
from kmeanslab.datasets import load_digits, make_blobs, train_val_split
from kmeanslab.errors import DatasetNotFoundError, InputError

SQUARE = [[-5.0, -5.0], [-5.0, 5.0], [5.0, -5.0], [5.0, 5.0]]


@pytest.fixture(scope="module")
def blobs4():
    """400 points around 4 well-separated centres, split 80/20."""
    ds = make_blobs(400, centers=SQUARE, std=1.0, seed=0)
    train, val = train_val_split(ds, val=0.2, seed=0)
    return train, val


@pytest.fixture(scope="module")
def blobs_elbow(blobs4):
    train, val = blobs4
    return ex.elbow(train.data, val.data, ks=range(1, 11), runs=3, seed=0)


# --------------------------------------------------------------------------- elbow


def test_elbow_blobs_with_four_centres_has_its_knee_at_four(blobs_elbow):
    assert blobs_elbow.attrs["knee"] == 4
    assert list(blobs_elbow.index) == list(range(1, 11))
    assert (blobs_elbow["runs"] == 3).all()


def test_elbow_validation_loss_decreases_from_one_to_four_clusters(blobs_elbow):
    val = blobs_elbow.loc[1:4, "val_mean"].to_numpy()
    assert np.all(np.diff(val) < 0)
    # Past the true k the validation loss flattens: k=4 -> 5 gains far less than k=3 -> 4.
    gain_34 = blobs_elbow.loc[3, "val_mean"] - blobs_elbow.loc[4, "val_mean"]
    gain_45 = blobs_elbow.loc[4, "val_mean"] - blobs_elbow.loc[5, "val_mean"]
    assert gain_45 < 0.1 * gain_34


def test_elbow_validation_loss_uses_the_trained_centres(blobs4):
    train, val = blobs4
    table = ex.elbow(train.data, val.data, ks=[1], runs=2, seed=1)
    # k=1: the centre is the training mean, whatever the seed; the validation loss is the
    # validation points' mean squared distance to it, not to their own mean.
    centre = train.data.mean(axis=0)
    expected = np.mean(np.sum((val.data - centre) ** 2, axis=1))
    own_mean = np.mean(np.sum((val.data - val.data.mean(axis=0)) ** 2, axis=1))
    assert table.loc[1, "val_mean"] == pytest.approx(expected, rel=1e-10)
    assert table.loc[1, "val_mean"] > own_mean
    assert table.loc[1, "train_std"] == 0.0 and table.loc[1, "val_std"] == 0.0


def test_elbow_training_loss_is_the_mean_squared_distance(blobs4):
    train, _ = blobs4
    table = ex.elbow(train.data, ks=[3], runs=1, seed=5)
    model = KMeans(3, n_init=1, random_state=ex.run_seeds(1, 5)[0]).fit(train.data)
    assert table.loc[3, "train_mean"] == pytest.approx(model.inertia_ / train.data.shape[0], rel=1e-12)
    assert "val_mean" not in table.columns


def test_elbow_same_seed_same_table(blobs4):
    train, val = blobs4
    first = ex.elbow(train.data, val.data, ks=[2, 5], runs=2, seed=3, init="random")
    second = ex.elbow(train.data, val.data, ks=[2, 5], runs=2, seed=3, init="random")
    pd.testing.assert_frame_equal(first, second)


def test_elbow_counts_fits_through_on_fit(blobs4):
    train, val = blobs4
    calls = []
    ex.elbow(train.data, val.data, ks=[1, 2, 3], runs=2, seed=0, on_fit=lambda: calls.append(1))
    assert len(calls) == 6


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(ks=[0, 1]), "ks=0"),
        (dict(ks=[]), "ks is empty"),
        (dict(ks=[2, 2]), "repeats"),
        (dict(runs=0), "runs=0"),
        (dict(max_iterations=5), "unknown name(s) ['max_iterations']"),
        (dict(ks=[400]), "larger than the number of samples"),
    ],
)
def test_elbow_rejects_bad_parameters(blobs4, kwargs, message):
    train, val = blobs4
    with pytest.raises(InputError, match=re.escape(message)):
        ex.elbow(train.data, val.data, **{"ks": [1, 2], "runs": 1, **kwargs})


def test_elbow_rejects_validation_data_of_another_width(blobs4):
    train, _ = blobs4
    with pytest.raises(InputError, match="X_val has 3 features"):
        ex.elbow(train.data, np.zeros((5, 3)), ks=[1], runs=1)


def test_find_knee():
    assert ex.find_knee([1, 2, 3, 4, 5, 6], [100.0, 40.0, 10.0, 8.0, 7.0, 6.0]) == 3
    assert ex.find_knee([1, 2], [5.0, 1.0]) is None
    assert ex.find_knee([1, 2, 3], [2.0, 2.0, 2.0]) is None
    with pytest.raises(InputError, match="shapes"):
        ex.find_knee([1, 2, 3], [1.0, 2.0])


# --------------------------------------------------------------------------- summaries


def test_summarize_runs_gives_mean_and_population_std():
    runs = pd.DataFrame({"init": ["a", "a", "b"], "seed": [0, 1, 0], "loss": [1.0, 3.0, 5.0]})
    table = ex.summarize_runs(runs, "init")
    assert list(table.columns) == ["loss_mean", "loss_std", "runs"]
    assert table.loc["a", "loss_mean"] == 2.0 and table.loc["a", "loss_std"] == 1.0
    assert table.loc["b", "loss_std"] == 0.0 and table.loc["b", "runs"] == 1
    with pytest.raises(InputError, match="no column"):
        ex.summarize_runs(runs, "k")


# --------------------------------------------------------------------------- clusters as a classifier

# Three tight groups; group 0 holds labels 7, 7, 3, group 1 holds 3, 3, group 2 a 1/5 tie.
POINTS = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [10.0, 10.0], [10.1, 10.0], [20.0, 0.0], [20.1, 0.0]])
TRUTH = np.array([7, 7, 3, 3, 3, 5, 1])
START = np.array([[0.0, 0.0], [10.0, 10.0], [20.0, 0.0]])


def test_cluster_classifier_majority_vote_and_ties():
    clf = ex.ClusterClassifier(KMeans(3, init=START)).fit(POINTS, TRUTH)
    assert clf.classes_.tolist() == [1, 3, 5, 7]
    assert clf.votes_.tolist() == [[0, 1, 0, 2], [0, 2, 0, 0], [1, 0, 1, 0]]
    assert clf.cluster_labels_.tolist() == [7, 3, 1]  # the tie goes to the smaller label
    np.testing.assert_allclose(clf.cluster_purity_, [2 / 3, 1.0, 0.5])
    assert clf.predict([[0.05, 0.05], [10.0, 9.9], [19.0, 0.0]]).tolist() == [7, 3, 1]
    assert clf.score(POINTS, TRUTH) == pytest.approx(5 / 7)
    matrix = clf.confusion_matrix(POINTS, TRUTH)
    assert matrix.index.tolist() == [1, 3, 5, 7]
    assert matrix.loc[3, 7] == 1 and matrix.loc[3, 3] == 2 and matrix.loc[5, 1] == 1
    assert int(np.trace(matrix.to_numpy())) == 5


def test_cluster_classifier_prefit_and_string_labels():
    model = KMeans(3, init=START).fit(POINTS)
    names = np.array(["seven", "seven", "three", "three", "three", "five", "one"])
    clf = ex.ClusterClassifier(model, prefit=True).fit(POINTS, names)
    assert clf.kmeans_ is model
    assert clf.cluster_labels_.tolist() == ["seven", "three", "five"]


def test_cluster_classifier_fit_clones_the_model():
    model = KMeans(3, init=START)
    clf = ex.ClusterClassifier(model).fit(POINTS, TRUTH)
    assert clf.kmeans_ is not model and not hasattr(model, "cluster_centers_")


def test_cluster_classifier_rejects_labels_of_another_length():
    with pytest.raises(InputError, match=r"y has shape \(3,\); expected \(7,\)"):
        ex.ClusterClassifier(KMeans(3, init=START)).fit(POINTS, [1, 2, 3])


def test_purity_ari_nmi():
    scores = ex.clustering_scores([0, 0, 1, 1], [0, 0, 0, 1])
    assert scores["purity"] == pytest.approx(0.75)
    assert scores["ari"] == pytest.approx(0.0)
    perfect = ex.clustering_scores([0, 0, 1, 1, 2], [5, 5, 3, 3, 9])
    assert perfect == {"ari": 1.0, "nmi": pytest.approx(1.0), "purity": 1.0}


def test_digits_k10_majority_vote_accuracy_is_in_the_measured_band():
    # Measured on all 1797 digits with KMeans(10) (k-means++, one init) for seeds 0..59: single-seed
    # accuracy 0.697-0.870 (mean 0.768, sd 0.038); means over 5 consecutive seeds 0.743-0.796.
    digits = load_digits()
    accuracies = [
        ex.ClusterClassifier(KMeans(10, random_state=seed))
        .fit(digits.data, digits.target)
        .score(digits.data, digits.target)
        for seed in range(5)
    ]
    assert all(0.65 <= a <= 0.90 for a in accuracies)
    assert 0.72 <= np.mean(accuracies) <= 0.82


def test_accuracy_vs_k_on_digits():
    digits = load_digits()
    train, test = train_val_split(digits, val=0.3, seed=0)
    table = ex.accuracy_vs_k(train.data, train.target, test.data, test.target, ks=[5, 24], repeats=2, seed=0)
    assert list(table.index) == [5, 24]
    np.testing.assert_allclose(table["accuracy_mean"] + table["error_mean"], 1.0)
    # Measured: k=5 about 0.43 (five clusters can name at most five digits), k=24 about 0.92.
    assert table.loc[5, "accuracy_mean"] <= 0.5
    assert table.loc[24, "accuracy_mean"] >= 0.85
    assert {"ari_mean", "nmi_mean", "purity_mean", "train_accuracy_mean"} <= set(table.columns)


def test_accuracy_vs_k_needs_test_labels_with_test_data():
    with pytest.raises(InputError, match="X_test and y_test go together"):
        ex.accuracy_vs_k(POINTS, TRUTH, X_test=POINTS, ks=[2])


# --------------------------------------------------------------------------- initialisations


def test_compare_inits_on_separated_blobs(blobs4):
    train, val = blobs4
    runs = ex.compare_inits(train.data, 4, train.target, val.data, val.target, seeds=4)
    assert len(runs) == 12 and runs["init"].tolist() == ["gaussian"] * 4 + ["random"] * 4 + ["k-means++"] * 4
    np.testing.assert_allclose(runs["mse"] * train.data.shape[0], runs["sse"], rtol=1e-12)
    assert (runs["mean_dist"] ** 2 <= runs["mse"] * (1 + 1e-12)).all()  # Jensen: mean d <= sqrt(mean d^2)
    assert (runs["iterations"] >= 1).all()
    plus = runs[runs["init"] == "k-means++"]
    # Four well-separated blobs: k-means++ finds them from every seed.
    assert plus["sse"].max() == pytest.approx(plus["sse"].min(), rel=1e-9)
    assert (plus["accuracy"] == 1.0).all()
    summary = ex.summarize_runs(runs, "init", ["sse", "iterations", "accuracy"])
    assert summary.loc["k-means++", "sse_std"] == pytest.approx(0.0, abs=1e-6)
    assert summary.loc["k-means++", "runs"] == 4


def test_compare_inits_rows_are_the_fits_of_each_seed(blobs4):
    train, val = blobs4
    runs = ex.compare_inits(train.data, 3, train.target, val.data, val.target, inits=["random"], seeds=[11])
    row = runs.iloc[0]
    # The same fit by hand: one initialisation from data points, seed 11.
    model = KMeans(3, init="random", n_init=1, random_state=11).fit(train.data)
    distances = np.linalg.norm(train.data - model.cluster_centers_[model.predict(train.data)], axis=1)
    assert row["sse"] == pytest.approx(model.inertia_, rel=1e-12)
    assert row["mean_dist"] == pytest.approx(distances.mean(), rel=1e-10)
    assert row["iterations"] == model.n_iter_
    # Accuracy is on the held-out rows, each predicted by its nearest centre's majority label.
    clf = ex.ClusterClassifier(model, prefit=True).fit(train.data, train.target)
    assert row["accuracy"] == pytest.approx(clf.score(val.data, val.target))
    assert row["train_accuracy"] == pytest.approx(clf.score(train.data, train.target))
    # Three clusters for four blobs: at most three of the four labels are predicted.
    assert row["accuracy"] <= 0.8


def test_compare_inits_keeps_each_runs_loss_history_when_asked(blobs4):
    train, _ = blobs4
    runs = ex.compare_inits(train.data, 3, inits=["uniform", "k-means++"], seeds=[3, 4], histories=True)
    assert runs["init"].tolist() == ["uniform", "uniform", "k-means++", "k-means++"]
    model = KMeans(3, init="uniform", n_init=1, random_state=4).fit(train.data)
    np.testing.assert_allclose(runs["loss_history"].iloc[1], model.loss_history_, rtol=1e-12)
    assert all(len(h) == n for h, n in zip(runs["loss_history"], runs["iterations"]))
    # The last loss of a run is its final J (mean squared distance).
    np.testing.assert_allclose([h[-1] for h in runs["loss_history"]], runs["mse"], rtol=1e-9)
    # Not a measured column: summaries leave it out, and by default it is not there.
    assert "loss_history_mean" not in ex.summarize_runs(runs, "init").columns
    assert "loss_history" not in ex.compare_inits(train.data, 3, inits=["random"], seeds=1).columns


def test_compare_inits_without_labels_and_bad_inits(blobs4):
    train, _ = blobs4
    runs = ex.compare_inits(train.data, 2, inits=["random"], seeds=[7, 8])
    assert runs["seed"].tolist() == [7, 8] and "accuracy" not in runs.columns
    with pytest.raises(InputError, match="inits='best'"):
        ex.compare_inits(train.data, 2, inits=["best"], seeds=1)


# --------------------------------------------------------------------------- one fit


def test_learning_curve_is_the_loss_history():
    model = KMeans(3, init=START).fit(POINTS)
    curve = ex.learning_curve(model)
    assert curve["iteration"].tolist() == list(range(1, model.n_iter_ + 1))
    np.testing.assert_array_equal(curve["loss"], model.loss_history_)
    assert np.all(np.diff(curve["loss"]) <= 0)


def test_learning_curve_first_iteration_of_a_known_start():
    X = np.array([[0.0], [1.0], [10.0], [11.0]])
    model = KMeans(2, init=np.array([[0.0], [1.0]]), stop="loss", tol=0.0).fit(X)
    # Start (0, 1): the first assignment puts 1, 10, 11 with centre 1: (0 + 0 + 81 + 100) / 4.
    assert ex.learning_curve(model)["loss"].iloc[0] == pytest.approx(181 / 4)
    assert ex.learning_curve(model)["loss"].iloc[-1] == pytest.approx(0.25)


def test_fit_range_and_representatives():
    models = ex.fit_range(POINTS, [1, 3], seed=0)
    assert list(models) == [1, 3] and models[3].n_clusters == 3
    labels = np.array([0, 0, 0, 1, 1, 2, 2])
    centers = np.array([[0.0, 0.0], [10.0, 10.0], [20.05, 0.0]])
    reps = ex.representative_indices(POINTS, labels, centers, n=3)
    assert reps.tolist() == [[0, 1, 2], [3, 4, -1], [5, 6, -1]]
    with pytest.raises(InputError, match="cluster indices"):
        ex.representative_indices(POINTS, labels + 1, centers)


# --------------------------------------------------------------------------- MNIST set-up


def test_balanced_indices():
    y = np.array([0, 1, 0, 1, 0, 2, 2, 1])
    index = ex.balanced_indices(y, 2, seed=0)
    assert np.bincount(y[index]).tolist() == [2, 2, 2]
    assert np.all(np.diff(index) > 0)
    with pytest.raises(InputError, match=r"label 0 but there are only 3"):
        ex.balanced_indices(y, 4)


def test_mnist_split_without_files_says_how_to_fetch(tmp_path):
    # Neither split: the message names the test split, the one the experiments need.
    with pytest.raises(DatasetNotFoundError, match="MNIST test data not found.*kmeanslab data fetch mnist"):
        ex.mnist_split(data_home=tmp_path)


def test_mnist_split_uses_the_training_split_when_present(tmp_path):
    from _datafiles import write_idx

    rng = np.random.default_rng(0)
    home = tmp_path / "mnist"
    home.mkdir()
    for split, n in (("train", 60), ("t10k", 30)):
        write_idx(home / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(home / f"{split}-labels-idx1-ubyte.gz", np.tile(np.arange(10, dtype=np.uint8), n // 10))
    train, test, note = ex.mnist_split(20, data_home=tmp_path, seed=1)
    assert train.data.shape == (20, 784) and np.bincount(train.target).tolist() == [2] * 10
    assert test.data.shape == (30, 784)
    assert "training split" in note


@pytest.mark.data
def test_mnist_split_from_the_test_split_only(mnist_dir):
    train, test, note = ex.mnist_split(1000, data_home=mnist_dir.parent, seed=0)
    assert train.data.shape == (1000, 784) and train.images.shape == (1000, 28, 28)
    assert np.bincount(train.target).tolist() == [100] * 10
    assert test.data.shape == (9000, 784)
    # Disjoint: the 10000 test images are split between the two (the digit counts add up).
    assert (np.bincount(train.target) + np.bincount(test.target)).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
    assert "Only the MNIST test split" in note and "other 9000" in note
    _, small, note = ex.mnist_split(1000, 500, data_home=mnist_dir.parent, seed=0)
    assert small.data.shape[0] == 500 and "500 of them" in note
    # The rarest digit of the test split (5) has 892 images: 891 of each is the most it can lend.
    with pytest.raises(InputError, match=r"n_train=8920 .* 892 of its rarest digit; expected n_train <= 8910"):
        ex.mnist_split(8920, data_home=mnist_dir.parent)
