"""Reports: the experiments' numbers, tables and figures as one self-contained HTML page.

A :class:`Report` is a list of :class:`Section` s, each a sequence of paragraphs, tables and
figures plus the numbers behind them. :meth:`Report.write` puts into a directory:

- ``index.html``: every figure embedded as a base64 PNG, so the one file can be mailed around;
- the same figures as PNG files, ``<section>-<name>.png``;
- ``results.json``: every number and table of the report.

Every file is written atomically (a temporary file renamed into place).

:func:`run_demo` builds the course report (``kmeanslab demo``, ``make demo``); :func:`data_report`
builds one for a user's data (``kmeanslab report``).
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import html
import math
import os
import platform
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..datasets import FETCH_COMMAND, load_digits, load_faithful, make_blobs, train_val_split
from ..errors import DatasetNotFoundError, InputError
from ..io import atomic_write, prepare_out_dir, write_json, write_text
from ..validation import check_data, check_int
from . import core as ex
from . import plots

__all__ = [
    "Report",
    "Section",
    "DemoConfig",
    "run_demo",
    "data_report",
    "render_html",
    "json_safe",
    "format_mean_std",
]


# --------------------------------------------------------------------------- the document


@dataclass
class _Figure:
    name: str
    caption: str
    png: bytes


@dataclass
class _Table:
    caption: str
    html: str


@dataclass
class _Text:
    html: str


@dataclass
class Section:
    """One part of a report: a title, paragraphs, tables, figures, and the numbers behind them.

    Parameters
    ----------
    key : str
        A short identifier (letters, digits, ``-``): the HTML anchor and the PNG name prefix.
    title : str
    """

    key: str
    title: str
    blocks: list = field(default_factory=list)
    results: dict = field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", self.key):
            raise InputError(f"key={self.key!r} is not valid; expected lower-case letters, digits and '-'")

    def text(self, paragraph: str) -> Section:
        """Add a paragraph; `backticks` mark code."""
        self.blocks.append(_Text(_inline(paragraph)))
        return self

    def figure(self, name: str, fig, caption: str) -> Section:
        """Add a matplotlib figure (rendered to PNG now, so the figure can be freed)."""
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
            raise InputError(f"name={name!r} is not valid; expected lower-case letters, digits and '-'")
        if any(isinstance(b, _Figure) and b.name == name for b in self.blocks):
            raise InputError(f"section {self.key!r} already has a figure named {name!r}")
        self.blocks.append(_Figure(name, caption, plots.figure_to_png(fig)))
        return self

    def table(
        self,
        frame: pd.DataFrame,
        caption: str,
        *,
        key: str | None = None,
        values: pd.DataFrame | None = None,
        digits: int = 4,
    ) -> Section:
        """Add a table; with ``key`` its rows (or those of ``values``, the numbers behind a
        formatted table) also go to ``results.json``."""
        self.blocks.append(_Table(caption, _table_html(frame, digits)))
        if key is not None:
            self.results[key] = _records(frame if values is None else values)
        return self

    def result(self, key: str, value: Any) -> Section:
        """Record a number (or any JSON-able value) in ``results.json``."""
        self.results[key] = value
        return self

    @property
    def figures(self) -> list[_Figure]:
        """The figures, in order."""
        return [b for b in self.blocks if isinstance(b, _Figure)]


@dataclass
class Report:
    """A titled list of sections that writes itself as ``index.html``, PNGs and ``results.json``.

    Parameters
    ----------
    title : str
    intro : list of str
        Paragraphs under the title.
    """

    title: str
    intro: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def add(self, section: Section) -> Section:
        """Append a section (keys must be unique)."""
        if any(s.key == section.key for s in self.sections):
            raise InputError(f"the report already has a section {section.key!r}")
        self.sections.append(section)
        return section

    def results(self) -> dict:
        """Everything ``results.json`` holds."""
        return json_safe(
            {
                "title": self.title,
                **self.meta,
                "sections": {
                    s.key: {"title": s.title, "seconds": round(s.seconds, 3), **s.results} for s in self.sections
                },
            }
        )

    def write(self, out: str | os.PathLike) -> Path:
        """Write ``index.html``, the PNGs and ``results.json`` into the directory ``out``.

        Returns
        -------
        pathlib.Path
            The path of ``index.html``.
        """

        out = prepare_out_dir(out)
        for section in self.sections:
            for fig in section.figures:
                with atomic_write(out / _png_name(section, fig), "wb") as handle:
                    handle.write(fig.png)
        write_json(out / "results.json", self.results())
        return write_text(out / "index.html", render_html(self))


def _png_name(section: Section, fig: _Figure) -> str:
    return f"{section.key}-{fig.name}.png"


def _inline(text: str) -> str:
    """Escaped text with `code` spans."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _format_number(value: Any, digits: int) -> str:
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def _table_html(frame: pd.DataFrame, digits: int) -> str:
    # A named index becomes the first column: one header row instead of two.
    if frame.index.name is not None or not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    return frame.to_html(
        index=False,
        border=0,
        classes="data",
        float_format=lambda v: _format_number(v, digits),
        na_rep="–",
    )


