"""Choosing k: the knee, the elbow's metrics, choose_k and its vote, its figures, ``kmeanslab choose-k``."""

from __future__ import annotations

import doctest
import importlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from kmeanslab import experiments as ex
from kmeanslab.cli import main
from kmeanslab.datasets import load_faithful, make_blobs
from kmeanslab.errors import InputError
from kmeanslab.experiments import plots
from kmeanslab.metrics import silhouette_samples

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Five blobs (std 1) whose two nearest centres are 5 apart. With kneed, the elbow's knee on
# this data was 2, 4 and 4 for the ranges 1:8, 1:12 and 1:20 (the range-dependence of issue 14);
# the loss at k = 4, 5, 6 is about 4.2, 1.9, 1.7.
FIVE_CENTRES = [[-5.0, -9.0], [-3.0, -2.0], [0.0, -9.0], [4.0, -4.0], [-4.0, 8.0]]
SQUARE = [[-5.0, -5.0], [-5.0, 5.0], [5.0, -5.0], [5.0, 5.0]]
# The module, which kmeanslab.experiments.choose_k (the function) hides as an attribute.
choose_k_module = importlib.import_module("kmeanslab.experiments.choose_k")


@pytest.fixture(scope="module")
def five_blobs_csv(tmp_path_factory) -> Path:
    ds = make_blobs(500, centers=FIVE_CENTRES, std=1.0, seed=0)
    path = tmp_path_factory.mktemp("data") / "five.csv"
    np.savetxt(path, ds.data, delimiter=",", header="x,y", comments="", fmt="%.6f")
    return path


def well_separated_centres(k: int, d: int, seed: int, min_distance: float = 6.0) -> np.ndarray:
    """k centres uniform in [-10, 10]^d, redrawn until every two are ``min_distance`` apart."""
    rng = np.random.default_rng(seed)
    while True:
        centres = rng.uniform(-10, 10, size=(k, d))
        gaps = np.sqrt(((centres[:, None] - centres[None]) ** 2).sum(-1))[np.triu_indices(k, 1)]
        if gaps.min() >= min_distance:
            return centres


# --------------------------------------------------------------------------- the knee


def test_knee_by_hand():
    # log drops into k = 2, 3, 4, 5, 6: log 2.5, log 4, log 1.25, log 8/7, log 7/6; the drop
    # slows down most after k = 3 (log 4 - log 1.25).
    assert ex.find_knee([1, 2, 3, 4, 5, 6], [100.0, 40.0, 10.0, 8.0, 7.0, 6.0]) == 3
    # Scale does not matter, only relative drops.
    assert ex.find_knee([1, 2, 3, 4, 5, 6], [1e-3, 4e-4, 1e-4, 8e-5, 7e-5, 6e-5]) == 3


def test_knee_with_uneven_steps_compares_drops_per_unit_of_k():
    # log-loss slopes: (log 64 - log 16) / 1 = 1.39 into 2, (log 16 - log 1) / 2 = 1.39 into 4,
    # (log 1 - log 0.5) / 4 = 0.17 after 4: the slowdown is at 4, not at 2.
    assert ex.find_knee([1, 2, 4, 8], [64.0, 16.0, 1.0, 0.5]) == 4


def test_no_knee_in_flat_short_or_accelerating_curves():
    assert ex.find_knee([1, 2], [5.0, 1.0]) is None
    assert ex.find_knee([1, 2, 3], [2.0, 2.0, 2.0]) is None
    assert ex.find_knee([1, 2, 3, 4], [10.0, 9.0, 7.0, 3.0]) is None  # drops grow: no bend towards flat
    assert ex.find_knee([1, 2, 3], [4.0, 0.0, 0.0]) == 2  # a loss of 0 has its logarithm floored


def test_knee_rejects_bad_curves():
    with pytest.raises(InputError, match="expected equal 1-D shapes"):
        ex.find_knee([1, 2, 3], [1.0, 2.0])
    with pytest.raises(InputError, match="expected increasing values"):
        ex.find_knee([1, 3, 2], [3.0, 2.0, 1.0])
    with pytest.raises(InputError, match="the losses >= 0"):
        ex.find_knee([1, 2, 3], [3.0, -2.0, 1.0])


