"""A report on one dataset (``kmeanslab report``): the elbow, how k was chosen, the clusters at
that k, and scores against labels when there are labels."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...datasets import train_val_split
from ...validation import check_data, check_int
from .. import core as ex
from .. import plots
from ..choose_k import CRITERION_TITLES, choose_k, planned_fits
from .document import Report, Section
from .views import and_list, describe_elbow, elbow_table, plus_minus

__all__ = ["data_report", "report_fits"]

# How choose_k is run when the report picks k: its defaults, over the elbow's k.
_CHOOSE_REPEATS = 3
_CHOOSE_REFS = 10

# The criteria table's columns as the report shows them.
_CRITERIA_COLUMNS = {
    "train_mean": "training J",
    "val_mean": "validation J",
    "silhouette_mean": "silhouette",
    "calinski_harabasz_mean": "Calinski-Harabasz",
    "davies_bouldin_mean": "Davies-Bouldin",
    "gap": "gap",
    "gap_se": "gap's std error",
    "stability": "stability (ARI)",
}


def _elbow_ks(ks: Sequence[int], n: int, val: float) -> list[int]:
    """The k of the elbow: those the training share has rows for."""
    return [kk for kk in ks if kk <= n - max(1, math.ceil(val * n))]


def report_fits(n_samples: int, *, k: int | None, ks: Sequence[int], runs: int = 5, val: float = 0.2) -> int:
    """How many fits :func:`data_report` makes with these arguments (a progress bar's total)."""
    elbow_ks = _elbow_ks(ks, n_samples, val)
    total = len(elbow_ks) * runs + runs
    if k is None:
        total += planned_fits(elbow_ks, repeats=_CHOOSE_REPEATS, n_refs=_CHOOSE_REFS)
    return total


def data_report(
    X: Any,
    *,
    source: str = "data",
    feature_names: Sequence[str] | None = None,
    y: Any = None,
    images: Any = None,
    k: int | None = None,
    ks: Sequence[int] = tuple(range(1, 11)),
    runs: int = 5,
    val: float = 0.2,
    seed: int = 0,
    init: str = "k-means++",
    on_fit: Callable[[], None] | None = None,
) -> Report:
    """A report on one dataset: the elbow, the clusters at the chosen k, and scores against labels.

    Every number quoted from fits is a mean ± std over ``runs`` seeds; the pictures show the
    fit of those seeds with the lowest J (what ``KMeans(n_init=runs)`` would keep), and its own
    scores are given beside the mean.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    source : str
        The data's name, for the title.
    feature_names : sequence of str, optional
    y : array-like of shape (n_samples,), optional
        True labels: adds accuracy (majority vote), ARI, NMI, purity and a confusion matrix.
    images : array-like of shape (n_samples, height, width), optional
        Draw centres and representatives as images (also done when X's rows are square images
        of at least 8×8).
    k : int, optional
        The number of clusters to show. Default: the recommendation of
        :func:`kmeanslab.experiments.choose_k` over ``ks`` (silhouette, gap, elbow,
        Calinski-Harabasz, Davies-Bouldin and stability vote), with its evidence in a section
        of its own; else, when no criterion can choose, the knee (else the smallest k > 1).
    ks : sequence of int, default=1..10
        The k of the elbow.
    runs : int, default=5
        Fits per k in the elbow, and seeds of the fits at the chosen k.
    val : float, default=0.2
        The share of rows held out for the validation loss.
    seed : int, default=0
    init : str, default="k-means++"
    on_fit : callable, optional
        Called after every fit.

    Returns
    -------
    Report
    """

    X = check_data(X, "X")
    n, d = X.shape
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(d)]
    ks = _elbow_ks(ks, n, val)
    report = Report(f"kmeanslab report: {source}", intro=[f"{n} rows × {d} features from {source}."])

    section = report.add(Section("elbow", "The elbow: loss against k"))
    with section.timed():
        train, held = train_val_split(X, val=val, seed=seed)
        table = ex.elbow(train, held, ks=ks, runs=runs, init=init, seed=seed, on_fit=on_fit)
        knee = table.attrs["knee"]
        fallback = knee or min([kk for kk in ks if kk > 1], default=1)
        section.text(
            f"{runs} fits per k on {train.shape[0]} training rows; validation loss on the other {held.shape[0]}, "
            f"assigned to the trained centres. Knee: {knee if knee is not None else 'none found'}."
        )
        section.figure(
            "elbow",
            plots.plot_elbow(table, title=f"{source}: elbow"),
            f"Loss against k, ±1 std over {runs} runs.",
            alt=describe_elbow(table, source),
        )
        section.table(elbow_table(table), "Mean squared distance, mean ± std over runs.", key="table", values=table)
        section.result("knee", knee)

    if k is not None:
        chosen = check_int(k, "k", min_value=1)
    else:
        chosen = _choose_k_section(report, X, ks, val=val, seed=seed, init=init, on_fit=on_fit, fallback=fallback)

    section = report.add(Section("clusters", f"The clusters at k = {chosen}"))
    with section.timed():
        seeds = ex.run_seeds(runs, seed)
        fits = ex.compare_inits(X, chosen, y, inits=[init], seeds=seeds, on_fit=on_fit)
        best = int(fits.loc[fits["sse"].idxmin(), "seed"])
        model = ex.fit_range(X, [chosen], init=init, seed=best)[chosen]
        _cluster_blocks(section, X, names, model, source, fits)
        _image_blocks(section, X, images, model, y)
        if y is not None:
            _label_blocks(section, X, np.asarray(y), model, fits)
    return report


