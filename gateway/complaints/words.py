"""Words as complaints are compared: normalised, and matched through inflections and typos.

A shopper writes "Nähte", "Naht", "naht", "Kissenbzug" or "Kissenbezüge"; a product is sold as
"Leinen-Kissenhülle". Both sides are normalised the same way (case, accents, ß) and a
`TermIndex` finds which known terms a word stands for: as written, inflected (up to three
more letters), with one typo, or — for terms marked with `*` — as part of a compound.
Everything is a dictionary look-up (a typo through the deletion neighbourhood of a term,
as SymSpell does it), so reading thousands of complaints at report time stays cheap.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_WORD = re.compile(r"[^\W_]+")
# An e-mail address, a URL, anything with digits: never a word about the problem.
_NOISE = re.compile(r"\S+@\S+|https?://\S+|\S*\d\S*")
_APOSTROPHES = re.compile(r"['’`´]")
# Inflection: "naht" → "nähte", "seam" → "seams", "crack" → "cracked" (not for short terms,
# "bot" must not become "bottle").
INFLECTION_MIN = 4
INFLECTION_EXTRA = 3
# One typo is tolerated from this length on ("kissenbzug"); shorter words differ too easily.
TYPO_MIN = 5
# A compound's other part has at least this many letters ("tisch" + "leuchte").
COMPOUND_MIN = 3
# Words whose look-up a TermIndex remembers.
MAX_REMEMBERED = 100_000


def normalise(text: str) -> str:
    """Casefolded, accents and umlauts to their plain letters (ß → ss), apostrophes dropped."""
    decomposed = unicodedata.normalize("NFKD", _APOSTROPHES.sub("", text.casefold()))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def tokens(text: str) -> list[str]:
    """The words of a text, normalised; numbers, order numbers, e-mails and links left out."""
    return _WORD.findall(normalise(_NOISE.sub(" ", text)))


def surface_words(text: str) -> list[tuple[str, str]]:
    """(normalised, as written in lower case) for each word: what a theme's label shows."""
    cleaned = _NOISE.sub(" ", text)
    return [(normalise(word), word.casefold()) for word in _WORD.findall(_APOSTROPHES.sub("", cleaned))]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


@dataclass
class TermIndex:
    """Which labels a word stands for, given terms (`word`, `stem*`, `*head`) and their labels.

    Built once; `lookup` remembers its answers per word (a corpus repeats its words).
    """

    exact: dict[str, set[str]] = field(default_factory=dict)
    prefixes: dict[str, set[str]] = field(default_factory=dict)
    suffixes: dict[str, set[str]] = field(default_factory=dict)
    # A term, and each of it with one letter deleted → the terms.
    typos: dict[str, set[str]] = field(default_factory=dict)
    _seen: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, terms: Iterable[tuple[str, str]]) -> TermIndex:
        """From (term, label) pairs; a term is one normalised word, `*` marking a compound."""
        index = cls()
        for term, label in terms:
            if term.endswith("*"):
                index.prefixes.setdefault(term[:-1], set()).add(label)
            elif term.startswith("*"):
                index.suffixes.setdefault(term[1:], set()).add(label)
            else:
                index.exact.setdefault(term, set()).add(label)
        for term in index.exact:
            if len(term) >= TYPO_MIN:
                for variant in {term, *_deletions(term)}:
                    index.typos.setdefault(variant, set()).add(term)
        return index

    def lookup(self, word: str) -> frozenset[str]:
        if (known := self._seen.get(word)) is not None:
            return known
        found = frozenset(self._find(word))
        if len(self._seen) >= MAX_REMEMBERED:
            self._seen.clear()  # a long-running process meets ever new words (and typos)
        self._seen[word] = found
        return found

    def _find(self, word: str) -> set[str]:
        if word in self.exact:
            return set(self.exact[word])
        found: set[str] = set()
        # The word itself, then without an ending ("tischleuchten" → "tischleuchte").
        shortest = max(INFLECTION_MIN, len(word) - INFLECTION_EXTRA)
        for candidate in [word, *(word[:end] for end in range(len(word) - 1, shortest - 1, -1))]:
            found.update(self.exact.get(candidate, ()) if candidate != word else ())
            for end in range(COMPOUND_MIN, len(candidate) + 1):
                found.update(self.prefixes.get(candidate[:end], ()))
            for start in (0, *range(COMPOUND_MIN, len(candidate) - COMPOUND_MIN + 1)):
                found.update(self.suffixes.get(candidate[start:], ()))
        if not found and len(word) >= TYPO_MIN:
            terms = set(self.typos.get(word, ()))
            for variant in _deletions(word):
                terms.update([variant] if variant in self.exact else ())
                terms.update(self.typos.get(variant, ()) if len(variant) >= TYPO_MIN else ())
            # A typo is rarely the first letter; allowing it makes "einen" read as "leinen".
            for term in terms:
                if term[0] == word[0] and one_edit_apart(word, term):
                    found.update(self.exact[term])
        return found


def one_edit_apart(a: str, b: str) -> bool:
    """One letter added, dropped, changed, or two neighbours swapped ("stands" is not "stains")."""
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    if len(a) == len(b):
        swapped = a[start + 1:start + 2] + a[start:start + 1] == b[start:start + 2]
        return a[start + 1:] == b[start + 1:] or (swapped and a[start + 2:] == b[start + 2:])
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[start + 1:] == shorter[start:]


def index_of(mapping: Mapping[str, Iterable[str]]) -> TermIndex:
    """A TermIndex from label → its terms."""
    return TermIndex.build((term, label) for label, terms in mapping.items() for term in terms)
