"""Sparse k-means on a real TF-IDF corpus: kmeanslab against scikit-learn, per iteration and peak memory.

Run it as ``python -m benchmarks.sparse`` (``--k 100 500``, ``--repeats 3``, ``--iters 10``).

The corpus is the Debian package descriptions of this machine's apt lists (the main
``*_Packages.lz4`` file: 63,440 packages of bookworm), read with the ``lz4cat`` executable;
text = the Description field with its continuation lines, label = Section. Its TF-IDF matrix
(scikit-learn's ``TfidfVectorizer`` with its defaults: float64 CSR, rows of unit norm) is
clustered by both libraries from the same initial centres (scikit-learn's ``kmeans_plusplus``,
seed 0), ``algorithm="lloyd"``, ``tol=0``, ``max_iter=--iters``; the time of a fit divided by
its iterations is the time per iteration. The libraries run in turn (alternating, medians of
``--repeats``) in this process; the labels of the two fits are compared.

Peak memory: each library's fit runs once more in a fresh process that has loaded X and
compiled the kernels on a small sample; the peak RSS of the fit above the RSS just before it
is compared with the target ``64 MiB + k d 8 bytes`` (X itself is already counted).

The corpus reader is this script's own (a package loader lives on another branch).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from benchmarks.timing import alternate, measure, median

__all__ = ["read_debian_descriptions", "tfidf", "run", "main"]

PACKAGES_GLOB = "/var/lib/apt/lists/*_dists_*_main_binary-*_Packages.lz4"


def read_debian_descriptions(pattern: str = PACKAGES_GLOB) -> tuple[list[str], list[str]]:
    """(texts, sections) of the packages in the largest apt Packages list matching ``pattern``.

    A field's continuation lines (starting with a space) belong to it; a stanza ends at a blank
    line. Packages without a Description are skipped; a missing Section is "unknown".
    """
    files = sorted(glob.glob(pattern), key=os.path.getsize)
    if not files:
        raise SystemExit(f"no apt Packages list matches {pattern}")
    raw = subprocess.run(["lz4cat", files[-1]], check=True, capture_output=True).stdout.decode("utf-8", "replace")
    texts, sections = [], []
    for stanza in raw.split("\n\n"):
        fields: dict[str, str] = {}
        name = None
        for line in stanza.split("\n"):
            if line.startswith((" ", "\t")) and name is not None:
                fields[name] += "\n" + line.strip()
            elif ":" in line:
                name, _, value = line.partition(":")
                fields[name] = value.strip()
        if "Description" in fields:
            texts.append(fields["Description"])
            sections.append(fields.get("Section", "unknown"))
    return texts, sections


def tfidf(texts: list[str]) -> sp.csr_matrix:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer().fit_transform(texts).tocsr()


def _fit(library: str, X, init: np.ndarray, iters: int):
    if library == "kmeanslab":
        from kmeanslab import KMeans
    else:
        from sklearn.cluster import KMeans
    model = KMeans(init.shape[0], init=init, n_init=1, max_iter=iters, tol=0.0, algorithm="lloyd")
    return model.fit(X)


def _x_bytes(X) -> int:
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def _memory_child(spec: dict) -> dict:
    """Runs in a fresh process: X loaded and kernels compiled, then one measured fit."""
    X = sp.load_npz(spec["x"]).tocsr()
    init = np.load(spec["init"])
    _fit(spec["library"], X[:200], X[: min(5, init.shape[0])].toarray(), 2)  # compile / warm up
    run = measure(lambda: _fit(spec["library"], X, init, spec["iters"]))
    return {"library": spec["library"], "extra_bytes": run.peak_bytes, "seconds": run.seconds}


def _peak_in_child(library: str, x_path: str, init_path: str, iters: int) -> dict:
    spec = json.dumps({"library": library, "x": x_path, "init": init_path, "iters": iters})
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.sparse", "--child", spec],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(ks=(100, 500), repeats: int = 3, iters: int = 10, memory: bool = True, log=print) -> list[dict]:
    from sklearn.cluster import kmeans_plusplus

    start = time.perf_counter()
    texts, sections = read_debian_descriptions()
    X = tfidf(texts)
    n, d = X.shape
    log(
        f"Debian descriptions: {n} documents, {len(set(sections))} sections; TF-IDF {n} x {d}, "
        f"{X.nnz} stored values ({_x_bytes(X) / 2**20:.1f} MiB; dense float64 would be {n * d * 8 / 2**30:.1f} GiB); "
        f"read in {time.perf_counter() - start:.1f} s"
    )
    _fit("kmeanslab", X[:200], X[:5].toarray(), 2)  # compile the kernels before timing
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        x_path = str(Path(tmp) / "x.npz")
        sp.save_npz(x_path, X, compressed=False)
        for k in ks:
            init, _ = kmeans_plusplus(X, k, random_state=0)
            init = np.ascontiguousarray(init, dtype=np.float64)
            init_path = str(Path(tmp) / f"init{k}.npy")
            np.save(init_path, init)
            runs = alternate(
                {lib: (lambda lib=lib: _fit(lib, X, init, iters)) for lib in ("kmeanslab", "sklearn")},
                repeats,
                keep="all",
            )
            per_iter = {lib: [r.seconds / r.result.n_iter_ for r in rs] for lib, rs in runs.items()}
            ours, theirs = runs["kmeanslab"][-1].result, runs["sklearn"][-1].result
            row = {
                "k": k,
                "n": n,
                "d": d,
                "nnz": int(X.nnz),
                "iterations": int(ours.n_iter_),
                "kmeanslab_s_per_iter": median(per_iter["kmeanslab"]),
                "sklearn_s_per_iter": median(per_iter["sklearn"]),
                "labels_equal": bool(np.array_equal(ours.labels_, theirs.labels_)),
                "same_n_iter": int(ours.n_iter_) == int(theirs.n_iter_),
                "x_mib": _x_bytes(X) / 2**20,
                "target_extra_mib": 64 + k * d * 8 / 2**20,
            }
            row["speedup"] = row["sklearn_s_per_iter"] / row["kmeanslab_s_per_iter"]
            if memory:
                for lib in ("kmeanslab", "sklearn"):
                    row[f"{lib}_extra_mib"] = _peak_in_child(lib, x_path, init_path, iters)["extra_bytes"] / 2**20
            log(json.dumps(row))
            rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| k | d | kmeanslab s/iter | scikit-learn s/iter | speed-up | labels equal | "
        "peak above X: kmeanslab / scikit-learn (MiB) | target 64 MiB + k d 8 (MiB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mem = f"{r['kmeanslab_extra_mib']:.0f} / {r['sklearn_extra_mib']:.0f}" if "kmeanslab_extra_mib" in r else "n/a"
        lines.append(
            f"| {r['k']} | {r['d']} | {r['kmeanslab_s_per_iter']:.4f} | {r['sklearn_s_per_iter']:.4f} | "
            f"{r['speedup']:.1f}x | {r['labels_equal']} | {mem} | {r['target_extra_mib']:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--no-memory", dest="memory", action="store_false")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_memory_child(json.loads(args.child))))
        return 0
    rows = run(args.k, args.repeats, args.iters, args.memory)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
