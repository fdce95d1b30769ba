"""The dialogue's pure logic: texts, order numbers and proofs, order answers, task steps,
hand-off offers and "not understood" suggestions.

These modules have no Rasa imports (the action server runs them on Python 3.10 in the bot
venv; here they run on the gateway's Python, which also checks they stay version-neutral).
The actions that use them run against a real gateway in test_dialogue_stack.py.
"""

from __future__ import annotations

import logging
import re
import string
from datetime import date
from typing import Any

import pytest
import yaml

from bot.actions import handoff, order_answers, suggestions, task_steps, verification
from bot.actions.gateway_api import GatewayUnavailable, log_failure
from bot.actions.languages import faq_dir, languages
from bot.actions.texts import texts
from core.formatting import parse_locale

TODAY = date(2026, 11, 24)  # a Tuesday


def _order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "order_id": "104233", "email": "anna@example.com", "postal_code": "10115",
        "customer_name": "Anna Berg", "total": "39.80", "currency": "EUR", "status": "in_transit",
        "items": [
            {"sku": "NL-1001", "name": "Leinen-Kissenbezug", "quantity": 2, "price": "19.90"},
            {"sku": "NL-2002", "name": "Wolldecke", "quantity": 1, "price": "59.00"},
        ],
        "carrier": "DHL", "tracking_number": "00340434161234567890",
        "tracking_url": "https://www.dhl.de/track?id=00340434161234567890",
        "estimated_delivery": "2026-11-26", "placed_at": "2026-11-20T10:15:00+01:00",
        "invoice_url": None,
        "shipping_address": {"name": "Anna Berg", "street": "Unter den Linden 1",
                             "postal_code": "10115", "city": "Berlin", "country": "DE"},
    }  # fmt: skip
    order.update(changes)
    return order


# --- texts -----------------------------------------------------------------------------


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_language_has_the_same_texts_with_the_same_placeholders() -> None:
    _, supported = languages()
    by_language = {
        lang: yaml.safe_load((faq_dir() / "messages" / f"{lang}.yml").read_text(encoding="utf-8"))
        for lang in supported
    }
    reference = by_language[supported[0]]
    for lang, messages in by_language.items():
        assert set(messages) == set(reference), lang
        for key, template in messages.items():
            assert isinstance(template, str) and template.strip(), (lang, key)
            assert _fields(template) == _fields(reference[key]), (lang, key)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("de", "Mittwoch, 25. November"), ("en", "Wednesday 25 November"), ("fr", "Mittwoch, 25. November")],
)
def test_dates_read_naturally_in_each_language(language: str, expected: str) -> None:
    assert texts(language).long_date(date(2026, 11, 25)) == expected


def test_every_language_names_a_locale_babel_knows() -> None:
    for language in languages()[1]:
        parse_locale(texts(language).locale)  # ValueError if CLDR has no such locale


def test_amounts_are_written_as_each_language_writes_money() -> None:
    assert texts("de").money("39.8", "EUR") == "39,80\xa0€"
    assert texts("en").money("39.80", "EUR") == "€39.80"
    assert texts("en").money("1250", "CHF") == "CHF\xa01,250.00"
    # What is not an amount is shown as it came rather than hidden.
    assert texts("de").money("unknown", "EUR") == "unknown"


# --- order numbers and proofs ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Wo ist meine Bestellung 104233?", "104233"),
        ("104233", "104233"),
        ("order #118420 please", "118420"),
        ("my order is 10423", None),
        ("1042335", None),
        ("where is my order", None),
    ],
)
def test_finds_the_order_number_in_any_phrasing_and_never_guesses(text: str, number: str | None) -> None:
    assert verification.find_order_number(text) == number


def test_the_order_number_pattern_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORECHAT_ORDER_NUMBER_PATTERN", r"\bNL-\d{4}\b")
    assert verification.find_order_number("Bestellung NL-2040 bitte") == "NL-2040"
    assert verification.find_order_number("Bestellung 104233") is None


