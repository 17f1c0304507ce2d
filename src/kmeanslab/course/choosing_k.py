"""Choosing k on the course data: every criterion of ``choose_k`` on Old Faithful, the blobs and digits."""

from __future__ import annotations

import numpy as np

from ..datasets import load_digits, load_faithful, make_blobs
from ..experiments import KChoice, choose_k, planned_fits, plots
from ..experiments.report import Section
from ..experiments.report.views import criteria_table, describe_criteria, describe_silhouette
from ..metrics import silhouette_samples
from . import blobs
from .config import DemoConfig, Ticker

KEY = "choosing-k"
TITLE = "Choosing k: silhouette, gap, elbow, Calinski-Harabasz, Davies-Bouldin and stability"
LABEL = "choosing k"
#: Inches: the report's widest figures, so that a phone's screen shows none below half its size.
FIGURE_WIDTH = 7.0


def _datasets(cfg: DemoConfig) -> list[tuple[str, str, np.ndarray, tuple, int | None, str, str]]:
    """(key, name, X, k range, expected k or None, what the data are, why that k) per dataset, in order."""
    faithful = load_faithful().data
    spread = make_blobs(cfg.blobs_n, centers=blobs.CENTRES, std=blobs.SPREAD, seed=cfg.seed).data
    digits = load_digits().data
    return [
        (
            "faithful",
            "Old Faithful",
            faithful,
            cfg.choosek_faithful_ks,
            2,
            f"the {faithful.shape[0]} eruptions (duration and waiting time, raw minutes)",
            "the two kinds of eruption, short and long, that the course notes start from",
        ),
        (
            "blobs",
            "the synthetic blobs",
            spread,
            cfg.choosek_blobs_ks,
            len(blobs.CENTRES),
            f"the {spread.shape[0]} points of the blobs section, drawn around {len(blobs.CENTRES)} centres",
            "the number of centres the points were drawn around",
        ),
        (
            "digits",
            "the ten digits",
            digits,
            cfg.choosek_digits_ks,
            None,
            f"the {digits.shape[0]} 8×8 digit images (64 pixel values each)",
            "",
        ),
    ]


def fits(cfg: DemoConfig) -> int:
    ranges = (cfg.choosek_faithful_ks, cfg.choosek_blobs_ks, cfg.choosek_digits_ks)
    return sum(planned_fits(ks, repeats=cfg.choosek_repeats, n_refs=cfg.choosek_refs) for ks in ranges)


def build(section: Section, cfg: DemoConfig, tick: Ticker) -> None:
    section.text(
        "How many clusters? `kmeanslab.experiments.choose_k` (`kmeanslab choose-k` on the command line) fits "
        f"k-means {cfg.choosek_repeats} times for every k ({cfg.choosek_n_init} initialisation"
        f"{'s' if cfg.choosek_n_init != 1 else ''} each) on 80% of "
        "the rows and computes six criteria: the highest mean silhouette; the gap statistic with Tibshirani's "
        f"1-standard-error rule ({cfg.choosek_refs} reference sets along the data's principal axes); the knee of "
        "the loss; the highest Calinski-Harabasz index; the lowest Davies-Bouldin index; and the largest k "
        "whose repeated fits find the same partition (stability: mean pairwise ARI at least 0.95). The "
        "recommendation is the k that most criteria choose."
    )
    overview = {}
    for key, name, X, ks, truth, what, why in _datasets(cfg):
        result = choose_k(
            X,
            ks,
            repeats=cfg.choosek_repeats,
            n_init=cfg.choosek_n_init,
            n_refs=cfg.choosek_refs,
            seed=cfg.seed,
            on_fit=tick,
        )
        overview[key] = _dataset_blocks(section, key, name, X, result, truth, what, why)
    section.result("recommended", {key: entry["k"] for key, entry in overview.items()})


def _dataset_blocks(
    section: Section,
    key: str,
    name: str,
    X: np.ndarray,
    result: KChoice,
    truth: int | None,
    what: str,
    why: str,
) -> dict:
    """One dataset's sentence, criteria figure, criteria table and silhouette knife plot; its results."""
    table, k = result.table, result.k
    verdict = ""
    if truth is not None and k is not None:
        verdict = (
            f" That is the k expected: {truth}, {why}."
            if k == truth
            else f" The k expected is {truth}, {why}: here the vote misses it."
        )
    elif truth is None and len(result.supporters) < len(result.choices):
        verdict = (
            " The images come in ten classes, but a cluster need not be a class: where the criteria disagree "
            "like this, the data have no one natural number of clusters, and the vote is a compromise."
        )
    section.text(f"{name[0].upper() + name[1:]}: {what}. {result.summary}{verdict}")
    section.figure(
        f"{key}-criteria",
        plots.plot_criteria(table, result.choices, k, title=f"Choosing k: {name}", columns=2, width=FIGURE_WIDTH),
        f"Every criterion against k on {name}, mean and ±1 std over the {int(table['runs'].iloc[0])} fits per k; a "
        "red star marks each criterion's choice and the green band the recommended k.",
        alt=describe_criteria(table, result.choices, k, name),
    )
    section.table(
        criteria_table(table, result.choices, k),
        f"{name[0].upper() + name[1:]}: the criteria against k (mean ± std over fits; J on the training rows and "
        "on the held-out 20%).",
        key=f"{key}_criteria",
        values=table,
    )
    entry = {
        "k": k,
        "true_k": truth,
        "choices": result.choices,
        "supporters": list(result.supporters),
        "summary": result.summary,
    }
    if k is not None and k >= 2:
        model = result.models[k]
        train = X[result.train_rows]
        samples = silhouette_samples(train, model.labels_)
        section.figure(
            f"{key}-silhouette",
            plots.plot_silhouette(
                samples, model.labels_, title=f"{name[0].upper() + name[1:]}: silhouettes at k = {k}"
            ),
            f"The silhouette of every training row at the recommended k = {k} (the best of the fits), cluster by "
            "cluster: thick profiles reaching far right are compact, well-separated clusters.",
            alt=describe_silhouette(samples, model.labels_, f"{name} at k = {k}"),
        )
        entry["silhouette"] = float(samples.mean())
        entry["cluster_sizes"] = sorted(np.bincount(model.labels_, minlength=k).tolist(), reverse=True)
    section.result(key, entry)
    return entry
