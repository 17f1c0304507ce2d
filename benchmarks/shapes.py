"""The data the benchmark runs on: the matrix's shapes, each made the same way every time.

=============  =====================  ==========================  ===========================
key            full run               ``--quick``                 what it is
=============  =====================  ==========================  ===========================
``mnist``      60000 x 784, k = 10,   10000 x 784, k = 10, 100    MNIST-60k-shift: the 10000
               100, 256, 1000                                     test images and five
                                                                  one-pixel shifts of them
``blobs2``     1,000,000 x 2,         100,000 x 2, k = 10         Gaussian blobs, 50 centres
               k = 10, 100                                        uniform in [-10, 10]^d,
                                                                  unit variance
``blobs64``    200,000 x 64, k = 1000 20,000 x 64, k = 100        the same generator
``gauss32``    2,000,000 x 32, k = 100 200,000 x 32, k = 20       one standard Gaussian
``embed384``   100,000 x 384, k = 50  10,000 x 384, k = 50        sentence-embedding-like unit
                                                                  vectors (see below)
``tfidf``      100,000 x 32768 sparse 5,000 x 4096, k = 20        TF-IDF of synthetic topic
               (CSR), k = 50                                      documents (the sparse row)
=============  =====================  ==========================  ===========================

All are float32, C-contiguous. Some cells cap the iterations (``max_iter`` in the tables) so
that a full run fits in under an hour on two cores; every contender in a cell gets the same cap.

The embeddings are synthetic. No network reaches these machines, and the offline MiniLM model
(``kmeanslab[text]``) embeds about 30 sentences a second here, so 100,000 real embeddings would
take an hour (and the
standard library's docstrings hold only about 7,600 distinct sentences). :func:`sentence_like_embeddings` instead draws unit vectors whose statistics match
3000 real all-MiniLM-L6-v2 embeddings of sentences from the Python standard library's docstrings
(measured once with ``kmeanslab.text.embed_sentences``; :func:`embedding_statistics` computes the
same numbers; in parentheses the synthetic set's, 3000 of its 100,000 rows):

* norm of the mean vector 0.33 (0.33); mean cosine of two random rows 0.108 (0.111), standard
  deviation 0.107 (0.093); mean cosine to the nearest other row 0.65 (0.63);
* share of the variance in the top 1 / 10 / 50 / 100 principal directions 0.036 / 0.26 / 0.60 /
  0.78 (0.033 / 0.24 / 0.61 / 0.78); participation ratio (effective dimension) 88 (94).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from kmeanslab.datasets import load_mnist

__all__ = [
    "SHIFTS",
    "Shape",
    "SHAPES",
    "shapes_for",
    "mnist_test_images",
    "mnist_60k_shift",
    "blobs32",
    "gaussian32",
    "sentence_like_embeddings",
    "embedding_statistics",
    "tfidf_documents",
    "start_rows",
]

SHIFTS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1))  # (dy, dx): right, left, down, up, down-right


# --------------------------------------------------------------------------- generators


def _shifted(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    out[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = images[
        :, max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def mnist_test_images(data_home: str | os.PathLike | None = None) -> np.ndarray:
    """The 10000 official MNIST test images, (10000, 28, 28) float32 in [0, 1].

    Read by :func:`kmeanslab.datasets.load_mnist` from ``data_home``, else ``$KMEANSLAB_DATA``.
    """
    return load_mnist(split="test", data_home=data_home).images


def mnist_60k_shift(data_home: str | os.PathLike | None = None, n_shifts: int = 5) -> np.ndarray:
    """MNIST-60k-shift: the test images and ``n_shifts`` one-pixel shifts, (60000, 784) float32."""
    images = mnist_test_images(data_home)
    parts = [images] + [_shifted(images, dy, dx) for dy, dx in SHIFTS[:n_shifts]]
    return np.ascontiguousarray(np.concatenate(parts).reshape(-1, images.shape[1] * images.shape[2]))


def blobs32(n: int, d: int, n_centers: int = 50, seed: int = 0, chunk: int = 2**18, out=None) -> np.ndarray:
    """``n`` x ``d`` float32 Gaussian blobs, written chunk by chunk (no float64 copy of the whole).

    ``n_centers`` centres uniform in [-10, 10]^d, unit variance around each. ``out`` (an array or
    a memory map of that shape and dtype) receives the rows instead of a new array.
    """
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10, 10, size=(n_centers, d)).astype(np.float32)
    X = np.empty((n, d), dtype=np.float32) if out is None else out
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        X[a:b] = centers[rng.integers(0, n_centers, b - a)]
        X[a:b] += rng.standard_normal((b - a, d), dtype=np.float32)
    return X


def gaussian32(n: int, d: int, seed: int = 0, chunk: int = 2**18, out=None) -> np.ndarray:
    """``n`` x ``d`` float32 draws from one standard Gaussian: no cluster structure at all.

    ``out`` (an array or a memory map of that shape and dtype) receives the rows instead.
    """
    rng = np.random.default_rng(seed)
    X = np.empty((n, d), dtype=np.float32) if out is None else out
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        X[a:b] = rng.standard_normal((b - a, d), dtype=np.float32)
    return X


def sentence_like_embeddings(
    n: int,
    d: int = 384,
    n_topics: int = 2000,
    seed: int = 0,
    spectrum_offset: float = 20.0,
    spectrum_power: float = 1.5,
    mean_norm: float = 0.35,
    topic_scale: float = 0.8,
    noise_scale: float = 0.6,
    chunk: int = 2**15,
) -> np.ndarray:
    """Unit vectors with the statistics of MiniLM sentence embeddings (see the module docstring).

    Each row is ``normalise(mu + t_z + e)``: a common mean ``mu``, one of ``n_topics`` topic
    offsets ``t_z`` and a per-row offset ``e``, both Gaussian with the covariance ``Q diag(l) Q^T``
    of a random rotation ``Q`` and a spectrum ``l_i ~ (i + spectrum_offset) ** -spectrum_power``
    (flat at the top, falling off as the real embeddings' does). The defaults were fitted to the
    real statistics.
    """
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    spectrum = (np.arange(d) + spectrum_offset) ** -spectrum_power
    scale = np.sqrt(spectrum / spectrum.sum())
    mu = rng.standard_normal(d)
    mu *= mean_norm / np.linalg.norm(mu)
    topics = (rng.standard_normal((n_topics, d)) * scale) @ Q.T * topic_scale
    X = np.empty((n, d), dtype=np.float32)
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        rows = mu + topics[rng.integers(0, n_topics, b - a)]
        rows += (rng.standard_normal((b - a, d)) * scale) @ Q.T * noise_scale
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        X[a:b] = rows
    return X


def embedding_statistics(X: np.ndarray, sample: int = 3000, seed: int = 0) -> dict:
    """The statistics the synthetic embeddings were fitted to, on ``sample`` rows of ``X``."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(X), min(sample, len(X)), replace=False) if len(X) > sample else np.arange(len(X))
    E = np.asarray(X[rows], dtype=np.float64)
    gram = E @ E.T
    off_diagonal = gram[~np.eye(len(E), dtype=bool)]
    np.fill_diagonal(gram, -np.inf)
    variances = np.sort(np.linalg.eigvalsh(np.cov(E.T)))[::-1]
    share = np.cumsum(variances) / variances.sum()
    return dict(
        mean_norm=float(np.linalg.norm(E.mean(axis=0))),
        pair_cosine_mean=float(off_diagonal.mean()),
        pair_cosine_std=float(off_diagonal.std()),
        nearest_cosine_mean=float(gram.max(axis=1).mean()),
        variance_top1=float(share[0]),
        variance_top10=float(share[min(9, len(share) - 1)]),
        variance_top50=float(share[min(49, len(share) - 1)]),
        variance_top100=float(share[min(99, len(share) - 1)]),
        effective_dimension=float(variances.sum() ** 2 / (variances**2).sum()),
    )


def tfidf_documents(
    n: int,
    vocabulary: int = 2**15,
    n_topics: int = 50,
    words_per_topic: int = 400,
    mean_length: int = 80,
    topic_share: float = 0.6,
    seed: int = 0,
):
    """TF-IDF (scikit-learn's ``TfidfTransformer``, rows of unit length) of synthetic documents.

    Each document draws about ``mean_length`` words: a share ``topic_share`` from its topic
    (``words_per_topic`` words, Zipf weights), the rest from a Zipf background over the whole
    ``vocabulary``. Returns a float32 CSR matrix (n, vocabulary).
    """
    rng = np.random.default_rng(seed)
    zipf = 1.0 / np.arange(1, vocabulary + 1)
    background = np.cumsum(zipf / zipf.sum())
    topic_words = np.stack([rng.choice(vocabulary, words_per_topic, replace=False) for _ in range(n_topics)])
    topic_weights = np.cumsum(zipf[:words_per_topic] / zipf[:words_per_topic].sum())
    lengths = 10 + rng.poisson(mean_length - 10, n)
    docs = np.repeat(np.arange(n), lengths)
    from_topic = rng.random(len(docs)) < topic_share
    words = np.searchsorted(background, rng.random(len(docs)))
    topic_of_doc = rng.integers(0, n_topics, n)[docs[from_topic]]
    picks = np.searchsorted(topic_weights, rng.random(int(from_topic.sum())))
    words[from_topic] = topic_words[topic_of_doc, picks]
    words = np.minimum(words, vocabulary - 1)
    counts = sp.csr_matrix((np.ones(len(docs), dtype=np.float32), (docs, words)), shape=(n, vocabulary))
    counts.sum_duplicates()
    return TfidfTransformer().fit_transform(counts).astype(np.float32).tocsr()


def start_rows(X, k: int, seed: int) -> np.ndarray:
    """``k`` distinct rows of X chosen at random (sorted by index): every contender's first centres."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(X.shape[0], k, replace=False))
    start = X[rows]
    if hasattr(start, "toarray"):
        start = start.toarray()
    return np.ascontiguousarray(start, dtype=np.float32)


# --------------------------------------------------------------------------- the matrix


@dataclass(frozen=True)
class Shape:
    """One row group of the matrix: how to make the data, and the k (and iteration caps) to run."""

    key: str
    title: str
    n: int
    d: int
    ks: tuple[int, ...]
    make: Callable[..., np.ndarray] = field(repr=False)
    max_iter: dict = field(default_factory=dict)  # k -> cap (default 300)
    sparse: bool = False

    def data(self, data_home=None):
        """The data, built (or read) now."""
        return self.make(self, data_home)

    def iterations_cap(self, k: int) -> int:
        return self.max_iter.get(k, 300)

    @property
    def label(self) -> str:
        kind = " sparse" if self.sparse else ""
        return f"{self.title}, {self.n:,} x {self.d}{kind}"


def _mnist(shape: Shape, data_home):
    if shape.n == 60000:
        return mnist_60k_shift(data_home)
    return np.ascontiguousarray(mnist_test_images(data_home).reshape(10000, -1)[: shape.n])


def _blobs(shape: Shape, data_home):
    return blobs32(shape.n, shape.d)


def _gaussian(shape: Shape, data_home):
    return gaussian32(shape.n, shape.d)


def _embeddings(shape: Shape, data_home):
    return sentence_like_embeddings(shape.n, shape.d)


def _tfidf(shape: Shape, data_home):
    return tfidf_documents(shape.n, vocabulary=shape.d, n_topics=max(shape.ks))


SHAPES = {
    "mnist": Shape("mnist", "MNIST-60k-shift", 60000, 784, (10, 100, 256, 1000), _mnist, {1000: 20}),
    "blobs2": Shape("blobs2", "blobs", 1_000_000, 2, (10, 100), _blobs),
    "blobs64": Shape("blobs64", "blobs", 200_000, 64, (1000,), _blobs, {1000: 30}),
    "gauss32": Shape("gauss32", "Gaussian", 2_000_000, 32, (100,), _gaussian, {100: 50}),
    "embed384": Shape("embed384", "sentence-like embeddings", 100_000, 384, (50,), _embeddings),
    "tfidf": Shape("tfidf", "TF-IDF", 100_000, 2**15, (50,), _tfidf, sparse=True),
}

QUICK_SHAPES = {
    "mnist": Shape("mnist", "MNIST test images", 10000, 784, (10, 100), _mnist),
    "blobs2": Shape("blobs2", "blobs", 100_000, 2, (10,), _blobs),
    "blobs64": Shape("blobs64", "blobs", 20_000, 64, (100,), _blobs, {100: 30}),
    "gauss32": Shape("gauss32", "Gaussian", 200_000, 32, (20,), _gaussian, {20: 50}),
    "embed384": Shape("embed384", "sentence-like embeddings", 10_000, 384, (50,), _embeddings),
    "tfidf": Shape("tfidf", "TF-IDF", 5_000, 4096, (20,), _tfidf, sparse=True),
}


def shapes_for(quick: bool) -> dict[str, Shape]:
    """The full run's shapes, or the quick run's smaller ones (same keys)."""
    return QUICK_SHAPES if quick else SHAPES
