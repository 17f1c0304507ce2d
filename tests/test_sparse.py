"""Sparse X (scipy.sparse CSR matrices and arrays): KMeans fits it without densifying it.

Checked against scikit-learn (same labels from the same init, every algorithm, float64) and
against kmeanslab's own dense path on ``X.toarray()`` (same labels, centres to ~1e-12).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans as SKKMeans

from kmeanslab import KMeans, MiniBatchKMeans
from kmeanslab.errors import InputError

pytestmark = [
    pytest.mark.filterwarnings("ignore:Number of distinct clusters:sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:algorithm='elkan' doesn't make sense:RuntimeWarning"),
]

ALGORITHMS = ["lloyd", "hamerly", "elkan", "yinyang", "auto"]
CONTAINERS = [sp.csr_matrix, sp.csr_array]


def _blobs_sparse(n=600, d=80, k=6, density=0.15, seed=0):
    """Sparse data with cluster structure: each cluster owns a band of columns."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(k, size=n)
    band = d // k
    rows, cols, vals = [], [], []
    for i, c in enumerate(labels):
        own = rng.choice(np.arange(c * band, (c + 1) * band), size=max(1, band // 2), replace=False)
        other = rng.choice(d, size=max(1, int(density * d / 3)), replace=False)
        for j in np.unique(np.r_[own, other]):
            rows.append(i)
            cols.append(j)
            vals.append(rng.uniform(0.1, 2.0))
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, d))


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("weighted", [False, True])
def test_labels_equal_scikit_learns_from_the_same_init(container, algorithm, weighted):
    X = container(_blobs_sparse())
    w = np.random.default_rng(3).uniform(0.2, 3.0, X.shape[0]) if weighted else None
    init = X[np.arange(0, 60, 10)].toarray()
    ours = KMeans(6, init=init, n_init=1, algorithm=algorithm, tol=1e-6).fit(X, sample_weight=w)
    theirs = SKKMeans(6, init=init, n_init=1, algorithm="lloyd", tol=1e-6).fit(X, sample_weight=w)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=0, atol=1e-12)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-12)
    assert ours.cluster_centers_.dtype == np.float64


def test_labels_equal_scikit_learns_with_random_init_points():
    """Several inits drawn from the data (sklearn's 'random' is not ours: we pass the rows)."""
    X = _blobs_sparse(n=900, d=120, k=8, seed=5)
    rng = np.random.default_rng(11)
    for _ in range(5):
        init = X[rng.choice(X.shape[0], 8, replace=False)].toarray()
        ours = KMeans(8, init=init, n_init=1, algorithm="lloyd").fit(X)
        theirs = SKKMeans(8, init=init, n_init=1).fit(X)
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
        assert ours.n_iter_ == theirs.n_iter_


@st.composite
def sparse_problems(draw):
    n = draw(st.integers(8, 60))
    d = draw(st.integers(1, 12))
    k = draw(st.integers(1, min(5, n)))
    density = draw(st.floats(0.05, 1.0))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    mask = rng.random((n, d)) < density
    values = np.round(rng.normal(size=(n, d)) * 4) / 2  # small half-integers: ties and duplicates happen
    dense = np.where(mask, values, 0.0)
    weights = rng.integers(0, 4, size=n).astype(float) if draw(st.booleans()) else None
    if weights is not None and not np.any(weights > 0):
        weights[0] = 1.0
    init_rows = rng.choice(n, size=k, replace=False)
    return dense, weights, init_rows, k


