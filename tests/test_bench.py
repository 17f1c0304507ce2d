"""The benchmark's pieces: floors, data, contenders, cells, checks, tables, and short runs."""

from __future__ import annotations

import json
import math
import sys
import types

import numpy as np
import pytest
import scipy.sparse as sp

import benchmarks
from benchmarks import compare as bench
from benchmarks import shapes, tables
from benchmarks.beyond import minibatch_cell, out_of_core_rows, sparse_support
from benchmarks.checks import check_rows
from benchmarks.matrix import cell_floor, convergence_cell, iteration_cell, memory_cell
from benchmarks.peers import exact_inertia, kmeanslab_contenders, peer_contenders
from benchmarks.timing import alternate, floor_bound, median


@pytest.fixture(autouse=True)
def no_pause_between_runs(monkeypatch):
    """The pause that lets other libraries' worker threads go idle only slows these tests."""
    monkeypatch.setattr("benchmarks.timing.SETTLE_S", 0.0)


# --------------------------------------------------------------------------- floors


def test_floor_is_the_larger_of_memory_and_compute_time():
    # MNIST-60k-shift at k=10 is memory bound: 60000*784*4 bytes / 13e9 B/s.
    assert bench.floor_seconds(60000, 784, 10) == pytest.approx(60000 * 784 * 4 / 13e9)
    # At k=256 the matrix product dominates: 2*60000*256*784 / 159e9 FLOP/s.
    assert bench.floor_seconds(60000, 784, 256) == pytest.approx(2 * 60000 * 256 * 784 / 159e9)
    assert bench.floor_seconds(10, 1, 1, read_bytes_per_s=40.0, peak_flops=1e9) == pytest.approx(1.0)


def test_floor_bound_names_the_larger_term():
    assert floor_bound(60000, 784, 10) == "memory"
    assert floor_bound(60000, 784, 256) == "compute"
    # 1,000,000 x 2 at k = 10: 8 MB / 13 GB/s = 0.62 ms against 40 MFLOP / 159 GFLOP/s = 0.25 ms.
    assert floor_bound(1_000_000, 2, 10) == "memory"
    assert floor_bound(1_000_000, 2, 100) == "compute"


def test_cell_floor_of_a_sparse_matrix_counts_stored_entries():
    # 4 rows, 6 stored float32 entries (24 B) + 6 int32 indices (24 B) + 5 int32 row pointers (20 B).
    X = sp.csr_matrix(np.array([[1, 0, 2], [0, 3, 0], [4, 5, 0], [0, 0, 6]], dtype=np.float32))
    X.indices = X.indices.astype(np.int32)
    X.indptr = X.indptr.astype(np.int32)
    peaks = dict(read_bytes_per_s=68.0, peak_flops=1.0)
    seconds, bound = cell_floor(X, 2, peaks)
    assert seconds == pytest.approx(max(68 / 68.0, 2 * 6 * 2 / 1.0)) and bound == "compute"
    dense = np.zeros((10, 3), np.float32)
    assert cell_floor(dense, 1, dict(read_bytes_per_s=120.0, peak_flops=1e9)) == (pytest.approx(1.0), "memory")


def test_machine_peaks_are_plausible():
    peaks = bench.machine_peaks(repeats=1)
    assert 1e9 < peaks["peak_flops"] < 1e14
    assert 1e8 < peaks["read_bytes_per_s"] < 1e12


def test_alternate_rotates_the_order_and_keeps_the_last_result():
    calls = []
    runners = {name: (lambda name=name: calls.append(name) or name.upper()) for name in "abc"}
    runs = alternate(runners, 4, settle_s=0.0)
    assert "".join(calls) == "abc" + "bca" + "cab" + "abc"
    assert [r.result for r in runs["a"]] == [None, None, None, "A"]
    assert [r.result for r in alternate(runners, 2, keep="all", settle_s=0.0)["b"]] == ["B", "B"]
    assert median([3.0, float("nan"), 1.0, 2.0]) == 2.0 and math.isnan(median([float("nan")]))


# --------------------------------------------------------------------------- data


