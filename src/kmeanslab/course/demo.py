"""Run the course's sections and write the report (``kmeanslab demo``, ``make demo``)."""

from __future__ import annotations

import datetime as _dt
import functools
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from .._kernels import compile_seconds
from .._version import __version__
from ..errors import DatasetNotFoundError
from ..experiments.report import Report, Section
from ..io import prepare_out_dir
from ..validation import check_int
from . import blobs, choosing_k, digits, faithful, mnist, text_clusters
from .config import DemoConfig, Ticker

__all__ = ["DemoConfig", "run_demo"]


@dataclass
class _Step:
    key: str
    title: str
    label: str  # for the progress bar
    fits: int
    build: Callable[[Section, DemoConfig, Ticker], None]


def _steps(cfg: DemoConfig, data_home: Any) -> list[_Step]:
    """The sections in the course's order; MNIST and the text section only where their data are."""
    steps = [
        _Step(faithful.KEY, faithful.TITLE, faithful.LABEL, faithful.fits(cfg), faithful.build),
        _Step(blobs.KEY, blobs.TITLE, blobs.LABEL, blobs.fits(cfg), blobs.build),
        _Step(digits.KEY_01, digits.TITLE_01, digits.LABEL_01, digits.fits_01(cfg), digits.build_01),
        _Step(digits.KEY, digits.TITLE, digits.LABEL, digits.fits(cfg), digits.build),
        _Step(choosing_k.KEY, choosing_k.TITLE, choosing_k.LABEL, choosing_k.fits(cfg), choosing_k.build),
    ]
    try:
        split = mnist.load(cfg, data_home)
    except DatasetNotFoundError as error:
        missing = functools.partial(mnist.build_missing, error=error)  # `error` is unbound after except
        steps.append(_Step(mnist.KEY, mnist.TITLE_MISSING, "MNIST: not here", 0, lambda s, c, t: missing(s)))
    else:
        steps.append(
            _Step(mnist.KEY, mnist.TITLE, mnist.LABEL, mnist.fits(cfg), functools.partial(mnist.build, split=split))
        )
    try:
        embedded = text_clusters.embed()
    except text_clusters.MISSING_ERRORS as error:
        missing_text = functools.partial(text_clusters.build_missing, error=error)
        steps.append(
            _Step(text_clusters.KEY, text_clusters.TITLE_MISSING, "text: not here", 0, lambda s, c, t: missing_text(s))
        )
    else:
        steps.append(
            _Step(
                text_clusters.KEY,
                text_clusters.TITLE,
                text_clusters.LABEL,
                text_clusters.fits(cfg),
                functools.partial(text_clusters.build, data=embedded),
            )
        )
    return steps


@contextmanager
def _thread_limit(threads: int | None) -> Iterator[None]:
    if threads is None:
        yield
        return
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

    Old Faithful raw and standardised (k = 2..6, J per iteration, J against k); the elbow of
    synthetic blobs with a validation split; digits 0/1 with k = 2 (centres, representatives,
    elbow); the ten digits as a classifier (elbow, centres, PCA scatter, representatives,
    accuracy against k, the four initialisations and their learning curves); choosing k on Old
    Faithful, the blobs and the digits (every criterion against k, the vote, the silhouettes at
    the recommended k); when MNIST is
    available locally, the same views on MNIST with centroid grids for k = 10, 20, 40; and,
    with the text extra, token and sentence embeddings clustered. Where MNIST or the text extra
    is missing the report says how to add it. Nothing needs the network.

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
    started, compiling = time.perf_counter(), compile_seconds()
    report = Report(
        "kmeanslab: the k-means experiments of the course notebooks",
        intro=[
            "Every fit below runs on kmeanslab's exact Lloyd engine through `kmeanslab.KMeans` "
            "(k-means++ initialisation unless stated, one initialisation per fit, scikit-learn's stop "
            "rule: total squared centre shift ≤ 1e-4 × the mean feature variance). Loss J is the mean "
            "squared distance of the points to their centres; J_clust is the mean (unsquared) distance.",
            f"Every number quoted from fits is a mean ± standard deviation over {cfg.seeds} seeds (or as many as a "
            "table says); a picture of a single fit says which seed it shows. The time under each heading "
            "leaves out the one-time compilation of kmeanslab's kernels, given below.",
            "Regenerate with `make demo` or `kmeanslab demo --out DIR`; every number is also in `results.json`.",
        ],
    )
    steps = _steps(cfg, data_home)
    with _thread_limit(threads), _progress_bar(progress, sum(s.fits for s in steps)) as (describe, advance):
        for step in steps:
            describe(step.label)
            section = Section(step.key, step.title)
            with section.timed():
                step.build(section, cfg, Ticker(advance))
            report.add(section)
    runtime = time.perf_counter() - started
    compiled = compile_seconds() - compiling
    report.meta = {
        "generated": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "kmeanslab": __version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}",
        "seed": cfg.seed,
        "threads per fit": threads or "engine default",
        "runtime": f"{runtime:.1f} s",
        "kernel compilation": f"{compiled:.1f} s (once per machine; numba caches the kernels)",
    }
    return report.write(out)
