"""``kmeanslab data``: which datasets are here (``list``), what one holds (``show``), getting MNIST (``fetch``)."""

from __future__ import annotations

import argparse
import os

import numpy as np

from .. import datasets
from ..datasets import DATA_ENV, MNIST_FILES, fetch_mnist, get_data_home, list_datasets
from ..datasets._paths import data_home_origin, elsewhere_hint
from ..errors import InputError
from ._common import console


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "data",
        parents=[common],
        help="list, show and fetch datasets",
        description="List the datasets kmeanslab knows and where they are; fetch MNIST. Datasets are "
        "looked for in the data home: --data-home DIR, else $KMEANSLAB_DATA, else the user cache directory.",
    )
    actions = p.add_subparsers(dest="data_action", metavar="ACTION")
    actions.required = True
    home_help = (
        "data directory, looked in as DIR/mnist and DIR (default: $KMEANSLAB_DATA, else the user cache directory)"
    )

    listing = actions.add_parser(
        "list",
        parents=[common],
        help="show each dataset, whether it is here, and where",
        description="Show each dataset, whether it is available locally, and where.",
    )
    listing.add_argument("--data-home", metavar="DIR", help=home_help)
    listing.set_defaults(handler=run_list)

    show = actions.add_parser(
        "show",
        parents=[common],
        help="read a dataset or dataset file and summarise it",
        description="Read SOURCE in full (which checks it) and print its shape, value range and "
        "label counts. SOURCE is faithful, digits, mnist, or a file: mnist.pkl(.gz), base64 JSON "
        "lines (.json/.jsonl), or an IDX images file (its labels file beside it is read too).",
    )
    show.add_argument("source", metavar="SOURCE", help="faithful, digits, mnist, or a dataset file")
    show.add_argument(
        "--split",
        choices=["train", "valid", "test"],
        help="mnist: train or test (default: train); a .pkl file: train, valid or test",
    )
    show.add_argument("--data-home", metavar="DIR", help=home_help)
    show.set_defaults(handler=run_show)

    fetch = actions.add_parser(
        "fetch",
        parents=[common],
        help="download a dataset and verify its checksums",
        description="Download the MNIST IDX files into DIR/mnist, verify each MD5 against the "
        "published one, and keep only verified files. Files already there and verified are skipped.",
    )
    fetch.add_argument("dataset", choices=["mnist"], help="the dataset to fetch")
    fetch.add_argument("--data-home", metavar="DIR", help=home_help)
    fetch.add_argument(
        "--mirror",
        metavar="URL",
        action="append",
        help="base URL holding the files (repeatable; default: $KMEANSLAB_MNIST_MIRROR, else the public mirrors)",
    )
    fetch.add_argument(
        "--split",
        choices=["train", "test", "all"],
        default="all",
        help="fetch only this split's two files (default: all four)",
    )
    fetch.set_defaults(handler=run_fetch)


def run_list(args: argparse.Namespace) -> int:

    rows = list_datasets(args.data_home)
    home = get_data_home(args.data_home)
    console.print(f"data home: {home}")
    width = max(len(r.name) for r in rows)
    for r in rows:
        state = "available" if r.available else "missing  "
        console.print(f"  {r.name:<{width}}  {state}  {r.location}  ({r.note})")
    console.print(f"The data home is {data_home_origin(args.data_home)}.")
    console.print(f"MNIST's files are looked for in {home / 'mnist'}, then in {home}.")
    if args.data_home is None and os.environ.get(DATA_ENV, "").strip():
        # Set by the environment: changing it is the way elsewhere (and what data fetch uses).
        console.print(f"To look elsewhere, set {DATA_ENV} to another directory.")
    else:
        console.print(elsewhere_hint()[0].upper() + elsewhere_hint()[1:] + ".")
    return 0


NAMED = ("faithful", "digits", "mnist")


def _load_source(args: argparse.Namespace):

    if args.source not in NAMED:
        return datasets.load_dataset_file(args.source, split=args.split)
    if args.source == "mnist":
        if args.split == "valid":
            raise InputError("--split valid: MNIST's IDX files have only train and test splits")
        return datasets.load_mnist(args.split or "train", data_home=args.data_home)
    if args.split is not None:
        raise InputError(f"--split applies to mnist and .pkl files, not to {args.source}")
    return datasets.load_faithful() if args.source == "faithful" else datasets.load_digits()


def run_show(args: argparse.Namespace) -> int:
    ds = _load_source(args)
    X = ds.data
    console.print(f"{ds.name}: {X.shape[0]} x {X.shape[1]} {X.dtype}, values {X.min():.6g} to {X.max():.6g}")
    if ds.description:
        console.print(f"  {ds.description}")
    if ds.images is not None:
        console.print(f"  images {' x '.join(map(str, ds.images.shape[1:]))}")
    if ds.target is not None:
        counts = np.bincount(ds.target)
        console.print("  labels " + ", ".join(f"{label}: {count}" for label, count in enumerate(counts)))
    return 0


def run_fetch(args: argparse.Namespace) -> int:

    splits = list(MNIST_FILES) if args.split == "all" else [args.split]
    files = [name for split in splits for name in MNIST_FILES[split]]
    paths = fetch_mnist(args.data_home, mirror=args.mirror, files=files)
    for path in paths:
        console.print(f"verified {path}")
    return 0
