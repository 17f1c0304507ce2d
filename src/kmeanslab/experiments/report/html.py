"""A report as one HTML page: self-contained, responsive and accessible.

- Self-contained: every figure is embedded as a base64 PNG and nothing links to another
  file, so ``index.html`` can be mailed on its own; the PNGs beside it are named in the
  figures' captions, as text.
- Responsive: a ``viewport`` meta tag, so that a phone lays the page out at its own width;
  under 700 px the contents list is one column, and figures, at most as wide as the page, fill its
  width; numbers
  ("0.549 ± 0.004", "k = 10") and "k-means++" never break across lines; a wide table
  scrolls inside its own box instead of widening the page.
- Accessible: alt text that says what each figure shows (not its caption again), tables
  with a ``<caption>`` and ``scope`` on their header cells, every text colour at least
  4.5:1 against its background (WCAG AA), a keyboard-focusable box around each table.

The renderer knows a document's blocks by their ``kind`` ("text", "list", "table", "figure"), so that
it needs nothing from :mod:`.document`, which calls it.
"""

from __future__ import annotations

import base64
import html
import re
from typing import Any

__all__ = ["render_html", "inline_html", "CSS"]

#: Contrast against white (WCAG 2): #222 15.9:1, #555 7.5:1, #595959 7.0:1, #4a4a4a 8.9:1.
CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1.2em;color:#222;background:#fff;line-height:1.5}
h1{font-size:1.9em;line-height:1.25;border-bottom:2px solid #4a7ebb;padding-bottom:.2em}
h2{margin-top:2.2em;border-bottom:1px solid #ccc;line-height:1.3}
nav ol{columns:2;column-gap:2.5em}
code{background:#f2f2f2;padding:0 .25em;border-radius:3px;overflow-wrap:anywhere}
.nowrap{white-space:nowrap}
figure{margin:1.4em 0;text-align:center}
figure img{max-width:100%;height:auto;border:1px solid #e8e8e8}
figcaption{font-size:.92em;color:#4a4a4a;margin:.4em auto 0;max-width:46em;text-align:left}
figcaption .file{color:#595959}
.table-wrap{overflow-x:auto;margin:.8em 0 1.4em}
table{border-collapse:collapse;font-size:.88em}
caption{text-align:left;font-size:.95em;color:#4a4a4a;padding-bottom:.4em;max-width:46em}
th,td{padding:.2em .65em;text-align:right;border-bottom:1px solid #e4e4e4;white-space:nowrap;font-variant-numeric:tabular-nums}
thead th{border-bottom:2px solid #999;vertical-align:bottom}
tbody th{font-weight:600}
.meta,.took{color:#595959;font-size:.9em}
.took{margin-top:-.6em}
@media (max-width:700px){
body{margin:1em auto;padding:0 .9em}
h1{font-size:1.5em}
nav ol{columns:1}
figure{margin:1.2em 0}
}
"""

# What must not break across lines: a mean ± std, "k = 10", and the name "k-means++".
_NUMBER = r"[-−]?\d[\d.,]*(?:e[-+]?\d+)?%?"
_UNBREAKABLE = re.compile(rf"{_NUMBER}\s±\s{_NUMBER}|\bk = \d+|k-means\+\+")


def _nowrap(escaped: str) -> str:
    return _UNBREAKABLE.sub(lambda m: f'<span class="nowrap">{m.group(0)}</span>', escaped)


def inline_html(text: str) -> str:
    """Text as HTML: escaped, `backticks` as code, numbers and "k-means++" kept on one line."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else _nowrap(p) for i, p in enumerate(parts))


def _table_html(table: Any, anchor: str) -> str:
    header = "".join(f'<th scope="col">{inline_html(h)}</th>' for h in table.header)
    rows = []
    for row in table.rows:
        cells = [
            f'<th scope="row">{html.escape(cell)}</th>'
            if table.row_header and j == 0
            else f"<td>{html.escape(cell)}</td>"
            for j, cell in enumerate(row)
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    # The box scrolls a table wider than the screen; focusable so that a keyboard can scroll it.
    return (
        f'<div class="table-wrap" role="region" tabindex="0" aria-labelledby="{anchor}">\n'
        f'<table>\n<caption id="{anchor}">{inline_html(table.caption)}</caption>\n'
        f"<thead><tr>{header}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n</div>"
    )


def _figure_html(figure: Any, anchor: str, file_name: str) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    width, height = figure.size
    return (
        f'<figure id="{anchor}"><img src="data:image/png;base64,{data}" width="{width}" height="{height}" '
        f'alt="{html.escape(figure.alt)}" data-file="{html.escape(file_name)}">\n'
        f'<figcaption>{inline_html(figure.caption)} <span class="file">(Also saved beside this page as '
        f"<code>{html.escape(file_name)}</code>.)</span></figcaption></figure>"
    )


def _section_html(section: Any) -> str:
    parts = [f'<section id="{section.key}">', f"<h2>{inline_html(section.title)}</h2>"]
    if section.seconds:
        parts.append(f'<p class="took">Computed in {section.seconds:.1f} s.</p>')
    tables = 0
    for block in section.blocks:
        if block.kind == "text":
            parts.append(f"<p>{inline_html(block.text)}</p>")
        elif block.kind == "list":
            parts.append("<ul>\n" + "\n".join(f"<li>{inline_html(item)}</li>" for item in block.items) + "\n</ul>")
        elif block.kind == "table":
            tables += 1
            parts.append(_table_html(block, f"{section.key}-table-{tables}"))
        else:
            parts.append(_figure_html(block, f"{section.key}-{block.name}", section.png_name(block)))
    parts.append("</section>")
    return "\n".join(parts)


def render_html(report: Any) -> str:
    """The report as one HTML page, figures embedded.

    Parameters
    ----------
    report : Report
        Its ``title``, ``intro``, ``meta`` and ``sections`` (each with ``key``, ``title``,
        ``seconds``, ``blocks`` and ``png_name``).

    Returns
    -------
    str
    """
    toc = "\n".join(f'<li><a href="#{s.key}">{inline_html(s.title)}</a></li>' for s in report.sections)
    intro = "\n".join(f"<p>{inline_html(p)}</p>" for p in report.intro)
    meta = " · ".join(f"{html.escape(str(k))}: {html.escape(str(v))}" for k, v in report.meta.items())
    body = "\n".join(_section_html(s) for s in report.sections)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(report.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{inline_html(report.title)}</h1>\n{intro}\n"
        + (f'<p class="meta">{meta}</p>\n' if meta else "")
        + f'<nav aria-labelledby="contents"><h2 id="contents">Contents</h2><ol>\n{toc}\n</ol></nav>\n'
        + body
        + "\n</main>\n</body>\n</html>\n"
    )
