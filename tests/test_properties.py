"""Properties of the Lloyd engine on random small data (hypothesis).

Data are drawn on a small integer grid: sums of integers are exact in float64 whatever their
order, so permutation and scaling properties can be checked exactly, and duplicate points,
d = 1 and k = n come up often.
"""

from __future__ import annotations

import warnings

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kmeanslab import KMeans, _core, associate_centroids
from kmeanslab._core import assign, inertia, row_sq_norms
from kmeanslab.cluster import EMPTY_POLICIES, lloyd
from kmeanslab.cluster._assigners import ALGORITHMS

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module", params=["numpy twins", "compiled kernels"])
def engine_path(request):
    """Every property on both paths: data this small runs the kernels' NumPy twins (see
    kmeanslab._kernels.small); with the threshold below every shape, the compiled kernels."""
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "compiled kernels":
            patch.setattr(_core, "SMALL_WORK", -1)
        yield request.param


@st.composite
def problems(draw, max_n=30, max_d=4):
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(1, max_d))
    X = draw(arrays(np.float64, (n, d), elements=st.integers(-6, 6).map(float)))
    k = draw(st.integers(1, n))
    start_idx = draw(st.permutations(range(n)))[:k]
    return X, X[list(start_idx)].copy(), k


def _fit(X, start, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer distinct points than clusters is expected here
        return KMeans(len(start), init=start, tol=0.0, **kw).fit(X)


def _brute_sq_dists(X, C):
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)


@SETTINGS
@given(problems())
def test_loss_never_increases(problem):
    X, start, _ = problem
    km = _fit(X, start)
    h = km.loss_history_
    scale = 1e-9 * (1.0 + h[0])
    assert np.all(np.diff(h) <= scale)
    assert km.inertia_ / len(X) <= h[-1] + scale


@SETTINGS
@given(problems())
def test_labels_are_argmins_and_centres_are_means(problem):
    X, start, k = problem
    km = _fit(X, start)
    d2 = _brute_sq_dists(X, km.cluster_centers_)
    chosen = d2[np.arange(len(X)), km.labels_]
    assert np.all(chosen <= d2.min(1) + 1e-9 * (1.0 + d2.max()))
    # Where the brute-force minimum is unique by a clear margin, the label is that index.
    srt = np.sort(d2, axis=1)
    clear = (srt[:, 1] - srt[:, 0] > 1e-6) if k > 1 else np.ones(len(X), bool)
    np.testing.assert_array_equal(km.labels_[clear], d2.argmin(1)[clear])
    if km.converged_:
        for j in np.unique(km.labels_):
            np.testing.assert_allclose(km.cluster_centers_[j], X[km.labels_ == j].mean(0), atol=1e-12)


@SETTINGS
@given(problems(), st.randoms(use_true_random=False))
def test_permuting_rows_permutes_labels(problem, random):
    X, start, _ = problem
    perm = np.array(random.sample(range(len(X)), len(X)))
    a = _fit(X, start)
    b = _fit(X[perm], start)
    np.testing.assert_array_equal(b.labels_, a.labels_[perm])
    np.testing.assert_array_equal(b.cluster_centers_, a.cluster_centers_)
    assert b.inertia_ == pytest.approx(a.inertia_, rel=1e-12, abs=1e-12)


