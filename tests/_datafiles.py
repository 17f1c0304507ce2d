"""Helpers the data tests share: writing small dataset files, and a loopback HTTP mirror."""

from __future__ import annotations

import base64
import contextlib
import functools
import gzip
import http.server
import json
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

IDX_TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``: magic 0x0000TTDD, big-endian dims, big-endian data."""
    array = np.asarray(array)
    header = bytes([0, 0, IDX_TYPE_CODES[array.dtype], array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write ``array`` as IDX; gzipped when the name ends in .gz (or ``compress`` says so)."""
    data = idx_bytes(array)
    if compress if compress is not None else path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def fake_mnist(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random 28x28 uint8 images and labels covering every digit."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(labels)
    return images, labels


def write_mnist_split(directory: Path, split: str, images: np.ndarray, labels: np.ndarray, gz: bool = True) -> None:
    prefix = "train" if split == "train" else "t10k"
    suffix = ".gz" if gz else ""
    directory.mkdir(parents=True, exist_ok=True)
    write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images, compress=gz)
    write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress=gz)


def write_pickle(path: Path, parts, protocol: int = 2) -> Path:
    """``parts`` pickled (gzipped when the name ends in .gz), as the notebooks' mnist.pkl.gz."""
    data = pickle.dumps(parts, protocol=protocol)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def base64_record(label: int, pixels: bytes) -> str:
    return json.dumps({"label": label, "data": base64.b64encode(pixels).decode("ascii")})


def write_json_lines(path: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    lines = [base64_record(int(y), x.astype(np.uint8).tobytes()) for x, y in zip(images, labels)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format, *args):  # keep the test output clean
        pass

    def do_GET(self):
        self.requests.append(self.path)
        super().do_GET()


@contextlib.contextmanager
def serve_directory(directory: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``directory`` over HTTP on 127.0.0.1 (a free port) from a thread.

    Yields the base URL and the list of paths requested so far; shuts the server down after.
    """
    requests: list[str] = []
    handler = functools.partial(type("Handler", (_QuietHandler,), {"requests": requests}), directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
