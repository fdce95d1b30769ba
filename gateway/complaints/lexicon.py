"""What a complaint is about, in any language: faq_data/feedback/themes.yml read as concepts.

"Die Naht geht auf" and "the seams are coming apart" share no letters; both read as the
concepts `seam` and `apart`, which is what lets one theme hold German and English
complaints together, with no language model to download. What is left of a text after its
concepts and stopwords are taken out (`Reading.rest`) still counts for the themes, as words
and as character n-grams (which catch German compounds the lexicon does not know).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from gateway.complaints.words import TermIndex, normalise, surface_words

LEXICON_FILE = Path("feedback") / "themes.yml"
# Words a phrase may skip between two of its words: "geht [schon nach einer Woche] auf".
PHRASE_GAP = 4


class ConceptKind(StrEnum):
    PROBLEM = "problem"
    PRODUCT = "product"


@dataclass(frozen=True, slots=True)
class Concept:
    id: str
    kind: ConceptKind
    # Language → how a theme's label names it.
    label: Mapping[str, str]

    def display(self) -> str:
        """Every language's name, German first: "Naht / seam"."""
        names = [self.label[language] for language in sorted(self.label)]
        return " / ".join(dict.fromkeys(names))


@dataclass(frozen=True, slots=True)
class Reading:
    """A text as the lexicon reads it."""

    concepts: tuple[str, ...]
    # The normalised words no concept took, stopwords left out, in order.
    rest: tuple[str, ...]
    # Normalised word → how the shopper wrote it (lower case), for labels.
    written: Mapping[str, str]


def _words(values: Sequence[Any], path: Path) -> list[str]:
    # YAML reads a bare `no` or `on` as a boolean: such a word must be quoted.
    for value in values:
        if not isinstance(value, str):
            raise ValueError(f"{path}: {value!r} is not a word (a bare yes, no, on or off must be quoted)")
    return list(values)


@dataclass(frozen=True, slots=True)
class _Phrase:
    words: tuple[str, ...]
    concept: str


class Lexicon:
    def __init__(self, concepts: Sequence[Concept], terms: Mapping[str, Sequence[str]],
                 stopwords: Sequence[str]) -> None:
        """`terms`: concept id → its terms in every language (as written in the file)."""
        self.concepts = {concept.id: concept for concept in concepts}
        self.stopwords = frozenset(normalise(word) for word in stopwords)
        single: list[tuple[str, str]] = []
        phrases: list[_Phrase] = []
        for concept_id, written in terms.items():
            for term in written:
                words = tuple(normalise(term).split())
                if len(words) == 1:
                    single.append((words[0], concept_id))
                elif words:
                    phrases.append(_Phrase(words, concept_id))
        # Longest first: "too late" before "late", "charged twice" before "charged".
        self._phrases = sorted(phrases, key=lambda phrase: -len(phrase.words))
        self._starting: dict[str, list[int]] = {}
        for number, phrase in enumerate(self._phrases):
            self._starting.setdefault(phrase.words[0], []).append(number)
        self._words = TermIndex.build(single)
        self._phrase_words = TermIndex.build((word, word) for phrase in phrases for word in phrase.words)

    @classmethod
    def load(cls, faq_dir: Path) -> Lexicon:
        path = faq_dir / LEXICON_FILE
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        concepts: list[Concept] = []
        terms: dict[str, list[str]] = {}
        for concept_id, entry in raw["concepts"].items():
            concepts.append(Concept(str(concept_id), ConceptKind(entry["kind"]),
                                    {str(lang): str(name) for lang, name in entry["label"].items()}))
            terms[str(concept_id)] = [term for written in entry["terms"].values() for term in _words(written, path)]
        stopwords = [word for words in raw["stopwords"].values() for word in _words(words, path)]
        return cls(concepts, terms, stopwords)

    def kind(self, concept_id: str) -> ConceptKind:
        return self.concepts[concept_id].kind

    def concepts_of_word(self, word: str) -> frozenset[str]:
        """The concepts one normalised word stands for on its own (product names' words)."""
        return self._words.lookup(word)

    def read(self, text: str) -> Reading:
        pairs = surface_words(text)
        words = [word for word, _ in pairs]
        taken = [False] * len(words)
        found: list[tuple[int, str]] = []
        # Only the phrases whose first word is in the text are looked for, longest first.
        starting = {number for word in words for first in self._phrase_words.lookup(word)
                    for number in self._starting.get(first, ())}
        for phrase in (self._phrases[number] for number in sorted(starting)):
            for position in self._phrase_positions(words, taken, phrase):
                for index in position:
                    taken[index] = True
                found.append((position[0], phrase.concept))
        for index, word in enumerate(words):
            if taken[index] or word in self.stopwords:
                continue
            concepts = self._words.lookup(word)
            if concepts:
                taken[index] = True
                found.extend((index, concept) for concept in sorted(concepts))
        rest = tuple(word for index, word in enumerate(words)
                     if not taken[index] and word not in self.stopwords and len(word) > 1)
        return Reading(concepts=tuple(concept for _, concept in sorted(found)), rest=rest,
                       written={word: shown for word, shown in pairs})

    def _phrase_positions(self, words: Sequence[str], taken: Sequence[bool],
                          phrase: _Phrase) -> list[tuple[int, ...]]:
        """Where the phrase occurs among the words not taken yet (each occurrence once)."""
        found: list[tuple[int, ...]] = []
        used: set[int] = set()
        for start, word in enumerate(words):
            if taken[start] or start in used or phrase.words[0] not in self._phrase_words.lookup(word):
                continue
            position = [start]
            for wanted in phrase.words[1:]:
                after = position[-1]
                nxt = next((index for index in range(after + 1, min(len(words), after + 2 + PHRASE_GAP))
                            if not taken[index] and index not in used
                            and wanted in self._phrase_words.lookup(words[index])), None)
                if nxt is None:
                    break
                position.append(nxt)
            if len(position) == len(phrase.words):
                found.append(tuple(position))
                used.update(position)
        return found
