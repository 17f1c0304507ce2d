"""Cosine (spherical) k-means: against a plain NumPy spherical Lloyd, faiss, and by hand."""

from __future__ import annotations

import numpy as np
import pytest

from kmeanslab import KMeans, MiniBatchKMeans
from kmeanslab.errors import InputError

ALGORITHMS = ("lloyd", "hamerly", "elkan", "yinyang", "auto")


def spherical_lloyd(X: np.ndarray, init: np.ndarray, max_iter: int = 300) -> tuple[np.ndarray, np.ndarray, list]:
    """Plain spherical k-means: normalise, assign by max dot product, mean, renormalise."""
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    C = init / np.linalg.norm(init, axis=1, keepdims=True)
    labels = None
    losses = []
    for _ in range(max_iter):
        dots = U @ C.T
        new = np.argmax(dots, axis=1)
        losses.append(float(np.mean(1.0 - dots[np.arange(len(U)), new])))
        assert len(np.unique(new)) == C.shape[0], "the reference does not handle empty clusters"
        C = np.array([U[new == j].mean(axis=0) for j in range(C.shape[0])])
        C /= np.linalg.norm(C, axis=1, keepdims=True)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
    return labels, C, losses


def _blobs_on_sphere(rng, n=600, d=12, k=5, spread=0.6):
    directions = rng.normal(size=(k, d))
    X = directions[rng.integers(0, k, n)] + spread * rng.normal(size=(n, d))
    # Rows of very different lengths: the cosine geometry must not see the length.
    return X * rng.uniform(0.1, 50.0, size=(n, 1))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_algorithm_is_plain_spherical_lloyd(algorithm, seed):
    rng = np.random.default_rng(seed)
    X = _blobs_on_sphere(rng)
    init = X[rng.choice(len(X), 5, replace=False)]
    ref_labels, ref_centers, ref_losses = spherical_lloyd(X, init)
    km = KMeans(5, init=init, n_init=1, metric="cosine", algorithm=algorithm, tol=0.0, max_iter=300).fit(X)
    np.testing.assert_array_equal(km.labels_, ref_labels)
    np.testing.assert_allclose(km.cluster_centers_, ref_centers, rtol=0, atol=1e-12)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    expected_inertia = float(np.sum(1.0 - np.einsum("ij,ij->i", U, ref_centers[ref_labels])))
    assert km.inertia_ == pytest.approx(expected_inertia, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(km.loss_history_, ref_losses[: len(km.loss_history_)], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(np.linalg.norm(km.cluster_centers_, axis=1), 1.0, rtol=0, atol=1e-14)


def _sparse_documents(rng, n=500, d=80, k=4):
    """Sparse positive rows (term weights) in k topics, each with its own block of terms.

    About six terms a row, most from the row's topic: separated clusters, so that no point sits
    within rounding of a tie (where the engine's |x|² + |c|² - 2 x·c and the reference's x·c
    may round to different sides and the two trajectories part). Real-valued weights, not counts,
    for the same reason.
    """
    import scipy.sparse as sp

    topic = rng.integers(0, k, n)
    block = d // k
    X = np.zeros((n, d))
    for i in range(n):
        own = topic[i] * block + rng.choice(block, 5, replace=False)
        X[i, own] = rng.uniform(0.5, 5.0, size=5)
        X[i, rng.integers(0, d)] += rng.uniform(0.1, 1.0)  # one term from anywhere
    return sp.csr_matrix(X)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("seed", [0, 1])
def test_sparse_every_algorithm_is_plain_spherical_lloyd(algorithm, seed):
    rng = np.random.default_rng(seed)
    X = _sparse_documents(rng)
    dense = X.toarray()
    # Rows of X plus a little of every term: a sparse row is orthogonal to most sparse rows, and
    # a row at cosine 0 from every centre is an exact tie that rounding may break either way.
    init = dense[rng.choice(X.shape[0], 4, replace=False)] + rng.uniform(0.01, 0.1, size=(4, X.shape[1]))
    ref_labels, ref_centers, _ = spherical_lloyd(dense, init)
    km = KMeans(4, init=init, n_init=1, metric="cosine", algorithm=algorithm, tol=0.0, max_iter=300).fit(X)
    np.testing.assert_array_equal(km.labels_, ref_labels)
    np.testing.assert_allclose(km.cluster_centers_, ref_centers, rtol=0, atol=1e-12)
    U = dense / np.linalg.norm(dense, axis=1, keepdims=True)
    expected_inertia = float(np.sum(1.0 - np.einsum("ij,ij->i", U, ref_centers[ref_labels])))
    assert km.inertia_ == pytest.approx(expected_inertia, rel=1e-12, abs=1e-12)
    # X itself is left as it was (its rows were scaled in a copy), and predict/transform take it sparse.
    np.testing.assert_array_equal(X.toarray(), dense)
    np.testing.assert_array_equal(km.predict(X), ref_labels)
    expected = np.clip(1.0 - U @ ref_centers.T, 0.0, 2.0)
    np.testing.assert_allclose(km.transform(X), expected, rtol=0, atol=1e-12)


def test_sparse_zero_row_is_refused_by_index():
    import scipy.sparse as sp

    X = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]]))
    with pytest.raises(InputError, match=r"row 1 is all zeros"):
        KMeans(2, metric="cosine").fit(X)