@settings(max_examples=200, deadline=None)
@given(
    knee=st.integers(2, 9),
    before=st.floats(1.5, 20.0),
    after=st.floats(0.0, 0.2),
    tail=st.integers(1, 15),
    scale=st.floats(1e-3, 1e6),
)
def test_knee_does_not_move_when_the_range_grows_past_it(knee, before, after, tail, scale):
    # The loss falls by a factor `before` per k up to the knee, then by at most 20% per k.
    ks = np.arange(1, knee + tail + 1)
    losses = scale * np.where(ks <= knee, before ** (knee - ks), (1.0 - after) ** (ks - knee))
    for end in range(knee + 1, ks[-1] + 1):
        assert ex.find_knee(ks[:end], losses[:end]) == knee


def test_the_five_blobs_of_the_issue_have_their_knee_at_five_for_every_range(five_blobs_csv, capsys):
    for ks in ("1:8", "1:12", "1:20"):
        assert main(["elbow", str(five_blobs_csv), "--k", ks, "--runs", "3", "--seed", "0"]) == 0
        assert "knee: k=5" in capsys.readouterr().out, ks


def test_choose_k_puts_the_knee_of_the_five_blobs_at_five_for_every_range():
    X = make_blobs(500, centers=FIVE_CENTRES, std=1.0, seed=0).data
    for stop in (8, 12, 20):
        result = ex.choose_k(X, range(1, stop + 1), criteria=["elbow", "silhouette"], seed=0)
        assert result.choices == {"silhouette": 5, "elbow": 5}, stop
        assert list(result.table.index) == list(range(1, stop + 1))


def test_elbow_knee_at_the_true_k_of_blobs():
    for k in (2, 3, 6):
        X = make_blobs(100 * k, centers=well_separated_centres(k, 2, seed=k), seed=k).data
        assert ex.elbow(X, ks=range(1, 13), runs=2, seed=0, n_init=3).attrs["knee"] == k


# --------------------------------------------------------------------------- the elbow's metric


def test_elbow_metric_adds_the_score_and_picks_by_it():
    X = make_blobs(400, centers=SQUARE, seed=0).data
    table = ex.elbow(X, ks=range(1, 8), runs=2, seed=0, metric="silhouette")
    assert table.attrs["metric"] == "silhouette" and table.attrs["choice"] == 4 and table.attrs["knee"] == 4
    assert np.isnan(table.loc[1, "silhouette_mean"]) and table["silhouette_mean"].iloc[1:].notna().all()
    lowest = ex.elbow(X, ks=range(1, 8), runs=2, seed=0, metric="davies_bouldin")
    assert lowest.attrs["choice"] == 4 == lowest["davies_bouldin_mean"].idxmin()
    plain = ex.elbow(X, ks=range(1, 8), runs=2, seed=0)
    assert plain.attrs["choice"] == plain.attrs["knee"] == 4 and "silhouette_mean" not in plain
    with pytest.raises(InputError, match="metric='inertia' is not valid; expected one of 'distortion'"):
        ex.elbow(X, ks=range(1, 4), runs=1, metric="inertia")


# --------------------------------------------------------------------------- choose_k


@pytest.fixture(scope="module")
def faithful_choice():
    return ex.choose_k(load_faithful().data, range(1, 11), seed=0)


def test_choose_k_picks_two_on_old_faithful(faithful_choice):
    result = faithful_choice
    assert result.k == 2
    assert {"silhouette", "gap", "elbow", "davies_bouldin"} <= set(result.supporters)
    assert result.summary.startswith("k = 2: ")