def test_shift_moves_pixels_and_fills_zeros():
    images = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3)
    right = bench._shifted(images, 0, 1)
    np.testing.assert_array_equal(right[0], [[0, 1, 2], [0, 4, 5], [0, 7, 8]])
    up = bench._shifted(images, -1, 0)
    np.testing.assert_array_equal(up[0], [[4, 5, 6], [7, 8, 9], [0, 0, 0]])
    diagonal = bench._shifted(images, 1, 1)
    np.testing.assert_array_equal(diagonal[0], [[0, 0, 0], [0, 1, 2], [0, 4, 5]])


@pytest.mark.data
def test_mnist_60k_shift_is_the_test_images_and_five_shifts(data_dir):
    X = bench.mnist_60k_shift(data_dir)
    assert X.shape == (60000, 784) and X.dtype == np.float32 and X.flags.c_contiguous
    images = bench.mnist_test_images(data_dir)
    np.testing.assert_array_equal(X[:10000], images.reshape(10000, 784))
    # The second block is every image moved one pixel to the right.
    np.testing.assert_array_equal(X[10000:20000].reshape(-1, 28, 28)[:, :, 1:], images[:, :, :-1])
    assert not X[10000:20000].reshape(-1, 28, 28)[:, :, 0].any()


def test_generators_are_float32_and_repeatable():
    X = shapes.blobs32(5000, 3, seed=1, chunk=1024)
    out = np.empty((5000, 3), np.float32)
    assert shapes.blobs32(5000, 3, seed=1, chunk=1024, out=out) is out
    np.testing.assert_array_equal(X, out)
    G = shapes.gaussian32(20000, 4, seed=2)
    assert G.dtype == np.float32 and abs(G.mean()) < 0.02 and abs(G.var() - 1.0) < 0.02


def test_synthetic_embeddings_match_the_real_statistics():
    X = shapes.sentence_like_embeddings(3000)
    assert X.shape == (3000, 384) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)
    stats = shapes.embedding_statistics(X)
    # The real all-MiniLM-L6-v2 values (see benchmarks/shapes.py), with a margin for the sample.
    real = dict(
        mean_norm=0.33,
        pair_cosine_mean=0.108,
        nearest_cosine_mean=0.65,
        variance_top10=0.26,
        variance_top50=0.60,
        variance_top100=0.78,
    )
    for key, value in real.items():
        assert stats[key] == pytest.approx(value, abs=0.04), key
    assert 70 < stats["effective_dimension"] < 110


def test_tfidf_documents_are_unit_rows_of_a_float32_csr_matrix():
    X = shapes.tfidf_documents(300, vocabulary=512, n_topics=5, seed=3)
    assert sp.isspmatrix_csr(X) and X.shape == (300, 512) and X.dtype == np.float32
    np.testing.assert_allclose(np.sqrt(X.multiply(X).sum(axis=1)).A.ravel(), 1.0, rtol=1e-5)
    assert 20 < X.nnz / 300 < 90  # about 80 words a document, some repeated


def test_start_rows_are_distinct_rows_of_x_and_repeatable():
    X = np.arange(40, dtype=np.float32).reshape(20, 2)
    start = shapes.start_rows(X, 5, seed=7)
    assert start.dtype == np.float32 and start.shape == (5, 2)
    assert len({tuple(r) for r in start}) == 5 and all(any((X == r).all(axis=1)) for r in start)
    np.testing.assert_array_equal(start, shapes.start_rows(X, 5, seed=7))
    np.testing.assert_array_equal(shapes.start_rows(sp.csr_matrix(X), 5, seed=7), start)


def test_every_shape_has_a_quick_twin():
    assert shapes.SHAPES.keys() == shapes.QUICK_SHAPES.keys()
    assert shapes.SHAPES["mnist"].ks == (10, 100, 256, 1000)
    assert (shapes.SHAPES["blobs2"].n, shapes.SHAPES["blobs2"].d) == (1_000_000, 2)
    assert shapes.SHAPES["blobs64"].iterations_cap(1000) == 30 and shapes.SHAPES["gauss32"].ks == (100,)


# --------------------------------------------------------------------------- contenders and scores


def test_exact_inertia_dense_and_sparse():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0]], np.float32)
    C = np.array([[1.0, 0.0], [10.0, 0.0]])
    assert exact_inertia(X, C, np.array([0, 0, 1]), chunk=2) == 2.0  # 1 + 1 + 0
    assert exact_inertia(sp.csr_matrix(X), C, np.array([0, 0, 1]), chunk=2) == pytest.approx(2.0)
    assert exact_inertia(X, C, np.array([1, 0, 0])) == 100 + 1 + 81


