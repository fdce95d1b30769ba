"""What Messenger and WhatsApp share: Meta's webhook handshake and signature.

Meta signs every webhook POST with the app secret: `X-Hub-Signature-256:
sha256=<hex HMAC-SHA256 of the raw body>`. Subscribing a webhook is a GET with
`hub.mode=subscribe`, `hub.verify_token` (the token set in the app dashboard) and a
`hub.challenge` to echo back.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from channels.base import InvalidSignature, WebhookRequest

SIGNATURE_HEADER = "x-hub-signature-256"
DEFAULT_GRAPH_API = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"


def verify_signature(request: WebhookRequest, app_secret: str) -> None:
    header = request.headers.get(SIGNATURE_HEADER, "")
    scheme, _, presented = header.partition("=")
    if scheme != "sha256" or not presented:
        raise InvalidSignature(f"missing or malformed {SIGNATURE_HEADER}")
    expected = hmac.new(app_secret.encode(), request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(presented.strip().lower().encode(), expected.encode()):
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
