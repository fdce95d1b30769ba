"""Reading the conversation from a rasa_sdk tracker, and sending a hand-off or an offer."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from .handoff import OFFER_SLOT, Handoff, offer_buttons
from .texts import Texts, texts

LANGUAGE_SLOT = "language"


def texts_for(tracker: Tracker) -> Texts:
    """Texts in the `language` slot's language. The slot is set in NLU from the locale
    (or the words) before any action runs — for quick-reply payloads too, which the
    connector gives the language (bot/storechat_connector.py, payload_with_language)."""
    return texts(tracker.get_slot(LANGUAGE_SLOT))


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def latest_intent(tracker: Tracker) -> Optional[str]:
    name = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return str(name) if name else None


def metadata(tracker: Tracker) -> Mapping[str, Any]:
    data = (tracker.latest_message or {}).get("metadata")
    return data if isinstance(data, Mapping) else {}


def hand_off(dispatcher: CollectingDispatcher, texts: Texts, handoff: Handoff) -> None:
    """The team's hand-over sentence, then the contract's hand-off signal (in that order)."""
    dispatcher.utter_message(text=texts(f"handoff_{handoff.team}"))
    dispatcher.utter_message(json_message=handoff.signal())


def offer_human(dispatcher: CollectingDispatcher, texts: Texts, handoff: Handoff) -> list[EventType]:
    """Ask whether the shopper wants a human; `/request_human` in the next turn takes it."""
    dispatcher.utter_message(text=texts("offer_human"), buttons=offer_buttons(texts))
    return [SlotSet(OFFER_SLOT, handoff.as_slot())]
