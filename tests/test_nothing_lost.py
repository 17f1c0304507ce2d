"""Issue 15, round two: nothing bad in, nothing lost.

One section per class of defect the outside adversarial run found, each test run through every
command it applies to: writes never replace anything but a regular file of the user's; every
read is bounded; values that would overflow are refused and no output holds NaN or Infinity;
every error the input causes is exit 2 with one line naming the file; signals are a flag; the
messages name the file and its row; valid input is read; and the weaknesses it listed.

Bad input through the CLI: exit code 2, nothing on stdout, one line on stderr that starts with
``kmeanslab: error:``, no traceback, and ``--out`` as it was.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kmeanslab
from _datafiles import fake_mnist
from kmeanslab import KMeans, MiniBatchKMeans, k_means
from kmeanslab.cli import main
from kmeanslab.errors import InputError, OutputError
from kmeanslab.io import read_table, resolve_output, staged_output_dir, write_json
from kmeanslab.validation import check_data, check_sample_weight, value_bound

FAITHFUL = Path(kmeanslab.__file__).parent / "data" / "faithful.csv"
F32, F64 = float(np.finfo(np.float32).max), float(np.finfo(np.float64).max)
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
# The console script, run by this interpreter.
CLI = [sys.executable, "-c", "from kmeanslab.cli import run; run()"]


# --------------------------------------------------------------------------- helpers


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr); argparse's usage errors read as their code."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _fails_cleanly(capsys, argv: list[str], fragments=()) -> str:
    code, out, err = _run(capsys, argv)
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kmeanslab: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def _listing(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@contextlib.contextmanager
def _deadline(seconds: float):
    """Fail (instead of hanging the suite) if the block runs longer than ``seconds``."""

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _strict_json(text: str):
    """``json.loads`` that refuses the NaN/Infinity tokens Python writes but JSON does not have."""

    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def model_file(tmp_path) -> Path:
    """A model fitted on Old Faithful (2 features)."""
    X, _ = read_table(FAITHFUL)
    return KMeans(2, random_state=0).fit(X).save(tmp_path / "model.npz")


@pytest.fixture
def labelled_csv(tmp_path) -> Path:
    """Two features and a label column ``y`` (two well separated groups)."""
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (30, 2)), rng.normal(10, 1, (30, 2))])
    y = np.repeat([0, 1], 30)
    path = tmp_path / "labelled.csv"
    lines = ["a,b,y"] + [f"{a:.6f},{b:.6f},{c}" for (a, b), c in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _command_argv(command: str, data: str, out: str | None, model: Path, scratch: Path) -> list[str]:
    """Each command that reads a data table, with fast settings; ``out`` is None or a path."""
    argv = {
        "fit": ["fit", data, "-k", "2"],
        "predict": ["predict", str(model), data],
        "elbow": ["elbow", data, "--k", "1:3", "--runs", "1"],
        "compare-inits": ["compare-inits", data, "-k", "2", "--seeds", "1", "--inits", "random"],
        "classify": ["classify", data, "--labels", "y", "-k", "2"],
        "report": ["report", data, "-k", "2", "--ks", "1:3", "--runs", "1"],
        "text": ["text", data, "-k", "2"],
    }[command]
    if out is None and command in ("report", "text"):  # --out is required (or has a default): a new path
        out = str(scratch / "never-written")
    return argv + (["--out", out] if out is not None else [])


@pytest.fixture
def argv_for(tmp_path, model_file):
    """``argv_for(command, data, out=None)``: the command line of a command on ``data``."""

    def build(command: str, data: str | Path, out: str | Path | None = None) -> list[str]:
        return _command_argv(command, str(data), None if out is None else str(out), model_file, tmp_path)

    return build


TABLE_COMMANDS = ["fit", "predict", "elbow", "compare-inits", "classify", "report"]
DIR_COMMANDS = ["fit", "elbow", "compare-inits", "classify", "report"]
# The file each directory command writes that a test can point elsewhere, and its record file.
DIR_OUTPUT = {
    "fit": "labels.csv",
    "elbow": "elbow.csv",
    "compare-inits": "runs.csv",
    "classify": "confusion.csv",
    "report": "results.json",
}
RECORD = {
    "fit": "summary.json",
    "elbow": "results.json",
    "compare-inits": "results.json",
    "classify": "results.json",
    "report": "index.html",
}


def _table_for(command: str, labelled_csv: Path) -> str:
    return str(labelled_csv if command == "classify" else FAITHFUL)


def _with_features(path: Path, X: np.ndarray, labels: bool = True) -> Path:
    """A CSV of two feature columns a, b (and a label column y) holding ``X``."""
    lines = ["a,b,y" if labels else "a,b"]
    for i, (a, b) in enumerate(X):
        lines.append(f"{float(a)!r},{float(b)!r}" + (f",{i % 2}" if labels else ""))
    path.write_text("\n".join(lines) + "\n")
    return path


# =========================================================================== 1. writes


def test_resolve_output_says_where_each_kind_of_path_lands(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("x")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert resolve_output(tmp_path / "new.csv") == (
        "file",
        Path(os.path.realpath(tmp_path / "new.csv")),
        None,
        str(tmp_path / "new.csv"),
    )
    assert resolve_output(link).kind == "file" and resolve_output(link).path == Path(os.path.realpath(real))
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "elsewhere.csv")
    assert resolve_output(dangling).path == Path(os.path.realpath(tmp_path / "elsewhere.csv"))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert resolve_output(fifo).kind == "device"
    assert resolve_output("/dev/stdout")[:1] == ("descriptor",) and resolve_output("/dev/stdout").fd == 1
    assert resolve_output(f"/proc/{os.getpid()}/fd/2").fd == 2
    for bad, reason in ((tmp_path, "it is a directory"), ("", "the path is empty")):
        with pytest.raises(OutputError, match=reason):
            resolve_output(bad)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(OutputError, match="it is a socket"):
            resolve_output(tmp_path / "sock")
    read_only = os.open(os.devnull, os.O_RDONLY)
    try:
        with pytest.raises(OutputError, match=f"descriptor {read_only} is not open for writing"):
            resolve_output(f"/dev/fd/{read_only}")
    finally:
        os.close(read_only)


@pytest.mark.parametrize("command", ["predict", *DIR_COMMANDS])
def test_a_symlinked_output_is_written_through(tmp_path, capsys, model_file, labelled_csv, command, argv_for):
    """The symlink stays a symlink; the file it points to gets the new content."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "target"
    target.write_text("old\n")
    out = tmp_path / "run"
    out.mkdir()
    name = "labels.csv" if command == "predict" else DIR_OUTPUT[command]
    (out / name).symlink_to(target)
    out_arg = str(out / name) if command == "predict" else str(out)
    code, _, err = _run(capsys, argv_for(command, _table_for(command, labelled_csv), out_arg))
    assert code == 0, err
    assert (out / name).is_symlink() and os.readlink(out / name) == str(target)
    assert target.read_text() != "old\n"
    if name.endswith(".json"):
        _strict_json(target.read_text())
    else:
        assert target.read_text().count("\n") > 1
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def _reader(path: Path, sink: list) -> threading.Thread:
    def read():
        with open(path, "rb") as fifo:
            sink.append(fifo.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("command", ["predict", "fit"])
def test_a_fifo_output_is_written_into_not_replaced(tmp_path, capsys, model_file, command):
    fifo = tmp_path / "labels.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = _reader(fifo, received)
    if command == "predict":
        argv = ["predict", str(model_file), str(FAITHFUL), "--out", str(fifo)]
    else:
        out = tmp_path / "run"
        out.mkdir()
        (out / "labels.csv").symlink_to(fifo)
        argv = ["fit", "-k", "2", "--out", str(out)]
    with _deadline(120):
        code, _, err = _run(capsys, argv)
        reader.join(30)
    assert code == 0, err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    labels = received[0].decode().splitlines()
    assert labels[0] == "row,label" and len(labels) == 273
    assert [line.split(",")[0] for line in labels[1:]] == [str(i) for i in range(1, 273)]
    assert {line.split(",")[1] for line in labels[1:]} == {"0", "1"}


def test_dev_null_is_written_into_never_replaced(tmp_path, capsys, model_file):
    """``--out /dev/null`` discards the output and leaves /dev/null a character device.

    Safe to run against the real /dev/null: the first assertion proves that kmeanslab writes
    into it (opened for writing only) instead of renaming a file onto it; if it did not, the
    test would stop there.
    """
    if not os.path.exists("/dev/null") or not stat.S_ISCHR(os.stat("/dev/null").st_mode):
        pytest.skip("no /dev/null character device here")
    assert resolve_output("/dev/null").kind == "device"  # the proof: written through, never replaced
    before = os.stat("/dev/null")
    code, out, err = _run(capsys, ["predict", str(model_file), str(FAITHFUL), "--out", "/dev/null"])
    assert code == 0, err
    assert "wrote /dev/null" in out
    run = tmp_path / "run"
    run.mkdir()
    (run / "labels.csv").symlink_to("/dev/null")
    code, _, err = _run(capsys, ["fit", "-k", "2", "--out", str(run)])
    assert code == 0, err
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev, after.st_mode) == (before.st_ino, before.st_rdev, before.st_mode)
    assert (run / "labels.csv").is_symlink() and (run / "summary.json").is_file()


