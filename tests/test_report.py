"""kmeanslab.report: the HTML report, its PNGs and results.json; the demo end to end (small)."""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kmeanslab.errors import InputError
from kmeanslab.experiments import plots
from kmeanslab.experiments.report import DemoConfig, Report, Section, data_report, format_mean_std, run_demo

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

FIGURES_WITHOUT_MNIST = {
    "faithful-raw-clusters",
    "faithful-raw-loss",
    "faithful-standardised-clusters",
    "faithful-standardised-loss",
    "blobs-elbow",
    "blobs-clusters",
    "digits01-clusters",
    "digits01-centroids",
    "digits01-representatives",
    "digits01-elbow",
    "digits-centroids",
    "digits-confusion",
    "digits-accuracy-vs-k",
    "digits-inits",
}
SECTIONS = ["faithful", "blobs", "digits01", "digits", "mnist"]

# Fewer fits than DemoConfig.quick(): every section and figure, a few seconds.
TINY = dataclasses.replace(
    DemoConfig.quick(),
    blobs_ks=tuple(range(1, 9)),
    blobs_runs=1,
    digits01_ks=(1, 2, 3),
    digits_ks=(10, 12),
    digits_init_seeds=1,
    mnist_grid_ks=(10, 20),
    mnist_init_seeds=1,
    mnist_ks=(10,),
)


class _Page(HTMLParser):
    """The section ids, headings and embedded images of an index.html."""

    def __init__(self):
        super().__init__()
        self.sections: list[str] = []
        self.images: dict[str, bytes] = {}
        self.external: list[str] = []
        self._in_h2 = False
        self.headings: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs["id"])
        if tag == "h2":
            self._in_h2 = True
            self.headings.append("")
        if tag == "img":
            src = attrs["src"]
            if src.startswith("data:image/png;base64,"):
                self.images[attrs["data-file"]] = base64.b64decode(src.split(",", 1)[1])
            else:
                self.external.append(src)

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.headings[-1] += data


def read_page(path: Path) -> tuple[_Page, str]:
    text = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    return page, text


def section_html(text: str, key: str) -> str:
    """The HTML of one <section> of a page."""
    match = re.search(rf'<section id="{key}">(.*?)</section>', text, flags=re.S)
    assert match, f"no section {key!r}"
    return match.group(1)


def table_headers(html_text: str) -> list[list[str]]:
    """The header cells of each table in a piece of HTML."""
    return [re.findall(r"<th>(.*?)</th>", head) for head in re.findall(r"<thead>(.*?)</thead>", html_text, flags=re.S)]


# What each section of the demo must hold besides its figures: its heading and its tables.
INIT_TABLE = [
    "init",
    "iterations",
    "SSE",
    "J (mean squared distance)",
    "J_clust (mean distance)",
    "test accuracy",
    "training accuracy",
    "seeds",
]
SCORE_TABLE = ["k", "test accuracy", "error rate", "ARI", "NMI", "purity", "seeds"]
ELBOW_TABLE = ["k", "training J", "validation J", "iterations", "knee"]
FAITHFUL_TABLE = ["k", "iterations", "J first iteration", "J final", "cluster sizes"]
SECTION_TABLES = {
    "faithful": [FAITHFUL_TABLE, FAITHFUL_TABLE],
    "blobs": [ELBOW_TABLE],
    "digits01": [ELBOW_TABLE],
    "digits": [SCORE_TABLE, INIT_TABLE],
    "mnist": [INIT_TABLE, SCORE_TABLE],
}
HEADINGS = {
    "faithful": "Old Faithful: raw and standardised",
    "blobs": "Synthetic blobs: the elbow, with validation",
    "digits01": "Digits 0 and 1: k = 2",
    "digits": "Digits 0–9: clusters as a classifier",
}


def check_sections(page: _Page, text: str, mnist: bool) -> None:
    """Every section has its heading, its tables with the expected columns, and a caption per figure."""
    for key in SECTIONS:
        body = section_html(text, key)
        expected = SECTION_TABLES[key] if key != "mnist" or mnist else []
        assert table_headers(body) == expected, key
        # Every figure has a caption (and alt text) that is not empty.
        for alt, caption in re.findall(r'<img [^>]*alt="([^"]*)"[^>]*><figcaption>(.*?)</figcaption>', body):
            assert alt.strip() and caption.split("(<a")[0].strip()
    for heading in HEADINGS.values():
        assert any(h.startswith(heading) for h in page.headings), heading


