"""The texts of the custom actions: faq_data/messages/<language>.yml.

Flat keys holding str.format templates, the same keys in every language; a key
missing in one language falls back to the default language of faq_data/languages.yml.
Dates and amounts are formatted from the same files, so a language is a data change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

# bot/actions/texts.py → repository root; STORECHAT_FAQ_DATA points elsewhere.
_DEFAULT_FAQ_DIR = Path(__file__).resolve().parents[2] / "faq_data"


def faq_dir() -> Path:
    return Path(os.environ.get("STORECHAT_FAQ_DATA", _DEFAULT_FAQ_DIR))


def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def languages() -> tuple[str, tuple[str, ...]]:
    """(default, supported) from faq_data/languages.yml, read once per process."""
    data = _load_yaml(faq_dir() / "languages.yml")
    return str(data["default"]), tuple(str(lang) for lang in data["languages"])


@lru_cache(maxsize=None)
def _messages(language: str) -> Mapping[str, str]:
    path = faq_dir() / "messages" / f"{language}.yml"
    data = _load_yaml(path) if path.is_file() else {}
    return {str(key): str(value) for key, value in (data or {}).items()}


@dataclass(frozen=True)
class Texts:
    """The action texts of one language."""

    language: str
    templates: Mapping[str, str]
    fallback: Mapping[str, str]

    def __call__(self, key: str, **values: Any) -> str:
        template = self.templates.get(key, self.fallback.get(key))
        if template is None:
            raise KeyError(f"no text {key!r} in faq_data/messages")
        return template.format(**values)

    def has(self, key: str) -> bool:
        return key in self.templates or key in self.fallback

    def long_date(self, day: date) -> str:
        """ "Mittwoch, 26. November" / "Wednesday, 26 November"."""
        return self(
            "date_long",
            weekday=self(f"weekday_{day.weekday()}"),
            day=day.day,
            month=self(f"month_{day.month}"),
            year=day.year,
        )

    def short_date(self, day: date) -> str:
        return self("date_short", day=day.day, month=self(f"month_{day.month}"), year=day.year)

    def money(self, amount: Any, currency: Any) -> str:
        try:
            value = f"{Decimal(str(amount)):.2f}"
        except (InvalidOperation, ValueError):
            value = str(amount)
        return self("money", amount=value.replace(".", self("decimal_separator")), currency=currency or "")


def texts(language: Any) -> Texts:
    """The texts for `language` (the `language` slot); unknown → the default language."""
    default, supported = languages()
    chosen = language if isinstance(language, str) and language in supported else default
    return Texts(chosen, _messages(chosen), _messages(default))
