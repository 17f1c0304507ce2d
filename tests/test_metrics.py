"""kmeanslab.metrics: hand-computed values, agreement with scikit-learn and NumPy, memory, errors."""

from __future__ import annotations

import doctest
import itertools

import numba
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist
from sklearn import metrics as skm
from sklearn.cluster import KMeans as SKKMeans

from benchmarks.compare import measure
from kmeanslab import metrics
from kmeanslab.datasets import load_digits, load_faithful, make_blobs
from kmeanslab.errors import InputError
from kmeanslab.metrics import agreement as agreement_module
from kmeanslab.metrics import gap as gap_module
from kmeanslab.metrics import indices as indices_module
from kmeanslab.metrics import silhouette as silhouette_module

LINE = np.array([[0.0], [1.0], [9.0], [10.0]])
LINE_LABELS = np.array([0, 0, 1, 1])


def _datasets():
    return {
        "blobs": make_blobs(1500, centers=5, n_features=3, seed=0).data,
        "digits": load_digits().data,
        "faithful": load_faithful().data,
    }


DATASETS = _datasets()


@pytest.fixture(scope="module", params=[(name, k) for name in DATASETS for k in (2, 5, 10)], ids=str)
def clustering(request):
    name, k = request.param
    X = DATASETS[name]
    return name, X, SKKMeans(k, n_init=1, random_state=0).fit_predict(X)


# --------------------------------------------------------------------------- silhouette


def test_silhouette_of_a_hand_computed_line():
    # Point 0: a = 1 (to 1), b = (9 + 10) / 2 = 9.5; point 1: a = 1, b = (8 + 9) / 2 = 8.5.
    expected = [8.5 / 9.5, 7.5 / 8.5, 7.5 / 8.5, 8.5 / 9.5]
    np.testing.assert_allclose(metrics.silhouette_samples(LINE, LINE_LABELS), expected, rtol=1e-15)
    assert metrics.silhouette_score(LINE, LINE_LABELS) == pytest.approx(np.mean(expected), rel=1e-15)


def test_silhouette_of_a_point_alone_is_zero_and_of_duplicates_is_defined():
    X = np.array([[0.0], [0.0], [0.0], [5.0]])
    values = metrics.silhouette_samples(X, [0, 0, 0, 1])
    # The duplicates: a = 0, b = 5 -> 1; the point alone in its cluster -> 0.
    np.testing.assert_array_equal(values, [1.0, 1.0, 1.0, 0.0])


def test_silhouette_equals_sklearn_in_float64(clustering):
    name, X, labels = clustering
    ours = metrics.silhouette_samples(X, labels)
    theirs = skm.silhouette_samples(X, labels)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-13)
    assert metrics.silhouette_score(X, labels) == pytest.approx(skm.silhouette_score(X, labels), rel=1e-10)


def test_cosine_silhouette_equals_sklearn(clustering):
    name, X, labels = clustering
    ours = metrics.silhouette_samples(X, labels, metric="cosine")
    theirs = skm.silhouette_samples(X, labels, metric="cosine")
    # Old Faithful's rows point almost the same way: 1 - cos is ~1e-3 and both libraries lose
    # ~1e-13 of it to cancellation, so near-zero silhouettes agree to 1e-10 absolute, not relative.
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10 if name == "faithful" else 1e-13)
    assert metrics.silhouette_score(X, labels, metric="cosine") == pytest.approx(
        skm.silhouette_score(X, labels, metric="cosine"), rel=1e-10
    )


def test_sampled_silhouette_draws_the_rows_sklearn_draws():
    X = DATASETS["digits"]
    labels = SKKMeans(8, n_init=1, random_state=0).fit_predict(X)
    for seed in (0, 7):
        ours = metrics.silhouette_score(X, labels, sample_size=300, random_state=seed)
        assert ours == pytest.approx(skm.silhouette_score(X, labels, sample_size=300, random_state=seed), rel=1e-10)
    assert metrics.silhouette_score(X, labels, sample_size=300, random_state=1) != pytest.approx(
        metrics.silhouette_score(X, labels, sample_size=300, random_state=2)
    )


