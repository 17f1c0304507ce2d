"""kmeanslab.io: reading the user's tables in every format, and writing files atomically."""

from __future__ import annotations

import gzip
import os
import stat
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from kmeanslab.errors import DataFileError, DatasetNotFoundError, InputError, MissingExtraError, OutputError
from kmeanslab.io import atomic_write, read_table, select_columns, write_csv, write_json

# The first half of a gzipped table: the deflate stream stops before its end.
_CUT_GZ = gzip.compress(("a,b\n" + "".join(f"{i},{i * i}\n" for i in range(500))).encode())[:1000]
FAITHFUL_HEAD = np.array([[3.6, 79.0], [1.8, 54.0], [3.333, 74.0]])


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def _read_quietly(path, columns=None):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # these files must not need a warning
        return read_table(path, columns)


# --------------------------------------------------------------------------- CSV and friends


def test_real_faithful_csv(data_dir):
    from kmeanslab.datasets import load_faithful

    X, names = _read_quietly(data_dir / "faithful.csv")
    assert names == ["eruptions", "waiting"]
    np.testing.assert_array_equal(X, load_faithful().data)


@pytest.mark.parametrize(
    "name, text, names",
    [
        ("h.csv", "eruptions,waiting\n3.6,79\n1.8,54\n3.333,74\n", ["eruptions", "waiting"]),
        ("n.csv", "3.6,79\n1.8,54\n3.333,74\n", ["x0", "x1"]),
        ("t.tsv", "a\tb\n3.6\t79\n1.8\t54\n3.333\t74\n", ["a", "b"]),
        ("s.txt", "3.6;79\n1.8;54\n3.333;74\n", ["x0", "x1"]),
        ("spaces.dat", "  3.6   79\n  1.8   54\n3.333   74\n", ["x0", "x1"]),
        ("crlf.csv", "a, b\r\n3.6, 79\r\n\r\n1.8, 54\r\n3.333, 74\r\n", ["a", "b"]),
        ("quoted.csv", '"a","b"\n"3.6","79"\n1.8,54\n3.333,74\n', ["a", "b"]),
    ],
)
def test_delimited_variants(tmp_path, name, text, names):
    X, got = _read_quietly(_write(tmp_path, name, text))
    assert got == names
    np.testing.assert_array_equal(X, FAITHFUL_HEAD)


def test_utf8_bom_header(tmp_path):
    path = _write(tmp_path, "bom.csv", b"\xef\xbb\xbferuptions,waiting\n3.6,79\n1.8,54\n3.333,74\n")
    X, names = _read_quietly(path)
    assert names == ["eruptions", "waiting"]  # no "\ufeff" glued to the first name
    np.testing.assert_array_equal(X, FAITHFUL_HEAD)


def test_latin1_with_semicolons_and_decimal_commas(tmp_path):
    text = "durée;température;lieu\n3,6;79;Genève\n1,8;54;Zürich\n3,333;74;Bâle\n"
    path = _write(tmp_path, "latin1.csv", text.encode("latin-1"))
    with pytest.warns(UserWarning, match=r"latin1.csv: dropped non-numeric column\(s\) \['lieu'\]"):
        X, names = read_table(path)
    assert names == ["durée", "température"]
    np.testing.assert_array_equal(X, FAITHFUL_HEAD)


def test_latin1_byte_that_is_a_line_break_for_splitlines(tmp_path):
    # 0x85 is "…" in Windows files; decoded as latin-1 it is U+0085, which must not end a line.
    path = _write(tmp_path, "nel.csv", b"a\x85,b\n3.6,79\n1.8,54\n3.333,74\n")
    X, names = _read_quietly(path)
    assert names == ["a\x85", "b"]
    np.testing.assert_array_equal(X, FAITHFUL_HEAD)


