"""The WhatsApp Cloud API adapter, replaying webhook bodies recorded in Meta's format.

The bodies are signed here with hmac directly, as Meta signs them, so a mistake shared
by the test and channels.meta cannot hide."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from channels.base import (
    ChannelAdapter,
    DeliveryState,
    DeliveryStatus,
    Inbound,
    InvalidSignature,
    MalformedPayload,
    Media,
    OutsideWindow,
    ProviderRequest,
    SubscriptionHandshake,
    TemplateSender,
    WebhookRequest,
)
from channels.whatsapp import WhatsApp, WhatsAppSettings
from core.types import Channel, OutgoingMessage, QuickReply

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
SECRET = "9f3c1a7e52b04d6f8e21c0b7a4d95e13"
SETTINGS = WhatsAppSettings(app_secret=SECRET, verify_token="storechat-verify-7Qx2", access_token="EAAGm0PX4ZCpsBAtest",
                            phone_number_id="106540352242922")
URL = "https://graph.facebook.com/v21.0/106540352242922/messages"
ANNA = "+4915112345678"
BUSINESS = "106540352242922"


@pytest.fixture
def whatsapp() -> WhatsApp:
    return WhatsApp(SETTINGS)


def request(body: bytes, signature: str | None) -> WebhookRequest:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-hub-signature-256"] = signature
    return WebhookRequest("POST", "https://shop.example/webhooks/whatsapp", headers, {}, body)


def signed(body: bytes) -> WebhookRequest:
    return request(body, "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest())


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def recorded_message_ids(name: str) -> list[str]:
    payload = json.loads(fixture(name))
    return [message["id"] for entry in payload["entry"] for change in entry["changes"]
            for message in change["value"].get("messages", [])]


def received(adapter: WhatsApp, name: str) -> list[Inbound | DeliveryStatus]:
    webhook = signed(fixture(name))
    adapter.verify(webhook)
    return adapter.parse(webhook)


def shopper(name: str, text: str, at: float, **extra: Any) -> Inbound:
    [wamid] = recorded_message_ids(name)
    return Inbound(Channel.WHATSAPP, wamid, ANNA, text, at, profile_name="Anna Schmidt", business_address=BUSINESS,
                   **extra)


def sent(call: ProviderRequest) -> dict[str, Any]:
    assert call.method == "POST" and call.url == URL
    assert call.headers == {"Authorization": "Bearer EAAGm0PX4ZCpsBAtest", "Content-Type": "application/json"}
    decoded: dict[str, Any] = json.loads(call.body)
    assert decoded.pop("messaging_product") == "whatsapp" and decoded.pop("recipient_type") == "individual"
    assert decoded.pop("to") == "4915112345678"
    return decoded


def options(count: int, title: str = "Option") -> tuple[QuickReply, ...]:
    return tuple(QuickReply(f"{title} {number}", f"/choose{{\"n\":{number}}}") for number in range(1, count + 1))


def test_the_adapter_is_a_channel_adapter_with_meta_handshake(whatsapp: WhatsApp) -> None:
    # The annotations are the check: mypy refuses them if the contract is not met.
    adapter: ChannelAdapter = whatsapp
    handshake: SubscriptionHandshake = whatsapp
    assert adapter.channel is Channel.WHATSAPP and handshake.handshake({}) is None
    assert adapter.acknowledgement.content_type == "text/plain" and adapter.acknowledgement.body == b""


# --- signature and handshake -------------------------------------------------------


def test_a_forged_signature_tampered_body_or_missing_header_is_refused(whatsapp: WhatsApp) -> None:
    body = fixture("text")
    forged = "sha256=" + hmac.new(b"not-our-secret", body, hashlib.sha256).hexdigest()
    tampered = request(body.replace(b"100234", b"100235"), signed(body).headers["x-hub-signature-256"])
    for webhook in (request(body, forged), tampered, request(body, None),
                    request(body, "sha1=" + hashlib.sha1(body).hexdigest())):
        with pytest.raises(InvalidSignature):
            whatsapp.verify(webhook)
    whatsapp.verify(signed(body))


def test_the_subscription_handshake_echoes_the_challenge_only_for_our_token(whatsapp: WhatsApp) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "storechat-verify-7Qx2", "hub.challenge": "1158201444"}
    assert whatsapp.handshake(query) == "1158201444"
    assert whatsapp.handshake({**query, "hub.verify_token": "guess"}) is None
    assert whatsapp.handshake({**query, "hub.mode": "unsubscribe"}) is None


# --- parsing ----------------------------------------------------------------------


def test_a_batched_webhook_yields_every_message_and_status_in_order(whatsapp: WhatsApp) -> None:
    items = received(whatsapp, "batched")
    summary = [(item.address, item.text) if isinstance(item, Inbound) else (item.address, item.state)
               for item in items]
    assert summary == [
        (ANNA, "Hallo"),
        (ANNA, "Ich habe noch eine Frage zur Lieferung"),
        (ANNA, ""),  # the image, without caption
        ("+4917623456789", "/faq_shipping"),
        (ANNA, DeliveryState.SENT),
        ("+4917623456789", DeliveryState.FAILED),
        (ANNA, "/talk_to_agent"),  # second entry; the reaction before it is skipped
    ]
    ids = recorded_message_ids("batched")
    assert [item.provider_id for item in items if isinstance(item, Inbound)] == [ids[0], ids[1], ids[2], ids[3], ids[5]]
    ben = items[3]
    assert isinstance(ben, Inbound) and ben.profile_name == "Ben Müller" and ben.reply_title == "Versandkosten"


def test_a_text_message(whatsapp: WhatsApp) -> None:
    assert received(whatsapp, "text") == [Inbound(
        Channel.WHATSAPP, "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYIENFRjdDQ0Q4OURBQ0YxQ0VENkY1RUM5MUQ3NTk5NTNGAA==", ANNA,
        "Hallo! Wo ist meine Bestellung 100234?", 1718035200.0, profile_name="Anna Schmidt", business_address=BUSINESS,
    )]


@pytest.mark.parametrize("name, expected", [
    ("button_reply", shopper("button_reply", "/track_order", 1718035260.0, reply_title="Sendung verfolgen")),
    ("list_reply", shopper("list_reply", "/faq_returns", 1718035320.0, reply_title="Rücksendung")),
    ("template_button", shopper("template_button", "/confirm_delivery", 1718035380.0, reply_title="Ja, passt")),
    ("image", shopper("image", "So kam das Paket an 😞", 1718035440.0, media=(Media(
        "image", media_id="1175213913674893", content_type="image/jpeg", caption="So kam das Paket an 😞"),))),
    ("document", shopper("document", "", 1718035500.0, media=(Media(
        "file", media_id="824503019659710", content_type="application/pdf"),))),
    ("audio", shopper("audio", "", 1718035560.0, media=(Media(
        "audio", media_id="1530651367821924", content_type="audio/ogg; codecs=opus"),))),
    ("video", shopper("video", "Das Gerät macht dieses Geräusch", 1718035620.0, media=(Media(
        "video", media_id="994216735651204", content_type="video/mp4", caption="Das Gerät macht dieses Geräusch"),))),
    ("sticker", shopper("sticker", "", 1718035680.0, media=(Media(
        "sticker", media_id="1412830462933129", content_type="image/webp"),))),
    ("location", shopper("location", "Berlin Hauptbahnhof, Europaplatz 1, 10557 Berlin", 1718035740.0, media=(Media(
        "location", url="https://maps.google.com/?q=52.525083,13.369402"),))),
    ("location_pin", shopper("location_pin", "", 1718035800.0, media=(Media(
        "location", url="https://maps.google.com/?q=48.137154,11.576124"),))),
])
def test_each_message_kind_parses_to_what_the_conversation_loop_reads(
        whatsapp: WhatsApp, name: str, expected: Inbound) -> None:
    assert received(whatsapp, name) == [expected]


@pytest.mark.parametrize("name", ["reaction", "unsupported", "system"])
def test_reactions_unsupported_and_system_messages_are_not_answered(whatsapp: WhatsApp, name: str) -> None:
    assert received(whatsapp, name) == []


def test_statuses_report_delivery_and_why_a_message_failed(whatsapp: WhatsApp) -> None:
    buttons = "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYIDc5MUNDRTM2RjBFMzRFODEyQ0RFMTYzMTcyMjEyQjVGAA=="
    late = "wamid.HBgNNDkxNzYyMzQ1Njc4ORUCABIYIEYyQzY3MzgxREIyOEZBMTFDNTlGRTdBNkRGMEYyNTg3AA=="
    assert received(whatsapp, "statuses") == [
        DeliveryStatus(Channel.WHATSAPP, buttons, ANNA, DeliveryState.SENT, 1718036001.0),
        DeliveryStatus(Channel.WHATSAPP, buttons, ANNA, DeliveryState.DELIVERED, 1718036003.0),
        DeliveryStatus(Channel.WHATSAPP, buttons, ANNA, DeliveryState.READ, 1718036042.0),
        DeliveryStatus(Channel.WHATSAPP, late, "+4917623456789", DeliveryState.FAILED, 1718036100.0,
                       error="131047 Re-engagement message: Message failed to send because more than 24 hours have "
                             "passed since the customer last replied to this number."),
    ]


def test_malformed_single_items_are_skipped_and_the_rest_still_arrives(whatsapp: WhatsApp) -> None:
    items = received(whatsapp, "malformed_items")
    good = json.loads(fixture("malformed_items"))["entry"][0]["changes"][0]["value"]["messages"][-1]["id"]
    # No id, no sender, not an object, no text body: skipped; so are the status without
    # id and the "deleted" one.
    assert [(item.provider_id, item.text) for item in items if isinstance(item, Inbound)] == [
        (good, "Die hier kommt an")]
    assert len(items) == 1


@pytest.mark.parametrize("body", [
    b'{"object": "page", "entry": []}',
    b'{"object": "whatsapp_business_account"}',
    b'{"object": "whatsapp_business_account", "entry": {}}',
    b'[]',
    b'{"object": "whatsapp_business_account", "entry": [',
    b'\xff\xfe not utf-8',
])
def test_a_body_that_is_not_a_whatsapp_webhook_is_malformed(whatsapp: WhatsApp, body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        whatsapp.parse(signed(body))


def test_other_webhook_fields_are_skipped(whatsapp: WhatsApp) -> None:
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
        {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}}]}]}).encode()
    assert whatsapp.parse(signed(body)) == []


# --- outgoing ---------------------------------------------------------------------


def test_a_text_goes_as_one_request_with_link_preview_only_for_links(whatsapp: WhatsApp) -> None:
    [plain] = whatsapp.outgoing(ANNA, OutgoingMessage("Gern geschehen – schönen Tag noch!"))
    assert sent(plain) == {"type": "text",
                           "text": {"preview_url": False, "body": "Gern geschehen – schönen Tag noch!"}}
    assert "–".encode() in plain.body and b", " not in plain.body  # UTF-8, compact
    [link] = whatsapp.outgoing(ANNA, OutgoingMessage("Ihre Sendung: https://track.example/DE123"))
    assert sent(link)["text"] == {"preview_url": True, "body": "Ihre Sendung: https://track.example/DE123"}


def test_three_quick_replies_become_reply_buttons(whatsapp: WhatsApp) -> None:
    replies = (QuickReply("Sendung verfolgen", "/track_order"), QuickReply("Rücksendung", "/faq_returns"),
               QuickReply("Mit Mensch sprechen", "/talk_to_agent"))
    [call] = whatsapp.outgoing(ANNA, OutgoingMessage("Wobei kann ich helfen?", quick_replies=replies))
    assert sent(call) == {"type": "interactive", "interactive": {
        "type": "button", "body": {"text": "Wobei kann ich helfen?"}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": "/track_order", "title": "Sendung verfolgen"}},
            {"type": "reply", "reply": {"id": "/faq_returns", "title": "Rücksendung"}},
            {"type": "reply", "reply": {"id": "/talk_to_agent", "title": "Mit Mensch sprechen"}},
        ]}}}


def test_button_titles_are_clipped_and_kept_unique(whatsapp: WhatsApp) -> None:
    replies = (QuickReply("Bestellung 100234567 ansehen", "/order{\"id\":\"100234567\"}"),
               QuickReply("Bestellung 100234568 ansehen", "/order{\"id\":\"100234568\"}"),
               QuickReply("ja", "/affirm_twice"))
    [call] = whatsapp.outgoing(ANNA, OutgoingMessage("Welche Bestellung?", quick_replies=replies))
    titles = [button["reply"]["title"] for button in sent(call)["interactive"]["action"]["buttons"]]
    assert titles == ["Bestellung 10023456…", "Bestellung 100234… 2", "ja"]
    assert all(len(title) <= 20 for title in titles)
    twins = (QuickReply("Ja", "/a"), QuickReply("ja", "/b"))
    [same] = whatsapp.outgoing(ANNA, OutgoingMessage("?", quick_replies=twins))
    assert [b["reply"]["title"] for b in sent(same)["interactive"]["action"]["buttons"]] == ["Ja", "ja 2"]


def test_four_to_ten_options_become_a_list_with_a_language_neutral_label(whatsapp: WhatsApp) -> None:
    replies = options(9, "Kategorie mit langem Namen")
    [call] = whatsapp.outgoing(ANNA, OutgoingMessage("Worum geht es?", quick_replies=replies))
    interactive = sent(call)["interactive"]
    assert interactive["type"] == "list" and interactive["body"] == {"text": "Worum geht es?"}
    assert interactive["action"]["button"] == "☰"
    [section] = interactive["action"]["sections"]
    assert section["rows"][0] == {"id": '/choose{"n":1}', "title": "Kategorie mit langem Na…"}
    titles = [row["title"] for row in section["rows"]]
    assert len(set(titles)) == 9 and all(len(title) <= 24 for title in titles)
    assert [row["id"] for row in section["rows"]] == [reply.payload for reply in replies]


def test_more_than_ten_options_become_numbered_text(whatsapp: WhatsApp) -> None:
    [call] = whatsapp.outgoing(ANNA, OutgoingMessage("Welche Größe?", quick_replies=options(11, "Größe")))
    body = sent(call)["text"]["body"]
    assert body.startswith("Welche Größe?\n\n1) Größe 1\n") and body.endswith("\n11) Größe 11")


def test_payloads_whatsapp_cannot_take_as_ids_fall_back_to_numbered_text(whatsapp: WhatsApp) -> None:
    too_long = (QuickReply("Ja", "/affirm" + "x" * 300), QuickReply("Nein", "/deny"))
    [call] = whatsapp.outgoing(ANNA, OutgoingMessage("Passt das?", quick_replies=too_long))
    assert sent(call)["text"]["body"] == "Passt das?\n\n1) Ja\n2) Nein"


def test_options_without_a_text_to_show_them_under_become_numbered_text(whatsapp: WhatsApp) -> None:
    [call] = whatsapp.outgoing(ANNA, OutgoingMessage("", quick_replies=options(2)))
    assert sent(call)["text"]["body"] == "1) Option 1\n2) Option 2"


def test_a_long_text_is_split_and_the_buttons_come_only_with_the_last_part(whatsapp: WhatsApp) -> None:
    sentence = "Unsere Rückgabebedingungen gelten für alle Artikel aus dem Sortiment. "
    text = (sentence * 130).strip()
    assert len(text) > 9000
    calls = whatsapp.outgoing(ANNA, OutgoingMessage(text, quick_replies=options(2)))
    bodies = [sent(call) for call in calls]
    assert [body["type"] for body in bodies] == ["text"] * (len(bodies) - 1) + ["interactive"]
    parts = [body["text"]["body"] for body in bodies[:-1]] + [bodies[-1]["interactive"]["body"]["text"]]
    assert len(parts) >= 3 and all(len(part) <= 4096 for part in parts)
    assert len(parts[-1]) <= 1024
    assert " ".join(parts) == text  # nothing lost, nothing invented


def test_a_last_part_too_long_for_a_button_body_is_split_again(whatsapp: WhatsApp) -> None:
    first_paragraph = ("Erster Absatz. " * 50).strip()
    last_paragraph = "Zweiter Absatz. " * 20 + "Wie möchten Sie fortfahren?"
    text = f"{first_paragraph}\n\n{last_paragraph}"
    assert len(text) > 1024
    calls = whatsapp.outgoing(ANNA, OutgoingMessage(text, quick_replies=options(3)))
    first, buttons = (sent(call) for call in calls)
    assert first["text"]["body"] == first_paragraph
    assert buttons["interactive"]["body"] == {"text": last_paragraph}
    assert len(buttons["interactive"]["action"]["buttons"]) == 3


def test_the_image_goes_first(whatsapp: WhatsApp) -> None:
    message = OutgoingMessage("So sieht der Artikel aus.", image_url="https://shop.example/p/4711.jpg")
    image, text = (sent(call) for call in whatsapp.outgoing(ANNA, message))
    assert image == {"type": "image", "image": {"link": "https://shop.example/p/4711.jpg"}}
    assert text["text"]["body"] == "So sieht der Artikel aus."


def test_nothing_free_form_is_sent_outside_the_24_hour_window(whatsapp: WhatsApp) -> None:
    with pytest.raises(OutsideWindow):
        whatsapp.outgoing(ANNA, OutgoingMessage("Hallo?"), window_open=False)


def test_a_template_fills_its_parameters_as_meta_takes_them(whatsapp: WhatsApp) -> None:
    request = whatsapp.template(ANNA, "order_delayed", "de", ["104233", "Montag,\n30.  November", ""])
    assert isinstance(whatsapp, TemplateSender)
    # No newlines or runs of spaces, nothing empty: Meta refuses those parameters.
    assert sent(request) == {"type": "template", "template": {
        "name": "order_delayed", "language": {"code": "de"}, "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "104233"}, {"type": "text", "text": "Montag, 30. November"},
            {"type": "text", "text": "-"}]}]}}
    assert "components" not in sent(whatsapp.template(ANNA, "order_delivered", "en", []))["template"]


def test_sent_ids_reads_the_send_answer_and_never_raises(whatsapp: WhatsApp) -> None:
    assert whatsapp.sent_ids(fixture("send_response")) == [
        "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYIDFEQThDRjM0QTAwNzgyODIxOUFDREM3RkRGNEIxQjExAA=="]
    for garbage in (b"", b"<html>502</html>", b"[]", b'{"messages": "x"}', b'{"messages": [{"id": 5}, 7]}',
                    b'{"error": {"code": 131047}}'):
        assert whatsapp.sent_ids(garbage) == []
