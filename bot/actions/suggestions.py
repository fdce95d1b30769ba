"""What to offer when the bot did not understand (pure).

The latest message's NLU ranking says what the shopper most likely meant; the three
best guesses that have a title become quick replies: FAQ topics as
`/faq_topic{"topic": "<id>"}`, transactional intents as `/<intent>`. Two misses in a
row (counted from the tracker's events) and the bot offers a human instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping

import yaml

from .languages import faq_dir

NOT_UNDERSTOOD_ACTION = "action_not_understood"
FAQ_INTENT = "faq"
# Understood-but-not-a-topic intents: never worth suggesting.
_NEVER_SUGGESTED = frozenset({"nlu_fallback", "out_of_scope", FAQ_INTENT, "affirm", "deny", "faq_topic"})

Titles = Mapping[str, Mapping[str, str]]  # id → language → title


@dataclass(frozen=True)
class Suggestion:
    title: str
    payload: str
    score: float


def faq_topic_payload(topic: str) -> str:
    """The quick-reply payload that answers FAQ topic `topic` (action_faq_topic)."""
    return "/faq_topic" + json.dumps({"topic": topic}, separators=(",", ":"))


def previous_misses(events: Iterable[Mapping[str, Any]]) -> int:
    """User turns in a row, before the current one, that the bot did not understand."""
    turns: list[set[str]] = []
    for event in events:
        if event.get("event") == "user":
            turns.append(set())
        elif event.get("event") == "action" and turns:
            turns[-1].add(str(event.get("name")))
    misses = 0
    for actions in reversed(turns[:-1]):  # the last turn is the one being answered
        if NOT_UNDERSTOOD_ACTION not in actions:
            break
        misses += 1
    return misses


def _title(titles: Titles, key: str, language: str) -> str | None:
    title = (titles.get(key) or {}).get(language)
    return title if isinstance(title, str) and title.strip() else None


def suggestions(
    parse_data: Mapping[str, Any], topic_titles: Titles, intent_titles: Titles, language: str, limit: int = 3
) -> list[Suggestion]:
    ranking = [r for r in parse_data.get("intent_ranking") or [] if isinstance(r, Mapping)]
    faq_confidence = next((float(r.get("confidence") or 0) for r in ranking if r.get("name") == FAQ_INTENT), 0.0)
    found: list[Suggestion] = []
    selector = ((parse_data.get("response_selector") or {}).get(FAQ_INTENT) or {}).get("ranking") or []
    for item in selector:
        key = str(item.get("intent_response_key") or "")
        topic = key.split("/", 1)[1] if key.startswith(f"{FAQ_INTENT}/") else ""
        if title := _title(topic_titles, topic, language):
            score = faq_confidence * float(item.get("confidence") or 0)
            found.append(Suggestion(title, faq_topic_payload(topic), score))
    for item in ranking:
        name = str(item.get("name") or "")
        if name not in _NEVER_SUGGESTED and (title := _title(intent_titles, name, language)):
            found.append(Suggestion(title, f"/{name}", float(item.get("confidence") or 0)))
    found.sort(key=lambda s: s.score, reverse=True)
    return found[:limit]


@lru_cache(maxsize=None)
def titles(folder: str) -> Titles:
    """`title: {de, en}` of each faq_data/<folder>/*.yml by its id, read once."""
    result: dict[str, Mapping[str, str]] = {}
    for path in sorted((faq_dir() / folder).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(data.get("title"), dict) and isinstance(data.get("id"), str):
            result[data["id"]] = {str(k): str(v) for k, v in data["title"].items()}
    return result


def topic_ids() -> frozenset[str]:
    """Ids of the FAQ topics: the only `utter_faq/<id>` responses that exist."""
    return frozenset(path.stem for path in (faq_dir() / "topics").glob("*.yml"))
