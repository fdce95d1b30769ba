"""The conversation directory: every conversation for supervisors, newest activity first,
narrowed by facets and found by what shopper, bot and agents wrote in it.

No request scans conversations. The directory is an index in Redis, kept by a projection
of the feed (`DirectoryProjection`, gateway/conversations/feed.py: each conversation's new
events are folded once each, in order), and a search is a handful of sorted-set operations:

- `keys.DIRECTORY_ALL`: every conversation, scored by its *last activity*, the `at` of its
  newest event (any event: a message, a state change, a note, a request, a CSAT answer);
- one facet set per value of state, team, agent, channel and csat, scored the same (each
  fold re-scores the conversation's facet sets, so one facet alone is read directly);
- one postings set per search term (gateway/desk/search_terms.py) with the conversations
  it occurs in, and one set per 3-character prefix with the terms that start with it.

A search intersects the facet sets and the terms' postings (ZINTERSTORE; a term's postings
weigh 0, so a hit keeps its last activity as score), reads one page of the result by score,
newest first (ZRANGE BYSCORE REV LIMIT), and deletes its scratch sets, in one transaction.

What the filters mean:
- `state`: the state the conversation is in (the API re-checks it against the
  conversation for the page, so a claim a moment ago never shows under "queued");
- `team`, `agent`: who has it, or who had it last: a resolved or handed-back
  conversation keeps the team and agent it was last with;
- `since`/`until`: its last activity (not its creation): "what happened this week";
- `csat`: the last score its shopper gave; `channel`: where the shopper writes;
- `text`: every word must occur in the conversation (shopper, bot and agent messages,
  agents' notes, CSAT comments), as a whole term or, from 3 characters on, as the start
  of one ("rueck" finds "ruecksendung").

Bounds (every index is bounded; `Bounds` holds them, its defaults are the product's):
- 300 distinct terms are indexed per conversation, the first written; later new words
  of a very long conversation are not searchable;
- a term's postings keep its 10,000 most recent conversations (trimmed on every write):
  a word used in more conversations than that finds the newest 10,000 of them;
- a prefix set keeps the 1,000 most recently used terms; a query word expands to at
  most 24 of them (most recently used first), and at most 8 words of a query count.
So the index holds at most 300 postings per conversation and 10,000 per term; the sets
DIRECTORY_ALL and the facets hold one entry per conversation each.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from core.types import Author, Channel, Conversation, ConversationState, Event, EventKind, Team
from gateway import keys
from gateway.conversations.feed import Projected
from gateway.desk.search_terms import PREFIX_CHARS, prefix, terms

# The projection's name: its consumer group and its per-conversation state.
NAME = "directory"
POSTINGS_PER_TERM = 10_000
FACETS = ("state", "team", "agent", "channel", "csat")
# Whose words make a conversation findable (system notices are the same in every case).
WRITERS = frozenset({Author.SHOPPER, Author.BOT, Author.AGENT})
_LAST, _TERMS = "last", "terms"

# Which of the postings sets in KEYS hold the conversation ARGV[1] (1 or 0 each): one round
# trip for all of a fold's words, however many.
_INDEXED = """
local found = {}
for i, key in ipairs(KEYS) do found[i] = redis.call('ZSCORE', key, ARGV[1]) and 1 or 0 end
return found
"""
# The conversation ARGV[1] into the first ARGV[5] postings sets of KEYS at score ARGV[2], each
# trimmed to its newest ARGV[3]; the words ARGV[6..] into the prefix sets after them, each
# trimmed to ARGV[4]. One command instead of four per word.
_POST = """
local n = tonumber(ARGV[5])
for i = 1, n do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -tonumber(ARGV[3]) - 1)
end
for i = n + 1, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[i - n + 5])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -tonumber(ARGV[4]) - 1)
end
return n
"""


@dataclass(frozen=True, slots=True)
class Bounds:
    terms_per_conversation: int = 300
    postings_per_term: int = POSTINGS_PER_TERM
    terms_per_prefix: int = 1_000
    prefix_expansions: int = 24
    query_words: int = 8


def written_words(event: Event) -> str | None:
    """The words of an event a supervisor may search for, if it has any (what erasure and
    retention take back out, gateway/privacy/forget.py)."""
    if event.kind in (EventKind.MESSAGE, EventKind.NOTE) and event.author in WRITERS:
        return event.text
    if event.kind is EventKind.CSAT and isinstance(comment := event.data.get("comment"), str):
        return comment
    return None


def _facets(conversation: Conversation, state: Mapping[str, str], events: Sequence[Event]) -> dict[str, str]:
    """The facet values after `events`, from the events themselves (a rebuild gives the same)."""
    facets = {facet: state[facet] for facet in FACETS if state.get(facet)}
    facets["channel"] = conversation.channel.value
    for event in events:
        if event.kind is EventKind.STATE:
            if isinstance(to := event.data.get("to"), str):
                facets["state"] = to
            for facet in ("team", "agent"):
                if isinstance(value := event.data.get(facet), str) and value:
                    facets[facet] = value
        elif event.kind is EventKind.CSAT:
            score = event.data.get("score")
            if isinstance(score, int) and 1 <= score <= 5:
                facets["csat"] = str(score)
    facets.setdefault("state", conversation.state.value)
    return facets


async def fold(redis: Redis, conversation: Conversation, state: Mapping[str, str],
               events: Sequence[Event], bounds: Bounds = Bounds()) -> Projected:
    """Index a conversation's new events: its directory state, and the writes that index it
    (run in the transaction that moves the projection's cursor)."""
    cid = conversation.id
    last = max([float(state.get(_LAST) or 0.0), *(event.at for event in events)])
    before = {facet: state[facet] for facet in FACETS if state.get(facet)}
    facets = _facets(conversation, state, events)
    written: dict[str, None] = {}
    for event in events:
        if text := written_words(event):
            written.update(dict.fromkeys(terms(text)))
    words = list(written)
    found = await redis.eval(_INDEXED, len(words), *map(keys.directory_postings, words), cid) if words else []
    indexed = int(state.get(_TERMS) or 0)
    known = [word for word, there in zip(words, found, strict=True) if there]
    new = [word for word, there in zip(words, found, strict=True) if not there]
    new = new[:max(0, bounds.terms_per_conversation - indexed)]
    # A term said again is re-scored too, so the trim keeps the cases that use it now.
    posted = [*known, *new]
    listed = [word for word in posted if prefix(word) is not None]

    def write(pipe: Pipeline) -> None:
        pipe.zadd(keys.DIRECTORY_ALL, {cid: last})
        for facet in FACETS:
            old, now = before.get(facet), facets.get(facet)
            if old is not None and old != now:
                pipe.zrem(keys.directory_facet(facet, old), cid)
            if now is not None:
                pipe.zadd(keys.directory_facet(facet, now), {cid: last})
        if posted:
            pipe.eval(_POST, len(posted) + len(listed), *map(keys.directory_postings, posted),
                      *(keys.directory_prefix(word[:PREFIX_CHARS]) for word in listed),
                      cid, repr(last), bounds.postings_per_term, bounds.terms_per_prefix, len(posted), *listed)

    return Projected({_LAST: repr(last), _TERMS: str(indexed + len(new)), **facets}, write)


async def reset(redis: Redis) -> None:
    """Delete the whole index (before a rebuild)."""
    batch: list[str] = []
    async for key in redis.scan_iter(match=keys.DIRECTORY_KEYS, count=1000):
        batch.append(str(key))
        if len(batch) >= 500:
            await redis.delete(*batch)
            batch = []
    if batch:
        await redis.delete(*batch)


@dataclass(frozen=True, slots=True)
class DirectoryProjection:
    """The directory as a projection of the feed: a Follower of it in every reporting
    process keeps the index current; `rebuild(redis, DirectoryProjection())` refolds it."""

    name: str = NAME
    bounds: Bounds = Bounds()

    async def project(self, redis: Redis, conversation: Conversation, state: Mapping[str, str],
                      events: Sequence[Event]) -> Projected:
        return await fold(redis, conversation, state, events, self.bounds)

    async def reset(self, redis: Redis) -> None:
        await reset(redis)


class InvalidCursor(ValueError):
    """A cursor this directory did not give out."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the last activity of its last hit, and how many hits with that
    same score were shown already (ties are rare, but a controlled clock makes many)."""

    score: float
    skip: int

    def encode(self) -> str:
        return f"{self.score!r}:{self.skip}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        score, _, skip = text.partition(":")
        try:
            cursor = cls(float(score), int(skip))
        except ValueError:
            raise InvalidCursor("not a cursor of this list") from None
        if not math.isfinite(cursor.score) or not 0 <= cursor.skip <= 1_000_000:
            raise InvalidCursor("not a cursor of this list")
        return cursor


@dataclass(frozen=True, slots=True)
class Filter:
    """What a supervisor narrows the directory to; None is "any"."""

    state: ConversationState | None = None
    team: Team | None = None
    agent: str | None = None
    channel: Channel | None = None
    csat: int | None = None
    # Last activity from `since` (inclusive) until `until` (exclusive), epoch seconds.
    since: float | None = None
    until: float | None = None
    text: str | None = None

    def facet_keys(self) -> list[str]:
        values = {"state": self.state, "team": self.team, "agent": self.agent, "channel": self.channel,
                  "csat": None if self.csat is None else str(self.csat)}
        return [keys.directory_facet(facet, str(value)) for facet, value in values.items() if value is not None]


@dataclass(frozen=True, slots=True)
class Hit:
    conversation_id: str
    last_activity: float
    csat: int | None


@dataclass(frozen=True, slots=True)
class Page:
    hits: list[Hit]
    # The cursor of the next page; None on the last.
    next: str | None


@dataclass(frozen=True, slots=True)
class Directory:
    redis: Redis
    bounds: Bounds = Bounds()

    async def search(self, wanted: Filter, *, limit: int, cursor: Cursor | None = None) -> Page:
        term_groups: list[list[str]] = []
        if wanted.text is not None:
            term_groups = await self._term_groups(wanted.text)
            if not term_groups:
                return Page([], None)  # nothing searchable in the query (only "und", "the", …)
        scored = wanted.facet_keys()
        if cursor is not None:
            high, skip = repr(cursor.score), cursor.skip
        else:
            high, skip = "+inf" if wanted.until is None else f"({wanted.until!r}", 0
        low = "-inf" if wanted.since is None else repr(wanted.since)
        scratch: list[str] = []
        async with self.redis.pipeline(transaction=True) as pipe:
            if not term_groups and len(scored) <= 1:
                source = scored[0] if scored else keys.DIRECTORY_ALL
            else:
                # Scored sets weigh 1, postings 0: with MAX, a hit's score is its last activity.
                weights: dict[Any, float] = dict.fromkeys(scored or [keys.DIRECTORY_ALL], 1)
                for group in term_groups:
                    if len(group) == 1:
                        weights[group[0]] = 0
                        continue
                    union = keys.directory_scratch(uuid.uuid4().hex)
                    scratch.append(union)
                    pipe.zunionstore(union, group, aggregate="MAX")
                    weights[union] = 0
                source = keys.directory_scratch(uuid.uuid4().hex)
                scratch.append(source)
                pipe.zinterstore(source, weights, aggregate="MAX")
            pipe.zrange(source, high, low, desc=True, byscore=True, offset=skip, num=limit + 1, withscores=True)
            if scratch:
                pipe.delete(*scratch)
            replies = await pipe.execute()
        rows: list[tuple[str, float]] = [(str(cid), float(score)) for cid, score in replies[-2 if scratch else -1]]
        page, more = rows[:limit], len(rows) > limit
        return Page(await self._hits(page), self._next(page, cursor) if more else None)

    @staticmethod
    def _next(page: list[tuple[str, float]], cursor: Cursor | None) -> str:
        last = page[-1][1]
        ties = sum(1 for _, score in page if score == last)
        if cursor is not None and last == cursor.score:
            ties += cursor.skip  # the whole page had the cursor's score: skip past it too
        return Cursor(last, ties).encode()

    async def _term_groups(self, text: str) -> list[list[str]]:
        """Per query word, the postings keys of the terms it matches (itself, and the terms
        it starts, most recently used first)."""
        words = terms(text)[:self.bounds.query_words]
        listed = [word for word in words if len(word) >= PREFIX_CHARS]
        async with self.redis.pipeline(transaction=False) as pipe:
            for word in listed:
                pipe.zrevrange(keys.directory_prefix(word[:PREFIX_CHARS]), 0, -1)
            vocabularies = dict(zip(listed, await pipe.execute() if listed else [], strict=True))
        groups = []
        for word in words:
            longer = [str(term) for term in vocabularies.get(word, []) if str(term).startswith(word) and term != word]
            groups.append([keys.directory_postings(term) for term in [word, *longer[:self.bounds.prefix_expansions]]])
        return groups

    async def _hits(self, page: list[tuple[str, float]]) -> list[Hit]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for cid, _ in page:
                pipe.hget(keys.projection_state(NAME, cid), "csat")
            scores = await pipe.execute() if page else []
        return [Hit(cid, at, int(score) if score else None) for (cid, at), score in zip(page, scores, strict=True)]