def test_utf16_with_bom(tmp_path):
    path = _write(tmp_path, "u16.csv", "a,b\n3.6,79\n1.8,54\n3.333,74\n".encode("utf-16"))
    X, names = _read_quietly(path)
    assert names == ["a", "b"]
    np.testing.assert_array_equal(X, FAITHFUL_HEAD)


def test_gzipped_csv(tmp_path):
    path = _write(tmp_path, "x.csv.gz", gzip.compress(b"a,b\n3.6,79\n1.8,54\n3.333,74\n"))
    X, _ = _read_quietly(path)
    np.testing.assert_array_equal(X, FAITHFUL_HEAD)


def test_non_numeric_columns_dropped_with_a_warning(tmp_path):
    path = _write(tmp_path, "iris.csv", "id,species,x,colour,y\n1,setosa,3.6,red,79\n2,virginica,1.8,blue,54\n")
    with pytest.warns(UserWarning) as record:
        X, names = read_table(path)
    assert len(record) == 1
    assert str(record[0].message) == (
        "iris.csv: dropped non-numeric column(s) ['species', 'colour']; choose columns with --columns"
    )
    assert names == ["id", "x", "y"]
    np.testing.assert_array_equal(X, [[1, 3.6, 79], [2, 1.8, 54]])


@pytest.mark.parametrize(
    "columns, names, first",
    [
        (["y", "x"], ["y", "x"], [79, 3.6]),
        (["2"], ["x"], [3.6]),
        ([4, "id"], ["y", "id"], [79, 1]),
        (["-1"], ["y"], [79]),
    ],
)
def test_columns_by_name_or_position(tmp_path, columns, names, first):
    path = _write(tmp_path, "iris.csv", "id,species,x,colour,y\n1,setosa,3.6,red,79\n2,virginica,1.8,blue,54\n")
    X, got = _read_quietly(path, columns)
    assert got == names
    np.testing.assert_array_equal(X[0], first)


@pytest.mark.parametrize(
    "columns, error, message",
    [
        (["species"], DataFileError, r"iris.csv: column\(s\) \['species'\] are not numeric"),
        (["nope"], InputError, r"--columns: 'nope' is not a column of iris.csv; it has \['id', 'species', 'x'\]"),
        (["7"], InputError, r"--columns: position 7 is out of range for iris.csv \(3 columns\)"),
        ([], InputError, "--columns is empty"),
    ],
)
def test_bad_columns(tmp_path, columns, error, message):
    path = _write(tmp_path, "iris.csv", "id,species,x\n1,setosa,3.6\n2,virginica,1.8\n")
    with pytest.raises(error, match=message):
        read_table(path, columns)


def test_select_columns_on_an_array():
    X = np.arange(12.0).reshape(4, 3)
    Y, names = select_columns(X, ["a", "b", "c"], ["c", "0"], Path("x.npy"))
    assert names == ["c", "a"]
    np.testing.assert_array_equal(Y, X[:, [2, 0]])
    assert select_columns(X, ["a", "b", "c"], None, Path("x.npy"))[0] is X


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.csv", b"", "empty.csv: the file is empty; expected a header and/or rows of numbers"),
        ("blank.csv", b"\n  \n\n", "blank.csv: the file is empty"),
        ("header.csv", b"a,b\n", "header.csv: has a header but no rows; expected at least one sample"),
        (
            "ragged.csv",
            b"a,b\n1,2\n\n3,4,5\n6,7\n",
            "ragged.csv: line 4 has 3 fields but line 1 has 2; expected the same number of columns on every line",
        ),
        ("short.csv", b"1,2,3\n4,5\n", "short.csv: line 2 has 2 fields but line 1 has 3"),
        (
            "hole.csv",
            b"a,b\n1,2\n3,\n5,6\n",
            "hole.csv: line 3 has no number in column 'b'; expected a value in every cell",
        ),
        ("words.csv", b"a,b\nx,y\nz,w\n", "words.csv: has no numeric column (columns: ['a', 'b']); expected numbers"),
        ("binary.csv", b"\x00\x01\x02abc", "binary.csv: looks like a binary file"),
        ("cut.csv.gz", _CUT_GZ, "cut.csv.gz: truncated or corrupt gzip data"),
    ],
)
def test_bad_text_tables(tmp_path, name, content, message):
    path = _write(tmp_path, name, content)
    with pytest.raises(DataFileError) as info:
        read_table(path)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_missing_and_directory(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="nope.csv' does not exist"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataFileError, match="is a directory"):
        read_table(tmp_path)