def test_contender_lists():
    ours = [c.name for c in kmeanslab_contenders()]
    assert ours[0] == "kmeanslab auto" and "kmeanslab lloyd" in ours and "kmeanslab elkan" in ours
    peers = [c.name for c in peer_contenders()]
    assert peers[:2] == ["sklearn lloyd", "sklearn elkan"]
    assert [c.name for c in peer_contenders(which=("sklearn elkan",))] == ["sklearn elkan"]


def _tiny_blobs():
    return shapes.Shape("tiny", "tiny blobs", 3000, 2, (5,), lambda shape, home: shapes.blobs32(3000, 2, 5, seed=4))


def test_convergence_cell_rows_and_summary():
    shape = _tiny_blobs()
    X = shape.data()
    rows = convergence_cell(X, shape, 5, repeats=2)
    cell = rows[-1]
    assert cell["section"] == "convergence-cell"
    timed = {r["contender"]: r for r in rows[:-1] if "seconds" in r}
    assert {"kmeanslab auto", "kmeanslab lloyd", "sklearn lloyd", "sklearn elkan"} <= timed.keys()
    peers = [r for r in timed.values() if not r["ours"]]
    assert cell["best_peer_s"] == min(r["seconds"] for r in peers)
    assert timed[cell["best_peer"]]["vs_best_peer"] == 1.0
    assert cell["auto_s"] == timed["kmeanslab auto"]["seconds"]
    assert cell["fastest_own_s"] == min(r["seconds"] for n, r in timed.items() if r["ours"] and n != "kmeanslab auto")
    assert timed["sklearn lloyd"]["inertia_rel"] == 0.0 and timed["sklearn lloyd"]["agreement"] == 1.0
    # Same start, exact algorithms: every kmeanslab algorithm reaches scikit-learn's partition.
    for name in ("kmeanslab auto", "kmeanslab lloyd", "kmeanslab hamerly", "kmeanslab elkan", "kmeanslab yinyang"):
        assert abs(timed[name]["inertia_rel"]) < 1e-5 and timed[name]["agreement"] == 1.0, name
        assert timed[name]["converged"] and timed[name]["iterations"] == timed["sklearn lloyd"]["iterations"]
    if "faiss-cpu" in timed:  # as many iterations as scikit-learn's Lloyd
        assert timed["faiss-cpu"]["iterations"] == timed["sklearn lloyd"]["iterations"]


def test_iteration_cell_counts_the_extra_iterations_only():
    shape = shapes.Shape("g", "gaussian", 4000, 3, (8,), lambda shape, home: shapes.gaussian32(4000, 3))
    X = shape.data()
    peaks = dict(read_bytes_per_s=1e10, peak_flops=1e11)
    rows = iteration_cell(X, shape, 8, repeats=1, n_iter=2, peaks=peaks, peer_names=("sklearn lloyd",))
    by_name = {r["contender"]: r for r in rows}
    assert set(by_name) == {"kmeanslab lloyd", "sklearn lloyd"}
    ours = by_name["kmeanslab lloyd"]
    assert ours["iterations"] == 3 and ours["bound"] == "memory"
    assert ours["floor_ms"] == pytest.approx(1e3 * 4000 * 3 * 4 / 1e10)
    assert ours["vs_floor"] == pytest.approx(ours["ms_per_iter"] / ours["floor_ms"])
    assert by_name["sklearn lloyd"]["vs_sklearn"] == 1.0


def test_minibatch_cell_compares_with_sklearn():
    shape = _tiny_blobs()
    X = shape.data()
    rows = minibatch_cell(X, shape, 5, repeats=2, batch_size=256, exact_inertia_of_cell=1.0)
    ours, theirs = rows
    assert ours["contender"] == "kmeanslab MiniBatchKMeans" and theirs["contender"] == "sklearn MiniBatchKMeans"
    assert theirs["speedup_vs_sklearn"] == 1.0 and theirs["inertia_vs_sklearn"] == 0.0
    assert ours["speedup_vs_sklearn"] == pytest.approx(theirs["seconds"] / ours["seconds"])
    assert ours["steps"] >= 1 and ours["vs_exact"] == pytest.approx(ours["inertia"] - 1.0)
    # Five well-separated blobs: both libraries find them.
    assert abs(ours["inertia_vs_sklearn"]) < 0.05


