"""The phone number a shopper types for a call-back, checked and written as E.164.

Written the way gateway/shop/verification.py writes a proven phone (`normalise_phone`), so
the same number is the same text everywhere: "0171 2345678" is +491712345678 (a national
number is German: the demo shop's home), "0043 660 1234567" and "+43 660 1234567" are one.
"""

from __future__ import annotations

import re

from core.phone import E164
from gateway.shop.verification import normalise_phone

# What people put between digits: spaces, dashes, dots, slashes, brackets ("(0)171").
_ALLOWED = re.compile(r"\+?[0-9 ()./\-]+")


class InvalidPhone(ValueError):
    """Not a phone number we can call; `code` names why (the shopper reads a text for it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def callback_phone(typed: str) -> str:
    """The E.164 form of `typed`, or InvalidPhone."""
    text = typed.strip()
    if not text:
        raise InvalidPhone("phone_missing", "no phone number given")
    if len(text) > 32 or not _ALLOWED.fullmatch(text):
        raise InvalidPhone("phone_invalid", "a phone number has digits only (and spaces, dashes, +)")
    # "+49 (0)171 …": the trunk 0 in brackets is not dialled after a country code.
    text = re.sub(r"^(\+[0-9]{1,3})\s*\(0\)", r"\1", text)
    number = normalise_phone(text)
    if not E164.fullmatch(number):
        raise InvalidPhone("phone_invalid", f"{number} is not a phone number (E.164: + and 7 to 15 digits)")
    return number

