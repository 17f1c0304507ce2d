"""scikit-learn's 8×8 digits: 0 and 1 with k = 2, then all ten digits as a classifier."""

from __future__ import annotations

import numpy as np

from ..datasets import load_digits, train_val_split
from ..experiments import (
    ClusterClassifier,
    accuracy_vs_k,
    compare_inits,
    elbow,
    fit_range,
    plots,
    representative_indices,
)
from ..experiments.report import Section
from ..experiments.report.views import and_list, describe_elbow, elbow_table, plus_minus
from . import _views
from .config import DemoConfig, Ticker

# --------------------------------------------------------------------------- digits 0 and 1

KEY_01 = "digits01"
TITLE_01 = "Digits 0 and 1: k = 2"
LABEL_01 = "digits 0/1"


def fits_01(cfg: DemoConfig) -> int:
    return cfg.seeds + 1 + len(cfg.digits01_ks) * cfg.digits01_runs


def build_01(section: Section, cfg: DemoConfig, tick: Ticker) -> None:
    ds = load_digits(n_class=2)
    seeds = cfg.seed_list()
    runs = compare_inits(ds.data, 2, ds.target, inits=["k-means++"], seeds=seeds, on_fit=tick)
    accuracy = runs["accuracy"]
    model = fit_range(ds.data, [2], seed=seeds[0])[2]
    tick()
    clf = ClusterClassifier(model, prefit=True).fit(ds.data, ds.target)
    section.text(
        f"The {ds.data.shape[0]} 8×8 images of 0s and 1s from scikit-learn's digits, clustered "
        f"with k = 2 on the raw pixel values (0–16). Labelling each cluster by the majority of its "
        f"members, the clusters agree with the true digit for {accuracy.mean():.1%} ± {accuracy.std(ddof=0):.1%} "
        f"of the images over {len(seeds)} seeds. The pictures show the fit of seed {seeds[0]}."
    )
    section.figure(
        "clusters",
        plots.plot_clusters(
            ds.data, model.labels_, model.cluster_centers_, pca=True, title="Digits 0/1, k=2 (PCA projection)"
        ),
        "The images projected on their first two principal components, coloured and shaped by cluster.",
        alt=(
            f"Scatter plot of the {ds.data.shape[0]} images on two principal components: two well separated "
            "groups, circles and squares, each with its centre marked by a large X."
        ),
    )
    section.figure(
        "centroids",
        plots.plot_centroids(
            model.cluster_centers_,
            labels=clf.cluster_labels_,
            purity=clf.cluster_purity_,
            sizes=np.bincount(model.labels_),
            title="Digits 0/1: the two centres",
        ),
        "The two centres as images, titled with the digit they stand for and its share of the cluster.",
        alt=(
            "Two grey-scale 8×8 images: an average 0, a ring, and an average 1, a vertical stroke; "
            + " and ".join(
                f"the {label} cluster is {purity:.0%} {label}s"
                for label, purity in zip(clf.cluster_labels_, clf.cluster_purity_)
            )
            + "."
        ),
    )
    reps = representative_indices(ds.data, model.labels_, model.cluster_centers_, n=8)
    section.figure(
        "representatives",
        plots.plot_representatives(
            ds.images,
            reps,
            row_labels=[f"→ {c}" for c in clf.cluster_labels_],
            title="Digits 0/1: the 8 images nearest each centre",
        ),
        "Representative members: the images nearest each centre.",
        alt="Two rows of 8 handwritten digits, the members nearest each centre: "
        + " and ".join(f"a row of {c}s" for c in clf.cluster_labels_)
        + ".",
    )
    train, val = train_val_split(ds.data, val=0.2, seed=cfg.seed)
    table = elbow(train, val, ks=cfg.digits01_ks, runs=cfg.digits01_runs, seed=cfg.seed, on_fit=tick)
    section.figure(
        "elbow",
        plots.plot_elbow(table, title="Digits 0/1: elbow"),
        f"Mean squared distance against k (training and validation, 80/20 split), ±1 std over {cfg.digits01_runs} "
        "seeds.",
        alt=describe_elbow(table, "digits 0 and 1"),
    )
    knee = table.attrs["knee"]
    if knee is None:
        about_knee = f"no knee is found for k = {table.index[0]}..{table.index[-1]}."
    elif knee == 2:
        about_knee = "the knee is at k = 2, the number of digits."
    else:
        about_knee = (
            f"the knee is at k = {knee}, not 2: handwriting varies (slanted ones, open "
            "and closed zeros), so the curve keeps bending after k = 2."
        )
    last = table.index[-1]
    gap = table.loc[last, "val_mean"] / table.loc[last, "train_mean"] - 1
    falling = bool(np.all(np.diff(table["val_mean"].to_numpy()) < 0))
    section.text(
        f"{about_knee} The validation loss {'keeps falling' if falling else 'mostly falls'} with k, "
        f"{abs(gap):.0%} {'above' if gap >= 0 else 'below'} the training loss at k = {last}: more "
        "clusters also fit images they were not fitted on, so the validation loss alone does not pick k."
    )
    section.table(
        elbow_table(table), "Digits 0/1: mean squared distance, mean ± std over runs.", key="elbow", values=table
    )
    section.result("accuracy_k2", float(accuracy.mean()))
    section.result("accuracy_std_k2", float(accuracy.std(ddof=0)))
    section.result("knee", knee)


