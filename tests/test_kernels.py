"""The compiled kernels against brute force: dot products, assignment, sums, bounds, layout."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kmeanslab import _kernels
from kmeanslab._core import (
    CenterArrays,
    Layout,
    _weights_arg,
    assign,
    cluster_sums,
    compute_context,
    feature_moments,
    inertia,
    rounding_margin,
    row_sq_norms,
)
from kmeanslab._kernels import _common, dots, elkan, hamerly, lloyd, sums, yinyang
from kmeanslab.cluster._assigners import ClusterSums, center_separations, yinyang_groups


def _brute_sq_dists(X, C):
    X = np.asarray(X, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)


def _layouts(n, d, k, itemsize):
    """The shape's own layout and the same with the other source of dot products."""
    base = Layout.for_shape(n, d, k, itemsize)
    other = dataclasses.replace(base, use_blas=not base.use_blas, center_block=0 if not base.use_blas else 6)
    return [base, other]


_NO_GROUPS = np.empty(0, dtype=np.int64)


def _dense(X, centers, layout, weights=None, mode="lloyd", lower_cols=1, groups=_NO_GROUPS):
    """One dense pass: Lloyd's, or the bound initialisation of a pruning algorithm."""
    n, d = X.shape
    k = len(centers)
    arrays = CenterArrays.build(centers, layout, X.dtype)
    labels = np.full(n, -1, dtype=np.int32)
    min_d2 = np.empty(n)
    upper = np.empty(n, dtype=np.float32)
    lower = np.empty((n, lower_cols), dtype=np.float32)
    glower = np.empty(n, dtype=np.float32)
    sums = np.empty((layout.n_slabs, k, d))
    wsums = np.empty((layout.n_slabs, k))
    stats = np.empty((layout.n_slabs, 2))
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    head = (
        X,
        arrays.C,
        arrays.CT,
        arrays.c_half,
        arrays.n_in_3tiles,
        row_sq_norms(X),
        _weights_arg(weights),
        layout.chunk,
        layout.slab_rows,
        arrays.tiles,
        layout.center_block,
    )
    bounds = (rounding_margin(d, X.dtype), float(arrays.c_sq.max()), np.zeros(k))
    with compute_context():
        if mode == "lloyd":
            moves = np.empty(1, np.int32)
            _kernels.run(
                lloyd.lloyd_pass, layout.n_slabs, *head, labels, min_d2, sums, wsums, stats, True, moves, moves, 0
            )
        elif mode == "hamerly":
            _kernels.run(
                hamerly.hamerly_init, layout.n_slabs, *head, *bounds, 0.0, labels, upper, lower, sums, wsums, stats
            )
        elif mode == "elkan":
            _kernels.run(
                elkan.elkan_init, layout.n_slabs, *head, *bounds, 0.0, labels, upper, lower, glower, sums, wsums, stats
            )
        else:
            margin, cmax_sq, drift_sum = bounds
            _kernels.run(
                yinyang.yinyang_init,
                layout.n_slabs,
                *head,
                groups,
                margin,
                cmax_sq,
                drift_sum,
                np.zeros(n_groups),
                0.0,
                labels,
                upper,
                lower,
                glower,
                sums,
                wsums,
                stats,
            )
    return dict(
        labels=labels,
        min_d2=min_d2,
        upper=upper,
        lower=lower,
        glower=glower,
        sums=sums.sum(0),
        wsums=wsums.sum(0),
        changed=stats[:, 0].sum(),
        loss=stats[:, 1].sum(),
    )


# --------------------------------------------------------------------------- layout


@pytest.mark.parametrize("n, d, k", [(1, 1, 1), (5, 3, 2), (1000, 784, 10), (60000, 784, 256), (10**6, 32, 1000)])
def test_layout_partitions_the_rows_into_whole_chunks(n, d, k):
    layout = Layout.for_shape(n, d, k, 4)
    assert layout.slab_rows % layout.chunk == 0 and layout.chunk % 4 == 0
    assert (layout.n_slabs - 1) * layout.slab_rows < n <= layout.n_slabs * layout.slab_rows
    assert layout.n_slabs <= 64
    # Bounded memory: the per-slab partial sums stay within a few tens of MiB.
    assert layout.n_slabs * k * d * 8 <= max(32 * 2**20, 16 * k * d * 8)
    assert layout.use_blas == (k > 40 or d < 48)


