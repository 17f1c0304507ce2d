"""The pictures of the experiments: each function returns a :class:`matplotlib.figure.Figure`.

Figures are built on :class:`~matplotlib.figure.Figure` directly, not through pyplot: nothing is
shown, no global figure is left open, and it works on a machine without a display whatever the
configured backend. Save with :func:`save_figure` (atomic) or turn into PNG bytes with
:func:`figure_to_png`.

Figures are at most :data:`MAX_WIDTH` inches wide (770 px at :data:`DPI`): multi-panel figures
wrap onto more rows rather than grow sideways, so that a page that fits them to a 400 px phone
screen shrinks them to about half, not a quarter, and their tick labels stay legible. Clusters
are told apart by marker shape as well as by colour.
"""

from __future__ import annotations

import io as _io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import InputError
from ..io import atomic_write
from ..validation import check_data, check_int

__all__ = [
    "plot_clusters",
    "plot_cluster_grid",
    "plot_centroids",
    "plot_representatives",
    "plot_learning_curves",
    "plot_elbow",
    "plot_elbow_panels",
    "plot_accuracy_vs_k",
    "plot_init_comparison",
    "plot_init_learning_curves",
    "plot_confusion_matrix",
    "infer_image_shape",
    "figure_to_png",
    "save_figure",
]

DPI = 110
#: The widest figure, in inches: 770 px at 110 dpi, shown at half size on a 400 px screen.
MAX_WIDTH = 7.0
# One marker shape per cluster, so that colour is not the only cue ("X" marks the centres).
_MARKERS = ("o", "s", "^", "D", "v", "P", "*", "<", "h", ">", "p", "d")
_CENTRE_STYLE = dict(marker="X", s=180, edgecolors="black", linewidths=1.2, zorder=3)
_METRIC_NAMES = {
    "sse": "SSE (sum of squared distances)",
    "mse": "J (mean squared distance)",
    "mean_dist": "J_clust (mean distance)",
    "iterations": "iterations to converge",
    "accuracy": "accuracy (majority vote)",
    "error": "error rate",
    "train_accuracy": "training accuracy",
    "ari": "adjusted Rand index",
    "nmi": "normalised mutual information",
    "purity": "purity",
}


# --------------------------------------------------------------------------- helpers


def _cluster_colors(k: int) -> np.ndarray:
    """k distinguishable RGBA colours: tab10, tab20, then evenly spaced hues."""
    from matplotlib import colormaps

    if k <= 10:
        return colormaps["tab10"](np.arange(k))
    if k <= 20:
        return colormaps["tab20"](np.arange(k))
    return colormaps["hsv"](np.linspace(0, 1, k, endpoint=False))


def _new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _centre_handle():
    """A legend entry for the centres that does not take one cluster's colour."""
    from matplotlib.lines import Line2D

    return Line2D(
        [],
        [],
        marker="X",
        linestyle="none",
        markersize=11,
        markerfacecolor="white",
        markeredgecolor="black",
        markeredgewidth=1.2,
        label="centres",
    )


def infer_image_shape(n_features: int, image_shape: Sequence[int] | None = None) -> tuple[int, int]:
    """The (height, width) of images stored as rows of ``n_features`` pixels.

    Parameters
    ----------
    n_features : int
    image_shape : (int, int), optional
        Used as given, after checking that it holds ``n_features`` pixels.

    Returns
    -------
    (int, int)
        ``image_shape``, else the square whose side is ``sqrt(n_features)``.
    """
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
        if len(shape) != 2 or shape[0] * shape[1] != n_features or min(shape) < 1:
            raise InputError(
                f"image_shape={tuple(image_shape)!r} is not valid; expected (height, width) with "
                f"height x width = {n_features} (the number of features)"
            )
        return shape
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise InputError(f"{n_features} features do not make a square image; pass image_shape=(height, width)")
    return side, side


def _as_images(X: Any, image_shape: Sequence[int] | None, name: str) -> np.ndarray:
    """Rows of pixels, or images already, as an array (n, height, width)."""
    array = np.asarray(X)
    if array.ndim == 3:
        return array
    array = check_data(array, name)
    height, width = infer_image_shape(array.shape[1], image_shape)
    return array.reshape(-1, height, width)


def _balanced_columns(n: int, most: int) -> int:
    """Columns for n panels, at most ``most`` per row, the rows as even as possible (10 -> 5)."""
    rows = math.ceil(n / most)
    return math.ceil(n / rows)


