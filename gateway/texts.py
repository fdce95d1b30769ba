"""Shopper-facing gateway texts, one JSON file per language under gateway/locales/.

Adding a language is adding a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).resolve().parent / "locales"


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
            path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(directory.glob("*.json"))
        }
        if default not in catalogs:
            raise ValueError(f"no texts for the default language {default!r} in {directory}")
        return cls(catalogs=catalogs, default=default)

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self.catalogs)

    def locale(self, value: object) -> str:
        return normalize_locale(value, self.languages, self.default)

    def section(self, locale: str, name: str) -> dict[str, Any]:
        """A whole section (e.g. "widget") in `locale`, the default language filling gaps."""
        merged = dict(self.catalogs[self.default].get(name, {}))
        merged.update(self.catalogs.get(locale, {}).get(name, {}))
        return merged

    def get(self, locale: str, key: str, **values: object) -> str:
        section = self.catalogs.get(locale, {}).get("gateway", {})
        template = section.get(key) or self.catalogs[self.default]["gateway"][key]
        return str(template).format(**values)
