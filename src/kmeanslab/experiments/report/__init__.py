"""Reports: the experiments' numbers, tables and figures as one self-contained HTML page.

A :class:`Report` is a list of :class:`Section` s, each a sequence of paragraphs, tables and
figures plus the numbers behind them (:mod:`.document`). :meth:`Report.write` puts into a
directory:

- ``index.html`` (:mod:`.html`): every figure embedded as a base64 PNG, so that the one file
  can be mailed around; responsive down to a phone's width, and accessible;
- the same figures as PNG files, ``<section>-<name>.png``;
- ``results.json``: every number and table of the report.

Every file is written atomically (a temporary file renamed into place).

:func:`data_report` builds the report on a user's data (``kmeanslab report``); :mod:`.views`
holds the tables and sentences it shares with the course demo (:mod:`kmeanslab.course`).
"""

from .data_report import data_report
from .document import Figure, Items, Report, Section, Table, Text, format_column, format_mean_std, json_safe
from .html import render_html

__all__ = [
    "Report",
    "Section",
    "Figure",
    "Table",
    "Text",
    "Items",
    "data_report",
    "render_html",
    "json_safe",
    "format_mean_std",
    "format_column",
]
