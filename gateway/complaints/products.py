"""Which product a complaint is about, from the names the shop sells its products under.

The names come from the orders' items (a SKU may be sold as "Leinen-Kissenhülle" to one
shopper and as "Linen cushion cover" to another: every name counts). A name is read as its
*slots*, one per word that says something ("Leinen-Kissenhülle" → leinen, kissenhülle; sizes,
numbers and words like "set" say nothing), each slot also standing for its concepts in the
lexicon (kissenhülle → `cushion`, so "my cushion cover" fills it). A product's score for a
text is the share of its slots' weight the text fills, a slot weighing more the fewer
products share its word (idf): "Polar" names one lamp, "Vase" may name several.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from gateway.complaints.lexicon import Lexicon
from gateway.complaints.words import TermIndex, tokens

# A product named by the text alone (no order to choose among) must fill this much of a name.
NAMED_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class _Slot:
    word: str
    concepts: frozenset[str]


class Catalogue:
    """The products the gateway knows (SKU → every name it was sold under)."""

    def __init__(self, names: Mapping[str, Collection[str]], lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.names = {sku: tuple(sorted(set(given))) for sku, given in names.items() if given}
        self._slots: dict[str, list[tuple[_Slot, ...]]] = {}
        by_word: dict[str, set[str]] = defaultdict(set)
        by_concept: dict[str, set[str]] = defaultdict(set)
        for sku, given in self.names.items():
            for name in given:
                slots = tuple(_Slot(word, lexicon.concepts_of_word(word)) for word in self._name_words(name))
                self._slots.setdefault(sku, []).append(slots)
                for slot in slots:
                    by_word[slot.word].add(sku)
                    for concept in slot.concepts:
                        by_concept[concept].add(sku)
        self._by_word = dict(by_word)
        self._by_concept = dict(by_concept)
        self._words = TermIndex.build((word, word) for word in by_word)
        count = max(1, len(self.names))
        self._weight = {word: math.log(1 + count / len(skus)) for word, skus in by_word.items()}

    def _name_words(self, name: str) -> list[str]:
        return [word for word in dict.fromkeys(tokens(name))
                if len(word) > 2 and word not in self.lexicon.stopwords]

    def display_name(self, sku: str) -> str:
        """Every name the product was sold under: "Leinen-Kissenhülle / Linen cushion cover"."""
        return " / ".join(self.names.get(sku, ())) or sku

    def name_words(self, text: str) -> set[str]:
        """The normalised words of `text` that are words of a product's name (left out of themes)."""
        return {word for word in tokens(text) if word not in self.lexicon.stopwords and self._words.lookup(word)}

    def match(self, text: str, *, among: Sequence[str] | None = None) -> str | None:
        """The SKU the text names. `among` (an order's items): the best of those the text
        mentions at all; otherwise the best of every product, if it fills at least
        NAMED_SHARE of its name. None if nothing fits or two fit equally."""
        words = {label for word in tokens(text) if word not in self.lexicon.stopwords
                 for label in self._words.lookup(word)}
        concepts = set(self.lexicon.read(text).concepts)
        candidates: set[str] = set()
        for word in words:
            candidates |= self._by_word.get(word, set())
        for concept in concepts:
            candidates |= self._by_concept.get(concept, set())
        if among is not None:
            candidates &= set(among)
        scored = sorted(((self._score(sku, words, concepts), sku) for sku in candidates), reverse=True)
        if not scored or scored[0][0] <= 0:
            return None
        if len(scored) > 1 and math.isclose(scored[0][0], scored[1][0]):
            return None  # "the lamp" with two lamps on the order: it could be either
        best, sku = scored[0]
        return sku if among is not None or best >= NAMED_SHARE else None

    def _score(self, sku: str, words: set[str], concepts: set[str]) -> float:
        best = 0.0
        for slots in self._slots.get(sku, []):
            total = sum(self._weight[slot.word] for slot in slots)
            filled = sum(self._weight[slot.word] for slot in slots
                         if slot.word in words or slot.concepts & concepts)
            best = max(best, filled / total if total else 0.0)
        return best
