"""The demo report in a real browser: headless Chromium, driven by Playwright, at 1400 px and on a
400 px phone.

Chromium is Debian's package (``apt-get install chromium``; ``.ci/run`` installs it) or any
executable named by ``$KMEANSLAB_CHROMIUM``; Playwright drives it without a browser of its own.
Without either the tests are skipped, saying which is missing; with
``KMEANSLAB_REQUIRE_BROWSER=1`` (``.ci/run`` sets it) they fail instead, so that CI cannot pass
without having looked at the page. ``KMEANSLAB_SCREENSHOTS=DIR`` keeps a screenshot of each width.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from kmeanslab.course import run_demo
from test_report import TINY

WIDTHS = (1400, 400)
# No network here, and none wanted: without these Chromium tries to reach Google at start.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(reason: str):
    if os.environ.get("KMEANSLAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and KMEANSLAB_REQUIRE_BROWSER=1 asks for the browser test to run")
    pytest.skip(reason)


def _chromium() -> str:
    named = os.environ.get("KMEANSLAB_CHROMIUM")
    candidates = [named] if named else ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
    for name in candidates:
        path = shutil.which(name)
        if path:
            return path
    _missing("no Chromium executable (apt-get install chromium, or set KMEANSLAB_CHROMIUM)")


@pytest.fixture(scope="module")
def browser_kit():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install -e '.[test]')")
    executable = _chromium()
    with sync_playwright() as playwright:
        yield playwright, executable


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """A small demo report (with MNIST and the text section where they are available)."""
    out = tmp_path_factory.mktemp("browser") / "report"
    run_demo(out, config=TINY)
    return out


# What the page reports about itself, measured by the browser.
MEASURE = """() => {
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const channels = (colour) => colour.match(/[\\d.]+/g).map(Number);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = channels(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const lowContrast = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const fg = luminance(channels(getComputedStyle(el).color).slice(0, 3));
    const bg = luminance(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) lowContrast.push(`${el.tagName}.${el.className}: ${ratio.toFixed(2)}`);
  }
  const wrapped = [];
  for (const el of document.querySelectorAll('td, th, .nowrap')) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const tops = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top)));
    if (tops.size > 1) wrapped.push(el.textContent);
  }
  const main = document.querySelector('main').getBoundingClientRect().width;
  return {
    innerWidth: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    main,
    headings: Array.from(document.querySelectorAll('h1, h2')).map((h) => h.textContent),
    tocColumns: getComputedStyle(document.querySelector('nav ol')).columnCount,
    images: Array.from(document.images).map((img) => ({
      file: img.dataset.file, complete: img.complete, natural: img.naturalWidth,
      shown: img.getBoundingClientRect().width,
    })),
    lowContrast,
    wrapped,
  };
}"""


def _open(kit, path: Path, width: int, tmp_path: Path):
    """The page at one width (a phone below 700 px: touch, and the viewport meta tag honoured)."""
    playwright, executable = kit
    phone = width < 700
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / f"profile-{width}"),  # a fresh profile each time
        executable_path=executable,
        args=CHROMIUM_FLAGS,
        headless=True,
        viewport={"width": width, "height": 900},
        is_mobile=phone,
        has_touch=phone,
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri(), wait_until="load")
    return context, page, errors


@pytest.mark.parametrize("width", WIDTHS)
def test_the_report_in_chromium(browser_kit, report, width, tmp_path):
    results = json.loads((report / "results.json").read_text(encoding="utf-8"))
    context, page, errors = _open(browser_kit, report / "index.html", width, tmp_path)
    try:
        seen = page.evaluate(MEASURE)
        shots = os.environ.get("KMEANSLAB_SCREENSHOTS")
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(shots) / f"report-{width}.png"))
    finally:
        context.close()
    # The page is laid out at the screen's width (the viewport meta tag; a phone would use 980 px
    # without it) and nothing makes it wider.
    assert seen["innerWidth"] == width
    assert seen["scrollWidth"] <= width, "the page scrolls sideways"
    assert errors == []
    # The headings in order: the title, the contents, then each section as results.json lists them.
    assert seen["headings"] == [results["title"], "Contents"] + [s["title"] for s in results["sections"].values()]
    # Every figure loaded, from the page itself.
    figures = sorted(p.name for p in report.glob("*.png"))
    assert sorted(image["file"] for image in seen["images"]) == figures
    assert all(image["complete"] and image["natural"] > 0 for image in seen["images"])
    # Figures fill the width they may have, and none shrinks below 45% (7 pt text stays readable).
    for image in seen["images"]:
        assert image["shown"] == pytest.approx(min(image["natural"], seen["main"]), abs=1.5), image
        assert image["shown"] / image["natural"] >= 0.45, image
    # No number, "k-means++" or table cell breaks across lines; every text is AA contrast.
    assert seen["wrapped"] == []
    assert seen["lowContrast"] == []
    if width < 700:
        assert seen["tocColumns"] in ("auto", "1")  # one column of contents on a phone
    else:
        assert seen["tocColumns"] == "2"


def test_index_html_alone_still_shows_every_figure(browser_kit, report, tmp_path):
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(report / "index.html", alone / "index.html")
    context, page, errors = _open(browser_kit, alone / "index.html", 1400, tmp_path)
    try:
        images = page.evaluate("Array.from(document.images).map((img) => img.complete && img.naturalWidth > 0)")
        hrefs = page.evaluate("Array.from(document.links).map((a) => a.getAttribute('href'))")
        targets = page.evaluate(
            "Array.from(document.links).every((a) => document.getElementById(a.getAttribute('href').slice(1)))"
        )
    finally:
        context.close()
    assert images and all(images)
    assert all(href.startswith("#") for href in hrefs) and targets
    assert errors == []
