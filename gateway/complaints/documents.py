"""A complaint document: one thing a shopper said that is a complaint, with where it came from."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from gateway.complaints.feedback import FeedbackClass

# What is kept of a text (a complaint is read, clustered and shown, not archived: the case has it all).
MAX_TEXT_CHARS = 500


class Source(StrEnum):
    # A shopper message the bot understood as `complain` or `report_damage`.
    INTENT = "intent"
    # A shopper message in a conversation handed off for a complaint or a damaged item.
    HANDOFF = "handoff"
    # A return request's reason.
    RETURN = "return"
    # A satisfaction comment with a score of 1 or 2.
    CSAT = "csat"


@dataclass(frozen=True, slots=True)
class ComplaintDocument:
    id: str
    conversation_id: str
    # The shopper (distinct shoppers are counted by contact).
    contact_id: str
    at: float
    text: str
    source: Source
    language: str
    channel: str
    # The team the conversation was with, if any (the report's team filter).
    team: str | None = None
    product: str | None = None
    feedback: FeedbackClass = FeedbackClass.COMPLAINT

    def with_product(self, sku: str | None) -> ComplaintDocument:
        return replace(self, product=sku)

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> ComplaintDocument:
        data = json.loads(raw)
        return cls(
            id=str(data["id"]), conversation_id=str(data["conversation_id"]), contact_id=str(data["contact_id"]),
            at=float(data["at"]), text=str(data["text"]), source=Source(data["source"]),
            language=str(data["language"]), channel=str(data["channel"]), team=data.get("team"),
            product=data.get("product"), feedback=FeedbackClass(data.get("feedback", FeedbackClass.COMPLAINT)),
        )


def language_of(locale: str) -> str:
    """The conversation's language ("de-AT" → "de")."""
    return locale.replace("_", "-").split("-")[0].lower() or "de"
