"""The report as a document: sections of paragraphs, tables and figures, and the numbers behind them.

Nothing here knows HTML: a table is kept as its header and its cells already formatted (one
number format per column), a figure as PNG bytes with its caption and its alt text, a
paragraph as text in which `backticks` mark code. :mod:`.html` renders it (knowing blocks
by their ``kind``, so that it needs nothing from here);
:meth:`Report.write` puts the page, the PNGs and ``results.json`` into a directory.
"""

from __future__ import annotations

import math
import os
import re
import struct
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..._kernels import compile_seconds
from ...errors import InputError
from ...io import atomic_write, prepare_out_dir, write_json, write_text
from .. import plots
from .html import render_html

__all__ = ["Report", "Section", "Figure", "Table", "Text", "Items", "json_safe", "format_mean_std", "format_column"]

_KEY = re.compile(r"[a-z0-9][a-z0-9-]*")


def _check_key(value: str, name: str) -> str:
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        raise InputError(f"{name}={value!r} is not valid; expected lower-case letters, digits and '-'")
    return value


# --------------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Text:
    """A paragraph; `backticks` mark code."""

    kind: ClassVar[str] = "text"
    text: str


@dataclass(frozen=True)
class Items:
    """A bulleted list; `backticks` mark code."""

    kind: ClassVar[str] = "list"
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table with its cells formatted: ``header`` names the columns, ``rows`` hold strings.

    With ``row_header``, the first column names its row (``k``, an initialisation): the
    renderer marks those cells as row headers.
    """

    kind: ClassVar[str] = "table"
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_header: bool = False


@dataclass(frozen=True)
class Figure:
    """A figure as PNG bytes, its caption (what to read in it) and its alt text (what it shows)."""

    kind: ClassVar[str] = "figure"
    name: str
    caption: str
    alt: str
    png: bytes

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels, read from the PNG header."""
        width, height = struct.unpack(">II", self.png[16:24])
        return width, height


# --------------------------------------------------------------------------- number formats


def _decimals(values: np.ndarray, digits: int) -> int:
    """Decimal places that give the largest value of a column ``digits`` significant digits.

    One count for the whole column, so that its numbers line up and read alike (0.100 and
    0.095, not 0.100 and 0.0952).
    """
    finite = np.abs(values[np.isfinite(values)])
    largest = float(finite.max()) if finite.size else 0.0
    magnitude = math.floor(math.log10(largest)) if largest > 0 else 0
    return min(max(0, digits - 1 - magnitude), 6)


def _tiny(values: np.ndarray) -> bool:
    """Whether a column's numbers are all too small for fixed decimals (|v| < 1e-3, not all 0)."""
    finite = np.abs(values[np.isfinite(values)])
    return finite.size > 0 and 0 < finite.max() < 1e-3


def format_column(values: Sequence[Any] | pd.Series, digits: int = 4) -> list[str]:
    """A column's values as text, floats with one number of decimals for the whole column.

    Parameters
    ----------
    values : sequence
        Floats get ``digits`` significant digits on the largest of them and the same decimal
        places on the others (scientific notation when all are below 1e-3); NaN becomes "–".
        Anything else is shown with ``str``.
    digits : int, default=4

    Returns
    -------
    list of str
    """
    series = pd.Series(values)
    if not pd.api.types.is_float_dtype(series):
        return ["–" if _is_nan(v) else str(v) for v in series]
    array = series.to_numpy(dtype=float)
    if _tiny(array):
        return ["–" if not math.isfinite(v) else f"{v:.{digits - 1}e}" for v in array]
    decimals = _decimals(array, digits)
    return ["–" if not math.isfinite(v) else f"{v:.{decimals}f}" for v in array]


def _is_nan(value: Any) -> bool:
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def format_mean_std(summary: pd.DataFrame, measures: Sequence[str] | None = None, digits: int = 4) -> pd.DataFrame:
    """A summary's ``<m>_mean`` and ``<m>_std`` columns as one "mean ± std" text column each.

    Parameters
    ----------
    summary : DataFrame
        From :func:`kmeanslab.experiments.summarize_runs` (or ``elbow``, ``accuracy_vs_k``).
    measures : sequence of str, optional
        Default: every ``<m>`` with a ``<m>_mean`` column.
    digits : int, default=4
        Significant digits of the column's largest mean; every mean and std of the column is
        given to the same decimal place.

    Returns
    -------
    DataFrame
        Same index; one text column per measure.
    """
    if measures is None:
        measures = [c[: -len("_mean")] for c in summary.columns if c.endswith("_mean")]
    columns = {}
    for m in measures:
        if f"{m}_mean" not in summary.columns:
            continue
        means = summary[f"{m}_mean"].to_numpy(dtype=float)
        stds = summary[f"{m}_std"].to_numpy(dtype=float)
        decimals = _decimals(means, digits)
        columns[m] = [
            f"{a:.{decimals}f} ± {b:.{decimals}f}" if math.isfinite(a) and math.isfinite(b) else "–"
            for a, b in zip(means, stds)
        ]
    return pd.DataFrame(columns, index=summary.index)


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


