"""k-means on Dask: same answer as in one process, survives a killed worker, lazy predict and
transform, k-means‖, the CLI's --scheduler, and the optional extra.

One LocalCluster (2 worker processes, loopback only) serves the whole module: starting one
costs seconds on a 2-core machine.
"""

from __future__ import annotations

import os
import signal
import sys

import numpy as np
import pytest
from sklearn.datasets import make_blobs

import kmeanslab.scale._choose
from kmeanslab import InputError, KMeans, MissingExtraError, scale
from kmeanslab.scale import LocalBlocks

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

BLOBS = make_blobs(4000, n_features=6, centers=7, cluster_std=2.5, random_state=0)[0]
CHUNK = 450  # 9 blocks


def _start(X, k, seed=1):
    return X[np.random.default_rng(seed).choice(len(X), k, replace=False)].copy()


def _assert_same_fit(dask_model, ref, rtol=1e-9):
    assert dask_model.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(np.asarray(dask_model.labels_), ref.labels_)
    np.testing.assert_allclose(dask_model.cluster_centers_, ref.cluster_centers_, rtol=rtol, atol=1e-12)
    assert dask_model.inertia_ == pytest.approx(ref.inertia_, rel=rtol)
    np.testing.assert_allclose(dask_model.loss_history_, ref.loss_history_, rtol=rtol)


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_fit_equals_the_in_process_fit(client):
    start = _start(BLOBS, 7, seed=6)
    ref = KMeans(7, init=start, algorithm="lloyd").fit(BLOBS)
    X = da.from_array(BLOBS, chunks=(CHUNK, 6))
    assert X.numblocks[0] >= 8
    model = KMeans(7, init=start).fit(X)
    assert isinstance(model.labels_, da.Array) and isinstance(model.cluster_centers_, np.ndarray)
    _assert_same_fit(model, ref)
    assert ref.n_iter_ > 5


def test_a_dask_fit_saves_and_loads(client, tmp_path):
    """Its lazy labels_ are computed into the model file; the loaded model predicts the same."""
    import kmeanslab

    model = KMeans(7, init=_start(BLOBS, 7, seed=6)).fit(da.from_array(BLOBS, chunks=(CHUNK, 6)))
    loaded = kmeanslab.load(model.save(tmp_path / "model.npz"))
    np.testing.assert_array_equal(loaded.labels_, np.asarray(model.labels_))
    np.testing.assert_array_equal(loaded.predict(BLOBS), np.asarray(model.labels_))
    assert loaded.inertia_ == model.inertia_


def test_weighted_fit_with_dask_weights_and_relocation(client):
    w = np.random.default_rng(2).integers(0, 3, len(BLOBS)).astype(float)
    start = _start(BLOBS, 7, seed=3)
    start[5] = 500.0  # empty at the first iteration: relocated as in one process
    ref = KMeans(7, init=start, algorithm="lloyd").fit(BLOBS, sample_weight=w)
    X = da.from_array(BLOBS, chunks=(CHUNK, 3))  # split columns are rejoined
    model = KMeans(7, init=start).fit(X, sample_weight=da.from_array(w, chunks=700))
    _assert_same_fit(model, ref)


def test_dask_and_streamed_fits_run_the_same_algorithm(client):
    """Same blocks, same seed: k-means‖ and Lloyd give the same centres on Dask and streamed."""
    X = BLOBS.astype(np.float32)
    on_dask = KMeans(7, random_state=4).fit(da.from_array(X, chunks=(CHUNK, 6)))
    streamed = KMeans(7, random_state=4).fit(LocalBlocks(X, block_rows=CHUNK))
    assert on_dask.cluster_centers_.dtype == np.float32
    np.testing.assert_allclose(on_dask.cluster_centers_, streamed.cluster_centers_, rtol=1e-5)
    assert on_dask.inertia_ <= KMeans(7, random_state=4).fit(X).inertia_ * 1.01


def test_predict_and_transform_return_dask_arrays(client):
    model = KMeans(7, random_state=0).fit(BLOBS)
    X = da.from_array(BLOBS, chunks=(CHUNK, 6))
    labels, distances = model.predict(X), model.transform(X)
    assert isinstance(labels, da.Array) and isinstance(distances, da.Array)
    assert distances.shape == (len(BLOBS), 7)
    np.testing.assert_array_equal(labels.compute(), model.predict(BLOBS))
    np.testing.assert_allclose(distances.compute(), model.transform(BLOBS), rtol=1e-12)
    with pytest.raises(InputError, match="expecting 6 features"):
        model.predict(da.ones((10, 4)))