# --------------------------------------------------------------------------- dot products


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7, 30])
def test_both_dot_sources_match_brute_force(dtype, k):
    rng = np.random.default_rng(k)
    X = rng.normal(size=(203, 50)).astype(dtype)
    C = rng.normal(size=(k, 50)).astype(dtype)
    ref = X.astype(np.float64) @ C.astype(np.float64).T
    for layout in _layouts(len(X), 50, k, X.itemsize):
        arrays = CenterArrays.build(C, layout, dtype)
        cols = arrays.CT.shape[1] if layout.use_blas else arrays.C.shape[0]
        out = np.empty((len(X) + 4, cols), dtype=dtype)
        rows = np.empty(len(X) + 4, dtype=np.int64)
        dots.chunk_dots(
            X,
            rows,
            len(X),
            0,
            arrays.tiles,
            arrays.CT,
            max(3, layout.center_block),
            arrays.n_in_3tiles,
            np.empty((len(X), 50), dtype),
            out,
        )
        tol = 1e-10 if dtype == np.float64 else 1e-4
        np.testing.assert_allclose(out[: len(X), :k], ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tiled_dot_products_do_not_depend_on_the_rows_position(dtype):
    """Gathered in another order, every row's dot products are bit-identical."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(61, 100)).astype(dtype)
    C = rng.normal(size=(8, 100)).astype(dtype)
    layout = Layout(n=61, chunk=64, slab_rows=64, n_slabs=1, use_blas=False, center_block=3)
    arrays = CenterArrays.build(C, layout, dtype)

    def dots_for(order):
        rows = np.empty(len(order) + 4, dtype=np.int64)
        rows[: len(order)] = order
        out = np.empty((len(order) + 4, arrays.C.shape[0]), dtype=dtype)
        dots.chunk_dots(
            X, rows, len(order), -1, arrays.tiles, arrays.CT, 3, arrays.n_in_3tiles, np.empty((1, 100), dtype), out
        )
        return out[: len(order)]

    forward = dots_for(np.arange(61))
    backward = dots_for(np.arange(61)[::-1])
    assert forward.tobytes() == backward[::-1].tobytes()


@pytest.mark.parametrize("k", [5, 40])
def test_nearest_breaks_ties_to_the_lowest_index(k):
    c_half = np.zeros(k)
    row = np.zeros(k)
    row[[2, 4]] = 1.0  # the two smallest values, equal
    assert dots.nearest(row, c_half, k) == (2, -1.0)


# --------------------------------------------------------------------------- assignment and sums


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_pass_assigns_sums_and_counts_like_brute_force(dtype):
    # Small integers: distances and sums are exact, ties are common and go to the lowest index.
    rng = np.random.default_rng(1)
    X = rng.integers(-3, 4, size=(500, 60)).astype(dtype)
    C = rng.integers(-3, 4, size=(9, 60)).astype(dtype)
    C[5] = C[2]  # a duplicate centre: 5 never wins
    weights = rng.integers(0, 3, len(X)).astype(np.float64)
    d2 = _brute_sq_dists(X, C)
    expected = d2.argmin(1)
    for layout in _layouts(*X.shape, len(C), X.itemsize):
        out = _dense(X, C, layout, weights)
        np.testing.assert_array_equal(out["labels"], expected)
        np.testing.assert_allclose(out["min_d2"], d2.min(1), atol=1e-3)
        assert out["changed"] == len(X)
        ref_sums, ref_w = cluster_sums(X, expected, len(C), weights)
        np.testing.assert_array_equal(out["sums"], ref_sums)
        np.testing.assert_array_equal(out["wsums"], ref_w)
        np.testing.assert_array_equal(ref_w, np.bincount(expected, weights, minlength=len(C)))
        assert out["loss"] == pytest.approx(np.dot(weights, d2.min(1)), abs=1e-2)


def test_assign_matches_brute_force_and_inertia_sums_directly():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(700, 5))
    C = rng.normal(size=(6, 5))
    labels, min_d2 = assign(X, C)
    d2 = _brute_sq_dists(X, C)
    np.testing.assert_array_equal(labels, d2.argmin(1))
    np.testing.assert_allclose(min_d2, d2.min(1), atol=1e-12)
    w = rng.uniform(size=len(X))
    assert inertia(X, C, labels, w) == pytest.approx(np.dot(w, d2.min(1)), rel=1e-12)


def test_incremental_sums_match_a_recount():
    rng = np.random.default_rng(3)
    X = rng.integers(-5, 6, size=(3000, 7)).astype(np.float64)  # exact sums
    k = 6
    weights = rng.integers(0, 3, len(X)).astype(np.float64)
    layout = Layout.for_shape(*X.shape, k, 8)
    labels = rng.integers(0, k - 1, len(X)).astype(np.int32)
    sums = ClusterSums(X, k, _weights_arg(weights), layout)
    moved = np.zeros(layout.n_slabs, dtype=np.int64)
    with compute_context():
        for s in range(layout.n_slabs):  # ten points of each slab start in cluster k - 1
            labels[s * layout.slab_rows + np.arange(0, 100, 10)] = k - 1
        sums.recount(labels)
        # Move forty points of each slab, among them every point of cluster k - 1.
        for s in range(layout.n_slabs):
            chosen = s * layout.slab_rows + np.arange(0, 200, 5)
            assert len(chosen) <= sums.move_cap
            base = s * sums.move_cap
            sums.move_idx[base : base + len(chosen)] = chosen
            sums.move_old[base : base + len(chosen)] = labels[chosen]
            moved[s] = len(chosen)
            labels[chosen] = (labels[chosen] + 1) % (k - 1)
        sums.apply(labels, moved)
    ref_sums, ref_w = cluster_sums(X, labels, k, weights)
    np.testing.assert_array_equal(sums.sums, ref_sums)
    np.testing.assert_array_equal(sums.wsums, ref_w)
    assert ref_w[k - 1] == 0.0 and np.all(sums.sums[k - 1] == 0.0)
    assert sums.since_count == moved.sum()  # updated from the moves, not recounted


def test_slab_sums_are_reduced_in_slab_order():
    """Whole slabs are added one after another, in slab order: a plain loop gives the same bits."""
    rng = np.random.default_rng(4)
    parts = rng.normal(size=(7, 5, 3)) * 10.0 ** rng.integers(-8, 8, size=(7, 5, 3))
    weights = rng.normal(size=(7, 5))
    cluster_sums = ClusterSums(np.zeros((10, 3)), 5, None, Layout.for_shape(10, 3, 5, 8))
    cluster_sums._slab_sums, cluster_sums._slab_wsums = parts, weights
    cluster_sums.from_slabs()
    out, out_w = parts[0].copy(), weights[0].copy()
    for s in range(1, 7):
        out += parts[s]
        out_w += weights[s]
    assert cluster_sums.sums.tobytes() == out.tobytes()
    assert cluster_sums.wsums.tobytes() == out_w.tobytes()


def test_feature_moments():
    rng = np.random.default_rng(5)
    X = rng.normal(1e4, 2.0, size=(999, 4))  # a large mean: two passes keep the variance exact
    w = rng.uniform(size=len(X))
    mean, var = feature_moments(X, w)
    ref_mean = np.average(X, axis=0, weights=w)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-13)
    np.testing.assert_allclose(var, np.average((X - ref_mean) ** 2, axis=0, weights=w), rtol=1e-9)


# --------------------------------------------------------------------------- bounds


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["hamerly", "yinyang", "elkan"])
def test_dense_pass_bounds_hold_for_the_true_distances(dtype, mode):
    rng = np.random.default_rng(6)
    X = (rng.normal(size=(400, 64)) + 50.0).astype(dtype)  # large norms: the norm trick cancels
    C = (rng.normal(size=(12, 64)) + 50.0).astype(dtype)
    true = np.sqrt(_brute_sq_dists(X, C))
    n, k = len(X), len(C)
    groups = yinyang_groups(C, 4) if mode == "yinyang" else _NO_GROUPS
    cols = {"hamerly": 1, "yinyang": int(groups.max()) + 1 if len(groups) else 1, "elkan": k}[mode]
    for layout in _layouts(n, 64, k, X.itemsize):
        out = _dense(X, C, layout, mode=mode, lower_cols=cols, groups=groups)
        labels = out["labels"]
        own = true[np.arange(n), labels]
        assert np.all(out["upper"] >= own)
        others = true.copy()
        others[np.arange(n), labels] = np.inf
        if mode == "hamerly":
            assert np.all(out["lower"][:, 0] <= others.min(1))
        elif mode == "elkan":
            assert np.all(out["lower"] <= np.where(np.isinf(others), true, others))
            assert np.all(out["glower"] <= others.min(1))
        else:
            for g in range(cols):
                assert np.all(out["lower"][:, g] <= others[:, groups == g].min(1))
            assert np.all(out["glower"] <= others.min(1))


def test_float32_rounding_helpers_round_outwards():
    values = np.concatenate(
        [np.random.default_rng(7).normal(size=1000) * 10.0 ** np.arange(-5, 5).repeat(100), [0.0, 1e-40]]
    )
    for v in values:
        assert np.float64(_common.up32(v)) >= v
        assert np.float64(_common.down32(v)) <= v
    assert np.isinf(_common.up32(np.inf)) and _common.down32(np.inf) > 1e38


def test_center_separations_never_exceed_the_true_half_distances():
    rng = np.random.default_rng(8)
    C = rng.normal(size=(40, 30)) + 1e3
    C[7] = C[3]  # coincident centres: separation 0
    s, _ = center_separations(C, block=16)
    true = np.sqrt(_brute_sq_dists(C, C))
    np.fill_diagonal(true, np.inf)
    assert np.all(s <= 0.5 * true.min(1))
    assert s[3] == 0.0 and s[7] == 0.0


def test_yinyang_groups_cover_every_centre():
    C = np.random.default_rng(9).normal(size=(57, 4))
    groups = yinyang_groups(C, 6)
    assert groups.shape == (57,) and groups.min() == 0
    assert set(groups.tolist()) == set(range(groups.max() + 1))
    assert groups.max() + 1 <= 6


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [3, 64])  # BLAS dot products at d=3, the register-tiled kernel at d=64
@pytest.mark.parametrize("algorithm", ["hamerly", "elkan", "yinyang"])
def test_pruned_steps_on_small_data_give_lloyds_labels(algorithm, d, dtype, monkeypatch):
    # Small enough to run in seconds with NUMBA_DISABLE_JIT=1 too (make test does, for coverage).
    from kmeanslab.cluster import _lloyd as engine
    from kmeanslab.cluster import lloyd

    made = []

    def capture(*args):
        made.append(make(*args))
        return made[-1]

    make = engine.make_assigner
    monkeypatch.setattr(engine, "make_assigner", capture)

    rng = np.random.default_rng(11)
    k = 12
    truth = rng.normal(scale=6.0, size=(k, d))
    X = (truth[rng.integers(0, k, 600)] + rng.normal(size=(600, d))).astype(dtype)
    weights = rng.uniform(0.5, 2.0, 600)
    start = X[rng.choice(600, k, replace=False)].astype(np.float64)
    ref = lloyd(X, start, sample_weight=weights, max_iter=60, tol=0.0, algorithm="lloyd")
    got = lloyd(X, start, sample_weight=weights, max_iter=60, tol=0.0, algorithm=algorithm)
    np.testing.assert_array_equal(got.labels, ref.labels)
    assert got.n_iter == ref.n_iter
    np.testing.assert_allclose(got.centers, ref.centers, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert got.inertia == pytest.approx(ref.inertia, rel=1e-5 if dtype == np.float32 else 1e-12)
    assert got.extra["algorithm"] == algorithm
    # The bounds did their work: some steps skipped the dense pass.
    assert any(not step["dense"] for step in made[-1].stats)


# --------------------------------------------------------------------------- small problems


def test_small_problems_are_told_by_their_shape_alone():
    assert Layout.for_shape(272, 2, 2, 8).small  # Old Faithful at k = 2
    assert Layout.for_shape(2**14, 2, 2, 8).small
    assert not Layout.for_shape(2**14 + 1, 2, 2, 8).small
    assert not Layout.for_shape(10000, 784, 10, 4).small
    assert all(kernel in _kernels.small.TWINS for kernel in (lloyd.lloyd_pass, sums.apply_moves, sums.accumulate))


def _small_cases():
    from sklearn.datasets import make_blobs

    from kmeanslab.datasets import load_faithful

    rng = np.random.default_rng(12)
    blobs, _ = make_blobs(300, n_features=5, centers=6, random_state=3)
    ties = rng.integers(0, 3, size=(200, 2)).astype(np.float64)  # many equal rows and tied distances
    return [
        ("faithful", load_faithful().data, 2, None),
        ("faithful k=5", load_faithful().data, 5, None),
        ("blobs float32", blobs.astype(np.float32), 6, None),
        ("blobs weighted", blobs, 4, rng.uniform(0.0, 3.0, len(blobs))),
        ("ties", ties, 3, None),
        ("one cluster", blobs[:50], 1, None),
        ("wide", rng.normal(size=(40, 60)), 3, None),  # d >= 48: the register-tiled kernel when compiled
    ]


@pytest.mark.parametrize("case", range(7))
def test_small_problems_give_the_compiled_kernels_labels(case, monkeypatch):
    """The NumPy twins and the compiled kernels: same labels, same iterations, same seeding."""
    from kmeanslab import KMeans, _core

    name, X, k, weights = _small_cases()[case]
    assert Layout.for_shape(len(X), X.shape[1], k, X.itemsize).small, name
    params = dict(n_clusters=k, random_state=0, n_init=2, tol=0.0)
    small = KMeans(**params).fit(X, sample_weight=weights)
    small_predicted = small.predict(X)
    monkeypatch.setattr(_core, "SMALL_WORK", -1)
    assert not Layout.for_shape(len(X), X.shape[1], k, X.itemsize).small
    compiled = KMeans(**params).fit(X, sample_weight=weights)
    np.testing.assert_array_equal(small.labels_, compiled.labels_, err_msg=name)
    assert small.n_iter_ == compiled.n_iter_
    rtol = 1e-5 if X.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(small.cluster_centers_, compiled.cluster_centers_, rtol=rtol, atol=rtol)
    assert small.inertia_ == pytest.approx(compiled.inertia_, rel=rtol)
    np.testing.assert_array_equal(small_predicted, compiled.predict(X))
