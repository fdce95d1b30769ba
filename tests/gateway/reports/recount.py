"""The naive recount every report figure must equal: the raw case histories, read again.

Written from the definitions in the README ("Reports: what every figure means") alone,
without gateway/reports/: the rollups fold events as they happen; this reads each whole
history at once, and computes opening hours minute by minute from the schedule instead of
interval arithmetic, so the two implementations check each other.

Where the definitions leave room, this reads them so (and the README's definitions now say so too):
- episodes: a conversation starts at the shopper's first message; a shopper message while
  the case is resolved is a survey answer unless it is the one that reopened the case
  (the `resolved → bot` state event right after it); while only the bot is in the chat
  (never handed off, or handed back), a shopper message more than 24 h after the last
  shopper or bot message (order notifications and chat offers do not break a silence)
  starts a new episode;
- a bot episode (what the bot report counts) starts with a conversation, and again with the
  shopper's first message after a hand back; it ends at its handoff; its topic is the first
  one the bot recognised in it before that, "none" if there was none;
- the CSV's topic is the conversation's first bot episode's; its team and agent the last
  team and the last agent that had the conversation;
- durations are whole milliseconds (`round(at * 1000)` of each end); percentiles are
  nearest-rank, then the lower edge of the value's bucket; means are exact, half-even
  to the millisecond; shares are rounded to four decimals.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime

from redis.asyncio import Redis

from core.types import Author, ConversationState as S, Event, EventKind
from gateway import keys
from gateway.conversations.store import ConversationStore
from gateway.desk.business_hours import BusinessHours, Schedule

DAY_MS = 24 * 3600 * 1000
MINUTE_MS = 60_000
# Turns the bot did not understand; and intents that are no topic of a conversation.
NOT_UNDERSTOOD = frozenset({"nlu_fallback", "out_of_scope"})
NO_TOPIC = NOT_UNDERSTOOD | {"greet", "goodbye", "thanks", "affirm", "deny"}


def ms(at: float) -> int:
    return round(at * 1000)


# --- what the histories say -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    channel: str
    events: tuple[Event, ...]


@dataclass(slots=True)
class BotEpisode:
    """The bot's part of a conversation: from its start, or the shopper's first message after
    a hand back, to its handoff."""

    at: int
    channel: str
    conversation_id: str
    topic: str | None = None
    handed_off: bool = False


# The facts are filled in while a history is read (a handoff learns later who answered it).
@dataclass(slots=True)
class Episode:
    """A conversation: from the shopper's first message to its resolve (a CSV row)."""

    at: int
    channel: str
    talked: int  # the last shopper or bot message
    conversation_id: str = ""
    number: int = 1  # the conversation id's how-manieth
    first_bot: BotEpisode | None = None  # its topic is the conversation's (the CSV's)
    first_handoff: int | None = None
    reason: str | None = None
    first_response: int | None = None
    resolved: int | None = None
    team: str | None = None
    agent: str | None = None
    outcome: str = "bot"
    score: int | None = None


@dataclass(slots=True)
class Handoff:
    at: int
    channel: str
    team: str | None
    reason: str
    conversation_id: str
    answered_at: int | None = None
    answered_by: str | None = None  # the agent who wrote first, and their team then
    answered_team: str | None = None
    unanswered: bool = False  # resolved or handed back before any agent wrote ...
    ended_team: str | None = None  # ... by whoever had it then
    ended_agent: str | None = None


@dataclass(slots=True)
class Resolve:
    """A resolve: a survey, and a resolution when an episode was open."""

    at: int
    channel: str
    team: str | None  # who had the conversation at the resolve
    agent: str | None
    started: int | None
    conversation_id: str
    episode: Episode | None = None
    score: int | None = None  # the survey's first score
    comment: str | None = None
    commented_at: int | None = None


@dataclass(frozen=True, slots=True)
class Exchange:
    at: int  # the shopper message nobody had answered
    channel: str
    team: str | None  # who answered (None: the bot)
    agent: str | None
    answered_at: int


@dataclass(frozen=True, slots=True)
class Turn:
    at: int
    channel: str
    text: str


@dataclass(frozen=True, slots=True)
class Handling:
    at: int  # the resolve or hand back that ended it
    channel: str
    team: str | None
    agent: str | None
    assigned_at: int


@dataclass(slots=True)
class Facts:
    episodes: list[Episode] = field(default_factory=list)
    bot_episodes: list[BotEpisode] = field(default_factory=list)
    handoffs: list[Handoff] = field(default_factory=list)
    resolves: list[Resolve] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    handling: list[Handling] = field(default_factory=list)

    def add(self, other: Facts) -> None:
        for name in (item.name for item in fields(self)):
            getattr(self, name).extend(getattr(other, name))