def _image_grid(
    images: np.ndarray, grid: np.ndarray, *, cell_width: float, min_width: float, title_lines: int, cmap: str
) -> tuple[Figure, Any, list[tuple[float, float]]]:
    """Images laid out in one picture, ``grid[r, c]`` the image of row r, column c (-1: none).

    One axes and one ``imshow`` for the whole grid, rather than an axes per image: a grid of
    60 MNIST digits drew in 0.25 s instead of 1.0-1.4 s (one axes each, with or without
    constrained layout, 2-core machine shared with other work). Above each row is a band of
    ``title_lines`` lines for captions; blank cells and gaps are white.

    Returns
    -------
    fig, ax
    cells : list of (left, top, right, bottom)
        Each cell's edges in data coordinates, in row-major order (y grows downwards): a
        caption goes at ``((left + right) / 2, top)`` with ``va="bottom"``.
    """
    from matplotlib import colormaps

    nrows, ncols = grid.shape
    height, width = images.shape[1:3]
    cell_width = min(cell_width, (MAX_WIDTH - 0.4) / ncols)
    gap = max(1, round(0.15 * width))
    inches_per_unit = cell_width / (width + gap)
    # A caption line at 10 pt is about 0.18 inch.
    band = math.ceil(title_lines * 0.18 / inches_per_unit) if title_lines else 0
    pitch_y, pitch_x = height + band + gap, width + gap
    canvas = np.full((nrows * pitch_y, ncols * pitch_x - gap), np.nan)
    cells = []
    for r in range(nrows):
        for c in range(ncols):
            y0, x0 = r * pitch_y + band, c * pitch_x
            if grid[r, c] >= 0:
                canvas[y0 : y0 + height, x0 : x0 + width] = images[grid[r, c]]
            cells.append((x0 - 0.5, y0 - 0.5, x0 + width - 0.5, y0 + height - 0.5))
    axes_width = ncols * cell_width
    fig = _new_figure(max(axes_width + 0.4, min_width), axes_width * canvas.shape[0] / canvas.shape[1] + 0.6)
    ax = fig.add_subplot()
    shown = images[grid[grid >= 0]]
    colours = colormaps[cmap].with_extremes(bad="white")
    ax.imshow(canvas, cmap=colours, vmin=float(shown.min()), vmax=float(shown.max()), interpolation="nearest")
    ax.set_axis_off()
    return fig, ax, cells


def _hide_ticks(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def figure_to_png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes."""
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = DPI) -> Path:
    """Write the figure as a PNG file, atomically (a temporary file renamed into place).

    Returns
    -------
    pathlib.Path
    """

    data = figure_to_png(fig, dpi)
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)


# --------------------------------------------------------------------------- scatter plots


def _project(X: np.ndarray, centers: np.ndarray | None, pca: bool, feature_names):
    """2-D coordinates of X and the centres, and the two axis labels."""
    d = X.shape[1]
    if d < 2:
        raise InputError(f"X has {d} feature; a 2-D scatter needs at least 2")
    if not pca:
        if d > 2:
            raise InputError(
                f"X has {d} features; a 2-D scatter plots 2 of them: pass pca=True to project "
                f"onto the first two principal components"
            )
        names = list(feature_names) if feature_names is not None else ["x0", "x1"]
        return X, centers, names[0], names[1]
    from sklearn.decomposition import PCA

    projection = PCA(n_components=2).fit(X)
    share = projection.explained_variance_ratio_ * 100
    labels = [f"PC{i + 1} ({share[i]:.0f}% of variance)" for i in range(2)]
    projected_centers = None if centers is None else projection.transform(centers)
    return projection.transform(X), projected_centers, labels[0], labels[1]


def _draw_clusters(ax, X, labels, centers, pca, feature_names, legend=True) -> None:
    X = check_data(X, "X")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (X.shape[0],):
        raise InputError(f"labels has shape {labels.shape}; expected ({X.shape[0]},), one per row of X")
    if centers is not None:
        centers = check_data(centers, "centers", n_features=X.shape[1], estimator_name="X")
    k = int(max(labels.max() + 1, 0 if centers is None else centers.shape[0]))
    points, centre_points, xlabel, ylabel = _project(X, centers, pca, feature_names)
    colors = _cluster_colors(k)
    for c in range(k):
        members = labels == c
        if members.any():
            ax.scatter(
                points[members, 0],
                points[members, 1],
                s=14,
                alpha=0.6,
                color=colors[c],
                marker=_MARKERS[c % len(_MARKERS)],
                label=f"cluster {c} ({members.sum()})",
            )
    if centre_points is not None:
        ax.scatter(
            centre_points[:, 0],
            centre_points[:, 1],
            color=colors[: centre_points.shape[0]],
            label="_centres",
            **_CENTRE_STYLE,
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        handles, _ = ax.get_legend_handles_labels()
        if centre_points is not None:
            handles.append(_centre_handle())  # each centre wears its cluster's colour; the key is neutral
        ax.legend(handles=handles, fontsize="small", markerscale=1.0, ncols=1 if k <= 8 else 2, loc="best")


def plot_clusters(
    X: Any,
    labels: Any,
    centers: Any = None,
    *,
    pca: bool = False,
    feature_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Scatter of the points coloured by cluster, with the centres marked.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Cluster index of each row.
    centers : array-like of shape (n_clusters, n_features), optional
    pca : bool, default=False
        Project onto the first two principal components of X. Required when X has more
        than 2 features: plotting those without it is an error.
    feature_names : sequence of str, optional
        Axis labels for 2-D data.
    title : str, optional

    Returns
    -------
    Figure
    """
    fig = _new_figure(6.4, 5.0)
    ax = fig.add_subplot()
    _draw_clusters(ax, X, labels, centers, pca, feature_names)
    k = len(np.unique(np.asarray(labels)))
    ax.set_title(title or f"k-means clusters (k={k})" + (", PCA projection" if pca else ""))
    return fig


def plot_cluster_grid(
    X: Any,
    models: Mapping[int, Any],
    *,
    pca: bool = False,
    feature_names: Sequence[str] | None = None,
    title: str | None = None,
    ncols: int = 2,
) -> Figure:
    """One cluster scatter per fitted model, side by side (k = 2, 3, ... on the same data).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data the models were fitted on.
    models : mapping of k to fitted KMeans
    pca, feature_names
        As :func:`plot_clusters`.
    title : str, optional
    ncols : int, default=2
        Panels per row (each about 3.4 inches wide).

    Returns
    -------
    Figure
    """
    if not models:
        raise InputError("models is empty; expected at least one fitted model")
    ncols = min(check_int(ncols, "ncols", min_value=1), len(models))
    nrows = math.ceil(len(models) / ncols)
    fig = _new_figure(3.4 * ncols, 3.0 * nrows + 0.5)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (k, model) in zip(axes, models.items()):
        _draw_clusters(ax, X, model.labels_, model.cluster_centers_, pca, feature_names, legend=False)
        ax.set_title(f"k={k}, J={model.inertia_ / len(model.labels_):.4g}")
    for ax in axes[len(models) :]:
        ax.set_axis_off()
    from matplotlib.lines import Line2D

    handles = [
        _centre_handle(),
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markersize=4,
            color="grey",
            label="points: colour and shape by cluster",
        ),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize="small")
    fig.suptitle(title or "k-means clusters for each k")
    return fig