def test_fit_survives_a_killed_worker(client):
    """SIGKILL one of the two worker processes after iteration 2 of a fit that runs > 4.

    The worker holds row blocks of X (and their norms) that every later iteration reads, so
    the fit can only go on if Dask recomputes them from X's graph on the other worker; the
    result must still equal the in-process fit exactly.
    """
    start = _start(BLOBS, 7, seed=11)
    ref = KMeans(7, init=start, algorithm="lloyd", tol=0.0).fit(BLOBS)
    pids = client.run(os.getpid)
    killed = []

    def kill_a_worker(iteration, centers, loss):
        if iteration == 2:
            address, pid = sorted(pids.items())[0]
            held = [str(key) for key in client.has_what()[address]]
            os.kill(pid, signal.SIGKILL)
            killed.append((address, sum(key.startswith("check_block-") for key in held)))

    X = da.from_array(BLOBS, chunks=(CHUNK, 6))
    model = KMeans(7, init=start, tol=0.0).fit(X, on_iteration=kill_a_worker)
    assert len(killed) == 1 and ref.n_iter_ > 4
    address, blocks_lost = killed[0]
    assert blocks_lost > 0, "the killed worker held no block of X: nothing was lost"
    _assert_same_fit(model, ref)
    client.wait_for_workers(2, timeout=120)  # the nanny restarts it for the next tests
    assert address not in client.scheduler_info()["workers"]


def test_cli_fit_on_a_scheduler(client, tmp_path, capsys):
    from kmeanslab.cli import main

    np.savetxt(tmp_path / "x.csv", BLOBS[:1000], delimiter=",")
    address = client.scheduler.address
    assert main(["fit", str(tmp_path / "x.csv"), "-k", "3", "--scheduler", address, "--out", str(tmp_path / "o")]) == 0
    labels = np.loadtxt(tmp_path / "o" / "labels.csv", delimiter=",", skiprows=1, usecols=1)
    assert labels.shape == (1000,) and set(np.unique(labels)) == {0, 1, 2}
    assert main(["fit", str(tmp_path / "x.csv"), "--scheduler", "local:x"]) == 2
    assert "expected local:N" in capsys.readouterr().err


def test_cli_fit_on_a_local_cluster(tmp_path, monkeypatch, capsys):
    """``--scheduler local:N`` starts N worker processes for the run and fits there."""
    from kmeanslab.cli import main

    seen = []
    real = kmeanslab.scale._choose.DaskBlocks

    def spy(client, X, *args, **kwargs):
        workers = scale.active_client().scheduler_info()["workers"]
        seen.append((X.numblocks[0], sorted(w.get("nthreads") for w in workers.values()), len(workers)))
        return real(client, X, *args, **kwargs)

    monkeypatch.setattr(kmeanslab.scale._choose, "DaskBlocks", spy)
    np.savetxt(tmp_path / "x.csv", BLOBS[:800], delimiter=",")
    assert (
        main(["fit", str(tmp_path / "x.csv"), "-k", "7", "--scheduler", "local:2", "--out", str(tmp_path / "o")]) == 0
    )
    assert seen == [(4, [1, 1], 2)]  # two processes of one thread, two blocks per worker
    labels = np.loadtxt(tmp_path / "o" / "labels.csv", delimiter=",", skiprows=1, usecols=1)
    assert labels.shape == (800,) and len(np.unique(labels)) == 7
    assert "cluster sizes" in capsys.readouterr().out


def test_without_a_client_the_message_says_how_to_get_one(monkeypatch):
    def no_client():
        raise ValueError("No global client found")

    monkeypatch.setattr(distributed, "get_client", no_client)
    with pytest.raises(InputError, match="needs a dask.distributed Client"):
        KMeans(3).fit(da.from_array(BLOBS, chunks=(CHUNK, 6)))


def test_missing_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'kmeanslab\[dask\]'"):
        scale.require_dask()
    assert not scale.is_dask_array(BLOBS)