def test_by_hand_two_directions():
    # Rows along two directions with different lengths: the unit rows are (1,0),(1,0),(0,1),(0,1).
    X = np.array([[3.0, 0.0], [0.5, 0.0], [0.0, 7.0], [0.0, 0.1]])
    km = KMeans(2, init=np.array([[2.0, 0.1], [0.1, 2.0]]), metric="cosine").fit(X)
    assert km.labels_.tolist() == [0, 0, 1, 1]
    assert km.cluster_centers_.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert km.inertia_ == 0.0
    # A point at 45 degrees: cos = 1/sqrt(2) to both; ties go to the lowest index.
    assert km.predict(np.array([[5.0, 5.0]])).tolist() == [0]
    np.testing.assert_allclose(km.transform(np.array([[5.0, 5.0], [-2.0, 0.0]])), [[1 - 0.5**0.5] * 2, [2.0, 1.0]])
    assert km.score(np.array([[5.0, 5.0]])) == pytest.approx(-(1 - 0.5**0.5), abs=1e-15)


def test_euclidean_kmeans_on_normalised_rows_is_not_spherical():
    # Three unit rows: Euclidean means of unit rows drift inside the ball; spherical ones do not.
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    km = KMeans(1, init=np.array([[1.0, 1.0]]), metric="cosine").fit(X[:2])
    np.testing.assert_allclose(km.cluster_centers_, [[0.5**0.5, 0.5**0.5]], atol=1e-15)
    assert km.inertia_ == pytest.approx(2 * (1 - 0.5**0.5), abs=1e-15)
    plain = KMeans(1, init=np.array([[1.0, 1.0]])).fit(X[:2])
    assert plain.cluster_centers_.tolist() == [[0.5, 0.5]]


def test_zero_row_is_refused_by_index():
    X = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    with pytest.raises(InputError, match=r"X row 1 is all zeros \(2 such row"):
        KMeans(2, metric="cosine").fit(X)
    km = KMeans(1, metric="cosine").fit(X[[0, 2]])
    with pytest.raises(InputError, match="row 0 is all zeros"):
        km.predict(np.zeros((1, 2)))
    with pytest.raises(InputError, match="row 0 is all zeros"):
        MiniBatchKMeans(1, metric="cosine").fit(X[[1, 0]])


def test_bad_metric_and_zeros_policy():
    X = np.eye(3)
    with pytest.raises(InputError, match="metric='manhattan' is not valid"):
        KMeans(2, metric="manhattan").fit(X)
    with pytest.raises(InputError, match="empty='zeros' is not valid with metric='cosine'"):
        KMeans(2, metric="cosine", empty="zeros").fit(X)


