"""Canned answers for the agent console: faq_data's answers, searchable, with a best match.

faq_data/ is the one source of FAQ truth, so agents answer with the same texts the bot
says. `CannedAnswers.load` reads it once (through gateway.bot.training's loaders) and builds
small TF-IDF indexes per language, pure Python (no scikit-learn in the gateway):

- a *search* index, one document per topic (title, questions and answer), for `search`:
  an agent types a keyword ("Retoure", "refund") and wants the topics that mention it;
- a *variant* index, one document per example question, for `best_match`: a shopper's
  message is closest to the way other shoppers asked the same thing (a topic scores the
  mean of its 3 nearest examples, plus a little of its title-and-answer similarity). The
  transactional intents and chitchat of faq_data are in it too, as competitors: "I want
  to talk to a person" is nearest to `request_human`, so no FAQ is suggested for it.

Features are lower-cased, accent-folded word unigrams plus character 3–5-grams inside
word boundaries (robust to typos and to German compounds: "Rücksendeetikett" shares
grams with "Rücksendung"). Each kind is its own L2-normalised vector; a similarity is
their weighted cosine, so a score is in [0, 1].
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from gateway.bot.faq import (
    Entry,
    Intent,
    load_chitchat,
    load_intents,
    load_languages,
    load_topics,
)
from gateway.texts import normalize_locale

__all__ = ["CannedAnswer", "CannedAnswers"]

CHAR_NGRAMS = range(3, 6)
# Share of the word cosine in a similarity; the rest is the character n-gram cosine.
# Words carry the meaning, n-grams rescue typos and compounds.
WORD_WEIGHT = 0.3
# How many of a label's nearest examples its score averages.
NEAREST_EXAMPLES = 3
# Share of a topic's title-and-answer similarity in its match score: shoppers ask with
# the answer's words ("Porto", "Versandfirma") more often than the examples foresee.
ANSWER_WEIGHT = 0.2
# Below this a message is like no topic, even when no intent or chitchat is nearer
# ("Mein Hund heißt Bello"). Chosen by leave-one-out over faq_data's own examples (each
# scored against all the others), where it starts to cost correct topics; not tuned on
# the held-out set that tests/gateway/desk/test_canned.py measures with.
MATCH_THRESHOLD = 0.15
# A search hit below this shares only stray n-grams with the query ("xyz" → "xy…").
SEARCH_FLOOR = 0.05

# German spells umlauts out without them ("Ruecksendung"); fold both spellings together.
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Lower case, umlauts spelt out, other accents dropped: "Café Größe" → "cafe groesse"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_GERMAN))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _char_grams(words: Iterable[str]) -> Iterator[str]:
    for word in words:
        padded = f" {word} "
        for n in CHAR_NGRAMS:
            for start in range(len(padded) - n + 1):
                yield padded[start : start + n]


@dataclass(frozen=True, slots=True)
class _Terms:
    """A text's raw term counts, per feature kind."""

    words: Counter[str]
    chars: Counter[str]

    @classmethod
    def of(cls, text: str) -> _Terms:
        words = _WORD.findall(fold(text))
        return cls(words=Counter(words), chars=Counter(_char_grams(words)))


Vector = dict[str, float]


def _weigh(counts: Counter[str], idf: Mapping[str, float], unseen_idf: float) -> Vector:
    # Sublinear tf: a word said twice is not twice as relevant. A term no document has
    # cannot match anything, but it still counts towards the query's length with the
    # rarest term's idf: "asdf order" is less like "order" than "order" is.
    weights = {term: (1.0 + math.log(n)) * idf.get(term, unseen_idf) for term, n in counts.items()}
    norm = math.sqrt(sum(w * w for w in weights.values()))
    if norm == 0.0:
        return {}
    return {term: w / norm for term, w in weights.items() if term in idf}


def _idf(documents: list[Counter[str]]) -> dict[str, float]:
    df: Counter[str] = Counter()
    for counts in documents:
        df.update(counts.keys())
    total = len(documents)
    return {term: math.log((1 + total) / (1 + n)) + 1.0 for term, n in df.items()}


