"""Shoppers on SMS, Messenger and WhatsApp as the providers deliver them: signed webhooks
in each provider's wire format, and what the provider's API receives back.

Signatures are computed here independently of channels/ — for Twilio by the `twilio`
package's own validator — so a test fails if the gateway checks them wrongly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from core.types import Channel
from tests.channels.provider_standin import Recorded

TWILIO_SID = "AC" + "5e" * 16
TWILIO_TOKEN = "twilio-auth-token-for-tests-0123"
TWILIO_NUMBER = "+4930123456700"
META_SECRET = "meta-app-secret-for-tests"
VERIFY_TOKEN = "verify-token-for-tests"
PAGE_TOKEN = "page-access-token-for-tests"
WHATSAPP_TOKEN = "whatsapp-access-token-for-tests"
PHONE_NUMBER_ID = "106540352242922"
PAGE_ID = "1234567890123456"

_ids = itertools.count(1)


def channel_env(public_url: str, provider_url: str) -> dict[str, str]:
    """The environment that switches all three channels on, pointed at a stand-in."""
    return {
        "STORECHAT_PUBLIC_URL": public_url,
        "TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "TWILIO_FROM_NUMBER": TWILIO_NUMBER,
        "TWILIO_API_BASE": provider_url,
        "MESSENGER_APP_SECRET": META_SECRET, "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
        "MESSENGER_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
        "WHATSAPP_APP_SECRET": META_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_ACCESS_TOKEN": WHATSAPP_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "META_GRAPH_API_BASE": provider_url,
    }


@dataclass(frozen=True)
class Webhook:
    body: bytes
    headers: dict[str, str]
    message_id: str


class Driver(Protocol):
    channel: Channel

    def address(self, n: int) -> str: ...

    def inbound(self, public_url: str, address: str, text: str) -> Webhook: ...

    def text_of(self, request: Recorded) -> str:
        """The text the provider was asked to deliver (checking the request is the provider's)."""
        ...

    def recipient(self, request: Recorded) -> str: ...


def _meta_headers(body: bytes) -> dict[str, str]:
    signature = hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}


class Sms:
    channel = Channel.SMS

    def address(self, n: int) -> str:
        return f"+4917012{n:05d}"

    def inbound(self, public_url: str, address: str, text: str) -> Webhook:
        sid = f"SM{next(_ids):032x}"
        params = {
            "ToCountry": "DE", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
            "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "",
            "Body": text, "FromCountry": "DE", "To": TWILIO_NUMBER, "ToZip": "", "NumSegments": "1",
            "MessageSid": sid, "AccountSid": TWILIO_SID, "From": address, "ApiVersion": "2010-04-01",
        }
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{public_url}/webhooks/sms", params)
        return Webhook(urlencode(params).encode(), {
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature,
        }, sid)

    def text_of(self, request: Recorded) -> str:
        assert request.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
        expected = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        assert request.headers["authorization"] == f"Basic {expected}"
        form = request.form()
        assert form["From"] == TWILIO_NUMBER
        return form["Body"]

    def recipient(self, request: Recorded) -> str:
        return request.form()["To"]


class Messenger:
    channel = Channel.MESSENGER

    def address(self, n: int) -> str:
        return f"69{n:014d}"

    def inbound(self, public_url: str, address: str, text: str) -> Webhook:
        mid = f"m_{next(_ids):040d}"
        now = int(time.time() * 1000)
        body = json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "time": now, "messaging": [{
            "sender": {"id": address}, "recipient": {"id": PAGE_ID}, "timestamp": now,
            "message": {"mid": mid, "text": text},
        }]}]}).encode()
        return Webhook(body, _meta_headers(body), mid)

    def text_of(self, request: Recorded) -> str:
        assert request.path.endswith("/me/messages") and request.query["access_token"] == [PAGE_TOKEN]
        body = request.json()
        assert isinstance(body, dict) and body["messaging_type"] in ("RESPONSE", "MESSAGE_TAG")
        return str(body["message"]["text"])

    def recipient(self, request: Recorded) -> str:
        body = request.json()
        assert isinstance(body, dict)
        return str(body["recipient"]["id"])


class WhatsApp:
    channel = Channel.WHATSAPP

    def address(self, n: int) -> str:
        return f"+4915112{n:05d}"

    def inbound(self, public_url: str, address: str, text: str) -> Webhook:
        wamid = f"wamid.HBgN{next(_ids):030d}"
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
            "field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "4930123456701", "phone_number_id": PHONE_NUMBER_ID},
                "contacts": [{"profile": {"name": "Anna"}, "wa_id": address.lstrip("+")}],
                "messages": [{"from": address.lstrip("+"), "id": wamid, "timestamp": str(int(time.time())),
                              "type": "text", "text": {"body": text}}],
            }}]}]}).encode()
        return Webhook(body, _meta_headers(body), wamid)

    def text_of(self, request: Recorded) -> str:
        assert request.path.endswith(f"/{PHONE_NUMBER_ID}/messages")
        assert request.headers["authorization"] == f"Bearer {WHATSAPP_TOKEN}"
        body = request.json()
        assert isinstance(body, dict) and body["messaging_product"] == "whatsapp"
        if body["type"] == "interactive":
            return str(body["interactive"]["body"]["text"])
        return str(body["text"]["body"])

    def recipient(self, request: Recorded) -> str:
        body = request.json()
        assert isinstance(body, dict)
        return "+" + str(body["to"])


DRIVERS: dict[str, Driver] = {"sms": Sms(), "messenger": Messenger(), "whatsapp": WhatsApp()}
