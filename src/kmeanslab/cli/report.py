"""``kmeanslab report`` (a report on one dataset) and ``kmeanslab demo`` (the course report)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..cluster import INIT_METHODS
from ..course import DemoConfig, run_demo
from ..datasets import get_data_home
from ..datasets._paths import data_home_origin, elsewhere_hint
from ..experiments.report import data_report
from ..experiments.report.data_report import report_fits
from ..io import prepare_out_dir, staged_output_dir
from ._common import add_progress_argument, add_scale_argument, check_seed, console, positive_int, progress_bar
from .experiments import add_data_home_argument, add_source_arguments, fraction, load_source, parse_ks, scaled_source


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "report",
        parents=[common],
        help="an HTML report on one dataset",
        description="Write DIR/index.html (figures embedded), the figures as PNG files and "
        "results.json for SOURCE: the elbow with a validation split; without -k, how k was chosen "
        "(every criterion of 'kmeanslab choose-k' against k, the k each one picks, and their vote); the "
        "clusters at that k, their learning curve, the centres (as images for image data) and, with "
        "labels, accuracy, ARI, NMI, purity and the confusion matrix.",
    )
    add_source_arguments(p)
    p.add_argument("--out", metavar="DIR", required=True, help="the report directory")
    p.add_argument(
        "-k",
        "--clusters",
        dest="k",
        type=positive_int,
        help="k to show (default: the k the criteria of choose-k recommend over --ks)",
    )
    p.add_argument(
        "--ks",
        type=parse_ks,
        default=parse_ks("1:10"),
        metavar="KS",
        help="the k values of the elbow: 1:10, 2,4,8 (default: 1:10)",
    )
    p.add_argument("--runs", type=positive_int, default=5, help="fits per k in the elbow (default: 5)")
    p.add_argument("--val", type=fraction, default=0.2, help="validation share (default: 0.2)")
    p.add_argument(
        "--init",
        default="k-means++",
        choices=INIT_METHODS,
        help="initialisation (default: k-means++)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    add_scale_argument(p)
    add_progress_argument(p)
    p.set_defaults(handler=run_report)

    p = subparsers.add_parser(
        "demo",
        parents=[common],
        help="the course experiments as one HTML report (make demo)",
        description="Run the experiments of the course notebooks on data that is here without a "
        "network (Old Faithful, synthetic blobs, scikit-learn's digits, and MNIST when it has been "
        "fetched) and write DIR/index.html, the figures and results.json.",
    )
    p.add_argument("--out", metavar="DIR", default="demo-report", help="the report directory (default: demo-report)")
    add_data_home_argument(p)
    p.add_argument("--quick", action="store_true", help="a few fits per experiment (a smoke test)")
    p.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="threads per fit (default: 1, fastest for the demo's many small fits)",
    )
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.set_defaults(handler=run_demo_command)


# The files whose presence says a report is complete: removed first and put back last.
REPORT_RECORDS = ("results.json", "index.html")


def run_report(args: argparse.Namespace) -> int:

    check_seed(args.seed)
    prepare_out_dir(args.out, create=False)
    source = scaled_source(load_source(args), args.scale)
    started = time.perf_counter()
    total = report_fits(source.X.shape[0], k=args.k, ks=args.ks, runs=args.runs, val=args.val)
    with progress_bar(args.progress, total, "report") as advance:
        report = data_report(
            source.X,
            source=source.label,
            feature_names=source.feature_names,
            y=source.y,
            images=source.images,
            k=args.k,
            ks=sorted(args.ks),  # an elbow reads k in increasing order, however --ks lists them
            runs=args.runs,
            val=args.val,
            seed=args.seed,
            init=args.init,
            on_fit=advance,
        )
    with staged_output_dir(args.out, last=REPORT_RECORDS) as staged:
        index = Path(args.out) / report.write(staged.path).name
    console.print(
        f"kmeanslab report: {source.label} ({source.X.shape[0]} x {source.X.shape[1]}) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    console.print(f"wrote {index} ({sum(len(s.figures) for s in report.sections)} figures) and results.json")
    return 0


def run_demo_command(args: argparse.Namespace) -> int:

    started = time.perf_counter()
    prepare_out_dir(args.out, create=False)
    config = DemoConfig.quick() if args.quick else DemoConfig()
    with staged_output_dir(args.out, last=REPORT_RECORDS) as staged:
        staged_index = run_demo(
            staged.path, data_home=args.data_home, config=config, progress=args.progress, threads=args.threads
        )
        results = json.loads(staged_index.with_name("results.json").read_text(encoding="utf-8"))
    index = Path(args.out) / staged_index.name
    for line in _headlines(results, args.data_home):
        console.print(f"  {line}")
    console.print(f"kmeanslab demo: wrote {index} in {time.perf_counter() - started:.0f} s; open it in a browser")
    return 0


def _headlines(results: dict, data_home: str | None = None) -> list[str]:
    """A few numbers of each section, for the terminal."""
    home = get_data_home(data_home)
    sections = results["sections"]
    lines = [
        f"Old Faithful, k=2: inertia {sections['faithful']['raw_k2_inertia']:.2f}",
        f"synthetic blobs (4 centres): knee at k={sections['blobs']['knee']}",
        f"digits 0/1, k=2: {sections['digits01']['accuracy_k2']:.1%} of images in their digit's cluster",
        f"digits 0-9, k=10: test accuracy {sections['digits']['accuracy_k10']:.3f} (majority vote)",
    ]
    mnist = sections["mnist"]
    if mnist.get("available") is False:
        lines.append(
            f"MNIST: not found in the data home ({home}, {data_home_origin(data_home)}); fetch it with: "
            f"{mnist['fetch_command']}, or, {elsewhere_hint()}"
        )
    else:
        scores = ", ".join(
            f"k={key[len('accuracy_k') :]} {value:.3f}" for key, value in mnist.items() if key.startswith("accuracy_k")
        )
        lines.append(f"MNIST test accuracy: {scores}")
    return lines
