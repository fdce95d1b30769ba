"""Fill the `language` slot every turn from the shopper's locale.

Rasa 3 runs this from `action_extract_slots` (custom slot mapping in domain/core.yml).
The gateway sends the locale as message metadata: `{"locale": "de-DE"}`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

LANGUAGE_SLOT = "language"
# bot/actions/language.py → repository root; overridable where faq_data lives elsewhere.
_DEFAULT_FAQ_DIR = Path(__file__).resolve().parents[2] / "faq_data"


@lru_cache(maxsize=1)
def supported_languages() -> tuple[str, tuple[str, ...]]:
    """(default, supported) from faq_data/languages.yml, read once per process."""
    faq_dir = Path(os.environ.get("STORECHAT_FAQ_DATA", _DEFAULT_FAQ_DIR))
    data = yaml.safe_load((faq_dir / "languages.yml").read_text(encoding="utf-8"))
    return str(data["default"]), tuple(str(lang) for lang in data["languages"])


def language_from_locale(locale: Any, supported: tuple[str, ...]) -> str | None:
    """ "de-DE" / "de_AT" / "EN" → "de" / "de" / "en"; None if absent or unsupported."""
    if not isinstance(locale, str) or not locale.strip():
        return None
    primary = locale.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in supported else None


def choose_language(
    locale: Any, current: Any, default: str, supported: tuple[str, ...]
) -> str:
    # A turn without a locale keeps the language already chosen in this conversation.
    if (language := language_from_locale(locale, supported)) is not None:
        return language
    if isinstance(current, str) and current in supported:
        return current
    return default


class ActionSetLanguage(Action):
    def name(self) -> str:
        return "action_set_language"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        metadata = (tracker.latest_message or {}).get("metadata") or {}
        default, supported = supported_languages()
        language = choose_language(
            metadata.get("locale"), tracker.get_slot(LANGUAGE_SLOT), default, supported
        )
        if language == tracker.get_slot(LANGUAGE_SLOT):
            return []
        return [SlotSet(LANGUAGE_SLOT, language)]