def test_relocated_empty_cluster_gets_a_unit_centre():
    # Centre 2 starts where no row is nearest to it: it is relocated to the farthest row.
    X = np.array([[1.0, 0.05], [1.0, -0.05], [0.05, 1.0], [-0.05, 1.0], [0.7, 0.75]]) * [
        [3.0],
        [1.0],
        [2.0],
        [5.0],
        [9.0],
    ]
    init = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    km = KMeans(3, init=init, metric="cosine", algorithm="lloyd").fit(X)
    np.testing.assert_allclose(np.linalg.norm(km.cluster_centers_, axis=1), 1.0, atol=1e-15)
    assert sorted(np.bincount(km.labels_, minlength=3).tolist()) == [1, 2, 2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_seedings_give_unit_centres_and_consistent_predict(dtype, rng):
    X = _blobs_on_sphere(rng, n=300, d=6, k=3).astype(dtype)
    for init in ("k-means++", "random", "gaussian", "uniform"):
        km = KMeans(3, init=init, metric="cosine", random_state=0).fit(X)
        assert km.cluster_centers_.dtype == dtype
        np.testing.assert_allclose(np.linalg.norm(km.cluster_centers_, axis=1), 1.0, atol=1e-5)
        np.testing.assert_array_equal(km.predict(X), km.labels_)
        D = km.transform(X)
        assert D.shape == (300, 3) and D.min() >= 0.0 and D.max() <= 2.0
        assert float(D[np.arange(300), km.labels_].sum()) == pytest.approx(km.inertia_, rel=1e-4)
        assert -km.score(X) == pytest.approx(km.inertia_, rel=1e-5)


def test_cosine_ignores_row_length(rng):
    X = _blobs_on_sphere(rng, n=200, d=5, k=3)
    a = KMeans(3, metric="cosine", random_state=3).fit(X)
    b = KMeans(3, metric="cosine", random_state=3).fit(X * rng.uniform(0.01, 100, size=(200, 1)))
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, atol=1e-12)


def test_minibatch_cosine(rng):
    X = _blobs_on_sphere(rng, n=2000, d=8, k=4, spread=0.3)
    mb = MiniBatchKMeans(4, metric="cosine", batch_size=256, random_state=0).fit(X)
    np.testing.assert_allclose(np.linalg.norm(mb.cluster_centers_, axis=1), 1.0, atol=1e-12)
    exact = KMeans(4, metric="cosine", random_state=0, n_init=3).fit(X)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    inertia = float(np.sum(1.0 - np.max(U @ mb.cluster_centers_.T, axis=1)))
    assert mb.inertia_ == pytest.approx(inertia, rel=1e-10)
    assert mb.inertia_ <= 1.05 * exact.inertia_
    part = MiniBatchKMeans(4, metric="cosine", random_state=0)
    for batch in np.array_split(X, 8):
        part.partial_fit(batch)
    np.testing.assert_allclose(np.linalg.norm(part.cluster_centers_, axis=1), 1.0, atol=1e-12)


def test_matches_faiss_spherical():
    faiss = pytest.importorskip("faiss")
    rng = np.random.default_rng(7)
    X = _blobs_on_sphere(rng, n=800, d=16, k=6).astype(np.float32)
    init = X[rng.choice(len(X), 6, replace=False)]
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    fk = faiss.Kmeans(16, 6, niter=50, spherical=True, seed=1, max_points_per_centroid=10**6)
    fk.train(
        np.ascontiguousarray(U), init_centroids=np.ascontiguousarray(init / np.linalg.norm(init, axis=1, keepdims=True))
    )
    _, faiss_labels = fk.index.search(np.ascontiguousarray(U), 1)
    km = KMeans(6, init=init, metric="cosine", algorithm="lloyd", tol=0.0, max_iter=50).fit(X)
    np.testing.assert_array_equal(km.labels_, faiss_labels.ravel())
    np.testing.assert_allclose(km.cluster_centers_, fk.centroids, atol=1e-5)