def _choose_k_section(
    report: Report, X: np.ndarray, ks: list[int], *, val: float, seed: int, init: str, on_fit, fallback: int
) -> int:
    """The section "Choosing k": every criterion over ``ks``, each one's k, the vote; returns the k shown."""
    section = report.add(Section("choose-k", "Choosing k"))
    with section.timed():
        result = choose_k(
            X,
            sorted(ks),  # the criteria read k in increasing order; --ks may list them in any
            repeats=_CHOOSE_REPEATS,
            n_refs=_CHOOSE_REFS,
            val=val,
            init=init,
            seed=seed,
            on_fit=on_fit,
        )
        chosen = result.k if result.k is not None else fallback
        section.text(
            f"No k was given, so the criteria of kmeanslab.experiments.choose_k chose it: for each k, "
            f"{_CHOOSE_REPEATS} fits (3 initialisations each) on {result.train_rows.size} training rows, scored "
            f"by each criterion; the recommendation is the k most criteria choose. {result.summary}"
            + ("" if result.k is not None else f" The report shows k = {chosen}, the knee or the smallest k > 1.")
        )
        section.items(
            [
                f"{CRITERION_TITLES[name]}: " + ("cannot choose" if choice is None else f"k = {choice}")
                for name, choice in result.choices.items()
            ]
        )
        table = result.table
        section.figure(
            "criteria",
            plots.plot_criteria(table, result.choices, result.k, title="Choosing k: every criterion"),
            "Each criterion against k; a star marks the k it chooses, the shaded band the recommendation.",
            alt=(
                f"Small line charts, one per criterion, against k from {table.index[0]} to {table.index[-1]}; "
                + "; ".join(
                    f"{CRITERION_TITLES[name]} chooses " + ("nothing" if choice is None else f"k = {choice}")
                    for name, choice in result.choices.items()
                )
                + (f". The recommended k = {result.k} is shaded." if result.k is not None else ".")
            ),
        )
        shown = table[[c for c in _CRITERIA_COLUMNS if c in table.columns]].rename(columns=_CRITERIA_COLUMNS)
        section.table(
            shown,
            "The criteria against k: training and validation J (mean squared distance) and the scores, means over "
            f"the {_CHOOSE_REPEATS} fits; the gap with its standard error; stability: mean ARI of the fits' partitions.",
            key="table",
            values=table,
            digits=3,
        )
        section.result("choices", dict(result.choices))
        section.result("k", result.k)
        section.result("summary", result.summary)
    return chosen


def _cluster_blocks(section: Section, X: np.ndarray, names: list[str], model, source: str, fits: pd.DataFrame) -> None:
    k = model.n_clusters
    sizes = np.bincount(model.labels_, minlength=k)
    section.text(
        f"k = {k}, mean ± std over {len(fits)} seeds: J = {plus_minus(fits['mse'].mean(), fits['mse'].std(ddof=0), 4)} "
        f"(mean squared distance to the centres), {plus_minus(fits['iterations'].mean(), fits['iterations'].std(ddof=0), 1)} "
        f"iterations. The pictures and the table below show the fit with the lowest J (seed {model.random_state}): "
        f"J = {model.inertia_ / X.shape[0]:.6g} after {model.n_iter_} iterations."
    )
    if X.shape[1] >= 2:
        projected = X.shape[1] > 2
        section.figure(
            "scatter",
            plots.plot_clusters(
                X,
                model.labels_,
                model.cluster_centers_,
                pca=projected,
                feature_names=names[:2],
                title=f"{source}, k={k}",
            ),
            "The rows coloured by cluster" + (", projected on two principal components." if projected else "."),
            alt=(
                f"Scatter plot of the {X.shape[0]} rows"
                + (" on their first two principal components" if projected else f", {names[0]} against {names[1]}")
                + f", in {k} clusters told apart by colour and marker shape, of sizes "
                + and_list(sorted(sizes.tolist(), reverse=True))
                + "; a large X marks each centre."
            ),
        )
    history = np.asarray(model.loss_history_, dtype=float)
    section.figure(
        "loss",
        plots.plot_learning_curves({f"k={k}": model.loss_history_}, title=f"{source}, k={k}: J at each iteration"),
        "The loss at each iteration of the fit shown.",
        alt=(
            f"Line chart of J against iteration: it falls from {history[0]:.4g} at the first iteration to "
            f"{history[-1]:.4g} at iteration {history.size}."
        ),
    )
    if X.shape[1] <= 20:
        centres = pd.DataFrame(model.cluster_centers_, columns=names[: X.shape[1]]).assign(size=sizes)
        centres.index.name = "cluster"
        section.table(centres, "The centres and the number of rows in each cluster.", key="centres")
    section.result("k", k)
    section.result("inertia", float(model.inertia_))
    section.result("iterations", int(model.n_iter_))
    section.result("cluster_sizes", sizes.tolist())
    section.result("loss_history", model.loss_history_)
    section.result("runs", fits.drop(columns=["init"]).to_dict(orient="records"))


