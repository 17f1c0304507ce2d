"""``kmeanslab predict``: assign new data to the clusters of a saved model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..cluster import load
from ..errors import InputError
from ..io import write_csv
from ._common import add_data_arguments, console, load_data


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "predict",
        parents=[common],
        help="assign DATA to the clusters of a saved MODEL",
        description="Assign each row of DATA to the nearest centre of MODEL (a model.npz written by "
        "'kmeanslab fit --out' or KMeans.save). Without --out the labels go to stdout as CSV.",
    )
    p.add_argument("model", metavar="MODEL", help="model file (.npz)")
    add_data_arguments(p)
    p.add_argument("--out", metavar="FILE", help="write the labels here as CSV (e.g. labels.csv)")
    p.set_defaults(handler=run_predict)


def _check_out(path: str) -> Path:
    import os

    out = Path(path)
    if out.is_dir():
        raise InputError(f"--out {path!r} is a directory; expected a file name such as labels.csv")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise InputError(
            f"--out {path!r}: {str(parent)!r} is a file, not a directory; expected a file name in an existing directory"
        )
    if not parent.is_dir():
        raise InputError(f"--out {path!r}: the directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"--out {path!r}: the directory {str(parent)!r} is not writable; choose another")
    return out


def run_predict(args: argparse.Namespace) -> int:

    # Everything that can fail on bad input is checked before anything is written.
    out = _check_out(args.out) if args.out else None
    model = load(args.model)
    X, _, source = load_data(args)
    if X.shape[1] != model.n_features_in_:
        raise InputError(
            f"{source}: X has {X.shape[1]} features, but KMeans is expecting {model.n_features_in_} "
            f"features as input (the model {args.model} was fitted on {model.n_features_in_} columns); "
            f"choose the columns with --columns"
        )
    labels = model.predict(X)
    if out is None:
        sys.stdout.write("label\n")
        np.savetxt(sys.stdout, labels, fmt="%d")
        return 0
    write_csv(out, labels, header=["label"])
    sizes = np.bincount(labels, minlength=model.n_clusters).tolist()
    console.print(f"kmeanslab predict: {source} ({X.shape[0]} x {X.shape[1]}) with {args.model} (k={model.n_clusters})")
    console.print(f"  cluster sizes  {sizes}")
    console.print(f"wrote {out}")
    return 0