# --------------------------------------------------------------------------- NumPy files


def test_npy_is_memory_mapped(tmp_path):
    X = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    got, names = read_table(tmp_path / "x.npy")
    assert isinstance(got, np.memmap) and got.dtype == np.float32
    assert names == ["x0", "x1", "x2"]
    np.testing.assert_array_equal(got, X)
    loaded, _ = read_table(tmp_path / "x.npy", mmap=False)
    assert not isinstance(loaded, np.memmap)
    sub, sub_names = read_table(tmp_path / "x.npy", ["x2", "0"])
    assert sub_names == ["x2", "x0"]
    np.testing.assert_array_equal(sub, X[:, [2, 0]])


def test_npy_one_column_and_bad_arrays(tmp_path):
    np.save(tmp_path / "v.npy", np.arange(5.0))
    X, names = read_table(tmp_path / "v.npy")
    assert X.shape == (5, 1) and names == ["x0"]
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataFileError, match="obj.npy: holds object values; expected a numeric array"):
        read_table(tmp_path / "obj.npy")
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    with pytest.raises(DataFileError, match=r"cube.npy: holds an array of shape \(2, 2, 2\); expected 2-D"):
        read_table(tmp_path / "cube.npy")
    np.save(tmp_path / "none.npy", np.zeros((0, 3)))
    with pytest.raises(DataFileError, match="none.npy: holds no rows"):
        read_table(tmp_path / "none.npy")
    np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
    with pytest.raises(DataFileError, match="text.npy: holds <U1 values; expected a numeric array"):
        read_table(tmp_path / "text.npy")
    np.savez(tmp_path / "archive.npy", X=np.zeros((2, 2)))
    (tmp_path / "archive.npy.npz").rename(tmp_path / "archive.npy")
    with pytest.raises(DataFileError, match="archive.npy: is an .npz archive, not an .npy array; rename it to .npz"):
        read_table(tmp_path / "archive.npy")
    (tmp_path / "cut.npy").write_bytes((tmp_path / "v.npy").read_bytes()[:-8])
    with pytest.raises(DataFileError, match=r"cut.npy: is truncated \(160 bytes; its header promises 168\)"):
        read_table(tmp_path / "cut.npy")


def test_npz_choice_of_array(tmp_path):
    X = np.arange(6.0).reshape(3, 2)
    np.savez(tmp_path / "one.npz", anything=X)
    np.savez(tmp_path / "named.npz", y=np.arange(3), X=X)
    np.savez(tmp_path / "data.npz", data=X, target=np.arange(3))
    np.savez(tmp_path / "two.npz", a=X, b=X)
    for name in ("one", "named", "data"):
        np.testing.assert_array_equal(read_table(tmp_path / f"{name}.npz")[0], X)
    with pytest.raises(DataFileError, match=r"two.npz: holds arrays \['a', 'b'\]; expected one array"):
        read_table(tmp_path / "two.npz")
    (tmp_path / "cut.npz").write_bytes((tmp_path / "one.npz").read_bytes()[:50])
    with pytest.raises(DataFileError, match="cut.npz: not a readable .npz file"):
        read_table(tmp_path / "cut.npz")


# --------------------------------------------------------------------------- Parquet


