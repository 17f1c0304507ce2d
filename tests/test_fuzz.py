"""Fuzzing the parsers: random bytes and mutated valid files give a result or a documented error.

"Documented error" means a :class:`kmeanslab.errors.KMeansLabError` (whose subclasses the CLI
turns into one line and exit code 2). Any other exception, or a case that runs longer than its
time bound, fails the test.
"""

from __future__ import annotations

import gzip
import signal
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _datafiles import base64_record, idx_bytes
from kmeanslab import KMeans
from kmeanslab.cluster import load
from kmeanslab.datasets import load_mnist_json, load_mnist_pickle, read_idx
from kmeanslab.errors import KMeansLabError
from kmeanslab.io import read_table

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
CASE_SECONDS = 10


@contextmanager
def time_bound(seconds: int = CASE_SECONDS):
    """Fail a case that hangs: SIGALRM interrupts it after ``seconds``."""

    def on_alarm(signum, frame):
        raise TimeoutError(f"parser did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _parse(parser, path: Path):
    with time_bound(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return parser(path)
        except KMeansLabError as exc:
            assert str(exc), "an error must say what is wrong"
            assert "\n" not in str(exc).strip(), "errors are one line"
            return exc


@st.composite
def mutations(draw, valid: bytes):
    """``valid`` with a few random edits: flips, cuts, insertions, duplicated slices."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "duplicate"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        elif op == "duplicate":
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 32))]
    return bytes(data)


def _valid_csv() -> bytes:
    return b"a,b,label\n1.5,2,x\n3,4.25,y\n-1,0,z\n"


def _valid_idx() -> bytes:
    return idx_bytes(np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))


def _valid_jsonl() -> bytes:
    pixels = bytes(range(256)) * 3 + bytes(16)
    return (base64_record(3, pixels) + "\n" + base64_record(7, pixels[::-1]) + "\n").encode()


def _valid_model(tmp: Path) -> bytes:
    X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0]])
    path = tmp / "valid.npz"
    KMeans(2, random_state=0).fit(X).save(path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _write(scratch: Path, name: str, data: bytes) -> Path:
    path = scratch / name
    path.write_bytes(data)
    return path


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_as_csv(scratch, data):
    result = _parse(read_table, _write(scratch, "f.csv", data))
    if not isinstance(result, Exception):
        X, names = result
        assert X.ndim == 2 and X.shape[1] == len(names) and X.dtype.kind == "f"


@FUZZ
@given(mutations(_valid_csv()))
def test_mutated_csv(scratch, data):
    result = _parse(read_table, _write(scratch, "m.csv", data))
    if not isinstance(result, Exception):
        assert result[0].ndim == 2


@FUZZ
@given(st.one_of(st.binary(max_size=512), mutations(_valid_idx())), st.booleans())
def test_idx_and_gzip(scratch, data, compress):
    name = "f-idx3-ubyte.gz" if compress else "f-idx3-ubyte"
    payload = gzip.compress(data) if compress else data
    result = _parse(read_idx, _write(scratch, name, payload))
    if not isinstance(result, Exception):
        assert result.ndim >= 1


@FUZZ
@given(mutations(gzip.compress(_valid_idx())))
def test_mutated_gzip_stream(scratch, data):
    result = _parse(read_idx, _write(scratch, "g-idx3-ubyte.gz", data))
    if not isinstance(result, Exception):
        assert result.shape == (2, 3, 4)


@FUZZ
@given(st.one_of(st.binary(max_size=1024), mutations(_valid_jsonl())))
def test_base64_json_lines(scratch, data):
    result = _parse(load_mnist_json, _write(scratch, "digits.base64.json", data))
    if not isinstance(result, Exception):
        assert result.data.shape[1] == 784 and result.target.shape == (result.data.shape[0],)


@FUZZ
@given(st.binary(max_size=1024))
def test_random_bytes_as_pickle(scratch, data):
    result = _parse(lambda p: load_mnist_pickle(p, "train"), _write(scratch, "mnist.pkl.gz", gzip.compress(data)))
    assert isinstance(result, Exception) or result.data.ndim == 2


def _valid_npy(order: str = "C") -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(np.arange(12.0).reshape(4, 3), order=order))
    return buffer.getvalue()


def _valid_npz() -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, X=np.arange(12.0).reshape(4, 3))
    return buffer.getvalue()


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=512).map(lambda junk: b"\x93NUMPY" + junk),  # the magic, then anything
        mutations(_valid_npy()),
        mutations(_valid_npy("F")),
    ),
    st.booleans(),
)
def test_npy_headers(scratch, data, mmap):
    result = _parse(lambda p: read_table(p, mmap=mmap), _write(scratch, "f.npy", data))
    if not isinstance(result, Exception):
        X, names = result
        assert X.ndim == 2 and X.shape[1] == len(names)


@FUZZ
@given(st.one_of(st.binary(max_size=1024), mutations(_valid_npz())))
def test_npz_archives(scratch, data):
    result = _parse(read_table, _write(scratch, "f.npz", data))
    if not isinstance(result, Exception):
        assert result[0].ndim == 2


def test_model_file_mutations(scratch):
    valid = _valid_model(scratch)

    @FUZZ
    @given(st.one_of(st.binary(max_size=1024), mutations(valid)))
    def check(data):
        result = _parse(load, _write(scratch, "model.npz", data))
        if not isinstance(result, Exception):
            assert result.cluster_centers_.shape == (2, 2)

    check()


def test_time_bound_catches_a_hang():
    """The bound itself works: a parser that never returns is reported, not waited for."""
    import time

    with pytest.raises(TimeoutError):
        with time_bound(1):
            time.sleep(5)