@pytest.mark.parametrize("device", ["/dev/stdout", "/dev/fd/1"])
def test_dev_stdout_receives_the_labels(tmp_path, model_file, device):
    """The labels go to stdout, as the shell set it up; the lines about them go to stderr."""
    result = subprocess.run(
        [*CLI, "predict", str(model_file), str(FAITHFUL), "--out", device],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "row,label" and len(lines) == 273
    assert [line.split(",")[0] for line in lines[1:]] == [str(i) for i in range(1, 273)]
    assert {line.split(",")[1] for line in lines[1:]} == {"0", "1"}
    assert f"wrote {device}" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not IS_ROOT, reason="only root can give a file to another user")
@pytest.mark.parametrize("command", ["predict", "fit"])
def test_a_file_of_another_user_is_not_replaced(tmp_path, capsys, model_file, command):
    out = tmp_path / "run"
    out.mkdir()
    theirs = out / ("labels.csv" if command == "predict" else "summary.json")
    theirs.write_text("theirs\n")
    os.chown(theirs, 4242, 4242)
    before = _listing(out)
    argv = (
        ["predict", str(model_file), str(FAITHFUL), "--out", str(theirs)]
        if command == "predict"
        else ["fit", "-k", "2", "--out", str(out)]
    )
    _fails_cleanly(capsys, argv, [str(theirs), "belongs to another user (uid 4242)", "replaces only files you own"])
    assert _listing(out) == before and os.stat(theirs).st_uid == 4242


def test_a_socket_or_block_device_is_refused(tmp_path, capsys, model_file):
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        _fails_cleanly(
            capsys, ["predict", str(model_file), str(FAITHFUL), "--out", str(tmp_path / "sock")], ["it is a socket"]
        )
        assert stat.S_ISSOCK(os.stat(tmp_path / "sock").st_mode)
    if IS_ROOT and hasattr(os, "mknod"):
        node = tmp_path / "block"
        os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(7, 200))  # never opened: refused by its kind
        _fails_cleanly(capsys, ["predict", str(model_file), str(FAITHFUL), "--out", str(node)], ["a block device"])
        assert stat.S_ISBLK(os.stat(node).st_mode)


