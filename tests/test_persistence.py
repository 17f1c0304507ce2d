"""Model files: KMeans.save / kmeanslab.load round trips, and every way a model file can be bad."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import kmeanslab
from kmeanslab import KMeans
from kmeanslab.datasets import load_faithful
from kmeanslab.errors import DatasetNotFoundError, InputError, ModelFileError
from kmeanslab.io.model_file import FORMAT_VERSION

FAITHFUL_INERTIA = 8901.7687209
FITTED = ("cluster_centers_", "labels_", "inertia_", "n_iter_", "loss_history_", "converged_", "n_features_in_")


@pytest.fixture(scope="module")
def faithful_model() -> KMeans:
    return KMeans(n_clusters=2, random_state=0).fit(load_faithful().data)


def _assert_same_model(a: KMeans, b: KMeans) -> None:
    pa, pb = a.get_params(), b.get_params()
    assert sorted(pa) == sorted(pb)
    for key, value in pa.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(pb[key], value)
        else:
            assert pb[key] == value, key
    for name in FITTED:
        got, want = getattr(b, name), getattr(a, name)
        if isinstance(want, np.ndarray):
            assert got.dtype == want.dtype, name
            np.testing.assert_array_equal(got, want, err_msg=name)
        else:
            assert got == want, name
    assert sorted(k for k in vars(a) if k.endswith("_")) == sorted(k for k in vars(b) if k.endswith("_"))


def test_round_trip_faithful(tmp_path, faithful_model):
    path = faithful_model.save(tmp_path / "model.npz")
    assert path == tmp_path / "model.npz"
    loaded = kmeanslab.load(path)
    assert type(loaded) is KMeans
    _assert_same_model(faithful_model, loaded)
    assert loaded.inertia_ == pytest.approx(FAITHFUL_INERTIA, abs=1e-6)
    X = load_faithful().data
    np.testing.assert_array_equal(loaded.predict(X), faithful_model.labels_)
    np.testing.assert_array_equal(loaded.transform(X[:10]), faithful_model.transform(X[:10]))
    assert loaded.score(X) == faithful_model.score(X)
    assert clone(loaded).get_params() == faithful_model.get_params()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # no temporary file left


def test_the_file_is_an_npz_readable_without_pickle(tmp_path, faithful_model):
    path = faithful_model.save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(str(archive["__kmeanslab__"]))
        np.testing.assert_array_equal(archive["attr.cluster_centers_"], faithful_model.cluster_centers_)
    assert meta["format"] == "kmeanslab-model" and meta["format_version"] == FORMAT_VERSION
    assert meta["params"]["n_clusters"] == 2 and meta["kmeanslab_version"] == kmeanslab.__version__
    assert meta["attributes"]["inertia_"] == faithful_model.inertia_


def test_round_trip_float32_dataframe_and_init_array(tmp_path):
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(60, 3)).astype(np.float32), columns=["a", "b", "c"])
    init = X.to_numpy()[[0, 10, 20]]
    model = KMeans(n_clusters=3, init=init).fit(X)
    loaded = kmeanslab.load(model.save(tmp_path / "model.bin"))  # the name is kept as given
    assert loaded.cluster_centers_.dtype == np.float32
    np.testing.assert_array_equal(loaded.init, init)
    assert loaded.feature_names_in_.dtype == object
    assert loaded.feature_names_in_.tolist() == ["a", "b", "c"]
    _assert_same_model(model, loaded)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same feature names: no sklearn warning
        np.testing.assert_array_equal(loaded.predict(X), model.labels_)


def test_a_generator_random_state_is_not_stored(tmp_path):
    X = load_faithful().data
    model = KMeans(n_clusters=2, random_state=np.random.default_rng(0)).fit(X)
    loaded = kmeanslab.load(model.save(tmp_path / "m.npz"))
    assert loaded.random_state is None
    np.testing.assert_array_equal(loaded.cluster_centers_, model.cluster_centers_)


def test_saving_an_unfitted_model_fails(tmp_path):
    with pytest.raises(NotFittedError):
        KMeans().save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


# --------------------------------------------------------------------------- bad model files


def _rewrite(path, meta_change=None, drop=(), extra=None):
    """Re-save a model file with its header changed or members dropped or added."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files if k not in drop}
    meta = json.loads(str(arrays["__kmeanslab__"]))
    if meta_change:
        meta_change(meta)
    arrays["__kmeanslab__"] = np.array(json.dumps(meta))
    arrays.update(extra or {})
    np.savez(path, **arrays)
    return path


