"""Complaint themes: the complaints of a range grouped by what they say, German and English together.

Each text becomes three blocks of TF-IDF features: its problem concepts (the lexicon's
`seam`, `apart`, `late`: the same in every language), its remaining words, and character
n-grams of those words (German compounds and spellings the lexicon does not know). Product
names and product kinds are left out — the report groups by product itself, and "the
cushion's seam" and "the throw's seam" are one theme. k-means (fixed seed: the same
complaints give the same themes) is run for k = 2 … MAX_THEMES and the k with the best
silhouette (cosine) wins. A theme is labelled by its top terms.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize

from gateway.complaints.lexicon import ConceptKind, Lexicon
from gateway.complaints.products import Catalogue

MAX_THEMES = 12
RANDOM_STATE = 0
# Silhouette is computed on at most this many texts (it is quadratic in them).
SILHOUETTE_SAMPLE = 1500
# Below this silhouette no split is better than one theme for everything.
MIN_SILHOUETTE = 0.05
TOP_TERMS = 5
LABEL_TERMS = 3
# The blocks' weights: the concepts carry a theme across languages, words and n-grams refine it.
WEIGHTS = {"concepts": 1.0, "words": 0.6, "chars": 0.4}
_CONCEPT = "c:"


@dataclass(frozen=True, slots=True)
class Theme:
    id: str
    label: str
    terms: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "terms": list(self.terms)}


@dataclass(frozen=True, slots=True)
class Themes:
    # For each text, the index of its theme in `themes`.
    assignments: tuple[int, ...]
    themes: tuple[Theme, ...]


@dataclass(frozen=True, slots=True)
class _Text:
    concepts: list[str]
    words: list[str]
    written: dict[str, str]


def _read(text: str, lexicon: Lexicon, catalogue: Catalogue) -> _Text:
    reading = lexicon.read(text)
    names = catalogue.name_words(text)
    concepts = [_CONCEPT + concept for concept in reading.concepts if lexicon.kind(concept) is ConceptKind.PROBLEM]
    words = [word for word in reading.rest if word not in names]
    if not concepts and not words:
        words = list(reading.rest) or list(reading.written)  # say something rather than nothing
    return _Text(concepts, words, dict(reading.written))


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def _block(vectorizer: TfidfVectorizer, documents: Sequence[Any]) -> tuple[sparse.csr_matrix, list[str]]:
    try:
        matrix = vectorizer.fit_transform(documents)
    except ValueError:  # no term in any document
        return sparse.csr_matrix((len(documents), 0)), []
    return sparse.csr_matrix(matrix), [str(name) for name in vectorizer.get_feature_names_out()]


def _features(texts: Sequence[_Text]) -> tuple[sparse.csr_matrix, sparse.csr_matrix, list[str]]:
    """The clustering matrix (rows L2-normalised) and the labelling matrix with its terms."""
    concepts, concept_terms = _block(TfidfVectorizer(analyzer=_identity, sublinear_tf=True),
                                     [text.concepts for text in texts])
    words, word_terms = _block(TfidfVectorizer(analyzer=_identity, sublinear_tf=True),
                               [text.words for text in texts])
    chars, _ = _block(TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
                      [" ".join(text.words) for text in texts])
    weighted = sparse.hstack([concepts * WEIGHTS["concepts"], words * WEIGHTS["words"],
                              chars * WEIGHTS["chars"]], format="csr")
    labelling = sparse.hstack([concepts, words * WEIGHTS["words"]], format="csr")
    return sparse.csr_matrix(normalize(weighted)), labelling, concept_terms + word_terms


def _distinct_rows(matrix: sparse.csr_matrix) -> int:
    rounded = np.round(matrix.data, 6)
    rows = set()
    for index in range(matrix.shape[0]):
        start, end = int(matrix.indptr[index]), int(matrix.indptr[index + 1])
        rows.add((matrix.indices[start:end].tobytes(), rounded[start:end].tobytes()))
    return len(rows)


def _best_clustering(matrix: sparse.csr_matrix) -> np.ndarray[Any, Any]:
    count = matrix.shape[0]
    one = np.zeros(count, dtype=int)
    most = min(MAX_THEMES, count - 1, _distinct_rows(matrix))
    best, best_score = one, MIN_SILHOUETTE
    for k in range(2, most + 1):
        labels = KMeans(n_clusters=k, n_init=4, random_state=RANDOM_STATE).fit_predict(matrix)
        if len(set(labels.tolist())) < 2:
            continue
        score = float(silhouette_score(matrix, labels, metric="cosine", random_state=RANDOM_STATE,
                                       sample_size=min(count, SILHOUETTE_SAMPLE)))
        if score > best_score:
            best, best_score = labels, score
    return best


def _theme(members: list[int], labelling: sparse.csr_matrix, terms: list[str], texts: Sequence[_Text],
           lexicon: Lexicon) -> Theme:
    if terms:
        weights = np.asarray(labelling[members].mean(axis=0)).ravel()
        order = [int(i) for i in np.argsort(-weights, kind="stable") if weights[int(i)] > 0][:TOP_TERMS]
        top = [terms[i] for i in order]
    else:
        top = []
    written: Counter[tuple[str, str]] = Counter(
        (word, texts[member].written.get(word, word)) for member in members for word in texts[member].words)

    def shown(term: str) -> str:
        if term.startswith(_CONCEPT):
            return lexicon.concepts[term.removeprefix(_CONCEPT)].display()
        forms = [(count, form) for (word, form), count in written.items() if word == term]
        return max(forms)[1] if forms else term

    display = tuple(shown(term) for term in top)
    digest = hashlib.sha1("|".join(sorted(top[:LABEL_TERMS])).encode()).hexdigest()[:10]
    return Theme(id=f"t-{digest}", label=", ".join(display[:LABEL_TERMS]), terms=display)


def cluster(texts: Sequence[str], lexicon: Lexicon, catalogue: Catalogue) -> Themes:
    """The themes of `texts` (CPU-bound: run it off the event loop for large inputs)."""
    if not texts:
        return Themes((), ())
    read = [_read(text, lexicon, catalogue) for text in texts]
    matrix, labelling, terms = _features(read)
    labels = _best_clustering(matrix) if len(texts) > 2 else np.zeros(len(texts), dtype=int)
    # Theme indexes by first appearance, so the same input always numbers them the same.
    order = list(dict.fromkeys(int(label) for label in labels))
    themes = tuple(_theme([i for i, label in enumerate(labels) if int(label) == cluster_label],
                          labelling, terms, read, lexicon) for cluster_label in order)
    position = {label: index for index, label in enumerate(order)}
    return Themes(tuple(position[int(label)] for label in labels), themes)


def precision_recall(members: set[str], expected: set[str]) -> tuple[float, float]:
    """How well a theme's conversations match a known defect's (the demo history's, for one):
    precision = share of the theme that is the defect, recall = share of the defect in the theme."""
    hit = len(members & expected)
    return (hit / len(members) if members else 0.0, hit / len(expected) if expected else 0.0)
