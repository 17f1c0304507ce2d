"""kmeanslab.KMeans: scikit-learn compatibility, exact agreement, dtypes, policies, validation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans as SKKMeans
from sklearn.datasets import load_digits, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import scale
from sklearn.utils.estimator_checks import check_estimator

from kmeanslab import InputError, KMeans
from kmeanslab.datasets import load_faithful


@pytest.mark.slow
def test_check_estimator():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(KMeans())


def _same_start(X, k, seed):
    rng = np.random.default_rng(seed)
    return X[rng.choice(len(X), k, replace=False)].copy()


BLOBS = make_blobs(3000, n_features=6, centers=7, cluster_std=2.5, random_state=0)[0]
# Standardised digits: raw digits are small integers with exact distance ties, which
# scikit-learn breaks differently because it centres the data first.
DIGITS = scale(load_digits().data)


@pytest.mark.parametrize("X", [BLOBS, DIGITS], ids=["blobs", "digits"])
@pytest.mark.parametrize("k", [2, 10, 40])
def test_agrees_with_scikit_learn_from_the_same_centres(X, k):
    start = _same_start(X, k, seed=k)
    ref = SKKMeans(k, init=start, n_init=1, algorithm="lloyd", tol=1e-4).fit(X)
    ours = KMeans(k, init=start, algorithm="lloyd", tol=1e-4).fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9, atol=1e-9)


def test_old_faithful_k2_inertia():
    X = load_faithful().data
    assert X.shape == (272, 2)
    km = KMeans(2, random_state=0).fit(X)
    assert km.inertia_ == pytest.approx(8901.7687209, abs=1e-6)
    assert sorted(np.bincount(km.labels_).tolist()) == [100, 172]


def test_fitted_attributes():
    # tol=0: run to strict convergence, where the centres are exactly the members' means.
    km = KMeans(7, random_state=1, tol=0.0).fit(BLOBS)
    assert km.converged_
    assert km.cluster_centers_.shape == (7, 6)
    assert km.labels_.shape == (3000,) and km.labels_.dtype.kind == "i"
    assert km.n_features_in_ == 6
    assert len(km.loss_history_) == km.n_iter_
    assert np.all(np.diff(km.loss_history_) <= 1e-12 * km.loss_history_[0])
    # The inertia is the sum of squared distances to the assigned centres, and labels are argmins.
    d2 = ((BLOBS[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(km.labels_, d2.argmin(1))
    assert km.inertia_ == pytest.approx(d2.min(1).sum(), rel=1e-12)
    # Each centre is the mean of its members.
    for j in range(7):
        np.testing.assert_allclose(km.cluster_centers_[j], BLOBS[km.labels_ == j].mean(0), atol=1e-10)


def test_methods():
    km = KMeans(3, random_state=0).fit(BLOBS)
    np.testing.assert_array_equal(km.predict(BLOBS), km.labels_)
    dist = km.transform(BLOBS[:50])
    expected = np.sqrt(((BLOBS[:50, None, :] - km.cluster_centers_[None]) ** 2).sum(-1))
    np.testing.assert_allclose(dist, expected, rtol=1e-9, atol=1e-9)
    assert km.score(BLOBS) == pytest.approx(-km.inertia_, rel=1e-12)
    assert km.loss(BLOBS, "sse") == pytest.approx(km.inertia_, rel=1e-12)
    assert km.loss(BLOBS, "mse") == pytest.approx(km.inertia_ / len(BLOBS), rel=1e-12)
    assert km.loss(BLOBS, "mean_dist") == pytest.approx(dist_mean(BLOBS, km), rel=1e-12)
    np.testing.assert_array_equal(KMeans(3, random_state=0).fit_predict(BLOBS), km.labels_)


def dist_mean(X, km):
    return np.sqrt(((X - km.cluster_centers_[km.labels_]) ** 2).sum(1)).mean()


def test_loss_kinds_by_hand():
    X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 4.0]])
    km = KMeans(2, init=np.array([[0.0, 1.0], [10.0, 2.0]])).fit(X)
    # Distances to the centres: 1, 1, 2, 2.
    assert km.loss(X, "sse") == pytest.approx(10.0)
    assert km.loss(X, "mse") == pytest.approx(2.5)
    assert km.loss(X, "mean_dist") == pytest.approx(1.5)
    w = np.array([1.0, 1.0, 0.0, 2.0])
    assert km.loss(X, "sse", sample_weight=w) == pytest.approx(1 + 1 + 8)
    assert km.loss(X, "mean_dist", sample_weight=w) == pytest.approx((1 + 1 + 4) / 4)


def test_same_seed_is_bit_identical():
    for init in ["k-means++", "random", "gaussian", "uniform"]:
        a = KMeans(5, init=init, random_state=11).fit(BLOBS)
        b = KMeans(5, init=init, random_state=11).fit(BLOBS)
        assert a.cluster_centers_.tobytes() == b.cluster_centers_.tobytes()
        assert a.inertia_ == b.inertia_


@pytest.mark.parametrize("init", ["k-means++", "random", "gaussian", "uniform"])
def test_every_init_clusters_separated_blobs(init):
    X, y = make_blobs(600, n_features=2, centers=[[0, 0], [20, 0], [0, 20]], cluster_std=1.0, random_state=3)
    km = KMeans(3, init=init, random_state=0).fit(X)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(y, km.labels_) == pytest.approx(1.0)


def test_n_init_is_ten_for_random_and_one_for_kmeanspp(monkeypatch):
    import kmeanslab.cluster._kmeans as est

    calls = []
    real = est.lloyd

    def counting(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(result.inertia)
        return result

    monkeypatch.setattr(est, "lloyd", counting)
    km = KMeans(7, init="random", random_state=0).fit(BLOBS)
    assert len(calls) == 10
    assert km.inertia_ == min(calls)  # the best of the runs is kept
    calls.clear()
    KMeans(3, random_state=0).fit(BLOBS)
    assert len(calls) == 1
    calls.clear()
    KMeans(3, init=BLOBS[:3]).fit(BLOBS)
    assert len(calls) == 1
    calls.clear()
    with pytest.warns(RuntimeWarning, match="n_init=5 has no effect with an explicit init array") as record:
        KMeans(3, init=BLOBS[:3], n_init=5).fit(BLOBS)
    assert len(calls) == 1
    assert record[0].filename == __file__  # the warning points at the caller's fit


def test_validated_parameters_are_kept_on_the_estimator():
    """Declared once per class, checked in one place, kept as ``_<name>`` (as scikit-learn)."""
    km = KMeans(3, init="random", n_init=2, max_iter=7, tol=0, stop="loss", random_state=0).fit(BLOBS)
    assert set(KMeans._parameter_constraints) == {"max_iter", "tol", "stop", "empty", "algorithm", "copy_x", "metric"}
    assert (km._n_clusters, km._init, km._n_init, km._max_iter, km._tol, km._stop) == (3, "random", 2, 7, 0.0, "loss")
    assert isinstance(km._tol, float)


def test_dtypes():
    X32 = BLOBS.astype(np.float32)
    km32 = KMeans(4, random_state=0).fit(X32)
    assert km32.cluster_centers_.dtype == np.float32
    assert km32.transform(X32).dtype == np.float32
    km64 = KMeans(4, random_state=0).fit(BLOBS)
    assert km64.cluster_centers_.dtype == np.float64
    Xint = np.rint(BLOBS * 10).astype(np.int64)
    kmi = KMeans(4, random_state=0).fit(Xint)
    assert kmi.cluster_centers_.dtype == np.float64
    # float32 and float64 from the same start agree to float32 precision.
    start = _same_start(BLOBS, 4, 0)
    a = KMeans(4, init=start).fit(BLOBS)
    b = KMeans(4, init=start.astype(np.float32)).fit(X32)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-5, atol=1e-5)


def test_sample_weight_counts_as_repetition():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 3))
    w = rng.integers(0, 4, size=40)
    start = X[w > 0][:3]
    a = KMeans(3, init=start).fit(X, sample_weight=w)
    b = KMeans(3, init=start).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, atol=1e-12)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-12)


def _forced_empty():
    X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [30.0]])
    start = np.array([[1.0], [11.0], [100.0]])  # centre 2 attracts nobody
    return X, start


def test_empty_relocate_moves_to_farthest_point():
    X, start = _forced_empty()
    km = KMeans(3, init=start, max_iter=1).fit(X)
    # After one step the empty centre sits on the farthest point from its centre: 30
    # (19 from the centre of {10, 11, 30} at 11), and 30 leaves that cluster, as in
    # scikit-learn: its centre is the mean of {10, 11}.
    np.testing.assert_array_equal(np.sort(km.cluster_centers_[:, 0]), [1.0, 10.5, 30.0])
    full = KMeans(3, init=start).fit(X)
    assert sorted(np.bincount(full.labels_).tolist()) == [1, 2, 3]


def test_empty_relocate_never_uses_the_same_point_twice():
    X = np.array([[0.0], [0.1], [50.0], [50.0], [51.0]])
    start = np.array([[0.0], [200.0], [300.0], [400.0]])
    km = KMeans(4, init=start, max_iter=1).fit(X)
    c = np.sort(km.cluster_centers_[:, 0])
    assert len(np.unique(c)) == 4


def test_empty_zeros_and_keep():
    X, start = _forced_empty()
    zeros = KMeans(3, init=start, max_iter=1, empty="zeros").fit(X)
    assert 0.0 in zeros.cluster_centers_[:, 0]
    keep = KMeans(3, init=start, max_iter=1, empty="keep").fit(X)
    assert 100.0 in keep.cluster_centers_[:, 0]


def test_all_points_identical_finishes_with_a_warning():
    X = np.ones((20, 3))
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        km = KMeans(3, random_state=0).fit(X)
    assert km.inertia_ == 0.0
    np.testing.assert_array_equal(km.cluster_centers_, np.ones((3, 3)))


def test_stop_rules():
    start = _same_start(BLOBS, 7, 1)
    shift = KMeans(7, init=start, tol=1e-1).fit(BLOBS)
    strict = KMeans(7, init=start, tol=0.0).fit(BLOBS)
    assert shift.n_iter_ <= strict.n_iter_
    loss = KMeans(7, init=start, stop="loss", tol=1e-3).fit(BLOBS)
    h = loss.loss_history_
    assert loss.n_iter_ >= 3
    assert (h[-2] - h[-1]) / h[-1] < 1e-3 or loss.n_iter_ == strict.n_iter_


def test_verbose_prints_every_iteration(capsys):
    km = KMeans(3, random_state=0, verbose=True).fit(BLOBS)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert sum(line.startswith("iteration") for line in lines) == km.n_iter_
    assert lines[-1].startswith("converged after")
    assert "loss" in out


@pytest.mark.parametrize(
    "params, X, match",
    [
        (dict(n_clusters=0), BLOBS, "n_clusters=0"),
        (dict(n_clusters=-3), BLOBS, "n_clusters=-3"),
        (dict(n_clusters=2.0), BLOBS, "n_clusters=2.0"),
        (dict(n_clusters=5), BLOBS[:3], "n_samples=3"),
        (dict(init="kmeans"), BLOBS, "init='kmeans'"),
        (
            dict(init=np.zeros((3, 6))),
            BLOBS,
            r"init has shape \(3, 6\); expected \(n_clusters, n_features\) = \(2, 6\)",
        ),
        (dict(stop="never"), BLOBS, "stop='never'"),
        (dict(empty="drop"), BLOBS, "empty='drop'"),
        (dict(max_iter=0), BLOBS, "max_iter=0"),
        (dict(tol=-1.0), BLOBS, "tol=-1.0"),
        (dict(n_init=0), BLOBS, "n_init=0"),
        (dict(algorithm="magic"), BLOBS, "algorithm='magic'"),
        (dict(), BLOBS[:, 0], "2-D"),
        (dict(), BLOBS.reshape(3000, 2, 3), "2-D"),
        (dict(), np.where(np.arange(12).reshape(6, 2) == 7, np.nan, 1.0), r"NaN at row 3, column 1"),
        (dict(), np.where(np.arange(12).reshape(6, 2) == 4, np.inf, 1.0), r"\+inf at row 2, column 0"),
        (dict(), np.where(np.arange(12).reshape(6, 2) == 4, -np.inf, 1.0), r"-inf at row 2"),
    ],
)
def test_fit_validation_messages(params, X, match):
    params = {"n_clusters": 2, **params}
    with pytest.raises(InputError, match=match):
        KMeans(**params).fit(X)


def test_predict_feature_mismatch():
    km = KMeans(2, random_state=0).fit(BLOBS)
    with pytest.raises(InputError, match="X has 5 features, but KMeans is expecting 6"):
        km.predict(BLOBS[:, :5])


@pytest.mark.parametrize(
    "w, match",
    [
        (-np.ones(3000), "negative"),
        (np.zeros(3000), "all zero"),
        (np.ones(10), r"shape \(10,\)"),
    ],
)
def test_sample_weight_validation(w, match):
    with pytest.raises(InputError, match=match):
        KMeans(2).fit(BLOBS, sample_weight=w)


# --------------------------------------------------------------------------- issue 12: drop-in details


def test_relocation_takes_the_point_out_of_its_donor_as_scikit_learn():
    """scikit-learn's own 4-point case: the far centre empties at the first step."""
    X = np.array([[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [1.0, 1.0]])
    start = np.array([[0.5, 0.5], [3.0, 3.0]])
    ref = SKKMeans(2, init=start, n_init=1).fit(X)
    for algorithm in ("lloyd", "elkan", "hamerly", "yinyang"):
        km = KMeans(2, init=start, algorithm=algorithm).fit(X)
        assert km.n_iter_ == ref.n_iter_ == 3
        np.testing.assert_array_equal(km.labels_, ref.labels_)
        np.testing.assert_array_equal(km.cluster_centers_, [[0.25, 0.0], [0.75, 1.0]])
        assert km.inertia_ == 0.25


def test_a_donor_that_gives_its_last_point_goes_to_the_heaviest_cluster():
    # Centre 0 (at 200) holds only 100, the farthest point, which goes to the empty centre 2;
    # centre 0 is left empty and goes to the heaviest cluster's centre, {5, 7} at 6.
    X = np.array([[5.0], [100.0], [7.0]])
    start = np.array([[200.0], [-50.0], [-60.0]])
    with pytest.warns(ConvergenceWarning, match="some centres attract no point"):
        km = KMeans(3, init=start, max_iter=1).fit(X)
    np.testing.assert_array_equal(km.cluster_centers_[:, 0], [6.0, 6.0, 100.0])
    # Then 5 and 7 tie between centres 0 and 1 and go to 0, 1 is empty and takes 7 (equal
    # distances: the larger point first), and nothing moves after. (scikit-learn puts centre 0
    # at centre 1's sum not yet divided by its weight, when the heaviest cluster comes later:
    # an accident of its loop; see the README's differences.)
    full = KMeans(3, init=start).fit(X)
    np.testing.assert_array_equal(full.cluster_centers_[:, 0], [5.0, 7.0, 100.0])
    np.testing.assert_array_equal(full.labels_, [0, 2, 1])
    assert full.n_iter_ == 3


def test_a_donor_left_with_zero_weight_points_only_counts_as_empty():
    # Centre 2 (at 90) holds 100 (weight 1) and 100.5 (weight 0); 100 goes to the empty centre
    # 1, and centre 2, with no weight left, goes to the heaviest cluster's centre (not to 0 / 0).
    X = np.array([[0.0], [1.0], [2.0], [100.0], [100.5]])
    w = np.array([1.0, 1.0, 1.0, 1.0, 0.0])
    with pytest.warns(ConvergenceWarning):
        km = KMeans(3, init=np.array([[1.0], [500.0], [90.0]]), max_iter=1).fit(X, sample_weight=w)
    np.testing.assert_array_equal(km.cluster_centers_[:, 0], [1.0, 100.0, 1.0])


def _forced_empty_case(seed):
    """A small problem whose start has one or two centres far from every point."""
    rng = np.random.default_rng(seed)
    n, d, k = int(rng.integers(5, 40)), int(rng.integers(1, 5)), int(rng.integers(2, 7))
    k = min(k, n)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0)
    start = X[rng.choice(n, k, replace=False)].copy()
    far = rng.choice(k, int(rng.integers(1, min(3, k))), replace=False)
    start[far] = rng.normal(size=(len(far), d)) * 50.0
    weights = rng.uniform(0.2, 3.0, n) if seed % 3 == 0 else None
    return X, start, weights


