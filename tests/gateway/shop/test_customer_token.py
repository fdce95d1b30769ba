"""Customer tokens: only the shop's signature, unexpired, vouches for an email."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from gateway.shop import customer_token
from gateway.shop.customer_token import InvalidToken

SECRET = "storefront-secret"
NOW = 1_800_000_000.0


def _clock() -> float:
    return NOW


def test_a_signed_token_vouches_for_its_email() -> None:
    token = customer_token.sign("anna@example.com", SECRET, ttl=600, clock=_clock)

    assert customer_token.verify(token, SECRET, clock=_clock) == "anna@example.com"


def test_the_contract_format_is_what_a_storefront_would_build() -> None:
    """base64url(json) "." base64url(HMAC-SHA256) — a shop in PHP or JS can produce it."""
    payload = base64.urlsafe_b64encode(json.dumps({"email": "ben@example.com", "exp": NOW + 60}).encode()).decode()
    signature = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).digest()).decode()

    assert customer_token.verify(f"{payload}.{signature}", SECRET, clock=_clock) == "ben@example.com"


def test_an_expired_token_is_refused() -> None:
    token = customer_token.sign("anna@example.com", SECRET, ttl=60, clock=_clock)

    with pytest.raises(InvalidToken, match="expired"):
        customer_token.verify(token, SECRET, clock=lambda: NOW + 61)


def test_a_token_with_a_changed_email_is_refused() -> None:
    token = customer_token.sign("anna@example.com", SECRET, clock=_clock)
    _, signature = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"email": "eve@example.com", "exp": NOW + 3600}).encode())

    with pytest.raises(InvalidToken, match="signature"):
        customer_token.verify(forged.decode().rstrip("=") + "." + signature, SECRET, clock=_clock)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = customer_token.sign("anna@example.com", "another-shop", clock=_clock)

    with pytest.raises(InvalidToken):
        customer_token.verify(token, SECRET, clock=_clock)


@pytest.mark.parametrize("token", ["", "no-dot", "a.b.c", "!!!.???", "é.é", "x" * 3000 + ".y"])
def test_garbage_is_refused_not_crashed_on(token: str) -> None:
    with pytest.raises(InvalidToken):
        customer_token.verify(token, SECRET, clock=_clock)


@pytest.mark.parametrize("claims", [[], {"email": "anna@example.com"}, {"exp": NOW + 60},
                                    {"email": "", "exp": NOW + 60}, {"email": "a@b", "exp": True}])
def test_signed_but_incomplete_claims_are_refused(claims: object) -> None:
    """Even the shop's own signature does not make a token without email and expiry valid."""
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    signature = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).digest())

    with pytest.raises(InvalidToken):
        customer_token.verify(payload + "." + signature.decode(), SECRET, clock=_clock)