def test_parquet_round_trip_drops_text_columns(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"eruptions": [3.6, 1.8, 3.333], "name": ["a", "b", "c"], "waiting": [79, 54, 74]})
    frame.to_parquet(tmp_path / "f.parquet")
    with pytest.warns(UserWarning, match=r"f.parquet: dropped non-numeric column\(s\) \['name'\]"):
        X, names = read_table(tmp_path / "f.parquet")
    assert names == ["eruptions", "waiting"]
    np.testing.assert_array_equal(X, FAITHFUL_HEAD)
    X, names = _read_quietly(tmp_path / "f.parquet", ["waiting"])
    np.testing.assert_array_equal(X[:, 0], [79, 54, 74])
    (tmp_path / "bad.pq").write_bytes(b"PAR1 not really")
    with pytest.raises(DataFileError, match="bad.pq: not a readable Parquet file"):
        read_table(tmp_path / "bad.pq")


def test_parquet_without_pyarrow_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "f.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # makes the import fail
    with pytest.raises(MissingExtraError, match=r"pip install 'kmeanslab\[parquet\]'"):
        read_table(tmp_path / "f.parquet")


# --------------------------------------------------------------------------- writing


def test_atomic_write_keeps_the_old_file_on_error(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as handle:
            handle.write("half of the new")
            raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_write_csv_and_json_round_trip(tmp_path):
    X = np.array([[0.1, 1e-300], [2.5, -3.0]])
    write_csv(tmp_path / "x.csv", X, header=["a", "b"])
    back, names = read_table(tmp_path / "x.csv")
    assert names == ["a", "b"]
    np.testing.assert_array_equal(back, X)  # %.17g round-trips every double
    write_json(tmp_path / "s.json", {"x": np.float32(1.5), "a": np.arange(2), "p": tmp_path})
    assert (tmp_path / "s.json").read_text() == (
        '{\n  "x": 1.5,\n  "a": [\n    0,\n    1\n  ],\n  "p": "' + str(tmp_path) + '"\n}\n'
    )


@pytest.fixture
def umask():
    """Set the process umask for one test, and put the old one back."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077, 0o002], ids=lambda m: f"umask{m:03o}")
def test_new_files_get_the_umask_mode_not_mkstemps_0600(tmp_path, umask, mask):
    umask(mask)
    write_csv(tmp_path / "x.csv", np.eye(2))
    write_json(tmp_path / "s.json", {"a": 1})
    with atomic_write(tmp_path / "b.bin", "wb") as handle:
        handle.write(b"\0")
    with open(tmp_path / "plain.txt", "w") as handle:  # what a plain open gives, for reference
        handle.write("x")
    expected = 0o666 & ~mask
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == expected
    for name in ("x.csv", "s.json", "b.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664], ids=lambda m: f"mode{m:03o}")
def test_replacing_a_file_keeps_its_mode(tmp_path, umask, mode):
    umask(0o022)
    path = tmp_path / "out.txt"
    path.write_text("old")
    path.chmod(mode)
    with atomic_write(path) as handle:
        handle.write("new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_atomic_write_keeps_the_old_file_on_keyboard_interrupt(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path, "wb") as handle:
            handle.write(b"half of the new")
            handle.flush()
            raise KeyboardInterrupt
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_atomic_write_into_a_missing_directory_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match=r"cannot write '.*missing/x.txt': No such file or directory"):
        with atomic_write(tmp_path / "missing" / "x.txt") as handle:
            handle.write("never")
    assert list(tmp_path.iterdir()) == []


def test_umask_is_read_and_kept_without_proc(tmp_path, umask, monkeypatch):
    """Where /proc is missing the umask is read by setting it, and put back."""
    import kmeanslab.io.outputs as kio

    def no_proc(*args, **kwargs):
        raise OSError("no /proc here")

    monkeypatch.setattr(kio, "open", no_proc, raising=False)
    umask(0o027)
    write_json(tmp_path / "s.json", [1])
    assert stat.S_IMODE((tmp_path / "s.json").stat().st_mode) == 0o640
    assert os.umask(0o027) == 0o027  # unchanged by the call
