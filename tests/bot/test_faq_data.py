"""faq_data/ is complete in every language and states the demo shop's policy sheet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from gateway.bot.faq import (
    MAX_TITLE_LENGTH,
    load_chitchat,
    load_intents,
    load_languages,
    load_topics,
    training_examples,
)

ROOT = Path(__file__).resolve().parents[2]
FAQ = ROOT / "faq_data"
LANGUAGES = load_languages(FAQ)
TOPICS = {t.id: t for t in load_topics(FAQ, LANGUAGES)}
INTENTS = {i.id: i for i in load_intents(FAQ, LANGUAGES)}
# The NLU ↔ dialogue contract (contract-issue3.md): actions and rules rely on these names.
CONTRACT_INTENTS = {
    "order_status", "order_history", "invoice_request", "start_return", "return_status",
    "cancel_order", "change_address", "delivered_not_received", "report_damage",
    "billing_problem", "request_human", "request_callback", "complain", "affirm", "deny",
    "out_of_scope",  # off-topic: trained so that nonsense does not land on a real intent
}  # fmt: skip
MIN_QUESTIONS = 20


def test_default_language_is_supported() -> None:
    assert LANGUAGES.default in LANGUAGES.supported
    assert {"de", "en"} <= set(LANGUAGES.supported)


@pytest.mark.parametrize("topic_id", sorted(TOPICS))
@pytest.mark.parametrize("lang", LANGUAGES.supported)
def test_every_topic_has_many_questions_and_an_answer(topic_id: str, lang: str) -> None:
    topic = TOPICS[topic_id]
    assert len(set(topic.questions[lang])) >= MIN_QUESTIONS
    assert topic.answers[lang].strip()


def test_there_are_at_least_25_topics() -> None:
    assert len(TOPICS) >= 25


@pytest.mark.parametrize("item_id", sorted([*(f"faq/{t}" for t in TOPICS), *INTENTS]))
@pytest.mark.parametrize("lang", LANGUAGES.supported)
def test_every_topic_and_intent_has_a_short_title(item_id: str, lang: str) -> None:
    item = TOPICS[item_id[4:]] if item_id.startswith("faq/") else INTENTS[item_id]
    assert 0 < len(item.title[lang]) <= MAX_TITLE_LENGTH


def test_the_contract_intents_exist() -> None:
    assert set(INTENTS) == CONTRACT_INTENTS


@pytest.mark.parametrize("intent_id", sorted(INTENTS))
@pytest.mark.parametrize("lang", LANGUAGES.supported)
def test_every_intent_has_many_questions(intent_id: str, lang: str) -> None:
    assert len(set(INTENTS[intent_id].questions[lang])) >= MIN_QUESTIONS


def test_order_status_is_asked_with_and_without_an_order_number() -> None:
    for lang in LANGUAGES.supported:
        questions = INTENTS["order_status"].questions[lang]
        with_number = [q for q in questions if re.search(r"\b\d{6}\b", q)]
        assert 3 <= len(with_number) <= len(questions) - 10, lang


def test_no_example_trains_two_labels() -> None:
    # Raises FaqDataError naming the example otherwise; here: every label is present.
    labels = set(training_examples(FAQ).values())
    assert {f"faq/{t}" for t in TOPICS} | set(INTENTS) <= labels


def test_required_topics_exist() -> None:
    required = {
        "returns", "refunds", "shipping_costs", "delivery_time",
        "payment_methods", "warranty", "contact",
    }  # fmt: skip
    assert required <= set(TOPICS)


def test_topic_file_names_match_ids() -> None:
    for path in (FAQ / "topics").glob("*.yml"):
        assert yaml.safe_load(path.read_text(encoding="utf-8"))["id"] == path.stem


def test_a_question_belongs_to_one_topic_only() -> None:
    owner: dict[str, str] = {}
    for topic in TOPICS.values():
        for lang in LANGUAGES.supported:
            for q in topic.questions[lang]:
                key = q.casefold()
                assert owner.setdefault(key, topic.id) == topic.id, q


def test_chitchat_covers_greet_goodbye_thanks_and_bot_challenge() -> None:
    chitchat = {c.id: c for c in load_chitchat(FAQ, LANGUAGES)}
    assert {"greet", "goodbye", "thanks", "bot_challenge"} <= set(chitchat)
    for item in chitchat.values():
        for lang in LANGUAGES.supported:
            assert item.answers[lang].strip()


# Policy sheet facts (MISSION.md) that each answer must state, per language.
POLICY_FACTS: dict[str, dict[str, list[str]]] = {
    "returns": {
        "de": ["30 Tagen", "Lieferung", "ohne Angabe von Gründen", "DHL", "kostenlos",
               "Kundenkonto"],
        "en": ["30 days", "delivery", "no reason", "DHL", "free", "customer account"],
    },
    "refunds": {
        "de": ["ursprüngliche Zahlungsart", "3 Werktagen", "Lager"],
        "en": ["original payment method", "3 business days", "warehouse"],
    },
    "shipping_costs": {
        "de": ["50 EUR", "4,95 EUR", "9,90 EUR", "14:00", "nächsten Werktag", "Deutschland"],
        "en": ["50 EUR", "4.95 EUR", "9.90 EUR", "14:00", "next business day", "Germany only"],
    },
    "delivery_time": {
        "de": ["2–4 Werktage", "4–7 Werktage", "DHL", "DPD", "Packstation", "Österreich",
               "Schweiz", "Niederlande", "Belgien", "Frankreich", "Dänemark"],
        "en": ["2–4 business days", "4–7 business days", "DHL", "DPD", "Packstation",
               "Austria", "Switzerland", "Netherlands", "Belgium", "France", "Denmark"],
    },
    "payment_methods": {
        "de": ["PayPal", "Visa", "Mastercard", "Klarna", "14 Tagen", "SEPA", "Apple Pay",
               "Nachnahme bieten wir nicht"],
        "en": ["PayPal", "Visa", "Mastercard", "Klarna", "14 days", "SEPA", "Apple Pay",
               "do not offer cash on delivery"],
    },
    "warranty": {"de": ["2 Jahren", "gesetzliche"], "en": ["2-year", "statutory"]},
    "contact": {
        "de": ["Montag bis Freitag von 8:00 bis 20:00", "Samstag von 9:00 bis 16:00",
               "rund um die Uhr", "+49 30 1234 5670", "service@nordlicht-home.example"],
        "en": ["Monday to Friday 8:00–20:00", "Saturday 9:00–16:00", "Europe/Berlin",
               "24/7", "+49 30 1234 5670", "service@nordlicht-home.example"],
    },
    "damaged_item": {
        "de": ["14 Tagen", "Foto", "Ersatz", "erstatten"],
        "en": ["14 days", "photo", "replacement", "refund"],
    },
    "cancellation": {"de": ["gepackt"], "en": ["packed", "return"]},
    "change_address": {"de": ["versandt"], "en": ["shipped"]},
    "invoice_copy": {
        "de": ["Kundenkonto", "Meine Bestellungen", "verifiziert"],
        "en": ["customer account", "My orders", "verified"],
    },
    "vouchers": {
        "de": ["ein Gutschein", "nicht kombinierbar", "nicht in bar"],
        "en": ["One voucher", "cannot be combined", "cash"],
    },
    "gift_wrapping": {"de": ["3,50 EUR pro Artikel"], "en": ["3.50 EUR per item"]},
    "data_privacy": {"de": ["Löschung", "Export"], "en": ["deletion", "data export"]},
    "exchange": {
        "de": ["30 Tagen ab Lieferung", "kostenlosen DHL", "3 Werktagen", "ursprüngliche Zahlungsart"],
        "en": ["30 days of delivery", "free DHL", "3 business days", "original payment method"],
    },
    "express_shipping": {
        "de": ["9,90 EUR", "14:00", "nächsten Werktag", "nur innerhalb Deutschlands"],
        "en": ["9.90 EUR", "14:00", "next business day", "Germany only"],
    },
    "shipping_countries": {
        "de": ["Deutschland", "Österreich", "Schweiz", "Niederlande", "Belgien", "Frankreich",
               "Dänemark", "2–4 Werktage", "4–7 Werktage"],
        "en": ["Germany", "Austria", "Switzerland", "Netherlands", "Belgium", "France",
               "Denmark", "2–4 business days", "4–7 business days"],
    },
    "packstation": {"de": ["DHL Packstation"], "en": ["DHL Packstation"]},
    "klarna_invoice": {"de": ["Klarna", "14 Tagen"], "en": ["Klarna", "14 days"]},
    "order_change": {"de": ["gepackt", "stornieren"], "en": ["packed", "cancel"]},
    "customs": {"de": ["Schweiz", "nicht zur EU", "4–7 Werktage"],
                "en": ["Switzerland", "not in the EU", "4–7 business days"]},
    "gift_vouchers": {
        "de": ["ein Gutschein pro Bestellung", "nicht kombinierbar", "nicht in bar"],
        "en": ["one voucher per order", "not combinable", "cash"],
    },
    "out_of_hours": {
        "de": ["rund um die Uhr", "Montag bis Freitag von 8:00 bis 20:00", "Samstag von 9:00 bis 16:00",
               "Warteschlange"],
        "en": ["24/7", "Monday to Friday 8:00–20:00", "Saturday 9:00–16:00", "Europe/Berlin", "queue"],
    },
}


@pytest.mark.parametrize("topic_id", sorted(POLICY_FACTS))
def test_answers_state_the_policy_sheet(topic_id: str) -> None:
    for lang, facts in POLICY_FACTS[topic_id].items():
        answer = TOPICS[topic_id].answers[lang]
        for fact in facts:
            assert fact in answer, f"{topic_id} [{lang}] lacks {fact!r}: {answer}"


def test_no_answer_contradicts_the_prices() -> None:
    # Any EUR amount in any answer must be one of the policy sheet's amounts.
    allowed = {"50", "4,95", "4.95", "9,90", "9.90", "3,50", "3.50"}
    for topic in TOPICS.values():
        for answer in topic.answers.values():
            for amount in re.findall(r"(\d+(?:[.,]\d+)?) EUR", answer):
                assert amount in allowed, (topic.id, amount)


def test_no_answer_invents_a_deadline() -> None:
    # Every time span in an answer must be one the policy sheet states.
    allowed = {"30", "14", "3", "2–4", "4–7"}
    pattern = r"(\d+(?:–\d+)?) (?:Tag|Tage|Tagen|Werktag|Werktage|Werktagen|days|business days)\b"
    for topic in TOPICS.values():
        for answer in topic.answers.values():
            for span in re.findall(pattern, answer):
                assert span in allowed, (topic.id, span)
