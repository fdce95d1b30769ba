"""The shop webhook's signature: `Storechat-Signature: t=<unix seconds>,v1=<hex>`.

`v1` is the hex HMAC-SHA256, keyed with STORECHAT_SHOP_WEBHOOK_SECRET, of the delivery's
timestamp, a dot, and the raw request body, byte for byte (as Stripe signs its webhooks).
The timestamp is the delivery attempt's, so a receiver can refuse a replayed request that
is older than its window (TOLERANCE_SECONDS recommended) and still accept a late retry.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Storechat-Signature"
EVENT_ID_HEADER = "Storechat-Event-Id"
EVENT_TYPE_HEADER = "Storechat-Event-Type"
ATTEMPT_HEADER = "Storechat-Delivery-Attempt"
TOLERANCE_SECONDS = 300


def _mac(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header's value for `body` sent at `timestamp`."""
    return f"t={timestamp},v1={_mac(secret, body, timestamp)}"


def verify(secret: str, body: bytes, header: str, now: float, tolerance: float = TOLERANCE_SECONDS) -> bool:
    """Whether `header` signs `body` with `secret` and its timestamp is within `tolerance` of
    `now` (what a receiver does; the README shows the same in a few lines)."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = _mac(secret, body, timestamp).encode("ascii")
    return any(hmac.compare_digest(expected, candidate.encode("utf-8", "surrogateescape"))
               for candidate in signatures)
