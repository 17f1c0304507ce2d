"""Spherical k-means against Euclidean k-means on TF-IDF documents: NMI with the topic labels.

Run it as ``python -m benchmarks.cosine_nmi`` (``--docs 5000`` for a shorter run: the default is
every document, about 57,000, in about 1 GB and a few minutes). The corpus is
the Debian package descriptions of this machine's apt lists
(:func:`kmeanslab.datasets.load_debian_descriptions`), labelled by section; sections of fewer
than ``--min-section`` packages are dropped and ``--docs`` documents drawn at random. The rows are
TF-IDF (scikit-learn's ``TfidfVectorizer``, English stop words, ``--features`` terms at most, dense
float32: 57,000 x 2,000 is 456 MB), L2-normalised by the vectoriser; documents left with no term
are dropped (a zero row has no direction). Both clusterings run on the same unit rows with
k = the number of sections, k-means++ seeding and the same seeds: ``KMeans(metric="cosine")``
(centres renormalised at every update) and ``KMeans(metric="euclidean")`` (plain means of unit
rows). The score is the NMI of the labels with the sections, mean and std over the seeds, and
the wall time of each fit (the machine may be shared: read the times as rough).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import normalized_mutual_info_score

from kmeanslab import KMeans
from kmeanslab.datasets import load_debian_descriptions

__all__ = ["tfidf_rows", "run", "main"]


def tfidf_rows(texts: list[str], max_features: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Dense float32 TF-IDF rows (unit L2), the indices of the documents kept, and the terms."""
    vectorizer = TfidfVectorizer(max_features=max_features, stop_words="english", dtype=np.float32)
    X = vectorizer.fit_transform(texts)
    kept = np.flatnonzero(X.getnnz(axis=1) > 0)
    return X[kept].toarray(), kept, list(vectorizer.get_feature_names_out())


def run(docs: int | None = None, features: int = 2_000, seeds: int = 5, min_section: int = 500, path=None) -> dict:
    """The NMI of both metrics over ``seeds`` seeds (``docs`` documents drawn, or all); a JSON-ready dict."""
    corpus = load_debian_descriptions(path, min_section_size=min_section, n_samples=docs, seed=0)
    X, kept, _ = tfidf_rows(corpus.texts, features)
    y = corpus.target[kept]
    k = len(np.unique(y))
    result = {
        "corpus": corpus.description,
        "documents": int(X.shape[0]),
        "features": int(X.shape[1]),
        "k": k,
        "seeds": seeds,
    }
    for metric in ("cosine", "euclidean"):
        scores, times, iterations = [], [], []
        for seed in range(seeds):
            start = time.perf_counter()
            km = KMeans(k, metric=metric, random_state=seed).fit(X)
            times.append(time.perf_counter() - start)
            scores.append(float(normalized_mutual_info_score(y, km.labels_)))
            iterations.append(int(km.n_iter_))
        result[metric] = {
            "nmi": scores,
            "nmi_mean": statistics.mean(scores),
            "nmi_std": statistics.stdev(scores) if len(scores) > 1 else 0.0,
            "fit_seconds_median": statistics.median(times),
            "iterations": iterations,
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=0, help="documents drawn at random (default: 0, all)")
    parser.add_argument("--features", type=int, default=2_000, help="TF-IDF terms at most (default: 2000)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per metric (default: 5)")
    parser.add_argument("--min-section", type=int, default=500, help="smallest section kept (default: 500)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = run(args.docs or None, args.features, args.seeds, args.min_section)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['corpus']}; {result['documents']} x {result['features']} TF-IDF, k = {result['k']}")
    for metric in ("cosine", "euclidean"):
        r = result[metric]
        print(
            f"  {metric:9s}  NMI {r['nmi_mean']:.4f} ± {r['nmi_std']:.4f} over {result['seeds']} seeds  "
            f"(fit {r['fit_seconds_median']:.2f} s median, iterations {r['iterations']})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