@dataclass(frozen=True, slots=True)
class _Postings:
    """One feature kind of an index: idf and, per term, the documents holding it."""

    idf: dict[str, float]
    unseen_idf: float
    postings: dict[str, list[tuple[int, float]]]

    @classmethod
    def build(cls, documents: list[Counter[str]]) -> _Postings:
        idf = _idf(documents)
        unseen_idf = max(idf.values(), default=1.0)
        postings: defaultdict[str, list[tuple[int, float]]] = defaultdict(list)
        for doc, counts in enumerate(documents):
            for term, weight in _weigh(counts, idf, unseen_idf).items():
                postings[term].append((doc, weight))
        return cls(idf=idf, unseen_idf=unseen_idf, postings=dict(postings))

    def add_scores(self, counts: Counter[str], weight: float, scores: list[float]) -> None:
        for term, q in _weigh(counts, self.idf, self.unseen_idf).items():
            for doc, d in self.postings.get(term, ()):
                scores[doc] += weight * q * d


@dataclass(frozen=True, slots=True)
class _Index:
    """Cosine similarity of a query to each of a fixed list of documents."""

    size: int
    words: _Postings
    chars: _Postings

    @classmethod
    def build(cls, texts: list[str]) -> _Index:
        terms = [_Terms.of(text) for text in texts]
        return cls(
            size=len(texts),
            words=_Postings.build([t.words for t in terms]),
            chars=_Postings.build([t.chars for t in terms]),
        )

    def scores(self, query: str) -> list[float]:
        terms = _Terms.of(query)
        scores = [0.0] * self.size
        self.words.add_scores(terms.words, WORD_WEIGHT, scores)
        self.chars.add_scores(terms.chars, 1.0 - WORD_WEIGHT, scores)
        return scores


@dataclass(frozen=True, slots=True)
class CannedAnswer:
    """One FAQ topic's answer in one language, ready to send or to edit before sending."""

    topic: str
    title: str
    text: str
    score: float | None = None  # similarity in [0, 1] when it came from a search


@dataclass(frozen=True, slots=True)
class _Label:
    """Where one label's example questions are in the variant index.

    `topic` is empty for a competitor (an intent or chitchat item): it can win a match,
    but has no answer to give.
    """

    topic: str
    start: int
    stop: int


@dataclass(frozen=True, slots=True)
class _Language:
    """Everything `CannedAnswers` needs for one language."""

    answers: tuple[CannedAnswer, ...]  # ordered by title
    search_index: _Index  # document i: answers[i]'s title, questions and answer
    answer_index: _Index  # document i: answers[i]'s title and answer
    variant_index: _Index  # one document per example question, grouped by label
    labels: tuple[_Label, ...]

    @classmethod
    def build(cls, topics: list[Entry], competitors: list[Entry | Intent], lang: str) -> _Language:
        topics = sorted(topics, key=lambda t: t.title[lang].casefold())
        labels: list[_Label] = []
        questions: list[str] = []
        for topic, examples in [
            *((t.id, t.questions[lang]) for t in topics),
            *(("", c.questions[lang]) for c in competitors),
        ]:
            labels.append(_Label(topic, len(questions), len(questions) + len(examples)))
            questions.extend(examples)
        return cls(
            answers=tuple(CannedAnswer(t.id, t.title[lang], t.answers[lang]) for t in topics),
            search_index=_Index.build(
                [" ".join([t.title[lang], *t.questions[lang], t.answers[lang]]) for t in topics]
            ),
            answer_index=_Index.build([f"{t.title[lang]} {t.answers[lang]}" for t in topics]),
            variant_index=_Index.build(questions),
            labels=tuple(labels),
        )

    def match(self, message: str) -> tuple[int | None, float]:
        """Index into `answers` of the nearest topic and its score; None for a competitor."""
        variants = self.variant_index.scores(message)
        answers = self.answer_index.scores(message)
        best: tuple[int | None, float] = (None, 0.0)
        for i, label in enumerate(self.labels):
            # The mean of a label's few nearest examples: one lucky example that shares
            # a word ("Rechnung") is weaker evidence than several that agree.
            nearest = sorted(variants[label.start : label.stop], reverse=True)[:NEAREST_EXAMPLES]
            score = sum(nearest) / NEAREST_EXAMPLES
            if label.topic:  # topics are ordered like answers, before the competitors
                score = (1.0 - ANSWER_WEIGHT) * score + ANSWER_WEIGHT * answers[i]
            if score > best[1]:
                best = (i if label.topic else None, score)
        return best


