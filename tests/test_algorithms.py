"""Hamerly, Elkan and Yinyang give plain Lloyd's result (issue 5).

From the same initial centres, in float64, every algorithm must give Lloyd's labels, inertia
within 1e-9 relative and the same number of iterations: on Gaussian blobs, on standardised
digits and on MNIST, with and without sample weights, with empty clusters forced, and with
one or two threads. In float32, rounding may send long runs down different paths, so only
sanity is checked there. No test here times anything.
"""

from __future__ import annotations

import gzip
import warnings

import numba
import numpy as np
import pytest
from sklearn.cluster import KMeans as SKKMeans
from sklearn.datasets import load_digits, make_blobs
from sklearn.preprocessing import scale

from kmeanslab import KMeans, _core
from kmeanslab._core import row_sq_norms
from kmeanslab.cluster import _lloyd as engine
from kmeanslab.cluster import lloyd
from kmeanslab.cluster._assigners import choose_algorithm, make_assigner

PRUNING = ("hamerly", "elkan", "yinyang")

BLOBS = make_blobs(4000, n_features=8, centers=12, cluster_std=3.0, random_state=0)[0]
DIGITS = scale(load_digits().data)


def _start(X, k, seed):
    rng = np.random.default_rng(seed)
    return np.array(X[rng.choice(len(X), k, replace=False)], dtype=np.float64)


def _run(X, start, algorithm, **kw):
    kw.setdefault("tol", 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lloyd(X, start, algorithm=algorithm, x_sq=row_sq_norms(X), **kw)


def _assert_same_as_lloyd(X, start, algorithm, **kw):
    ref = _run(X, start, "lloyd", **kw)
    got = _run(X, start, algorithm, **kw)
    assert got.extra["algorithm"] == (algorithm if algorithm != "auto" else got.extra["algorithm"])
    np.testing.assert_array_equal(got.labels, ref.labels)
    assert got.n_iter == ref.n_iter
    assert got.converged == ref.converged
    assert got.inertia == pytest.approx(ref.inertia, rel=1e-9)
    np.testing.assert_allclose(got.centers, ref.centers, rtol=1e-9, atol=1e-9)
    # Lloyd's loss sums norm-trick distances; the pruning steps use the cluster sums instead,
    # which in float32 differ by the norm trick's rounding.
    rtol = 1e-9 if X.dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got.loss_history, ref.loss_history, rtol=rtol)
    return ref, got


# --------------------------------------------------------------------------- exactness, float64


@pytest.mark.parametrize("algorithm", PRUNING)
@pytest.mark.parametrize("k", [3, 12, 40])
def test_blobs_same_as_lloyd(algorithm, k):
    ref, _ = _assert_same_as_lloyd(BLOBS, _start(BLOBS, k, seed=k), algorithm)
    assert ref.converged and ref.n_iter > 3


@pytest.mark.parametrize("algorithm", PRUNING)
@pytest.mark.parametrize("k", [10, 40])
def test_standardised_digits_same_as_lloyd(algorithm, k):
    _assert_same_as_lloyd(DIGITS, _start(DIGITS, k, seed=k), algorithm)


@pytest.mark.parametrize("algorithm", PRUNING)
def test_shift_and_loss_stop_rules_stop_where_lloyd_stops(algorithm):
    start = _start(BLOBS, 12, seed=5)
    _assert_same_as_lloyd(BLOBS, start, algorithm, tol=1e-3, stop="shift")
    _assert_same_as_lloyd(BLOBS, start, algorithm, tol=1e-4, stop="loss")
    _assert_same_as_lloyd(BLOBS, start, algorithm, max_iter=4)


@pytest.mark.parametrize("algorithm", PRUNING)
def test_sample_weight_same_as_lloyd(algorithm):
    rng = np.random.default_rng(3)
    weights = rng.uniform(0.1, 3.0, len(BLOBS))
    weights[rng.choice(len(BLOBS), 300, replace=False)] = 0.0  # zero weights are allowed
    _assert_same_as_lloyd(BLOBS, _start(BLOBS, 12, seed=2), algorithm, sample_weight=weights)