async def load_cases(redis: Redis) -> list[Case]:
    """Every conversation's hash and whole history."""
    store = ConversationStore(redis)
    cases = []
    async for key in redis.scan_iter(match=keys.conversation("*"), count=1000, _type="hash"):
        conversation_id = str(key).removeprefix(keys.conversation(""))
        if ":" in conversation_id:
            continue  # the survey beside a case
        raw = await redis.hgetall(key)
        events = await store.history(conversation_id, count=1_000_000)
        cases.append(Case(conversation_id, str(raw["channel"]), tuple(events)))
    return sorted(cases, key=lambda case: case.id)


async def recount(redis: Redis) -> Facts:
    facts = Facts()
    for case in await load_cases(redis):
        facts.add(read(case))
    return facts


def _is_dialogue(event: Event) -> bool:
    """Order notifications and chat offers are the shop speaking first, not an answer."""
    return "notification" not in event.data and "offer_id" not in event.data


def read(case: Case) -> Facts:
    """One case's history, event by event, into facts."""
    f = Facts()
    channel = case.channel
    state, team, agent = S.BOT.value, None, None
    episode: Episode | None = None
    bot: BotEpisode | None = None  # the bot episode running
    handed_back = False  # the bot has it again, and the shopper has not written since
    returning: Event | None = None  # a shopper message written while resolved
    handoff: Handoff | None = None  # the handoff whose window is still open
    assigned_at: int | None = None  # the window's first assignment
    waiting: int | None = None  # since when a shopper message is unanswered
    turn: Event | None = None  # the shopper message the bot has not answered yet
    survey: Resolve | None = None

    def begin_bot(at: int) -> None:
        nonlocal bot, handed_back
        bot, handed_back = BotEpisode(at, channel, case.id), False
        f.bot_episodes.append(bot)

    def begin(message: Event) -> None:
        nonlocal episode, waiting, turn
        number = sum(e.conversation_id == case.id for e in f.episodes) + 1
        episode = Episode(ms(message.at), channel, ms(message.at), case.id, number)
        f.episodes.append(episode)
        waiting, turn = ms(message.at), message
        begin_bot(ms(message.at))
        episode.first_bot = bot

    def answered(at: int, by_team: str | None, by_agent: str | None) -> None:
        nonlocal waiting
        if waiting is not None:
            f.exchanges.append(Exchange(waiting, channel, by_team, by_agent, at))
            waiting = None

    for event in case.events:
        at, data = ms(event.at), event.data
        if event.kind is EventKind.MESSAGE and event.author is Author.SHOPPER:
            if state == S.RESOLVED:
                returning = event
                continue
            if episode is not None and state == S.BOT and at - episode.talked > DAY_MS:
                episode = None  # a chat with only the bot in it, picked up after a day: a new conversation
            if episode is None:
                begin(event)
            else:
                waiting = at if waiting is None else waiting
                turn = event
                episode.talked = at
                if handed_back and state == S.BOT:
                    begin_bot(at)
        elif event.kind is EventKind.MESSAGE and event.author is Author.BOT and _is_dialogue(event):
            answered(at, None, None)
            intent = data.get("intent")
            if turn is not None and intent in NOT_UNDERSTOOD:
                f.turns.append(Turn(ms(turn.at), channel, turn.text or ""))
            turn = None
            if episode is not None:
                episode.talked = at
            if bot is not None and bot.topic is None and intent and intent not in NO_TOPIC:
                bot.topic = str(data.get("retrieval_intent") or intent)
        elif event.kind is EventKind.MESSAGE and event.author is Author.AGENT:
            answered(at, team, data.get("agent"))
            if handoff is not None and handoff.answered_at is None:
                handoff.answered_at, handoff.answered_by, handoff.answered_team = at, data.get("agent"), team
                if episode is not None and episode.first_response is None:
                    episode.first_response = at
        elif event.kind is EventKind.STATE:
            before, to = data.get("from"), data["to"]
            if before == S.RESOLVED and to == S.BOT and returning is not None:
                begin(returning)
            returning = None
            if before == S.BOT and to == S.QUEUED:
                handoff = Handoff(at, channel, data.get("team"), str(data.get("reason")), case.id)
                f.handoffs.append(handoff)
                if bot is not None:
                    bot.handed_off = True
                bot = None
                if episode is not None and episode.first_handoff is None:
                    episode.first_handoff, episode.reason = at, handoff.reason
            if to == S.ASSIGNED and handoff is not None:
                assigned_at = at if assigned_at is None else assigned_at
            if handoff is not None and (to == S.RESOLVED or (to == S.BOT and before in (S.QUEUED, S.ASSIGNED))):
                handoff.unanswered = handoff.answered_at is None
                handoff.ended_team, handoff.ended_agent = team, agent
                if assigned_at is not None:
                    f.handling.append(Handling(at, channel, team, agent, assigned_at))
                handoff, assigned_at = None, None
            if to == S.BOT and before in (S.QUEUED, S.ASSIGNED):
                waiting = None  # handed back with the shopper unanswered: like a resolve, not counted
                handed_back = True
                if episode is not None:
                    episode.outcome = "handed_back"
            if episode is not None and to in (S.QUEUED, S.ASSIGNED):
                episode.outcome = "open"
                episode.team = data.get("team") or episode.team
                episode.agent = data.get("agent") or episode.agent
            if to == S.RESOLVED:
                survey = Resolve(at, channel, team, agent, episode.at if episode else None, case.id, episode)
                f.resolves.append(survey)
                if episode is not None:
                    episode.resolved, episode.outcome = at, "resolved"
                episode, bot, waiting, turn = None, None, None, None
            state, team, agent = to, data.get("team"), data.get("agent")
        elif event.kind is EventKind.CSAT and survey is not None:
            if survey.score is None and data.get("score") is not None:
                survey.score = int(data["score"])
                if survey.episode is not None:
                    survey.episode.score = survey.score
            if survey.comment is None and data.get("comment"):
                survey.comment, survey.commented_at = str(data["comment"]), at
    return f


