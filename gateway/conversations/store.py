"""The case record in Redis: conversations, their contacts and ordered history.

State changes are not made here; they go through `gateway.conversations.state_machine`. Which contact
(person) a channel identity belongs to, and contacts merging, is gateway/conversations/contacts.py.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from core.types import Author, Channel, Clock, Conversation, ConversationState, Event, EventKind
from gateway import keys
from gateway.conversations.contacts import PHONE_IDENTITY, Contacts, channel_identity, proven_phone

# What redis-py's typed commands accept and return for hashes and stream entries;
# the client decodes responses, so every value read back is a str.
Fields = dict[Any, Any]


PREVIEW_CHARS = 200
# The feed of conversations with new events (gateway/conversations/feed.py) keeps about this many.
FEED_MAXLEN = 1_000_000
# Tries at creating a conversation while merges keep changing its contact (each one a merge).
CREATE_ATTEMPTS = 16


# Tries at storing a shopper message while other messages of the conversation come in.
STORE_ATTEMPTS = 16


class UnknownConversation(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Stored:
    """A shopper message on the case: its event id (None when a copy of one whose id was not
    recorded yet), and whether it was there already."""

    event_id: str | None
    duplicate: bool


def conversation_to_hash(conversation: Conversation) -> Fields:
    return {
        "id": conversation.id,
        "contact_id": conversation.contact_id,
        "channel": conversation.channel.value,
        "address": conversation.address,
        "state": conversation.state.value,
        "locale": conversation.locale,
        "created_at": repr(conversation.created_at),
        "updated_at": repr(conversation.updated_at),
        "team": conversation.team or "",
        "agent": conversation.agent or "",
        "reason": conversation.reason or "",
        "state_since": repr(conversation.state_since),
        "preview": conversation.preview or "",
    }


def conversation_from_hash(raw: Mapping[Any, Any]) -> Conversation:
    return Conversation(
        id=raw["id"],
        contact_id=raw["contact_id"],
        channel=Channel(raw["channel"]),
        address=raw["address"],
        state=ConversationState(raw["state"]),
        locale=raw["locale"],
        created_at=float(raw["created_at"]),
        updated_at=float(raw["updated_at"]),
        team=raw.get("team") or None,
        agent=raw.get("agent") or None,
        reason=raw.get("reason") or None,
        state_since=float(raw.get("state_since") or raw["created_at"]),
        preview=raw.get("preview") or None,
    )


def event_fields(
    kind: EventKind,
    at: float,
    *,
    author: Author | None = None,
    text: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> Fields:
    fields: Fields = {"kind": kind.value, "at": repr(at)}
    if author is not None:
        fields["author"] = author.value
    if text is not None:
        fields["text"] = text
    if data:
        fields["data"] = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return fields


# XADD and PUBLISH in one step, so the event a console receives carries its stream id
# (the console merges live events into a case it loaded, and must not show one twice).
# ARGV: channel, the JSON of the published message up to the id, then the entry's fields.
_APPEND_AND_PUBLISH = """
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
redis.call('PUBLISH', ARGV[1], ARGV[2] .. id .. '"}}')
return id
"""


def event_to_json(event: Event) -> dict[str, Any]:
    """An event as the Agent API shows it (times in milliseconds)."""
    return {
        "id": event.id, "kind": event.kind.value, "at": round(event.at * 1000),
        "author": event.author.value if event.author else None, "text": event.text, "data": event.data,
    }


def append_event(pipe: Any, conversation_id: str, fields: Fields) -> None:
    """Queue, on `pipe` (a pipeline or the client), an event's append and its announcement.

    Everything a console shows live goes through here: the published message is
    `{"type": "event", "conversation_id", "event": {...event_to_json}}`.
    """
    event = event_to_json(event_from_entry("", fields))
    del event["id"]
    head = json.dumps({"type": "event", "conversation_id": conversation_id, "event": event},
                      ensure_ascii=False, separators=(",", ":"))
    prefix = head[:-2] + ',"id":"'  # drop the closing braces: the id goes last
    args = [keys.EVENTS_CHANNEL, prefix]
    for name, value in fields.items():
        args += [name, value]
    pipe.eval(_APPEND_AND_PUBLISH, 1, keys.conversation_events(conversation_id), *args)
    # What keeps the reports and indexes current: the conversation has news.
    pipe.xadd(keys.FEED, {"c": conversation_id}, maxlen=FEED_MAXLEN, approximate=True)


def event_from_entry(entry_id: Any, fields: Mapping[Any, Any]) -> Event:
    return Event(
        id=str(entry_id),
        kind=EventKind(fields["kind"]),
        at=float(fields["at"]),
        author=Author(fields["author"]) if "author" in fields else None,
        text=fields.get("text"),
        data=json.loads(fields["data"]) if "data" in fields else {},
    )


class ConversationStore:
    def __init__(self, redis: Redis, clock: Clock = time.time) -> None:
        self.redis = redis
        self.clock = clock
        self.contacts = Contacts(redis, clock)

    async def contact_for_identity(self, kind: str, value: str) -> str:
        """The contact owning a channel identity, created on first sight.

        One script claims the identity (and indexes it for merges), so two gateway
        processes seeing the same new identity agree on one contact.
        """
        return await self.contacts.claim(kind, value)

    async def latest_for(self, contact_id: str, channel: Channel, address: str) -> Conversation | None:
        ids = await self.redis.zrevrange(keys.contact_conversations(contact_id), 0, 20)
        for conversation_id in ids:
            conversation = await self.find(str(conversation_id))
            if conversation and conversation.channel == channel and conversation.address == address:
                return conversation
        return None

    async def find_latest(self, channel: Channel, address: str) -> Conversation | None:
        """The latest conversation at a channel address, without creating anything."""
        contact_id = await self.contacts.holder(channel_identity(channel), address)
        return None if contact_id is None else await self.latest_for(contact_id, channel, address)

    async def open(self, channel: Channel, address: str, locale: str) -> Conversation:
        """The conversation a shopper on `channel` at `address` continues, or a new one.

        An SMS or WhatsApp address is a proven phone number: its contact is linked to that
        phone, so the same number on either channel, or in an order proven on the web, is
        one person.
        """
        contact_id = await self.contact_for_identity(channel_identity(channel), address)
        existing = await self.latest_for(contact_id, channel, address)
        if existing is not None:
            return existing  # its phone was linked when it was created; merges keep the link
        conversation, created = await self._create(contact_id, channel, address, locale, continue_latest=True)
        if not created:
            return conversation  # another tab's (or process's) first message made it meanwhile
        if (phone := proven_phone(channel, address)) is not None:
            link = await self.contacts.link(conversation.contact_id, PHONE_IDENTITY, phone)
            if link.contact_id != conversation.contact_id:
                conversation = replace(conversation, contact_id=link.contact_id)
        return conversation

    async def create(self, contact_id: str, channel: Channel, address: str, locale: str) -> Conversation:
        conversation, _ = await self._create(contact_id, channel, address, locale, continue_latest=False)
        return conversation

    async def _create(self, contact_id: str, channel: Channel, address: str, locale: str, *,
                      continue_latest: bool) -> tuple[Conversation, bool]:
        """A new conversation, and True; with `continue_latest`, the address's latest one instead
        if it has one by the time of writing (and False)."""
        conversation_id = uuid.uuid4().hex
        for _ in range(CREATE_ATTEMPTS):
            now = self.clock()
            conversation = Conversation(
                id=conversation_id, contact_id=contact_id, channel=channel, address=address,
                state=ConversationState.BOT, locale=locale, created_at=now, updated_at=now, state_since=now,
            )
            async with self.redis.pipeline(transaction=True) as pipe:
                # A merge moves a contact's conversations in one step; one added to the merged
                # contact after that step would be left behind, so the contact is watched.
                # Find-then-create is atomic per address the same way: two first messages at once
                # (two tabs, two processes) both watch the contact's conversations, and the one
                # whose write comes second retries and finds the first one's.
                await pipe.watch(keys.contact(contact_id), keys.contact_conversations(contact_id))
                if merged_into := await pipe.hget(keys.contact(contact_id), "merged_into"):
                    contact_id = str(merged_into)
                    continue
                if continue_latest and (existing := await self.latest_for(contact_id, channel, address)):
                    return existing, False  # leaving the pipeline unwatches
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.hset(keys.conversation(conversation.id), mapping=conversation_to_hash(conversation))
                pipe.zadd(keys.contact_conversations(contact_id), {conversation.id: now})
                pipe.zadd(keys.conversations_by_state(ConversationState.BOT.value), {conversation.id: now})
                append_event(pipe, conversation.id, event_fields(
                    EventKind.STATE, now, data={"to": ConversationState.BOT.value, "reason": "created"},
                ))
                try:
                    await pipe.execute()
                except WatchError:
                    continue
            return conversation, True
        raise RuntimeError(f"contact {contact_id} kept merging while a conversation was created")

    async def find(self, conversation_id: str) -> Conversation | None:
        raw = await self.redis.hgetall(keys.conversation(conversation_id))
        return conversation_from_hash(raw) if raw else None

    async def get(self, conversation_id: str) -> Conversation:
        conversation = await self.find(conversation_id)
        if conversation is None:
            raise UnknownConversation(conversation_id)
        return conversation

    async def set_locale(self, conversation_id: str, locale: str) -> None:
        await self.redis.hset(keys.conversation(conversation_id), "locale", locale)

    async def append_message(
        self,
        conversation_id: str,
        author: Author,
        text: str,
        data: Mapping[str, Any] | None = None,
    ) -> Event:
        return await self.append(conversation_id, EventKind.MESSAGE, author=author, text=text, data=data)

    async def append(
        self,
        conversation_id: str,
        kind: EventKind,
        *,
        author: Author | None = None,
        text: str | None = None,
        data: Mapping[str, Any] | None = None,
        also: Callable[[Any], None] | None = None,
    ) -> Event:
        """Add an event to the case (announced to the consoles) and touch the conversation.
        `also(pipe)` adds commands to the same transaction, after the append (a message's
        entry on the outbound queue: gateway/messaging/outbound.py)."""
        now = self.clock()
        fields = event_fields(kind, now, author=author, text=text, data=data)
        updates: Fields = {"updated_at": repr(now)}
        if author is Author.SHOPPER and kind is EventKind.MESSAGE and text:
            # A tapped quick reply reads as the title the shopper saw, not its payload.
            shown = (data or {}).get("quick_reply_title") or text
            updates["preview"] = str(shown)[:PREVIEW_CHARS]
        async with self.redis.pipeline(transaction=True) as pipe:
            append_event(pipe, conversation_id, fields)
            pipe.hset(keys.conversation(conversation_id), mapping=updates)
            if also is not None:
                also(pipe)
            entry_id, *_ = await pipe.execute()
        return event_from_entry(str(entry_id), fields)

    async def append_shopper_message(
        self,
        conversation_id: str,
        text: str,
        data: Mapping[str, Any],
        *,
        message_id: str | None = None,
        also: Callable[[Any], None] | None = None,
    ) -> Stored:
        """Store a shopper's message once: with a `message_id` (a widget's client id, a provider's
        message id) the same message again is found, not stored again. `also(pipe)` adds
        commands to the same transaction (the message's turn: gateway/conversations/turns.py)."""
        seen = keys.conversation_client_messages(conversation_id)
        for _ in range(STORE_ATTEMPTS):
            now = self.clock()
            fields = event_fields(EventKind.MESSAGE, now, author=Author.SHOPPER, text=text, data=data)
            updates: Fields = {"updated_at": repr(now)}
            if text:
                # A tapped quick reply reads as the title the shopper saw, not its payload.
                updates["preview"] = str(data.get("quick_reply_title") or text)[:PREVIEW_CHARS]
            async with self.redis.pipeline(transaction=True) as pipe:
                if message_id is not None:
                    # Watched: a second copy stored by another process in between retries, and finds it.
                    await pipe.watch(seen)
                    if (known := await pipe.hget(seen, message_id)) is not None:
                        return Stored(str(known) or None, duplicate=True)
                    pipe.multi()  # type: ignore[no-untyped-call]
                append_event(pipe, conversation_id, fields)
                pipe.hset(keys.conversation(conversation_id), mapping=updates)
                if message_id is not None:
                    pipe.hset(seen, message_id, "")  # the event's id follows once it is known
                if also is not None:
                    also(pipe)
                try:
                    entry_id, *_ = await pipe.execute()
                except WatchError:
                    continue
            if message_id is not None:
                await self.redis.hset(seen, message_id, str(entry_id))
            return Stored(str(entry_id), duplicate=False)
        raise RuntimeError(f"conversation {conversation_id}: the message could not be stored (contention)")

    async def offered_quick_replies(self, conversation_id: str) -> list[dict[str, str]]:
        """The quick replies of the last message to the shopper, if it had any."""
        entries = await self.redis.xrevrange(keys.conversation_events(conversation_id), count=10)
        for entry_id, fields in entries or []:
            event = event_from_entry(entry_id, fields or {})
            if event.kind is EventKind.MESSAGE and event.author is not Author.SHOPPER:
                return list(event.data.get("quick_replies", []))
        return []

    async def history(self, conversation_id: str, *, after: str = "-", count: int = 1000) -> list[Event]:
        entries = await self.redis.xrange(keys.conversation_events(conversation_id), min=after, count=count)
        return [event_from_entry(entry_id, fields or {}) for entry_id, fields in entries or []]
