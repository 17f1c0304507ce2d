"""kmeanslab.plots: every function returns a labelled Figure and opens no pyplot window."""

from __future__ import annotations

import math

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


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(int), [0]])))
    return list(zip(edges[::2], edges[1::2]))


def grid_cells(fig) -> list:
    """The images of an image-grid figure, row by row, cut out of its one picture (None: a blank cell)."""
    (ax,) = fig.axes
    (image,) = ax.images
    canvas = np.ma.filled(np.ma.masked_invalid(image.get_array()), np.nan)
    filled = ~np.isnan(canvas)
    cells = []
    for r0, r1 in _runs(filled.any(axis=1)):
        for c0, c1 in _runs(filled.any(axis=0)):
            cell = canvas[r0:r1, c0:c1]
            cells.append(None if np.isnan(cell).all() else cell)
    return cells


@pytest.mark.parametrize("side", [8, 28])
def test_plot_centroids_any_square_size(side):
    rng = np.random.default_rng(1)
    centres = rng.random((12, side * side))
    labels = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]
    purity = np.linspace(0.5, 1.0, 12)
    fig = plots.plot_centroids(centres, labels=labels, purity=purity, sizes=range(12))
    shown = grid_cells(fig)
    assert len(shown) == 12 and all(cell is not None for cell in shown)
    assert shown[0].shape == (side, side)
    for cell, centre in zip(shown, centres):
        np.testing.assert_array_equal(cell, centre.reshape(side, side))
    titles = [t.get_text() for t in fig.axes[0].texts]
    assert titles[0] == "→ 3 (50%)\nn=0" and len(titles) == 12
    assert "inferred label" in fig.get_suptitle()


def test_plot_centroids_sorted_by_label():
    centres = np.arange(3 * 64, dtype=float).reshape(3, 64)
    fig = plots.plot_centroids(centres, labels=[7, 2, 7], purity=[0.5, 0.9, 0.8], sort_by_label=True)
    titles = [t.get_text() for t in fig.axes[0].texts]
    assert titles == ["→ 2 (90%)", "→ 7 (80%)", "→ 7 (50%)"]
    np.testing.assert_array_equal(grid_cells(fig)[0], centres[1].reshape(8, 8))


def test_plot_centroids_rejects_non_square_rows_and_wrong_label_count():
    with pytest.raises(InputError, match="10 features do not make a square image"):
        plots.plot_centroids(np.zeros((2, 10)))
    fig = plots.plot_centroids(np.zeros((2, 10)), image_shape=(2, 5))
    assert grid_cells(fig)[0].shape == (2, 5)
    with pytest.raises(InputError, match="labels has 1 entries; expected 2"):
        plots.plot_centroids(np.zeros((2, 64)), labels=[1])


def test_plot_centroids_rows_are_even_and_figures_fit_a_page():
    # 10 centres: two rows of 5; 40: five rows of 8. Never wider than MAX_WIDTH.
    for k, columns in ((2, 2), (10, 5), (20, 7), (40, 8)):
        fig = plots.plot_centroids(np.random.default_rng(k).random((k, 784)))
        assert len(grid_cells(fig)) == math.ceil(k / columns) * columns
        assert fig.get_figwidth() <= plots.MAX_WIDTH
        assert all(t.get_fontsize() >= 10 for t in fig.axes[0].texts)


def test_plot_representatives_draws_each_index_once():
    images = np.random.default_rng(2).random((20, 8, 8))
    indices = np.array([[0, 5, 7], [3, -1, -1]])
    fig = plots.plot_representatives(images, indices, row_labels=["→ 0", "→ 1"])
    cells = grid_cells(fig)
    drawn = [cell for cell in cells if cell is not None]
    assert len(drawn) == 4 and len(cells) == 6
    np.testing.assert_array_equal(drawn[1], images[5])
    np.testing.assert_array_equal(cells[3], images[3])
    texts = fig.axes[0].texts
    assert [t.get_text() for t in texts if t.get_ha() == "right"] == ["→ 0", "→ 1"]
    assert [t.get_text() for t in texts if t.get_ha() == "center"] == ["nearest", "#2", "#3"]
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