def test_choose_k_table_and_result(faithful_choice):
    result = faithful_choice
    table = result.table
    assert list(table.index) == list(range(1, 11)) and table.index.name == "k"
    for column in ("train", "val", "silhouette", "calinski_harabasz", "davies_bouldin", "iterations"):
        assert {f"{column}_mean", f"{column}_std"} <= set(table.columns)
    assert {"gap", "gap_se", "stability", "runs"} <= set(table.columns)
    assert table.loc[1, ["silhouette_mean", "stability"]].isna().all()
    assert (table["runs"] == 3).all()
    assert list(result.choices) == list(ex.CRITERIA)
    # 20% held out: 55 validation rows, 217 training rows, and the models are fitted on the latter.
    assert result.train_rows.size == 217 and np.all(np.diff(result.train_rows) > 0)
    assert set(result.models) == set(range(1, 11))
    best = result.models[2]
    assert best.labels_.size == 217
    assert best.inertia_ / 217 <= table.loc[2, "train_mean"] + 1e-9  # the best of the repeats
    # The silhouette is the exact score of the training rows' partitions.
    X_train = load_faithful().data[result.train_rows]
    assert silhouette_samples(X_train, best.labels_).mean() >= table.loc[2, "silhouette_mean"] - 1e-9


def test_choose_k_is_reproducible_and_counts_its_fits():
    X = make_blobs(150, centers=3, seed=1).data
    calls = []
    first = ex.choose_k(X, range(2, 6), repeats=2, n_refs=3, seed=5, on_fit=lambda: calls.append(1))
    assert len(calls) == ex.planned_fits(range(2, 6), repeats=2, n_refs=3) == 5 * 2 + 5 * 3
    second = ex.choose_k(X, range(2, 6), repeats=2, n_refs=3, seed=5)
    pd.testing.assert_frame_equal(first.table, second.table)
    assert first.choices == second.choices
    # A range from 2 gets k = 1 (the knee at 2 and the gap need it); a range from 3 does not.
    assert list(first.table.index) == [1, 2, 3, 4, 5]
    assert list(ex.choose_k(X, range(3, 6), repeats=2, n_refs=3, seed=5, val=None).table.index) == [3, 4, 5]


def test_choose_k_with_some_criteria_and_one_repeat():
    X = make_blobs(200, centers=SQUARE, seed=2).data
    result = ex.choose_k(X, range(1, 7), repeats=1, criteria=["silhouette", "stability"], seed=0, val=None)
    assert result.choices == {"silhouette": 4, "stability": None}
    assert result.k == 4 and result.supporters == ("silhouette",)
    assert result.summary == "k = 4: 1 of 2 criteria choose it (silhouette); the stability cannot choose."
    assert result.table["gap"].isna().all() and result.train_rows.size == 200


def test_choose_k_on_uniform_noise_lets_the_gap_say_one():
    X = np.random.default_rng(3).uniform(size=(300, 2))
    result = ex.choose_k(X, range(1, 8), criteria=["gap"], seed=0)
    assert result.choices == {"gap": 1} and result.k == 1


def test_choose_k_rejects_bad_arguments():
    X = make_blobs(100, centers=2, seed=0).data
    with pytest.raises(InputError, match="criteria='votes' is not valid"):
        ex.choose_k(X, criteria=["votes"])
    with pytest.raises(InputError, match="criteria is empty"):
        ex.choose_k(X, criteria=[])
    with pytest.raises(InputError, match="metric='l1' is not valid"):
        ex.choose_k(X, metric="l1")
    with pytest.raises(InputError, match="reference='normal' is not valid"):
        ex.choose_k(X, reference="normal")
    with pytest.raises(InputError, match="k_range=.* repeats a value"):
        ex.choose_k(X, [2, 3, 3])
    with pytest.raises(InputError, match=r"kmeans_params has unknown name\(s\) \['colour'\]"):
        ex.choose_k(X, range(1, 3), colour="red")


