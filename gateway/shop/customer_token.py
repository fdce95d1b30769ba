"""Customer tokens: the storefront's signed word that a logged-in shopper owns an email.

A token is ``base64url(json {"email", "exp"}) + "." + base64url(HMAC-SHA256(secret,
first part))``. The shop signs it for its logged-in customer, the widget passes it
as message metadata and the gateway verifies it here, so a shopper who is already
logged in to the shop never has to type an order number's proof.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time

from core.types import MAX_CUSTOMER_TOKEN_LENGTH, Clock


class InvalidToken(ValueError):
    """The token is malformed, forged or expired."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("not base64url") from None


def _signature(secret: str, payload: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).digest()


def sign(email: str, secret: str, *, ttl: float = 3600, clock: Clock = time.time) -> str:
    """A token for `email`, valid for `ttl` seconds (what a storefront does)."""
    claims = {"email": email, "exp": int(clock() + ttl)}
    payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{_b64encode(_signature(secret, payload))}"


def verify(token: str, secret: str, *, clock: Clock = time.time) -> str:
    """The email the token vouches for; raises InvalidToken if it is not genuine and current.

    The signature is checked (in constant time) before the payload is parsed, so
    nothing an attacker wrote is interpreted unless the shop signed it.
    """
    if len(token) > MAX_CUSTOMER_TOKEN_LENGTH or token.count(".") != 1:
        raise InvalidToken("malformed")
    payload, signature = token.split(".")
    try:
        expected = _signature(secret, payload)
    except UnicodeEncodeError:
        raise InvalidToken("malformed") from None
    if not hmac.compare_digest(expected, _b64decode(signature)):
        raise InvalidToken("bad signature")
    try:
        claims = json.loads(_b64decode(payload))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidToken("payload is not JSON") from None
    if not isinstance(claims, dict):
        raise InvalidToken("payload is not an object")
    email, expires = claims.get("email"), claims.get("exp")
    if not isinstance(email, str) or not email or isinstance(expires, bool) or not isinstance(expires, (int, float)):
        raise InvalidToken("email or exp missing")
    if expires <= clock():
        raise InvalidToken("expired")
    return email
