"""The episode fold: a case's events, in order, turned into the facts the reports count.

Pure: no Redis, no clock. `fold` takes what the reports knew of a conversation (an
`EpisodeState`) and its next event, and gives back the facts that event settles — a
conversation started, a handoff, a first response, a resolve, a survey answer — each
placed at the moment the README's definitions name ("Reports: what every figure means").
A conversation in the reports is one *episode* of a case: from the shopper's first
message (again after a resolve, or after IDLE_SECONDS of silence in a bot-only chat)
to its resolve. The bot report counts *bot episodes*: the bot's part of a conversation,
from its start, or the shopper's first message after a hand back, to its handoff.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.types import Author, Event, EventKind

# A bot-only chat the shopper comes back to after this long is a new conversation.
IDLE_SECONDS = 24 * 3600
NOT_UNDERSTOOD = frozenset({"nlu_fallback", "out_of_scope"})
# Intents that say nothing about what the shopper came for.
NO_TOPIC = NOT_UNDERSTOOD | {"greet", "goodbye", "thanks", "bot_challenge", "affirm", "deny"}
# The topic of a bot episode in which the bot recognised nothing the shopper came for.
UNKNOWN_TOPIC = "none"
MAX_TEXT_CHARS = 200


class FactName(StrEnum):
    """What a fact counts (the prefix of its fields in the rollups)."""

    STARTED = "started"
    HANDOFF = "handoffs"
    BOT_EPISODE = "bot"          # a bot episode, placed at its start
    HANDED = "handed"            # a bot episode ending in a handoff, placed at its start
    TOPIC = "topic"              # a bot episode's topic, placed at its start (none: no such fact)
    TOPIC_HANDED = "topic_handed"
    FIRST_RESPONSE = "frt"
    UNANSWERED = "unanswered"
    RESOLUTION = "res"
    HANDLING = "handle"
    WAITING = "wait"
    NOT_UNDERSTOOD = "nu"
    SURVEY = "surveys"
    CSAT = "csat"
    COMMENT = "comment"


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing the reports count, at the moment `at` that places it (day, hour, business
    hours); a duration also has the `span` it measures."""

    name: FactName
    at: float
    channel: str
    team: str | None = None
    agent: str | None = None
    label: str | None = None        # reason, topic, score
    span: tuple[float, float] | None = None
    text: str | None = None         # a not-understood message, a comment
    conversation_id: str = ""


@dataclass(slots=True)
class EpisodeState:
    """What the fold knows of one conversation between its events (stored as JSON)."""

    episode: int = 0
    open: bool = False
    started_at: float = 0.0
    state: str = "bot"
    team: str | None = None
    agent: str | None = None
    topic: str | None = None     # the conversation's first bot episode's
    # The bot episode running (its start, its topic), or None; and whether the bot has the
    # conversation back from a person with the shopper not having written since.
    bot_since: float | None = None
    bot_topic: str | None = None
    bot_pending: bool = False
    last_talk_at: float | None = None  # the last shopper or bot message (the idle rule)
    handoff_at: float | None = None
    first_handoff_at: float | None = None
    awaiting_reply: bool = False
    first_response_at: float | None = None
    assigned_at: float | None = None
    exchange_at: float | None = None
    last_shopper_at: float | None = None
    last_shopper_text: str = ""
    turn_answered: bool = True
    resolved_at: float | None = None
    resolved_team: str | None = None
    resolved_agent: str | None = None
    csat: int | None = None
    outcome: str = "bot"
    reason: str | None = None
    # The last team and agent who had it (for the export, after a hand back too).
    last_team: str | None = None
    last_agent: str | None = None

    def dumps(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str | None) -> EpisodeState:
        if not raw:
            return cls()
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in json.loads(raw).items() if k in known})


@dataclass(slots=True)
class Folded:
    facts: list[Fact] = field(default_factory=list)
    # The rows (conversation episodes) that changed, for the CSV export: (start, row).
    rows: dict[int, tuple[float, dict[str, Any]]] = field(default_factory=dict)


