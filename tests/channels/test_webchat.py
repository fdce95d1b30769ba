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


def test_render_speaks_rasa_bot_uttered() -> None:
    message = OutgoingMessage("Wie kann ich helfen?", quick_replies=(QuickReply("Versand", "/faq_shipping"),),
                              image_url="https://shop.example/a.png")
    assert webchat.render(message) == {
        "text": "Wie kann ich helfen?",
        "author": "bot",
        "quick_replies": [{"content_type": "text", "title": "Versand", "payload": "/faq_shipping"}],
        "attachment": {"type": "image", "payload": {"src": "https://shop.example/a.png"}},
    }
    agent = webchat.render(OutgoingMessage("Hallo, hier Anna", author=Author.AGENT, agent_name="Anna"))
    assert agent["author"] == "agent" and agent["agent_name"] == "Anna"


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


def test_history_shows_a_tapped_quick_reply_by_its_title() -> None:
    events = [Event("1-0", EventKind.MESSAGE, 1.0, Author.SHOPPER, "/human", {"quick_reply_title": "Talk to a person"})]
    assert webchat.render_history(events)[0]["text"] == "Talk to a person"
