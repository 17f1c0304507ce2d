"""Old Faithful: the course notes' first example, raw and standardised."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from ..datasets import load_faithful
from ..experiments import elbow, fit_range, plots
from ..experiments.report import Section
from ..experiments.report.views import describe_elbow, plus_minus
from .config import DemoConfig, Ticker

KEY = "faithful"
TITLE = "Old Faithful: raw and standardised"
LABEL = "Old Faithful"
#: Inertia of k = 2 on the raw data in the course notes.
COURSE_K2_INERTIA = 8901.77


def fits(cfg: DemoConfig) -> int:
    return 2 * (len(cfg.faithful_ks) + len(cfg.faithful_elbow_ks) * cfg.seeds)


def build(section: Section, cfg: DemoConfig, tick: Ticker) -> None:
    ds = load_faithful()
    seed = cfg.seed_list()[0]
    section.text(
        "The course notes' first example: 272 eruptions of the Old Faithful geyser, each the "
        "eruption's duration and the waiting time to the next, in minutes. k-means with "
        f"k = {', '.join(map(str, cfg.faithful_ks))}, k-means++ initialisation; the pictures show one fit "
        f"per k (seed {seed}), the numbers in the text are over {cfg.seeds} seeds."
    )
    scaled = StandardScaler().fit_transform(ds.data)
    elbows = {}
    for variant, X, unit in (("raw", ds.data, "minutes"), ("standardised", scaled, "standard deviations")):
        table = elbow(X, None, ks=cfg.faithful_elbow_ks, runs=cfg.seeds, seed=cfg.seed, on_fit=tick)
        elbows[variant] = table
        models = {}
        for k in cfg.faithful_ks:
            models.update(fit_range(X, [k], seed=seed))
            tick()
        names = [f"{n} ({unit})" for n in ds.feature_names]
        section.figure(
            f"{variant}-clusters",
            plots.plot_cluster_grid(X, models, feature_names=names, title=f"Old Faithful, {variant}"),
            f"Clusters of the {variant} data for each k (one fit each, seed {seed}); J is the mean squared "
            "distance to the centres.",
            alt=(
                f"{len(models)} scatter plots of waiting time against eruption duration ({unit}), one per k "
                f"from {min(models)} to {max(models)}; points are coloured and shaped by cluster and each centre "
                "is a large X. "
                + (
                    "From k = 3 on the clusters are horizontal bands of waiting time."
                    if variant == "raw"
                    else "The clusters split both the short and the long eruptions."
                )
            ),
        )
        section.figure(
            f"{variant}-loss",
            plots.plot_learning_curves(
                {f"k={k}": m.loss_history_ for k, m in models.items()},
                title=f"Old Faithful, {variant}: J at each iteration",
            ),
            f"J (mean squared distance) at each iteration of the fits above ({variant} data).",
            alt="Line chart of J against iteration, one line per k, each with its own marker: "
            + "; ".join(
                f"k = {k} falls from {m.loss_history_[0]:.3g} to {m.loss_history_[-1]:.3g} in {m.n_iter_} iterations"
                for k, m in models.items()
            )
            + ".",
        )
        shown = pd.DataFrame(
            {
                "iterations": [m.n_iter_ for m in models.values()],
                "J first iteration": [m.loss_history_[0] for m in models.values()],
                "J final": [m.loss_history_[-1] for m in models.values()],
                f"J over {cfg.seeds} seeds": [
                    plus_minus(table.loc[k, "train_mean"], table.loc[k, "train_std"], _decimals(X))
                    if k in table.index
                    else "–"
                    for k in models
                ],
                "cluster sizes": [str(sorted(np.bincount(m.labels_).tolist(), reverse=True)) for m in models.values()],
            },
            index=pd.Index(list(models), name="k"),
        )
        section.table(shown, f"Old Faithful, {variant}: the fits above (seed {seed}).", key=f"{variant}_fits")
        section.result(f"{variant}_loss_history", {str(k): m.loss_history_ for k, m in models.items()})
    section.figure(
        "loss-against-k",
        plots.plot_elbow_panels(
            {f"{variant} data": table for variant, table in elbows.items()}, title="Old Faithful: J against k"
        ),
        f"J against k, mean and ±1 std over {cfg.seeds} seeds, raw (left) and standardised (right); the dashed "
        "line is the knee.",
        alt=" ".join(describe_elbow(table, f"Old Faithful, {variant}") for variant, table in elbows.items()),
    )
    for variant, table in elbows.items():
        section.result(f"{variant}_elbow", table.reset_index().to_dict(orient="records"))
    n = ds.data.shape[0]
    raw = elbows["raw"]
    if 2 in raw.index:
        mean, std = raw.loc[2, "train_mean"] * n, raw.loc[2, "train_std"] * n
        section.result("raw_k2_inertia", float(mean))
        section.result("raw_k2_inertia_std", float(std))
        section.text(
            f"On the raw data, k = 2 ends at inertia {plus_minus(mean, std, 2)} over {cfg.seeds} seeds (the course "
            f"notes report {COURSE_K2_INERTIA}). Waiting times span about 50 minutes and durations about 3.5, so "
            "raw distances are almost all waiting time: from k = 3 on, the raw clusters are horizontal bands of "
            "waiting time. Standardised, both features count alike and the clusters split both directions."
        )


def _decimals(X: np.ndarray) -> int:
    """Decimals for J: 2 on the raw data (J in the tens of minutes²), 4 standardised (J below 1)."""
    return 2 if float(np.var(X, axis=0).sum()) > 10 else 4