def fold(state: EpisodeState, event: Event, *, conversation_id: str, channel: str, out: Folded) -> None:
    """Fold one event into `state` (in place), adding the facts it settles to `out`."""
    folder = _Folder(state, conversation_id, channel, out)
    if event.kind is EventKind.MESSAGE:
        folder.message(event)
    elif event.kind is EventKind.STATE:
        folder.state_change(event)
    elif event.kind is EventKind.CSAT:
        folder.survey_answer(event)
    if state.episode:
        out.rows[state.episode] = (state.started_at, row(state, conversation_id, channel))


def row(state: EpisodeState, conversation_id: str, channel: str) -> dict[str, Any]:
    """A conversation episode as the CSV export shows it (times: epoch seconds)."""
    return {
        "conversation_id": conversation_id, "episode": state.episode, "channel": channel,
        "started_at": state.started_at, "first_handoff_at": state.first_handoff_at,
        "first_response_at": state.first_response_at, "resolved_at": state.resolved_at if not state.open else None,
        "team": state.last_team, "agent": state.last_agent,
        "topic": state.topic or UNKNOWN_TOPIC, "reason": state.reason, "outcome": state.outcome, "csat": state.csat,
    }


@dataclass(slots=True)
class _Folder:
    s: EpisodeState
    conversation_id: str
    channel: str
    out: Folded

    def emit(self, name: FactName, at: float, **values: Any) -> None:
        self.out.facts.append(Fact(name, at, self.channel, conversation_id=self.conversation_id, **values))

    # --- episodes ------------------------------------------------------------------

    def start(self, at: float) -> None:
        s = self.s
        s.episode += 1
        s.open, s.started_at, s.topic, s.reason = True, at, None, None
        s.first_handoff_at = s.first_response_at = s.assigned_at = s.handoff_at = None
        s.awaiting_reply, s.exchange_at, s.csat, s.outcome = False, None, None, "bot"
        s.resolved_at = s.resolved_team = s.resolved_agent = s.last_team = s.last_agent = None
        s.last_talk_at = at
        self.emit(FactName.STARTED, at)
        self.start_bot(at)

    def start_bot(self, at: float) -> None:
        s = self.s
        s.bot_since, s.bot_topic, s.bot_pending = at, None, False
        self.emit(FactName.BOT_EPISODE, at)

    def end_exchange(self) -> None:
        self.s.exchange_at = None

    # --- messages ------------------------------------------------------------------

    def message(self, event: Event) -> None:
        if event.author is Author.SHOPPER:
            self.shopper_message(event)
        elif event.author in (Author.BOT, Author.AGENT):
            if "notification" in event.data or "offer_id" in event.data:
                return  # the shop spoke first: nobody was waiting for it
            self.answer(event)

    def shopper_message(self, event: Event) -> None:
        s = self.s
        s.last_shopper_at = event.at
        shown = event.data.get("quick_reply_title") or event.text or ""
        s.last_shopper_text = " ".join(str(shown).lower().split())[:MAX_TEXT_CHARS]
        if s.state == "resolved":
            return  # a survey answer, or the message that reopens it (the state change follows)
        previous = s.last_talk_at
        idle = s.state == "bot" and previous is not None and event.at - previous > IDLE_SECONDS
        if not s.open or idle:
            self.start(event.at)
        elif s.bot_pending and s.state == "bot":
            self.start_bot(event.at)
        s.last_talk_at = event.at
        if s.exchange_at is None:
            s.exchange_at = event.at
        s.turn_answered = False

    def answer(self, event: Event) -> None:
        s = self.s
        if not s.open:
            return
        agent = str(event.data.get("agent") or s.agent or "") or None
        team = s.team if event.author is Author.AGENT else None
        if s.exchange_at is not None:
            self.emit(FactName.WAITING, s.exchange_at, span=(s.exchange_at, event.at), team=team,
                      agent=agent if event.author is Author.AGENT else None)
            self.end_exchange()
        if event.author is Author.AGENT:
            if s.awaiting_reply and s.handoff_at is not None:
                self.emit(FactName.FIRST_RESPONSE, s.handoff_at, span=(s.handoff_at, event.at), team=s.team, agent=agent)
                s.awaiting_reply = False
                s.first_response_at = s.first_response_at or event.at
            return
        s.last_talk_at = event.at
        intent = event.data.get("intent")
        if intent in NOT_UNDERSTOOD and not s.turn_answered and s.last_shopper_at is not None:
            self.emit(FactName.NOT_UNDERSTOOD, s.last_shopper_at, text=s.last_shopper_text)
        s.turn_answered = True
        if (s.bot_since is not None and s.bot_topic is None and isinstance(intent, str) and intent
                and intent not in NO_TOPIC):
            s.bot_topic = str(event.data.get("retrieval_intent") or intent)
            self.emit(FactName.TOPIC, s.bot_since, label=s.bot_topic)
            if s.bot_since == s.started_at:  # the conversation's first bot episode
                s.topic = s.bot_topic

    # --- state changes -------------------------------------------------------------------

    def state_change(self, event: Event) -> None:
        s = self.s
        to, previous = event.data.get("to"), event.data.get("from")
        team, agent = event.data.get("team"), event.data.get("agent")
        if previous is None:
            s.state = str(to or "bot")
            return
        if to == "queued" and previous == "bot":
            self.handoff(event.at, str(team or "general"), str(event.data.get("reason") or ""))
        elif to == "bot" and previous == "resolved":
            self.start(s.last_shopper_at if s.last_shopper_at is not None else event.at)
            s.exchange_at = s.started_at
            s.turn_answered = False
        elif to == "bot":
            self.hand_back(event.at)
        elif to == "resolved":
            self.resolve(event.at)
        if to == "assigned":
            s.agent = str(agent) if agent else None
            if s.assigned_at is None:
                s.assigned_at = event.at
        s.state = str(to)
        if to in ("queued", "assigned"):
            s.team = str(team) if team else s.team
            s.agent = str(agent) if to == "assigned" and agent else None
            s.last_team, s.last_agent = s.team, s.agent or s.last_agent
        elif to == "bot":
            s.team = s.agent = None

    def handoff(self, at: float, team: str, reason: str) -> None:
        s = self.s
        if not s.open:
            self.start(at)
        self.emit(FactName.HANDOFF, at, team=team, label=reason)
        s.handoff_at, s.awaiting_reply, s.team, s.outcome = at, True, team, "open"
        if s.first_handoff_at is None:
            s.first_handoff_at, s.reason = at, reason
        if s.bot_since is not None:
            self.emit(FactName.HANDED, s.bot_since)
            if s.bot_topic is not None:
                self.emit(FactName.TOPIC_HANDED, s.bot_since, label=s.bot_topic)
            s.bot_since = s.bot_topic = None

    def release(self, at: float) -> None:
        """A person lets go of the conversation (resolve or hand back)."""
        s = self.s
        if s.awaiting_reply and s.handoff_at is not None:
            self.emit(FactName.UNANSWERED, s.handoff_at, team=s.team)
        s.awaiting_reply = False
        if s.assigned_at is not None:
            self.emit(FactName.HANDLING, at, span=(s.assigned_at, at), team=s.team, agent=s.agent)
            s.assigned_at = None
        self.end_exchange()

    def hand_back(self, at: float) -> None:
        self.release(at)
        self.s.outcome = "handed_back"
        self.s.bot_since, self.s.bot_topic, self.s.bot_pending = None, None, True

    def resolve(self, at: float) -> None:
        s = self.s
        if not s.open:
            return
        self.release(at)
        self.emit(FactName.RESOLUTION, at, span=(s.started_at, at), team=s.team, agent=s.agent)
        self.emit(FactName.SURVEY, at, team=s.team, agent=s.agent)
        s.resolved_at, s.resolved_team, s.resolved_agent = at, s.team, s.agent
        s.open, s.outcome, s.csat = False, "resolved", None
        s.bot_since = s.bot_topic = None
        s.bot_pending = False

    def survey_answer(self, event: Event) -> None:
        s = self.s
        if s.resolved_at is None or s.open:
            return
        score = event.data.get("score")
        if s.csat is None and isinstance(score, int):
            s.csat = score
            self.emit(FactName.CSAT, s.resolved_at, team=s.resolved_team, agent=s.resolved_agent, label=str(score))
        comment = event.data.get("comment")
        if isinstance(comment, str) and comment.strip():
            self.emit(FactName.COMMENT, s.resolved_at, team=s.resolved_team, agent=s.resolved_agent,
                      label=str(s.csat) if s.csat is not None else None, text=comment.strip())