# --------------------------------------------------------------------------- model files and the CLI


def test_model_file_records_the_metric_and_predict_uses_it(tmp_path, rng):
    from kmeanslab import load
    from kmeanslab.io.model_file import read_model_file, write_model_file

    X = _blobs_on_sphere(rng, n=300, d=5, k=3)
    km = KMeans(3, metric="cosine", random_state=0).fit(X)
    km.save(tmp_path / "m.npz")
    assert read_model_file(tmp_path / "m.npz").metric == "cosine"
    loaded = load(tmp_path / "m.npz")
    assert loaded.metric == "cosine"
    np.testing.assert_array_equal(loaded.predict(X * 7.0), km.labels_)
    np.testing.assert_array_equal(loaded.transform(X), km.transform(X))
    # A file written before the metric existed: no "metric" parameter, read as Euclidean.
    record = read_model_file(tmp_path / "m.npz")
    params = {k: v for k, v in record.params.items() if k != "metric"}
    write_model_file(tmp_path / "old.npz", "KMeans", params, record.attributes)
    assert read_model_file(tmp_path / "old.npz").metric == "euclidean"
    old = load(tmp_path / "old.npz")
    assert old.metric == "euclidean"
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    far = np.full((1, 5), 100.0)  # Euclidean and cosine disagree on a long row
    d2 = ((far[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1)
    assert old.predict(far).tolist() == [int(np.argmin(d2))]
    assert loaded.predict(far).tolist() == [int(np.argmax(far @ km.cluster_centers_.T))]
    assert loaded.predict(U).tolist() == km.labels_.tolist()


def test_cli_fit_and_predict_with_cosine(tmp_path, capsys, rng):
    import json

    from kmeanslab.cli import main

    X = _blobs_on_sphere(rng, n=120, d=3, k=2)
    data = tmp_path / "d.csv"
    np.savetxt(data, X, delimiter=",", header="a,b,c", comments="")
    out = tmp_path / "m"
    assert main(["fit", str(data), "-k", "2", "--metric", "cosine", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "metric=cosine" in printed and "mean cosine distance" in printed
    summary = json.loads((out / "summary.json").read_text())
    km = KMeans(2, metric="cosine", random_state=0).fit(X)
    assert summary["metric"] == "cosine"
    assert summary["inertia"] == pytest.approx(km.inertia_, rel=1e-12)
    assert summary["mean_cosine_distance"] == pytest.approx(km.inertia_ / 120, rel=1e-12)
    assert main(["predict", str(out / "model.npz"), str(data)]) == 0
    labels = np.loadtxt(capsys.readouterr().out.splitlines()[1:], delimiter=",", dtype=int)[:, 1]
    np.testing.assert_array_equal(labels, km.labels_)
    assert main(["predict", str(out / "model.npz"), str(data), "--metric", "cosine"]) == 0
    capsys.readouterr()
    assert main(["predict", str(out / "model.npz"), str(data), "--metric", "euclidean"]) == 2
    assert "does not match the model" in capsys.readouterr().err


def test_unit_rows_are_not_copied_and_others_are(rng):
    from kmeanslab.cluster._cosine import unit_rows

    X = rng.normal(size=(50, 4))
    U = unit_rows(X)
    assert U is not X and not np.shares_memory(U, X)
    np.testing.assert_allclose(np.linalg.norm(U, axis=1), 1.0, atol=1e-15)
    assert unit_rows(np.eye(3)) is not None and np.array_equal(unit_rows(np.eye(3)), np.eye(3))
    E = np.ascontiguousarray(np.eye(4))
    assert unit_rows(E) is E


# --------------------------------------------------------------------------- the Debian corpus

PACKAGES = """Package: alpha
Version: 1
Section: games
Description: a space shooter game
 with many levels
 .
 and a boss

Package: beta
Section: contrib/games
Description: puzzle game

Package: gamma
Section: libs
Description: shared library for parsing

Package: delta
Section: libs
Description: compression library

Package: epsilon
Description: no section here

Package: zeta
Section: doc
Description: manual
"""


def test_parse_packages_and_loader_on_a_small_index(tmp_path):
    from kmeanslab.datasets import load_debian_descriptions
    from kmeanslab.datasets.debian import parse_packages

    parsed = parse_packages(PACKAGES)
    assert parsed["alpha"] == ("games", "a space shooter game with many levels and a boss")
    assert parsed["beta"] == ("games", "puzzle game")
    assert "epsilon" not in parsed and len(parsed) == 5
    path = tmp_path / "x_Packages"
    path.write_text(PACKAGES, encoding="utf-8")
    corpus = load_debian_descriptions(tmp_path, min_section_size=2)
    assert corpus.target_names == ["games", "libs"]
    assert corpus.texts == [
        "a space shooter game with many levels and a boss",
        "puzzle game",
        "compression library",
        "shared library for parsing",
    ]
    assert corpus.target.tolist() == [0, 0, 1, 1]
    texts, y = load_debian_descriptions(path, min_section_size=1, n_samples=3, seed=0)
    assert len(texts) == 3 and set(y.tolist()) <= {0, 1, 2}
    with pytest.raises(InputError, match="min_section_size=3 keeps no section"):
        load_debian_descriptions(path, min_section_size=3)


def test_loader_without_apt_lists_says_so(tmp_path):
    from kmeanslab.datasets import load_debian_descriptions
    from kmeanslab.errors import DatasetNotFoundError

    with pytest.raises(DatasetNotFoundError, match="no Debian package lists"):
        load_debian_descriptions(tmp_path)


def test_nmi_benchmark_on_a_subset():
    from kmeanslab.datasets.debian import APT_LISTS
    from kmeanslab.errors import DatasetNotFoundError

    cosine_nmi = pytest.importorskip("benchmarks.cosine_nmi")
    try:
        result = cosine_nmi.run(docs=1500, features=300, seeds=2, min_section=2000)
    except DatasetNotFoundError as exc:
        pytest.skip(f"no Debian package lists in {APT_LISTS}: {exc}")
    assert 1400 <= result["documents"] <= 1500 and result["features"] == 300
    assert result["k"] >= 2
    for metric in ("cosine", "euclidean"):
        r = result[metric]
        assert len(r["nmi"]) == 2 and all(0.0 < v < 1.0 for v in r["nmi"])
        assert r["nmi_mean"] == pytest.approx(sum(r["nmi"]) / 2)


def test_integer_weights_are_repetitions(rng):
    X = _blobs_on_sphere(rng, n=120, d=4, k=3)
    w = rng.integers(1, 4, size=120)
    init = X[[0, 50, 100]]
    weighted = KMeans(3, init=init, metric="cosine", algorithm="elkan").fit(X, sample_weight=w)
    repeated = KMeans(3, init=init, metric="cosine", algorithm="lloyd").fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, atol=1e-12)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-12)
    np.testing.assert_array_equal(np.repeat(weighted.labels_, w), repeated.labels_)


def test_verbose_lines_report_the_cosine_loss(capsys):
    # Unit rows (1,0), (0,1) in one cluster: the centre is (1,1)/sqrt(2), each cos is 1/sqrt(2),
    # so the loss is 1 - 1/sqrt(2) per row (not 2 - sqrt(2), the squared distance) and the inertia twice that.
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    km = KMeans(1, init=np.array([[1.0, 1.0]]), metric="cosine", verbose=1).fit(X)
    out = capsys.readouterr().out
    per_row = 1 - 0.5**0.5
    assert f"loss {per_row:.10g}" in out
    assert f"inertia {2 * per_row:.10g}" in out
    assert km.inertia_ == pytest.approx(2 * per_row, abs=1e-15)
