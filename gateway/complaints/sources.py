"""Where complaints come from, read off a conversation's events in order (no Redis here).

- a shopper message the bot understood as `complain` or `report_damage`: the intent is on
  the bot message that follows it, so the shopper's message waits in the state until then;
- a handoff for a `complaint` or a `damaged_item`: the message that brought it (when the
  bot had not already taken it as a complaint) and the next few the shopper writes while a
  person has the case (greetings, order numbers, "ok" are left out: nothing to read);
- a return request with a reason (the reason is the shopper's words);
- a satisfaction comment; with a score of 1 or 2 it is a complaint, any comment is feedback.

The fold is a pure function of the stored state and the new events, so the follower can
retry it after a conflict and get the same documents.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from core.types import Author, Conversation, ConversationState, Event, EventKind
from gateway.complaints.documents import MAX_TEXT_CHARS, ComplaintDocument, Source, language_of

COMPLAINT_INTENTS = frozenset({"complain", "report_damage"})
COMPLAINT_REASONS = frozenset({"complaint", "damaged_item"})
# Messages taken from one complaint handoff after the one that brought it.
MAX_FOLLOWUPS = 3
# Request ids remembered (a request's later steps repeat its reason: taken once).
MAX_REQUESTS = 10
# Orders the shopper named in requests (each one proven: the bot opens requests only then).
MAX_ORDERS = 5
LOW_SCORE = 2
_ENDS_HANDOFF = frozenset({ConversationState.RESOLVED.value, ConversationState.BOT.value})


@dataclass(frozen=True, slots=True)
class Found:
    document: ComplaintDocument
    # A complaint (or only feedback: a CSAT comment scored 3 to 5).
    complaint: bool = True
    # What the event itself says the complaint is about: a return's items (SKUs).
    skus: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FoldState:
    """What a fold leaves for the next one (the projection's per-conversation hash)."""

    # The last shopper message, until the bot's answer says what it understood.
    shopper: Mapping[str, Any] | None = None
    handoff: str | None = None
    team: str | None = None
    followups: int = 0
    requests: tuple[str, ...] = ()
    orders: tuple[str, ...] = ()
    # Documents still without a product (JSON), kept by the projection to attribute later.
    pending: tuple[str, ...] = ()

    def to_state(self) -> dict[str, str]:
        state = {"followups": str(self.followups), "requests": json.dumps(list(self.requests)),
                 "orders": json.dumps(list(self.orders)), "pending": json.dumps(list(self.pending))}
        if self.shopper is not None:
            state["shopper"] = json.dumps(self.shopper, ensure_ascii=False)
        if self.handoff is not None:
            state["handoff"] = self.handoff
        if self.team is not None:
            state["team"] = self.team
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, str]) -> FoldState:
        return cls(
            shopper=json.loads(state["shopper"]) if state.get("shopper") else None,
            handoff=state.get("handoff") or None, team=state.get("team") or None,
            followups=int(state.get("followups") or 0),
            requests=tuple(json.loads(state.get("requests") or "[]")),
            orders=tuple(json.loads(state.get("orders") or "[]")),
            pending=tuple(json.loads(state.get("pending") or "[]")),
        )


def fold(state: FoldState, conversation: Conversation, events: Sequence[Event],
         substantive: Callable[[str], bool]) -> tuple[FoldState, list[Found]]:
    """The documents in `events` and the state after them. `substantive`: whether a message
    says something (not "ok", "104233", "hallo")."""
    found: list[Found] = []

    def document(event: Event, text: str, source: Source) -> ComplaintDocument:
        return ComplaintDocument(
            id=f"{conversation.id}:{event.id}", conversation_id=conversation.id,
            contact_id=conversation.contact_id, at=event.at, text=text.strip()[:MAX_TEXT_CHARS], source=source,
            language=language_of(conversation.locale), channel=conversation.channel.value,
            team=state.team or conversation.team,
        )

    for event in events:
        if event.kind is EventKind.MESSAGE and event.author is Author.SHOPPER:
            text = (event.text or "").strip()
            if not text or text.startswith("/"):
                continue  # a tapped button's payload: the shopper's words are elsewhere
            if state.handoff is not None:
                if state.followups < MAX_FOLLOWUPS and substantive(text):
                    found.append(Found(document(event, text, Source.HANDOFF)))
                    state = replace(state, followups=state.followups + 1)
                continue
            state = replace(state, shopper={"id": event.id, "at": event.at, "text": text[:MAX_TEXT_CHARS],
                                            "open": True})
        elif event.kind is EventKind.MESSAGE and event.author is Author.BOT:
            shopper = state.shopper
            if shopper is None or not shopper.get("open") or "intent" not in event.data:
                continue
            taken = event.data.get("intent") in COMPLAINT_INTENTS
            if taken:
                found.append(Found(_from_shopper(document, shopper, Source.INTENT)))
            state = replace(state, shopper={**shopper, "open": False, "taken": taken})
        elif event.kind is EventKind.STATE:
            state = _state_event(state, event, found, document, substantive)
        elif event.kind is EventKind.REQUEST:
            state = _request(state, event, found, document)
        elif event.kind is EventKind.CSAT:
            comment = str(event.data.get("comment") or "").strip()
            if comment:
                score = event.data.get("score")
                low = isinstance(score, int) and score <= LOW_SCORE
                found.append(Found(document(event, comment, Source.CSAT), complaint=low))
    return state, found


Make = Callable[[Event, str, Source], ComplaintDocument]


def _from_shopper(document: Make, shopper: Mapping[str, Any], source: Source) -> ComplaintDocument:
    """The document of the waiting shopper message (its own id and time, not the later event's)."""
    event = Event(id=str(shopper["id"]), kind=EventKind.MESSAGE, at=float(shopper["at"]), author=Author.SHOPPER)
    return document(event, str(shopper["text"]), source)


def _state_event(state: FoldState, event: Event, found: list[Found], document: Make,
                 substantive: Callable[[str], bool]) -> FoldState:
    to = event.data.get("to")
    if to in _ENDS_HANDOFF:
        return replace(state, shopper=None, handoff=None, team=None, followups=0)
    if to != ConversationState.QUEUED.value:
        return state
    team = event.data.get("team") or state.team
    reason = event.data.get("reason")
    if state.handoff is not None or reason not in COMPLAINT_REASONS:
        return replace(state, team=team)  # a transfer of a complaint is still one
    shopper = state.shopper
    state = replace(state, handoff=str(reason), team=team, followups=0)
    if shopper is not None and not shopper.get("taken") and substantive(str(shopper["text"])):
        taken = _from_shopper(document, shopper, Source.HANDOFF)
        found.append(Found(replace(taken, team=team)))
        state = replace(state, shopper={**shopper, "open": False, "taken": True})
    return state


def _request(state: FoldState, event: Event, found: list[Found], document: Make) -> FoldState:
    data = event.data
    request_id = str(data.get("id") or "")
    order_id = data.get("order_id")
    if isinstance(order_id, str) and order_id and order_id not in state.orders:
        state = replace(state, orders=(*state.orders, order_id)[-MAX_ORDERS:])
    reason = str(data.get("reason") or "").strip()
    if data.get("kind") != "return" or not reason or not request_id or request_id in state.requests:
        return state
    items = tuple(str(sku) for sku in data.get("items") or ())
    found.append(Found(document(event, reason, Source.RETURN), skus=items))
    return replace(state, requests=(*state.requests, request_id)[-MAX_REQUESTS:])
