"""The Rasa Socket.IO protocol: parsing what widgets send, rendering what they expect."""

from __future__ import annotations

import pytest

from channels import webchat
from core.types import Author, Event, EventKind, OutgoingMessage, QuickReply


def test_a_session_request_without_id_gets_a_new_unguessable_one() -> None:
    request = webchat.parse_session_request({"session_id": None})
    assert request.is_new and len(request.session_id) == 32
    assert webchat.parse_session_request(None).session_id != request.session_id


def test_a_known_looking_session_id_is_kept_and_a_guessable_one_replaced() -> None:
    good = "f" * 32
    assert webchat.parse_session_request({"session_id": good}).session_id == good
    weak = webchat.parse_session_request({"session_id": "1"})
    assert weak.is_new and weak.session_id != "1"
    assert webchat.parse_session_request({"session_id": "../../etc" + "a" * 30}).is_new


@pytest.mark.parametrize("payload, code", [
    ("hallo", "invalid_payload"),
    ({"message": 42}, "invalid_payload"),
    ([], "invalid_payload"),
    (None, "invalid_payload"),
    ({"message": "hi", "metadata": {"a": {"b": {"c": {"d": {"e": 1}}}}}}, "invalid_payload"),
    ({"message": "hi", "metadata": {"tags": list(range(200))}}, "invalid_payload"),
    ({"message": "   "}, "empty_message"),
    ({"message": "x" * 2001}, "message_too_long"),
    ({"message": "hi", "metadata": "nope"}, "invalid_payload"),
])
def test_bad_user_uttered_payloads_are_refused_with_a_code(payload: object, code: str) -> None:
    with pytest.raises(webchat.InvalidPayload) as refused:
        webchat.parse_user_uttered(payload, max_chars=2000)
    assert refused.value.code == code


def test_rasa_webchats_init_payload_without_a_message_is_nothing_to_answer() -> None:
    assert webchat.parse_user_uttered({"customData": {"language": "de"}}, max_chars=10) is None
    assert webchat.parse_user_uttered({}, max_chars=10) is None


def test_lone_surrogates_become_replacement_characters_not_a_crash_in_redis() -> None:
    uttered = webchat.parse_user_uttered({"message": "Hallo \ud800!", "metadata": {"locale": "de\udfff"}},
                                         max_chars=100)
    assert uttered is not None
    assert (uttered.text, uttered.metadata["locale"]) == ("Hallo \ufffd!", "de\ufffd")
    uttered.text.encode("utf-8")  # what Redis does with it


def test_rasa_widgets_custom_data_is_read_as_metadata() -> None:
    uttered = webchat.parse_user_uttered({"message": " hi ", "customData": {"locale": "en"}}, max_chars=10)
    assert uttered.text == "hi" and uttered.metadata == {"locale": "en"}


def test_the_rich_form_is_one_payload_with_who_wrote_it_and_the_case_event() -> None:
    message = OutgoingMessage("Wie kann ich helfen?", quick_replies=(QuickReply("Versand", "/faq_shipping"),),
                              image_url="https://shop.example/a.png")
    event = Event("1700000000000-0", EventKind.MESSAGE, 1700000000.25, Author.BOT, "Wie kann ich helfen?")
    assert webchat.render_rich(message, event) == {
        "text": "Wie kann ich helfen?",
        "author": "bot",
        "quick_replies": [{"content_type": "text", "title": "Versand", "payload": "/faq_shipping"}],
        "attachment": {"type": "image", "payload": {"src": "https://shop.example/a.png"}},
        "id": "1700000000000-0",
        "at": 1700000000250,
    }
    agent = webchat.render_rich(OutgoingMessage("Hallo, hier Anna", author=Author.AGENT, agent_name="Anna"))
    assert agent == {"text": "Hallo, hier Anna", "author": "agent", "agent_name": "Anna"}


def test_the_plain_form_has_exactly_rasas_keys_text_and_image_apart() -> None:
    """As Rasa's socketio channel sends them: rasa-webchat renders nothing with other keys."""
    replies = (QuickReply("Versand", "/faq_shipping"),)
    assert webchat.render_plain(OutgoingMessage("Hallo!")) == [{"text": "Hallo!"}]
    assert webchat.render_plain(OutgoingMessage("Wobei?", quick_replies=replies)) == [
        {"text": "Wobei?", "quick_replies": [{"content_type": "text", "title": "Versand", "payload": "/faq_shipping"}]},
    ]
    assert webchat.render_plain(OutgoingMessage("So sieht er aus:", image_url="https://shop.example/a.png")) == [
        {"text": "So sieht er aus:"},
        {"attachment": {"type": "image", "payload": {"src": "https://shop.example/a.png"}}},
    ]
    assert webchat.render_plain(OutgoingMessage("", image_url="https://shop.example/a.png")) == [
        {"attachment": {"type": "image", "payload": {"src": "https://shop.example/a.png"}}},
    ]


def test_a_plain_widget_reads_the_agents_name_in_the_text_where_the_shop_wants_it() -> None:
    agent = OutgoingMessage("Ich schaue nach.", author=Author.AGENT, agent_name="Anna")
    assert webchat.render_plain(agent) == [{"text": "Anna: Ich schaue nach."}]
    assert webchat.render_plain(agent, agent_names=False) == [{"text": "Ich schaue nach."}]
    system = OutgoingMessage("Anna kümmert sich jetzt um Ihr Anliegen.", author=Author.SYSTEM)
    assert webchat.render_plain(system) == [{"text": "Anna kümmert sich jetzt um Ihr Anliegen."}]


def test_only_known_extensions_are_read_from_a_session_request() -> None:
    assert webchat.parse_session_request({"session_id": None}).extensions == frozenset()
    declared = webchat.parse_session_request({"extensions": ["author", "typing", "emoji", 7, None]})
    assert declared.extensions == {"author", "typing"}
    assert webchat.parse_session_request({"extensions": "author"}).extensions == frozenset()
    assert webchat.parse_session_request({"extensions": ["x"] * 10_000 + ["author"]}).extensions == frozenset()


def test_history_shows_messages_but_nothing_internal() -> None:
    events = [
        Event("1-0", EventKind.STATE, 1.0, data={"to": "bot"}),
        Event("2-0", EventKind.MESSAGE, 2.0, Author.SHOPPER, "hallo", {"metadata": {"locale": "de"}}),
        Event("3-0", EventKind.MESSAGE, 3.0, Author.BOT, "Hallo!", {"intent": "greet", "confidence": 0.9}),
    ]
    assert webchat.render_history(events) == [
        {"author": "shopper", "text": "hallo", "at": 2000},
        {"author": "bot", "text": "Hallo!", "at": 3000},
    ]


def test_the_shoppers_messages_in_the_history_carry_their_message_id() -> None:
    events = [Event("1-0", EventKind.MESSAGE, 1.0, Author.SHOPPER, "hallo", {"client_message_id": "m-12345678"}),
              Event("2-0", EventKind.MESSAGE, 2.0, Author.SHOPPER, "noch da?")]
    assert [item.get("message_id") for item in webchat.render_history(events)] == ["m-12345678", None]


def test_history_shows_a_tapped_quick_reply_by_its_title() -> None:
    events = [Event("1-0", EventKind.MESSAGE, 1.0, Author.SHOPPER, "/human", {"quick_reply_title": "Talk to a person"})]
    assert webchat.render_history(events)[0]["text"] == "Talk to a person"