@pytest.mark.parametrize("algorithm", PRUNING)
@pytest.mark.parametrize("empty", ["relocate", "zeros", "keep"])
def test_empty_clusters_same_as_lloyd(algorithm, empty):
    start = _start(BLOBS, 12, seed=4)
    start[3] = 1e3  # attracts no point at the first step
    start[7] = start[8]  # a duplicate: ties go to the lower index, so 8 starts empty
    ref, _ = _assert_same_as_lloyd(BLOBS, start, algorithm, empty=empty)
    if empty == "relocate":
        assert ref.n_relocated >= 2


def test_an_empty_cluster_that_loses_its_last_point_later_is_handled_like_lloyd():
    # Weighted points whose weights do not sum back to zero exactly once subtracted.
    rng = np.random.default_rng(7)
    weights = rng.uniform(0.1, 1.0, len(BLOBS)) * np.pi
    start = _start(BLOBS, 30, seed=9)
    for algorithm in PRUNING:
        _assert_same_as_lloyd(BLOBS, start, algorithm, sample_weight=weights, empty="keep")


@pytest.mark.parametrize("algorithm", PRUNING)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exact_ties_go_to_the_lowest_index_like_lloyd(algorithm, dtype):
    """Data symmetric about x = 0 from symmetric centres keeps the centres mirror images, so
    points on the axis (of zero weight, so as not to break the symmetry) are exactly tied."""
    rng = np.random.default_rng(11)
    left = np.concatenate([rng.normal((-10.0, 0.0), 2.0, (300, 2)), rng.normal((-10.0, 20.0), 2.0, (300, 2))])
    right = left * np.array([-1.0, 1.0])
    axis = np.column_stack([np.zeros(200), rng.uniform(-5, 25, 200)])
    X = np.concatenate([left, right, axis]).astype(dtype)
    weights = np.concatenate([np.ones(1200), np.zeros(200)])
    start = np.array([[-9.0, 1.0], [9.0, 1.0], [-9.0, 19.0], [9.0, 19.0]])
    ref, got = _assert_same_as_lloyd(X, start, algorithm, sample_weight=weights)
    on_axis = ref.labels[1200:]
    assert set(on_axis.tolist()) <= {0, 2}  # never 1 or 3, the higher index of each tie
    # The pruned step itself (not only the dense first one) keeps every tie on the lower index.
    assigner = make_assigner(algorithm, X, 4, weights, row_sq_norms(X))
    centers = ref.centers
    with _core.compute_context():
        assigner.step(centers)
        assigner.centers_moved(centers, centers)
        labels = assigner.step(centers)[0]
    assert not assigner.stats[-1]["dense"]
    np.testing.assert_array_equal(labels, _core.assign(X, centers)[0])


@pytest.fixture(scope="module")
def mnist_small(mnist_dir):
    """2000 MNIST test images, float64 in [0, 1]."""
    raw = gzip.decompress((mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes())
    images = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784)[:2000]
    return images.astype(np.float64) / 255.0


@pytest.mark.data
@pytest.mark.parametrize("algorithm", PRUNING)
def test_mnist_same_as_lloyd(mnist_small, algorithm):
    for k in (10, 30):
        _assert_same_as_lloyd(mnist_small, _start(mnist_small, k, seed=k), algorithm)


@pytest.mark.data
def test_mnist_auto_with_weights_same_as_lloyd(mnist_small):
    weights = np.random.default_rng(0).integers(1, 4, len(mnist_small)).astype(float)
    _assert_same_as_lloyd(mnist_small, _start(mnist_small, 20, seed=1), "auto", sample_weight=weights)


@pytest.mark.parametrize("algorithm", PRUNING)
def test_agrees_with_scikit_learn_on_standardised_digits(algorithm):
    start = _start(DIGITS, 10, seed=10)
    ours = KMeans(10, init=start, algorithm=algorithm, tol=1e-4).fit(DIGITS)
    ref = SKKMeans(10, init=start, n_init=1, algorithm="lloyd", tol=1e-4).fit(DIGITS)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)


