"""The Twilio SMS adapter, against recorded Twilio payloads signed by Twilio's own validator."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode

import pytest
from twilio.request_validator import RequestValidator

from channels import sms
from channels.base import (
    ChannelAdapter,
    DeliveryState,
    DeliveryStatus,
    Inbound,
    InvalidSignature,
    MalformedPayload,
    Media,
    Received,
    WebhookRequest,
)
from channels.rich import chosen_option
from core.types import Channel, OutgoingMessage, QuickReply

FIXTURES = Path(__file__).parent / "fixtures" / "twilio"
ACCOUNT = "AC39837eda22191311ba5db236deed660c"
SERVICE = "MGccdb5965f58dc79c9abf6a5476a47c46"
TOKEN = "5f1c0e9a7b3d4c2e8f6a1b0c9d8e7f6a"
SHOP = "+4915735998000"
SHOPPER = "+4917612345678"
PUBLIC_URL = "https://shop.example.com/webhooks/sms"
# What the gateway sees behind the proxy; Twilio signed PUBLIC_URL.
INTERNAL_URL = "http://gateway:8080/webhooks/sms"
NOW = 1718269951.5
FORM = {"content-type": "application/x-www-form-urlencoded"}

SETTINGS = sms.TwilioSettings(account_sid=ACCOUNT, auth_token=TOKEN, webhook_url=PUBLIC_URL, from_number=SHOP)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes().rstrip(b"\r\n")


def params_of(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def signed(body: bytes, *, url: str = PUBLIC_URL, query: str = "", token: str = TOKEN,
           headers: dict[str, str] | None = None) -> WebhookRequest:
    """The webhook as Twilio sends it, signed by the twilio package (not by the adapter)."""
    signature = RequestValidator(token).compute_signature(url + (f"?{query}" if query else ""), params_of(body))
    internal = INTERNAL_URL + (f"?{query}" if query else "")
    return WebhookRequest("POST", internal, {**FORM, "x-twilio-signature": signature, **(headers or {})},
                          dict(parse_qsl(query)), body)


def replace(body: bytes, **changes: str) -> bytes:
    """`body` with some parameters changed (in place, Twilio's order kept) or added."""
    pairs = parse_qsl(body.decode(), keep_blank_values=True)
    pairs = [(name, changes.pop(name)) if name in changes else (name, value) for name, value in pairs]
    return urlencode(pairs + list(changes.items())).encode()


def without(body: bytes, *names: str) -> bytes:
    return urlencode([pair for pair in parse_qsl(body.decode(), keep_blank_values=True)
                      if pair[0] not in names]).encode()


def adapter(**changes: Any) -> sms.TwilioSms:
    return sms.TwilioSms(dataclasses.replace(SETTINGS, **changes), clock=lambda: NOW)


def received(name: str) -> list[Received]:
    twilio = adapter()
    request = signed(fixture(name))
    twilio.verify(request)
    return twilio.parse(request)


# Inbound messages


def test_a_signed_text_message_becomes_one_inbound() -> None:
    assert received("inbound_text.txt") == [Inbound(
        channel=Channel.SMS, provider_id="SM9d4d6fa3a84eefab04a47457de47f720", address=SHOPPER,
        text="Wo ist meine Bestellung 10482?", received_at=NOW, business_address=SHOP,
    )]


def test_an_mms_carries_its_pictures_and_videos_in_order() -> None:
    base = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/MM0157a5c380a94836a5aa2dc002b3b9f7/Media/"
    assert received("inbound_mms.txt") == [Inbound(
        channel=Channel.SMS, provider_id="MM0157a5c380a94836a5aa2dc002b3b9f7", address=SHOPPER,
        text="Das kam so an, der Karton war offen", received_at=NOW, business_address=SHOP,
        media=(Media(kind="image", url=base + "MEcf624179c0a5ae3b78cb2a6d4dc33438", content_type="image/jpeg"),
               Media(kind="video", url=base + "ME472bec8bbe29a574a4d5794d1c8cb21f", content_type="video/mp4")),
    )]


def test_umlauts_and_emoji_arrive_intact_and_trimmed() -> None:
    [message] = received("inbound_umlauts.txt")
    assert isinstance(message, Inbound)
    assert message.text == "Grüße! Die Größe passt nicht, können Sie die Jacke gegen L tauschen? Danke 👍"


def test_an_attachment_that_is_not_a_picture_is_a_file() -> None:
    body = replace(fixture("inbound_mms.txt"), NumMedia="1", MediaContentType0="text/vcard")
    [message] = adapter().parse(signed(body))
    assert isinstance(message, Inbound) and [m.kind for m in message.media] == ["file"]


def test_smssid_stands_in_for_a_missing_messagesid() -> None:
    [message] = adapter().parse(signed(without(fixture("inbound_text.txt"), "MessageSid")))
    assert isinstance(message, Inbound) and message.provider_id == "SM9d4d6fa3a84eefab04a47457de47f720"


# Signatures


def test_verify_signs_the_public_url_not_the_one_behind_the_proxy() -> None:
    body = fixture("inbound_text.txt")
    adapter().verify(signed(body))
    with pytest.raises(InvalidSignature):
        adapter().verify(signed(body, url=INTERNAL_URL))


def test_the_query_string_twilio_called_is_part_of_the_signature() -> None:
    body = fixture("inbound_text.txt")
    adapter().verify(signed(body, query="shop=berlin&x=%C3%BC"))
    request = signed(body)
    tampered = dataclasses.replace(request, url=INTERNAL_URL + "?shop=hamburg")
    with pytest.raises(InvalidSignature):
        adapter().verify(tampered)


@pytest.mark.parametrize("case, reason", [
    ("forged", "does not match"), ("other url", "does not match"), ("tampered body", "does not match"),
    ("no header", "missing"), ("empty header", "missing"), ("other token", "does not match"),
    ("other account", "another Twilio account"), ("shared key", "SharedKey"),
])
def test_anything_twilio_did_not_sign_for_us_is_refused(case: str, reason: str) -> None:
    body = fixture("inbound_text.txt")
    request = {
        "forged": dataclasses.replace(signed(body), headers={**FORM, "x-twilio-signature": "bm90IGEgc2lnbmF0dXJl"}),
        "other url": signed(body, url="https://evil.example.com/webhooks/sms"),
        "tampered body": dataclasses.replace(signed(body), body=replace(body, Body="Bitte alles stornieren")),
        "no header": WebhookRequest("POST", INTERNAL_URL, FORM, {}, body),
        "empty header": WebhookRequest("POST", INTERNAL_URL, {**FORM, "x-twilio-signature": ""}, {}, body),
        "other token": signed(body, token="0" * 32),
        # Correctly signed with our token, but for an account that is not ours.
        "other account": signed(replace(body, AccountSid="AC" + "1" * 32)),
        "shared key": signed(body, headers={sms.SHARED_KEY_HEADER: "key=KS123,algorithm=HMAC_SHA256"}),
    }[case]
    with pytest.raises(InvalidSignature, match=reason):
        adapter().verify(request)


@pytest.mark.parametrize("configured, twilio_signed", [
    (PUBLIC_URL, "https://shop.example.com:443/webhooks/sms"),
    ("https://shop.example.com:443/webhooks/sms", PUBLIC_URL),
    ("http://shop.example.com/webhooks/sms", "http://shop.example.com:80/webhooks/sms"),
    ("http://shop.example.com:80/webhooks/sms", "http://shop.example.com/webhooks/sms"),
])
def test_the_default_port_may_be_spelled_or_not(configured: str, twilio_signed: str) -> None:
    adapter(webhook_url=configured).verify(signed(fixture("inbound_text.txt"), url=twilio_signed))


def test_another_port_is_never_dropped() -> None:
    with pytest.raises(InvalidSignature):
        adapter(webhook_url="https://shop.example.com:8443/webhooks/sms").verify(signed(fixture("inbound_text.txt")))


def test_a_body_that_cannot_be_read_cannot_be_verified() -> None:
    request = dataclasses.replace(signed(fixture("inbound_text.txt")), body=b"Body=Gr%FC%DFe&From=%2B49")
    with pytest.raises(InvalidSignature):
        adapter().verify(request)


def test_the_signature_verify_computes_is_the_one_twilios_validator_accepts() -> None:
    for name in ("inbound_text.txt", "inbound_mms.txt", "inbound_umlauts.txt", "status_failed.txt"):
        params = params_of(fixture(name))
        url = PUBLIC_URL + "?shop=berlin"
        twilio = adapter()
        ours = twilio.signature(twilio.signed_url(WebhookRequest("POST", INTERNAL_URL + "?shop=berlin", FORM, {}, b"")),
                                {key: [value] for key, value in params.items()})
        assert RequestValidator(TOKEN).validate(url, params, ours)
        assert not RequestValidator(TOKEN).validate(url, {**params, "Body": "x"}, ours)


def test_twilios_published_example_signature() -> None:
    # The example of Twilio's "Validating requests" documentation (Auth Token 12345).
    example = {"CallSid": ["CA1234567890ABCDE"], "Caller": ["+14158675310"], "Digits": ["1234"],
               "From": ["+14158675310"], "To": ["+18005551212"]}
    twilio = sms.TwilioSms(dataclasses.replace(SETTINGS, auth_token="12345"))
    assert twilio.signature("https://mycompany.com/myapp.php?foo=1&bar=2", example) == "GvWf1cFY/Q7PnoempGyD5oXAezc="


class MultiDict(dict[str, list[str]]):
    """What Twilio's validator expects for repeated names (Flask's MultiDict interface)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def test_a_repeated_name_signs_each_of_its_values_in_sorted_order() -> None:
    body = fixture("inbound_text.txt") + b"&Tag=zebra&Tag=apfel"
    params = MultiDict(parse_qs(body.decode(), keep_blank_values=True))
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL, params)
    adapter().verify(WebhookRequest("POST", INTERNAL_URL, {**FORM, "x-twilio-signature": signature}, {}, body))


# Delivery statuses


def test_a_delivered_callback_is_a_delivery_status_for_the_shopper() -> None:
    assert received("status_delivered.txt") == [DeliveryStatus(
        channel=Channel.SMS, provider_id="SMfed5e6c7d987981b00e0c8ce3f8b6ee5", address=SHOPPER,
        state=DeliveryState.DELIVERED, at=NOW,
    )]


def test_an_undelivered_message_fails_with_twilios_error_code() -> None:
    [status] = received("status_failed.txt")
    assert isinstance(status, DeliveryStatus)
    assert (status.state, status.error, status.address) == (DeliveryState.FAILED, "ErrorCode 30003", SHOPPER)


@pytest.mark.parametrize("twilio_status, state", [
    ("sent", DeliveryState.SENT), ("delivered", DeliveryState.DELIVERED), ("read", DeliveryState.READ),
    ("failed", DeliveryState.FAILED), ("undelivered", DeliveryState.FAILED),
    ("queued", None), ("accepted", None), ("sending", None), ("scheduled", None), ("some_new_status", None),
])
def test_status_mapping(twilio_status: str, state: DeliveryState | None) -> None:
    body = replace(fixture("status_failed.txt"), MessageStatus=twilio_status, SmsStatus=twilio_status)
    statuses = adapter().parse(signed(body))
    assert [s.state for s in statuses if isinstance(s, DeliveryStatus)] == ([state] if state else [])
    assert len(statuses) == (1 if state else 0)


# Malformed payloads


@pytest.mark.parametrize("case", ["no From", "no sid", "NumMedia word", "NumMedia negative", "media missing",
                                  "latin-1 escape", "raw latin-1", "json body", "json content type",
                                  "other charset", "status without To"])
def test_signed_but_not_twilios_format_is_malformed(case: str) -> None:
    text = fixture("inbound_text.txt")
    body, headers = {
        "no From": (without(text, "From"), FORM),
        "no sid": (without(text, "MessageSid", "SmsSid"), FORM),
        "NumMedia word": (replace(text, NumMedia="zwei"), FORM),
        "NumMedia negative": (replace(text, NumMedia="-1"), FORM),
        "media missing": (replace(text, NumMedia="1"), FORM),
        "latin-1 escape": (text.replace(b"Bestellung", b"Gr%FC%DFe"), FORM),
        "raw latin-1": (text.replace(b"Bestellung", "Grüße".encode("latin-1")), FORM),
        "json body": (json.dumps(params_of(text)).encode(), FORM),
        "json content type": (text, {"content-type": "application/json"}),
        "other charset": (text, {"content-type": "application/x-www-form-urlencoded; charset=ISO-8859-1"}),
        "status without To": (without(fixture("status_delivered.txt"), "To"), FORM),
    }[case]
    with pytest.raises(MalformedPayload):
        adapter().parse(WebhookRequest("POST", INTERNAL_URL, headers, {}, body))


# Keywords


@pytest.mark.parametrize("text, expected", [
    ("STOP", sms.Keyword.OPT_OUT), (" stop! ", sms.Keyword.OPT_OUT), ("Stopp.", sms.Keyword.OPT_OUT),
    ("StopAll", sms.Keyword.OPT_OUT), ("unsubscribe", sms.Keyword.OPT_OUT), ("Abmelden", sms.Keyword.OPT_OUT),
    ("ABBESTELLEN!!", sms.Keyword.OPT_OUT), ("beenden", sms.Keyword.OPT_OUT), ("cancel", sms.Keyword.OPT_OUT),
    ("end", sms.Keyword.OPT_OUT), ("quit", sms.Keyword.OPT_OUT), ("revoke", sms.Keyword.OPT_OUT),
    ("optout", sms.Keyword.OPT_OUT),
    ("Start", sms.Keyword.OPT_IN), ("yes", sms.Keyword.OPT_IN), ("UNSTOP", sms.Keyword.OPT_IN),
    ("anmelden", sms.Keyword.OPT_IN),
    ("help", sms.Keyword.HELP), ("Info?", sms.Keyword.HELP), ("Hilfe!", sms.Keyword.HELP),
    ("stop sending me the wrong size", None), ("Bitte nicht stoppen", None), ("Hilfe, wo ist mein Paket", None),
    ("2", None), ("", None),
])
def test_only_a_message_that_is_the_keyword_is_one(text: str, expected: sms.Keyword | None) -> None:
    assert sms.keyword(text) is expected


def test_twilios_opt_out_type_wins_over_the_text() -> None:
    assert sms.keyword("Aufhören bitte", "STOP") is sms.Keyword.OPT_OUT
    assert sms.keyword("stop", "start") is sms.Keyword.OPT_IN
    assert sms.keyword("?", "HELP") is sms.Keyword.HELP
    assert sms.keyword("stop", "SOMETHING_NEW") is sms.Keyword.OPT_OUT


def test_a_twilio_opt_out_reaches_the_gateway_as_a_keyword() -> None:
    [stop] = received("inbound_stop.txt")
    assert stop == Inbound(channel=Channel.SMS, provider_id="SMada242052ea92beaf47e367dfacec896", address=SHOPPER,
                           text="Stop", received_at=NOW, business_address=SHOP)
    assert sms.keyword(stop.text) is sms.Keyword.OPT_OUT


@pytest.mark.parametrize("body, opt_out_type, text", [
    # A keyword configured only in Twilio's console is known to Twilio alone: canonical word.
    ("Keine SMS mehr", "STOP", "STOP"), ("Bin wieder da", "START", "START"), ("???", "HELP", "HELP"),
    # Twilio's verdict wins over the text's.
    ("stop", "START", "START"),
    # A keyword the shopper typed stays as typed: its language picks the confirmation's.
    ("Stopp!", "STOP", "Stopp!"), ("hilfe", "HELP", "hilfe"),
    # An OptOutType storechat does not know leaves the text alone.
    ("Keine SMS mehr", "SOMETHING_NEW", "Keine SMS mehr"),
])
def test_opt_out_type_makes_the_text_a_keyword_the_gateway_recognises(body: str, opt_out_type: str,
                                                                       text: str) -> None:
    request = signed(replace(fixture("inbound_stop.txt"), Body=body, OptOutType=opt_out_type))
    [message] = adapter().parse(request)
    assert isinstance(message, Inbound) and message.text == text


def test_the_language_of_a_keyword_picks_the_confirmations() -> None:
    assert [sms.keyword_language(text) for text in ("Stopp.", "ABMELDEN", "Hilfe?", "unsubscribe", "HELP",
                                                     "STOP", "Start", "info", "Danke")] == [
        "de", "de", "de", "en", "en", None, None, None, None]


# Outgoing


def form(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)


def test_outgoing_is_the_request_twilios_api_expects() -> None:
    [request] = adapter(status_callback_url="https://shop.example.com/webhooks/sms/status").outgoing(
        SHOPPER, OutgoingMessage("Ihre Bestellung 10482 ist unterwegs & kommt morgen – versprochen."))
    assert request.method == "POST"
    assert request.url == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8"
    scheme, credentials = request.headers["Authorization"].split(" ")
    assert scheme == "Basic" and base64.b64decode(credentials).decode() == f"{ACCOUNT}:{TOKEN}"
    assert form(request.body) == {
        "To": [SHOPPER], "From": [SHOP],
        "Body": ["Ihre Bestellung 10482 ist unterwegs & kommt morgen – versprochen."],
        "StatusCallback": ["https://shop.example.com/webhooks/sms/status"],
    }


def test_quick_replies_become_numbered_options_the_shopper_answers_by_number() -> None:
    replies = (QuickReply("Versand", "/faq_shipping"), QuickReply("Rückgabe", "/faq_returns"))
    [request] = adapter().outgoing(SHOPPER, OutgoingMessage("Worum geht es?", quick_replies=replies))
    assert form(request.body)["Body"] == ["Worum geht es?\n\n1) Versand\n2) Rückgabe"]
    assert chosen_option("2", replies) == replies[1]


def test_a_long_reply_is_split_at_sentences_with_the_options_only_in_the_last_part() -> None:
    text = " ".join(f"Satz {n} erklärt, wie die Rücksendung Nummer {n} abläuft." for n in range(80))
    assert len(text) > 4000
    replies = (QuickReply("Ja", "/affirm"), QuickReply("Nein", "/deny"))
    message = OutgoingMessage(text, quick_replies=replies, image_url="https://shop.example.com/label.png")
    requests = adapter().outgoing(SHOPPER, message)
    bodies = [form(request.body)["Body"][0] for request in requests]
    assert len(bodies) == 3 and all(len(body) <= sms.BODY_LIMIT for body in bodies)
    assert all(body.endswith("abläuft.") for body in bodies[:-1])
    assert all("1) Ja" not in body for body in bodies[:-1]) and bodies[-1].endswith("\n\n1) Ja\n2) Nein")
    assert " ".join(bodies).removesuffix("\n\n1) Ja\n2) Nein") == text
    media = [form(request.body).get("MediaUrl") for request in requests]
    assert media == [["https://shop.example.com/label.png"], None, None]


def test_options_that_no_longer_fit_get_a_part_of_their_own() -> None:
    text = "x" * 1595
    [first, second] = adapter().outgoing(SHOPPER, OutgoingMessage(text, quick_replies=(QuickReply("Ja", "/a"),)))
    assert form(first.body)["Body"] == [text] and form(second.body)["Body"] == ["1) Ja"]


def test_a_picture_alone_is_sent_without_a_body() -> None:
    [request] = adapter().outgoing(SHOPPER, OutgoingMessage("", image_url="https://shop.example.com/a.png"))
    assert form(request.body) == {"To": [SHOPPER], "From": [SHOP], "MediaUrl": ["https://shop.example.com/a.png"]}
    assert adapter().outgoing(SHOPPER, OutgoingMessage("  ")) == []


def test_a_messaging_service_sends_instead_of_a_number() -> None:
    [request] = adapter(from_number=None, messaging_service_sid=SERVICE).outgoing(SHOPPER, OutgoingMessage("Hallo"))
    assert form(request.body) == {"To": [SHOPPER], "MessagingServiceSid": [SERVICE], "Body": ["Hallo"]}


def test_sms_has_no_window() -> None:
    message = OutgoingMessage("Hallo")
    assert adapter().outgoing(SHOPPER, message, window_open=False) == adapter().outgoing(SHOPPER, message)


def test_settings_need_a_sender_and_an_absolute_webhook_url() -> None:
    with pytest.raises(ValueError, match="from_number or messaging_service_sid"):
        dataclasses.replace(SETTINGS, from_number=None)
    with pytest.raises(ValueError, match="webhook_url"):
        dataclasses.replace(SETTINGS, webhook_url="/webhooks/sms")


# Answers


def test_sent_ids_reads_twilios_message_resource() -> None:
    assert adapter().sent_ids(fixture("send_response.json")) == ["SMfed5e6c7d987981b00e0c8ce3f8b6ee5"]


@pytest.mark.parametrize("body", [b"", b"<html>502</html>", b"[]", b'{"sid": 5}', b'{"code": 20003}', b"\xff\xfe\x00",
                                  b"[" * 100_000])
def test_sent_ids_never_raises_on_garbage(body: bytes) -> None:
    assert adapter().sent_ids(body) == []


def test_the_webhook_answers_with_empty_twiml() -> None:
    twilio: ChannelAdapter = adapter()
    assert twilio.channel is Channel.SMS
    assert twilio.acknowledgement.content_type == "text/xml"
    assert twilio.acknowledgement.body == b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
