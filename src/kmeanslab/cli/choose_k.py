"""``kmeanslab choose-k``: every criterion for the number of clusters, and a recommendation."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..experiments import CRITERIA, choose_k, planned_fits
from ..experiments.choose_k import CRITERION_TITLES
from ..experiments.plots import plot_cluster_map, plot_criteria, plot_silhouette
from ..experiments.report import format_mean_std
from ..io import prepare_out_dir
from ..metrics import GAP_REFERENCES, SILHOUETTE_METRICS, silhouette_samples
from ._common import add_progress_argument, add_scale_argument, console, positive_int, progress_bar
from .experiments import (
    add_source_arguments,
    fraction,
    load_source,
    parse_ks,
    print_frame,
    scaled_source,
    write_outputs,
)

# The table's columns as printed: (column, heading).
_SHOWN = (
    ("train_mean", "training J"),
    ("val_mean", "validation J"),
    ("silhouette_mean", "silh"),
    ("calinski_harabasz_mean", "CH"),
    ("davies_bouldin_mean", "DB"),
    ("gap", "gap"),
    ("stability", "stab"),
)


def _criteria(text: str) -> list[str]:
    """argparse type: comma-separated criteria, each one of CRITERIA."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CRITERIA]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"{text!r} is not valid; expected some of {','.join(CRITERIA)}")
    return names


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "choose-k",
        parents=[common],
        help="how many clusters: silhouette, gap, elbow, CH, DB, stability, and a vote",
        description="Fit k-means REPEATS times for each k on a training share of SOURCE and print, "
        "for each k, the training and validation loss, the silhouette, Calinski-Harabasz and "
        "Davies-Bouldin scores, the gap statistic and the stability across repeats; then each "
        "criterion's k and the k most of them choose. With --out, write choose_k.csv, criteria.png "
        "(every criterion against k), silhouette.png and centres.png (at the recommended k) and "
        "results.json.",
    )
    add_source_arguments(p, labels=False)
    p.add_argument(
        "-k",
        "--k",
        dest="ks",
        type=parse_ks,
        default=parse_ks("1:10"),
        metavar="KS",
        help="the k values: 2:20, 1:10 or 2,4,8 (default: 1:10; a range from 2 gets k=1 as well)",
    )
    p.add_argument("--repeats", type=positive_int, default=3, help="fits per k, from different seeds (default: 3)")
    p.add_argument("--n-init", type=positive_int, default=3, help="initialisations per fit (default: 3)")
    p.add_argument("--val", type=fraction, default=0.2, help="validation share, for the validation loss (default: 0.2)")
    p.add_argument(
        "--criteria",
        type=_criteria,
        default=list(CRITERIA),
        metavar="NAMES",
        help=f"which criteria vote, comma-separated (default: {','.join(CRITERIA)})",
    )
    p.add_argument(
        "--metric",
        choices=SILHOUETTE_METRICS,
        default="euclidean",
        help="the silhouette's distance (default: euclidean)",
    )
    p.add_argument(
        "--sample-size",
        type=positive_int,
        default=10000,
        help="silhouette of at most this many rows per fit, drawn at random (default: 10000)",
    )
    p.add_argument(
        "--refs", type=positive_int, default=10, help="reference sets of the gap statistic (default: 10, at least 2)"
    )
    p.add_argument(
        "--reference",
        choices=GAP_REFERENCES,
        default="pca",
        help="the gap's reference box: along the principal axes, or the features' ranges (default: pca)",
    )
    p.add_argument("--max-iter", type=positive_int, default=300, help="most iterations per fit (default: 300)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    add_scale_argument(p)
    add_progress_argument(p)
    p.add_argument(
        "--out", metavar="DIR", help="write choose_k.csv, criteria.png, silhouette.png, centres.png, results.json"
    )
    p.set_defaults(handler=run_choose_k)


def run_choose_k(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise InputError(f"--seed {args.seed} is not valid; expected an integer >= 0")
    if args.refs < 2:
        raise InputError(f"--refs {args.refs} is not valid; expected at least 2 reference sets")
    if args.sample_size < 2:
        raise InputError(f"--sample-size {args.sample_size} is not valid; expected at least 2 rows")
    if args.out:
        prepare_out_dir(args.out, create=False)  # fail before the work
    source = scaled_source(load_source(args), args.scale)
    total = planned_fits(args.ks, repeats=args.repeats, n_refs=args.refs, criteria=args.criteria)
    with progress_bar(args.progress, total, "choosing k") as advance:
        result = choose_k(
            source.X,
            args.ks,
            repeats=args.repeats,
            val=args.val,
            n_init=args.n_init,
            criteria=args.criteria,
            metric=args.metric,
            sample_size=args.sample_size,
            n_refs=args.refs,
            reference=args.reference,
            seed=args.seed,
            on_fit=advance,
            max_iter=args.max_iter,
        )
    table = result.table
    n_train = result.train_rows.size
    console.print(
        f"kmeanslab choose-k: {source.label} ({source.X.shape[0]} x {source.X.shape[1]}), {n_train} training / "
        f"{source.X.shape[0] - n_train} validation rows, {args.repeats} fits per k ({args.n_init} initialisations each)"
    )
    shown = table[[column for column, _ in _SHOWN if column in table.columns]].rename(columns=dict(_SHOWN))
    # The gap with its standard error, formatted as the report does: one column fits 80 characters.
    shown["gap"] = format_mean_std(table.assign(gap_mean=table["gap"], gap_std=table["gap_se"]), ["gap"], 3)["gap"]
    shown["gap"] = shown["gap"].str.replace(" ± ", "±", regex=False)
    print_frame(
        shown,
        "criteria against k, means over the fits. J: mean squared distance, silh: silhouette, CH: "
        "Calinski-Harabasz, DB: Davies-Bouldin, gap: the gap statistic ± its standard error, stab: stability "
        "(mean ARI)",
        digits=3,  # three significant digits: eight columns fit an 80-column terminal
        highlight=result.k,
    )
    for name, k in result.choices.items():
        console.print(f"  {CRITERION_TITLES[name]:>18}: {'none' if k is None else f'k={k}'}")
    console.print(f"recommendation: {result.summary}")
    if args.out:
        figures = {
            "criteria": plot_criteria(table, result.choices, result.k, title=f"Choosing k: {Path(source.label).name}")
        }
        if result.k is not None and result.k >= 2:
            figures.update(_evidence(source.X[result.train_rows], result, args))
        results = {
            "source": source.label,
            "k": result.k,
            "choices": result.choices,
            "supporters": list(result.supporters),
            "summary": result.summary,
            "parameters": {
                "ks": args.ks,
                "repeats": args.repeats,
                "n_init": args.n_init,
                "val": args.val,
                "criteria": args.criteria,
                "metric": args.metric,
                "sample_size": args.sample_size,
                "refs": args.refs,
                "reference": args.reference,
                "max_iter": args.max_iter,
                "seed": args.seed,
                "scale": args.scale,
            },
            "table": table.reset_index().to_dict(orient="records"),
        }
        written = write_outputs(Path(args.out), figures, {"choose_k": table}, results)
        console.print(f"wrote {', '.join(written)} to {args.out}")
    return 0


def _evidence(X_train: np.ndarray, result, args: argparse.Namespace) -> dict:
    """The silhouette knife plot and the map of the centres at the recommended k."""
    model = result.models[result.k]
    labels = model.labels_
    rows = np.arange(X_train.shape[0])
    if rows.size > args.sample_size:
        rows = np.sort(np.random.default_rng(args.seed).choice(rows.size, size=args.sample_size, replace=False))
    figures = {}
    if 2 <= np.unique(labels[rows]).size <= rows.size - 1:
        samples = silhouette_samples(X_train[rows], labels[rows], metric=args.metric)
        sampled = f", {rows.size} of {X_train.shape[0]} training rows" if rows.size < X_train.shape[0] else ""
        figures["silhouette"] = plot_silhouette(samples, labels[rows], title=f"Silhouettes at k = {result.k}{sampled}")
    figures["centres"] = plot_cluster_map(
        model.cluster_centers_,
        np.bincount(labels, minlength=result.k),
        title=f"The {result.k} centres (marker area: cluster size)",
    )
    return figures