# --------------------------------------------------------------------------- float32, threads


@pytest.mark.parametrize("algorithm", PRUNING)
def test_float32_is_sane(algorithm):
    X = BLOBS.astype(np.float32)
    start = _start(X, 12, seed=6).astype(np.float32)
    got = _run(X, start, algorithm, tol=1e-4)
    ref = _run(X, start, "lloyd", tol=1e-4)
    assert got.centers.dtype == np.float32
    assert np.mean(got.labels == ref.labels) > 0.999
    assert got.inertia <= ref.inertia * (1 + 1e-3)
    exact = _run(BLOBS, start.astype(np.float64), "lloyd", tol=1e-4)
    assert got.inertia == pytest.approx(exact.inertia, rel=1e-3)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba is limited to one thread here")
@pytest.mark.parametrize("algorithm", ("lloyd",) + PRUNING)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_and_two_threads_give_bit_identical_results(algorithm, dtype):
    X = BLOBS.astype(dtype)
    start = _start(X, 40, seed=8)
    weights = np.random.default_rng(2).uniform(0.5, 2.0, len(X))
    previous = numba.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 1):
            numba.set_num_threads(threads)
            results.append(_run(X, start, algorithm, sample_weight=weights))
    finally:
        numba.set_num_threads(previous)
    for other in results[1:]:
        assert other.centers.tobytes() == results[0].centers.tobytes()
        np.testing.assert_array_equal(other.labels, results[0].labels)
        assert other.inertia == results[0].inertia
        assert other.n_iter == results[0].n_iter


# --------------------------------------------------------------------------- choosing


def test_auto_picks_by_shape():
    assert choose_algorithm(500, 10, 8) == "lloyd"  # too few points to prune
    assert choose_algorithm(10**5, 10, 2) == "lloyd"  # too few clusters
    assert choose_algorithm(60000, 784, 10) == "hamerly"
    assert choose_algorithm(60000, 784, 100, 4) == "elkan"
    assert choose_algorithm(60000, 784, 256, 4) == "elkan"
    # Elkan's n x k bounds would not fit: Yinyang for many clusters, Hamerly for few.
    assert choose_algorithm(10**6, 32, 1000, 4) == "yinyang"
    assert choose_algorithm(10**7, 32, 20, 4) == "hamerly"


def test_estimator_reports_the_algorithm_it_ran():
    km = KMeans(12, init=_start(BLOBS, 12, seed=1), algorithm="auto").fit(BLOBS)
    assert km.algorithm_ == choose_algorithm(*BLOBS.shape, 12)
    for algorithm in ("lloyd",) + PRUNING:
        assert KMeans(12, init=_start(BLOBS, 12, seed=1), algorithm=algorithm).fit(BLOBS).algorithm_ == algorithm


def test_every_algorithm_is_registered():
    x_sq = row_sq_norms(BLOBS)
    for algorithm in ("lloyd",) + PRUNING:
        assert make_assigner(algorithm, BLOBS, 5, None, x_sq).name == algorithm


def test_pruning_skips_most_distances_once_few_points_move():
    """Not a timing: the counts of work show that the bounds do prune."""
    holder = {}
    real = engine.make_assigner

    def spy(*args, **kwargs):
        holder["assigner"] = real(*args, **kwargs)
        return holder["assigner"]

    engine.make_assigner = spy
    try:
        for algorithm in PRUNING:
            _run(BLOBS, _start(BLOBS, 40, seed=3), algorithm)
            stats = [s for s in holder["assigner"].stats if not s["dense"]]
            assert stats, algorithm
            last = stats[-1]
            work = last.get("full", last.get("distances", 0))
            assert work < 0.1 * len(BLOBS) * (1 if "full" in last else 40), (algorithm, last)
    finally:
        engine.make_assigner = real
