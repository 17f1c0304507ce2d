"""The views that the digits and MNIST sections share: clusters of images used as a classifier."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..cluster import INIT_METHODS
from ..experiments import ClusterClassifier, elbow, plots, representative_indices, summarize_runs
from ..experiments.report import Section
from ..experiments.report.views import (
    and_list,
    describe_accuracy,
    describe_elbow,
    elbow_table,
    init_table,
    plus_minus,
    score_table,
)
from .config import Ticker

_NOTEBOOK_ORDER = ("gaussian", "random", "k-means++", "uniform")
#: Every initialisation kmeanslab has, in the order the notebooks met them (uniform, which they
#: left out, last).
INITS = tuple(sorted(INIT_METHODS, key=lambda m: _NOTEBOOK_ORDER.index(m) if m in _NOTEBOOK_ORDER else 99))
INIT_NOTE = (
    "gaussian: normal with the data's per-feature mean and std; random: k distinct data points; "
    "k-means++: greedy k-means++; uniform: uniform in the data's bounding box"
)


def label_coverage(cluster_labels: np.ndarray, classes: np.ndarray) -> tuple[list, list]:
    """The labels that more than one cluster stands for, and those that none does."""
    names, counts = np.unique(cluster_labels, return_counts=True)
    shared = [n.item() if hasattr(n, "item") else n for n in names[counts > 1]]
    unnamed = [c.item() if hasattr(c, "item") else c for c in classes if c not in set(names.tolist())]
    return shared, unnamed


def coverage_sentence(shared: list, unnamed: list) -> str:
    """Which digits share clusters and which have none, as a sentence."""
    if not shared and not unnamed:
        return "Here every digit has a cluster of its own."
    parts = []
    if shared:
        parts.append(
            f"{'digit' if len(shared) == 1 else 'digits'} {and_list(shared)} "
            f"{'gets' if len(shared) == 1 else 'get'} two or more clusters"
        )
    if unnamed:
        parts.append(
            f"{'digit' if len(unnamed) == 1 else 'digits'} {and_list(unnamed)} "
            + ("none" if shared else f"{'gets' if len(unnamed) == 1 else 'get'} none")
        )
    text = " and ".join(parts)
    return text[0].upper() + text[1:] + ": k-means does not know there are ten classes."


def centroid_figure(
    section: Section, name: str, clf: ClusterClassifier, *, title: str, caption: str, image_side: int
) -> None:
    """The centres as images, sorted by the digit they stand for."""
    model = clf.kmeans_
    k = model.n_clusters
    shared, unnamed = label_coverage(clf.cluster_labels_, clf.classes_)
    section.figure(
        name,
        plots.plot_centroids(
            model.cluster_centers_,
            labels=clf.cluster_labels_,
            purity=clf.cluster_purity_,
            sizes=np.bincount(model.labels_, minlength=k),
            sort_by_label=True,
            title=title,
        ),
        caption
        + " "
        + (
            f"With {k} clusters for {len(clf.classes_)} digits, every digit has at least one."
            if k > len(clf.classes_) and not unnamed
            else coverage_sentence(shared, unnamed)
        ),
        alt=(
            f"A grid of {k} grey-scale {image_side}×{image_side} images, the centres, each a blurred average "
            f"digit, sorted by the digit they stand for: {and_list(sorted(clf.cluster_labels_.tolist()))}. "
            f"Purity ranges from {np.nanmin(clf.cluster_purity_):.0%} to {np.nanmax(clf.cluster_purity_):.0%}."
        ),
    )


def scatter_and_members(
    section: Section, X: np.ndarray, images: np.ndarray, clf: ClusterClassifier, *, what: str, seed: int
) -> None:
    """The clusters on the first two principal components, and each cluster's nearest members."""
    model = clf.kmeans_
    k = model.n_clusters
    section.figure(
        "clusters",
        plots.plot_clusters(
            X, model.labels_, model.cluster_centers_, pca=True, title=f"{what}, k={k} (PCA projection)"
        ),
        f"The training images projected on their first two principal components, coloured and shaped by "
        f"cluster (seed {seed}); the centres are projected alike.",
        alt=(
            f"Scatter plot of {X.shape[0]} images on two principal components, in {k} clusters told apart by "
            "colour and marker shape; the clusters overlap in this projection, which keeps only a small part "
            "of the pixels' variance."
        ),
    )
    reps = representative_indices(X, model.labels_, model.cluster_centers_, n=6)
    order = np.argsort(clf.cluster_labels_, kind="stable")
    section.figure(
        "representatives",
        plots.plot_representatives(
            images,
            reps[order],
            row_labels=[f"→ {clf.cluster_labels_[c]}" for c in order],
            title=f"{what}, k={k}: the 6 images nearest each centre",
        ),
        "Representative members: for each cluster (one row, labelled with the digit it stands for), the "
        "training images nearest its centre.",
        alt=(
            f"{k} rows of 6 handwritten digits, one row per cluster, nearest the centre first; rows are "
            f"labelled {and_list([str(clf.cluster_labels_[c]) for c in order])}."
        ),
    )