def test_a_malformed_number_is_told_apart_from_no_number() -> None:
    assert verification.looks_like_a_number_attempt("my order is 10423")
    assert not verification.looks_like_a_number_attempt("I don't know it")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("anna@example.com", "email", "anna@example.com"),
        ("Meine Mail ist Anna.Berg@Example.COM.", "email", "anna.berg@example.com"),
        ("10115", "postal_code", "10115"),
        ("PLZ 1010", "postal_code", "1010"),
        ("1012 ab", "postal_code", "1012 AB"),
        ("my email is anna@example.com and postcode 10115", "email", "anna@example.com"),
    ],
)
def test_tells_an_email_from_a_postal_code(text: str, kind: str, value: str) -> None:
    assert verification.proof_from_text(text) == verification.Proof(kind, value)


@pytest.mark.parametrize("text", ["104233", "keine Ahnung", "anna at example", "10115-99"])
def test_neither_email_nor_postal_code(text: str) -> None:
    assert verification.proof_from_text(text) is None


def test_metadata_proofs_token_first_and_a_channel_phone_proof_that_carries_no_number() -> None:
    """The gateway checks an SMS or WhatsApp conversation's own number; a `phone` in the
    metadata (which a forged tracker could say anything in) is never sent as the proof."""
    token = verification.Proof("customer_token", "abc.def")
    channel_phone = verification.Proof("phone", "")
    both = {"customer_token": "abc.def", "phone": "+4915112345678"}
    assert verification.proofs_from_metadata({**both, "channel": "whatsapp"}) == [token, channel_phone]
    assert verification.proofs_from_metadata({**both, "channel": "sms"}) == [token, channel_phone]
    assert verification.proofs_from_metadata({**both, "channel": "web"}) == [token]
    assert verification.proofs_from_metadata({"locale": "de"}) == []


# --- order answers ---------------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "en"])
def test_each_status_has_its_own_sentence(language: str) -> None:
    sentences = {
        order_answers.status_answer(_order(status=status, estimated_delivery=None), texts(language), TODAY)[0]
        for status in order_answers.STATUSES
    }
    assert len(sentences) == len(order_answers.STATUSES)
    assert all("104233" in sentence for sentence in sentences)


def test_wismo_answer_has_carrier_tracking_and_estimated_delivery() -> None:
    answer = order_answers.status_answer(_order(), texts("de"), TODAY)
    assert answer[0] == "Ihre Bestellung 104233 ist unterwegs."
    assert "DHL" in answer[1] and "00340434161234567890" in answer[1]
    assert "https://www.dhl.de/track?id=00340434161234567890" in answer[2]
    assert answer[3] == "Voraussichtliche Zustellung: Donnerstag, 26. November."
    assert not any("leid" in line for line in answer)


def test_a_delayed_order_gets_an_apology_and_the_new_date() -> None:
    answer = order_answers.status_answer(_order(status="delayed", estimated_delivery="2026-11-28"), texts("en"), TODAY)
    assert answer[0] == "Your order 104233 is delayed."
    assert "We're sorry that your order is late." in answer
    assert "The new estimated delivery date is Saturday 28 November." in answer


def test_an_order_past_its_date_is_late_until_delivered() -> None:
    overdue = _order(status="in_transit", estimated_delivery="2026-11-22")
    assert order_answers.is_late(overdue, TODAY)
    answer = order_answers.status_answer(overdue, texts("en"), TODAY)
    assert "We're sorry that your order is late." in answer
    assert "The carrier hasn't given us a new delivery date yet." in answer
    assert not order_answers.is_late(_order(status="delivered", estimated_delivery="2026-11-22"), TODAY)
    assert not order_answers.is_late(_order(estimated_delivery="2026-11-24"), TODAY)


def test_a_delivered_order_has_no_delivery_estimate() -> None:
    answer = order_answers.status_answer(_order(status="delivered"), texts("en"), TODAY)
    assert answer[0] == "Your order 104233 has been delivered."
    assert not any("Estimated" in line for line in answer)


def test_order_history_lists_number_date_status_and_total() -> None:
    orders = [_order(), _order(order_id="118420", status="delivered", total="12.5", placed_at="2026-10-02T09:00:00+02:00")]
    (answer,) = order_answers.history_answer(orders, texts("de"))
    assert answer.splitlines() == [
        "Ihre Bestellungen:",
        "• 104233 vom 20. November 2026: unterwegs, 39,80\xa0€",
        "• 118420 vom 2. Oktober 2026: zugestellt, 12,50\xa0€",
    ]


