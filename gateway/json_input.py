"""Typed reading of untrusted JSON bodies, every error naming the offending field.

A shop developer who sends a wrong order should read `items[1].quantity: must be
an integer ≥ 1` in the 422, not guess. Unknown fields are ignored, so a shop
may send more than storechat needs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

HTTP_URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)
LONE_SURROGATE = "must be valid Unicode text (no lone surrogates)"


def has_lone_surrogate(text: str) -> bool:
    """JSON's \\ud800 escapes give strings no UTF-8 encoder (Redis, the consoles) will take."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class InvalidInput(ValueError):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path


def field_path(parent: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{parent}[{name}]"
    return f"{parent}.{name}" if parent else name


@dataclass(frozen=True, slots=True)
class Reader:
    """One JSON object and where it sits in the body."""

    data: Mapping[str, Any]
    path: str = ""

    @classmethod
    def of(cls, value: object, path: str = "") -> Reader:
        if not isinstance(value, dict):
            raise InvalidInput(path, "must be a JSON object")
        return cls(value, path)

    def _present(self, name: str) -> Any:
        value = self.data.get(name)
        if value is None:
            raise InvalidInput(field_path(self.path, name), "is required")
        return value

    def text(self, name: str, *, max_length: int = 200, pattern: re.Pattern[str] | None = None) -> str:
        value = self._present(name)
        where = field_path(self.path, name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(where, "must be a non-empty string")
        if has_lone_surrogate(value):
            raise InvalidInput(where, LONE_SURROGATE)
        if len(value) > max_length:
            raise InvalidInput(where, f"must be at most {max_length} characters")
        if pattern is not None and not pattern.fullmatch(value):
            raise InvalidInput(where, f"must match {pattern.pattern}")
        return value

    def optional_text(self, name: str, *, max_length: int = 200, pattern: re.Pattern[str] | None = None) -> str | None:
        return None if self.data.get(name) is None else self.text(name, max_length=max_length, pattern=pattern)

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        value = self._present(name)
        if value not in choices:
            raise InvalidInput(field_path(self.path, name), "must be one of " + ", ".join(choices))
        return str(value)

    def optional_choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        return None if self.data.get(name) is None else self.choice(name, choices)

    def positive_int(self, name: str) -> int:
        value = self._present(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInput(field_path(self.path, name), "must be an integer ≥ 1")
        return value

    def optional_url(self, name: str) -> str | None:
        # Shoppers click these links: only http(s), never javascript: or data:.
        return self.optional_text(name, max_length=2000, pattern=HTTP_URL)

    def calendar_date(self, name: str) -> date:
        value = self.text(name, max_length=10)
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(field_path(self.path, name), "must be a date like 2026-11-26") from None

    def optional_calendar_date(self, name: str) -> date | None:
        return None if self.data.get(name) is None else self.calendar_date(name)

    def timestamp(self, name: str) -> datetime:
        """A date-time with its UTC offset: a bare local time is ambiguous across borders."""
        value = self.text(name, max_length=40)
        try:
            moment: datetime | None = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise InvalidInput(field_path(self.path, name), "must be a date-time with offset like 2026-11-20T10:15:00+01:00")
        return moment

    def optional_timestamp(self, name: str) -> datetime | None:
        return None if self.data.get(name) is None else self.timestamp(name)

    def nested(self, name: str) -> Reader:
        return Reader.of(self._present(name), field_path(self.path, name))

    def optional_nested(self, name: str) -> Reader | None:
        return None if self.data.get(name) is None else self.nested(name)

    def array(self, name: str, *, max_items: int = 100) -> list[tuple[Any, str]]:
        """The list's elements, each with its path (``items[2]``); empty lists are refused."""
        value = self._present(name)
        where = field_path(self.path, name)
        if not isinstance(value, list) or not value:
            raise InvalidInput(where, "must be a non-empty array")
        if len(value) > max_items:
            raise InvalidInput(where, f"must have at most {max_items} entries")
        return [(element, field_path(where, index)) for index, element in enumerate(value)]
