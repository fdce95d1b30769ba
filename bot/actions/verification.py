"""Which order the shopper means and how they prove it is theirs (pure functions).

Order numbers are not NLU entities: they are found in the message text with
STORECHAT_ORDER_NUMBER_PATTERN. A proof is what the shopper types (an e-mail address
or a postal code) or what the channel already vouches for: the storefront's signed
customer token (message metadata), or, on SMS and WhatsApp, the number the conversation
is with — which the gateway takes from its own record, so the bot sends no number at all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

DEFAULT_ORDER_NUMBER_PATTERN = r"\b[0-9]{6}\b"
_EMAIL = re.compile(r"[^\s@<>(),;:\"']+@[^\s@<>(),;:\"']+\.[A-Za-z]{2,}")
# DE/FR 5 digits, AT/CH/BE/DK 4 digits, NL "1234 AB".
_POSTAL_CODE = re.compile(r"(?<![\w-])(\d{4}\s?[A-Za-z]{2}|\d{4,5})(?![\w-])")
_DIGITS = re.compile(r"\d")
# Channels whose conversations are with a phone number the provider has proven.
PHONE_CHANNELS = frozenset({"sms", "whatsapp"})


@dataclass(frozen=True)
class Proof:
    kind: str  # "email" | "postal_code" | "phone" | "customer_token"
    value: str  # "" for a phone proof: the gateway knows the conversation's number


def order_number_pattern() -> re.Pattern[str]:
    return re.compile(os.environ.get("STORECHAT_ORDER_NUMBER_PATTERN", DEFAULT_ORDER_NUMBER_PATTERN))


def find_order_number(text: str, pattern: Optional[re.Pattern[str]] = None) -> Optional[str]:
    match = (pattern or order_number_pattern()).search(text or "")
    return match.group(0) if match else None


def looks_like_a_number_attempt(text: str) -> bool:
    """Digits but no valid order number: a typo worth a clear re-ask, never a guess."""
    return bool(_DIGITS.search(text or ""))


def proof_from_text(text: str) -> Optional[Proof]:
    """An e-mail address or a postal code typed by the shopper, e-mail first."""
    text = text or ""
    if email := _EMAIL.search(text):
        return Proof("email", email.group(0).strip(".").lower())
    if postal_code := _POSTAL_CODE.search(text):
        return Proof("postal_code", re.sub(r"\s+", " ", postal_code.group(1)).upper())
    return None


def proofs_from_metadata(metadata: Mapping[str, Any]) -> list[Proof]:
    """What the channel already vouches for, tried before asking the shopper."""
    proofs = []
    token = metadata.get("customer_token")
    if isinstance(token, str) and token:
        proofs.append(Proof("customer_token", token))
    # Never a number from the metadata: the gateway checks the conversation's own.
    if metadata.get("channel") in PHONE_CHANNELS:
        proofs.append(Proof("phone", ""))
    return proofs