# --------------------------------------------------------------------------- images


def _label_title(label: Any, purity: float | None, size: int | None) -> str:
    text = f"→ {label}" if label is not None else ""
    if purity is not None and np.isfinite(purity):
        text += f" ({purity:.0%})"
    if size is not None:
        text += f"\nn={size}"
    return text.strip()


def plot_centroids(
    centers: Any,
    *,
    labels: Sequence[Any] | None = None,
    purity: Sequence[float] | None = None,
    sizes: Sequence[int] | None = None,
    image_shape: Sequence[int] | None = None,
    ncols: int | None = None,
    title: str | None = None,
    cmap: str = "gray_r",
    sort_by_label: bool = False,
) -> Figure:
    """The centres drawn as images, each titled with its inferred label.

    Parameters
    ----------
    centers : array-like of shape (n_clusters, n_pixels)
        Any square image size (8x8 digits, 28x28 MNIST), or ``image_shape``.
    labels : sequence, optional
        The label each cluster stands for (``ClusterClassifier.cluster_labels_``).
    purity : sequence of float, optional
        The share of each cluster's members that carry its label.
    sizes : sequence of int, optional
        Members per cluster.
    image_shape : (int, int), optional
    ncols : int, optional
        Images per row; default up to 8, the rows as even as they can be (10 centres: 2 rows
        of 5).
    title : str, optional
    cmap : str, default="gray_r"
        Dark ink on white, as the digits are written.
    sort_by_label : bool, default=False
        Order the centres by label (the purest first within a label), so that the clusters of
        one digit sit together; needs ``labels``.

    Returns
    -------
    Figure
    """
    images = _as_images(centers, image_shape, "centers")
    k = images.shape[0]
    for name, values in (("labels", labels), ("purity", purity), ("sizes", sizes)):
        if values is not None and len(values) != k:
            raise InputError(f"{name} has {len(values)} entries; expected {k}, one per centre")
    order = np.arange(k)
    if sort_by_label:
        if labels is None:
            raise InputError("sort_by_label=True needs labels; expected the label of each centre")
        secondary = -np.nan_to_num(np.asarray(purity, dtype=float)) if purity is not None else order
        order = np.lexsort((secondary, np.asarray(labels)))
    ncols = _balanced_columns(k, 8) if ncols is None else min(check_int(ncols, "ncols", min_value=1), k)
    nrows = math.ceil(k / ncols)
    captions = [
        _label_title(
            None if labels is None else labels[c],
            None if purity is None else float(purity[c]),
            None if sizes is None else int(sizes[c]),
        )
        or f"cluster {c}"
        for c in order
    ]
    lines = max(caption.count("\n") + 1 for caption in captions)
    grid = np.full((nrows, ncols), -1)
    grid.flat[:k] = order
    # At least 3.2 inches, so that the title fits over two or three centres.
    fig, ax, cells = _image_grid(images, grid, cell_width=0.85, min_width=3.2, title_lines=lines, cmap=cmap)
    for (left, top, right, _), caption in zip(cells[:k], captions):
        ax.text((left + right) / 2, top, caption, ha="center", va="bottom", fontsize=10, linespacing=1.1)
    fig.suptitle(title or f"The {k} centres as images" + (" (→ inferred label, purity)" if labels is not None else ""))
    return fig


