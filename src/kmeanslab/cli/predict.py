"""``kmeanslab predict``: assign new data to the clusters of a saved model."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from ..cluster import load
from ..errors import InputError
from ..io import OutputTarget, resolve_output, write_csv
from ..io.model_file import read_model_file
from ._common import add_data_arguments, add_metric_argument, console, console_err, describe_sizes, load_data
from ._labels import add_label_arguments, labels_csv, labels_frame, write_labels
from ._scaling import scaling_from_model


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "predict",
        parents=[common],
        help="assign DATA to the clusters of a saved MODEL",
        description="Assign each row of DATA to the nearest centre of MODEL (a model.npz written by "
        "'kmeanslab fit --out' or KMeans.save), rescaled first as the model's data were ('fit --scale'). "
        "The labels are CSV: an id column (the row number, or --id-column), then the label; to stdout "
        "without --out.",
    )
    p.add_argument("model", metavar="MODEL", help="model file (.npz)")
    add_data_arguments(p)
    p.add_argument("--out", metavar="FILE", help="write the labels here as CSV (e.g. labels.csv)")
    add_label_arguments(p)
    add_metric_argument(p, default=None)
    p.set_defaults(handler=run_predict)


def _check_out(path: str) -> OutputTarget:
    """Where ``--out`` writes (see :func:`kmeanslab.io.resolve_output`), or an error before any work."""
    if path == "":
        raise InputError("--out '' is not valid; expected a file name such as labels.csv")
    out = Path(path)
    parent = out.parent if str(out.parent) else Path(".")
    try:
        if out.is_dir():
            raise InputError(f"--out {path!r} is a directory; expected a file name such as labels.csv")
        if parent.exists() and not parent.is_dir():
            raise InputError(
                f"--out {path!r}: {str(parent)!r} is a file, not a directory; "
                f"expected a file name in an existing directory"
            )
        if not parent.is_dir():
            raise InputError(f"--out {path!r}: the directory {str(parent)!r} does not exist")
    except OSError as exc:  # a name too long, a loop of symlinks
        raise InputError(f"--out {path!r} cannot be used: {exc.strerror or exc}") from None
    target = resolve_output(path)
    if target.kind == "file" and not os.access(target.path.parent, os.W_OK | os.X_OK):
        raise InputError(f"--out {path!r}: the directory {str(parent)!r} is not writable; choose another")
    return target


def run_predict(args: argparse.Namespace) -> int:

    # Everything that can fail on bad input is checked before anything is written.
    target = _check_out(args.out) if args.out is not None else None
    model = load(args.model)
    record = read_model_file(args.model)
    # The model's metric decides; a --metric that says otherwise is a mistake, not an override.
    if args.kmeans_metric is not None and args.kmeans_metric != record.metric:
        raise InputError(
            f"--metric {args.kmeans_metric} does not match the model {args.model}, fitted with metric "
            f"{record.metric}; expected --metric {record.metric} or no --metric (predict uses the model's)"
        )
    scaling = scaling_from_model(record.preprocessing, model.n_features_in_, args.model)
    X, _, source = load_data(args)
    if X.shape[1] != model.n_features_in_:
        raise InputError(
            f"{source}: X has {X.shape[1]} features, but KMeans is expecting {model.n_features_in_} "
            f"features as input (the model {args.model} was fitted on {model.n_features_in_} columns); "
            f"choose the columns with --columns"
        )
    rows = labels_frame(args, X.shape[0])
    labels = model.predict(scaling.apply(X))
    if target is None:
        sys.stdout.write(labels_csv(rows, labels))
        return 0
    write_labels(args.out, rows, labels, write_csv)
    sizes = describe_sizes(np.bincount(labels, minlength=model.n_clusters), f"from the labels in {args.out}")
    # When the labels went to stdout, the lines about them go to stderr, out of the data's way.
    report = console_err if target.kind == "descriptor" and target.fd == 1 else console
    scaled = "" if scaling.kind == "none" else f", features {scaling.describe()} as in fitting"
    if record.metric != "euclidean":
        scaled += f", metric={record.metric}"
    report.print(
        f"kmeanslab predict: {source} ({X.shape[0]} x {X.shape[1]}) with {args.model} (k={model.n_clusters}{scaled})"
    )
    report.print(f"  cluster sizes  {sizes}")
    report.print(f"wrote {args.out}")
    return 0
