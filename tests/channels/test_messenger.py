"""Messenger: recorded Messenger Platform webhooks replayed, Send API calls checked on the wire."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from channels.base import (
    DeliveryState,
    DeliveryStatus,
    Inbound,
    InvalidSignature,
    MalformedPayload,
    Media,
    OutsideWindow,
    ProviderRequest,
    WebhookRequest,
)
from channels.messenger import Messenger, MessengerSettings
from core.types import Author, Channel, OutgoingMessage, QuickReply

FIXTURES = Path(__file__).parent / "fixtures" / "messenger"
APP_SECRET = "5f4dcc3b5aa765d61d8327deb882cf99"
VERIFY_TOKEN = "storechat-verify-7Qm2"
PAGE_TOKEN = "EAAVkZC9xZBZA0cBO+test/token=="
PAGE = "106311265577451"
ANNA = "7421983346512873"
BEN = "25381947720164385"
M = Channel.MESSENGER

adapter = Messenger(MessengerSettings(app_secret=APP_SECRET, verify_token=VERIFY_TOKEN,
                                      page_access_token=PAGE_TOKEN))


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def webhook(body: bytes, signature: str | None = None) -> WebhookRequest:
    """The POST as Meta makes it, signed here on its own (not through channels.meta)."""
    if signature is None:
        signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json"}
    if signature:
        headers["x-hub-signature-256"] = signature
    return WebhookRequest("POST", "https://chat.shop.example/webhooks/messenger", headers, {}, body)


def received(name: str) -> list[Inbound | DeliveryStatus]:
    request = webhook(fixture(name))
    adapter.verify(request)
    return adapter.parse(request)


def sent(request: ProviderRequest) -> dict[str, Any]:
    assert request.method == "POST" and request.headers == {"Content-Type": "application/json"}
    decoded: dict[str, Any] = json.loads(request.body.decode("utf-8"))
    return decoded


# --- webhooks in -----------------------------------------------------------------------


def test_a_batched_body_yields_every_event_in_order_and_skips_our_echo() -> None:
    assert received("batched") == [
        Inbound(M, "m_iSTRIiP9LJm7R04ZhbGSdGWoZ6axl7KBGgMVGOYn7B3-5SApYXfE_1ds3vbgqMMvFuz4zf3ATNeY2Pseh093Fj",
                ANNA, "Hallo", 1718103000.112, business_address=PAGE),
        Inbound(M, "m_9fOptqCWCsuZrJZaVLaPeAU5moHH5F_grANC_aBcnwDDOOAZvw6d3eK3pxFkhJA5uFyeUhwksU8dSaNrFWv5SR",
                BEN, "/faq_shipping", 1718103000.587, reply_title="Versand", business_address=PAGE),
        Inbound(M, "m_clfFhhqCmzhp59yZk4d6_GlThw-ZqyC85Nn7Jf30xIOdZh-NRwhUTv3L-Smo927U2aT1yVPMm5nYtffRcvy0Dx",
                ANNA, "/start_return", 1718103002.781, reply_title="Retoure starten", business_address=PAGE),
    ]


def test_a_text_message_arrives_as_typed_with_its_umlauts() -> None:
    assert received("text") == [Inbound(
        M, "m_RHtUVQcDMpg0TMkxpdzPaEMM1ZA7V0FhHVJWDBt2hWdQZUm14QhoxhLPAbQcEFUV2fsjGHb6HrlEOS47WgjKCu",
        ANNA, "Wo bleibt meine Bestellung? Nr. 10482, Größe 42", 1718102455.277, business_address=PAGE)]


def test_a_tapped_quick_reply_is_its_payload_titled_by_the_button() -> None:
    assert received("quick_reply") == [Inbound(
        M, "m__0xxKhg5QjWV1mKaUyvBPs0jSO2Jkf08MMF1ulMMCw3XVy27dFanUrOSE62chn4xdeJg1Kza5KxxGWfvmaQtKn",
        ANNA, "/order_status", 1718102511.020, reply_title="Sendung verfolgen", business_address=PAGE)]


def test_a_photo_arrives_as_media_without_text() -> None:
    url = ("https://scontent.xx.fbcdn.net/v/t1.15752-9/448021632_1025864395587243_6281537004469213118_n.jpg"
           "?_nc_cat=105&ccb=1-7&_nc_sid=fc17b8&_nc_ohc=Qw3nL5v1xWkQ7kNvgF2nX1k&_nc_ht=scontent.xx"
           "&oh=03_Q7cD1QHx7mOa&oe=668FD2A1")
    assert received("image") == [Inbound(
        M, "m_P_VSGVBrYSuIb9OZiFZ3HLKv797TPNbpjava1bMZwIMlvdp5gjTrD8Osj_LnZ5R-j_8U_m7aSz7NRSOtv75y4S",
        BEN, "", 1718102603.301, media=(Media(kind="image", url=url),), business_address=PAGE)]


def test_a_sticker_is_told_apart_from_a_photo() -> None:
    [sticker] = received("sticker")
    assert isinstance(sticker, Inbound) and sticker.text == ""
    [media] = sticker.media
    assert media.kind == "sticker" and media.media_id == "369239263222822"
    assert media.url is not None and media.url.startswith("https://scontent.xx.fbcdn.net/v/t39.1997-6/")


def test_a_shared_link_keeps_its_text_and_the_link_preview() -> None:
    [inbound] = received("fallback")
    assert isinstance(inbound, Inbound)
    assert inbound.text == "Den hier, aber in Blau https://shop.example/p/sneaker-x"
    assert inbound.media == (Media(kind="fallback", url="https://shop.example/p/sneaker-x",
                                   caption="Sneaker X – Shop Example"),)


def test_a_shared_location_carries_its_coordinates() -> None:
    [inbound] = received("location")
    assert isinstance(inbound, Inbound) and inbound.address == BEN
    [media] = inbound.media
    assert media.kind == "location" and media.caption == "52.520008,13.404954"
    assert media.url is not None and media.url.startswith("https://l.facebook.com/l.php?")


def test_a_postback_is_its_payload_titled_by_the_button() -> None:
    assert received("postback") == [Inbound(
        M, "m_gOFfqRgz7IhYePP2lny2pg17-dUM2jNKogorTAuRVpQ09oiVeZWJ9QyucS19AvMp2gUAeSsUfFgUl8oPK-HJN4",
        BEN, "GET_STARTED", 1718102800.918, reply_title="Loslegen", business_address=PAGE)]


def test_a_postback_without_mid_gets_an_id_a_redelivery_shares() -> None:
    expected = [Inbound(M, f"postback:{BEN}:1718102810918", BEN, "/human", 1718102810.918,
                        reply_title="Mit einem Menschen sprechen", business_address=PAGE)]
    assert received("postback_without_mid") == expected
    assert received("postback_without_mid") == expected


def test_our_own_echo_is_not_taken_for_a_shopper_message() -> None:
    assert received("echo") == []


def test_a_delivery_reports_every_message_it_names() -> None:
    assert received("delivery") == [
        DeliveryStatus(M, "m_5P_ED75cNRqsKz5b70CO8W7RQHy2Yp-ptzsJqLOJqu3g9DYpQaxEN-cNljiRkV71kDRuIr2jhTxs-OHKDpnJh_",
                       ANNA, DeliveryState.DELIVERED, 1718102859.640),
        DeliveryStatus(M, "m_rgiOaPq_N9RtlnnudSkpmKog0Qwp_vaQcT7xl2cwC6dT0ctPVnaawqrczLJWImKMG4hEbuUVDPDR_m0k5iqkwU",
                       ANNA, DeliveryState.DELIVERED, 1718102859.640),
    ]


def test_a_read_receipt_names_no_message_and_is_skipped() -> None:
    assert received("read") == []


def test_events_of_unknown_or_broken_shape_are_skipped_and_the_rest_still_read() -> None:
    good = json.loads(fixture("text"))["entry"][0]["messaging"][0]
    events = [
        {"sender": {"id": ANNA}, "recipient": {"id": PAGE}, "timestamp": 1, "reaction": {"mid": "m_x", "emoji": "❤"}},
        {"recipient": {"id": PAGE}, "timestamp": 1, "message": {"mid": "m_nosender", "text": "?"}},
        {"sender": {"id": ANNA}, "recipient": {"id": PAGE}, "timestamp": 1, "message": {"text": "no mid"}},
        "not an event",
        good,
    ]
    body = {"object": "page", "entry": [{"id": PAGE, "time": 1, "changes": []}, 7,
                                        {"id": PAGE, "time": 1, "messaging": events}]}
    parsed = adapter.parse(webhook(json.dumps(body).encode()))
    assert [item.provider_id for item in parsed] == [good["message"]["mid"]]


@pytest.mark.parametrize("body", [
    b'{"object":"instagram","entry":[]}',
    b'{"object":"page","entry":{}}',
    b'{"object":"page"}',
    b"[]",
    b'{"object":"page","entry":[',
    b"\xff\xfe{}",
    b"",
])
def test_a_body_that_is_no_page_webhook_is_malformed(body: bytes) -> None:
    request = webhook(body)
    adapter.verify(request)
    with pytest.raises(MalformedPayload):
        adapter.parse(request)


# --- signature and handshake -----------------------------------------------------------


def tampered(body: bytes) -> bytes:
    at = body.index(b"Hallo")
    return body[:at] + b"J" + body[at + 1:]


@pytest.mark.parametrize("request_", [
    webhook(fixture("batched"), "sha256=" + hmac.new(b"not-our-secret", fixture("batched"), hashlib.sha256).hexdigest()),
    webhook(tampered(fixture("batched")),
            "sha256=" + hmac.new(APP_SECRET.encode(), fixture("batched"), hashlib.sha256).hexdigest()),
    webhook(fixture("batched"), ""),
    webhook(fixture("batched"), "sha1=" + hmac.new(APP_SECRET.encode(), fixture("batched"), hashlib.sha1).hexdigest()),
    webhook(fixture("batched"), "sha256="),
], ids=["forged", "tampered", "missing", "sha1", "empty"])
def test_anything_not_signed_with_our_app_secret_is_refused(request_: WebhookRequest) -> None:
    with pytest.raises(InvalidSignature):
        adapter.verify(request_)


def test_the_handshake_echoes_the_challenge_only_for_our_subscription() -> None:
    ours = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    assert adapter.handshake(ours) == "1158201444"
    assert adapter.handshake({**ours, "hub.verify_token": "guess"}) is None
    assert adapter.handshake({**ours, "hub.mode": "unsubscribe"}) is None
    assert adapter.handshake({"hub.challenge": "1158201444"}) is None


def test_meta_gets_the_answer_its_docs_show() -> None:
    assert adapter.acknowledgement.content_type == "text/plain"
    assert adapter.acknowledgement.body == b"EVENT_RECEIVED"
    assert adapter.channel is Channel.MESSENGER


def test_the_settings_repr_shows_no_secret() -> None:
    assert APP_SECRET not in repr(adapter) and PAGE_TOKEN not in repr(adapter)


# --- Send API out ----------------------------------------------------------------------


def test_a_reply_goes_to_the_send_api_with_the_page_token() -> None:
    [request] = adapter.outgoing(ANNA, OutgoingMessage("Ihre Bestellung ist unterwegs 🚚"))
    url = urlsplit(request.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://graph.facebook.com/v21.0/me/messages"
    assert parse_qs(url.query) == {"access_token": [PAGE_TOKEN]}
    assert "+" not in url.query and "/" not in url.query  # the token is URL-encoded
    assert sent(request) == {"recipient": {"id": ANNA}, "messaging_type": "RESPONSE",
                             "message": {"text": "Ihre Bestellung ist unterwegs 🚚"}}
    # Compact UTF-8, not ASCII escapes: what Meta counts against its limits.
    assert "🚚".encode() in request.body and b'": ' not in request.body and b", " not in request.body


def test_a_long_text_is_split_within_2000_characters_with_buttons_on_the_last_part() -> None:
    sentence = "Ihre Retoure ist angekommen und wird geprüft. "
    text = (sentence * 100)[:4500]
    replies = (QuickReply("Danke", "/thanks"), QuickReply("Mensch", "/human"))
    requests = adapter.outgoing(ANNA, OutgoingMessage(text, quick_replies=replies))
    messages = [sent(request)["message"] for request in requests]
    assert len(messages) == 3
    assert all(len(message["text"]) <= 2000 for message in messages)
    assert " ".join(message["text"] for message in messages) == text.strip()
    assert ["quick_replies" in message for message in messages] == [False, False, True]


def test_quick_reply_titles_are_clipped_to_20_characters() -> None:
    replies = (QuickReply("Sendung verfolgen bitte jetzt", "/order_status"), QuickReply("Retoure", "/start_return"))
    [request] = adapter.outgoing(ANNA, OutgoingMessage("Wobei kann ich helfen?", quick_replies=replies))
    assert sent(request)["message"]["quick_replies"] == [
        {"content_type": "text", "title": "Sendung verfolgen b…", "payload": "/order_status"},
        {"content_type": "text", "title": "Retoure", "payload": "/start_return"},
    ]
    assert len(sent(request)["message"]["quick_replies"][0]["title"]) <= 20


def test_more_than_13_quick_replies_become_numbered_options() -> None:
    replies = tuple(QuickReply(f"Größe {size}", f"/size_{size}") for size in range(36, 50))
    [request] = adapter.outgoing(ANNA, OutgoingMessage("Welche Größe?", quick_replies=replies))
    message = sent(request)["message"]
    assert "quick_replies" not in message
    assert message["text"].startswith("Welche Größe?\n\n1) Größe 36\n2) Größe 37")
    assert message["text"].endswith("14) Größe 49")


def test_a_payload_meta_would_refuse_turns_the_buttons_into_numbered_options() -> None:
    replies = (QuickReply("Ja", "/affirm"), QuickReply("Warenkorb", "/cart{" + "x" * 1000 + "}"))
    [request] = adapter.outgoing(ANNA, OutgoingMessage("Bestellen?", quick_replies=replies))
    assert sent(request)["message"] == {"text": "Bestellen?\n\n1) Ja\n2) Warenkorb"}


def test_without_text_the_buttons_go_under_the_image() -> None:
    message = OutgoingMessage("", quick_replies=(QuickReply("Kaufen", "/buy"),), image_url="https://shop.example/a.jpg")
    [request] = adapter.outgoing(ANNA, message)
    assert sent(request)["message"]["quick_replies"] == [{"content_type": "text", "title": "Kaufen", "payload": "/buy"}]
    assert sent(request)["message"]["attachment"]["payload"]["url"] == "https://shop.example/a.jpg"


def test_an_image_goes_first_as_its_own_attachment() -> None:
    message = OutgoingMessage("So sieht er aus", quick_replies=(QuickReply("Kaufen", "/buy"),),
                              image_url="https://shop.example/img/sneaker-x.jpg")
    image, text = (sent(request)["message"] for request in adapter.outgoing(ANNA, message))
    assert image == {"attachment": {"type": "image", "payload": {
        "url": "https://shop.example/img/sneaker-x.jpg", "is_reusable": True}}}
    assert text == {"text": "So sieht er aus",
                    "quick_replies": [{"content_type": "text", "title": "Kaufen", "payload": "/buy"}]}


def test_after_24_hours_an_agent_may_still_answer_with_the_human_agent_tag() -> None:
    message = OutgoingMessage("Hier Anna vom Service – Ihr Paket ist da.", author=Author.AGENT, agent_name="Anna")
    [request] = adapter.outgoing(ANNA, message, window_open=False)
    assert sent(request) == {"recipient": {"id": ANNA}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
                             "message": {"text": "Hier Anna vom Service – Ihr Paket ist da."}}


@pytest.mark.parametrize("author", [Author.BOT, Author.SYSTEM])
def test_after_24_hours_the_bot_may_not_write(author: Author) -> None:
    with pytest.raises(OutsideWindow):
        adapter.outgoing(ANNA, OutgoingMessage("Noch Fragen?", author=author), window_open=False)


def test_typing_is_shown_and_hidden() -> None:
    on, off = adapter.typing(ANNA, True), adapter.typing(ANNA, False)
    assert on.url == adapter.outgoing(ANNA, OutgoingMessage("x"))[0].url
    assert sent(on) == {"recipient": {"id": ANNA}, "sender_action": "typing_on"}
    assert sent(off) == {"recipient": {"id": ANNA}, "sender_action": "typing_off"}


def test_sent_ids_reads_the_send_api_answer_and_never_raises() -> None:
    assert adapter.sent_ids(fixture("send_response")) == [
        "m_qz_9PNldsWhXK64VtGHZA2PQLUD_W1nW4kGeJ_ky88BV8_luteLKWMFmkkBTDijysfSa5Jhl7LiECB7lavfWXT"]
    error = b'{"error":{"message":"(#100) No matching user found","type":"OAuthException","code":100}}'
    for garbage in (error, b"<html>502</html>", b"\xff", b"[]", b'{"message_id":7}', b""):
        assert adapter.sent_ids(garbage) == []