def plot_representatives(
    X: Any,
    indices: Any,
    *,
    image_shape: Sequence[int] | None = None,
    row_labels: Sequence[Any] | None = None,
    title: str | None = None,
    cmap: str = "gray_r",
) -> Figure:
    """A few members of each cluster, one row per cluster.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_pixels) or (n_samples, height, width)
        The images (rows of pixels with a square size, or ``image_shape``).
    indices : array-like of int, shape (n_clusters, n_per_cluster)
        The rows to show for each cluster, -1 for none
        (:func:`kmeanslab.experiments.representative_indices`).
    image_shape : (int, int), optional
    row_labels : sequence, optional
        A name for each cluster's row (default ``cluster i``).
    title : str, optional
    cmap : str, default="gray_r"

    Returns
    -------
    Figure
    """
    images = _as_images(X, image_shape, "X")
    indices = np.asarray(indices)
    if indices.ndim != 2 or indices.dtype.kind not in "iu":
        raise InputError(
            f"indices has shape {indices.shape} and dtype {indices.dtype}; expected integers (n_clusters, n)"
        )
    if indices.size and indices.max() >= images.shape[0]:
        raise InputError(f"indices reach {indices.max()}; X has {images.shape[0]} rows")
    k, n = indices.shape
    if row_labels is not None and len(row_labels) != k:
        raise InputError(f"row_labels has {len(row_labels)} entries; expected {k}, one per cluster")
    # Column headings above the first row only; the layout makes room for them and the row names.
    fig, ax, cells = _image_grid(
        images, indices, cell_width=min(0.8, (MAX_WIDTH - 1.3) / n), min_width=3.2, title_lines=0, cmap=cmap
    )
    for j in range(n):
        left, top, right, _ = cells[j]
        ax.text(
            (left + right) / 2, top - 1, "nearest" if j == 0 else f"#{j + 1}", ha="center", va="bottom", fontsize=10
        )
    for c in range(k):
        left, top, _, bottom = cells[c * n]
        name = f"cluster {c}" if row_labels is None else str(row_labels[c])
        ax.text(left - 2, (top + bottom) / 2, name, ha="right", va="center", fontsize=10)
    fig.suptitle(title or f"The {n} members nearest each centre")
    return fig


# --------------------------------------------------------------------------- curves


def plot_learning_curves(
    histories: Mapping[Any, Sequence[float]] | Sequence[float],
    *,
    title: str | None = None,
    ylabel: str = "J (mean squared distance)",
    log_y: bool = False,
) -> Figure:
    """Loss against iteration: one line per fit.

    Parameters
    ----------
    histories : mapping of a name to losses, or one sequence of losses
        ``loss_history_`` of fitted models, e.g. ``{"k=2": km.loss_history_}``.
    title : str, optional
    ylabel : str
    log_y : bool, default=False
        A logarithmic loss axis (curves of very different k share it better).

    Returns
    -------
    Figure
    """
    if not isinstance(histories, Mapping):
        histories = {"loss": histories}
    if not histories:
        raise InputError("histories is empty; expected at least one loss history")
    fig = _new_figure(6.4, 4.4)
    ax = fig.add_subplot()
    colors = _cluster_colors(len(histories))
    for i, (color, (name, losses)) in enumerate(zip(colors, histories.items())):
        losses = np.asarray(losses, dtype=float)
        if losses.ndim != 1 or losses.size == 0:
            raise InputError(f"histories[{name!r}] has shape {losses.shape}; expected a non-empty 1-D sequence")
        ax.plot(
            np.arange(1, losses.size + 1),
            losses,
            marker=_MARKERS[i % len(_MARKERS)],
            markersize=4,
            color=color,
            label=f"{name} ({losses.size} iterations)",
        )
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    if log_y:
        ax.set_yscale("log")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title or "Loss at each iteration")
    return fig


def _band(ax, x, mean, std, color, label, marker="o") -> None:
    ax.plot(x, mean, marker=marker, markersize=4, color=color, label=label)
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)


def _require_columns(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"the {what} table has no column(s) {missing}; it has {list(table.columns)}")


def plot_elbow(
    table: pd.DataFrame,
    *,
    knee: int | None | str = "auto",
    title: str | None = None,
    ylabel: str = "J (mean squared distance)",
) -> Figure:
    """Training and validation loss against k, with ±1 std bands and the knee marked.

    Parameters
    ----------
    table : DataFrame
        From :func:`kmeanslab.experiments.elbow`: indexed by k, with ``train_mean``,
        ``train_std`` and optionally ``val_mean``, ``val_std``.
    knee : int, None or "auto", default="auto"
        The k to mark; ``"auto"`` takes ``table.attrs["knee"]``.
    title : str, optional
    ylabel : str

    Returns
    -------
    Figure
    """
    fig = _new_figure(6.4, 4.4)
    ax = fig.add_subplot()
    _draw_elbow(ax, table, knee, ylabel)
    ax.set_title(title or "Elbow: loss against k")
    return fig