@pytest.fixture
def model_file(tmp_path, faithful_model):
    return faithful_model.save(tmp_path / "model.npz")


def test_truncated_model_file(model_file):
    model_file.write_bytes(model_file.read_bytes()[:-200])
    with pytest.raises(ModelFileError, match=f"{model_file}: truncated or corrupt model file"):
        kmeanslab.load(model_file)


def test_unknown_format_version(model_file):
    _rewrite(model_file, lambda m: m.update(format_version=99))
    with pytest.raises(ModelFileError) as info:
        kmeanslab.load(model_file)
    assert str(info.value) == (
        f"{model_file}: model format version 99 was written by a newer kmeanslab "
        f"({kmeanslab.__version__}); this one reads version 1: upgrade kmeanslab"
    )
    _rewrite(model_file, lambda m: m.update(format_version="one"))
    with pytest.raises(ModelFileError, match=f"{model_file}: unknown model format version 'one'; expected 1"):
        kmeanslab.load(model_file)


def test_not_a_model(tmp_path):
    np.savez(tmp_path / "data.npz", X=np.zeros((3, 2)))
    with pytest.raises(ModelFileError, match="data.npz: an .npz archive without kmeanslab's header"):
        kmeanslab.load(tmp_path / "data.npz")
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(ModelFileError, match="a.npy: is a single .npy array"):
        kmeanslab.load(tmp_path / "a.npy")
    (tmp_path / "t.npz").write_text("eruptions,waiting\n3.6,79\n")
    with pytest.raises(ModelFileError, match=r"t.npz: not a kmeanslab model file \(not an .npz archive\)"):
        kmeanslab.load(tmp_path / "t.npz")
    np.savez(tmp_path / "obj.npz", __kmeanslab__=np.array([{"format": "kmeanslab-model"}], dtype=object))
    with pytest.raises(ModelFileError, match="obj.npz"):
        kmeanslab.load(tmp_path / "obj.npz")
    with pytest.raises(DatasetNotFoundError, match="nope.npz: no such model file"):
        kmeanslab.load(tmp_path / "nope.npz")


@pytest.mark.parametrize(
    "change, drop, extra, message",
    [
        (lambda m: m.update(format="something-else"), (), None, "the header does not say 'kmeanslab-model'"),
        (lambda m: m.update(estimator="GaussianMixture"), (), None, "holds a 'GaussianMixture'; expected a KMeans"),
        (None, ("attr.cluster_centers_",), None, "the model is incomplete"),
        (lambda m: m["params"].update(n_jobs=4), (), None, r"parameter\(s\) \['n_jobs'\] that this kmeanslab"),
        (lambda m: m["params"].update(n_clusters=3), (), None, "n_clusters=3 but there are 2 centres"),
        (lambda m: m["attributes"].update(n_features_in_=5), (), None, "n_features_in_=5 but the centres have 2"),
        (None, (), {"attr.cluster_centers_": np.full((2, 2), np.nan)}, "cluster_centers_ contains NaN or inf"),
        (None, (), {"attr.cluster_centers_": np.zeros(4)}, "cluster_centers_ is missing or not a 2-D float array"),
    ],
)
def test_inconsistent_model_files(model_file, change, drop, extra, message):
    _rewrite(model_file, change, drop, extra)
    with pytest.raises(ModelFileError, match=message) as info:
        kmeanslab.load(model_file)
    assert str(info.value).startswith(str(model_file))


def test_an_attribute_that_cannot_be_stored_without_pickle(tmp_path):
    model = KMeans(n_clusters=2, random_state=0).fit(load_faithful().data)
    model.extra_ = {1, 2}
    with pytest.raises(InputError, match="cannot save attribute 'extra_' of type set"):
        model.save(tmp_path / "m.npz")
    model.extra_ = np.array([object(), 1], dtype=object)
    with pytest.raises(InputError, match="cannot save attribute 'extra_': it holds Python objects"):
        model.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []
    model.extra_ = {"timings": [0.5, 0.25]}  # JSON can hold it: saved and restored
    assert kmeanslab.load(model.save(tmp_path / "m.npz")).extra_ == {"timings": [0.5, 0.25]}


