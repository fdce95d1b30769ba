"""Forgetting one case: what retention does when a case expires and erasure does to each of a
contact's cases — the case's own keys go, and what the reports keep of its words is
pseudonymised, so their counts stay.

Gone: the conversation hash, its events stream, survey, proven orders and emails, its list of
requests, its client address and verification counter, Rasa's tracker, every projection's
state of it (`keys.projection_state`), its places in the state sets, queues and agents'
chats, and its entry in the contact's list. Its requests are deleted (retention) or keep
only what the team needs to finish them — kind, order, items, status — without the reason,
address and note (erasure). The conversation directory drops it from every set it was in
(its terms' postings too, and a term nobody else used from its prefix set). The complaint
documents of the case keep their product, day and counts with the text replaced and the
shopper pseudonymised; the reports' survey comments and not-understood messages of the case
read `ERASED` (their counts are moved to it, not lost).

Everything is one transaction that WATCHes the case's stream and hash and every projection's
state of it: a new event, or a projection folding meanwhile, makes it read and try again, so
nothing written between the read and the write escapes. Several processes forgetting the
same case at once is harmless: the second finds nothing. The scripts touch keys they do not
declare (fine on one Redis server, as gateway/conversations/contacts.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from core.types import ConversationState, Event, Team
from gateway import keys
from gateway.complaints.documents import ComplaintDocument
from gateway.complaints.store import DAY
from gateway.conversations.contacts import channel_identity
from gateway.conversations.feed import Follower
from gateway.conversations.store import conversation_from_hash, event_from_entry
from gateway.desk.directory import FACETS, NAME as DIRECTORY, written_words
from gateway.desk.search_terms import PREFIX_CHARS, terms
from gateway.email import keys as email_keys
from gateway.privacy.keys import rasa_tracker
from gateway.reports.episodes import EpisodeState, FactName, Folded, fold
from gateway.reports.rollups import Rollups
from gateway.reports.service import Reports

# What a pseudonymised text reads (complaints, survey comments, not-understood messages).
ERASED = "[erased]"
# Events read per round trip; a case is read whole (streams are capped where they are written).
READ_BATCH = 1000
# Tries when new events keep arriving while a case is forgotten.
ATTEMPTS = 8
# Personal fields of a request that an erasure blanks (the team keeps the rest to finish it).
REQUEST_PERSONAL_FIELDS = ("reason", "address", "note")

# KEYS: postings sets, then their prefix sets (same order); ARGV[1]: the conversation,
# ARGV[2..]: the terms. A term's postings without the case; a term nobody uses any more
# leaves its prefix set too.
_UNPOST = """
local n = #ARGV - 1
for i = 1, n do
  redis.call('ZREM', KEYS[i], ARGV[1])
  if redis.call('ZCARD', KEYS[i]) == 0 and KEYS[n + i] ~= '' then redis.call('ZREM', KEYS[n + i], ARGV[i + 1]) end
end
return n
"""
# KEYS[1]: a day's not-understood set; ARGV: text, how often the case said it, the placeholder.
_RENAME_TEXT = """
local score = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
local n = math.min(score, tonumber(ARGV[2]))
if n <= 0 then return 0 end
if score - n <= 0 then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZINCRBY', KEYS[1], -n, ARGV[1]) end
redis.call('ZINCRBY', KEYS[1], n, ARGV[3])
return n
"""
# KEYS[1]: a day's survey comments (JSON); ARGV: the conversation, the placeholder.
_ERASE_COMMENTS = """
local changed = 0
for i, raw in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local ok, entry = pcall(cjson.decode, raw)
  if ok and type(entry) == 'table' and entry.conversation_id == ARGV[1] and entry.comment ~= ARGV[2] then
    entry.comment = ARGV[2]
    redis.call('LSET', KEYS[1], i - 1, cjson.encode(entry))
    changed = changed + 1
  end
end
return changed
"""
# KEYS[1]: a product's shoppers; ARGV: the member as counted, the member pseudonymised (same score).
_RENAME_MEMBER = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], score, ARGV[2])
return 1
"""


@dataclass
class Forgotten:
    """What forgetting cases removed or pseudonymised (summed over the cases of a contact)."""

    conversations: int = 0
    events: int = 0
    requests: int = 0
    complaints: int = 0
    report_texts: int = 0

    def add(self, other: Forgotten) -> None:
        for name in ("conversations", "events", "requests", "complaints", "report_texts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in ("conversations", "events", "requests", "complaints",
                                                       "report_texts")}