def test_sparse_support_is_found_by_trying():
    supported, note = sparse_support()
    assert isinstance(supported, bool)
    assert (
        note == "KMeans accepts scipy.sparse" if supported else note.startswith("KMeans does not accept scipy.sparse")
    )


@pytest.mark.slow
def test_memory_cell_measures_a_fresh_process():
    shape = shapes.QUICK_SHAPES["blobs2"]
    row = memory_cell(shape, 10, quick=True)
    assert "note" not in row, row.get("note")
    assert row["n"] == 100_000 and row["x_mib"] == pytest.approx(100_000 * 2 * 4 / 2**20)
    assert row["allowed_mib"] == pytest.approx(64 + 16 * 100_000 / 2**20)
    assert row["extra_mib"] == pytest.approx(row["peak_mib"] - row["before_fit_mib"])
    assert row["ok"] == (row["extra_mib"] <= row["allowed_mib"]) and row["iterations"] >= 1


@pytest.mark.slow
def test_out_of_core_rows_stream_a_file_above_the_threshold(monkeypatch, tmp_path):
    from kmeanslab.scale import is_out_of_core

    # A small threshold, set where the estimator reads it, so that a 1.5 MiB file streams.
    monkeypatch.setattr(sys.modules[is_out_of_core.__module__], "STREAM_MIN_BYTES", 2**20)
    monkeypatch.setattr("benchmarks.beyond.STREAM_MIN_BYTES", 2**20)
    rows = out_of_core_rows(12_288, 32, 8, repeats=1, n_iter=1, seeding_timeout=300, tmp_dir=tmp_path)
    by_source = {r["source"]: r for r in rows if r["section"] == "out-of-core"}
    assert list(by_source) == ["in memory", ".npy, block reads (open_npy)", ".npy, memory map"]
    assert not by_source["in memory"]["streamed"] and by_source["in memory"]["vs_in_memory"] == 1.0
    assert by_source[".npy, block reads (open_npy)"]["streamed"] and by_source[".npy, memory map"]["streamed"]
    seeding = next(r for r in rows if r["section"] == "seeding-file")
    assert "note" not in seeding, seeding.get("note")
    assert seeding["in_iterations"] == pytest.approx(seeding["seeding_s"] / seeding["iteration_s"])
    assert not list(tmp_path.iterdir())  # the file is gone


# --------------------------------------------------------------------------- checks


def _cell(shape="mnist", data="MNIST-60k-shift, 60,000 x 784", k=100, auto_s=1.0, best_peer_s=3.5, **extra):
    return dict(
        section="convergence-cell",
        shape=shape,
        data=data,
        k=k,
        auto_s=auto_s,
        auto_ran="elkan",
        best_peer="sklearn elkan",
        best_peer_s=best_peer_s,
        auto_inertia_rel=extra.get("inertia", -1e-6),
        fastest_own="kmeanslab elkan",
        fastest_own_s=extra.get("fastest_own_s", 1.0),
    )


def _statuses(rows):
    return [(c.name, c.status) for c in check_rows(rows)]


def test_convergence_checks_need_3x_at_large_k_on_mnist_only():
    rows = [
        _cell(k=100, best_peer_s=2.5),  # MNIST k = 100: 2.5x < 3x
        _cell(shape="blobs2", data="blobs, 1,000,000 x 2", k=100, best_peer_s=2.5),  # 2.5x >= 2x
        _cell(k=10, best_peer_s=2.1, inertia=2e-3, fastest_own_s=0.95),
        _cell(k=256, best_peer_s=3.0, fastest_own_s=0.85),
    ]
    statuses = _statuses(rows)
    assert statuses[:3] == [
        ("convergence MNIST-60k-shift, 60,000 x 784 k=100", "MISSED"),
        ("inertia MNIST-60k-shift, 60,000 x 784 k=100", "PASS"),
        ("auto MNIST-60k-shift, 60,000 x 784 k=100", "PASS"),
    ]
    assert statuses[3][1] == "PASS"  # blobs at 2.5x
    assert statuses[6:9] == [
        ("convergence MNIST-60k-shift, 60,000 x 784 k=10", "PASS"),
        ("inertia MNIST-60k-shift, 60,000 x 784 k=10", "MISSED"),  # 0.2% worse than sklearn lloyd
        ("auto MNIST-60k-shift, 60,000 x 784 k=10", "PASS"),  # +5%
    ]
    assert statuses[9:] == [
        ("convergence MNIST-60k-shift, 60,000 x 784 k=256", "PASS"),  # exactly 3x
        ("inertia MNIST-60k-shift, 60,000 x 784 k=256", "PASS"),
        ("auto MNIST-60k-shift, 60,000 x 784 k=256", "MISSED"),  # +18%
    ]
    line = check_rows(rows[:1])[0].line()
    assert line == (
        "MISSED convergence MNIST-60k-shift, 60,000 x 784 k=100: auto (elkan) 1.000 s vs sklearn elkan 2.500 s: "
        "2.50x (>= 3x)"
    )