# --------------------------------------------------------------------------- MiniBatchKMeans


MINIBATCH_FITTED = ("cluster_centers_", "labels_", "inertia_", "counts_", "n_steps_", "n_iter_", "n_features_in_")


def test_minibatch_round_trip(tmp_path):
    X = load_faithful().data
    model = kmeanslab.MiniBatchKMeans(3, batch_size=64, random_state=0).fit(X)
    loaded = kmeanslab.load(model.save(tmp_path / "mb.npz"))
    assert type(loaded) is kmeanslab.MiniBatchKMeans
    assert loaded.get_params() == model.get_params()
    for name in MINIBATCH_FITTED:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name), err_msg=name)
    np.testing.assert_array_equal(loaded.predict(X), model.labels_)
    np.testing.assert_array_equal(loaded.transform(X[:5]), model.transform(X[:5]))
    # A loaded model goes on learning: one more step from its saved centres and counts.
    steps, absorbed = loaded.n_steps_, loaded.counts_.sum()
    loaded.partial_fit(X[:40])
    assert loaded.n_steps_ == steps + 1 and loaded.counts_.sum() == pytest.approx(absorbed + 40)


def test_estimators_are_siblings():
    assert not issubclass(kmeanslab.MiniBatchKMeans, KMeans) and not issubclass(KMeans, kmeanslab.MiniBatchKMeans)
    from kmeanslab.cluster import ESTIMATORS

    assert ESTIMATORS == {"KMeans": KMeans, "MiniBatchKMeans": kmeanslab.MiniBatchKMeans}


def test_a_file_naming_another_estimator_class(model_file):
    _rewrite(model_file, lambda m: m.update(estimator="MiniBatchKMeans"))
    with pytest.raises(
        ModelFileError, match=r"parameter\(s\) \['algorithm', 'copy_x', 'empty', 'stop'\] that this kmeanslab's "
    ):
        kmeanslab.load(model_file)


# --------------------------------------------------------------------------- what save refuses


def test_save_refuses_a_model_that_would_not_load(tmp_path, faithful_model):
    model = clone(faithful_model).fit(load_faithful().data)
    model.cluster_centers_ = model.cluster_centers_.copy()
    model.cluster_centers_[1, 0] = np.inf
    with pytest.raises(InputError, match="cannot save .*m.npz: cluster_centers_ contains NaN or inf; a model file"):
        model.save(tmp_path / "m.npz")
    model.cluster_centers_ = faithful_model.cluster_centers_
    model.n_features_in_ = 3
    with pytest.raises(InputError, match="n_features_in_=3 but the centres have 2 columns"):
        model.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_a_header_that_load_would_refuse(tmp_path, faithful_model):
    from kmeanslab.io.model_file import MAX_HEADER_BYTES, MAX_HEADER_DEPTH

    model = clone(faithful_model).fit(load_faithful().data)
    nested: dict = {}
    for _ in range(MAX_HEADER_DEPTH):
        nested = {"a": nested}
    model.extra_ = nested  # 33 dicts, under the header's and its "attributes" dict: 35 levels
    with pytest.raises(InputError, match=f"nest {MAX_HEADER_DEPTH + 3} levels deep; a model file allows"):
        model.save(tmp_path / "m.npz")
    model.extra_ = "x" * (MAX_HEADER_BYTES // 4)
    with pytest.raises(InputError, match=f"a model file allows {MAX_HEADER_BYTES}"):
        model.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []
    model.extra_ = nested["a"]["a"]["a"]  # exactly the limit: saved, and loaded back
    assert kmeanslab.load(model.save(tmp_path / "m.npz")).extra_ == nested["a"]["a"]["a"]


def test_a_fit_whose_weights_overflow_is_refused_not_saved():
    """Weights of 1e308 make every weighted sum infinite: the fit refuses, so nothing is saved."""
    X = load_faithful().data
    with pytest.raises(InputError), np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        KMeans(2, random_state=0).fit(X, sample_weight=np.full(len(X), 1e308))


# --------------------------------------------------------------------------- bounded reads


def _zip_with(path, members: dict[str, tuple[bytes, int]]):
    """A ZIP archive of raw members: name -> (bytes, compression)."""
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, (data, compression) in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return path


def _npy_bytes(array) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _members_of(path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_an_oversized_compressed_member_is_refused_unread(model_file):
    """A 400 MB member compressed to 400 KB: refused from the ZIP directory, nothing decompressed."""
    import tracemalloc
    import zipfile

    members = {name: (data, zipfile.ZIP_STORED) for name, data in _members_of(model_file).items()}
    header = np.lib.format.header_data_from_array_1_0(np.zeros(0, np.int32))
    header["shape"] = (100_000_000,)
    raw = bytearray()
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    raw += buffer.getvalue() + bytes(400_000_000)
    members["attr.labels_.npy"] = (bytes(raw), zipfile.ZIP_DEFLATED)
    del raw
    _zip_with(model_file, members)
    del members
    assert model_file.stat().st_size < 2_000_000
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="member attr.labels_.npy is compressed") as info:
            kmeanslab.load(model_file)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value).startswith(str(model_file))
    assert peak < 20_000_000


