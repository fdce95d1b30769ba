"""A contact as the data rights see it: its live id, its cases and the identities that point
to it; and dropping a contact whose cases are gone (gateway/conversations/contacts.py keeps them).

Identities are read from the contact's index (`keys.contact_identities`) and, for identities
claimed before that index existed, from its cases' channel addresses; only keys that still
name the contact are dropped (a merge may have moved one on). A merged contact's old id
answers for its survivor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import WatchError

from core.types import Channel
from gateway import keys
from gateway.conversations.contacts import Contacts, channel_identity
from gateway.conversations.store import ConversationStore, conversation_from_hash

# What every identity key starts with: "storechat:identity:".
_IDENTITY_HEAD = keys.identity("", "").removesuffix(":")


def identity_parts(identity_key: str) -> tuple[str, str] | None:
    """(kind, value) of a `keys.identity` key: ("email", "anna@example.com")."""
    if not identity_key.startswith(_IDENTITY_HEAD):
        return None
    kind, _, value = identity_key[len(_IDENTITY_HEAD):].partition(":")
    return (kind, value) if kind and value else None


@dataclass(frozen=True, slots=True)
class ContactRecord:
    contact_id: str
    created_at: float | None
    # Newest first.
    conversation_ids: tuple[str, ...]
    # `keys.identity` keys that name the contact now.
    identities: tuple[str, ...]
    # The web sessions the contact chatted from (their storefront trails).
    web_sessions: tuple[str, ...]


async def _naming(redis: Redis, contact_id: str, candidates: Iterable[str]) -> list[str]:
    listed = list(dict.fromkeys(candidates))
    if not listed:
        return []
    holders = await redis.mget(listed)
    return sorted(key for key, holder in zip(listed, holders, strict=True) if holder == contact_id)


async def read_contact(store: ConversationStore, contact_id: str) -> ContactRecord | None:
    """The contact (followed to its survivor if it merged); None if storechat holds nothing of it."""
    redis = store.redis
    live = await Contacts(redis).live(contact_id)
    created = await redis.hget(keys.contact(live), "created_at")
    ids = [str(cid) for cid in await redis.zrevrange(keys.contact_conversations(live), 0, -1)]
    if created is None and not ids:
        return None
    candidates = [str(key) for key in await redis.smembers(keys.contact_identities(live))]
    sessions = []
    for cid in ids:
        raw = await redis.hgetall(keys.conversation(cid))
        if raw:
            conversation = conversation_from_hash(raw)
            candidates.append(keys.identity(channel_identity(conversation.channel), conversation.address))
            if conversation.channel is Channel.WEB:
                sessions.append(conversation.address)
    return ContactRecord(live, float(created) if created else None, tuple(ids),
                         tuple(await _naming(redis, live, candidates)), tuple(dict.fromkeys(sessions)))


async def find_contact(redis: Redis, kind: str, value: str) -> str | None:
    """The live contact holding an identity (an email, a phone number, a channel address)."""
    return await Contacts(redis).holder(kind, value)


async def drop_contact(redis: Redis, contact_id: str, identities: Iterable[str] = (), *,
                       only_if_empty: bool) -> bool:
    """Delete the contact, its index and the identities naming it (`identities`: more to check
    than its index lists). `only_if_empty`: only once it has no case left (retention)."""
    listed = keys.contact_conversations(contact_id)
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(listed, keys.contact_identities(contact_id))
                if only_if_empty and await pipe.zcard(listed):
                    return False
                indexed = [str(key) for key in await pipe.smembers(keys.contact_identities(contact_id))]
                naming = await _naming(pipe, contact_id, [*indexed, *identities])
                pipe.multi()  # type: ignore[no-untyped-call]
                if naming:
                    pipe.delete(*naming)
                pipe.delete(keys.contact(contact_id), listed, keys.contact_identities(contact_id))
                await pipe.execute()
                return True
            except WatchError:
                continue