def _draw_elbow(ax, table: pd.DataFrame, knee: int | None | str, ylabel: str) -> None:
    _require_columns(table, ["train_mean", "train_std"], "elbow")
    if isinstance(knee, str):
        if knee != "auto":
            raise InputError(f"knee={knee!r} is not valid; expected an int, None or 'auto'")
        knee = table.attrs.get("knee")
    ks = table.index.to_numpy()
    runs = int(table["runs"].iloc[0]) if "runs" in table.columns else None
    band = f", ±1 std over {runs} runs" if runs else ", ±1 std"
    _band(ax, ks, table["train_mean"], table["train_std"], "tab:blue", "training" + band)
    if "val_mean" in table.columns:
        _band(
            ax,
            ks,
            table["val_mean"],
            table["val_std"],
            "tab:orange",
            "validation (assigned to the trained centres)",
            marker="s",
        )
    if knee is not None:
        ax.axvline(knee, color="tab:red", linestyle="--", linewidth=1.2, label=f"knee: k={knee}")
    ax.set_xlabel("k (number of clusters)")
    ax.set_ylabel(ylabel)
    ax.set_xticks(ks if len(ks) <= 20 else ks[:: math.ceil(len(ks) / 20)])
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def plot_elbow_panels(
    tables: Mapping[str, pd.DataFrame],
    *,
    knee: int | None | str = "auto",
    title: str | None = None,
    ylabel: str = "J (mean squared distance)",
) -> Figure:
    """Several elbows side by side, one panel each (the same data raw and standardised).

    Parameters
    ----------
    tables : mapping of a panel title to an elbow table
        Each as :func:`plot_elbow` takes it; each panel has its own loss axis.
    knee : int, None or "auto", default="auto"
        As :func:`plot_elbow`, for every panel.
    title : str, optional
    ylabel : str

    Returns
    -------
    Figure
    """
    if not tables:
        raise InputError("tables is empty; expected at least one elbow table")
    ncols = min(len(tables), 2)
    nrows = math.ceil(len(tables) / ncols)
    fig = _new_figure(3.5 * ncols, 3.4 * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (name, table) in zip(axes, tables.items()):
        _draw_elbow(ax, table, knee, ylabel)
        ax.set_title(name)
    for ax in axes[len(tables) :]:
        ax.remove()
    fig.suptitle(title or "Loss against k")
    return fig


def _runs_of_ks(ks: np.ndarray) -> list[slice]:
    """Stretches of ks measured close together: a jump (24 -> 100) starts a new stretch."""
    ks = np.asarray(ks, dtype=float)
    if ks.size < 3:
        return [slice(0, ks.size)]
    steps = np.diff(ks)
    breaks = np.flatnonzero(steps > 3 * np.median(steps)) + 1
    edges = [0, *breaks.tolist(), ks.size]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def _broken_line(ax, ks, values, stretches, *, std=None, label, color, linestyle="-", marker="o") -> None:
    """A line (with a ±std band) over each stretch of ks; the stretches joined by a thin dotted line,
    so that nothing suggests values were measured in the gap."""
    values = np.asarray(values, dtype=float)
    for i, part in enumerate(stretches):
        ax.plot(
            ks[part],
            values[part],
            linestyle=linestyle,
            marker=marker,
            markersize=4,
            color=color,
            label=label if i == 0 else None,
        )
        if std is not None:
            spread = np.asarray(std, dtype=float)[part]
            ax.fill_between(ks[part], values[part] - spread, values[part] + spread, color=color, alpha=0.2, linewidth=0)
    for before, after in zip(stretches[:-1], stretches[1:]):
        last, first = before.stop - 1, after.start
        ax.plot(
            [ks[last], ks[first]], [values[last], values[first]], linestyle=":", linewidth=1.0, color=color, alpha=0.7
        )


def plot_accuracy_vs_k(
    table: pd.DataFrame, *, title: str | None = None, extra: Sequence[str] = ("nmi", "ari")
) -> Figure:
    """Majority-vote accuracy against k (±1 std), with the error rate on the right-hand axis.

    Where the ks jump (5..24, then 100) the lines are joined by a dotted line: nothing was
    measured in between. The legend sits under the axes, clear of the curves.

    Parameters
    ----------
    table : DataFrame
        From :func:`kmeanslab.experiments.accuracy_vs_k`, indexed by k.
    title : str, optional
    extra : sequence of str, default=("nmi", "ari")
        Other scores of the table to draw as dashed lines.

    Returns
    -------
    Figure
    """
    _require_columns(table, ["accuracy_mean", "accuracy_std"], "accuracy")
    ks = table.index.to_numpy()
    stretches = _runs_of_ks(ks)
    fig = _new_figure(6.8, 4.8)
    ax = fig.add_subplot()
    runs = int(table["runs"].iloc[0]) if "runs" in table.columns else None
    _broken_line(
        ax,
        ks,
        table["accuracy_mean"],
        stretches,
        std=table["accuracy_std"],
        color="tab:blue",
        label="accuracy" + (f", ±1 std over {runs} runs" if runs else ""),
    )
    colors = ["tab:green", "tab:purple", "tab:brown"]
    for color, name in zip(colors, extra):
        if f"{name}_mean" in table.columns:
            _broken_line(
                ax,
                ks,
                table[f"{name}_mean"],
                stretches,
                color=color,
                linestyle="--",
                marker=".",
                label=_METRIC_NAMES.get(name, name),
            )
    log_k = ks.max() / max(ks.min(), 1) > 8
    if log_k:
        # k = 5..24 and 100: a log axis keeps the small ks apart and still reaches 100.
        ax.set_xscale("log")
        ax.set_xticks(ks if len(ks) <= 12 else [k for k in ks if k % 5 == 0 or k == ks.max()])
        ax.xaxis.set_major_formatter("{x:.0f}")
        ax.minorticks_off()
    elif len(ks) <= 25:
        ax.set_xticks(ks)
    ax.set_xlabel("k (number of clusters, log scale)" if log_k else "k (number of clusters)")
    ax.set_ylabel("score on the evaluated images")
    ax.set_ylim(0, 1)
    error_axis = ax.secondary_yaxis("right", functions=(lambda a: 1 - a, lambda e: 1 - e))
    error_axis.set_ylabel("error rate (1 − accuracy)")
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncols=3, fontsize="small")
    ax.set_title(title or "Clusters as a classifier: accuracy against k")
    return fig