def test_float32_silhouette_is_close_to_the_float64_one():
    X = DATASETS["digits"]
    labels = SKKMeans(10, n_init=1, random_state=0).fit_predict(X)
    exact = skm.silhouette_samples(X, labels)
    np.testing.assert_allclose(metrics.silhouette_samples(X.astype(np.float32), labels), exact, atol=2e-6)


def test_labels_may_be_strings_or_sparse_integers():
    X = DATASETS["faithful"]
    codes = SKKMeans(3, n_init=1, random_state=0).fit_predict(X)
    expected = metrics.silhouette_samples(X, codes)
    # Names sorting in the same order give the same layout, hence the same bits; other names
    # reorder the clusters, and the sums only to rounding.
    np.testing.assert_array_equal(metrics.silhouette_samples(X, codes * 10 + 7), expected)
    np.testing.assert_array_equal(metrics.silhouette_samples(X, np.array(["a", "b", "c"])[codes]), expected)
    np.testing.assert_allclose(metrics.silhouette_samples(X, np.array(["c", "a", "b"])[codes]), expected, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(8, 120),
    d=st.integers(1, 6),
    k=st.integers(2, 7),
    tile=st.sampled_from([16, 32, 1024]),
    seed=st.integers(0, 10**6),
    cosine=st.booleans(),
    grouped=st.booleans(),
)
# One feature, cosine: rows are exactly ±1 once divided by their norm (as scikit-learn's
# normalize does), so a = b = 0 for some rows and their silhouette is 0, not ±1 from a residue.
@example(n=8, d=1, k=3, tile=16, seed=8, cosine=True, grouped=True)
def test_tiles_of_any_size_give_sklearn_values(n, d, k, tile, seed, cosine, grouped):
    # Small tiles put cluster boundaries inside tiles and leave an odd tile count (a ghost in the
    # round-robin schedule); the result must not depend on where the tiles fall.
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, d)) * 4, 1)  # repeated values and rows happen
    labels = rng.integers(0, k, size=n)
    if not 2 <= np.unique(labels).size <= n - 1:
        return
    metric = "cosine" if cosine else "euclidean"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(silhouette_module, "_TILE_ROWS", tile)
        # Groups of pairs with their own sums (small data), or rounds of disjoint pairs (large).
        patch.setattr(silhouette_module, "_MIN_GROUPS", 4 if grouped else 10**9)
        ours = metrics.silhouette_samples(X, labels, metric=metric)
    np.testing.assert_allclose(ours, skm.silhouette_samples(X, labels, metric=metric), rtol=1e-9, atol=1e-9)


def test_constant_and_zero_features_change_nothing():
    X = DATASETS["faithful"]
    labels = SKKMeans(4, n_init=1, random_state=0).fit_predict(X)
    padded = np.column_stack([np.full(len(X), 3.5), X[:, :1], np.zeros(len(X)), X[:, 1:]])
    np.testing.assert_allclose(metrics.silhouette_samples(padded, labels), metrics.silhouette_samples(X, labels))
    with_zeros = np.column_stack([np.zeros(len(X)), X])
    np.testing.assert_allclose(
        metrics.silhouette_samples(with_zeros, labels, metric="cosine"),
        metrics.silhouette_samples(X, labels, metric="cosine"),
    )


def test_tiles_that_share_no_feature_give_sklearn_values():
    # Cluster c has values only in features 3c .. 3c+2 (plus one row of cluster 0 that has every
    # feature): with 16-row tiles most pairs of tiles share no feature at all and multiply
    # nothing, some share a few; the distances must not notice.
    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(4), 40)
    X = np.zeros((160, 12))
    for c in range(4):
        X[labels == c, 3 * c : 3 * c + 3] = rng.normal(2.0, 1.0, size=(40, 3))
    X[5] = rng.normal(size=12)
    order = rng.permutation(160)
    X, labels = X[order], labels[order]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(silhouette_module, "_TILE_ROWS", 16)
        for metric in ("euclidean", "cosine"):
            ours = metrics.silhouette_samples(X, labels, metric=metric)
            np.testing.assert_allclose(ours, skm.silhouette_samples(X, labels, metric=metric), rtol=1e-10, atol=1e-12)
        single = metrics.silhouette_samples(X.astype(np.float32), labels)
    np.testing.assert_allclose(single, skm.silhouette_samples(X, labels), atol=2e-6)


