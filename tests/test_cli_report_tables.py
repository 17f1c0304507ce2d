"""What the CLI prints and writes, as the report shows it: the tables' headings and numbers, the
demo's digits split, ``report`` choosing k by the criteria, and the report's file names."""

from __future__ import annotations

import json
import re

import numpy as np

from kmeanslab.cli import main
from kmeanslab.course import DemoConfig
from kmeanslab.datasets import load_digits, train_val_split


def test_elbow_table_reads_as_the_report(capsys):
    assert main(["elbow", "faithful", "--k", "1:4", "--runs", "2"]) == 0
    out = capsys.readouterr().out
    assert "training J" in out and "validation J" in out
    assert "train_mean" not in out and "val_std" not in out
    # No "1.256e-15"-style noise: every number of a column to the same decimal place, as in the report.
    assert not re.search(r"\d e[-+]\d|\de-\d", out), out
    row_k1 = next(line for line in out.splitlines() if re.match(r"│\s+1 │", line))
    assert re.search(r"│\s+180\.1±0\.0 │\s+207\.1±0\.0 │", row_k1), row_k1


def test_classify_digits_splits_as_the_demo(capsys, tmp_path):
    out = tmp_path / "classify"
    assert main(["classify", "digits", "-k", "10", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1257 training and 540 test rows drawn at random from digits" in printed
    # The demo's same experiment: 30% held out with the demo's seed.
    train, test = train_val_split(load_digits(), val=0.3, seed=DemoConfig().seed)
    assert (train.data.shape[0], test.data.shape[0]) == (1257, 540)
    results = json.loads((out / "results.json").read_text())
    assert np.asarray(results["confusion_matrix"]).sum() == 540


def test_report_without_k_shows_how_k_was_chosen(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", "faithful", "--out", str(out), "--ks", "1:6", "--runs", "2", "--no-progress"]) == 0
    capsys.readouterr()
    results = json.loads((out / "results.json").read_text())["sections"]
    choice = results["choose-k"]
    assert set(choice["choices"]) == {
        "silhouette",
        "gap",
        "elbow",
        "calinski_harabasz",
        "davies_bouldin",
        "stability",
    }
    # The clusters shown are at the k the criteria voted for (Old Faithful: 2, by most of them).
    assert choice["k"] == 2 == results["clusters"]["k"]
    assert sum(k == 2 for k in choice["choices"].values()) >= 3
    assert [row["k"] for row in choice["table"]] == list(range(1, 7))
    html = (out / "index.html").read_text()
    assert '<section id="choose-k">' in html and "Choosing k" in html
    text = re.sub(r"<[^>]+>", "", html)  # the words as read, without the markup
    for title in ("silhouette: k = 2", "gap statistic: k = 2", "elbow (knee): k = 2"):
        assert f"\n{title}\n" in text
    assert "training J" in html and "validation J" in html
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == ["choose-k-criteria.png", "clusters-loss.png", "clusters-scatter.png", "elbow.png"]
    assert html.count("data:image/png;base64,") == 4


def test_report_with_k_shows_that_k(tmp_path, capsys):
    out = tmp_path / "report"
    argv = ["report", "faithful", "--out", str(out), "--ks", "1:5", "--runs", "2", "-k", "3", "--scale", "standard"]
    assert main(argv) == 0
    capsys.readouterr()
    results = json.loads((out / "results.json").read_text())["sections"]
    assert "choose-k" not in results and results["clusters"]["k"] == 3
    html = (out / "index.html").read_text()
    assert "faithful (standardised)" in html
    assert not (out / "elbow-elbow.png").exists() and (out / "elbow.png").is_file()
    # Standardised data: J at k = 1 is the number of features (each of variance 1), 2.
    assert abs(results["elbow"]["table"][0]["train_mean"] - 2.0) < 0.1


def test_elbow_takes_k_in_any_order(capsys):
    assert main(["elbow", "faithful", "--k", "4,1,3,2", "--runs", "2"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if re.match(r"│\s+\d", line)]
    assert [int(re.match(r"│\s+(\d+)", line).group(1)) for line in rows] == [1, 2, 3, 4]