def test_request_status_lines() -> None:
    requests = [{"kind": "return", "order_id": "104233", "status": "refunded"}]
    assert order_answers.requests_answer(requests, texts("en")) == [
        "Your requests:\n• Return for order 104233: refunded"
    ]
    assert order_answers.requests_answer([], texts("en")) == ["There are no return or change requests in this chat yet."]


# --- task steps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "status", "steps"),
    [
        ("start_return", "delivered", ("return_items", "return_reason")),
        ("start_return", "in_transit", ()),
        ("cancel_order", "confirmed", ("cancel_confirmed",)),
        ("cancel_order", "packed", ()),
        ("change_address", "packed", ("new_address",)),
        ("change_address", "shipped", ()),
        ("order_status", "delivered", ()),
    ],
)
def test_a_task_asks_its_questions_only_when_the_status_allows_it(task: str, status: str, steps: tuple[str, ...]) -> None:
    assert task_steps.steps_for(task, _order(status=status)) == steps


def test_a_single_item_return_does_not_ask_which_item() -> None:
    single = _order(status="delivered", items=[{"sku": "NL-1001", "name": "Kissen"}])
    assert task_steps.steps_for("start_return", single) == ("return_reason",)


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("NL-1001", ["NL-1001"]),
        ("die wolldecke", ["NL-2002"]),
        ("Alle Artikel", ["NL-1001", "NL-2002"]),
        ("something else", None),
    ],
)
def test_return_items_by_sku_name_or_all(text: str, items: list[str] | None) -> None:
    assert task_steps.chosen_items(text, _order(), ("alle",)) == items


def test_a_free_text_address_in_lines_or_with_commas() -> None:
    assert task_steps.parse_address("Anna Berg\nHauptstraße 5\n10115 Berlin", "x", "DE") == {
        "name": "Anna Berg", "street": "Hauptstraße 5", "postal_code": "10115", "city": "Berlin", "country": "DE",
    }  # fmt: skip
    assert task_steps.parse_address("Hauptstraße 5, 1010 Wien, AT", "Anna Berg", "DE") == {
        "name": "Anna Berg", "street": "Hauptstraße 5", "postal_code": "1010", "city": "Wien", "country": "AT",
    }  # fmt: skip
    assert task_steps.parse_address("bitte an meine Arbeit", "Anna", "DE") is None
    assert task_steps.parse_address("10115 Berlin", "Anna", "DE") is None


@pytest.mark.parametrize(
    ("text", "fallback", "country"),
    [
        ("Anna Berg, Hauptstraße 5, 10115 Berlin, Germany", "AT", "DE"),
        ("Anna Berg, Hauptstraße 5, 10115 Berlin, de", "", "DE"),
        ("Anna Berg, Keizersgracht 1, 1015 CJ Amsterdam, Niederlande", "DE", "NL"),
        ("Anna Berg, Hauptstraße 5, 10115 Berlin", "", "DE"),  # no country, none on the order
        ("Anna Berg, Hauptstraße 5, 1010 Wien", "AT", "AT"),
    ],
)
def test_the_country_is_written_as_the_shop_api_expects(text: str, fallback: str, country: str) -> None:
    address = task_steps.parse_address(text, "Anna Berg", fallback)
    assert address is not None and address["country"] == country


def test_a_country_the_shop_does_not_deliver_to_is_asked_again() -> None:
    assert task_steps.parse_address("Anna Berg, 5th Avenue 1, 10001 New York, USA", "Anna", "DE") is None


# --- hand-off offers -------------------------------------------------------------------


def _user(intent: str = "x") -> dict[str, Any]:
    return {"event": "user", "parse_data": {"intent": {"name": intent}}}


def _action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


OFFER = {"event": "slot", "name": handoff.OFFER_SLOT, "value": {"team": "logistics", "reason": "verification_failed"}}


def test_an_offer_counts_only_in_the_very_next_turn() -> None:
    offered = [_user(), _action("action_order_task"), OFFER, _action("action_listen")]
    assert handoff.offered_handoff([*offered, _user("request_human")]) == handoff.Handoff("logistics", "verification_failed")
    assert handoff.offered_handoff([*offered, _user(), _action("utter_greet"), _user("request_human")]) is None
    assert handoff.offered_handoff([_user("request_human")]) is None


def test_an_offer_carried_into_a_new_session_is_no_offer() -> None:
    carried = [{"event": "action", "name": "action_session_start"}, {"event": "session_started"}, OFFER,
               _action("action_listen"), _user("request_human")]
    assert handoff.offered_handoff(carried) is None