@pytest.mark.parametrize(
    ("choices", "k", "summary"),
    [
        ({"silhouette": 3, "gap": 3, "elbow": 3}, 3, "k = 3: every criterion chooses it."),
        (
            {"silhouette": 4, "gap": 2, "elbow": 2, "calinski_harabasz": 4},
            4,
            "k = 4: 2 of 4 criteria choose it (silhouette, Calinski-Harabasz); as many choose k = 2, and the tie "
            "goes to the silhouette; gap statistic says 2, elbow (knee) says 2.",
        ),
        (
            {"silhouette": 5, "gap": 1, "elbow": 5, "stability": None},
            5,
            "k = 5: 2 of 4 criteria choose it (silhouette, elbow (knee)); gap statistic says 1, the stability "
            "cannot choose.",
        ),
        ({"elbow": None}, None, "No criterion could choose k: the range has too few values of k."),
    ],
)
def test_vote(choices, k, summary):
    assert choose_k_module._vote(choices)[0] == k
    assert choose_k_module._vote(choices)[2] == summary


@pytest.mark.slow
@pytest.mark.parametrize("n_centres", range(2, 9))
def test_choose_k_finds_the_true_k_of_well_separated_blobs(n_centres):
    # Blobs of std 1 whose centres are at least 6 apart in [-10, 10]^d, 100 points each.
    votes = Counter()
    for d in (2, 10, 50):
        for seed in range(3):
            centres = well_separated_centres(n_centres, d, seed=1000 * n_centres + 10 * d + seed)
            X = make_blobs(100 * n_centres, centers=centres, seed=seed).data
            result = ex.choose_k(X, range(1, 21), seed=seed)
            assert result.k == n_centres, (d, seed, result.summary)
            votes.update(name for name, choice in result.choices.items() if choice == n_centres)
    # The elbow and the silhouette are right nearly everywhere, not just outvoted when wrong.
    assert votes["elbow"] == 9 and votes["silhouette"] >= 8


# --------------------------------------------------------------------------- figures


def test_plot_criteria_marks_each_choice_and_the_recommendation(faithful_choice):
    result = faithful_choice
    fig = plots.plot_criteria(result.table, result.choices, result.k)
    assert isinstance(fig, Figure)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    titles = [ax.get_title() for ax in visible]
    assert titles == [
        f"elbow (knee): k = {result.choices['elbow']}",
        f"silhouette: k = {result.choices['silhouette']}",
        f"gap statistic: k = {result.choices['gap']}",
        f"Calinski-Harabasz: k = {result.choices['calinski_harabasz']}",
        f"Davies-Bouldin: k = {result.choices['davies_bouldin']}",
        f"stability: k = {result.choices['stability']}",
    ]
    assert visible[0].get_yscale() == "log"
    for ax, name in zip(visible, ["elbow", "silhouette", "gap", "calinski_harabasz", "davies_bouldin", "stability"]):
        stars = [line for line in ax.lines if line.get_marker() == "*"]
        assert len(stars) == 1 and stars[0].get_xdata()[0] == result.choices[name]
        shaded = [patch for patch in ax.patches if patch.get_facecolor()[1] > 0.4]
        assert shaded, "the recommended k is shaded"
    assert "k = 2 recommended" in fig.get_suptitle()
    with pytest.raises(InputError, match="no criterion column"):
        plots.plot_criteria(pd.DataFrame({"x": [1.0]}))
    # A report's column: two panels per row, 7 inches wide, the panels in proportion.
    narrow = plots.plot_criteria(result.table, result.choices, result.k, columns=2, width=7.0)
    assert narrow.get_size_inches() == pytest.approx([7.0, 3 * 3.3 * 3.5 / 4.2])
    assert [ax.get_title() for ax in narrow.axes if ax.get_visible()] == titles
    with pytest.raises(InputError, match="width=0 is not valid; expected a positive number of inches"):
        plots.plot_criteria(result.table, width=0)
    with pytest.raises(InputError, match="columns=0"):
        plots.plot_criteria(result.table, columns=0)


def test_plot_silhouette_draws_one_profile_per_cluster():
    X = make_blobs(120, centers=3, seed=4).data
    labels = np.repeat([0, 1, 2], 40)
    samples = silhouette_samples(X, labels)
    fig = plots.plot_silhouette(samples, labels, title="three")
    ax = fig.axes[0]
    assert ax.get_title() == "three" and len(ax.collections) == 3
    mean_line = [line for line in ax.lines if line.get_label().startswith("mean silhouette")]
    assert mean_line and mean_line[0].get_xdata()[0] == pytest.approx(samples.mean())
    assert [t.get_text() for t in ax.texts] == ["0", "1", "2"]
    with pytest.raises(InputError, match="expected equal 1-D shapes"):
        plots.plot_silhouette(samples, labels[:10])