def test_empty_clusters_give_scikit_learn_s_lloyd_result():
    """From the same start, with clusters emptying, labels, n_iter_ and centres equal scikit-learn's.

    tol > 0: with tol=0 both stop when the centres stop moving, and after a relocation whether
    they move by 0 or by one rounding error depends on the order of the sums (scikit-learn
    also centres X first), so there n_iter_ may differ by one (the labels do not).
    """
    relocated = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(240):
            X, start, weights = _forced_empty_case(seed)
            tol = (1e-8, 1e-4)[seed % 2]
            algorithm = ("lloyd", "elkan")[seed // 2 % 2]
            k = len(start)
            ref = SKKMeans(k, init=start, n_init=1, tol=tol, algorithm=algorithm).fit(X, sample_weight=weights)
            ours = KMeans(k, init=start, tol=tol, algorithm=algorithm).fit(X, sample_weight=weights)
            np.testing.assert_array_equal(ours.labels_, ref.labels_, err_msg=f"seed {seed}")
            assert ours.n_iter_ == ref.n_iter_, seed
            np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9, atol=1e-9)
            relocated += ours.n_iter_ > 1
    assert relocated > 200


def test_callable_init():
    seen = []

    def pick_rows(X, n_clusters, random_state):
        seen.append((X.shape, n_clusters, type(random_state)))
        return X[random_state.permutation(len(X))[:n_clusters]]

    km = KMeans(4, init=pick_rows, random_state=0).fit(BLOBS)
    assert km._n_init == 10 and len(seen) == 10  # "auto": a callable runs as often as "random"
    assert seen[0] == (BLOBS.shape, 4, np.random.RandomState)
    again = KMeans(4, init=pick_rows, random_state=0).fit(BLOBS)
    np.testing.assert_array_equal(again.cluster_centers_, km.cluster_centers_)
    start = _same_start(BLOBS, 5, seed=1)
    fixed = KMeans(5, init=lambda X, k, random_state: start, n_init=1).fit(BLOBS)
    explicit = KMeans(5, init=start).fit(BLOBS)
    np.testing.assert_array_equal(fixed.cluster_centers_, explicit.cluster_centers_)
    np.testing.assert_array_equal(fixed.labels_, explicit.labels_)