def check_report_dir(out: Path, figures: set[str]) -> tuple[_Page, str, dict]:
    """index.html embeds every expected figure, byte for byte the PNG file beside it."""
    page, text = read_page(out / "index.html")
    assert page.sections == SECTIONS
    assert page.external == []  # self-contained
    pngs = {p.stem for p in out.glob("*.png")}
    assert pngs == figures
    assert set(page.images) == {f"{name}.png" for name in figures}
    for name, data in page.images.items():
        assert data[:8] == PNG_MAGIC
        assert data == (out / name).read_bytes()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    results = json.loads((out / "results.json").read_text())
    assert list(results["sections"]) == SECTIONS
    return page, text, results


# --------------------------------------------------------------------------- the document


def test_report_writes_html_pngs_and_json(tmp_path):
    report = Report("A <title>", intro=["Intro with `code`."])
    section = report.add(Section("first", "First & only"))
    section.text("Plain text with <tags> escaped and `kmeanslab demo`.")
    section.figure("curve", plots.plot_learning_curves([3.0, 2.0]), "A curve.")
    table = pd.DataFrame({"x_mean": [1.0, float("nan")], "x_std": [0.5, 0.1]}, index=pd.Index([1, 2], name="k"))
    section.table(format_mean_std(table), "A table.", key="table", values=table)
    section.result("value", np.float64(2.5))
    index = report.write(tmp_path / "out")
    page, text = read_page(index)
    assert page.sections == ["first"] and "First & only" in page.headings
    assert "&lt;tags&gt;" in text and "<code>kmeanslab demo</code>" in text and "<title>A &lt;title&gt;</title>" in text
    assert "1.000 ± 0.500" in text
    assert page.images["first-curve.png"] == (tmp_path / "out" / "first-curve.png").read_bytes()
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    first = results["sections"]["first"]
    assert first["value"] == 2.5
    assert first["table"] == [{"k": 1, "x_mean": 1.0, "x_std": 0.5}, {"k": 2, "x_mean": None, "x_std": 0.1}]


def test_section_keys_and_figure_names_are_checked():
    with pytest.raises(InputError, match="key='Bad Key'"):
        Section("Bad Key", "t")
    section = Section("ok", "t")
    section.figure("a", plots.plot_learning_curves([1.0]), "c")
    with pytest.raises(InputError, match="already has a figure named 'a'"):
        section.figure("a", plots.plot_learning_curves([1.0]), "c")
    report = Report("r")
    report.add(Section("s", "t"))
    with pytest.raises(InputError, match="already has a section 's'"):
        report.add(Section("s", "u"))


def test_format_mean_std_rounds_mean_and_std_alike():
    table = pd.DataFrame({"a_mean": [0.4304, 34672.4, 0.0], "a_std": [0.0037, 99.2, 0.0]})
    assert format_mean_std(table, digits=3)["a"].tolist() == ["0.430 ± 0.004", "34672 ± 99", "0.00 ± 0.00"]
    assert (
        math.isnan(float("nan"))
        and format_mean_std(pd.DataFrame({"a_mean": [float("nan")], "a_std": [1.0]}))["a"][0] == "–"
    )


def test_data_report_on_image_data_with_labels(tmp_path):
    from kmeanslab.datasets import load_digits

    digits = load_digits(n_class=3)
    report = data_report(
        digits.data, source="digits 0-2", y=digits.target, images=digits.images, k=3, ks=[1, 2, 3, 4, 5], runs=1, seed=0
    )
    report.write(tmp_path)
    page, text = read_page(tmp_path / "index.html")
    assert page.sections == ["elbow", "clusters"]
    assert set(page.images) == {
        "elbow-elbow.png",
        "clusters-scatter.png",
        "clusters-loss.png",
        "clusters-centroids.png",
        "clusters-representatives.png",
        "clusters-confusion.png",
    }
    results = json.loads((tmp_path / "results.json").read_text())["sections"]
    assert [row["k"] for row in results["elbow"]["table"]] == [1, 2, 3, 4, 5]
    assert results["clusters"]["k"] == 3 and sum(results["clusters"]["cluster_sizes"]) == digits.data.shape[0]
    assert results["clusters"]["scores"]["accuracy"] > 0.9  # 0, 1 and 2 separate well