# --- opening hours, minute by minute ------------------------------------------------------


class OpeningMinutes:
    """Whether each UTC minute lies in opening hours, read from the schedule's wall clock.

    Openings start and end on whole local minutes and the zone's offsets are whole hours,
    so a minute is open or closed as a whole: counting open minutes is counting open time.
    """

    def __init__(self, hours: BusinessHours) -> None:
        self.hours = hours
        self._open: dict[tuple[int, int], bool] = {}

    def schedule(self, team: str | None) -> Schedule:
        return self.hours.teams.get(team or "", self.hours.default)

    def local(self, at: int) -> datetime:
        return datetime.fromtimestamp(at // 1000, self.hours.timezone)

    def _minute_open(self, minute: int, schedule: Schedule) -> bool:
        key = (id(schedule), minute)
        if key not in self._open:
            local = self.local(minute * MINUTE_MS)
            clock = local.time()
            self._open[key] = any(i.start <= clock and (i.end is None or clock < i.end)
                                  for i in schedule.intervals(local.date()))
        return self._open[key]

    def is_open(self, at: int, team: str | None) -> bool:
        return self._minute_open(at // MINUTE_MS, self.schedule(team))

    def open_ms(self, start: int, end: int, team: str | None) -> int:
        schedule = self.schedule(team)
        total = 0
        for minute in range(start // MINUTE_MS, (end - 1) // MINUTE_MS + 1 if end > start else 0):
            if self._minute_open(minute, schedule):
                total += min(end, (minute + 1) * MINUTE_MS) - max(start, minute * MINUTE_MS)
        return total


# --- durations at report resolution ------------------------------------------------------


def bucket(value: int) -> int:
    """The lower edge, in seconds, of the histogram bucket a duration (ms) falls in."""
    for below, width in ((60_000, 1000), (600_000, 10_000), (3_600_000, 60_000),
                         (86_400_000, 900_000), (604_800_000, 3_600_000)):
        if value < below:
            return value // width * width // 1000
    return 604_800


def nearest_rank(values: list[int], percent: int) -> int:
    ordered = sorted(values)
    return ordered[-(-percent * len(ordered) // 100) - 1]


def mean_seconds(values: list[int]) -> float:
    """Exact mean rounded half-to-even to the millisecond, in seconds."""
    total, count = sum(values), len(values)
    whole, rest = divmod(total, count)
    if 2 * rest > count or (2 * rest == count and whole % 2):
        whole += 1
    return whole / 1000


def durations(values: list[int]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "median": None, "p90": None, "mean": None}
    return {"count": len(values), "median": bucket(nearest_rank(values, 50)),
            "p90": bucket(nearest_rank(values, 90)), "mean": mean_seconds(values)}


def count_median(values: list[int]) -> dict[str, float | int | None]:
    summary = durations(values)
    return {"count": summary["count"], "median": summary["median"]}


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def normalised(text: str) -> str:
    return " ".join(text.lower().split())


def top_texts(turns: list[Turn], top: int = 20) -> list[dict[str, object]]:
    """The `top` most frequent not-understood messages (ties: alphabetical)."""
    counts = Counter(normalised(turn.text) for turn in turns)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    return [{"text": text, "count": n} for text, n in ordered]