@pytest.mark.parametrize(
    "returned, match",
    [
        (np.zeros((2, 6)), r"returned centres that are not valid: init has shape \(2, 6\); expected .* \(3, 6\)"),
        (np.full((3, 6), np.nan), "returned centres that are not valid: init contains NaN or inf"),
        ("centres", "returned centres that are not valid: .*expected an array of numbers"),
    ],
)
def test_callable_init_results_are_checked(returned, match):
    with pytest.raises(InputError, match=match):
        KMeans(3, init=lambda X, k, random_state: returned, n_init=1).fit(BLOBS)


@pytest.mark.parametrize("library", ["polars"])
def test_polars_output(library):
    pl = pytest.importorskip(library)
    frame = KMeans(3, random_state=0).set_output(transform="polars").fit(BLOBS).transform(BLOBS[:5])
    assert isinstance(frame, pl.DataFrame) and frame.columns == ["kmeans0", "kmeans1", "kmeans2"]


def test_feature_names_and_pandas_output():
    pd = pytest.importorskip("pandas")
    from sklearn import config_context

    km = KMeans(3, random_state=0).fit(BLOBS)
    np.testing.assert_array_equal(km.get_feature_names_out(), ["kmeans0", "kmeans1", "kmeans2"])
    expected = km.transform(BLOBS[:5])
    with config_context(transform_output="pandas"):
        frame = KMeans(3, random_state=0).fit(BLOBS).transform(BLOBS[:5])
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["kmeans0", "kmeans1", "kmeans2"]
    np.testing.assert_array_equal(frame.to_numpy(), expected)
    km.set_output(transform="pandas")
    assert list(km.fit_transform(BLOBS).columns) == ["kmeans0", "kmeans1", "kmeans2"]
    assert isinstance(km.predict(BLOBS[:5]), np.ndarray)  # only transform is wrapped


