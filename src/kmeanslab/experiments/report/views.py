"""The experiments' results as a report shows them: tables with readable headers, and sentences.

Shared by the report on a user's data (:mod:`.data_report`) and the course demo. Every number
that a sentence quotes from several runs is given as mean ± std with the number of runs; alt
texts say what a figure shows, with its numbers, for a reader who cannot see it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..choose_k import CRITERION_TITLES
from .document import format_mean_std

__all__ = [
    "plus_minus",
    "and_list",
    "elbow_table",
    "score_table",
    "init_table",
    "describe_elbow",
    "describe_accuracy",
    "criteria_table",
    "describe_criteria",
    "describe_silhouette",
    "SCORE_HEADERS",
    "CRITERIA_HEADERS",
    "INIT_HEADERS",
]

SCORE_HEADERS = {"accuracy": "test accuracy", "error": "error rate", "ari": "ARI", "nmi": "NMI", "purity": "purity"}
INIT_HEADERS = {
    "iterations": "iterations",
    "sse": "SSE",
    "mse": "J (mean squared distance)",
    "mean_dist": "J_clust (mean distance)",
    "accuracy": "test accuracy",
    "train_accuracy": "training accuracy",
}

#: The columns of a criteria table (:func:`criteria_table`) as a reader sees them.
CRITERIA_HEADERS = {
    "train": "training J",
    "val": "validation J",
    "silhouette": "silhouette",
    "calinski_harabasz": "Calinski-Harabasz",
    "davies_bouldin": "Davies-Bouldin",
}


def plus_minus(mean: float, std: float, decimals: int = 3) -> str:
    """``"0.549 ± 0.004"``: a mean and its spread to the same decimal place."""
    if not (math.isfinite(mean) and math.isfinite(std)):
        return "–"
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def and_list(items: Sequence[Any]) -> str:
    """``"1, 2 and 3"``."""
    items = [str(i) for i in items]
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def elbow_table(table: pd.DataFrame) -> pd.DataFrame:
    """An elbow table (:func:`kmeanslab.experiments.elbow`) with its columns named for a reader."""
    shown = format_mean_std(table, ["train", "val"]).join(format_mean_std(table, ["iterations"], digits=3))
    shown = shown.rename(columns={"train": "training J", "val": "validation J"})
    # Always the column, so that every elbow table reads alike; empty where there is no knee.
    shown["knee"] = ["◀" if k == table.attrs.get("knee") else "" for k in shown.index]
    return shown


def score_table(table: pd.DataFrame) -> pd.DataFrame:
    """An accuracy-against-k table (:func:`kmeanslab.experiments.accuracy_vs_k`) for a reader."""
    shown = format_mean_std(table, list(SCORE_HEADERS), digits=3).rename(columns=SCORE_HEADERS)
    if "runs" in table.columns:
        shown["seeds"] = table["runs"]
    return shown


def init_table(summary: pd.DataFrame) -> pd.DataFrame:
    """A summary of :func:`kmeanslab.experiments.compare_inits` runs by initialisation, for a reader."""
    # Scores in [0, 1] to 3 decimals as in the score tables, losses to 4 significant digits.
    digits = {"iterations": 3, "accuracy": 3, "train_accuracy": 3}
    parts = [format_mean_std(summary, [m], digits=digits.get(m, 4)) for m in INIT_HEADERS]
    shown = pd.concat(parts, axis=1).rename(columns=INIT_HEADERS)
    shown["seeds"] = summary["runs"]
    return shown


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def describe_elbow(table: pd.DataFrame, what: str) -> str:
    """Alt text of an elbow figure: what falls how far, where it bends, how validation compares."""
    ks = table.index.to_numpy()
    train = table["train_mean"].to_numpy(dtype=float)
    runs = int(table["runs"].iloc[0]) if "runs" in table.columns else 1
    knee = table.attrs.get("knee")
    text = (
        f"Line chart of {what}: mean squared distance J against k from {ks[0]} to {ks[-1]}, mean of {runs} "
        f"run{'s' if runs != 1 else ''} with a shaded ±1 std band. Training J falls from {_fmt(train[0])} "
        f"at k = {ks[0]} to {_fmt(train[-1])} at k = {ks[-1]}"
    )
    if knee is not None and knee in table.index:
        text += (
            f"; a dashed vertical line marks the knee at k = {knee}, where J is {_fmt(table.loc[knee, 'train_mean'])}"
        )
    text += "."
    if "val_mean" in table.columns:
        val = table["val_mean"].to_numpy(dtype=float)
        text += (
            f" Validation J, drawn with squares, runs from {_fmt(val[0])} to {_fmt(val[-1])}, "
            f"{'above' if val[-1] >= train[-1] else 'below'} the training curve at k = {ks[-1]}."
        )
    return text


def describe_accuracy(table: pd.DataFrame, what: str) -> str:
    """Alt text of an accuracy-against-k figure."""
    ks = table.index.to_numpy()
    acc = table["accuracy_mean"].to_numpy(dtype=float)
    runs = int(table["runs"].iloc[0]) if "runs" in table.columns else 1
    best = table["accuracy_mean"].idxmax()
    return (
        f"Line chart of {what}: majority-vote test accuracy against k from {ks[0]} to {ks[-1]}, mean of {runs} "
        f"seed{'s' if runs != 1 else ''} with a ±1 std band. Accuracy goes from {acc[0]:.2f} at k = {ks[0]} to "
        f"{acc[-1]:.2f} at k = {ks[-1]}, highest at k = {best} ({table.loc[best, 'accuracy_mean']:.2f}); dashed "
        "lines show NMI and ARI, and the right-hand axis reads the error rate."
    )


def criteria_table(table: pd.DataFrame, choices: dict, k: int | None) -> pd.DataFrame:
    """A :func:`kmeanslab.experiments.choose_k` table for a reader: every criterion against k.

    Losses and scores as mean ± std over the fits; the gap as ``gap ± s_k``; the stability (mean
    pairwise ARI) to 3 decimals; ``chosen by`` names the criteria that chose each k, and ◀ marks
    the recommendation.
    """
    parts = [format_mean_std(table, ["train", "val"])]
    parts.append(format_mean_std(table, ["silhouette", "davies_bouldin"], digits=3))
    parts.append(format_mean_std(table, ["calinski_harabasz"]))
    shown = pd.concat(parts, axis=1)
    shown = shown[[c for c in CRITERIA_HEADERS if c in shown.columns]].rename(columns=CRITERIA_HEADERS)
    if "gap" in table.columns and table["gap"].notna().any():
        decimals = max(0, 2 - int(np.floor(np.log10(max(float(table["gap"].abs().max()), 1e-12)))))
        shown["gap ± s_k"] = [
            plus_minus(g, s, decimals) if math.isfinite(g) and math.isfinite(s) else "–"
            for g, s in zip(table["gap"].to_numpy(dtype=float), table["gap_se"].to_numpy(dtype=float))
        ]
    if "stability" in table.columns and table["stability"].notna().any():
        shown["stability (ARI)"] = ["–" if not math.isfinite(v) else f"{v:.3f}" for v in table["stability"]]
    shown["chosen by"] = [
        ", ".join(CRITERION_TITLES[name] for name, choice in choices.items() if choice == row) for row in shown.index
    ]
    shown["recommended"] = ["◀" if row == k else "" for row in shown.index]
    return shown


def describe_criteria(table: pd.DataFrame, choices: dict, k: int | None, what: str) -> str:
    """Alt text of a criteria-against-k figure (:func:`kmeanslab.experiments.plots.plot_criteria`)."""
    ks = table.index.to_numpy()
    said = [
        f"{CRITERION_TITLES[name]} {'chooses no k' if choice is None else f'chooses k = {choice}'}"
        for name, choice in choices.items()
    ]
    text = (
        f"Panels of line charts for {what}, one per criterion, each against k from {ks[0]} to {ks[-1]}: "
        f"{and_list(said)}, each choice marked by a red star."
    )
    if k is not None:
        text += f" A green band marks the recommended k = {k} in every panel."
    return text


def describe_silhouette(samples: np.ndarray, labels: np.ndarray, what: str) -> str:
    """Alt text of a silhouette knife plot (:func:`kmeanslab.experiments.plots.plot_silhouette`)."""
    samples, labels = np.asarray(samples, dtype=float), np.asarray(labels)
    clusters = np.unique(labels)
    means = {c: float(samples[labels == c].mean()) for c in clusters}
    worst, best = min(means, key=means.get), max(means, key=means.get)
    negative = float(np.mean(samples < 0))
    return (
        f"Silhouette plot of {what}: the {samples.size} points' silhouettes as {clusters.size} horizontal "
        "profiles, one per cluster, each sorted from high to low; a dashed line marks the mean "
        f"{samples.mean():.3f}. Cluster means range from {means[worst]:.3f} (cluster {worst}) to {means[best]:.3f} "
        f"(cluster {best}); {negative:.1%} of the points have a negative silhouette."
    )
