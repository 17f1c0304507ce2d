"""``kmeanslab bench``: the speed benchmark against scikit-learn (see :mod:`kmeanslab.bench`)."""

from __future__ import annotations

import argparse


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "bench",
        parents=[common],
        help="time kmeanslab against scikit-learn on MNIST-60k-shift",
        description="Run kmeanslab and scikit-learn (and faiss-cpu when installed) alternately from "
        "the same initial centres on MNIST-60k-shift and print the tables of benchmarks/RESULTS.md: "
        "time per full Lloyd iteration, time to convergence, k-means++ seeding, peak memory at "
        "n=10^6, d=32, k=1000, and scaling in n. A full run takes about half an hour; --quick "
        "takes under a minute.",
    )
    from ..bench import build_parser

    build_parser(p)
    p.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    from ..bench import run_from_args

    return run_from_args(args)