def test_a_member_larger_than_its_npy_header_declares(model_file):
    import zipfile

    members = {name: (data, zipfile.ZIP_STORED) for name, data in _members_of(model_file).items()}
    centres = members["attr.cluster_centers_.npy"][0]
    members["attr.cluster_centers_.npy"] = (centres + bytes(64), zipfile.ZIP_STORED)
    _zip_with(model_file, members)
    with pytest.raises(ModelFileError, match=r"member attr.cluster_centers_.npy declares \d+ bytes .* gives it \d+"):
        kmeanslab.load(model_file)


def test_members_the_header_does_not_name_are_not_read(model_file):
    import zipfile

    members = {name: (data, zipfile.ZIP_STORED) for name, data in _members_of(model_file).items()}
    members["junk.npy"] = (b"not an npy file at all", zipfile.ZIP_DEFLATED)
    _zip_with(model_file, members)
    assert kmeanslab.load(model_file).n_clusters == 2


def _with_header_text(model_file, text: str):
    import zipfile

    members = {name: (data, zipfile.ZIP_STORED) for name, data in _members_of(model_file).items()}
    members["__kmeanslab__.npy"] = (_npy_bytes(np.array(text)), zipfile.ZIP_STORED)
    return _zip_with(model_file, members)


@pytest.mark.parametrize("depth, message", [(100_000, "nests too deeply to read"), (40, "nests 4[0-9] levels deep")])
def test_a_deeply_nested_header(model_file, depth, message):
    with np.load(model_file) as archive:
        meta = json.loads(str(archive["__kmeanslab__"]))
    text = json.dumps(meta)[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
    _with_header_text(model_file, text)
    with pytest.raises(ModelFileError, match=message) as info:
        kmeanslab.load(model_file)
    assert str(info.value).startswith(str(model_file))


def test_an_oversized_header_is_refused_unread(model_file):
    from kmeanslab.io.model_file import MAX_HEADER_BYTES

    with np.load(model_file) as archive:
        meta = json.loads(str(archive["__kmeanslab__"]))
    meta["padding"] = " " * (MAX_HEADER_BYTES // 4)
    _with_header_text(model_file, json.dumps(meta))
    with pytest.raises(ModelFileError, match=f"member __kmeanslab__.npy takes \\d+ bytes; at most {MAX_HEADER_BYTES}"):
        kmeanslab.load(model_file)


def test_the_cli_reports_a_nested_header_in_one_line(model_file, tmp_path, capsys):
    from kmeanslab.cli import main

    with np.load(model_file) as archive:
        meta = json.loads(str(archive["__kmeanslab__"]))
    _with_header_text(model_file, json.dumps(meta)[:-1] + ', "deep": ' + "[" * 50_000 + "]" * 50_000 + "}")
    np.savetxt(tmp_path / "x.csv", load_faithful().data[:5], delimiter=",")
    assert main(["predict", str(model_file), str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(model_file) in err and "nests too deeply" in err