# --------------------------------------------------------------------------- the demo


def test_demo_without_mnist_says_how_to_fetch_it(tmp_path):
    out = tmp_path / "report"
    index = run_demo(out, data_home=tmp_path / "no-data", config=TINY)
    assert index == out / "index.html"
    page, text, results = check_report_dir(out, FIGURES_WITHOUT_MNIST)
    assert "kmeanslab data fetch mnist" in text
    assert any(h.startswith("MNIST (not available)") for h in page.headings)
    assert results["sections"]["mnist"]["available"] is False
    # The numbers the sections report.
    faithful = results["sections"]["faithful"]
    assert faithful["raw_k2_inertia"] == pytest.approx(8901.7687209, abs=1e-6)
    assert [row["k"] for row in faithful["raw_fits"]] == [2, 3]
    assert results["sections"]["blobs"]["knee"] == 4
    assert results["sections"]["digits01"]["accuracy_k2"] > 0.95
    assert {row["init"] for row in results["sections"]["digits"]["init_summary"]} == {"gaussian", "random", "k-means++"}
    check_sections(page, text, mnist=False)
    # The page says what results.json holds.
    assert "The knee (kneed) is at k = 4." in section_html(text, "blobs")
    assert "8901.77" in section_html(text, "faithful")
    digits = section_html(text, "digits")
    assert ("k-means does not know there are ten classes" in digits) != (
        "every digit has a cluster of its own" in digits
    )
    assert [row["k"] for row in results["sections"]["digits"]["accuracy_vs_k"]] == [10, 12]


@pytest.mark.data
def test_demo_with_the_mnist_test_split(tmp_path, mnist_dir):
    out = tmp_path / "report"
    run_demo(out, data_home=mnist_dir.parent, config=TINY)
    figures = FIGURES_WITHOUT_MNIST | {
        "mnist-centroids-k10",
        "mnist-centroids-k20",
        "mnist-loss",
        "mnist-inits",
        "mnist-accuracy-vs-k",
    }
    page, text, results = check_report_dir(out, figures)
    mnist = results["sections"]["mnist"]
    assert "Only the MNIST test split is available" in mnist["setup"] and "other 9000" in mnist["setup"]
    assert "Only the MNIST test split is available" in text
    assert [row["k"] for row in mnist["accuracy_vs_k"]] == [10]
    # Measured with the test split only (1000 balanced training images, scored on the other
    # 9000), split and fit seeds 0..7: k=10 accuracy 0.517-0.612, k=20 0.660-0.703; chance is 0.1.
    assert 0.4 <= mnist["accuracy_k10"] <= 0.7
    assert 0.5 <= mnist["accuracy_k20"] <= 0.8
    check_sections(page, text, mnist=True)
    body = section_html(text, "mnist")
    assert "Only the MNIST test split is available" in body and "other 9000 test images" in body
    # The single fit of the k=10 grid set beside the mean over seeds of the same k.
    row = mnist["accuracy_vs_k"][0]
    assert (
        f"scored {mnist['accuracy_k10']:.3f} at k = 10; over the 1 seed of the table the same k give "
        f"{row['accuracy_mean']:.3f} ± {row['accuracy_std']:.3f}."
    ) in body
    assert len(mnist["init_runs"]) == 3 and {r["init"] for r in mnist["init_runs"]} == {
        "gaussian",
        "random",
        "k-means++",
    }


@pytest.mark.parametrize(
    "labels, classes, sentence",
    [
        ([0, 1, 1, 2, 3, 4, 5, 6, 7, 9], range(10), "Digit 1 gets two or more clusters and digit 8 none:"),
        ([0, 1, 1, 2, 2, 4, 5, 6, 7, 9], range(10), "Digits 1 and 2 get two or more clusters and digits 3 and 8 none:"),
        (list(range(10)), range(10), "Here every digit has a cluster of its own."),
    ],
)
def test_the_digits_caption_says_which_digits_share_clusters(labels, classes, sentence):
    from kmeanslab.experiments.report import _coverage_sentence, _label_coverage

    text = _coverage_sentence(*_label_coverage(np.array(labels), np.array(list(classes))))
    assert sentence in text