def test_plot_cluster_map_keeps_distances_and_sizes():
    centres = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    fig = plots.plot_cluster_map(centres, [10, 40, 20])
    ax = fig.axes[0]
    points = ax.collections[0]
    coords = points.get_offsets()
    # A projection of three centres on their own plane keeps their distances.
    assert np.linalg.norm(coords[0] - coords[1]) == pytest.approx(3.0)
    assert np.linalg.norm(coords[1] - coords[2]) == pytest.approx(5.0)
    np.testing.assert_allclose(points.get_sizes(), [500.0, 2000.0, 1000.0])
    assert "100% of their spread" not in ax.get_xlabel()
    assert [t.get_text() for t in ax.texts] == ["0\n(10)", "1\n(40)", "2\n(20)"]
    with pytest.raises(InputError, match=r"sizes has shape \(2,\); expected \(3,\)"):
        plots.plot_cluster_map(centres, [1, 2])
    assert plots.plot_cluster_map(centres[:2], [5, 5]).axes[0].get_ylabel().startswith("PC2 (none")


# --------------------------------------------------------------------------- the command line


def test_choose_k_command_prints_the_table_and_writes_the_evidence(tmp_path, capsys):
    out = tmp_path / "choose"
    code = main(["choose-k", "faithful", "--k", "2:8", "--refs", "4", "--no-progress", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "kmeanslab choose-k: faithful (272 x 2), 217 training / 55 validation rows" in printed
    assert "recommendation: k = 2: " in printed and "silhouette: k=2" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "centres.png",
        "choose_k.csv",
        "criteria.png",
        "results.json",
        "silhouette.png",
    ]
    assert (out / "silhouette.png").read_bytes()[:8] == PNG_MAGIC
    results = json.loads((out / "results.json").read_text())
    assert results["k"] == 2 and results["choices"]["silhouette"] == 2
    assert [row["k"] for row in results["table"]] == list(range(1, 9))
    assert results["parameters"]["refs"] == 4
    table = pd.read_csv(out / "choose_k.csv", index_col="k")
    assert table.loc[2, "silhouette_mean"] == pytest.approx(results["table"][1]["silhouette_mean"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["choose-k", "faithful", "--refs", "1"], "--refs 1 is not valid; expected at least 2"),
        (["choose-k", "faithful", "--seed", "-1"], "--seed -1 is not valid"),
        (["choose-k", "nowhere.csv"], "nowhere.csv"),
        (["choose-k", "faithful", "--criteria", "silhouette,votes"], "'silhouette,votes' is not valid"),
        (["choose-k", "faithful", "--k", "0:3"], "'0:3' is not valid"),
    ],
)
def test_choose_k_command_bad_input_is_one_line_and_exit_code_2(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_choose_k_command_leaves_no_output_on_bad_input(tmp_path):
    out = tmp_path / "never"
    assert main(["choose-k", "faithful", "--sample-size", "1", "--out", str(out)]) == 2
    assert not out.exists() or not any(out.iterdir())


def test_elbow_command_with_a_metric(tmp_path, capsys):
    out = tmp_path / "elbow"
    argv = ["elbow", "blobs", "--k", "1:7", "--runs", "2", "--metric", "calinski_harabasz", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "knee: k=4" in printed and "calinski_harabasz: k=4" in printed
    assert {p.name for p in out.iterdir()} == {"elbow.png", "elbow_calinski_harabasz.png", "elbow.csv", "results.json"}
    results = json.loads((out / "results.json").read_text())
    assert results["metric"] == "calinski_harabasz" and results["choice"] == 4


def test_docstring_examples():
    core = importlib.import_module("kmeanslab.experiments.core")
    for module in (choose_k_module, core):
        failed, attempted = doctest.testmod(module, verbose=False)
        assert failed == 0 and attempted > 0, module.__name__
