"""The words a conversation is found by: German and English text folded into search terms.

A term is a word folded as the canned-answer search folds it (gateway/desk/canned.py's
`fold`): lower case, umlauts spelt out, other accents dropped. So "Rücksendung",
"Ruecksendung" and "RÜCKSENDUNG" are one term, "Café" is "cafe", "Straße" is "strasse",
and a supervisor finds a case however the shopper's keyboard wrote it. The same folding
runs over the index and over the query, which is all that consistency needs.

Words too common to tell conversations apart (der, und, the, is, …) are no terms: every
conversation would be in their postings. Single characters are none either, and nor is
anything longer than MAX_TERM_CHARS (tracking numbers fit; pasted base64 does not).
"""

from __future__ import annotations

import re

from gateway.desk.canned import fold

MIN_TERM_CHARS = 2
MAX_TERM_CHARS = 32
# Prefix search starts at this many characters: "be" would expand to half the language.
PREFIX_CHARS = 3

_WORD = re.compile(r"\w+")

# Already folded (für → fuer, über → ueber, daß/dass → dass).
STOPWORDS = frozenset("""
    der die das den dem des ein eine einen einem einer eines und oder aber doch denn als
    ich du er sie es wir ihr mir mich dir dich ihm ihn uns euch sich mein meine meinen meinem
    meiner dein deine sein seine ihre ihren ist sind bin bist war waren hat habe hast haben
    hatte wird werden wurde kann koennen konnte muss soll will moechte nicht kein keine auch
    noch schon nur sehr mit von vom zu zum zur im in an am auf aus bei fuer ueber unter nach
    vor um bis durch gegen ohne dass so wie was wer wo wann warum ja nein da dort hier dann
    wenn ob man mal gibt etwa
    the a an and or but if then than so as i you he she it we they me him her us them my your
    his its our their is are am was were be been being has have had do does did will would
    can could should shall may might must not no yes to of in on at for with from by about
    this that these those there here what which who whom where when why how all any some
    just also too very
""".split())


def terms(text: str) -> list[str]:
    """The distinct search terms of `text`, in the order they first occur."""
    found: dict[str, None] = {}
    for word in _WORD.findall(fold(text)):
        word = word.replace("_", "")
        if MIN_TERM_CHARS <= len(word) <= MAX_TERM_CHARS and word not in STOPWORDS:
            found.setdefault(word, None)
    return list(found)


def prefix(term: str) -> str | None:
    """The prefix a term is listed under for prefix search (None: too short to be listed)."""
    return term[:PREFIX_CHARS] if len(term) >= PREFIX_CHARS else None