def test_the_euclidean_shift_is_zero_on_mostly_zero_features():
    X = np.array([[0.0, 1.0, 5.0, 2.0], [0.0, 2.0, 5.0, 0.0], [3.0, 6.0, 5.0, 0.0], [0.0, 3.0, 5.0, 1.0]])
    # Features: mostly zeros -> 0; no zeros -> the mean (3); constant -> its value; half zeros -> 0.
    shift = silhouette_module._shift(X, X.min(axis=0), X.max(axis=0))
    np.testing.assert_array_equal(shift, [0.0, 3.0, 5.0, 0.0])
    assert shift.dtype == X.dtype


def test_all_identical_rows_have_silhouette_zero():
    values = metrics.silhouette_samples(np.ones((6, 3)), [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(values, np.zeros(6))


@pytest.mark.parametrize("grouped", [True, False])
def test_result_does_not_depend_on_the_number_of_threads(grouped, monkeypatch):
    monkeypatch.setattr(silhouette_module, "_MIN_GROUPS", 4 if grouped else 10**9)
    X = make_blobs(6000, centers=6, n_features=8, seed=1).data.astype(np.float32)
    labels = SKKMeans(6, n_init=1, random_state=0).fit_predict(X)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = metrics.silhouette_samples(X, labels)
        numba.set_num_threads(previous)
        many = metrics.silhouette_samples(X, labels)
    finally:
        numba.set_num_threads(previous)
    np.testing.assert_array_equal(one, many)


def test_memory_stays_far_below_n_by_n():
    # 20000 rows: an n x n float32 matrix would be 1.5 GiB, scikit-learn's chunks 1 GiB.
    X = make_blobs(20000, centers=4, n_features=16, seed=2).data.astype(np.float32)
    labels = SKKMeans(4, n_init=1, random_state=0).fit_predict(X)
    metrics.silhouette_score(X[:500], labels[:500])  # compiled before measuring
    run = measure(lambda: metrics.silhouette_score(X, labels))
    if np.isnan(run.peak_bytes):
        pytest.skip("this system does not report the peak RSS of a process")
    assert run.peak_bytes < 64 * 2**20
    assert 0.0 < run.result <= 1.0


def test_tournament_pairs_every_tile_once_in_disjoint_rounds():
    for n_tiles in (1, 2, 3, 6, 7):
        rounds = silhouette_module._tournament(n_tiles)
        pairs = [tuple(sorted(p)) for r in rounds for p in r.tolist() if p[0] >= 0]
        expected = list(itertools.combinations_with_replacement(range(n_tiles), 2))
        assert sorted(pairs) == expected
        for r in rounds:
            tiles = [t for p in r.tolist() if p[0] >= 0 for t in set(p)]
            assert len(tiles) == len(set(tiles))  # no tile twice in a round: no two threads share rows


def test_grouped_pairs_deal_every_pair_once():
    rounds = silhouette_module._tournament(7)
    pairs, starts = silhouette_module._grouped_pairs(rounds, 5)
    assert sorted(tuple(sorted(p)) for p in pairs.tolist()) == list(
        itertools.combinations_with_replacement(range(7), 2)
    )
    assert starts.tolist() == [0, 6, 12, 18, 23, 28]  # 28 pairs dealt round-robin into 5 groups
    # As many groups as fit in the budget (64 MiB of n x k float64 copies), at most 16.
    assert silhouette_module._groups(60000, 10) == 13 and silhouette_module._groups(1000, 3) == 16
    assert silhouette_module._groups(10**6, 50) == 0


def test_tile_rows_shrink_to_the_memory_budget():
    assert silhouette_module._tile_rows(60000, 784, 4, 2) == 1024
    many_threads = silhouette_module._tile_rows(60000, 784, 4, 64)
    assert many_threads < 1024 and 64 * (2 * many_threads * 784 + many_threads**2) * 4 <= 96 * 2**20
    assert silhouette_module._tile_rows(100, 784, 4, 2) == 25  # four tiles for two threads


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([0, 0, 0, 0], "1 distinct cluster(s) for 4 rows; expected 2 to n_samples - 1 = 3"),
        ([0, 1, 2, 3], "4 distinct cluster(s) for 4 rows"),
        ([0, 1, 1], "labels has shape (3,); expected (4,)"),
        ([0.5, 1, 1, 0], "labels has dtype float64; expected integer or string cluster labels"),
    ],
)
def test_bad_labels_are_named(labels, message):
    for score in (metrics.silhouette_samples, metrics.calinski_harabasz_score, metrics.davies_bouldin_score):
        with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
            score(LINE, labels)