@settings(max_examples=60, deadline=None)
@given(problem=sparse_problems(), algorithm=st.sampled_from(ALGORITHMS), empty=st.sampled_from(["relocate", "keep"]))
def test_sparse_fit_equals_the_dense_fit_of_toarray(problem, algorithm, empty):
    dense, weights, init_rows, k = problem
    X = sp.csr_matrix(dense)
    init = dense[init_rows]
    kwargs = dict(n_clusters=k, init=init, n_init=1, algorithm=algorithm, empty=empty, max_iter=50)
    a = KMeans(**kwargs).fit(X, sample_weight=weights)
    b = KMeans(**kwargs).fit(dense, sample_weight=weights)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=0, atol=1e-12)
    assert a.n_iter_ == b.n_iter_
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-12, abs=1e-12)
    np.testing.assert_array_equal(a.predict(X), b.predict(dense))
    np.testing.assert_allclose(a.transform(X), b.transform(dense), rtol=0, atol=1e-12)
    assert a.score(X, sample_weight=weights) == pytest.approx(b.score(dense, sample_weight=weights), abs=1e-12)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_seeded_inits_fit_sparse_as_dense(init):
    """The same seed draws the same rows from X and from X.toarray() (draws over the canonical order)."""
    X = _blobs_sparse(n=500, d=60, k=5, seed=2)
    a = KMeans(5, init=init, n_init=2, random_state=7).fit(X)
    b = KMeans(5, init=init, n_init=2, random_state=7).fit(X.toarray())
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=0, atol=1e-12)


def test_callable_init_receives_the_sparse_matrix():
    X = _blobs_sparse(n=200, d=30, k=3, seed=4)
    seen = []

    def init(data, n_clusters, random_state):
        seen.append(type(data))
        return data[:n_clusters].toarray()

    km = KMeans(3, init=init, n_init=1).fit(X)
    ref = KMeans(3, init=X[:3].toarray(), n_init=1).fit(X.toarray())
    assert seen == [sp.csr_matrix]
    np.testing.assert_array_equal(km.labels_, ref.labels_)


def test_hand_computed_fit_predict_transform_score():
    # Two groups on the axes; centres (1, 0) and (0, 2) after one step.
    X = sp.csr_array(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 2.0], [0.0, 2.0]]))
    km = KMeans(2, init=np.array([[2.0, 0.0], [0.0, 3.0]]), n_init=1).fit(X)
    np.testing.assert_array_equal(km.labels_, [0, 0, 1, 1])
    np.testing.assert_array_equal(km.cluster_centers_, [[1.0, 0.0], [0.0, 2.0]])
    assert km.inertia_ == 0.0
    Y = sp.csr_matrix(np.array([[3.0, 0.0], [0.0, 0.0]]))
    np.testing.assert_array_equal(km.predict(Y), [0, 0])  # (0,0): 1 from c0, 4 from c1
    np.testing.assert_allclose(km.transform(Y), [[2.0, np.sqrt(13.0)], [1.0, 2.0]], rtol=1e-15)
    assert km.score(Y) == -(4.0 + 1.0)
    np.testing.assert_array_equal(km.fit_predict(X), [0, 0, 1, 1])


def test_empty_cluster_is_relocated_as_in_scikit_learn():
    X = sp.csr_matrix(np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5], [5.0, 5.0], [5.5, 5.0], [9.0, 9.0]]))
    init = np.array([[0.0, 0.0], [5.0, 5.0], [100.0, 100.0]])  # the third centre attracts nothing
    ours = KMeans(3, init=init, n_init=1).fit(X)
    theirs = SKKMeans(3, init=init, n_init=1).fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, atol=1e-15)