# =========================================================================== 2. bounded reads

READ_COMMANDS = [*TABLE_COMMANDS, "text"]


@pytest.mark.parametrize("command", READ_COMMANDS)
def test_dev_zero_is_refused_at_once(capsys, model_file, command, argv_for):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    with _deadline(60):
        _fails_cleanly(capsys, argv_for(command, "/dev/zero", None), ["zero", "looks like a binary file"])


@pytest.fixture
def small_read_limit(monkeypatch):
    monkeypatch.setenv("KMEANSLAB_MAX_READ_BYTES", "1000000")
    return 1_000_000


def _endless_writer(fifo: Path) -> threading.Thread:
    """Write rows of numbers into ``fifo`` until its reader goes away."""

    def write():
        with contextlib.suppress(OSError), open(fifo, "wb") as handle:
            while True:
                handle.write(b"1,2\n" * 4096)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("command", ["fit", "elbow", "text"])
def test_an_endless_stream_stops_at_the_read_limit(tmp_path, capsys, small_read_limit, command, argv_for):
    fifo = tmp_path / "endless"
    os.mkfifo(fifo)
    writer = _endless_writer(fifo)
    with _deadline(60):
        _fails_cleanly(
            capsys, argv_for(command, str(fifo), None), ["endless", "more than 977 KiB", "KMEANSLAB_MAX_READ_BYTES"]
        )
    writer.join(10)
    assert not writer.is_alive()


def test_a_pipe_that_turns_binary_after_a_pause_is_refused(tmp_path, capsys):
    """The first block of a pipe is read whole before it is judged, however the writer paces it."""
    fifo = tmp_path / "slow"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "wb") as handle:
            handle.write(b"a,b\n1,2\n")
            handle.flush()
            time.sleep(0.3)
            handle.write(b"\0" * 100 + b"3,4\n")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    with _deadline(60):
        _fails_cleanly(capsys, ["fit", str(fifo)], ["slow: looks like a binary file"])
    writer.join(10)


def test_a_gzip_bomb_is_refused(tmp_path, capsys, small_read_limit):
    table = tmp_path / "bomb.csv.gz"
    table.write_bytes(gzip.compress(b"a,b\n" + b"0,0\n" * 1_000_000))  # 4 MB of text in ~10 KB
    assert table.stat().st_size < 50_000
    _fails_cleanly(capsys, ["fit", str(table)], ["bomb.csv.gz", "decompresses to more than 977 KiB"])
    images = tmp_path / "bomb-images-idx3-ubyte.gz"
    images.write_bytes(gzip.compress(bytes([0, 0, 8, 3, 0, 0, 5, 0, 0, 0, 0, 28, 0, 0, 0, 28]) + bytes(1280 * 784)))
    _fails_cleanly(capsys, ["data", "show", str(images)], ["decompresses to more than 977 KiB"])


@pytest.mark.parametrize(
    "size, reason",
    [(2 * 2**30, "the file holds 2 GiB, more than 1 GiB"), (2**29, "looks like a binary file")],
    ids=["2 GiB: over the limit", "512 MiB: NUL bytes"],
)
def test_a_big_sparse_csv_is_refused_before_it_is_read(tmp_path, capsys, size, reason):
    psutil = pytest.importorskip("psutil")
    sparse = tmp_path / "sparse.csv"
    with open(sparse, "wb") as handle:
        handle.truncate(size)  # NUL bytes that take no disk
    process = psutil.Process()
    before = process.memory_info().rss
    started = time.perf_counter()
    _fails_cleanly(capsys, ["fit", str(sparse)], ["sparse.csv", reason])
    assert time.perf_counter() - started < 10
    assert process.memory_info().rss - before < 64 * 2**20