# --------------------------------------------------------------------------- comparisons


def plot_init_comparison(
    runs: pd.DataFrame,
    metrics: Sequence[str] = ("mean_dist", "iterations", "accuracy"),
    *,
    title: str | None = None,
) -> Figure:
    """Each initialisation's runs, one panel per measure: a box and every run as a dot.

    Parameters
    ----------
    runs : DataFrame
        From :func:`kmeanslab.experiments.compare_inits`: one row per run, with ``init``.
    metrics : sequence of str
        Columns to draw; those missing from ``runs`` (accuracy without labels) are skipped.
    title : str, optional

    Returns
    -------
    Figure
    """
    _require_columns(runs, ["init"], "runs")
    present = [m for m in metrics if m in runs.columns]
    if not present:
        raise InputError(f"none of metrics={list(metrics)} is a column of runs; it has {list(runs.columns)}")
    inits = list(dict.fromkeys(runs["init"]))
    ncols = min(len(present), 2)
    nrows = math.ceil(len(present) / ncols)
    fig = _new_figure(3.5 * ncols, 3.3 * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(present) :]:
        ax.remove()
    colors = _cluster_colors(len(inits))
    jitter = np.random.default_rng(0)  # fixed: the same runs draw the same picture
    for ax, metric in zip(axes, present):
        groups = [runs.loc[runs["init"] == init, metric].to_numpy(dtype=float) for init in inits]
        ax.boxplot(groups, widths=0.5, showfliers=False)
        ax.set_xticks(range(1, len(inits) + 1), inits, rotation=20 if len(inits) > 3 else 0)
        for i, (values, color) in enumerate(zip(groups, colors), start=1):
            ax.scatter(
                i + jitter.uniform(-0.12, 0.12, values.size),
                values,
                s=14,
                color=color,
                marker=_MARKERS[(i - 1) % len(_MARKERS)],
                alpha=0.8,
                zorder=3,
            )
        ax.set_ylabel(_METRIC_NAMES.get(metric, metric))
        ax.grid(axis="y", alpha=0.3)
    n_runs = runs.groupby("init").size().max()
    fig.suptitle(title or f"Initialisations compared ({n_runs} seeds each)")
    return fig