def test_fit_never_densifies_x():
    """A 20000 x 20000 X with 0.01% stored values: densified it would take 3.2 GB."""
    n = d = 20_000
    X = sp.random(n, d, density=1e-4, format="csr", random_state=0, dtype=np.float64)
    X = X + sp.csr_matrix((np.ones(n), (np.arange(n), np.arange(n) % d)), shape=(n, d))
    tracemalloc.start()
    try:
        km = KMeans(4, init=X[:4].toarray(), n_init=1, max_iter=5).fit(X)
        km.predict(X)
        km.score(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # X itself is ~0.7 MB; the centres, sums and CT 4 x 20000 x 8 bytes each; labels and norms O(n).
    assert peak < 32 * 2**20
    assert km.labels_.shape == (n,)


def test_float32_sparse_stays_float32():
    X = _blobs_sparse(n=300, d=40, k=4, seed=9).astype(np.float32)
    km = KMeans(4, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == np.float32
    ref = KMeans(4, random_state=0).fit(X.toarray())
    assert np.mean(km.labels_ == ref.labels_) == 1.0


@pytest.mark.parametrize("fmt", ["csc", "coo", "lil"])
def test_other_sparse_formats_are_converted(fmt):
    X = _blobs_sparse(n=200, d=30, k=3, seed=6)
    init = X[:3].toarray()
    a = KMeans(3, init=init, n_init=1).fit(X.asformat(fmt))
    b = KMeans(3, init=init, n_init=1).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_duplicate_entries_are_summed():
    # (0, 0) stored twice: 1 + 2 = 3, as scipy reads it.
    X = sp.csr_matrix((np.array([1.0, 2.0, 1.0]), np.array([0, 0, 1]), np.array([0, 2, 3])), shape=(2, 2))
    km = KMeans(2, init=np.array([[3.0, 0.0], [0.0, 1.0]]), n_init=1).fit(X)
    np.testing.assert_array_equal(km.cluster_centers_, [[3.0, 0.0], [0.0, 1.0]])
    assert X.data.tolist() == [1.0, 2.0, 1.0]  # the caller's matrix is left as it was


def test_bad_sparse_input_is_refused_with_reasons():
    X = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, np.nan], [2.0, 2.0]]))
    with pytest.raises(InputError, match=r"X contains NaN \(NaN at row 1, column 1\)"):
        KMeans(2).fit(X)
    good = sp.csr_matrix(np.eye(3))
    km = KMeans(2, random_state=0).fit(good)
    with pytest.raises(InputError, match="X has 4 features, but KMeans is expecting 3"):
        km.predict(sp.csr_matrix(np.eye(4)))
    with pytest.raises(InputError, match=r"X contains NaN \(NaN at row 1, column 1\)"):
        MiniBatchKMeans(2).fit(X)


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("weighted", [False, True])
def test_minibatch_on_sparse_equals_minibatch_on_toarray(init, weighted):
    """Batches are drawn over the canonical order, the same rows for X and X.toarray()."""
    X = _blobs_sparse(n=600, d=80, k=6, seed=8)
    w = np.random.default_rng(2).integers(1, 4, X.shape[0]).astype(float) if weighted else None
    kwargs = dict(n_clusters=6, init=init, random_state=0, batch_size=64)
    a = MiniBatchKMeans(**kwargs).fit(X, sample_weight=w)
    b = MiniBatchKMeans(**kwargs).fit(X.toarray(), sample_weight=w)
    assert a.n_steps_ == b.n_steps_
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a.predict(X), b.predict(X.toarray()))


def test_minibatch_partial_fit_on_sparse_batches():
    X = _blobs_sparse(n=500, d=40, k=4, seed=3)
    a, b = MiniBatchKMeans(4, random_state=1), MiniBatchKMeans(4, random_state=1)
    for start in range(0, 500, 100):
        a.partial_fit(X[start : start + 100])
        b.partial_fit(X[start : start + 100].toarray())
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a.labels_, b.labels_)


# --------------------------------------------------------------------------- the CLI


def _cli_summary(path, tmp_path, capsys, *extra):
    from kmeanslab.cli import main

    out_dir = tmp_path / f"run-{path.name}"
    code = main(["fit", str(path), "-k", "3", "--seed", "0", "--no-progress", "--out", str(out_dir), *extra])
    capsys.readouterr()
    assert code == 0
    import json

    return json.loads((out_dir / "summary.json").read_text())