# --------------------------------------------------------------------------- the ten digits

KEY = "digits"
TITLE = "Digits 0–9: clusters as a classifier"
LABEL = "digits 0-9"


def fits(cfg: DemoConfig) -> int:
    return (
        len(cfg.digits_elbow_ks) * cfg.seeds
        + 1
        + len(cfg.digits_ks) * cfg.seeds
        + len(_views.INITS) * cfg.digits_init_seeds
    )


def build(section: Section, cfg: DemoConfig, tick: Ticker) -> None:
    ds = load_digits()
    train, test = train_val_split(ds, val=0.3, seed=cfg.seed)
    seeds = cfg.seed_list()
    section.text(
        f"All ten digits ({ds.data.shape[0]} images of 8×8), split at random into {train.data.shape[0]} training "
        f"and {test.data.shape[0]} test images. Clusters are fitted on the training images and labelled by the "
        "majority digit of their training members; the test images are classified by the label of "
        f"their nearest centre. Numbers are mean ± std over {cfg.seeds} seeds; the pictures show the fit of "
        f"seed {seeds[0]}."
    )
    _views.elbow_blocks(
        section, train.data, test.data, ks=cfg.digits_elbow_ks, runs=cfg.seeds, seed=cfg.seed, what="Digits", tick=tick
    )
    table = accuracy_vs_k(
        train.data,
        train.target,
        test.data,
        test.target,
        ks=cfg.digits_ks,
        repeats=cfg.seeds,
        seed=cfg.seed,
        on_fit=tick,
    )
    model = fit_range(train.data, [10], seed=seeds[0])[10]
    tick()
    clf = ClusterClassifier(model, prefit=True).fit(train.data, train.target)
    one_fit = clf.score(test.data, test.target)
    at_10 = ""
    if 10 in table.index:
        at_10 = f"; over {cfg.seeds} seeds, {plus_minus(table.loc[10, 'accuracy_mean'], table.loc[10, 'accuracy_std'])}"
        section.result("accuracy_k10", float(table.loc[10, "accuracy_mean"]))
        section.result("accuracy_std_k10", float(table.loc[10, "accuracy_std"]))
    section.result("one_fit_accuracy_k10", one_fit)
    _views.centroid_figure(
        section,
        "centroids",
        clf,
        title="Digits, k=10: the centres",
        caption=(
            f"The ten centres of one fit (seed {seeds[0]}, test accuracy {one_fit:.3f}{at_10}), titled with their "
            "majority digit, its share of the cluster and the cluster's size."
        ),
        image_side=8,
    )
    _views.scatter_and_members(section, train.data, train.images, clf, what="Digits", seed=seeds[0])
    matrix = clf.confusion_matrix(test.data, test.target)
    shared, unnamed = _views.label_coverage(clf.cluster_labels_, np.unique(ds.target))
    section.figure(
        "confusion",
        plots.plot_confusion_matrix(matrix, title=f"Digits, k=10, seed {seeds[0]}: test confusion matrix"),
        f"True digit against the label of the nearest centre, on the test images, for the fit above (accuracy "
        f"{one_fit:.3f})"
        + (
            f"; no cluster stands for {and_list(unnamed)}, so no test image is predicted "
            f"{and_list(unnamed).replace(' and ', ' or ')}."
            if unnamed
            else "."
        ),
        alt=(
            f"A 10 by 10 grid of counts, true digit down, predicted digit across; {int(np.trace(matrix.to_numpy()))} "
            f"of the {int(matrix.to_numpy().sum())} test images lie on the diagonal"
            + (f", and the columns of {and_list(unnamed)} are empty." if unnamed else ".")
        ),
    )
    _views.accuracy_blocks(section, table, "Digits")
    runs = compare_inits(
        train.data,
        10,
        train.target,
        test.data,
        test.target,
        inits=_views.INITS,
        seeds=cfg.digits_init_seeds,
        histories=True,
        on_fit=tick,
    )
    _views.init_blocks(section, runs, "Digits, k=10")