def test_clusters_differ_by_marker_as_well_as_colour(blobs):
    X, model = blobs
    fig = plots.plot_clusters(X[:, :2], model.labels_, model.cluster_centers_[:, :2])
    clusters = fig.axes[0].collections[:-1]
    shapes = [tuple(map(tuple, c.get_paths()[0].vertices.round(6))) for c in clusters]
    assert len(set(shapes)) == len(clusters) == 3
    grid = plots.plot_cluster_grid(X[:, :2], {3: KMeans(3, random_state=0).fit(X[:, :2])})
    assert "shape" in [t.get_text() for t in grid.legends[0].get_texts()][1]


def test_the_log_k_axis_says_so():
    table = pd.DataFrame({"accuracy_mean": [0.4, 0.8], "accuracy_std": [0.0, 0.0]}, index=pd.Index([5, 100], name="k"))
    assert plots.plot_accuracy_vs_k(table).axes[0].get_xlabel() == "k (number of clusters, log scale)"
    linear = table.rename(index={100: 8})
    assert plots.plot_accuracy_vs_k(linear).axes[0].get_xlabel() == "k (number of clusters)"


def test_plot_elbow_panels_one_panel_per_table():
    other = _elbow_table() * 10
    other.attrs["knee"] = 2
    fig = plots.plot_elbow_panels({"raw": _elbow_table(), "scaled": other}, title="J against k")
    assert [ax.get_title() for ax in fig.axes] == ["raw", "scaled"]
    assert [line.get_label() for ax in fig.axes for line in ax.lines if line.get_label().startswith("knee")] == [
        "knee: k=3",
        "knee: k=2",
    ]
    assert fig.get_suptitle() == "J against k" and fig.get_figwidth() <= plots.MAX_WIDTH
    with pytest.raises(InputError, match="tables is empty"):
        plots.plot_elbow_panels({})


def test_plot_init_comparison_wraps_four_panels_into_two_columns():
    runs = pd.DataFrame(
        {
            "init": ["gaussian", "random", "k-means++", "uniform"] * 2,
            "mean_dist": np.linspace(5.7, 5.9, 8),
            "iterations": [20, 25, 22, 15, 18, 16, 30, 12],
            "accuracy": np.linspace(0.6, 0.7, 8),
            "sse": np.linspace(1, 2, 8),
        }
    )
    fig = plots.plot_init_comparison(runs, metrics=("mean_dist", "iterations", "accuracy"))
    assert len(fig.axes) == 3 and fig.get_figwidth() <= plots.MAX_WIDTH
    assert [t.get_text() for t in fig.axes[2].get_xticklabels()] == ["gaussian", "random", "k-means++", "uniform"]


def test_plot_init_learning_curves_one_panel_per_init():
    runs = pd.DataFrame(
        {
            "init": ["gaussian", "gaussian", "random"],
            "loss_history": [[100.0, 10.0, 9.0], [90.0, 9.5], [20.0, 9.2, 9.1, 9.0]],
        }
    )
    fig = plots.plot_init_learning_curves(runs, title="t")
    assert [ax.get_title() for ax in fig.axes] == [
        "gaussian: 2 runs, 2 ± 0 iterations",
        "random: 1 runs, 4 ± 0 iterations",
    ]
    # Each run a line and a dot where it stopped; 100 / 9 > 10: a log loss axis, labelled as such.
    gaussian = fig.axes[0]
    assert [list(line.get_xdata()) for line in gaussian.lines] == [[1, 2, 3], [3], [1, 2], [2]]
    assert gaussian.get_yscale() == "log" and gaussian.get_ylabel().endswith("log scale")
    with pytest.raises(InputError, match="loss_history"):
        plots.plot_init_learning_curves(runs.drop(columns="loss_history"))