def test_the_handoff_signal_is_the_contracts() -> None:
    assert handoff.Handoff("billing", "billing_problem").signal() == {
        "handoff": {"team": "billing", "reason": "billing_problem"}
    }
    with pytest.raises(ValueError):
        handoff.Handoff("sales", "x")


# --- not understood --------------------------------------------------------------------


def test_misses_are_counted_in_a_row_and_an_understood_turn_resets_them() -> None:
    miss = [_user("nlu_fallback"), _action(suggestions.NOT_UNDERSTOOD_ACTION), _action("action_listen")]
    hit = [_user("faq"), _action("utter_faq"), _action("action_listen")]
    current = [_user("nlu_fallback")]
    assert suggestions.previous_misses(current) == 0
    assert suggestions.previous_misses([*miss, *current]) == 1
    assert suggestions.previous_misses([*miss, *miss, *current]) == 2
    assert suggestions.previous_misses([*miss, *hit, *current]) == 0


def test_suggests_the_three_likeliest_titled_topics_and_intents() -> None:
    parse_data = {
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.3},
            {"name": "faq", "confidence": 0.6},
            {"name": "order_status", "confidence": 0.25},
            {"name": "greet", "confidence": 0.1},
            {"name": "affirm", "confidence": 0.05},
        ],
        "response_selector": {"faq": {"ranking": [
            {"intent_response_key": "faq/returns", "confidence": 0.5},
            {"intent_response_key": "faq/refunds", "confidence": 0.3},
            {"intent_response_key": "faq/untitled", "confidence": 0.15},
        ]}},
    }  # fmt: skip
    topic_titles = {"returns": {"de": "Rücksendung", "en": "Returns"}, "refunds": {"de": "Erstattung", "en": "Refunds"}}
    intent_titles = {"order_status": {"de": "Wo ist meine Bestellung?"}, "affirm": {"de": "Ja"}}
    found = suggestions.suggestions(parse_data, topic_titles, intent_titles, "de")
    assert [(s.title, s.payload) for s in found] == [
        ("Rücksendung", '/faq_topic{"topic":"returns"}'),
        ("Wo ist meine Bestellung?", "/order_status"),
        ("Erstattung", '/faq_topic{"topic":"refunds"}'),
    ]


def test_every_topic_and_intent_has_a_title_in_every_language() -> None:
    _, supported = languages()
    for folder in ("topics", "intents"):
        ids = {p.stem for p in (faq_dir() / folder).glob("*.yml")}
        titles = suggestions.titles(folder)
        assert set(titles) == ids, folder
        for key, by_language in titles.items():
            assert all(by_language.get(lang) for lang in supported), (folder, key)


def test_faq_topic_payloads_parse_as_rasa_intent_payloads() -> None:
    payload = suggestions.faq_topic_payload("damaged_item")
    assert re.fullmatch(r'/faq_topic\{"topic":"damaged_item"\}', payload)


def test_every_text_the_actions_use_exists() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (faq_dir().parent / "bot" / "actions").glob("*.py"))
    used = set(re.findall(r"""(?:texts|say)\(\s*["']([a-z_0-9]+)["']""", source))
    used |= {f"handoff_{team}" for team in handoff.TEAMS}
    used |= {preface for _, preface in handoff.DIRECT.values() if preface}
    used |= {f"status_{s}" for s in (*order_answers.STATUSES, "unknown")}
    used |= {f"status_name_{s}" for s in (*order_answers.STATUSES, "unknown")}
    used |= {f"return_reason_{n}" for n in range(1, 5)}
    assert len(used) > 60
    for lang in languages()[1]:
        missing = {key for key in used if not texts(lang).has(key)}
        assert not missing, (lang, missing)


def test_an_unexpected_failure_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """Actions answer every failure politely; only the log tells a bug from an outage."""
    log = logging.getLogger("test.actions")
    with caplog.at_level(logging.WARNING, logger="test.actions"):
        log_failure(log, "order task", GatewayUnavailable("timed out"))
        log_failure(log, "order task", KeyError("status"))
    outage, bug = caplog.records
    assert (outage.levelno, outage.exc_info) == (logging.WARNING, None)
    assert bug.levelno == logging.ERROR and bug.exc_info is not None
