"""Out of core: NpyFile, the one Lloyd loop and k-means‖ over LocalBlocks, the estimator and CLI
paths, and a fit under an address-space limit smaller than its data file."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

import kmeanslab.scale._choose
import kmeanslab.scale._local
from kmeanslab import InputError, KMeans, scale
from kmeanslab.cluster import kmeans_parallel
from kmeanslab.errors import DataFileError
from kmeanslab.scale import LocalBlocks, NpyFile

BLOBS = make_blobs(3000, n_features=5, centers=6, cluster_std=2.0, random_state=3)[0]


def _start(X, k, seed=0):
    return X[np.random.default_rng(seed).choice(len(X), k, replace=False)].copy()


def _assert_same_fit(a, b, rtol=1e-9):
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_array_equal(np.asarray(a.labels_), np.asarray(b.labels_))
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=rtol, atol=1e-12)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=rtol)
    np.testing.assert_allclose(a.loss_history_, b.loss_history_, rtol=rtol)
    assert a.converged_ == b.converged_


def fit_kmeans(model, X, sample_weight=None, *, block_rows=None):
    """Fit ``model`` on X read block by block (``block_rows`` rows at a time)."""
    return model.fit(LocalBlocks(X, sample_weight, block_rows=block_rows))


class RowSliceable:
    """An h5py/zarr-style dataset: shape, dtype and row slicing; not an ndarray."""

    def __init__(self, array):
        self._array = array
        self.shape, self.dtype = array.shape, array.dtype
        self.reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return np.array(self._array[key])


# --------------------------------------------------------------------------- NpyFile


def test_npyfile_reads_rows_like_the_array(tmp_path):
    X = np.arange(60, dtype=np.float32).reshape(12, 5)
    np.save(tmp_path / "x.npy", X)
    with NpyFile(tmp_path / "x.npy") as f:
        assert f.shape == (12, 5) and f.dtype == np.float32 and len(f) == 12 and f.nbytes == X.nbytes
        np.testing.assert_array_equal(f[3:7], X[3:7])
        np.testing.assert_array_equal(f[-1], X[-1])
        np.testing.assert_array_equal(f[2:9, 1:3], X[2:9, 1:3])
        np.testing.assert_array_equal(f[::4], X[::4])
        np.testing.assert_array_equal(np.asarray(f), X)
        assert f[3:7].flags.writeable and f[3:7].flags.c_contiguous
        copy = pickle.loads(pickle.dumps(f))
        np.testing.assert_array_equal(copy[5:6], X[5:6])
        with pytest.raises(IndexError, match="out of range"):
            f[12]


def test_npyfile_one_feature_and_bad_files(tmp_path):
    np.save(tmp_path / "one.npy", np.arange(4.0))
    assert NpyFile(tmp_path / "one.npy").shape == (4, 1)
    np.save(tmp_path / "f.npy", np.asfortranarray(np.ones((4, 3))))
    with pytest.raises(DataFileError, match="Fortran order"):
        NpyFile(tmp_path / "f.npy")
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    with pytest.raises(DataFileError, match="expected a numeric array"):
        NpyFile(tmp_path / "s.npy")
    (tmp_path / "g.npy").write_bytes(b"\x93NUMPYAB" + b"junk" * 20)  # magic, then garbage
    with pytest.raises(DataFileError, match=r"g.npy: not a readable .npy file \(unknown format version 65.66"):
        NpyFile(tmp_path / "g.npy")
    np.save(tmp_path / "t.npy", np.ones((100, 4)))
    raw = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(raw[:-40])
    with pytest.raises(DataFileError, match="truncated"):
        NpyFile(tmp_path / "t.npy")


# --------------------------------------------------------------------------- exactness


@pytest.mark.parametrize(
    "stop, empty", [("shift", "relocate"), ("loss", "relocate"), ("shift", "zeros"), ("loss", "keep")]
)
def test_streamed_fit_equals_in_memory_fit_from_the_same_centres(stop, empty):
    start = _start(BLOBS, 6)
    params = dict(init=start, stop=stop, empty=empty, tol=1e-6)
    ref = KMeans(6, algorithm="lloyd", **params).fit(BLOBS)
    streamed = fit_kmeans(KMeans(6, **params), BLOBS, block_rows=280)
    _assert_same_fit(streamed, ref)
    assert ref.n_iter_ > 3


def test_streamed_weighted_fit_equals_in_memory():
    w = np.random.default_rng(1).integers(0, 4, len(BLOBS)).astype(float)
    start = _start(BLOBS, 5, seed=2)
    ref = KMeans(5, init=start, algorithm="lloyd").fit(BLOBS, sample_weight=w)
    streamed = fit_kmeans(KMeans(5, init=start), BLOBS, sample_weight=w, block_rows=333)
    _assert_same_fit(streamed, ref)


def test_streamed_relocation_of_an_empty_cluster_equals_in_memory():
    start = _start(BLOBS, 6, seed=4)
    start[2] = 1e3  # attracts no point at the first iteration
    ref = KMeans(6, init=start, algorithm="lloyd").fit(BLOBS)
    streamed = fit_kmeans(KMeans(6, init=start), BLOBS, block_rows=250)
    _assert_same_fit(streamed, ref)
    assert np.all(np.bincount(streamed.labels_, minlength=6) > 0)


def test_float32_is_computed_and_returned_in_float32():
    X = BLOBS.astype(np.float32)
    model = fit_kmeans(KMeans(6, init=_start(X, 6)), X, block_rows=500)
    assert model.cluster_centers_.dtype == np.float32
    ref = KMeans(6, init=_start(X, 6), algorithm="lloyd").fit(X)
    assert np.mean(model.labels_ == ref.labels_) > 0.999


def test_kmeans_parallel_seeding_is_good_and_reproducible():
    ref = KMeans(6, random_state=0).fit(BLOBS)
    a = fit_kmeans(KMeans(6, random_state=0), BLOBS, block_rows=400)
    b = fit_kmeans(KMeans(6, random_state=0), BLOBS, block_rows=400)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ <= ref.inertia_ * 1.01
    centres = kmeans_parallel(LocalBlocks(BLOBS, block_rows=400), 6, np.random.default_rng(5))
    assert centres.shape == (6, 5) and len(np.unique(centres, axis=0)) == 6


def test_other_inits_and_n_init():
    for init in ("random", "gaussian", "uniform"):
        model = fit_kmeans(KMeans(6, init=init, n_init=2, random_state=1), BLOBS, block_rows=700)
        assert model.inertia_ <= KMeans(6, random_state=1).fit(BLOBS).inertia_ * 1.5


def test_fewer_distinct_points_than_clusters_warns():
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0]]), 50, axis=0)
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        model = fit_kmeans(KMeans(3, random_state=0), X, block_rows=30)
    assert model.inertia_ == 0.0


# --------------------------------------------------------------------------- the estimator's dispatch


def test_small_memory_maps_and_arrays_stay_in_memory(tmp_path):
    np.save(tmp_path / "x.npy", BLOBS)
    assert not scale.is_out_of_core(np.load(tmp_path / "x.npy", mmap_mode="r"))
    assert not scale.is_out_of_core(BLOBS)
    assert scale.is_out_of_core(np.load(tmp_path / "x.npy", mmap_mode="r"), min_bytes=0)
    assert scale.is_out_of_core(RowSliceable(BLOBS), min_bytes=0)
    assert not scale.is_out_of_core(BLOBS.tolist(), min_bytes=0)


def _spy_local_blocks(monkeypatch, calls):
    """Record the type of every X that KMeans.fit chooses to stream."""
    real = kmeanslab.scale._choose.LocalBlocks
    monkeypatch.setattr(
        kmeanslab.scale._choose, "LocalBlocks", lambda X, *a, **kw: calls.append(type(X)) or real(X, *a, **kw)
    )


def test_kmeans_streams_big_array_likes(monkeypatch, tmp_path):
    monkeypatch.setattr(kmeanslab.scale._local, "STREAM_MIN_BYTES", 0)
    calls = []
    _spy_local_blocks(monkeypatch, calls)
    start = _start(BLOBS, 6)
    ref = KMeans(6, init=start, algorithm="lloyd").fit(BLOBS)
    source = RowSliceable(BLOBS)
    model = KMeans(6, init=start).fit(source)
    assert calls == [RowSliceable]
    _assert_same_fit(model, ref)
    np.testing.assert_array_equal(model.predict(source), ref.predict(BLOBS))
    np.testing.assert_allclose(model.transform(source), ref.transform(BLOBS), rtol=1e-12)
    np.save(tmp_path / "x.npy", BLOBS)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    _assert_same_fit(KMeans(6, init=start).fit(mapped), ref)
    assert calls == [RowSliceable, np.memmap]


def test_block_errors_name_the_rows(monkeypatch):
    X = BLOBS.copy()
    X[1234, 2] = np.nan
    with pytest.raises(InputError, match=r"NaN \(NaN at row 1234, column 2\).*rows 1200:1300"):
        fit_kmeans(KMeans(3), X, block_rows=100)
    # The bound on the values is the whole array's, not one block's: a value that 100 rows could
    # hold but all of X cannot is refused, at its absolute row.
    from kmeanslab.validation import value_bound

    whole, block = value_bound(np.float64, X.shape[1], len(X)), value_bound(np.float64, X.shape[1], 100)
    assert whole < block
    X = BLOBS.copy()
    X[1234, 2] = (whole + block) / 2
    with pytest.raises(InputError, match=r"row 1234, column 2.*rows 1200:1300"):
        fit_kmeans(KMeans(3), X, block_rows=100)
    with pytest.raises(InputError, match="2-D"):
        fit_kmeans(KMeans(3), np.ones(5))
    with pytest.raises(InputError, match="block_rows"):
        fit_kmeans(KMeans(3), BLOBS, block_rows=0)
    model = KMeans(3, random_state=0).fit(BLOBS)
    monkeypatch.setattr(kmeanslab.scale._local, "STREAM_MIN_BYTES", 0)
    with pytest.raises(InputError, match="expecting 5 features"):
        model.predict(RowSliceable(np.ones((4, 3))))


def test_iter_blocks_feeds_partial_fit():
    from kmeanslab import MiniBatchKMeans

    source = RowSliceable(BLOBS)
    blocks = list(scale.iter_blocks(source, block_rows=512))
    assert [len(b) for b in blocks] == [512] * 5 + [440]
    model = MiniBatchKMeans(6, random_state=0)
    for block in blocks:
        model.partial_fit(block)
    assert model.score(BLOBS) >= -1.05 * KMeans(6, random_state=0).fit(BLOBS).inertia_


def test_cli_streams_npy_input(monkeypatch, tmp_path, capsys):
    import kmeanslab.cli.fit
    from kmeanslab.cli import main

    monkeypatch.setattr(kmeanslab.scale._local, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(kmeanslab.cli.fit, "STREAM_MIN_BYTES", 0)
    calls = []
    _spy_local_blocks(monkeypatch, calls)
    np.save(tmp_path / "x.npy", BLOBS)
    assert main(["fit", str(tmp_path / "x.npy"), "-k", "6", "--out", str(tmp_path / "out")]) == 0
    assert calls == [NpyFile]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["n_samples"] == len(BLOBS) and sum(summary["cluster_sizes"]) == len(BLOBS)
    assert "3000 x 5" in capsys.readouterr().out


# --------------------------------------------------------------------------- under a memory limit

_CHILD = textwrap.dedent(
    """
    import json, os, resource, sys
    import numpy as np

    def status(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024

    path, headroom, n_real = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    from kmeanslab import KMeans
    from kmeanslab.cli import main
    from kmeanslab.scale import LocalBlocks, NpyFile

    d = 256
    rng = np.random.default_rng(0)
    # Warm up on a small file: the same code path loads the compiled kernels and starts the
    # thread pools, so the limit below measures what the fit itself needs.
    np.save(path + ".warm.npy", rng.standard_normal((4000, d), dtype=np.float32))
    with NpyFile(path + ".warm.npy") as warm:
        KMeans(4, max_iter=2, random_state=0).fit(LocalBlocks(warm, block_rows=1000))
    main(["fit", path + ".warm.npy", "-k", "2", "--max-iter", "2"])
    base = status("VmSize")
    limit = base + headroom
    # The data file: 2 GiB, and larger than the whole limit. Three blobs of real rows; the other
    # rows are a hole in a sparse file (zeros to the reader: a fourth cluster that costs no disk).
    n = max(2**31, limit + 2**28) // (4 * d)
    centres = np.zeros((3, d), np.float32)
    centres[np.arange(3), np.arange(3)] = 40.0  # far apart next to the noise (|n|² ~ 256)
    noise = rng.standard_normal((n_real, d), dtype=np.float32)
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (n, d)})
        offset = f.tell()
        for j in range(3):
            f.seek(offset + (j * (n // 3)) * 4 * d)
            f.write((noise + centres[j]).tobytes())
        f.truncate(offset + n * 4 * d)
    del noise
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # What a fit that loaded or mapped the whole array would do, tried under the same limit.
    def fails(load):
        try:
            load()
        except (MemoryError, OSError, ValueError):
            return True
        return False

    print("RESULT", json.dumps({
        "limit": limit, "base": base, "file": os.path.getsize(path), "n": n,
        "mappable": not fails(lambda: np.load(path, mmap_mode="r")),
        "loadable": not fails(lambda: np.load(path)),
        "readable_whole": not fails(lambda: np.asarray(NpyFile(path))),
    }), flush=True)
    code = main(["fit", path, "-k", "4", "--max-iter", "3", "--seed", "0"])
    print("RESULT", json.dumps({"code": code, "vm_peak": status("VmPeak")}), flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the address space from /proc (Linux)")
def test_fit_on_a_file_larger_than_the_address_space_limit(tmp_path):
    """The fit may grow the process by 256 MiB; the 2 GiB file is bigger than the whole limit.

    Python, NumPy, numba and scikit-learn take ~0.9 GiB of address space before any data, so
    the limit is set at that baseline plus the headroom (in the child, after a warm-up): about
    1.1 GiB here. Under it, mapping, loading or reading the whole file fails (checked in the
    child), so the CLI's fit can only succeed by reading it block by block.
    """
    pytest.importorskip("resource")
    path = tmp_path / "big.npy"
    n_real = 40_000
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(256 * 2**20), str(n_real)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    results = [json.loads(line.split(" ", 1)[1]) for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert proc.returncode == 0 and len(results) == 2, proc.stdout[-2000:] + proc.stderr[-3000:]
    setup, fit = results
    path.unlink()
    assert setup["file"] >= 2**31 and setup["file"] > setup["limit"], (
        "the file must not fit in the address space allowed"
    )
    assert not setup["mappable"], "the limit should forbid memory-mapping the whole file"
    assert not setup["loadable"] and not setup["readable_whole"], "the limit should forbid loading the whole file"
    assert fit["code"] == 0
    assert fit["vm_peak"] <= setup["limit"]
    sizes_line = [line for line in proc.stdout.splitlines() if "cluster sizes" in line][-1]
    sizes = sorted(json.loads(sizes_line.split("cluster sizes", 1)[1].strip()))
    assert sizes == sorted([n_real] * 3 + [setup["n"] - 3 * n_real])