def test_a_text_table_larger_than_the_limit_is_refused_by_its_size(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KMEANSLAB_MAX_READ_BYTES", "1000")
    table = tmp_path / "big.csv"
    table.write_text("a,b\n" + "1,2\n" * 1000)
    _fails_cleanly(capsys, ["fit", str(table)], ["big.csv: the file holds 3.91 KiB, more than 1000 bytes"])
    monkeypatch.setenv("KMEANSLAB_MAX_READ_BYTES", "lots")
    _fails_cleanly(capsys, ["fit", str(table)], ["$KMEANSLAB_MAX_READ_BYTES='lots' is not valid"])


def test_npz_and_parquet_are_bounded_by_what_they_declare(tmp_path, capsys, monkeypatch):
    X = np.zeros((1000, 2))
    np.savez_compressed(tmp_path / "zeros.npz", X=X)  # 16 KB of data in a few hundred bytes
    (tmp_path / "liar.npz").write_bytes(_npz_with_a_lying_header(X))
    monkeypatch.setenv("KMEANSLAB_MAX_READ_BYTES", "10000")
    _fails_cleanly(capsys, ["fit", str(tmp_path / "zeros.npz")], ["its array zeros.npz['X'] holds 16128 bytes"])
    monkeypatch.delenv("KMEANSLAB_MAX_READ_BYTES")
    _fails_cleanly(capsys, ["fit", str(tmp_path / "liar.npz")], ["its header promises", "the file is corrupt"])
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pd.DataFrame({"a": np.zeros(5000), "b": np.ones(5000)}).to_parquet(tmp_path / "t.parquet")
    monkeypatch.setenv("KMEANSLAB_MAX_READ_BYTES", "10000")
    _fails_cleanly(
        capsys, ["fit", str(tmp_path / "t.parquet")], ["t.parquet: its 5000 rows x 2 columns take 80000 bytes"]
    )


def _npz_with_a_lying_header(X: np.ndarray) -> bytes:
    """An .npz whose member's .npy header claims 100 times the rows the member holds."""
    import io
    import zipfile

    member = io.BytesIO()
    np.save(member, X)
    data = member.getvalue().replace(f"({X.shape[0]}, ".encode(), f"({X.shape[0] * 100}, ".encode())
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("X.npy", data)
    return archive.getvalue()


@pytest.mark.parametrize("command, option", [("elbow", "--k"), ("classify", "-k"), ("report", "--ks")])
def test_a_huge_k_range_is_refused_at_once(tmp_path, capsys, command, option):
    argv = [command, "faithful", option, "1:10000000000"] + (
        ["--out", str(tmp_path / "r")] if command == "report" else []
    )
    started = time.perf_counter()
    line = _fails_cleanly(capsys, argv, ["'1:10000000000' is not valid", "more than 1000 values of k"])
    assert time.perf_counter() - started < 5, line


# =========================================================================== 3. overflow and NaN


def test_value_bound_by_hand():
    assert value_bound(np.float64, 1, 1) == math.sqrt(F64 / 4)
    assert value_bound(np.float32, 2, 1) == math.sqrt(F32 / 8)  # the dtype binds
    assert value_bound(np.float64, 3, 1000) == math.sqrt(F64 / 1000 / 12)  # the sum over rows binds
    assert value_bound(np.float32, 3, 1e300) == math.sqrt(F64 / 1e300 / 12)
    edge = math.sqrt(F64 / 4)
    check_data(np.array([[edge]]))
    with pytest.raises(InputError, match="too large for k-means"):
        check_data(np.array([[np.nextafter(edge, np.inf)]]))


ENTRY_POINTS = {
    "KMeans.fit": lambda X: KMeans(2, random_state=0).fit(X),
    "MiniBatchKMeans.fit": lambda X: MiniBatchKMeans(2, random_state=0).fit(X),
    "KMeans.predict": lambda X: (
        KMeans(2, random_state=0).fit(np.ones((4, 2), X.dtype) * np.arange(4)[:, None]).predict(X)
    ),
    "k_means": lambda X: k_means(X, 2, rng=0),
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize(
    "dtype, value, why",
    [
        (np.float32, 1e38, "squared distances over 2 feature(s) would overflow float32"),
        (np.float32, -3e19, "squared distances over 2 feature(s) would overflow float32"),
        (np.float64, 1e200, "the sum of 20 squared distances over 2 feature(s) would overflow float64"),
    ],
)
def test_values_that_would_overflow_are_refused(entry, dtype, value, why):
    X = np.random.default_rng(0).normal(size=(20, 2)).astype(dtype)
    X[7, 1] = value
    with pytest.raises(InputError) as info:
        ENTRY_POINTS[entry](X)
    message = str(info.value)
    assert "X has a value too large for k-means" in message and "at row 7, column 1" in message, message
    assert why in message and "expected |values| <=" in message


@settings(max_examples=25, deadline=None)
@given(
    dtype=st.sampled_from([np.float32, np.float64]),
    n_features=st.integers(1, 6),
    n_samples=st.integers(8, 60),
    scale=st.floats(0.5, 1.0),
    algorithm=st.sampled_from(["lloyd", "elkan", "hamerly", "yinyang"]),
    seed=st.integers(0, 2**16),
)
def test_data_up_to_the_bound_gives_finite_results(dtype, n_features, n_samples, scale, algorithm, seed):
    """Whatever check_data accepts, the engine computes with: no NaN or infinity comes out."""
    bound = value_bound(dtype, n_features, n_samples)
    top = dtype(bound * scale)
    while float(top) > bound:
        top = np.nextafter(top, dtype(0))
    rng = np.random.default_rng(seed)
    X = (rng.uniform(-1, 1, (n_samples, n_features)) * float(top)).astype(dtype)
    X[0, 0], X[-1, -1] = top, -top
    X = np.clip(X, -top, top)
    km = KMeans(3, random_state=0, algorithm=algorithm, n_init=1).fit(X)
    assert np.isfinite(km.inertia_) and np.all(np.isfinite(km.cluster_centers_))
    assert np.all(np.isfinite(km.loss_history_)) and np.all(np.isfinite(km.transform(X)))
    mb = MiniBatchKMeans(3, random_state=0).fit(X)
    assert np.isfinite(mb.inertia_) and np.all(np.isfinite(mb.cluster_centers_))


@pytest.mark.parametrize("estimator", [KMeans, MiniBatchKMeans])
def test_weights_whose_sum_overflows_are_refused(estimator):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(InputError, match="sample_weight sums to more than float64 holds .* 1e\\+308"):
        estimator(2, random_state=0).fit(X, sample_weight=np.full(10, 1e308))


def test_weights_are_checked_against_the_data():
    X = np.full((10, 2), 1e3)
    weights = np.full(10, 1e302)
    assert check_sample_weight(weights, 10) is not None  # the sum alone is finite
    with pytest.raises(InputError, match="sample_weight sums to 1e\\+303: with values of X up to 1000 in 2 feature"):
        check_sample_weight(weights, 10, X=X)
    most = F64 / (4 * 2 * 1e6)
    assert check_sample_weight(np.full(10, most / 10 * 0.999), 10, X=X) is not None


@pytest.mark.parametrize("command", TABLE_COMMANDS)
@pytest.mark.parametrize("kind", ["float32 .npy", "float64 .csv"])
def test_overflowing_values_are_refused_by_every_command(tmp_path, capsys, model_file, command, kind, argv_for):
    X = np.random.default_rng(0).normal(size=(40, 2))
    if kind == "float32 .npy":
        X = X.astype(np.float32)
        X[5, 0] = 1e38
        path = tmp_path / "huge.npy"
        np.save(path, np.column_stack([X, np.arange(40) % 2]).astype(np.float32) if command == "classify" else X)
    else:
        X[5, 0] = 1e200
        path = _with_features(tmp_path / "huge.csv", X, labels=command == "classify")
    argv = argv_for(command, str(path), str(tmp_path / "out"))
    if command == "classify" and kind == "float32 .npy":
        argv[argv.index("y")] = "x2"
    _fails_cleanly(capsys, argv, [path.name, "has a value too large for k-means", "at row 5, column 0"])
    assert not (tmp_path / "out").exists()


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
        max_leaves=12,
    )
)
def test_json_files_never_hold_nan_or_infinity(tmp_path_factory, value):
    path = tmp_path_factory.mktemp("json") / "x.json"
    write_json(path, {"value": value, "array": np.array([np.nan, np.inf, 1.5]), "scalar": np.float32("-inf")})
    loaded = _strict_json(path.read_text())
    assert loaded["array"] == [None, None, 1.5] and loaded["scalar"] is None

    def same(a, b):
        if isinstance(a, float) and not math.isfinite(a):
            return b is None
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return a == b

    assert same(value, loaded["value"])