def plot_init_learning_curves(
    runs: pd.DataFrame,
    *,
    title: str | None = None,
    ylabel: str = "J (mean squared distance)",
) -> Figure:
    """The loss at each iteration of every run, one panel per initialisation.

    The panels share the loss axis, so that where each initialisation starts, how fast it
    falls and where it ends compare at a glance. Each run is a thin line ending in a dot.

    Parameters
    ----------
    runs : DataFrame
        From :func:`kmeanslab.experiments.compare_inits` with ``histories=True``: one row per
        run, with ``init`` and ``loss_history``.
    title : str, optional
    ylabel : str

    Returns
    -------
    Figure
    """
    _require_columns(runs, ["init", "loss_history"], "runs")
    inits = list(dict.fromkeys(runs["init"]))
    ncols = min(len(inits), 2)
    nrows = math.ceil(len(inits) / ncols)
    fig = _new_figure(3.5 * ncols, 2.9 * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()
    for ax in axes[len(inits) :]:
        ax.remove()
    colors = _cluster_colors(len(inits))
    highest = max(float(np.max(h)) for h in runs["loss_history"])
    lowest = min(float(np.min(h)) for h in runs["loss_history"])
    for ax, color, init in zip(axes, colors, inits):
        histories = [np.asarray(h, dtype=float) for h in runs.loc[runs["init"] == init, "loss_history"]]
        for losses in histories:
            steps = np.arange(1, losses.size + 1)
            ax.plot(steps, losses, color=color, linewidth=0.9, alpha=0.7)
            ax.plot(steps[-1:], losses[-1:], marker="o", markersize=3.5, color=color, linestyle="none")
        lengths = np.array([h.size for h in histories])
        ax.set_title(
            f"{init}: {len(histories)} runs, {lengths.mean():.0f} ± {lengths.std():.0f} iterations", fontsize=10
        )
        ax.grid(alpha=0.3)
        if highest > 0 and lowest > 0 and highest / lowest > 10:
            ax.set_yscale("log")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("iteration")
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel(ylabel + (", log scale" if ax.get_yscale() == "log" else ""))
    fig.suptitle(title or "Loss at each iteration, by initialisation")
    return fig


def plot_confusion_matrix(matrix: pd.DataFrame, *, title: str | None = None) -> Figure:
    """A confusion matrix (true labels down, predicted across) with its counts.

    Parameters
    ----------
    matrix : DataFrame
        From :meth:`kmeanslab.experiments.ClusterClassifier.confusion_matrix`.
    title : str, optional

    Returns
    -------
    Figure
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    values = np.asarray(matrix)
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise InputError(f"matrix has shape {values.shape}; expected a square confusion matrix")
    n = values.shape[0]
    fig = _new_figure(max(4.0, 0.5 * n + 2.0), max(3.6, 0.5 * n + 1.6))
    ax = fig.add_subplot()
    labels = list(matrix.columns) if isinstance(matrix, pd.DataFrame) else None
    ConfusionMatrixDisplay(values, display_labels=labels).plot(ax=ax, cmap="Blues", colorbar=False, values_format="d")
    ax.set_xlabel("predicted label (majority vote of the cluster)")
    ax.set_ylabel("true label")
    accuracy = np.trace(values) / max(values.sum(), 1)
    ax.set_title(title or f"Confusion matrix (accuracy {accuracy:.3f})")
    return fig


# --------------------------------------------------------------------------- choosing k


# Panel of each criterion of kmeanslab.experiments.choose_k in plot_criteria:
# (title, mean column, spread column, y label).
_CRITERION_PANELS = {
    "elbow": ("elbow (knee)", "train_mean", "train_std", "J, mean squared distance (log scale)"),
    "silhouette": ("silhouette", "silhouette_mean", "silhouette_std", "mean silhouette (higher is better)"),
    "simplified_silhouette": (
        "simplified silhouette",
        "simplified_silhouette_mean",
        "simplified_silhouette_std",
        "mean simplified silhouette (higher is better)",
    ),
    "gap": ("gap statistic", "gap", "gap_se", "gap statistic (± s_k)"),
    "calinski_harabasz": (
        "Calinski-Harabasz",
        "calinski_harabasz_mean",
        "calinski_harabasz_std",
        "Calinski-Harabasz (higher is better)",
    ),
    "davies_bouldin": (
        "Davies-Bouldin",
        "davies_bouldin_mean",
        "davies_bouldin_std",
        "Davies-Bouldin (lower is better)",
    ),
    "stability": ("stability", "stability", None, "stability: mean pairwise ARI"),
}


def plot_criteria(
    table: pd.DataFrame,
    choices: Mapping[str, int | None] | None = None,
    k: int | None = None,
    *,
    title: str | None = None,
    columns: int = 3,
    width: float | None = None,
) -> Figure:
    """Every criterion for the number of clusters against k, one panel each, with its choice.

    Parameters
    ----------
    table : DataFrame
        :attr:`kmeanslab.experiments.KChoice.table` (indexed by k); a panel is drawn for each
        criterion whose columns it has (the elbow panel adds the validation loss when present).
    choices : mapping of str to int or None, optional
        Each criterion's k (:attr:`KChoice.choices`), marked with a red star in its panel.
    k : int, optional
        The recommended k, shaded in every panel.
    title : str, optional
    columns : int, default=3
        Panels per row.
    width : float, optional
        The figure's width in inches (a page's column: a report keeps its figures at most 7
        inches wide); the panels keep their proportions. Default: 4.2 inches per panel.

    Returns
    -------
    Figure
    """
    columns = check_int(columns, "columns", min_value=1)
    if width is not None and not (isinstance(width, (int, float)) and math.isfinite(width) and width > 0):
        raise InputError(f"width={width!r} is not valid; expected a positive number of inches")
    choices = dict(choices or {})
    panels = [
        name
        for name, (_, column, _, _) in _CRITERION_PANELS.items()
        if column in table.columns and table[column].notna().any()
    ]
    if not panels:
        raise InputError(f"the table has no criterion column; expected some of {list(_CRITERION_PANELS)}")
    columns = min(columns, len(panels))
    rows = math.ceil(len(panels) / columns)
    panel = 4.2 if width is None else width / columns
    fig = _new_figure(panel * columns, 3.3 * panel / 4.2 * rows)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    ks = table.index.to_numpy()
    for ax, name in zip(axes, panels):
        criterion, column, spread, ylabel = _CRITERION_PANELS[name]
        values = table[column].to_numpy(dtype=float)
        std = table[spread].to_numpy(dtype=float) if spread and spread in table.columns else np.zeros_like(values)
        std = np.nan_to_num(std)
        if name == "gap":
            ax.errorbar(ks, values, yerr=std, marker="o", markersize=4, capsize=3, color="tab:blue")
        else:
            _band(ax, ks, values, std, "tab:blue", "training" if name == "elbow" else None)
        if name == "elbow":
            # The knee is where the loss's relative drop slows down: what a log scale shows.
            ax.set_yscale("log")
            if "val_mean" in table.columns:
                _band(
                    ax, ks, table["val_mean"], np.nan_to_num(table["val_std"]), "tab:orange", "validation", marker="s"
                )
                ax.legend(fontsize="x-small")
        if k is not None:
            ax.axvspan(k - 0.4, k + 0.4, color="tab:green", alpha=0.15, linewidth=0)
        choice = choices.get(name)
        if choice is not None and choice in table.index:
            ax.plot([choice], [table.loc[choice, column]], marker="*", markersize=15, color="tab:red", zorder=4)
        shown = "none" if choice is None else f"k = {choice}"
        ax.set_title(f"{criterion}: {shown}" if name in choices else criterion, fontsize="medium")
        ax.set_xlabel("k")
        ax.set_ylabel(ylabel, fontsize="small")
        ax.set_xticks(ks if len(ks) <= 20 else ks[:: math.ceil(len(ks) / 20)])
        ax.grid(alpha=0.3)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    recommended = f": k = {k} recommended (shaded)" if k is not None else ""
    fig.suptitle(title or f"Choosing k{recommended}; red stars mark each criterion's choice")
    return fig


def plot_silhouette(
    samples: Any,
    labels: Any,
    *,
    score: float | None = None,
    title: str | None = None,
) -> Figure:
    """The silhouette "knife" plot: each cluster's silhouettes, sorted, as a filled profile.

    A cluster whose profile is thick and reaches far right is compact and well separated; one
    that is thin, or mostly left of the mean line, or below zero, is doubtful.

    Parameters
    ----------
    samples : array-like of shape (n_samples,)
        :func:`kmeanslab.metrics.silhouette_samples` of the points.
    labels : array-like of shape (n_samples,)
        The cluster of each point.
    score : float, optional
        The mean to mark (default: the mean of ``samples``).
    title : str, optional

    Returns
    -------
    Figure
    """
    samples = np.asarray(samples, dtype=float)
    labels = np.asarray(labels)
    if samples.ndim != 1 or labels.shape != samples.shape:
        raise InputError(
            f"samples and labels have shapes {samples.shape} and {labels.shape}; expected equal 1-D shapes"
        )
    if samples.size == 0:
        raise InputError("samples is empty; expected one silhouette per point")
    clusters = np.unique(labels)
    colors = _cluster_colors(clusters.size)
    score = float(np.mean(samples)) if score is None else float(score)
    gap = max(2, samples.size // 100)  # white space between the clusters' profiles
    fig = _new_figure(6.4, max(4.0, min(9.0, 2.0 + 0.35 * clusters.size)))
    ax = fig.add_subplot()
    bottom = 0
    for cluster, color in zip(clusters, colors):
        values = np.sort(samples[labels == cluster])[::-1]
        ys = np.arange(bottom, bottom + values.size)
        ax.fill_betweenx(ys, 0, values, facecolor=color, edgecolor=color, alpha=0.8)
        ax.text(-0.02, bottom + values.size / 2, str(cluster), ha="right", va="center", fontsize="small")
        bottom += values.size + gap
    ax.axvline(score, color="tab:red", linestyle="--", linewidth=1.2, label=f"mean silhouette {score:.3f}")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(min(-0.1, float(samples.min()) - 0.05), 1.0)
    ax.set_ylim(0, bottom)
    ax.set_yticks([])
    ax.set_xlabel("silhouette (b - a) / max(a, b)")
    ax.set_ylabel("points, by cluster")
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title(title or f"Silhouettes of {clusters.size} clusters ({samples.size} points)")
    return fig


def plot_cluster_map(
    centers: Any,
    sizes: Any,
    *,
    title: str | None = None,
) -> Figure:
    """A map of the centres: their projection on their first two principal axes, sized by cluster.

    As yellowbrick's intercluster distance map: centres far apart on the map are far apart in
    the data (the projection keeps as much of their spread as any 2-D view can), and a marker's
    area is proportional to its cluster's size.

    Parameters
    ----------
    centers : array-like of shape (n_clusters, n_features)
    sizes : array-like of shape (n_clusters,)
        Points per cluster (``np.bincount(model.labels_)``).
    title : str, optional

    Returns
    -------
    Figure
    """
    centers = check_data(centers, "centers")
    sizes = np.asarray(sizes, dtype=float)
    if sizes.shape != (centers.shape[0],) or np.any(sizes < 0) or not np.all(np.isfinite(sizes)):
        raise InputError(f"sizes has shape {sizes.shape}; expected ({centers.shape[0]},) non-negative counts")
    centred = centers - centers.mean(axis=0)
    # The principal axes of the centres by SVD; fewer than two (k <= 2, or d = 1) are padded.
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    coords = np.zeros((centers.shape[0], 2))
    rank = int(np.sum(singular > 1e-12 * max(float(singular.max(initial=0.0)), np.finfo(float).tiny)))
    kept = min(2, rank)
    coords[:, :kept] = centred @ axes[:kept].T
    explained = singular[:kept] ** 2 / max(float(np.sum(singular**2)), np.finfo(float).tiny)
    fig = _new_figure(6.0, 5.4)
    ax = fig.add_subplot()
    area = 2000.0 * sizes / max(float(sizes.max()), 1.0)
    colors = _cluster_colors(centers.shape[0])
    ax.scatter(coords[:, 0], coords[:, 1], s=np.maximum(area, 8.0), c=colors, alpha=0.55, edgecolors="black")
    for i, (x, y) in enumerate(coords):
        ax.annotate(f"{i}\n({sizes[i]:.0f})", (x, y), ha="center", va="center", fontsize="x-small")
    # The same scale on both axes (a square view around the centres), so the map keeps distances.
    middle = (coords.max(axis=0) + coords.min(axis=0)) / 2
    half = 0.6 * max(float(np.ptp(coords, axis=0).max()), np.finfo(float).eps) if centers.shape[0] > 1 else 1.0
    ax.set_xlim(middle[0] - half, middle[0] + half)
    ax.set_ylim(middle[1] - half, middle[1] + half)
    ax.set_aspect("equal", adjustable="box")
    labels = [f"PC{i + 1} of the centres ({share:.0%} of their spread)" for i, share in enumerate(explained)]
    ax.set_xlabel(labels[0] if labels else "PC1")
    ax.set_ylabel(labels[1] if len(labels) > 1 else "PC2 (none: the centres lie on a line)")
    ax.grid(alpha=0.3)
    ax.set_title(title or f"{centers.shape[0]} centres: cluster (points), marker area proportional to size")
    return fig


__all__ += ["plot_criteria", "plot_silhouette", "plot_cluster_map"]
