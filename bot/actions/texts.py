"""The texts of the custom actions: faq_data/messages/<language>.yml.

Flat keys holding str.format templates, the same keys in every language; a key
missing in one language falls back to the default language of faq_data/languages.yml.
Dates and amounts are written by Babel (core/formatting.py, the gateway's too) in the
CLDR locale a file's `locale` names, else in its language: a language is a data change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Mapping

from core.formatting import format_date, format_day, format_money

from .languages import faq_dir, languages, load_yaml


@lru_cache(maxsize=None)
def _messages(language: str) -> Mapping[str, str]:
    path = faq_dir() / "messages" / f"{language}.yml"
    data = load_yaml(path) if path.is_file() else {}
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

    @property
    def locale(self) -> str:
        """The CLDR locale of this language's dates and amounts: its own file's `locale`
        (never the default language's), else the language itself."""
        return self.templates.get("locale", self.language)

    def long_date(self, day: date) -> str:
        """ "Mittwoch, 26. November" / "Wednesday 26 November"."""
        return format_day(day, self.locale)

    def short_date(self, day: date) -> str:
        """ "26. November 2026" / "26 November 2026"."""
        return format_date(day, self.locale)

    def money(self, amount: Any, currency: Any) -> str:
        """ "39,80 €" / "€39.80"; an amount that is not a number is shown as it came."""
        try:
            value = Decimal(str(amount))
        except (InvalidOperation, ValueError):
            return str(amount)
        if not currency or not value.is_finite():
            return str(amount)
        return format_money(value, str(currency), self.locale)


def texts(language: Any) -> Texts:
    """The texts for `language` (the `language` slot); unknown → the default language."""
    default, supported = languages()
    chosen = language if isinstance(language, str) and language in supported else default
    return Texts(chosen, _messages(chosen), _messages(default))