def test_cli_fits_save_npz_and_svmlight_files_as_the_library_does(tmp_path, capsys):
    from sklearn.datasets import dump_svmlight_file

    X = _blobs_sparse(n=240, d=40, k=3, seed=12)
    sp.save_npz(tmp_path / "x.npz", X)
    sp.save_npz(tmp_path / "xc.npz", X.tocsc(), compressed=False)
    sp.save_npz(tmp_path / "xo.npz", X.tocoo())
    dump_svmlight_file(X, np.zeros(X.shape[0]), str(tmp_path / "x.svm"))
    ref = KMeans(3, random_state=0).fit(X)
    for name in ("x.npz", "xc.npz", "xo.npz", "x.svm"):
        summary = _cli_summary(tmp_path / name, tmp_path, capsys)
        assert summary["n_samples"] == 240 and summary["n_features"] == 40, name
        assert summary["inertia"] == pytest.approx(ref.inertia_, rel=1e-12), name
        assert summary["cluster_sizes"] == np.bincount(ref.labels_, minlength=3).tolist(), name
        labels = np.loadtxt(tmp_path / f"run-{name}" / "labels.csv", delimiter=",", skiprows=1, dtype=int)[:, 1]
        np.testing.assert_array_equal(labels, ref.labels_)


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (b"1 1:0.5 zz\n", (), "x.svm: not a readable svmlight/libsvm file"),
        (b"", (), "x.svm: is empty"),
        (b"1 1:0.5\n0 2:1.5\n1 3:2\n", ("--scale", "standard"), "--scale is not valid with the sparse file x.svm"),
        (b"1 1:0.5\n0 2:1.5\n1 3:2\n", ("--columns", "0"), "--columns is not valid with the sparse file x.svm"),
        (b"1 1:nan\n0 2:1.5\n1 3:2\n", (), r"x.svm contains NaN \(NaN at row 0, column 0\)"),
    ],
)
def test_cli_refuses_bad_sparse_files_in_one_line(tmp_path, capsys, content, extra, message):
    from kmeanslab.cli import main

    path = tmp_path / "x.svm"
    path.write_bytes(content)
    out_dir = tmp_path / "run"
    assert main(["fit", str(path), "-k", "2", "--no-progress", "--out", str(out_dir), *extra]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    import re

    assert re.search(message, err), err
    assert not out_dir.exists()


def test_cli_refuses_a_damaged_save_npz_file(tmp_path, capsys):
    from kmeanslab.cli import main

    X = sp.csr_matrix(np.eye(4))
    path = tmp_path / "bad.npz"
    # indices out of range for 4 columns
    np.savez(path, format=np.array("csr"), shape=np.array([4, 4]), data=X.data, indices=X.indices + 9, indptr=X.indptr)
    assert main(["fit", str(path), "-k", "2", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "bad.npz: holds a damaged sparse matrix" in err and len(err.strip().splitlines()) == 1


def test_large_centre_shift_is_summed_in_blocks_to_the_same_value():
    from kmeanslab.cluster._lloyd import _SHIFT_BLOCK_VALUES, _squared_shift

    rng = np.random.default_rng(1)
    old = rng.normal(size=(3 * _SHIFT_BLOCK_VALUES // 1000 + 7, 1000))
    new = old + rng.normal(scale=1e-3, size=old.shape)
    assert new.size > _SHIFT_BLOCK_VALUES
    expected = float(np.sum((new - old) ** 2))
    assert _squared_shift(new, old) == pytest.approx(expected, rel=1e-12)
    small_old, small_new = old[:3, :4], new[:3, :4]
    assert _squared_shift(small_new, small_old) == float(np.sum((small_new - small_old) ** 2))


def test_sparse_hamerly_skips_rows_and_keeps_lloyds_labels():
    from kmeanslab._core import row_sq_norms, sparse_assign
    from kmeanslab.cluster._assigners import make_assigner

    X = _blobs_sparse(n=600, d=80, k=6, seed=1)
    init = X[np.arange(0, 600, 100)].toarray()
    a = KMeans(6, init=init, n_init=1, algorithm="hamerly", tol=0).fit(X)
    b = KMeans(6, init=init, n_init=1, algorithm="lloyd", tol=0).fit(X)
    assert a.algorithm_ == "hamerly" and b.algorithm_ == "lloyd"
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.n_iter_ == b.n_iter_
    # Near convergence the bounds prove most rows: after a small move of the centres, few
    # rows get the full pass, and the labels are those of a full Lloyd pass.
    assigner = make_assigner("hamerly", X, 6, None, row_sq_norms(X))
    centers = b.cluster_centers_
    assigner.step(centers)
    moved = centers + 1e-3 * np.random.default_rng(0).standard_normal(centers.shape)
    assigner.centers_moved(centers, moved)
    labels, _, _ = assigner.step(moved)
    assert assigner.stats[-1]["full"] < X.shape[0] // 4
    np.testing.assert_array_equal(labels, sparse_assign(X, moved)[0])
