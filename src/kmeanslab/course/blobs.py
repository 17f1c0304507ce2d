"""Synthetic blobs: the elbow, with a validation split."""

from __future__ import annotations

import numpy as np

from ..datasets import make_blobs, train_val_split
from ..experiments import elbow, fit_range, plots
from ..experiments.report import Section
from ..experiments.report.views import and_list, describe_elbow, elbow_table
from .config import DemoConfig, Ticker

KEY = "blobs"
TITLE = "Synthetic blobs: the elbow, with validation"
LABEL = "blobs: elbow"
CENTRES = ((-5.0, -5.0), (-5.0, 5.0), (5.0, -5.0), (5.0, 5.0))
SPREAD = 1.5


def fits(cfg: DemoConfig) -> int:
    return len(cfg.blobs_ks) * cfg.blobs_runs


def build(section: Section, cfg: DemoConfig, tick: Ticker) -> None:
    ds = make_blobs(cfg.blobs_n, centers=CENTRES, std=SPREAD, seed=cfg.seed)
    train, val = train_val_split(ds.data, val=0.2, seed=cfg.seed)
    table = elbow(train, val, ks=cfg.blobs_ks, runs=cfg.blobs_runs, seed=cfg.seed, on_fit=tick)
    knee = table.attrs["knee"]
    section.text(
        f"{cfg.blobs_n} points drawn around {len(CENTRES)} centres (standard deviation {SPREAD}), split 80/20 into "
        f"training and validation. For each k, {cfg.blobs_runs} k-means++ fits on the training "
        "part; the validation loss assigns the validation points to the trained centres (nothing "
        "is fitted on them). "
        + (f"The knee is at k = {knee}." if knee is not None else "No knee is found; k = 4 is shown below.")
    )
    section.figure(
        "elbow",
        plots.plot_elbow(table, title="Synthetic blobs (4 true centres): elbow"),
        f"Mean squared distance against k, training and validation, ±1 std over the {cfg.blobs_runs} runs; the "
        "dashed line is the knee.",
        alt=describe_elbow(table, "the synthetic blobs"),
    )
    section.table(elbow_table(table), "Mean squared distance, mean ± std over runs.", key="elbow", values=table)
    section.result("knee", knee)
    shown = knee or len(CENTRES)
    seed = cfg.seed_list()[0]
    model = fit_range(train, [shown], seed=seed)[shown]
    sizes = sorted(np.bincount(model.labels_, minlength=shown).tolist(), reverse=True)
    section.figure(
        "clusters",
        plots.plot_clusters(train, model.labels_, model.cluster_centers_, title=f"Synthetic blobs, k={shown}"),
        f"The training points clustered with k at the knee (one fit, seed {seed}).",
        alt=(
            f"Scatter plot of the {train.shape[0]} training points in {shown} clusters, told apart by colour and "
            f"marker shape, of sizes {and_list(sizes)}; each centre is a large X near one of the true centres "
            "(±5, ±5)."
        ),
    )
