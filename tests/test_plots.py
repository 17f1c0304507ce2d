"""kmeanslab.plots: every function returns a labelled Figure and opens no pyplot window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from kmeanslab import KMeans
from kmeanslab.errors import InputError
from kmeanslab.experiments import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    """No test leaves a pyplot figure open: the plots never go through pyplot's state."""
    yield
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 0.0], [0.0, 6.0, 3.0]])
    X = np.concatenate([c + rng.normal(size=(40, 3)) for c in centres])
    model = KMeans(3, random_state=0).fit(X)
    return X, model


def texts(ax):
    return ax.get_title(), ax.get_xlabel(), ax.get_ylabel()


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_plot_clusters_2d_labels_axes_and_marks_centres(blobs):
    X, model = blobs
    fig = plots.plot_clusters(X[:, :2], model.labels_, model.cluster_centers_[:, :2], feature_names=["a", "b"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert texts(ax) == ("k-means clusters (k=3)", "a", "b")
    labels = legend_texts(ax)
    assert labels[-1] == "centres" and sum(label.startswith("cluster") for label in labels) == 3
    # One scatter per cluster and one for the centres.
    assert len(ax.collections) == 4
    np.testing.assert_allclose(ax.collections[-1].get_offsets(), model.cluster_centers_[:, :2])
    # Each centre wears its cluster's colour, but the legend key for "centres" is neutral (white),
    # not the colour of cluster 0.
    np.testing.assert_allclose(ax.collections[-1].get_facecolors()[0][:3], ax.collections[0].get_facecolors()[0][:3])
    key = ax.get_legend().legend_handles[-1]
    assert key.get_markerfacecolor() == "white"


def test_plot_clusters_refuses_more_than_two_features_without_pca(blobs):
    X, model = blobs
    with pytest.raises(InputError, match="X has 3 features.*pca=True"):
        plots.plot_clusters(X, model.labels_, model.cluster_centers_)


def test_plot_clusters_with_pca_projects_points_and_centres(blobs):
    from sklearn.decomposition import PCA

    X, model = blobs
    fig = plots.plot_clusters(X, model.labels_, model.cluster_centers_, pca=True)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("PC1 (") and ax.get_ylabel().startswith("PC2 (")
    expected = PCA(2).fit(X).transform(model.cluster_centers_)
    np.testing.assert_allclose(np.abs(ax.collections[-1].get_offsets()), np.abs(expected), atol=1e-9)


def test_plot_cluster_grid_one_panel_per_model(blobs):
    X, _ = blobs
    models = {k: KMeans(k, random_state=0).fit(X[:, :2]) for k in (2, 3, 4, 5)}
    fig = plots.plot_cluster_grid(X[:, :2], models, ncols=3)
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert [t.split(",")[0] for t in titled] == ["k=2", "k=3", "k=4", "k=5"]
    assert fig.get_suptitle()
    with pytest.raises(InputError, match="models is empty"):
        plots.plot_cluster_grid(X, {})


@pytest.mark.parametrize("side", [8, 28])
def test_plot_centroids_any_square_size(side):
    rng = np.random.default_rng(1)
    centres = rng.random((12, side * side))
    labels = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]
    purity = np.linspace(0.5, 1.0, 12)
    fig = plots.plot_centroids(centres, labels=labels, purity=purity, sizes=range(12))
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 12
    assert shown[0].images[0].get_array().shape == (side, side)
    assert shown[0].get_title() == "→ 3 (50%)\nn=0"
    assert "inferred label" in fig.get_suptitle()


def test_plot_centroids_sorted_by_label():
    centres = np.arange(3 * 64, dtype=float).reshape(3, 64)
    fig = plots.plot_centroids(centres, labels=[7, 2, 7], purity=[0.5, 0.9, 0.8], sort_by_label=True)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == ["→ 2 (90%)", "→ 7 (80%)", "→ 7 (50%)"]
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), centres[1].reshape(8, 8))


def test_plot_centroids_rejects_non_square_rows_and_wrong_label_count():
    with pytest.raises(InputError, match="10 features do not make a square image"):
        plots.plot_centroids(np.zeros((2, 10)))
    fig = plots.plot_centroids(np.zeros((2, 10)), image_shape=(2, 5))
    assert fig.axes[0].images[0].get_array().shape == (2, 5)
    with pytest.raises(InputError, match="labels has 1 entries; expected 2"):
        plots.plot_centroids(np.zeros((2, 64)), labels=[1])


def test_plot_representatives_draws_each_index_once():
    images = np.random.default_rng(2).random((20, 8, 8))
    indices = np.array([[0, 5, 7], [3, -1, -1]])
    fig = plots.plot_representatives(images, indices, row_labels=["→ 0", "→ 1"])
    drawn = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(drawn) == 4
    np.testing.assert_array_equal(drawn[1], images[5])
    assert fig.axes[0].get_ylabel() == "→ 0"
    with pytest.raises(InputError, match="indices reach 20"):
        plots.plot_representatives(images, np.array([[20]]))