def test_bad_parameters_are_named():
    with pytest.raises(InputError, match="metric='manhattan' is not valid; expected one of 'euclidean', 'cosine'"):
        metrics.silhouette_score(LINE, LINE_LABELS, metric="manhattan")
    with pytest.raises(InputError, match="sample_size=5 is larger than the number of rows"):
        metrics.silhouette_score(LINE, LINE_LABELS, sample_size=5)
    with pytest.raises(InputError, match="random_state='x' is not valid"):
        metrics.silhouette_score(LINE, LINE_LABELS, sample_size=3, random_state="x")
    with pytest.raises(InputError, match="X contains NaN"):
        metrics.silhouette_score([[0.0], [np.nan], [1.0]], [0, 1, 1])


# --------------------------------------------------------------------------- simplified silhouette


def test_simplified_silhouette_by_hand():
    # Centres 0.5 and 9.5: point 0 has a = 0.5, b = 9.5 -> 9 / 9.5; point 1 has a = 0.5, b = 8.5.
    expected = [9 / 9.5, 8 / 8.5, 8 / 8.5, 9 / 9.5]
    np.testing.assert_allclose(metrics.simplified_silhouette_samples(LINE, LINE_LABELS), expected, rtol=1e-14)
    assert metrics.simplified_silhouette(LINE, LINE_LABELS) == pytest.approx(np.mean(expected), rel=1e-14)


def test_simplified_silhouette_equals_a_numpy_reference(clustering):
    name, X, labels = clustering
    centers = np.array([X[labels == c].mean(axis=0) for c in range(labels.max() + 1)])
    distances = cdist(X, centers)
    a = distances[np.arange(len(X)), labels]
    distances[np.arange(len(X)), labels] = np.inf
    b = distances.min(axis=1)
    np.testing.assert_allclose(metrics.simplified_silhouette_samples(X, labels), (b - a) / np.maximum(a, b), atol=1e-9)
    # A model's own centres may be passed instead of the means.
    shifted = centers + 0.1
    distances = cdist(X, shifted)
    a = distances[np.arange(len(X)), labels]
    distances[np.arange(len(X)), labels] = np.inf
    expected = (distances.min(axis=1) - a) / np.maximum(a, distances.min(axis=1))
    np.testing.assert_allclose(metrics.simplified_silhouette_samples(X, labels, shifted), expected, atol=1e-9)


def test_simplified_silhouette_rejects_centres_that_do_not_match():
    with pytest.raises(InputError, match="centers has 3 rows but labels has 2 distinct clusters"):
        metrics.simplified_silhouette(LINE, LINE_LABELS, [[0.0], [1.0], [2.0]])


# --------------------------------------------------------------------------- Calinski-Harabasz, Davies-Bouldin