def _with_index(frame: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """A named (or non-default) index as the first column; whether there was one."""
    if frame.index.name is not None or not isinstance(frame.index, pd.RangeIndex):
        return frame.reset_index(), True
    return frame, False


def _records(frame: pd.DataFrame) -> list[dict]:
    return json_safe(_with_index(frame)[0].to_dict(orient="records"))


# --------------------------------------------------------------------------- sections and the report


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
    #: Wall seconds the section took to compute, one-time kernel compilation excluded.
    seconds: float = 0.0

    def __post_init__(self) -> None:
        _check_key(self.key, "key")

    @contextmanager
    def timed(self) -> Iterator[Section]:
        """Time the work done inside the ``with`` block into :attr:`seconds`.

        The seconds spent compiling kernels meanwhile (once per machine: numba caches them)
        are left out, so that a heading never reports compilation as the engine's speed.
        """
        began, compiling = time.perf_counter(), compile_seconds()
        try:
            yield self
        finally:
            elapsed = time.perf_counter() - began - (compile_seconds() - compiling)
            self.seconds += max(elapsed, 0.0)

    def text(self, paragraph: str) -> Section:
        """Add a paragraph; `backticks` mark code."""
        self.blocks.append(Text(paragraph))
        return self

    def items(self, entries: Sequence[str]) -> Section:
        """Add a bulleted list; `backticks` mark code."""
        self.blocks.append(Items(tuple(str(e) for e in entries)))
        return self

    def figure(self, name: str, fig, caption: str, *, alt: str) -> Section:
        """Add a matplotlib figure (rendered to PNG now, so that it can be freed).

        Parameters
        ----------
        name : str
            Letters, digits and ``-``; the PNG is ``<section key>-<name>.png``.
        fig : matplotlib Figure
        caption : str
            What to read in the figure (shown under it).
        alt : str
            What the figure shows, in words, for a reader who cannot see it: the kind of
            chart, its axes and what the data do. Not the caption again.
        """
        _check_key(name, "name")
        if any(isinstance(b, Figure) and b.name == name for b in self.blocks):
            raise InputError(f"section {self.key!r} already has a figure named {name!r}")
        if not alt or not alt.strip():
            raise InputError(f"figure {name!r} has no alt text; expected a sentence that says what it shows")
        if alt.strip() == caption.strip():
            raise InputError(f"figure {name!r}: the alt text repeats the caption; expected what the figure shows")
        self.blocks.append(Figure(name, caption, alt, plots.figure_to_png(fig)))
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
        """Add a table (a named index becomes its first column, the rows' headers).

        Parameters
        ----------
        frame : DataFrame
            What is shown; float columns get one number format each (:func:`format_column`).
        caption : str
        key : str, optional
            Also record the rows (those of ``values``, the numbers behind a formatted table,
            when given) in ``results.json`` under this key.
        values : DataFrame, optional
        digits : int, default=4
        """
        flat, row_header = _with_index(frame)
        columns = [format_column(flat[c], digits) for c in flat.columns]
        rows = tuple(zip(*columns)) if columns else ()
        self.blocks.append(Table(caption, tuple(str(c) for c in flat.columns), rows, row_header))
        if key is not None:
            self.results[key] = _records(frame if values is None else values)
        return self

    def result(self, key: str, value: Any) -> Section:
        """Record a number (or any JSON-able value) in ``results.json``."""
        self.results[key] = value
        return self

    @property
    def figures(self) -> list[Figure]:
        """The figures, in order."""
        return [b for b in self.blocks if isinstance(b, Figure)]

    def png_name(self, figure: Figure) -> str:
        """The file name of one of the section's figures.

        ``<section>-<figure>.png``, or ``<section>.png`` when the figure is named after its
        section (so that an "elbow" figure of an "elbow" section is not ``elbow-elbow.png``).
        """
        return f"{self.key}.png" if figure.name == self.key else f"{self.key}-{figure.name}.png"


@dataclass
class Report:
    """A titled list of sections that writes itself as ``index.html``, PNGs and ``results.json``.

    Parameters
    ----------
    title : str
    intro : list of str
        Paragraphs under the title.
    meta : dict
        How the report was made (date, version, machine...): a line under the introduction
        and keys of ``results.json``.
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

        Every file is written atomically (a temporary file renamed into place), the page last.

        Returns
        -------
        pathlib.Path
            The path of ``index.html``.
        """
        out = prepare_out_dir(out)
        names = [section.png_name(fig) for section in self.sections for fig in section.figures]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise InputError(f"two figures would both be written as {clash[0]}; expected distinct section-figure names")
        for section in self.sections:
            for fig in section.figures:
                with atomic_write(out / section.png_name(fig), "wb") as handle:
                    handle.write(fig.png)
        write_json(out / "results.json", self.results())
        return write_text(out / "index.html", render_html(self))
