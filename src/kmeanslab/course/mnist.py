"""MNIST as the notebooks used it: 1000 balanced training images, centroid grids, initialisations,
the elbow and accuracy against k; or, where MNIST is not on this machine, how to fetch it."""

from __future__ import annotations

from typing import Any

from ..datasets import FETCH_COMMAND
from ..errors import DatasetNotFoundError
from ..experiments import ClusterClassifier, accuracy_vs_k, compare_inits, fit_range, mnist_split, plots
from ..experiments.report import Section
from ..experiments.report.views import plus_minus
from . import _views
from .config import DemoConfig, Ticker

KEY = "mnist"
TITLE = "MNIST: centres, initialisations, accuracy against k"
TITLE_MISSING = "MNIST (not available)"
LABEL = "MNIST"
#: The MNIST notebook's single comparison of initialisations (k = 20).
NOTEBOOK_INITS = (
    "k = 20: Gaussian init 24 iterations, accuracy 0.56, J_clust 5.86; data-point init 19 iterations, 0.72, 5.83"
)


def fits(cfg: DemoConfig) -> int:
    return (
        len(cfg.mnist_grid_ks)
        + (0 if 10 in cfg.mnist_grid_ks else 1)
        + len(cfg.mnist_elbow_ks) * cfg.seeds
        + len(_views.INITS) * cfg.mnist_init_seeds
        + len(cfg.mnist_ks) * cfg.seeds
    )


def build(section: Section, cfg: DemoConfig, tick: Ticker, split: tuple) -> None:
    train, test, note = split
    seeds = cfg.seed_list()
    section.text(
        f"{note} Images are 28×28 with pixels in [0, 1]. Clusters are fitted on the training images "
        "and labelled by the majority digit of their members; accuracies are on the test images, as mean ± std "
        f"over {cfg.seeds} seeds. The pictures show the fit of seed {seeds[0]}, one of those seeds."
    )
    section.result("setup", note)
    # The table first: each centroid grid quotes its k's mean ± std beside the one fit it shows.
    table = accuracy_vs_k(
        train.data, train.target, test.data, test.target, ks=cfg.mnist_ks, repeats=cfg.seeds, seed=cfg.seed, on_fit=tick
    )
    histories, one_fit, classifiers = {}, {}, {}
    for k in cfg.mnist_grid_ks:
        model = fit_range(train.data, [k], seed=seeds[0])[k]
        tick()
        clf = ClusterClassifier(model, prefit=True).fit(train.data, train.target)
        classifiers[k] = clf
        one_fit[k] = clf.score(test.data, test.target)
        histories[f"k={k}"] = model.loss_history_
        over_seeds = (
            f"; over {cfg.seeds} seeds {plus_minus(table.loc[k, 'accuracy_mean'], table.loc[k, 'accuracy_std'])}"
            if k in table.index
            else ""
        )
        _views.centroid_figure(
            section,
            f"centroids-k{k}",
            clf,
            title=f"MNIST, k={k}: the centres (one fit, seed {seeds[0]})",
            caption=(
                f"The {k} centres of one fit as 28×28 images (test accuracy {one_fit[k]:.3f}{over_seeds}), titled "
                "with their majority digit, its share of the cluster and the cluster's size."
            ),
            image_side=28,
        )
    for k in cfg.mnist_grid_ks:
        if k in table.index:
            section.result(f"accuracy_k{k}", float(table.loc[k, "accuracy_mean"]))
            section.result(f"accuracy_std_k{k}", float(table.loc[k, "accuracy_std"]))
    section.result("one_fit_accuracy", {str(k): v for k, v in one_fit.items()})
    if 10 not in classifiers:
        model = fit_range(train.data, [10], seed=seeds[0])[10]
        tick()
        classifiers[10] = ClusterClassifier(model, prefit=True).fit(train.data, train.target)
    _views.scatter_and_members(section, train.data, train.images, classifiers[10], what="MNIST", seed=seeds[0])
    section.figure(
        "loss",
        plots.plot_learning_curves(histories, title="MNIST: J at each iteration"),
        "The learning curves of the centroid-grid fits above.",
        alt="Line chart of J against iteration, one line per k: "
        + "; ".join(
            f"{name} falls from {h[0]:.3g} to {h[-1]:.3g} in {len(h)} iterations" for name, h in histories.items()
        )
        + ".",
    )
    _views.elbow_blocks(
        section,
        train.data,
        test.data,
        ks=cfg.mnist_elbow_ks,
        runs=cfg.seeds,
        seed=cfg.seed,
        what="MNIST",
        tick=tick,
    )
    runs = compare_inits(
        train.data,
        cfg.mnist_init_k,
        train.target,
        test.data,
        test.target,
        inits=_views.INITS,
        seeds=cfg.mnist_init_seeds,
        histories=True,
        on_fit=tick,
    )
    section.text(
        f"The MNIST notebook compared initialisations once each ({NOTEBOOK_INITS}). Here each "
        f"initialisation, uniform included, runs with {cfg.mnist_init_seeds} seeds; the table gives means and spread."
    )
    _views.init_blocks(section, runs, f"MNIST, k={cfg.mnist_init_k}")
    _views.accuracy_blocks(section, table, "MNIST")


def build_missing(section: Section, error: DatasetNotFoundError) -> None:
    section.text(
        "MNIST is not available on this machine, so its part of the report (centroid grids, the elbow, "
        "the initialisation comparison and accuracy against k) was skipped."
    )
    section.text(f"Fetch it (about 11 MB, checksums verified) with `{FETCH_COMMAND}` and run `make demo` again.")
    section.text(f"What kmeanslab looked for: {error}")
    section.result("available", False)
    section.result("fetch_command", FETCH_COMMAND)


def load(cfg: DemoConfig, data_home: Any) -> tuple:
    """The training and test sets (and a note on where they came from); raises DatasetNotFoundError."""
    return mnist_split(cfg.mnist_train, seed=cfg.seed, data_home=data_home)