def elbow_blocks(
    section: Section,
    train: np.ndarray,
    test: np.ndarray,
    *,
    ks: Sequence[int],
    runs: int,
    seed: int,
    what: str,
    tick: Ticker,
) -> pd.DataFrame:
    """Training and validation loss against k; the test images are the validation set."""
    table = elbow(train, test, ks=ks, runs=runs, seed=seed, on_fit=tick)
    knee = table.attrs["knee"]
    section.figure(
        "elbow",
        plots.plot_elbow(table, title=f"{what}: elbow, training and validation"),
        f"Mean squared distance against k, ±1 std over {runs} seeds: training J on the training images, "
        "validation J of the test images assigned to the trained centres.",
        alt=describe_elbow(table, what),
    )
    last = table.index[-1]
    gap = table.loc[last, "val_mean"] / table.loc[last, "train_mean"] - 1
    section.text(
        f"{what}: "
        + (f"The knee is at k = {knee}. " if knee is not None else "No knee is found. ")
        + f"At k = {last} the validation J is {abs(gap):.0%} {'above' if gap >= 0 else 'below'} the training J: "
        "the centres fit images they were not fitted on almost as well, and both curves keep falling, so "
        "neither picks the number of digits."
    )
    section.table(
        elbow_table(table), f"{what}: mean squared distance, mean ± std over seeds.", key="elbow", values=table
    )
    return table


def accuracy_blocks(section: Section, table: pd.DataFrame, what: str) -> None:
    """Accuracy against k: the figure, what it says, the table."""
    runs = int(table["runs"].iloc[0])
    section.figure(
        "accuracy-vs-k",
        plots.plot_accuracy_vs_k(table, title=f"{what}: test accuracy against k"),
        f"Majority-vote accuracy on the test images against k (±1 std over {runs} seeds), with NMI and ARI of "
        "the test clusters; the error rate reads on the right.",
        alt=describe_accuracy(table, what),
    )
    first, last = table.index[0], table.index[-1]
    best = table["accuracy_mean"].idxmax()
    text = (
        f"{what}, over {runs} seeds per k: test accuracy "
        f"{plus_minus(table.loc[first, 'accuracy_mean'], table.loc[first, 'accuracy_std'])} at k = {first} and "
        f"{plus_minus(table.loc[last, 'accuracy_mean'], table.loc[last, 'accuracy_std'])} at k = {last}; the best "
        f"mean is at k = {best}."
    )
    peak = table["ari_mean"].idxmax()
    if peak != last:
        text += (
            " More clusters than digits give each style of a digit its own centre, so accuracy keeps "
            "rising, while the adjusted Rand index, which counts a digit split over several clusters "
            f"against the clustering, peaks at k = {peak}."
        )
    section.text(text)
    section.table(
        score_table(table), f"{what}: test scores against k, mean ± std over seeds.", key="accuracy_vs_k", values=table
    )


def init_blocks(section: Section, runs: pd.DataFrame, what: str) -> None:
    """The initialisations compared: final loss, iterations, accuracy, and their learning curves."""
    measures = [c for c in ("iterations", "sse", "mse", "mean_dist", "accuracy", "train_accuracy") if c in runs]
    summary = summarize_runs(runs, "init", measures)
    seeds = int(summary["runs"].iloc[0])
    section.figure(
        "inits",
        plots.plot_init_comparison(runs, title=f"{what}: initialisations compared"),
        "Each dot one seed: final J_clust (mean distance to the centre), iterations to converge and test accuracy.",
        alt=(
            f"Box plots with every run as a dot, one panel per measure, one box per initialisation "
            f"({and_list(summary.index.tolist())}), {seeds} seeds each. "
            + "; ".join(
                f"{init}: J_clust {row['mean_dist_mean']:.3g}, {row['iterations_mean']:.0f} iterations"
                + (f", accuracy {row['accuracy_mean']:.2f}" if "accuracy_mean" in row else "")
                for init, row in summary.iterrows()
            )
            + " (means)."
        ),
    )
    if "loss_history" in runs:
        starts = {init: float(np.median([h[0] for h in group])) for init, group in runs.groupby("init")["loss_history"]}
        section.figure(
            "init-curves",
            plots.plot_init_learning_curves(runs, title=f"{what}: J at each iteration, by initialisation"),
            "The loss at each iteration of every run above, one panel per initialisation (shared loss axis); a "
            "dot marks where each run stopped.",
            alt=(
                f"{len(summary)} line charts of J against iteration, one per initialisation, {seeds} thin lines "
                "each. Median J at the first iteration: "
                + "; ".join(f"{init} {starts[init]:.3g}" for init in summary.index)
                + "; all fall steeply in the first few iterations and then flatten."
            ),
        )
    section.text(
        f"{what}, mean ± std over {seeds} seeds: "
        + "; ".join(
            f"{init}: {plus_minus(row['iterations_mean'], row['iterations_std'], 1)} iterations, J_clust "
            f"{plus_minus(row['mean_dist_mean'], row['mean_dist_std'])}"
            + (
                f", test accuracy {plus_minus(row['accuracy_mean'], row['accuracy_std'])}"
                if "accuracy_mean" in row
                else ""
            )
            for init, row in summary.iterrows()
        )
        + "."
    )
    section.table(
        init_table(summary),
        f"{what}: mean ± std over seeds for each initialisation ({INIT_NOTE}).",
        key="init_summary",
        values=summary,
    )
    section.result("init_runs", _json_runs(runs))


def _json_runs(runs: pd.DataFrame) -> list[dict[str, Any]]:
    return runs.to_dict(orient="records")