def test_indices_by_hand():
    # Means 0.5 and 9.5, overall 5: B = 4 * 4.5² = 81, W = 4 * 0.25 = 1, CH = 81 * 2 / 1.
    assert metrics.calinski_harabasz_score(LINE, LINE_LABELS) == 162.0
    # Spreads 0.5 and 0.5, centres 9 apart: DB = (0.5 + 0.5) / 9.
    assert metrics.davies_bouldin_score(LINE, LINE_LABELS) == pytest.approx(1 / 9, rel=1e-15)


def test_indices_equal_sklearn(clustering):
    name, X, labels = clustering
    assert metrics.calinski_harabasz_score(X, labels) == pytest.approx(
        skm.calinski_harabasz_score(X, labels), rel=1e-10
    )
    assert metrics.davies_bouldin_score(X, labels) == pytest.approx(skm.davies_bouldin_score(X, labels), rel=1e-10)


def test_indices_of_degenerate_clusterings_follow_sklearn():
    X = np.array([[1.0], [1.0], [2.0], [2.0]])
    assert metrics.calinski_harabasz_score(X, [0, 0, 1, 1]) == 1.0 == skm.calinski_harabasz_score(X, [0, 0, 1, 1])
    assert metrics.davies_bouldin_score(X, [0, 0, 1, 1]) == 0.0 == skm.davies_bouldin_score(X, [0, 0, 1, 1])


# --------------------------------------------------------------------------- gap statistic


def test_gap_choice_by_hand():
    assert metrics.gap_choice([1, 2, 3, 4], [0.1, 0.9, 0.95, 0.97], [0.05] * 4) == 2
    assert metrics.gap_choice([1, 2, 3], [0.5, 0.4, 0.3], [0.01] * 3) == 1
    assert metrics.gap_choice([1, 2, 3], [0.1, 0.5, 0.9], [0.01] * 3) is None  # still rising


def test_gap_statistic_finds_three_blobs_and_no_structure_in_uniform_noise():
    X = make_blobs(300, centers=[[0, 0], [10, 0], [0, 10]], seed=0).data
    table = metrics.gap_statistic(X, range(1, 7), n_refs=8, random_state=0)
    assert table.attrs["k"] == 3
    assert list(table.columns) == ["log_w", "ref_log_w", "gap", "gap_se"]
    np.testing.assert_allclose(table["gap"], table["ref_log_w"] - table["log_w"])
    uniform = np.random.default_rng(0).uniform(size=(300, 2))
    assert metrics.gap_statistic(uniform, range(1, 6), n_refs=8, random_state=0).attrs["k"] == 1


def test_gap_uses_given_inertias_and_log_w_is_the_data_loss():
    X = make_blobs(200, centers=2, seed=3).data
    inertia = {1: 500.0, 2: 100.0, 3: 90.0}
    table = metrics.gap_statistic(X, [1, 2, 3], n_refs=3, random_state=0, data_inertia=inertia)
    np.testing.assert_allclose(table["log_w"], np.log([500.0, 100.0, 90.0]))
    with pytest.raises(InputError, match=r"data_inertia has no value for k = \[3\]"):
        metrics.gap_statistic(X, [1, 2, 3], n_refs=3, data_inertia={1: 1.0, 2: 1.0})


def test_reference_boxes():
    rng = np.random.default_rng(0)
    # A thin diagonal band: the box of the features is the whole square, the PCA box the band.
    t = rng.uniform(-1, 1, 2000)
    X = np.column_stack([t, t]) + rng.normal(scale=0.01, size=(2000, 2))
    box = metrics.ReferenceBox.of(X, "box").draw(5000, rng)
    np.testing.assert_array_less(X.min(axis=0) - 1e-12, box.min(axis=0))
    np.testing.assert_array_less(box.max(axis=0), X.max(axis=0) + 1e-12)
    assert np.abs(box[:, 0] - box[:, 1]).max() > 1.0
    along = metrics.ReferenceBox.of(X, "pca").draw(5000, rng)
    assert np.abs(along[:, 0] - along[:, 1]).max() < 0.2
    with pytest.raises(InputError, match="reference='svd' is not valid; expected one of 'pca', 'box'"):
        metrics.ReferenceBox.of(X, "svd")