@pytest.mark.parametrize("command", DIR_COMMANDS)
def test_every_json_output_is_strict_json(tmp_path, capsys, labelled_csv, command, argv_for):
    out = tmp_path / "run"
    code, _, err = _run(capsys, argv_for(command, _table_for(command, labelled_csv), str(out)))
    assert code == 0, err
    files = list(out.glob("*.json"))
    assert files
    for path in files:
        _strict_json(path.read_text())


# =========================================================================== 4. the input's fault: exit 2, not 1


@pytest.fixture
def refuse_to_open(monkeypatch):
    """Every file kmeanslab opens for reading fails with EACCES (as root, chmod cannot do that)."""
    import builtins

    import kmeanslab.io.inputs

    real_open = builtins.open

    def denied(path, mode="r", *args, **kwargs):
        if "r" in mode and "b" in mode and str(path).endswith((".csv", ".npy", ".txt")):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(kmeanslab.io.inputs, "open", denied, raising=False)


@pytest.mark.parametrize("command", READ_COMMANDS)
def test_an_unreadable_file_names_the_file(tmp_path, capsys, model_file, refuse_to_open, command, argv_for):
    path = tmp_path / ("notes.txt" if command == "text" else "data.csv")
    path.write_text("a,b\n1,2\n")
    _fails_cleanly(capsys, argv_for(command, str(path), None), [str(path), "cannot be read: Permission denied"])


def test_an_unreadable_file_for_real(tmp_path_factory):
    """The same, with real permissions: as an unprivileged user when the tests run as root."""
    shared = tmp_path_factory.mktemp("eacces")
    shared.chmod(0o755)
    for parent in shared.parents:  # pytest's base directory is private to its user
        if str(parent) == tempfile.gettempdir():
            break
        parent.chmod(parent.stat().st_mode | 0o055)
    cache = shared / "numba-cache"
    cache.mkdir(mode=0o777)
    cache.chmod(0o777)
    secret = shared / "secret.csv"
    secret.write_text("a,b\n1,2\n3,4\n")
    secret.chmod(0o000)
    drop = None
    if IS_ROOT:

        def drop():
            os.setgid(65534)
            os.setuid(65534)

    try:
        result = subprocess.run(
            [*CLI, "fit", str(secret)],
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=drop,
            cwd=shared,
            env={**os.environ, "PYTHONWARNINGS": "ignore", "HOME": str(shared), "NUMBA_CACHE_DIR": str(cache)},
        )
    except PermissionError as exc:  # this interpreter lives where the unprivileged user cannot go
        pytest.skip(f"an unprivileged user cannot run {sys.executable}: {exc}")
    finally:
        secret.chmod(0o600)
    if IS_ROOT and result.returncode != 2 and "secret.csv" not in result.stderr:
        pytest.skip(f"the unprivileged user cannot run this Python here: {result.stderr.strip()[-300:]}")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"kmeanslab: error: '{secret}' cannot be read: Permission denied; expected a data file you can read"
    )


