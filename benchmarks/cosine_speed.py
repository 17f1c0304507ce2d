"""Cosine (spherical) k-means against Euclidean k-means on X of the same shape: fit time.

Run it as ``python -m benchmarks.cosine_speed`` (``--rows 5000`` for a shorter run). X is
``--rows`` x ``--dims`` float32 (the shape of sentence embeddings, 384 by default): Gaussian
clusters around random directions, each row scaled by a random length, so the cosine fit pays
for normalising its rows. Both fits start from the same centres (``k`` rows of X), run exactly
``--iters`` iterations (``tol=0``; a strict convergence ends one early) with each algorithm, in
alternation (:func:`benchmarks.timing.alternate`), ``--repeats`` rounds; the table gives the
median time per fit, per iteration, and the ratio cosine / Euclidean (target: at most 1.2).
The machine may be shared with other work: the medians and the ratio are the figures to read.
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np

from kmeanslab import KMeans

from .timing import alternate, median

__all__ = ["embeddings", "run", "main"]


def embeddings(n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    """n x d float32 rows: k Gaussian clusters around random directions, random row lengths."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(k, d))
    # Overlapping clusters (centres 0.2 apart per coordinate against unit noise): the fits run
    # all their iterations rather than converging early, so both do the same number.
    X = 0.2 * directions[rng.integers(0, k, n)] + rng.normal(size=(n, d))
    return (X * rng.uniform(0.5, 5.0, size=(n, 1))).astype(np.float32)


def run(rows: int = 50_000, dims: int = 384, k: int = 50, iters: int = 15, repeats: int = 5, algorithms=None) -> dict:
    X = embeddings(rows, dims, k)
    init = X[np.random.default_rng(1).choice(rows, k, replace=False)]
    algorithms = algorithms or ("lloyd", "hamerly", "elkan")
    result = {"rows": rows, "dims": dims, "k": k, "iters": iters, "repeats": repeats, "cells": []}
    for algorithm in algorithms:

        def fit(metric, algorithm=algorithm):
            return lambda: KMeans(
                k, init=init, n_init=1, max_iter=iters, tol=0.0, algorithm=algorithm, metric=metric
            ).fit(X)

        for metric in ("euclidean", "cosine"):  # compile the kernels (on this X: "auto" picks by shape) untimed
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                KMeans(k, init=init, n_init=1, max_iter=2, algorithm=algorithm, metric=metric).fit(X)
        runs = alternate({"euclidean": fit("euclidean"), "cosine": fit("cosine")}, repeats, keep="all")
        cell = {"algorithm": algorithm}
        for metric, timed in runs.items():
            seconds = [r.seconds for r in timed]
            n_iter = timed[-1].result.n_iter_
            cell[metric] = {
                "seconds": seconds,
                "median_s": median(seconds),
                "n_iter": int(n_iter),
                "per_iter_ms": 1000.0 * median(seconds) / n_iter,
                "algorithm_": timed[-1].result.algorithm_,
            }
        cell["ratio_fit"] = cell["cosine"]["median_s"] / cell["euclidean"]["median_s"]
        cell["ratio_per_iter"] = cell["cosine"]["per_iter_ms"] / cell["euclidean"]["per_iter_ms"]
        result["cells"].append(cell)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("-k", type=int, default=50)
    parser.add_argument("--iters", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--algorithms", default="lloyd,hamerly,elkan", help="comma-separated (default: lloyd,hamerly,elkan)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = run(args.rows, args.dims, args.k, args.iters, args.repeats, args.algorithms.split(","))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"X {result['rows']} x {result['dims']} float32, k = {result['k']}, {result['iters']} iterations, ")
    print(f"median of {result['repeats']} alternated rounds")
    print("algorithm   euclidean s (it)   cosine s (it)   cosine/euclidean fit   per iteration")
    for cell in result["cells"]:
        e, c = cell["euclidean"], cell["cosine"]
        print(
            f"{cell['algorithm']:10s}  {e['median_s']:8.3f} ({e['n_iter']:3d})    {c['median_s']:8.3f} ({c['n_iter']:3d})"
            f"   {cell['ratio_fit']:8.3f}               {cell['ratio_per_iter']:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