def test_iteration_memory_minibatch_out_of_core_and_seeding_checks():
    iteration = dict(section="iteration", contender="kmeanslab lloyd", data="d", k=10, ms_per_iter=2.9)
    memory = dict(section="memory", data="d", k=10, ran="lloyd", x_mib=10.0, n=1000, extra_mib=64.0)
    minibatch = dict(section="minibatch", contender="kmeanslab MiniBatchKMeans", data="d", k=10)
    ooc = dict(section="out-of-core", source=".npy, memory map", n=10, k=10, ms_per_iter=15.0, streamed=True)
    seeding = dict(section="seeding-file", source="f", n=10, k=1000, iteration_s=2.0)
    rows = [
        dict(iteration, bound="memory", floor_ms=1.0, vs_floor=2.9),
        dict(iteration, bound="compute", floor_ms=1.0, vs_floor=1.6),
        dict(iteration, contender="sklearn lloyd", bound="compute", floor_ms=1.0, vs_floor=9.0),
        dict(memory, allowed_mib=64.02, ok=True),
        dict(memory, allowed_mib=63.0, ok=False),
        dict(memory, note="the child failed (1)"),
        dict(minibatch, speedup_vs_sklearn=2.1, inertia_vs_sklearn=0.004),
        dict(minibatch, speedup_vs_sklearn=2.1, inertia_vs_sklearn=0.006),
        dict(minibatch, speedup_vs_sklearn=1.9, inertia_vs_sklearn=-0.01),
        dict(ooc, source="in memory", vs_in_memory=1.0, streamed=False),
        dict(ooc, vs_in_memory=1.5),
        dict(ooc, vs_in_memory=1.2, streamed=False),
        dict(seeding, seeding_s=19.0, in_iterations=9.5),
        dict(seeding, timed_out=900.0),
        dict(section="check", name="cold start", status="SKIPPED", detail="not there"),
    ]
    assert [s for _, s in _statuses(rows)] == [
        "PASS",
        "MISSED",
        "PASS",
        "MISSED",
        "SKIPPED",
        "PASS",
        "MISSED",
        "MISSED",
        "PASS",
        "MISSED",
        "PASS",
        "MISSED",
        "SKIPPED",
    ]
    lines = [c.line() for c in check_rows(rows)]
    assert lines[0] == "PASS iteration d k=10: kmeanslab lloyd 2.9 ms vs floor 1.0 ms (memory-bound): 2.90x (<= 3x)"
    assert lines[5] == "PASS mini-batch d k=10: stops 2.10x sooner (>= 2x) at inertia +0.40% vs sklearn's (<= +0.5%)"
    assert lines[11] == "MISSED seeding k=1000 on 10 rows (f): not done after 900 s = 450 Lloyd iterations"


def test_verdict_lines_of_another_script_become_checks():
    printed = "| a | met |\ntarget: Faithful within 3 s: met\n- silhouette 5x faster: MISSED (3.1x)\nnothing here"
    rows = bench.verdict_checks("silhouette", printed)
    assert [(r["status"], r["detail"]) for r in rows] == [
        ("PASS", "target: Faithful within 3 s: met"),
        ("MISSED", "silhouette 5x faster: MISSED (3.1x)"),
    ]