@pytest.mark.parametrize("command", ["predict", *DIR_COMMANDS])
def test_a_full_disk_names_the_file_and_prints_nothing(tmp_path, capsys, model_file, labelled_csv, command, argv_for):
    """/dev/full fails every write with ENOSPC; it is written into, never replaced (see /dev/null)."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    assert resolve_output("/dev/full").kind == "device"
    if command == "predict":
        out_arg, shown = "/dev/full", "/dev/full"
    else:
        out = tmp_path / "run"
        out.mkdir()
        (out / DIR_OUTPUT[command]).symlink_to("/dev/full")
        out_arg, shown = str(out), str(out / DIR_OUTPUT[command])
    _fails_cleanly(
        capsys,
        argv_for(command, _table_for(command, labelled_csv), out_arg),
        [f"cannot write '{shown}': No space left on device"],
    )
    if command != "predict":
        assert not (out / RECORD[command]).exists()  # never looks complete
        assert not [p for p in out.iterdir() if p.name.startswith(".")]


_FILE_TOO_LARGE = textwrap.dedent(
    """
    import resource, signal, sys
    from kmeanslab.cli import main

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (500, hard))  # for the run only (not coverage's own files)
    try:
        code = main(sys.argv[1:])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    sys.exit(code)
    """
)


@pytest.mark.parametrize("command", ["fit", "elbow"])
def test_a_file_too_large_for_the_disk_quota_names_the_file(tmp_path, command, argv_for):
    """A regular file that cannot be written whole (EFBIG, as ENOSPC would): exit 2, the old outputs kept."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    script = tmp_path / "limited.py"
    script.write_text(_FILE_TOO_LARGE)
    argv = argv_for(command, str(FAITHFUL), str(out))
    result = subprocess.run(
        [sys.executable, str(script), *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"kmeanslab: error: cannot write '{out}/"), result.stderr
    assert lines[0].endswith("': File too large")
    assert _listing(out) == {"notes.txt": b"mine\n"}


def test_a_file_name_too_long(tmp_path, capsys, model_file):
    long_name = str(tmp_path / ("x" * 300 + ".csv"))
    for argv in (
        ["fit", long_name],
        ["predict", str(model_file), long_name],
        ["elbow", long_name],
        ["data", "show", long_name.replace(".csv", ".json")],
        ["text", long_name, "--out", str(tmp_path / "t")],
    ):
        _fails_cleanly(capsys, argv, ["File name too long"])
    for argv in (
        ["fit", "--out", long_name],
        ["predict", str(model_file), str(FAITHFUL), "--out", long_name],
    ):
        _fails_cleanly(capsys, argv, ["File name too long"])


def test_a_csv_field_over_128_kib_is_read(tmp_path, capsys):
    path = tmp_path / "long.csv"
    path.write_text("note,a,b\n" + "".join(f'"{"z" * 200_000}",{i},{i % 3}\n' for i in range(6)))
    X, names = read_table(path, columns=["a", "b"])
    assert names == ["a", "b"] and X.shape == (6, 2)
    code, out, err = _run(capsys, ["fit", str(path), "-k", "2"])
    assert code == 0, err
    assert "dropped non-numeric column(s) ['note']" in err and "(6 x 2)" in out


@pytest.mark.parametrize("defect", ["size product wraps", "no images"])
@pytest.mark.parametrize("command", ["data show", "elbow", "classify"])
def test_idx_headers_that_promise_nothing(tmp_path, capsys, defect, command):
    images, labels = fake_mnist(3, seed=0)
    if defect == "size product wraps":
        # 2^32 - 1 in each of three dims: their product wraps to a small number in int64 arithmetic.
        data = bytes([0, 0, 8, 3]) + (2**32 - 1).to_bytes(4, "big") * 3 + images.tobytes()
        fragment = "4294967295 x 4294967295 x 4294967295"
    else:
        data = bytes([0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28])
        fragment = "holds 0 x 28 x 28 images; expected at least one image"
    path = tmp_path / "bad-images-idx3-ubyte"
    path.write_bytes(data)
    argv = [*command.split(), str(path)]
    _fails_cleanly(capsys, argv, [str(path), fragment])


def test_float_class_labels_are_refused(tmp_path, capsys):
    X = np.random.default_rng(0).normal(size=(20, 2))
    path = tmp_path / "floaty.csv"
    path.write_text("a,b,y\n" + "".join(f"{a},{b},{0.5 if i == 3 else i % 2}\n" for i, (a, b) in enumerate(X)))
    for command in ("classify", "compare-inits"):
        _fails_cleanly(
            capsys,
            [command, str(path), "--labels", "y", "-k", "2"],
            ["--labels 'y' of floaty.csv holds 0.5 at data row 4", "expected whole numbers"],
        )


@pytest.mark.parametrize("command", ["fit", "predict", "elbow"])
def test_columns_in_digits_that_are_not_ascii(capsys, model_file, command, argv_for):
    argv = argv_for(command, str(FAITHFUL), None) + ["--columns", "²"]
    _fails_cleanly(capsys, argv, ["--columns: '²' is not a column of faithful.csv"])


def test_scheduler_workers_in_digits_that_are_not_ascii(capsys):
    _fails_cleanly(capsys, ["fit", "--scheduler", "local:²"], ["--scheduler 'local:²' is not valid"])
    _fails_cleanly(capsys, ["fit", "--scheduler", "local:100000"], ["expected local:N with 1 <= N <="])


def test_a_closed_pipe_ends_the_run_quietly(tmp_path, model_file):
    """``kmeanslab predict ... | head -1``: exit 128 + SIGPIPE, nothing on stderr."""
    rows = tmp_path / "rows.csv"
    rows.write_text("eruptions,waiting\n" + "3.5,70\n" * 100_000)  # 200 KB of labels: more than a pipe holds
    proc = subprocess.Popen(
        [*CLI, "predict", str(model_file), str(rows)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    first = proc.stdout.readline()
    proc.stdout.close()  # what head does after its line
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=300)
    proc.stderr.close()
    assert first == b"row,label\n"
    assert code == 128 + signal.SIGPIPE, err
    assert err == ""


@pytest.mark.parametrize("command", ["fit", "predict", "elbow"])
def test_npy_magic_followed_by_garbage(tmp_path, capsys, model_file, command, argv_for):
    path = tmp_path / "junk.npy"
    path.write_bytes(b"\x93NUMPY" + b"junk that is not a header" * 4)
    _fails_cleanly(
        capsys,
        argv_for(command, str(path), None),
        ["junk.npy: not a readable .npy file (unknown format version 106.117"],
    )


# =========================================================================== 5. signals


_SWALLOWED_SIGNAL = textwrap.dedent(
    """
    import os, signal, sys
    import kmeanslab.cli.{module} as command

    real = command.{function}

    def signalled(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except BaseException as exc:
            {what}
        return real(*args, **kwargs)

    command.{function} = signalled
    from kmeanslab.cli import run
    sys.argv = ["kmeanslab", *sys.argv[1:]]
    run()
    """
)


@pytest.mark.parametrize("fate", ["swallowed", "turned into another error"])
@pytest.mark.parametrize("command", ["fit", "elbow", "predict"])
def test_a_signal_is_not_lost_in_a_callback_nor_mistaken_for_an_error(tmp_path, model_file, command, fate, argv_for):
    """A signal whose exception lands in a weakref callback (swallowed) or inside matplotlib (which
    turns it into "ValueError: Invalid affine transformation matrix") still ends the run with
    128 + SIGTERM, commits nothing, and says so."""
    module, function = {
        "fit": ("fit", "fit_summary"),
        "elbow": ("experiments", "plot_elbow"),
        "predict": ("predict", "load_data"),
    }[command]
    what = "pass" if fate == "swallowed" else 'raise ValueError("Invalid affine transformation matrix")'
    script = tmp_path / "signalled.py"
    script.write_text(_SWALLOWED_SIGNAL.format(module=module, function=function, what=what))
    out = tmp_path / ("labels.csv" if command == "predict" else "run")
    result = subprocess.run(
        [sys.executable, str(script), *argv_for(command, str(FAITHFUL), str(out))],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert result.stderr.splitlines() == ["kmeanslab: interrupted by SIGTERM"], result.stderr
    assert result.stdout == ""
    assert not out.exists() or (out.is_dir() and list(out.iterdir()) == [])


def test_a_commit_cut_short_never_looks_complete(tmp_path, monkeypatch):
    """The record file is removed first and put back last: a crash in between leaves it missing."""
    import kmeanslab.io.outputs as outputs

    out = tmp_path / "run"
    with staged_output_dir(out, last=("summary.json",)) as staged:
        for name in ("a.csv", "b.csv", "summary.json"):
            (staged / name).write_text("first\n")
    real = outputs._place
    placed = []

    def crash_on_the_second(staged_file, target, shown):
        if len(placed) == 1:
            raise KeyboardInterrupt  # SIGKILL cannot be caught; the state is the same
        placed.append(shown)
        real(staged_file, target, shown)

    monkeypatch.setattr(outputs, "_place", crash_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        with staged_output_dir(out, last=("summary.json",)) as staged:
            for name in ("a.csv", "b.csv", "summary.json"):
                (staged / name).write_text("second\n")
    assert _listing(out) == {"a.csv": b"second\n", "b.csv": b"first\n"}  # summary.json gone: incomplete


def test_two_commits_into_one_directory_take_turns(tmp_path):
    """The directory is locked while a set is moved in: another run's set waits, whole."""
    fcntl = pytest.importorskip("fcntl")
    out = tmp_path / "run"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run is committing
    done = threading.Event()

    def commit():
        with staged_output_dir(out, last=("summary.json",)) as staged:
            (staged / "labels.csv").write_text("mine\n")
            (staged / "summary.json").write_text("{}\n")
        done.set()

    thread = threading.Thread(target=commit)
    thread.start()
    try:
        assert not done.wait(1.0)
        assert not (out / "labels.csv").exists()
    finally:
        os.close(fd)  # the other run's commit is over
    thread.join(30)
    assert done.is_set() and _listing(out) == {"labels.csv": b"mine\n", "summary.json": b"{}\n"}


# =========================================================================== 6. messages


@pytest.mark.parametrize("command", TABLE_COMMANDS)
def test_a_nan_is_reported_by_file_and_row(tmp_path, capsys, model_file, command, argv_for):
    """Not "X" or "X_train", and the file's row, not the row of a shuffled split."""
    X = np.random.default_rng(0).normal(size=(50, 3))
    X[:, 2] = np.arange(50) % 2
    X[37, 1] = np.nan
    path = tmp_path / "holes.npy"
    np.save(path, X if command == "classify" else X[:, :2])
    argv = argv_for(command, str(path), str(tmp_path / "out"))
    if command == "classify":
        argv[argv.index("y")] = "x2"
    _fails_cleanly(capsys, argv, ["holes.npy contains NaN (NaN at row 37, column 1)"])


def test_a_nan_in_a_streamed_npy_is_reported_by_file_and_row(tmp_path, capsys, monkeypatch):
    import kmeanslab.cli.fit

    monkeypatch.setattr(kmeanslab.cli.fit, "STREAM_MIN_BYTES", 1)  # stream even this small file
    monkeypatch.setattr(kmeanslab.cli.fit, "_CHECK_BLOCK_BYTES", 800)  # in blocks of 50 rows
    X = np.random.default_rng(0).normal(size=(400, 2))
    X[321, 0] = np.inf
    np.save(tmp_path / "big.npy", X)
    _fails_cleanly(capsys, ["fit", str(tmp_path / "big.npy")], ["big.npy contains inf (+inf at row 321, column 0)"])
    X[321, 0] = 1e200
    np.save(tmp_path / "big.npy", X)
    _fails_cleanly(
        capsys, ["fit", str(tmp_path / "big.npy")], ["big.npy has a value too large", "at row 321, column 0"]
    )


@pytest.mark.parametrize("command", ["fit", "elbow", "compare-inits", "classify", "report", "text"])
def test_a_negative_seed_is_reported_as_seed(tmp_path, capsys, labelled_csv, command, argv_for):
    data = str(FAITHFUL if command != "text" else tmp_path / "words.txt")
    if command == "text":
        Path(data).write_text("some words\n")
    argv = argv_for(command, data if command != "classify" else str(labelled_csv), str(tmp_path / "out")) + [
        "--seed",
        "-1",
    ]
    _fails_cleanly(capsys, argv, ["--seed -1 is not valid; expected an integer >= 0"])
    assert not (tmp_path / "out").exists()


# =========================================================================== 7. valid input that was refused


@pytest.mark.parametrize("command", ["fit", "predict", "elbow"])
def test_a_fortran_order_npy_is_read(tmp_path, capsys, model_file, command, argv_for):
    X, _ = read_table(FAITHFUL)
    np.save(tmp_path / "t.npy", np.asfortranarray(X))
    assert np.load(tmp_path / "t.npy").flags.f_contiguous
    code, out, err = _run(capsys, argv_for(command, str(tmp_path / "t.npy"), None))
    assert code == 0, err
    if command == "fit":
        assert "(272 x 2)" in out and "inertia                8901.77" in out


def test_a_large_fortran_order_npy_is_read_whole_not_streamed(tmp_path, capsys, monkeypatch):
    import kmeanslab.cli.fit

    monkeypatch.setattr(kmeanslab.cli.fit, "STREAM_MIN_BYTES", 1)
    X, _ = read_table(FAITHFUL)
    np.save(tmp_path / "t.npy", np.asfortranarray(X))
    code, out, err = _run(capsys, ["fit", str(tmp_path / "t.npy"), "-k", "2"])
    assert code == 0, err
    assert "inertia                8901.77" in out


# =========================================================================== 8. weaknesses


@pytest.mark.parametrize(
    "body, expected",
    [
        ("a\tb\n1,234,567\t2\n3\t4\n", [[1234567, 2], [3, 4]]),  # two separators: thousands
        ("a\tb\n1,234.5\t2\n3\t4\n", [[1234.5, 2], [3, 4]]),  # a separator and a point: thousands
        ("a\tb\n1,234\t2\n3,6\t4\n", [[1.234, 2], [3.6, 4]]),  # 3,6 can only be a decimal comma
        ("a;b\n0,5;2\n1,25;4\n", [[0.5, 2], [1.25, 4]]),
        ('a,b\n"1,234,567",2\n3,4\n', [[1234567, 2], [3, 4]]),  # quoted in a comma-separated file
    ],
)
def test_commas_inside_numbers_are_read_as_the_file_shows(tmp_path, body, expected):
    path = tmp_path / "t.tsv"
    path.write_text(body)
    X, _ = read_table(path)
    np.testing.assert_array_equal(X, expected)


@pytest.mark.parametrize(
    "body, fragments",
    [
        ("a\tb\n1,234\t2\n5,678\t4\n", ["'1,234' (line 2, column 'a') could be a number with a decimal comma or"]),
        ("a\tb\n1,234,567\t2\n3,6\t4\n", ["a decimal comma in '3,6' (line 3", "a thousands separator in '1,234,567'"]),
    ],
)
def test_commas_that_could_mean_either_are_refused(tmp_path, capsys, body, fragments):
    path = tmp_path / "t.tsv"
    path.write_text(body)
    _fails_cleanly(capsys, ["fit", str(path), "-k", "1"], ["t.tsv: ", *fragments])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 3)), min_size=2, max_size=20))