def test_plot_learning_curves():
    fig = plots.plot_learning_curves({"k=2": [5.0, 3.0, 2.9], "k=3": [4.0, 2.0]})
    ax = fig.axes[0]
    assert texts(ax) == ("Loss at each iteration", "iteration", "J (mean squared distance)")
    assert legend_texts(ax) == ["k=2 (3 iterations)", "k=3 (2 iterations)"]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    with pytest.raises(InputError, match="histories is empty"):
        plots.plot_learning_curves({})


def _elbow_table():
    table = pd.DataFrame(
        {
            "train_mean": [10.0, 4.0, 1.0, 0.9, 0.8],
            "train_std": [0.0, 0.2, 0.1, 0.1, 0.1],
            "val_mean": [11.0, 5.0, 1.5, 1.4, 1.35],
            "val_std": [0.0, 0.3, 0.1, 0.1, 0.1],
            "runs": [5] * 5,
        },
        index=pd.Index([1, 2, 3, 4, 5], name="k"),
    )
    table.attrs["knee"] = 3
    return table


def test_plot_elbow_bands_and_knee():
    fig = plots.plot_elbow(_elbow_table())
    ax = fig.axes[0]
    assert ax.get_xlabel() == "k (number of clusters)" and ax.get_title()
    labels = legend_texts(ax)
    assert labels[0] == "training, ±1 std over 5 runs"
    assert labels[1].startswith("validation") and labels[2] == "knee: k=3"
    assert len(ax.collections) == 2  # the two std bands
    knee_line = [line for line in ax.lines if line.get_label() == "knee: k=3"][0]
    assert list(knee_line.get_xdata()) == [3, 3]
    assert "knee" not in " ".join(legend_texts(plots.plot_elbow(_elbow_table(), knee=None).axes[0]))


def test_plot_accuracy_vs_k_log_axis_and_error_rate():
    ks = [5, 10, 15, 20, 100]
    table = pd.DataFrame(
        {
            "accuracy_mean": [0.4, 0.6, 0.7, 0.75, 0.85],
            "accuracy_std": [0.02] * 5,
            "nmi_mean": [0.5] * 5,
            "runs": [3] * 5,
        },
        index=pd.Index(ks, name="k"),
    )
    fig = plots.plot_accuracy_vs_k(table)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylim() == (0.0, 1.0)
    # The legend is the figure's, under the axes, so that it hides no curve.
    assert ax.get_legend() is None
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "accuracy, ±1 std over 3 runs",
        "normalised mutual information",
    ]
    assert any(child.get_ylabel() == "error rate (1 − accuracy)" for child in ax.child_axes)
    # 5..20 measured, then a jump to 100: solid over 5..20, the jump dotted.
    accuracy = [line for line in ax.lines if line.get_color() == "tab:blue"]
    solid = [list(line.get_xdata()) for line in accuracy if line.get_linestyle() == "-"]
    dotted = [list(line.get_xdata()) for line in accuracy if line.get_linestyle() == ":"]
    assert solid == [[5, 10, 15, 20], [100]] and dotted == [[20, 100]]
    with pytest.raises(InputError, match="no column"):
        plots.plot_accuracy_vs_k(table.drop(columns="accuracy_std"))


def test_plot_init_comparison_one_panel_per_present_metric():
    runs = pd.DataFrame(
        {
            "init": ["gaussian"] * 3 + ["random"] * 3,
            "mean_dist": [5.8, 5.9, 5.85, 5.7, 5.75, 5.72],
            "iterations": [20, 25, 22, 15, 18, 16],
        }
    )
    fig = plots.plot_init_comparison(runs)  # no accuracy column: two panels
    assert len(fig.axes) == 2
    assert [ax.get_ylabel() for ax in fig.axes] == ["J_clust (mean distance)", "iterations to converge"]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["gaussian", "random"]
    assert "3 seeds" in fig.get_suptitle()


def test_plot_confusion_matrix():
    matrix = pd.DataFrame([[5, 1], [2, 7]], index=[0, 1], columns=[0, 1])
    fig = plots.plot_confusion_matrix(matrix)
    ax = fig.axes[0]
    assert ax.get_title() == "Confusion matrix (accuracy 0.800)"
    assert ax.get_ylabel() == "true label"
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "5", "7"]


def test_save_figure_writes_a_png_atomically(tmp_path):
    fig = plots.plot_learning_curves([3.0, 2.0, 1.5])
    path = plots.save_figure(fig, tmp_path / "curve.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in tmp_path.iterdir()] == ["curve.png"]
    assert plots.figure_to_png(fig)[:8] == PNG_MAGIC