def _image_blocks(section: Section, X: np.ndarray, images: Any, model, y: Any) -> None:
    side = math.isqrt(X.shape[1])
    if images is None and not (side * side == X.shape[1] and side >= 8):
        return
    pictures = X if images is None else np.asarray(images)
    labels = purity = None
    if y is not None:
        clf = ex.ClusterClassifier(model, prefit=True).fit(X, y)
        labels, purity = clf.cluster_labels_, clf.cluster_purity_
    centres = model.cluster_centers_ if images is None else _mean_images(pictures, model)
    k = model.n_clusters
    section.figure(
        "centroids",
        plots.plot_centroids(centres, labels=labels, purity=purity, sizes=np.bincount(model.labels_, minlength=k)),
        "The centres as images, cluster 0 first"
        + (
            ", titled with the majority label, its share of the cluster and the cluster's size."
            if labels is not None
            else ", titled with the cluster's size."
        ),
        alt=f"A grid of {k} small grey-scale images, the mean image of each cluster"
        + (f"; the labels they stand for are {and_list([str(v) for v in labels])}." if labels is not None else "."),
    )
    reps = ex.representative_indices(X, model.labels_, model.cluster_centers_, n=6)
    names = [f"cluster {c}" + ("" if labels is None else f"\n→ {labels[c]}") for c in range(k)]
    section.figure(
        "representatives",
        plots.plot_representatives(pictures, reps, row_labels=names),
        "The rows nearest each centre, one row per cluster.",
        alt=f"{k} rows of up to 6 grey-scale images each: for every cluster, its members nearest the centre.",
    )


def _mean_images(images: np.ndarray, model) -> np.ndarray:
    """Each cluster's mean image, for data whose features are not the pixels themselves."""
    flat = images.reshape(images.shape[0], -1)
    sums = np.zeros((model.n_clusters, flat.shape[1]))
    np.add.at(sums, model.labels_, flat)
    counts = np.maximum(np.bincount(model.labels_, minlength=model.n_clusters), 1)
    return (sums / counts[:, None]).reshape(model.n_clusters, *images.shape[1:])


def _label_blocks(section: Section, X: np.ndarray, y: np.ndarray, model, fits: pd.DataFrame) -> None:
    clf = ex.ClusterClassifier(model, prefit=True).fit(X, y)
    names = {"accuracy": "accuracy", "ari": "ARI", "nmi": "NMI", "purity": "purity"}
    shown = fits.loc[fits["seed"] == model.random_state].iloc[0]
    scores = {m: float(shown[m]) for m in names}
    section.text(
        "Against the labels, on the rows clustered (accuracy: each cluster predicts its majority label): for the "
        "fit shown, "
        + ", ".join(f"{names[m]} {shown[m]:.3f}" for m in names)
        + f"; mean ± std over the {len(fits)} seeds, "
        + ", ".join(f"{names[m]} {plus_minus(fits[m].mean(), fits[m].std(ddof=0))}" for m in names)
        + "."
    )
    matrix = clf.confusion_matrix(X, y)
    correct = int(np.trace(matrix.to_numpy()))
    section.figure(
        "confusion",
        plots.plot_confusion_matrix(matrix),
        "True label against the majority label of the cluster, for the fit shown.",
        alt=(
            f"Confusion matrix of {len(matrix)} true labels (rows) against predicted labels (columns); "
            f"{correct} of {int(matrix.to_numpy().sum())} rows fall on the diagonal."
        ),
    )
    section.result("scores", scores)
    section.result("scores_over_seeds", {m: plus_minus(fits[m].mean(), fits[m].std(ddof=0)) for m in names})
