"""Shopper-facing gateway texts, one JSON file per language under gateway/locales/.

Adding a language is adding a file. Its dates, times, numbers and prices are written by
core/formatting.py in the CLDR locale its "formats" section names (`"locale": "en_IE"`),
or else in its language: a `fr.json` alone writes "vendredi 27 novembre" and "89,00 €".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.formatting import parse_locale

LOCALES_DIR = Path(__file__).resolve().parent / "locales"


def languages_in(directory: Path = LOCALES_DIR) -> tuple[str, ...]:
    """The languages there are texts for: one per `<language>.json`."""
    return tuple(sorted(path.stem for path in directory.glob("*.json")))


def normalize_locale(value: object, supported: frozenset[str], default: str) -> str:
    """'de-DE' → 'de'; anything unsupported → the default."""
    if isinstance(value, str):
        language = value.strip().lower().replace("_", "-").split("-")[0]
        if language in supported:
            return language
    return default


@dataclass(frozen=True, slots=True)
class Texts:
    catalogs: dict[str, dict[str, Any]]
    default: str

    @classmethod
    def load(cls, default: str, directory: Path = LOCALES_DIR) -> Texts:
        catalogs = {
            language: json.loads((directory / f"{language}.json").read_text(encoding="utf-8"))
            for language in languages_in(directory)
        }
        if default not in catalogs:
            raise ValueError(f"no texts for the default language {default!r} in {directory}")
        texts = cls(catalogs=catalogs, default=default)
        for language in catalogs:
            try:
                parse_locale(texts.cldr_locale(language))
            except ValueError as error:
                raise ValueError(f"{directory / language}.json: formats.locale: {error}") from None
        return texts

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self.catalogs)

    def locale(self, value: object) -> str:
        return normalize_locale(value, self.languages, self.default)

    def cldr_locale(self, locale: str) -> str:
        """The CLDR locale `locale`'s dates and prices are written in (core/formatting.py):
        its own file's, never the default language's; an unknown language reads as the
        default language, as its texts do."""
        language = locale if locale in self.catalogs else self.default
        return str(self.catalogs[language].get("formats", {}).get("locale", language))

    def section(self, locale: str, name: str) -> dict[str, Any]:
        """A whole section (e.g. "widget") in `locale`, the default language filling gaps."""
        merged = dict(self.catalogs[self.default].get(name, {}))
        merged.update(self.catalogs.get(locale, {}).get(name, {}))
        return merged

    def get(self, locale: str, key: str, **values: object) -> str:
        section = self.catalogs.get(locale, {}).get("gateway", {})
        template = section.get(key) or self.catalogs[self.default]["gateway"][key]
        return str(template).format(**values)