@SETTINGS
@given(problems(max_n=25), st.integers(0, 2**16))
def test_seeded_fit_is_invariant_to_row_order(problem, seed):
    """Seeds are drawn over a canonical order, so even k-means++ ignores the row order."""
    X, _, k = problem
    perm = np.random.default_rng(seed).permutation(len(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = KMeans(k, random_state=seed, tol=0.0).fit(X)
        b = KMeans(k, random_state=seed, tol=0.0).fit(X[perm])
    assert sorted(map(tuple, b.cluster_centers_)) == sorted(map(tuple, a.cluster_centers_))
    assert b.inertia_ == pytest.approx(a.inertia_, rel=1e-12, abs=1e-12)
    # The labels are permuted too, up to the names of the clusters: each point's label names
    # the same centre in both runs.
    np.testing.assert_array_equal(b.cluster_centers_[b.labels_], a.cluster_centers_[a.labels_][perm])


@SETTINGS
@given(problems(), st.sampled_from([0.5, 2.0, 4.0, 0.125]))
def test_scaling_data_scales_inertia_quadratically(problem, c):
    X, start, _ = problem
    a = _fit(X, start)
    b = _fit(X * c, start * c)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert b.inertia_ == pytest.approx(c * c * a.inertia_, rel=1e-12, abs=1e-12)


@st.composite
def separated_blobs(draw):
    k = draw(st.integers(1, 5))
    d = draw(st.integers(1, 4))
    per = draw(st.integers(1, 8))
    centres = np.array([[100.0 * (j + 1)] * d for j in range(k)])
    noise = draw(arrays(np.float64, (k * per, d), elements=st.floats(-1, 1)))
    X = np.repeat(centres, per, axis=0) + noise
    return X, X[::per].copy()


@SETTINGS
@given(separated_blobs())
def test_float32_and_float64_agree(problem):
    X, start = problem
    a = _fit(X, start)
    b = _fit(X.astype(np.float32), start.astype(np.float32))
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(b.cluster_centers_, a.cluster_centers_, rtol=1e-5, atol=1e-4)
    assert b.inertia_ == pytest.approx(a.inertia_, rel=1e-3, abs=1e-3)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 1000))
def test_same_seed_same_result_with_one_and_two_threads(seed):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba is limited to one thread here")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3000, 5)) + rng.integers(0, 4, size=(3000, 1)) * 3.0
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = KMeans(6, random_state=seed).fit(X)
        numba.set_num_threads(2)
        two = KMeans(6, random_state=seed).fit(X)
    finally:
        numba.set_num_threads(previous)
    assert one.cluster_centers_.tobytes() == two.cluster_centers_.tobytes()
    np.testing.assert_array_equal(one.labels_, two.labels_)
    assert one.inertia_ == two.inertia_


@SETTINGS
@given(problems())
def test_one_step_of_the_loop_by_hand(problem):
    """One iteration of ``lloyd`` is: assign to the nearest start, then take the means."""
    X, start, k = problem
    result = lloyd(X, start, max_iter=1, tol=0.0, empty="keep", x_sq=row_sq_norms(X))
    d2 = _brute_sq_dists(X, start)
    first = d2.argmin(1)  # integer data: the distances are exact, ties to the lowest index
    assume(len(np.unique(first)) == k)  # no empty cluster in this step
    means = np.array([X[first == j].mean(0) for j in range(k)])
    np.testing.assert_allclose(result.centers, means, atol=1e-12)
    assert result.loss_history[0] == pytest.approx(d2.min(1).mean(), rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------- more properties (issue 6)
# Fewer examples each than above: these run several fits per example.
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# The edge cases, always tried whatever hypothesis draws: all points identical, d = 1, k = n.
SAME = np.tile([[2.0, -1.0]], (6, 1))
LINE = np.array([[0.0], [0.0], [1.0], [5.0], [5.0], [6.0], [-3.0]])
FIVE = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])


@st.composite
def weighted_problems(draw):
    """A problem, integer weights (some zero) or none, and an empty-cluster policy."""
    X, start, k = draw(problems())
    weights = draw(
        st.none() | arrays(np.float64, len(X), elements=st.integers(0, 3).map(float)).filter(lambda w: w.sum() > 0)
    )
    return X, start, weights, draw(st.sampled_from(EMPTY_POLICIES))


