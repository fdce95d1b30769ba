"""What Messenger and WhatsApp share: Meta's webhook handshake and signature.

Meta signs every webhook POST with the app secret: `X-Hub-Signature-256:
sha256=<hex HMAC-SHA256 of the raw body>`. Subscribing a webhook is a GET with
`hub.mode=subscribe`, `hub.verify_token` (the token set in the app dashboard) and a
`hub.challenge` to echo back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from channels.base import InvalidSignature, MalformedPayload, WebhookRequest
from core.text import replace_lone_surrogates

SIGNATURE_HEADER = "x-hub-signature-256"
DEFAULT_GRAPH_API = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"
# JSON may escape half of a surrogate pair alone ("\ud800"): a string no UTF-8 encoder takes.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def verify_signature(request: WebhookRequest, app_secret: str) -> None:
    header = request.headers.get(SIGNATURE_HEADER, "")
    scheme, _, presented = header.partition("=")
    if scheme != "sha256" or not presented:
        raise InvalidSignature(f"missing or malformed {SIGNATURE_HEADER}")
    expected = hmac.new(app_secret.encode(), request.body, hashlib.sha256).hexdigest()
    # Header bytes that are not UTF-8 arrive as surrogate escapes: compared as the raw bytes.
    if not hmac.compare_digest(presented.strip().lower().encode("utf-8", "surrogateescape"), expected.encode()):
        raise InvalidSignature(f"{SIGNATURE_HEADER} does not match the body")


def handshake(query: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to echo when the subscription request carries our verify token."""
    if query.get("hub.mode") != "subscribe":
        return None
    presented = query.get("hub.verify_token", "")
    if not verify_token or not hmac.compare_digest(presented.encode(), verify_token.encode()):
        return None
    challenge = query.get("hub.challenge")
    return challenge if challenge else None


def loads(body: bytes) -> Any:
    """A webhook's JSON; a lone surrogate in any string becomes U+FFFD, so a message that
    holds one is stored and answered instead of failing (and being redelivered for a day)."""
    try:
        data = json.loads(body.decode("utf-8"))
        return _replace_lone_surrogates(data) if _SURROGATE_ESCAPE.search(body) else data
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise MalformedPayload(f"not a JSON body: {error}") from error


def _replace_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return replace_lone_surrogates(value)
    if isinstance(value, list):
        return [_replace_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_replace_lone_surrogates(key): _replace_lone_surrogates(item) for key, item in value.items()}
    return value