def json_safe(value: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def format_mean_std(summary: pd.DataFrame, measures: Sequence[str] | None = None, digits: int = 4) -> pd.DataFrame:
    """A summary's ``<m>_mean`` and ``<m>_std`` columns as one "mean±std" text column each.

    Parameters
    ----------
    summary : DataFrame
        From :func:`kmeanslab.experiments.summarize_runs` (or ``elbow``, ``accuracy_vs_k``).
    measures : sequence of str, optional
        Default: every ``<m>`` with a ``<m>_mean`` column.
    digits : int, default=4
        Significant digits of the mean; the std is given to the same decimal place.

    Returns
    -------
    DataFrame
        Same index; one text column per measure.
    """
    if measures is None:
        measures = [c[: -len("_mean")] for c in summary.columns if c.endswith("_mean")]
    columns = {
        m: [_plus_minus(a, b, digits) for a, b in zip(summary[f"{m}_mean"], summary[f"{m}_std"])]
        for m in measures
        if f"{m}_mean" in summary.columns
    }
    return pd.DataFrame(columns, index=summary.index)


def _plus_minus(mean: float, std: float, digits: int) -> str:
    if not (math.isfinite(mean) and math.isfinite(std)):
        return "–"
    magnitude = int(math.floor(math.log10(abs(mean)))) if mean else 0
    decimals = min(max(0, digits - 1 - magnitude), 6)
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def _records(frame: pd.DataFrame) -> list[dict]:
    flat = frame.reset_index() if frame.index.name or not isinstance(frame.index, pd.RangeIndex) else frame
    return json_safe(flat.to_dict(orient="records"))


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1.2em;color:#222;line-height:1.5}
h1{border-bottom:2px solid #4a7ebb;padding-bottom:.2em}h2{margin-top:2.2em;border-bottom:1px solid #ccc}
nav ol{columns:2}code{background:#f2f2f2;padding:0 .25em;border-radius:3px}
figure{margin:1.2em 0;text-align:center}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#555;margin-top:.3em}
table.data{border-collapse:collapse;font-size:.85em;margin:.6em 0 .2em}
table.data th,table.data td{padding:.2em .6em;text-align:right;border-bottom:1px solid #e4e4e4}
table.data thead th{border-bottom:2px solid #999}.caption{font-size:.9em;color:#555;margin:0 0 1.2em}
.meta{color:#666;font-size:.9em}.took{color:#888;font-size:.8em;font-weight:normal}
.scroll{overflow-x:auto}
"""


def _block_html(section: Section, block: Any) -> str:
    if isinstance(block, _Text):
        return f"<p>{block.html}</p>"
    if isinstance(block, _Table):
        return f'<div class="scroll">{block.html}</div>\n<p class="caption">{_inline(block.caption)}</p>'
    data = base64.b64encode(block.png).decode("ascii")
    name = _png_name(section, block)
    return (
        f'<figure id="{section.key}-{block.name}"><img src="data:image/png;base64,{data}" '
        f'alt="{html.escape(block.caption)}" data-file="{name}">'
        f'<figcaption>{_inline(block.caption)} (<a href="{name}">{name}</a>)</figcaption></figure>'
    )


def render_html(report: Report) -> str:
    """The report as one HTML page, figures embedded."""
    toc = "\n".join(f'<li><a href="#{s.key}">{html.escape(s.title)}</a></li>' for s in report.sections)
    body = []
    for s in report.sections:
        took = f' <span class="took">({s.seconds:.1f} s)</span>' if s.seconds else ""
        body.append(f'<section id="{s.key}">\n<h2>{html.escape(s.title)}{took}</h2>')
        body.extend(_block_html(s, b) for b in s.blocks)
        body.append("</section>")
    intro = "\n".join(f"<p>{_inline(p)}</p>" for p in report.intro)
    meta = " · ".join(f"{html.escape(str(k))}: {html.escape(str(v))}" for k, v in report.meta.items())
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(report.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<h1>{html.escape(report.title)}</h1>\n{intro}\n<p class="meta">{meta}</p>\n'
        f"<nav><h2>Contents</h2><ol>\n{toc}\n</ol></nav>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


# --------------------------------------------------------------------------- the demo


@dataclass(frozen=True)
class DemoConfig:
    """How much work each part of the demo does (:meth:`quick` for a smoke test).

    The full configuration (about 580 fits) keeps ``kmeanslab demo`` under two minutes on a
    busy 2-core machine with MNIST present, including the first run's kernel compilation.
    """

    seed: int = 0
    faithful_ks: tuple = (2, 3, 4, 5, 6)
    blobs_n: int = 1000
    blobs_ks: tuple = tuple(range(1, 13))
    blobs_runs: int = 20
    digits01_ks: tuple = tuple(range(1, 11))
    digits01_runs: int = 10
    digits_ks: tuple = ex.ACCURACY_KS
    digits_repeats: int = 5
    digits_init_seeds: int = 10
    mnist_train: int = 1000
    mnist_grid_ks: tuple = (10, 20, 40)
    mnist_init_k: int = 20
    mnist_init_seeds: int = 10
    mnist_ks: tuple = ex.ACCURACY_KS
    mnist_repeats: int = 3

    @classmethod
    def quick(cls) -> DemoConfig:
        """A few fits per experiment: every section and figure, in seconds."""
        return cls(
            faithful_ks=(2, 3),
            blobs_n=300,
            blobs_ks=tuple(range(1, 8)),
            blobs_runs=2,
            digits01_ks=(1, 2, 3, 4),
            digits01_runs=1,
            digits_ks=(5, 10, 15),
            digits_repeats=1,
            digits_init_seeds=2,
            mnist_grid_ks=(10, 20),
            mnist_init_seeds=2,
            mnist_ks=(10, 20),
            mnist_repeats=1,
        )


class _Ticker:
    """Counts fits for a progress bar (or for nothing)."""

    def __init__(self, advance: Callable[[int], None] | None = None):
        self._advance = advance

    def __call__(self) -> None:
        if self._advance is not None:
            self._advance(1)


@dataclass
class _Step:
    key: str
    title: str
    label: str  # for the progress bar
    fits: int
    build: Callable[[Section, DemoConfig, _Ticker], None]


def _faithful_fits(cfg: DemoConfig) -> int:
    return 2 * len(cfg.faithful_ks)


def _faithful(section: Section, cfg: DemoConfig, tick: _Ticker) -> None:
    from sklearn.preprocessing import StandardScaler

    ds = load_faithful()
    section.text(
        "The course notes' first example: 272 eruptions of the Old Faithful geyser, each the "
        "eruption's duration and the waiting time to the next, in minutes. k-means with "
        f"k = {', '.join(map(str, cfg.faithful_ks))}, k-means++ initialisation, seed {cfg.seed}."
    )
    scaled = StandardScaler().fit_transform(ds.data)
    for variant, X, unit in (("raw", ds.data, "minutes"), ("standardised", scaled, "standard deviations")):
        models = {}
        for k in cfg.faithful_ks:
            models.update(ex.fit_range(X, [k], seed=cfg.seed))
            tick()
        names = [f"{n} ({unit})" for n in ds.feature_names]
        section.figure(
            f"{variant}-clusters",
            plots.plot_cluster_grid(X, models, feature_names=names, title=f"Old Faithful, {variant}"),
            f"Clusters of the {variant} data for each k; J is the mean squared distance to the centres.",
        )
        section.figure(
            f"{variant}-loss",
            plots.plot_learning_curves(
                {f"k={k}": m.loss_history_ for k, m in models.items()},
                title=f"Old Faithful, {variant}: J at each iteration",
            ),
            f"J (mean squared distance) at each iteration of the fits above ({variant} data).",
        )
        table = pd.DataFrame(
            {
                "iterations": [m.n_iter_ for m in models.values()],
                "J first iteration": [m.loss_history_[0] for m in models.values()],
                "J final": [m.loss_history_[-1] for m in models.values()],
                "cluster sizes": [str(sorted(np.bincount(m.labels_).tolist(), reverse=True)) for m in models.values()],
            },
            index=pd.Index(list(models), name="k"),
        )
        section.table(table, f"Old Faithful, {variant}: the fits above.", key=f"{variant}_fits")
        section.result(f"{variant}_loss_history", {str(k): m.loss_history_ for k, m in models.items()})
    k2 = ex.fit_range(ds.data, [2], seed=cfg.seed)[2]
    section.result("raw_k2_inertia", float(k2.inertia_))
    section.text(
        f"On the raw data, k = 2 ends at inertia {k2.inertia_:.2f} (the course notes report 8901.77). "
        "Waiting times span about 50 minutes and durations about 3.5, so raw distances are almost "
        "all waiting time: from k = 3 on, the raw clusters are horizontal bands of waiting time. "
        "Standardised, both features count alike and the clusters split both directions."
    )


def _blobs_fits(cfg: DemoConfig) -> int:
    return len(cfg.blobs_ks) * cfg.blobs_runs


_BLOB_CENTRES = ((-5.0, -5.0), (-5.0, 5.0), (5.0, -5.0), (5.0, 5.0))


def _blobs(section: Section, cfg: DemoConfig, tick: _Ticker) -> None:

    ds = make_blobs(cfg.blobs_n, centers=_BLOB_CENTRES, std=1.5, seed=cfg.seed)
    train, val = train_val_split(ds.data, val=0.2, seed=cfg.seed)
    table = ex.elbow(train, val, ks=cfg.blobs_ks, runs=cfg.blobs_runs, seed=cfg.seed, on_fit=tick)
    knee = table.attrs["knee"]
    section.text(
        f"{cfg.blobs_n} points drawn around 4 centres (standard deviation 1.5), split 80/20 into "
        f"training and validation. For each k, {cfg.blobs_runs} k-means++ fits on the training "
        "part; the validation loss assigns the validation points to the trained centres (nothing "
        "is fitted on them). "
        + (f"The knee (kneed) is at k = {knee}." if knee is not None else "kneed finds no knee; k = 4 is shown below.")
    )
    section.figure(
        "elbow",
        plots.plot_elbow(table, title="Synthetic blobs (4 true centres): elbow"),
        "Mean squared distance against k, training and validation, ±1 std over the runs; the dashed line is the knee.",
    )
    section.table(_elbow_display(table), "Mean squared distance, mean ± std over runs.", key="elbow", values=table)
    section.result("knee", knee)
    best = ex.fit_range(train, [knee or 4], seed=cfg.seed)
    model = best[knee or 4]
    section.figure(
        "clusters",
        plots.plot_clusters(train, model.labels_, model.cluster_centers_, title=f"Synthetic blobs, k={knee or 4}"),
        "The training points clustered with k at the knee.",
    )


def _digits01_fits(cfg: DemoConfig) -> int:
    return 1 + len(cfg.digits01_ks) * cfg.digits01_runs


def _digits01(section: Section, cfg: DemoConfig, tick: _Ticker) -> None:

    ds = load_digits(n_class=2)
    model = ex.fit_range(ds.data, [2], seed=cfg.seed)[2]
    tick()
    clf = ex.ClusterClassifier(model, prefit=True).fit(ds.data, ds.target)
    accuracy = clf.score(ds.data, ds.target)
    section.text(
        f"The {ds.data.shape[0]} 8×8 images of 0s and 1s from scikit-learn's digits, clustered "
        f"with k = 2 on the raw pixel values (0–16). Labelling each cluster by the majority of its "
        f"members, the clusters agree with the true digit for {accuracy:.1%} of the images."
    )
    section.figure(
        "clusters",
        plots.plot_clusters(
            ds.data, model.labels_, model.cluster_centers_, pca=True, title="Digits 0/1, k=2 (PCA projection)"
        ),
        "The images projected on their first two principal components, coloured by cluster.",
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
    )
    reps = ex.representative_indices(ds.data, model.labels_, model.cluster_centers_, n=8)
    section.figure(
        "representatives",
        plots.plot_representatives(
            ds.images,
            reps,
            row_labels=[f"→ {c}" for c in clf.cluster_labels_],
            title="Digits 0/1: the 8 images nearest each centre",
        ),
        "Representative members: the images nearest each centre.",
    )
    train, val = train_val_split(ds.data, val=0.2, seed=cfg.seed)
    table = ex.elbow(train, val, ks=cfg.digits01_ks, runs=cfg.digits01_runs, seed=cfg.seed, on_fit=tick)
    section.figure(
        "elbow",
        plots.plot_elbow(table, title="Digits 0/1: elbow"),
        "Mean squared distance against k (training and validation, 80/20 split).",
    )
    knee = table.attrs["knee"]
    if knee is None:
        about_knee = f"kneed finds no knee for k = {table.index[0]}..{table.index[-1]}."
    elif knee == 2:
        about_knee = "kneed puts the knee at k = 2, the number of digits."
    else:
        about_knee = (
            f"kneed puts the knee at k = {knee}, not 2: handwriting varies (slanted ones, open "
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
        _elbow_display(table), "Digits 0/1: mean squared distance, mean ± std over runs.", key="elbow", values=table
    )
    section.result("accuracy_k2", accuracy)
    section.result("knee", table.attrs["knee"])


def _digits_fits(cfg: DemoConfig) -> int:
    return 1 + len(cfg.digits_ks) * cfg.digits_repeats + 3 * cfg.digits_init_seeds


def _digits(section: Section, cfg: DemoConfig, tick: _Ticker) -> None:

    ds = load_digits()
    train, test = train_val_split(ds, val=0.3, seed=cfg.seed)
    section.text(
        f"All ten digits (1797 images of 8×8), split at random into {train.data.shape[0]} training "
        f"and {test.data.shape[0]} test images. Clusters are fitted on the training images and labelled by the "
        "majority digit of their training members; the test images are classified by the label of "
        "their nearest centre."
    )
    clf = ex.ClusterClassifier(ex.fit_range(train.data, [10], seed=cfg.seed)[10], prefit=True).fit(
        train.data, train.target
    )
    tick()
    model = clf.kmeans_
    shared, unnamed = _label_coverage(clf.cluster_labels_, np.unique(ds.target))
    section.figure(
        "centroids",
        plots.plot_centroids(
            model.cluster_centers_,
            labels=clf.cluster_labels_,
            purity=clf.cluster_purity_,
            sizes=np.bincount(model.labels_, minlength=10),
            sort_by_label=True,
            title="Digits, k=10: the centres",
        ),
        "The ten centres, titled with their majority digit, its share of the cluster and the cluster's "
        "size. " + _coverage_sentence(shared, unnamed),
    )
    matrix = clf.confusion_matrix(test.data, test.target)
    section.figure(
        "confusion",
        plots.plot_confusion_matrix(
            matrix, title=f"Digits, k=10: test confusion matrix (accuracy {clf.score(test.data, test.target):.3f})"
        ),
        "True digit against the label of the nearest centre, on the test images"
        + (
            f"; no cluster stands for {_and_list(unnamed)}, so no test image is predicted "
            f"{_and_list(unnamed).replace(' and ', ' or ')}."
            if unnamed
            else "."
        ),
    )
    table = ex.accuracy_vs_k(
        train.data,
        train.target,
        test.data,
        test.target,
        ks=cfg.digits_ks,
        repeats=cfg.digits_repeats,
        seed=cfg.seed,
        on_fit=tick,
    )
    section.figure(
        "accuracy-vs-k",
        plots.plot_accuracy_vs_k(table, title="Digits: test accuracy against k"),
        f"Majority-vote accuracy on the test images against k (±1 std over {cfg.digits_repeats} seeds), "
        "with NMI and ARI of the test clusters; the error rate reads on the right.",
    )
    section.text(_accuracy_sentence(table, "Digits"))
    section.table(
        _score_display(table),
        "Digits: test scores against k, mean ± std over seeds.",
        key="accuracy_vs_k",
        values=table,
    )
    runs = ex.compare_inits(
        train.data, 10, train.target, test.data, test.target, seeds=cfg.digits_init_seeds, on_fit=tick
    )
    _init_blocks(section, runs, "Digits, k=10")
    section.result("accuracy_k10", clf.score(test.data, test.target))


def _label_coverage(cluster_labels: np.ndarray, classes: np.ndarray) -> tuple[list, list]:
    """The labels that more than one cluster stands for, and those that none does."""
    names, counts = np.unique(cluster_labels, return_counts=True)
    shared = [n.item() if hasattr(n, "item") else n for n in names[counts > 1]]
    unnamed = [c.item() if hasattr(c, "item") else c for c in classes if c not in set(names.tolist())]
    return shared, unnamed


def _and_list(items: Sequence[Any]) -> str:
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _coverage_sentence(shared: list, unnamed: list) -> str:
    """Which digits share clusters and which have none, as a sentence."""
    if not shared and not unnamed:
        return "Here every digit has a cluster of its own."
    parts = []
    if shared:
        parts.append(
            f"{'digit' if len(shared) == 1 else 'digits'} {_and_list(shared)} "
            f"{'gets' if len(shared) == 1 else 'get'} two or more clusters"
        )
    if unnamed:
        parts.append(
            f"{'digit' if len(unnamed) == 1 else 'digits'} {_and_list(unnamed)} "
            + ("none" if shared else f"{'gets' if len(unnamed) == 1 else 'get'} none")
        )
    text = " and ".join(parts)
    return text[0].upper() + text[1:] + ": k-means does not know there are ten classes."


def _accuracy_sentence(table: pd.DataFrame, what: str) -> str:
    first, last = table.index[0], table.index[-1]
    best = table["accuracy_mean"].idxmax()
    text = (
        f"{what}: test accuracy {table.loc[first, 'accuracy_mean']:.3f} at k = {first} and "
        f"{table.loc[last, 'accuracy_mean']:.3f} at k = {last} (error rate "
        f"{table.loc[first, 'error_mean']:.3f} and {table.loc[last, 'error_mean']:.3f}); best at k = {best}."
    )
    peak = table["ari_mean"].idxmax()
    if peak != last:
        text += (
            f" More clusters than digits give each style of a digit its own centre, so accuracy keeps "
            f"rising, while the adjusted Rand index, which counts a digit split over several clusters "
            f"against the clustering, peaks at k = {peak}."
        )
    return text


_SCORE_HEADERS = {"accuracy": "test accuracy", "error": "error rate", "ari": "ARI", "nmi": "NMI", "purity": "purity"}
_INIT_HEADERS = {
    "iterations": "iterations",
    "sse": "SSE",
    "mse": "J (mean squared distance)",
    "mean_dist": "J_clust (mean distance)",
    "accuracy": "test accuracy",
    "train_accuracy": "training accuracy",
}


def _score_display(table: pd.DataFrame) -> pd.DataFrame:
    shown = format_mean_std(table, list(_SCORE_HEADERS), digits=3).rename(columns=_SCORE_HEADERS)
    if "runs" in table.columns:
        shown["seeds"] = table["runs"]
    return shown


def _elbow_display(table: pd.DataFrame) -> pd.DataFrame:
    shown = format_mean_std(table, ["train", "val"]).join(format_mean_std(table, ["iterations"], digits=2))
    shown = shown.rename(columns={"train": "training J", "val": "validation J"})
    # Always the column, so every elbow table reads alike; empty when kneed finds no knee.
    shown["knee"] = ["◀" if k == table.attrs.get("knee") else "" for k in shown.index]
    return shown


def _init_blocks(section: Section, runs: pd.DataFrame, what: str) -> None:
    summary = ex.summarize_runs(
        runs,
        "init",
        [c for c in ("iterations", "sse", "mse", "mean_dist", "accuracy", "train_accuracy") if c in runs.columns],
    )
    section.figure(
        "inits",
        plots.plot_init_comparison(runs, title=f"{what}: initialisations compared"),
        "Each dot one seed: final J_clust (mean distance to the centre), iterations to converge and test accuracy.",
    )
    section.text(
        f"{what}, means over seeds: "
        + "; ".join(
            f"{init}: {row['iterations_mean']:.1f} iterations, J_clust {row['mean_dist_mean']:.3f}"
            + (f", accuracy {row['accuracy_mean']:.3f}" if "accuracy_mean" in row else "")
            for init, row in summary.iterrows()
        )
        + "."
    )
    shown = format_mean_std(summary).rename(columns=_INIT_HEADERS)
    shown["seeds"] = summary["runs"]
    section.table(
        shown,
        f"{what}: mean ± std over seeds for each initialisation "
        "(gaussian: normal with the data's per-feature mean and std; random: k distinct data points; "
        "k-means++: greedy k-means++).",
        key="init_summary",
        values=summary,
    )
    section.result("init_runs", _records(runs))


def _mnist_fits(cfg: DemoConfig) -> int:
    return len(cfg.mnist_grid_ks) + 3 * cfg.mnist_init_seeds + len(cfg.mnist_ks) * cfg.mnist_repeats


def _mnist(section: Section, cfg: DemoConfig, tick: _Ticker, split: tuple) -> None:
    train, test, note = split
    section.text(
        f"{note} Images are 28×28 with pixels in [0, 1]. Clusters are fitted on the training images "
        "and labelled by the majority digit of their members; accuracies are on the test images."
    )
    section.result("setup", note)
    histories, single = {}, {}
    for k in cfg.mnist_grid_ks:
        model = ex.fit_range(train.data, [k], seed=cfg.seed)[k]
        tick()
        clf = ex.ClusterClassifier(model, prefit=True).fit(train.data, train.target)
        accuracy = clf.score(test.data, test.target)
        histories[f"k={k}"] = model.loss_history_
        section.figure(
            f"centroids-k{k}",
            plots.plot_centroids(
                model.cluster_centers_,
                labels=clf.cluster_labels_,
                purity=clf.cluster_purity_,
                sizes=np.bincount(model.labels_, minlength=k),
                sort_by_label=True,
                title=f"MNIST, k={k}: the centres (test accuracy {accuracy:.3f})",
            ),
            f"The {k} centres as 28×28 images, titled with their majority digit, its share of the cluster "
            f"and the cluster's size (one fit, seed {cfg.seed}).",
        )
        section.result(f"accuracy_k{k}", accuracy)
        single[k] = accuracy
    section.figure(
        "loss",
        plots.plot_learning_curves(histories, title="MNIST: J at each iteration"),
        "The learning curves of the fits above.",
    )
    runs = ex.compare_inits(
        train.data, cfg.mnist_init_k, train.target, test.data, test.target, seeds=cfg.mnist_init_seeds, on_fit=tick
    )
    section.text(
        f"The MNIST notebook compared initialisations once each (k = 20: Gaussian init 24 "
        "iterations, accuracy 0.56, J_clust 5.86; data-point init 19 iterations, 0.72, 5.83). Here each "
        f"initialisation runs with {cfg.mnist_init_seeds} seeds; the table gives means and spread."
    )
    _init_blocks(section, runs, f"MNIST, k={cfg.mnist_init_k}")
    table = ex.accuracy_vs_k(
        train.data,
        train.target,
        test.data,
        test.target,
        ks=cfg.mnist_ks,
        repeats=cfg.mnist_repeats,
        seed=cfg.seed,
        on_fit=tick,
    )
    section.figure(
        "accuracy-vs-k",
        plots.plot_accuracy_vs_k(table, title="MNIST: test accuracy against k"),
        f"Majority-vote accuracy on the test images against k (±1 std over {cfg.mnist_repeats} seeds), "
        "with NMI and ARI of the test clusters; the error rate reads on the right.",
    )
    section.text(_accuracy_sentence(table, "MNIST"))
    both = [k for k in single if k in table.index]
    if both:
        section.text(
            f"One fit's accuracy moves by several points with the seed: the single fits of the centroid "
            f"grids above (seed {cfg.seed}) scored "
            + ", ".join(f"{single[k]:.3f} at k = {k}" for k in both)
            + f"; over the {cfg.mnist_repeats} seed{'s' if cfg.mnist_repeats != 1 else ''} of the table "
            "the same k give "
            + ", ".join(f"{table.loc[k, 'accuracy_mean']:.3f} ± {table.loc[k, 'accuracy_std']:.3f}" for k in both)
            + "."
        )
    section.table(
        _score_display(table), "MNIST: test scores against k, mean ± std over seeds.", key="accuracy_vs_k", values=table
    )


def _mnist_missing(section: Section, error: DatasetNotFoundError) -> None:

    section.text(
        "MNIST is not available on this machine, so its part of the report (centroid grids for "
        "k = 10, 20, 40, the initialisation comparison and accuracy against k) was skipped."
    )
    section.text(f"Fetch it (about 11 MB, checksums verified) with `{FETCH_COMMAND}` and run `make demo` again.")
    section.text(f"What kmeanslab looked for: {error}")
    section.result("available", False)
    section.result("fetch_command", FETCH_COMMAND)


def _demo_steps(cfg: DemoConfig, data_home: Any) -> list[_Step]:
    steps = [
        _Step("faithful", "Old Faithful: raw and standardised", "Old Faithful", _faithful_fits(cfg), _faithful),
        _Step("blobs", "Synthetic blobs: the elbow, with validation", "blobs: elbow", _blobs_fits(cfg), _blobs),
        _Step("digits01", "Digits 0 and 1: k = 2", "digits 0/1", _digits01_fits(cfg), _digits01),
        _Step("digits", "Digits 0–9: clusters as a classifier", "digits 0-9", _digits_fits(cfg), _digits),
    ]
    try:
        split = ex.mnist_split(cfg.mnist_train, seed=cfg.seed, data_home=data_home)
    except DatasetNotFoundError as error:
        missing = functools.partial(_mnist_missing, error=error)  # `error` is unbound after except
        steps.append(_Step("mnist", "MNIST (not available)", "MNIST: not here", 0, lambda s, c, t: missing(s)))
    else:
        steps.append(
            _Step(
                "mnist",
                "MNIST: centres, initialisations, accuracy against k",
                "MNIST",
                _mnist_fits(cfg),
                lambda s, c, t: _mnist(s, c, t, split),
            )
        )
    return steps


@contextmanager
def _thread_limit(threads: int | None) -> Iterator[None]:
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=check_int(threads, "threads", min_value=1), user_api="openmp"):
        yield


@contextmanager
def _progress_bar(enabled: bool, total: int) -> Iterator[tuple[Callable[[str], None], Callable[[int], None]]]:
    """(describe, advance) callbacks of a rich progress bar on stderr, or of nothing."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("fits"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )
    with progress:
        task = progress.add_task("starting", total=total)
        yield (lambda text: progress.update(task, description=text)), (lambda n: progress.advance(task, n))
        progress.update(task, description="done", completed=total)


def run_demo(
    out: str | os.PathLike,
    *,
    data_home: Any = None,
    config: DemoConfig | None = None,
    progress: bool = False,
    threads: int | None = 1,
) -> Path:
    """Run the course experiments and write the report into ``out``.

    Old Faithful raw and standardised (k = 2..6, J per iteration); the elbow of synthetic blobs
    with a validation split; digits 0/1 with k = 2 (centres, representatives, elbow); the ten
    digits as a classifier against k, with an initialisation comparison; and, when MNIST is
    available locally, centroid grids for k = 10, 20, 40, the initialisation comparison and
    accuracy against k on the test images. Without MNIST the report says how to fetch it.
    Nothing needs the network.

    Parameters
    ----------
    out : path-like
        The report directory (created if needed).
    data_home : path-like, optional
        Where to look for MNIST (default ``$KMEANSLAB_DATA``, else the user cache directory).
    config : DemoConfig, optional
        Repeat counts; ``DemoConfig.quick()`` for a smoke test.
    progress : bool, default=False
        Show a rich progress bar on stderr.
    threads : int or None, default=1
        Threads per fit (a threadpoolctl OpenMP limit, which the engine honours); None for the
        engine's default. The demo runs hundreds of small fits, where waking a second thread for
        every pass costs more than it saves: on a busy 2-core machine one thread ran the whole
        demo 3x faster (26 s against 85 s).

    Returns
    -------
    pathlib.Path
        The path of ``index.html``.
    """

    prepare_out_dir(out, create=False)
    cfg = config or DemoConfig()
    started = time.perf_counter()
    report = Report(
        "kmeanslab: the k-means experiments of the course notebooks",
        intro=[
            "Every fit below runs on kmeanslab's exact Lloyd engine through `kmeanslab.KMeans` "
            "(k-means++ initialisation unless stated, one initialisation per fit, scikit-learn's stop "
            "rule: total squared centre shift ≤ 1e-4 × the mean feature variance). Loss J is the mean "
            "squared distance of the points to their centres; J_clust is the mean (unsquared) distance. "
            "Standard deviations are over seeds.",
            "Regenerate with `make demo` or `kmeanslab demo --out DIR`; every number is also in `results.json`.",
        ],
    )
    steps = _demo_steps(cfg, data_home)
    with _thread_limit(threads), _progress_bar(progress, sum(s.fits for s in steps)) as (describe, advance):
        for step in steps:
            describe(step.label)
            section = Section(step.key, step.title)
            began = time.perf_counter()
            step.build(section, cfg, _Ticker(advance))
            section.seconds = time.perf_counter() - began
            report.add(section)
    report.meta = {
        "generated": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "kmeanslab": __version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}",
        "seed": cfg.seed,
        "threads per fit": threads or "engine default",
        "runtime": f"{time.perf_counter() - started:.1f} s",
    }
    return report.write(out)


# --------------------------------------------------------------------------- a report on the user's data


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
        The number of clusters to show; default the knee of the elbow (else the smallest k > 1).
    ks : sequence of int, default=1..10
        The k of the elbow.
    runs : int, default=5
        Fits per k in the elbow.
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
    ks = [kk for kk in ks if kk <= n - max(1, math.ceil(val * n))]
    report = Report(f"kmeanslab report: {source}", intro=[f"{n} rows × {d} features from {source}."])

    section = report.add(Section("elbow", "The elbow: loss against k"))
    began = time.perf_counter()
    train, held = train_val_split(X, val=val, seed=seed)
    table = ex.elbow(train, held, ks=ks, runs=runs, init=init, seed=seed, on_fit=on_fit)
    knee = table.attrs["knee"]
    chosen = check_int(k, "k", min_value=1) if k is not None else (knee or min([kk for kk in ks if kk > 1], default=1))
    section.text(
        f"{runs} fits per k on {train.shape[0]} training rows; validation loss on the other {held.shape[0]}, "
        f"assigned to the trained centres. Knee (kneed): {knee if knee is not None else 'none found'}."
    )
    section.figure("elbow", plots.plot_elbow(table, title=f"{source}: elbow"), "Loss against k, ±1 std over runs.")
    section.table(_elbow_display(table), "Mean squared distance, mean ± std over runs.", key="table", values=table)
    section.result("knee", knee)
    section.seconds = time.perf_counter() - began

    section = report.add(Section("clusters", f"The clusters at k = {chosen}"))
    began = time.perf_counter()
    model = ex.fit_range(X, [chosen], init=init, seed=seed)[chosen]
    if on_fit is not None:
        on_fit()
    _cluster_blocks(section, X, names, model, source)
    _image_blocks(section, X, images, model, y)
    if y is not None:
        _label_blocks(section, X, np.asarray(y), model)
    section.seconds = time.perf_counter() - began
    return report


def _cluster_blocks(section: Section, X: np.ndarray, names: list[str], model, source: str) -> None:
    k = model.n_clusters
    sizes = np.bincount(model.labels_, minlength=k)
    section.text(
        f"k = {k}: {model.n_iter_} iterations, inertia {model.inertia_:.6g}, J = {model.inertia_ / X.shape[0]:.6g}."
    )
    if X.shape[1] >= 2:
        section.figure(
            "scatter",
            plots.plot_clusters(
                X,
                model.labels_,
                model.cluster_centers_,
                pca=X.shape[1] > 2,
                feature_names=names[:2],
                title=f"{source}, k={k}",
            ),
            "The rows coloured by cluster" + (", projected on two principal components." if X.shape[1] > 2 else "."),
        )
    section.figure(
        "loss",
        plots.plot_learning_curves({f"k={k}": model.loss_history_}, title=f"{source}, k={k}: J at each iteration"),
        "The loss at each iteration.",
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
    section.figure(
        "centroids",
        plots.plot_centroids(
            centres, labels=labels, purity=purity, sizes=np.bincount(model.labels_, minlength=model.n_clusters)
        ),
        "The centres as images, cluster 0 first"
        + (
            ", titled with the majority label, its share of the cluster and the cluster's size."
            if labels is not None
            else ", titled with the cluster's size."
        ),
    )
    reps = ex.representative_indices(X, model.labels_, model.cluster_centers_, n=6)
    names = [f"cluster {c}" + ("" if labels is None else f"\n→ {labels[c]}") for c in range(model.n_clusters)]
    section.figure(
        "representatives",
        plots.plot_representatives(pictures, reps, row_labels=names),
        "The rows nearest each centre, one row per cluster.",
    )


def _mean_images(images: np.ndarray, model) -> np.ndarray:
    """Each cluster's mean image, for data whose features are not the pixels themselves."""
    flat = images.reshape(images.shape[0], -1)
    sums = np.zeros((model.n_clusters, flat.shape[1]))
    np.add.at(sums, model.labels_, flat)
    counts = np.maximum(np.bincount(model.labels_, minlength=model.n_clusters), 1)
    return (sums / counts[:, None]).reshape(model.n_clusters, *images.shape[1:])


def _label_blocks(section: Section, X: np.ndarray, y: np.ndarray, model) -> None:
    clf = ex.ClusterClassifier(model, prefit=True).fit(X, y)
    scores = {"accuracy": clf.score(X, y), **ex.clustering_scores(y, model.labels_)}
    names = {"accuracy": "accuracy", "ari": "ARI", "nmi": "NMI", "purity": "purity"}
    section.text(
        "Against the labels, on the rows clustered: "
        + ", ".join(f"{names[k]} {v:.3f}" for k, v in scores.items())
        + " (accuracy: each cluster predicts its majority label)."
    )
    section.figure(
        "confusion",
        plots.plot_confusion_matrix(clf.confusion_matrix(X, y)),
        "True label against the majority label of the cluster.",
    )
    section.result("scores", scores)