@FEW
@given(weighted_problems())
@example((SAME, SAME[:3].copy(), None, "relocate"))
@example((LINE, LINE[[0, 1, 3]].copy(), None, "keep"))
@example((LINE, LINE.copy(), np.arange(7.0) % 3, "zeros"))
@example((FIVE, FIVE.copy(), None, "relocate"))
def test_no_lloyd_iteration_increases_the_inertia(problem):
    """Run 1, 2, 3, ... iterations from the same start: the (weighted) inertia never goes up.

    Unlike ``loss_history_`` (the loop's own account), this measures each result afresh.
    """
    X, start, weights, empty = problem
    x_sq = row_sq_norms(X)
    labels, _ = assign(X, start, x_sq)
    previous = inertia(X, start, labels, weights)
    for t in range(1, 9):
        result = lloyd(X, start, sample_weight=weights, max_iter=t, tol=0.0, empty=empty, x_sq=x_sq)
        assert result.n_iter <= t
        assert result.inertia <= previous + 1e-9 * (1.0 + previous), (t, result.inertia, previous)
        labels, _ = assign(X, result.centers, x_sq)
        assert inertia(X, result.centers, labels, weights) == pytest.approx(result.inertia, rel=1e-12, abs=1e-12)
        previous = result.inertia
        if result.converged:
            break


@st.composite
def tie_problems(draw):
    """Integer points and integer centres, often repeated: distances are exact, ties are exact."""
    n = draw(st.integers(1, 40))
    d = draw(st.sampled_from([1, 2, 3, 50]))  # d = 50 takes the register-tiled kernel
    X = draw(arrays(np.float64, (n, d), elements=st.integers(-3, 3).map(float)))
    k = draw(st.integers(1, 6))
    pool = draw(arrays(np.float64, (k, d), elements=st.integers(-3, 3).map(float)))
    picks = draw(st.lists(st.integers(0, k - 1), min_size=k, max_size=k))  # duplicate centres
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return X.astype(dtype), pool[picks].astype(dtype)


@FEW
@given(tie_problems())
@example((SAME, np.array([[2.0, -1.0], [2.0, -1.0], [0.0, 0.0]])))
@example((LINE, np.array([[5.0], [0.0], [0.0], [5.0]])))
@example((np.array([[1.0], [3.0]]), np.array([[2.0], [2.0], [4.0], [0.0]])))
def test_every_label_is_the_lowest_index_argmin(problem):
    X, C = problem
    d2 = _brute_sq_dists(X.astype(np.float64), C.astype(np.float64))
    expected = d2.argmin(1)  # numpy returns the first minimum: the lowest index
    labels, min_d2 = assign(X, C)
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_array_equal(min_d2, d2.min(1))
    loss, assoc = associate_centroids(X, C)
    np.testing.assert_array_equal(assoc, expected)
    assert loss == pytest.approx(d2.min(1).mean(), rel=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km = KMeans(len(C), init=C, max_iter=1, empty="keep").fit(C)
    km.cluster_centers_ = C.copy()
    np.testing.assert_array_equal(km.predict(X), expected)


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 1000), st.sampled_from(ALGORITHMS))
def test_same_seed_same_result_under_a_threadpoolctl_limit(seed, algorithm):
    """One thread through threadpoolctl (what scikit-learn users do) or two: the same bits.

    The engine takes its thread count from numba, capped by any threadpoolctl limit on the
    OpenMP runtimes (``engine._n_threads``). d = 64, k = 5 runs the register-tiled kernel
    over several slabs (the test above uses the BLAS path).
    """
    from threadpoolctl import threadpool_limits

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba is limited to one thread here")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2000, 64)) + rng.integers(0, 4, size=(2000, 1)) * 2.0
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        with threadpool_limits(limits=1, user_api="openmp"):
            if _core._n_threads() != 1:
                pytest.skip("no OpenMP runtime loaded for threadpoolctl to limit")
            one = KMeans(5, random_state=seed, algorithm=algorithm).fit(X)
        assert _core._n_threads() == 2
        two = KMeans(5, random_state=seed, algorithm=algorithm).fit(X)
    finally:
        numba.set_num_threads(previous)
    assert _core.Layout.for_shape(2000, 64, 5, 8).n_slabs >= 2
    assert one.cluster_centers_.tobytes() == two.cluster_centers_.tobytes()
    np.testing.assert_array_equal(one.labels_, two.labels_)
    assert one.inertia_ == two.inertia_ and one.n_iter_ == two.n_iter_