def test_copy_x_is_accepted_and_changes_nothing():
    X = BLOBS.copy()
    a = KMeans(3, random_state=0, copy_x=False).fit(X)
    b = KMeans(3, random_state=0).fit(X)
    np.testing.assert_array_equal(X, BLOBS)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    with pytest.raises(InputError, match="copy_x=1 is not valid; expected True or False"):
        KMeans(3, copy_x=1).fit(X)


def test_elkan_with_one_cluster_warns_and_runs_lloyd():
    with pytest.warns(RuntimeWarning, match="algorithm='elkan' doesn't make sense for a single cluster"):
        km = KMeans(1, algorithm="elkan").fit(BLOBS)
    assert km.algorithm_ == "lloyd"
    np.testing.assert_allclose(km.cluster_centers_[0], BLOBS.mean(0), rtol=1e-12)


def test_transform_is_exactly_zero_on_a_centre():
    # |x|² + |c|² - 2x·c leaves rounding error where x is close to c: those entries are
    # recomputed as |x - c|², so a centre is at distance 0 from itself (scikit-learn's test).
    X = BLOBS + 1e3  # far from the origin: the expanded form cancels badly near the centres
    km = KMeans(7, random_state=0).fit(X)
    t = km.transform(km.cluster_centers_)
    np.testing.assert_array_equal(t.diagonal(), np.zeros(7))
    direct = np.sqrt(((X[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1))
    np.testing.assert_allclose(km.transform(X), direct, rtol=1e-7, atol=1e-9)


def test_relocation_over_blocks_is_the_relocation_in_memory():
    """Streamed in blocks of 3 rows, every block offers its farthest rows and their labels."""
    from kmeanslab.cluster import lloyd
    from kmeanslab.scale import LocalBlocks

    for seed in range(40):
        X, start, weights = _forced_empty_case(seed)
        whole = lloyd(X, start, sample_weight=weights, tol=1e-8)
        blocks = lloyd(LocalBlocks(X, weights, block_rows=3), start, tol=1e-8)
        np.testing.assert_array_equal(np.asarray(blocks.labels), whole.labels, err_msg=f"seed {seed}")
        assert blocks.n_iter == whole.n_iter and blocks.n_relocated == whole.n_relocated > 0, seed
        np.testing.assert_allclose(blocks.centers, whole.centers, rtol=1e-12, atol=1e-12)