def test_cold_start_rows_use_the_script_when_present(monkeypatch):
    fake = types.ModuleType("benchmarks.cold_start")
    fake.FAITHFUL_LIMIT_S, fake.MNIST_EXTRA_LIMIT_S = 3.0, 5.0

    def run(repeats, data_home, log):
        log("| seconds | runs |")
        return [dict(faithful_s=2.5 + r, mnist_first_s=9.0, mnist_warm_s=2.0) for r in range(repeats)]

    fake.run = run
    monkeypatch.setitem(sys.modules, "benchmarks.cold_start", fake)
    monkeypatch.setattr(benchmarks, "cold_start", fake, raising=False)
    monkeypatch.setattr(bench.importlib.util, "find_spec", lambda name: object())
    rows = bench.cold_start_rows(quick=False, data_home=None, log=lambda line: None)
    assert rows[0]["section"] == "text" and rows[0]["body"] == "| seconds | runs |"
    assert [(r["status"], r["detail"]) for r in rows[1:]] == [
        ("MISSED", "3.50 s after the import (<= 3 s), median of 3"),
        ("MISSED", "9.00 s = warm 2.00 s + 7.00 s (<= warm + 5 s)"),
    ]
    monkeypatch.setattr(bench.importlib.util, "find_spec", lambda name: None)
    assert bench.cold_start_rows(True, None, print)[0]["status"] == "SKIPPED"


# --------------------------------------------------------------------------- tables and the command line


def test_tables_name_the_data_and_every_column():
    rows = [
        dict(section="iteration", data="tiny", k=10, contender="kmeanslab lloyd", ms_per_iter=50.0, vs_sklearn=1.2),
        dict(section="iteration", data="tiny", k=10, contender="faiss-cpu", note="skipped: dense input only"),
        dict(section="text", title="Cold start", body="| a |\n"),
    ]
    text = tables.format_tables(rows)
    lines = text.strip().splitlines()
    assert lines[0] == "### One full Lloyd iteration (every distance), against the floor: tiny, float32"
    header = [c.strip() for c in lines[2].strip("|").split("|")]
    first = [c.strip() for c in lines[4].strip("|").split("|")]
    second = [c.strip() for c in lines[5].strip("|").split("|")]
    assert len(header) == len(first) == len(tables.COLUMNS["iteration"])
    assert first[:5] == ["10", "kmeanslab lloyd", "-", "50.0", "1.20"]
    assert second[-1] == "skipped: dense input only"
    assert text.endswith("### Cold start\n\n| a |")
    assert tables.fmt(float("nan")) == "-" and tables.fmt(True) == "yes" and tables.fmt(0.5, "+.1%") == "+50.0%"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--sections", "iteration,warp"], "--sections has unknown name(s) warp"),
        (["--shapes", "mnist,moon"], "--shapes has unknown name(s) moon"),
        (["--peers", "torch"], "--peers has unknown name(s) torch"),
        (["--repeats", "0"], "--repeats=0 is not valid; expected an integer >= 1"),
        (["--seeding-timeout", "-1"], "--seeding-timeout=-1.0 is not valid"),
    ],
)
def test_bad_options_are_usage_errors(argv, message, capsys):
    assert bench.main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_quick_matrix_runs_from_the_command_line(capsys, tmp_path):
    out, markdown = tmp_path / "bench.json", tmp_path / "bench.md"
    argv = ["--quick", "--sections", "convergence,iteration", "--shapes", "blobs2,tfidf"]
    argv += ["--peers", "sklearn lloyd,sklearn elkan", "--json", str(out), "--out", str(markdown)]
    assert bench.main(argv) == 0
    printed = capsys.readouterr().out
    assert "### To convergence, tol 1e-4, same initial centres: blobs, 100,000 x 2, float32" in printed
    assert "### One full Lloyd iteration (every distance), against the floor: blobs, 100,000 x 2" in printed
    result = json.loads(out.read_text())
    assert markdown.read_text().strip() == result["text"].strip()
    names = {c["name"] for c in result["checks"]}
    assert {"convergence blobs, 100,000 x 2 k=10", "auto blobs, 100,000 x 2 k=10"} <= names
    assert "iteration blobs, 100,000 x 2 k=10" in names
    assert all(c["status"] in ("PASS", "MISSED", "SKIPPED") for c in result["checks"])
    ours = next(r for r in result["rows"] if r.get("contender") == "kmeanslab lloyd" and r["section"] == "convergence")
    assert abs(ours["inertia_rel"]) < 1e-4 and ours["agreement"] > 0.99
    if not sparse_support()[0]:
        assert any(c["name"].startswith("sparse row") and c["status"] == "SKIPPED" for c in result["checks"])
