"""The course assignment's functional API: exact hand-computed cases and its semantics."""

from __future__ import annotations

import numpy as np
import pytest

import kmeanslab as kl
from kmeanslab import InputError

A = np.arange(20).reshape(5, 4)
C = np.arange(3, 11).reshape(2, 4)


def test_compute_sq_dists_exact():
    # Row 0 of A is (0,1,2,3); centre 0 is (3,4,5,6): four differences of 3 -> 36.
    d2 = kl.compute_sq_dists(A, C)
    expected = ((A[:, None, :] - C[None, :, :]) ** 2).sum(-1)
    assert d2.shape == (5, 2)
    np.testing.assert_array_equal(d2, expected)
    assert d2[0, 0] == 36.0 and d2[0, 1] == 196.0


def test_compute_sq_dists_is_clipped_at_zero():
    # Large coincident points: the norm trick can round to a tiny negative number.
    X = np.full((3, 5), 1e8 + 0.1)
    d2 = kl.compute_sq_dists(X, X[:1])
    assert (d2 >= 0).all()


def test_associate_centroids_exact_case():
    loss, assoc = kl.associate_centroids(A, C)
    assert loss == pytest.approx(93.6, abs=1e-12)
    assert assoc.tolist() == [0, 0, 1, 1, 1]
    # The sum behind the mean is 468 = 36 + 4 + 100 + 4 + 324... as the assignment states.
    assert loss * len(A) == pytest.approx(468.0, abs=1e-9)


def test_associate_centroids_ties_go_to_lowest_index():
    X = np.array([[0.0], [1.0], [2.0]])
    W = np.array([[1.0], [-1.0], [3.0]])  # x=0 is 1 from both centre 0 and centre 1; x=2 from 0 and 2
    _, assoc = kl.associate_centroids(X, W)
    assert assoc.tolist() == [0, 0, 0]


def test_update_centroids_exact_case():
    W = kl.update_centroids(A, 2, [0, 1, 1, 0, 0])
    np.testing.assert_allclose(W, [[28 / 3, 31 / 3, 34 / 3, 37 / 3], [6.0, 7.0, 8.0, 9.0]], rtol=0, atol=1e-12)


def test_update_centroids_empty_cluster_gets_zeros():
    W = kl.update_centroids(A, 3, [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(W[2], np.zeros(4))
    np.testing.assert_allclose(W[0], A[:2].mean(0))


def test_update_centroids_rejects_bad_assoc():
    with pytest.raises(InputError, match="assoc"):
        kl.update_centroids(A, 2, [0, 1, 2, 0, 0])
    with pytest.raises(InputError, match="assoc"):
        kl.update_centroids(A, 2, [0, 1])


def test_rand_init_distinct_rows_of_X():
    X = np.arange(60, dtype=float).reshape(20, 3)
    W = kl.rand_init(X, 7, rng=3)
    assert W.shape == (7, 3)
    rows = {tuple(r) for r in X}
    assert all(tuple(w) in rows for w in W)
    assert len({tuple(w) for w in W}) == 7  # without replacement
    np.testing.assert_array_equal(W, kl.rand_init(X, 7, rng=3))


def test_rand_init_k_equals_n_takes_every_row():
    X = np.arange(12, dtype=float).reshape(4, 3)
    W = kl.rand_init(X, 4, rng=0)
    assert sorted(map(tuple, W)) == sorted(map(tuple, X))


def test_k_means_stopping_rule_and_history():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (100, 2)), rng.normal(8, 1, (100, 2))])
    W, losses = kl.k_means(X, 2, rng=1)
    assert W.shape == (2, 2)
    assert len(losses) >= 3  # never stops before the third iteration
    assert np.all(np.diff(losses) <= 1e-12)
    # It stopped at the first t >= 2 where the relative decrease fell below eps ...
    t = len(losses) - 1
    assert (losses[t - 1] - losses[t]) / losses[t] < 1e-5 or len(losses) == 50
    # ... and not earlier.
    for s in range(2, t):
        assert (losses[s - 1] - losses[s]) / losses[s] >= 1e-5
    # The final centres are the two blob means.
    np.testing.assert_allclose(sorted(W[:, 0]), [X[:100, 0].mean(), X[100:, 0].mean()], atol=1e-9)


def test_k_means_max_iters_bounds_history():
    X = np.random.default_rng(1).normal(size=(300, 3))
    _, losses = kl.k_means(X, 10, max_iters=4, eps=0.0, rng=0)
    assert len(losses) == 4


def test_k_means_perfect_fit_stops():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [5.0, 5.0]])
    W, losses = kl.k_means(X, 2, rng=0)
    assert losses[-1] == 0.0 and len(losses) == 3


def test_functional_and_estimator_share_the_engine():
    """k_means and KMeans(stop='loss', empty='zeros') from the same start give the same centres."""
    X = np.random.default_rng(2).normal(size=(500, 4))
    start = kl.rand_init(X, 5, rng=7)
    W, losses = kl.k_means(X, 5, rng=7)
    km = kl.KMeans(5, init=start, stop="loss", tol=1e-5, empty="zeros").fit(X)
    np.testing.assert_allclose(np.sort(W, axis=0), np.sort(km.cluster_centers_, axis=0), atol=1e-12)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: kl.compute_sq_dists(np.ones(3), np.ones((2, 3))), "2-D"),
        (lambda: kl.compute_sq_dists(np.ones((3, 2)), np.ones((2, 3))), "features"),
        (lambda: kl.associate_centroids(np.array([[np.nan, 1.0]]), np.ones((1, 2))), "NaN"),
        (lambda: kl.k_means(np.ones((5, 2)), 0), "k=0"),
        (lambda: kl.k_means(np.ones((5, 2)), 6), "k=6"),
        (lambda: kl.k_means(np.ones((5, 2)), 2, max_iters=0), "max_iters=0"),
        (lambda: kl.rand_init(np.ones((5, 2)), 2.5), "k=2.5"),
    ],
)
def test_functional_api_validates(call, match):
    with pytest.raises(InputError, match=match):
        call()