# --------------------------------------------------------------------------- stability


def test_mean_pairwise_ari_by_hand():
    assert metrics.mean_pairwise_ari([[0, 0, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1]]) == 1.0
    partitions = [[0, 0, 1, 1], [0, 1, 0, 1], [0, 0, 1, 1]]
    expected = np.mean([skm.adjusted_rand_score(a, b) for a, b in itertools.combinations(partitions, 2)])
    assert metrics.mean_pairwise_ari(partitions) == pytest.approx(expected)
    with pytest.raises(InputError, match="labelings has 1 partition"):
        metrics.mean_pairwise_ari([[0, 1]])


def test_stability_is_one_at_the_true_k_and_lower_above_it():
    X = make_blobs(400, centers=[[0, 0], [12, 0], [0, 12]], seed=0).data
    for method in ("seeds", "bootstrap"):
        assert metrics.stability(X, 3, n_runs=5, method=method, random_state=0) == 1.0
    assert metrics.stability(X, 7, n_runs=5, random_state=0) < 0.95
    assert metrics.stability(X, 1, n_runs=3, random_state=0) == 1.0
    with pytest.raises(InputError, match="method='jackknife' is not valid"):
        metrics.stability(X, 3, method="jackknife")
    with pytest.raises(InputError, match=r"kmeans_params has unknown name\(s\) \['colour'\]"):
        metrics.stability(X, 3, colour="red")


# --------------------------------------------------------------------------- registry and examples


def test_scores_registry_says_which_way_is_better():
    assert set(metrics.SCORES) == {"silhouette", "simplified_silhouette", "calinski_harabasz", "davies_bouldin"}
    assert [s.name for s in metrics.SCORES.values() if not s.greater_is_better] == ["davies_bouldin"]
    for score in metrics.SCORES.values():
        assert np.isfinite(score.function(LINE, LINE_LABELS))


def test_docstring_examples():
    for module in (metrics, gap_module, indices_module, silhouette_module, agreement_module):
        failed, attempted = doctest.testmod(module, verbose=False)
        assert failed == 0 and attempted > 0, module.__name__


def test_silhouette_benchmark_runs_both_libraries_in_subprocesses():
    from benchmarks import silhouette as bench

    X = make_blobs(600, centers=3, n_features=4, seed=0).data.astype(np.float32)
    labels = SKKMeans(3, n_init=1, random_state=0).fit_predict(X)
    rows = bench.run(X, labels, repeats=1, log=lambda line: None)
    assert [row["library"] for row in rows] == ["kmeanslab", "sklearn"]
    ours, theirs = rows
    assert ours["score"] == pytest.approx(theirs["score"], abs=1e-6)
    assert theirs["speedup"] == 1.0 and ours["speedup"] > 0 and ours["cpu_seconds"] > 0
    assert ours["n"] == 600 and ours["k"] == 3 and ours["within_limit"]
    lines = bench.verdicts(rows)
    assert lines[0].startswith("memory: met, kmeanslab's peak is ") and "scikit-learn's" in lines[0]
    assert lines[1].startswith("speed on 600 rows (the target is for 60000): kmeanslab ")
    # On the full data the speed line says met or missed, judged on the wall-time ratio.
    full = [dict(row, n=60000) for row in rows]
    for wall, cpu, verdict in ((6.0, 4.0, "met"), (4.9, 7.0, "missed")):
        full[0].update(speedup=wall, cpu_speedup=cpu)
        assert bench.verdicts(full)[1].startswith(
            f"speed: {verdict}, kmeanslab {wall:.2f}x faster than scikit-learn in wall time, {cpu:.2f}x in CPU time"
        )
    full[0].update(extra_mib=300.0, within_limit=False)
    assert bench.verdicts(full)[0].startswith("memory: missed, kmeanslab's peak is 300 MiB above X")