@dataclass(frozen=True, slots=True)
class CannedAnswers:
    """faq_data's answers per language, indexed; build it once with `load`."""

    languages: Mapping[str, _Language]
    default: str

    @classmethod
    def load(cls, faq_dir: Path, default: str | None = None) -> CannedAnswers:
        """Read faq_data/ and index it; `default` (else languages.yml's) for unknown locales.

        Raises gateway.bot.faq.FaqDataError when faq_data/ is malformed, ValueError when
        `default` is not one of its languages.

        Indexing takes most of a second, so the same files are indexed once per process
        (every gateway app of a test run shares them; a CannedAnswers never changes once
        built). An edited file makes another key, so it is read again.
        """
        return _indexed(faq_dir.resolve(), default, _fingerprint(faq_dir))

    @classmethod
    def _build(cls, faq_dir: Path, default: str | None) -> CannedAnswers:
        languages = load_languages(faq_dir)
        default = default or languages.default
        if default not in languages.supported:
            raise ValueError(
                f"default language {default!r} is not one of faq_data's {languages.supported}"
            )
        topics = load_topics(faq_dir, languages)
        competitors: list[Entry | Intent] = [
            *load_intents(faq_dir, languages),
            *load_chitchat(faq_dir, languages),
        ]
        return cls(
            languages={
                lang: _Language.build(topics, competitors, lang) for lang in languages.supported
            },
            default=default,
        )

    def _language(self, locale: str) -> _Language:
        return self.languages[normalize_locale(locale, frozenset(self.languages), self.default)]

    def search(self, locale: str, query: str, limit: int = 10) -> list[CannedAnswer]:
        """At most `limit` topics, ranked by how well `query` matches their title,
        questions and answer; topics that share next to nothing with it are left out.

        A query without words lists every topic, ordered by title, whatever the limit:
        it is the console's browse view.
        """
        language = self._language(locale)
        if not _WORD.search(query):
            return list(language.answers)
        scores = language.search_index.scores(query)
        ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], language.answers[i].title))
        return [
            replace(language.answers[i], score=round(scores[i], 4))
            for i in ranked[:limit]
            if scores[i] >= SEARCH_FLOOR
        ]

    def best_match(self, locale: str, message: str) -> CannedAnswer | None:
        """The FAQ answer for a shopper's message, or None when no topic is close enough.

        None also when the message is nearest to a request the bot handles by an action
        or to chitchat ("where is my order?", "I want a person", "thanks").
        """
        language = self._language(locale)
        index, score = language.match(message)
        if index is None or score < MATCH_THRESHOLD:
            return None
        return replace(language.answers[index], score=round(score, 4))

    def get(self, locale: str, topic: str) -> CannedAnswer | None:
        """One topic's answer by id (what an agent picked from the list)."""
        return next((a for a in self._language(locale).answers if a.topic == topic), None)


def _fingerprint(faq_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Each file's path, size and modification time: faq_data/ as `_indexed` tells it apart."""
    files = sorted(path for path in faq_dir.rglob("*") if path.is_file())
    return tuple((str(path), (stat := path.stat()).st_size, stat.st_mtime_ns) for path in files)


@functools.lru_cache(maxsize=4)
def _indexed(faq_dir: Path, default: str | None, fingerprint: tuple[tuple[str, int, int], ...]) -> CannedAnswers:
    return CannedAnswers._build(faq_dir, default)
