"""Rich content degraded in one place: long texts split sensibly, numbered options read back."""

from __future__ import annotations

import pytest

from channels import rich
from core.types import QuickReply

TRACKING = "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=00340434161094042557"


def test_a_long_text_is_cut_between_sentences_and_never_inside_a_link() -> None:
    text = " ".join(f"Satz Nummer {n} erklärt etwas." for n in range(120)) + f" Ihr Paket: {TRACKING}"
    parts = rich.split_text(text, 160)
    assert all(len(part) <= 160 for part in parts)
    assert all(part.endswith(".") for part in parts[:-1])
    assert TRACKING in parts[-1]
    assert " ".join(parts) == text


def test_paragraphs_stay_whole_when_they_fit() -> None:
    assert rich.split_text("Erstens.\n\nZweitens, länger.", 20) == ["Erstens.", "Zweitens, länger."]
    assert rich.split_text("kurz", 20) == ["kurz"]
    assert rich.split_text("   ", 20) == []


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    assert [len(part) for part in rich.split_text("a" * 45, 20)] == [20, 20, 5]


@pytest.mark.parametrize("typed, chosen", [("2", "/wismo"), (" 2. ", "/wismo"), ("(1)", "/return"),
                                           ("Nr. 2", "/wismo"), ("3", None), ("0", None), ("2 bitte", None)])
def test_a_number_picks_a_numbered_option(typed: str, chosen: str | None) -> None:
    offered = [QuickReply("Rücksendung", "/return"), QuickReply("Wo ist mein Paket?", "/wismo")]
    option = rich.chosen_option(typed, offered)
    assert (option.payload if option else None) == chosen
    assert rich.numbered_options("Wobei?", offered) == "Wobei?\n\n1) Rücksendung\n2) Wo ist mein Paket?"
