"""Canned answers: agents find faq_data's answers by keyword, and the console can suggest
the right one for a shopper's message — measured on messages it was never built from."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from gateway.bot.faq import load_languages, load_topics
from gateway.desk.canned import CannedAnswers

ROOT = Path(__file__).resolve().parents[3]
FAQ = ROOT / "faq_data"
HELDOUT_PATH = ROOT / "bot" / "tests" / "heldout.yml"
TOPICS = load_topics(FAQ, load_languages(FAQ))

# Measured when this was written: de 76/82 (92.7 %), en 79/82 (96.3 %). The floors leave
# one message of slack, so a change to faq_data or to the scoring that loses two shows.
MIN_ACCURACY = {"de": 0.91, "en": 0.95}
# Requests the bot handles by an action, chitchat and off-topic messages: de 59/59,
# en 58/59 got no canned answer.
MIN_REJECTED = 0.95


@pytest.fixture(scope="module")
def canned() -> CannedAnswers:
    return CannedAnswers.load(FAQ)


def _heldout(language: str) -> dict[str, list[str]]:
    """Expected label (`faq/<topic>`, an intent, chitchat, `nlu_fallback`) → messages."""
    data = yaml.safe_load(HELDOUT_PATH.read_text(encoding="utf-8"))
    labelled: dict[str, list[str]] = data[language]
    return labelled


@pytest.mark.parametrize("language", ["de", "en"])
def test_best_match_finds_the_topic_of_heldout_questions(canned: CannedAnswers, language: str) -> None:
    cases = [
        (label.removeprefix("faq/"), text)
        for label, texts in _heldout(language).items()
        if label.startswith("faq/")
        for text in texts
    ]
    misses = []
    for topic, text in cases:
        match = canned.best_match(language, text)
        if match is None or match.topic != topic:
            misses.append(f"{text!r}: expected {topic}, got {match and match.topic}")

    accuracy = 1 - len(misses) / len(cases)
    assert len(cases) >= 75
    assert accuracy >= MIN_ACCURACY[language], f"{accuracy:.3f}:\n" + "\n".join(misses)


@pytest.mark.parametrize("language", ["de", "en"])
def test_best_match_suggests_nothing_for_heldout_requests_chitchat_and_nonsense(
    canned: CannedAnswers, language: str
) -> None:
    texts = [
        text
        for label, texts in _heldout(language).items()
        if not label.startswith("faq/")
        for text in texts
    ]
    suggested = [
        f"{text!r} → {match.topic}"
        for text in texts
        if (match := canned.best_match(language, text)) is not None
    ]

    assert 1 - len(suggested) / len(texts) >= MIN_REJECTED, "\n".join(suggested)


@pytest.mark.parametrize(
    ("locale", "message"),
    [
        ("en", "I want to talk to a person"),
        ("de", "Ich möchte mit einem Menschen sprechen"),
        ("en", "asdf"),
        ("de", "asdf"),
        ("en", "my dog is called Rex"),
        ("de", ""),
    ],
)
def test_off_topic_messages_get_no_canned_answer(canned: CannedAnswers, locale: str, message: str) -> None:
    assert canned.best_match(locale, message) is None


def test_best_match_answers_in_the_shoppers_language_with_a_score(canned: CannedAnswers) -> None:
    german = canned.best_match("de", "Wie lange habe ich Zeit für eine Rücksendung?")
    english = canned.best_match("en", "how long do I have to send something back?")

    assert german is not None and english is not None
    assert german.topic == english.topic == "returns"
    assert "30 Tage" in german.text and "30 days" in english.text
    assert german.score is not None and 0 < german.score <= 1


@pytest.mark.parametrize(
    ("locale", "query", "topic"),
    [
        ("de", "Rücksendung", "returns"),
        ("de", "Ruecksendung", "returns"),  # umlaut spelt out
        ("de", "Rücksendng", "returns"),  # typo
        ("de", "Zoll", "customs"),
        ("de", "Passwort", "account"),
        ("en", "refund", "refunds"),
        ("en", "packstaton", "packstation"),
        ("en", "customs", "customs"),
    ],
)
def test_search_ranks_the_topic_of_a_keyword_first(
    canned: CannedAnswers, locale: str, query: str, topic: str
) -> None:
    results = canned.search(locale, query)

    assert results[0].topic == topic
    assert [r.score for r in results] == sorted((r.score or 0.0 for r in results), reverse=True)


def test_search_respects_the_limit_and_leaves_out_unrelated_topics(canned: CannedAnswers) -> None:
    assert len(canned.search("de", "Gutschein", limit=2)) == 2
    assert {r.topic for r in canned.search("de", "Gutschein", limit=2)} == {"vouchers", "gift_vouchers"}
    assert canned.search("en", "xyz") == []


@pytest.mark.parametrize("query", ["", "   ", "?"])
def test_an_empty_query_lists_every_topic_by_title(canned: CannedAnswers, query: str) -> None:
    results = canned.search("en", query)

    assert {r.topic for r in results} == {t.id for t in TOPICS}
    assert [r.title for r in results] == sorted((r.title for r in results), key=str.casefold)
    assert all(r.score is None for r in results)


@pytest.mark.parametrize("language", ["de", "en"])
def test_answers_come_in_the_requested_language(canned: CannedAnswers, language: str) -> None:
    by_id = {t.id: t for t in TOPICS}

    for answer in canned.search(language, ""):
        assert answer.text == by_id[answer.topic].answers[language]
        assert answer.title == by_id[answer.topic].title[language]


@pytest.mark.parametrize("locale", ["fr", "", "xx-YY"])
def test_an_unknown_locale_falls_back_to_the_default_language(canned: CannedAnswers, locale: str) -> None:
    assert canned.search(locale, "") == canned.search("de", "")
    assert canned.best_match(locale, "Kann ich mit PayPal zahlen?") == canned.best_match(
        "de", "Kann ich mit PayPal zahlen?"
    )


def test_a_regional_locale_uses_its_language(canned: CannedAnswers) -> None:
    assert canned.search("en-GB", "") == canned.search("en", "")


def test_the_default_language_can_be_chosen_at_load() -> None:
    english_default = CannedAnswers.load(FAQ, default="en")

    assert english_default.search("fr", "") == english_default.search("en", "")
    with pytest.raises(ValueError, match="'fr'"):
        CannedAnswers.load(FAQ, default="fr")


def test_get_returns_a_topic_by_id(canned: CannedAnswers) -> None:
    answer = canned.get("en", "gift_wrapping")

    assert answer is not None and "3.50 EUR" in answer.text
    assert canned.get("en", "no_such_topic") is None


def test_a_match_takes_milliseconds(canned: CannedAnswers) -> None:
    """The console asks on every shopper message; measured ~1 ms, the bound is generous."""
    texts = [text for texts in _heldout("de").values() for text in texts]
    start = time.perf_counter()
    for text in texts:
        canned.best_match("de", text)
        canned.search("de", text)
    assert (time.perf_counter() - start) / len(texts) < 0.02