@dataclass(frozen=True, slots=True)
class ForgottenCase:
    counts: Forgotten
    # Whose case it was, and the identity it was written from (the contact may go with it).
    contact_id: str
    identity: str


@dataclass
class _Read:
    """One case as read before its transaction, and the writes that forget it."""

    raw: dict[Any, Any]
    events: list[Event]
    requests: list[str]
    directory: dict[Any, Any]
    documents: list[ComplaintDocument]
    texts: dict[str, dict[str, int]] = field(default_factory=dict)
    comment_days: list[str] = field(default_factory=list)


def case_identity(raw: dict[Any, Any]) -> str:
    """The channel identity a case's shopper wrote from (`keys.identity(channel, address)`)."""
    return keys.identity(channel_identity(str(raw["channel"])), str(raw["address"]))


def _case_keys(conversation_id: str, projections: Iterable[str]) -> list[str]:
    return [
        keys.conversation(conversation_id), keys.conversation_events(conversation_id), keys.csat(conversation_id),
        keys.verified_orders(conversation_id), keys.verified_emails(conversation_id),
        keys.conversation_requests(conversation_id), keys.conversation_client(conversation_id),
        keys.verification_failures(conversation_id), rasa_tracker(conversation_id),
        keys.conversation_client_messages(conversation_id), keys.turn_queue(conversation_id),
        keys.outbound_queue(conversation_id), keys.outbound_sending(conversation_id),
        keys.conversation_callback(conversation_id),  # the call-back's phone number and slot
        *(keys.projection_state(name, conversation_id) for name in projections),
    ]