def test_decimal_commas_round_trip(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("comma") / "t.csv"
    # One value with a comma that can only be a decimal comma (0,5) settles the file's convention.
    text = "a;b\n0,5;1\n" + "".join(f"{v:.3f}".replace(".", ",") + ";1\n" for v in values)
    path.write_text(text)
    X, _ = read_table(path)
    np.testing.assert_allclose(X[1:, 0], values, rtol=0, atol=5e-4)


@pytest.mark.parametrize("command", TABLE_COMMANDS)
def test_one_corrupt_cell_is_an_error_not_a_dropped_column(tmp_path, capsys, model_file, command, argv_for):
    X = np.random.default_rng(0).normal(size=(30, 2))
    path = _with_features(tmp_path / "corrupt.csv", X, labels=command == "classify")
    lines = path.read_text().splitlines()
    fields = lines[12].split(",")
    fields[1] = "4.2.1"
    lines[12] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    _fails_cleanly(
        capsys,
        argv_for(command, str(path), str(tmp_path / "out")),
        ["corrupt.csv: line 13 has '4.2.1' in column 'b', whose other cells are numbers"],
    )


def test_a_text_column_is_still_dropped_with_a_warning(tmp_path, capsys):
    path = tmp_path / "named.csv"
    path.write_text("name,a,b\nx,1,2\ny,3,4\n7,5,6\n")  # one name looks like a number: still names
    code, out, err = _run(capsys, ["fit", str(path), "-k", "1"])
    assert code == 0, err
    assert "dropped non-numeric column(s) ['name']" in err and "(3 x 2)" in out


@pytest.mark.parametrize("command", ["fit", "predict", "elbow", "compare-inits", "classify", "report", "demo", "text"])
def test_an_empty_out_is_refused(tmp_path, capsys, model_file, labelled_csv, command, argv_for):
    if command == "demo":
        argv = ["demo", "--out", ""]
    else:
        argv = argv_for(command, _table_for(command, labelled_csv), None)
        if "--out" in argv:
            argv = argv[: argv.index("--out")]
        argv += ["--out", ""]
    _fails_cleanly(capsys, argv, ["--out '' is not valid"])


@pytest.mark.parametrize("command", DIR_COMMANDS)
def test_a_failed_run_leaves_out_as_it_was(tmp_path, capsys, labelled_csv, command, monkeypatch, argv_for):
    """An error while the outputs are written (here: the last one cannot be written) changes nothing."""
    import kmeanslab.io.outputs as outputs

    out = tmp_path / "run"
    code, _, err = _run(capsys, argv_for(command, _table_for(command, labelled_csv), str(out)))
    assert code == 0, err
    (out / "notes.txt").write_text("mine\n")
    before = _listing(out)
    real_commit = outputs._commit

    def disk_full(staging, directory, last):
        raise OutputError(f"cannot write {str(directory / 'x')!r}: No space left on device")

    monkeypatch.setattr(outputs, "_commit", disk_full)
    _fails_cleanly(capsys, argv_for(command, _table_for(command, labelled_csv), str(out)), ["No space left on device"])
    assert _listing(out) == before
    monkeypatch.setattr(outputs, "_commit", real_commit)
