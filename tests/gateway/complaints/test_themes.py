"""Themes group complaints by what they say, German and English together, the same way every time."""

from __future__ import annotations

import pytest

from gateway.complaints.lexicon import Lexicon
from gateway.complaints.products import Catalogue
from gateway.complaints.report import ThemeCache
from gateway.complaints.themes import cluster, precision_recall
from gateway.settings import REPO_ROOT
from tests.gateway.complaints.test_products import NAMES

SEAMS = [
    "Die Naht an meiner Kissenhülle geht auf",
    "The seams are coming apart after a week",
    "Naht ist nach dem ersten Waschen aufgegangen",
    "the stitching on the cushion cover came apart",
    "Die Nähte lösen sich schon",
    "seam split open on my throw",
    "Bei der Decke geht die Naht auf",
    "the seam of my cover is coming apart",
]
LATE = [
    "Die Bestellung kam zu spät",
    "my parcel arrived late",
    "Lieferung ist verspätet",
    "still not here, delayed again",
    "Das Paket kam viel zu spät an",
    "the delivery is late, it was a present",
    "Meine Vase kam eine Woche zu spät",
    "order arrived far too late",
]


@pytest.fixture
def catalogue(lexicon: Lexicon) -> Catalogue:
    return Catalogue(NAMES, lexicon)


def test_seams_coming_apart_is_one_theme_in_both_languages_and_late_delivery_another(
        lexicon: Lexicon, catalogue: Catalogue) -> None:
    texts = [text for pair in zip(SEAMS, LATE, strict=True) for text in pair]  # mixed, as they come in

    themes = cluster(texts, lexicon, catalogue)

    seams = {themes.assignments[texts.index(text)] for text in SEAMS}
    late = {themes.assignments[texts.index(text)] for text in LATE}
    assert len(seams) == 1 and len(late) == 1 and seams != late
    [seam_theme] = [themes.themes[index] for index in seams]
    assert "Naht / seam" in seam_theme.terms and "geht auf / coming apart" in seam_theme.terms
    # The products are not what the theme is about: the cushion and the throw share it.
    assert not {"Kissen / cushion", "kissenhülle", "cushion"} & set(seam_theme.terms)
    assert themes.themes[late.pop()].label.startswith("Verspätung / late")


def test_the_same_complaints_give_the_same_themes(lexicon: Lexicon, catalogue: Catalogue) -> None:
    texts = SEAMS + LATE + ["Der Becher hat einen Sprung", "the mug is cracked", "Tasse angeschlagen"]
    assert cluster(texts, lexicon, catalogue) == cluster(list(texts), lexicon, catalogue)


def test_few_complaints_still_get_a_theme(lexicon: Lexicon, catalogue: Catalogue) -> None:
    assert cluster([], lexicon, catalogue).themes == ()
    one = cluster(["Die Lampe flackert"], lexicon, catalogue)
    assert one.assignments == (0,) and one.themes[0].label == "funktioniert nicht / not working"


def test_a_known_defect_is_measured_by_precision_and_recall() -> None:
    assert precision_recall({"a", "b", "c", "x"}, {"a", "b", "c", "d"}) == (0.75, 0.75)
    assert precision_recall(set(), {"a"}) == (0.0, 0.0)


async def test_the_same_complaints_are_clustered_once_per_catalogue() -> None:
    lexicon = Lexicon.load(REPO_ROOT / "faq_data")
    texts = ["Die Naht der Kissenhülle geht auf", "the seam came apart", "Paket kam zu spät", "parcel arrived late"]
    catalogue = Catalogue({"NL-1001": ["Leinen-Kissenhülle"]}, lexicon)
    cache = ThemeCache(size=2)
    first = await cache.themes(texts, lexicon, catalogue)
    assert await cache.themes(list(texts), lexicon, catalogue) is first
    renamed = Catalogue({"NL-1001": ["Leinen-Kissenhülle", "Linen cushion cover"]}, lexicon)
    assert await cache.themes(texts, lexicon, renamed) is not first
    assert await cache.themes(texts[:3], lexicon, catalogue) is not first
    # The oldest of the three is gone (two are kept): computed again, the same themes.
    again = await cache.themes(texts, lexicon, catalogue)
    assert again is not first and again == first