@dataclass(frozen=True, slots=True)
class Forget:
    redis: Redis
    reports: Reports

    @property
    def projections(self) -> list[str]:
        return [projection.name for projection in self.reports.projections]

    async def case(self, conversation_id: str, *, erase: bool, pseudonym: str,
                   still: Callable[[float], bool] = lambda _: True) -> ForgottenCase | None:
        """Forget the case (None: it does not exist, or `still(last activity)` said no under
        the watch, e.g. a new message made an expired case current again). `erase`: requests
        keep what the team needs, blanked; otherwise they go. `pseudonym`: who the reports'
        complaints say the shopper was."""
        # Whatever the projections have not folded yet is counted first: the counts stay.
        for projection in self.reports.projections:
            await Follower(self.redis, projection).catch_up(conversation_id)
        watched = [keys.conversation(conversation_id), keys.conversation_events(conversation_id),
                   *(keys.projection_state(name, conversation_id) for name in self.projections)]
        async with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(ATTEMPTS):
                try:
                    await pipe.watch(*watched)
                    read = await self._read(pipe, conversation_id)
                    if read is None or not still(self._last(read)):
                        return None
                    pipe.multi()  # type: ignore[no-untyped-call]
                    counts = self._write(pipe, conversation_id, read, erase=erase, pseudonym=pseudonym)
                    await pipe.execute()
                    return ForgottenCase(counts, str(read.raw["contact_id"]), case_identity(read.raw))
                except WatchError:
                    continue
        raise RuntimeError(f"conversation {conversation_id} kept changing while it was forgotten")

    @staticmethod
    def _last(read: _Read) -> float:
        times = [float(read.raw.get("updated_at") or 0.0), *(event.at for event in read.events[-1:])]
        return max(times)

    async def _read(self, pipe: Pipeline, conversation_id: str) -> _Read | None:
        raw: dict[Any, Any] = await pipe.hgetall(keys.conversation(conversation_id))
        if not raw:
            return None
        events: list[Event] = []
        after = "-"
        while True:
            entries: Any = await pipe.xrange(keys.conversation_events(conversation_id), min=after, count=READ_BATCH)
            events += [event_from_entry(entry_id, fields or {}) for entry_id, fields in entries or []]
            if len(entries or []) < READ_BATCH:
                break
            after = f"({entries[-1][0]!s}"
        requests = [str(request_id) for request_id in
                    await pipe.lrange(keys.conversation_requests(conversation_id), 0, -1)]
        directory: dict[Any, Any] = await pipe.hgetall(keys.projection_state(DIRECTORY, conversation_id))
        ids = [f"{conversation_id}:{event.id}" for event in events]
        found = await pipe.hmget(keys.COMPLAINT_DOCUMENTS, ids) if ids else []
        documents = [ComplaintDocument.from_json(str(raw_document)) for raw_document in found if raw_document]
        read = _Read(raw, events, requests, directory, documents)
        self._report_texts(read, conversation_id)
        return read

    def _report_texts(self, read: _Read, conversation_id: str) -> None:
        """Which rollup keys hold the case's words: its events folded again, as the reports did."""
        conversation = conversation_from_hash(read.raw)
        state, out = EpisodeState(), Folded()
        for event in read.events:
            fold(state, event, conversation_id=conversation_id, channel=conversation.channel.value, out=out)
        wanted = [fact for fact in out.facts if fact.name in (FactName.NOT_UNDERSTOOD, FactName.COMMENT)]
        staged = Rollups(self.reports.hours).stage(wanted, {})
        read.texts = staged.texts
        read.comment_days = list(staged.comments)

    def _write(self, pipe: Pipeline, conversation_id: str, read: _Read, *, erase: bool,
               pseudonym: str) -> Forgotten:
        conversation = conversation_from_hash(read.raw)
        pipe.delete(*_case_keys(conversation_id, self.projections), *email_keys.case_keys(conversation_id, read.events))
        for state in ConversationState:
            pipe.zrem(keys.conversations_by_state(state.value), conversation_id)
        for team in Team:
            pipe.zrem(keys.team_queue(team.value), conversation_id)
        if conversation.agent:
            pipe.zrem(keys.agent_chats(conversation.agent), conversation_id)
        pipe.zrem(keys.contact_conversations(conversation.contact_id), conversation_id)
        pipe.zrem(keys.CALLBACKS_DUE, conversation_id)
        pipe.zrem(keys.CALLBACK_REMINDERS, conversation_id)
        for request_id in read.requests:
            if erase:
                pipe.hset(keys.request(request_id), mapping=dict.fromkeys(REQUEST_PERSONAL_FIELDS, ""))
            else:
                pipe.delete(keys.request(request_id))
                for team in Team:
                    pipe.zrem(keys.team_requests(team.value), request_id)
        self._unindex(pipe, conversation_id, read)
        texts = self._pseudonymise(pipe, conversation_id, read, pseudonym)
        return Forgotten(conversations=1, events=len(read.events), requests=len(read.requests),
                         complaints=len(read.documents), report_texts=texts)

    @staticmethod
    def _unindex(pipe: Pipeline, conversation_id: str, read: _Read) -> None:
        """The case out of the conversation directory (gateway/desk/directory.py)."""
        pipe.zrem(keys.DIRECTORY_ALL, conversation_id)
        for facet in FACETS:
            if value := read.directory.get(facet):
                pipe.zrem(keys.directory_facet(facet, str(value)), conversation_id)
        words: dict[str, None] = {}
        for event in read.events:
            if text := written_words(event):
                words.update(dict.fromkeys(terms(text)))
        if words:
            prefixes = [keys.directory_prefix(word[:PREFIX_CHARS]) if len(word) >= PREFIX_CHARS else ""
                        for word in words]
            pipe.eval(_UNPOST, 2 * len(words), *map(keys.directory_postings, words), *prefixes,
                      conversation_id, *words)

    @staticmethod
    def _pseudonymise(pipe: Pipeline, conversation_id: str, read: _Read, pseudonym: str) -> int:
        """The reports' texts of the case read ERASED; their shopper is `pseudonym`. How many texts."""
        for document in read.documents:
            anonymous = replace(document, text=ERASED, contact_id=pseudonym)
            pipe.hset(keys.COMPLAINT_DOCUMENTS, document.id, anonymous.to_json())
            if document.product is not None:
                day = int(document.at // DAY)
                pipe.eval(_RENAME_MEMBER, 1, keys.complaint_product_shoppers(document.product),
                          f"{day}:{document.contact_id}:{conversation_id}", f"{day}:{pseudonym}:{conversation_id}")
        texts = 0
        for key, said in read.texts.items():
            for text, times in said.items():
                pipe.eval(_RENAME_TEXT, 1, key, text, times, ERASED)
                texts += 1
        for key in read.comment_days:
            pipe.eval(_ERASE_COMMENTS, 1, key, conversation_id, ERASED)
            texts += 1
        return texts

