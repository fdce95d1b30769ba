"""Contacts across channels: one contact is one person, whatever channel they write on.

A contact holds identities — the channel addresses it wrote from (``web``, ``sms``, ...)
and what was proven about the person (``email``, ``phone``). An identity links to a
contact when it is proven: an order proven in a conversation proves the order's email
and phone; an SMS or WhatsApp address is a phone number the provider has proven. When
the identity already belongs to another contact, the two are one person: they merge.

Merging is one Lua script, so no process ever sees half a merge. The older contact (by
its hash's ``created_at``; on a tie the smaller id) survives: its id is the one agents
have seen longest. The script moves the loser's conversations (scores kept) into the
survivor's set and sets each one's ``contact_id``, repoints the loser's identities, and
marks the loser ``merged_into`` the survivor; the loser stays only as that pointer.

Which identities a contact holds is indexed in ``keys.contact_identities``. Identities
claimed before that index existed are not in it and a merge does not repoint them; every
read here follows ``merged_into`` instead, and the next claim of such an identity repoints
and indexes it. Nothing shopper-facing reads the contact: a shopper's conversation is found
by its channel and address, so a merge only changes what the agent's case lists as the
contact's earlier conversations.

The scripts build keys from templates made in gateway/keys/ (so every key format stays
there) and so touch keys they do not declare: fine on one Redis server, not on a cluster.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from redis.asyncio import Redis

from core.phone import E164
from core.types import Channel
from gateway import keys

log = logging.getLogger(__name__)

# The identity kinds a proof adds to the channel ones (Channel values).
EMAIL_IDENTITY = "email"
PHONE_IDENTITY = "phone"
PROVEN_IDENTITIES = (EMAIL_IDENTITY, PHONE_IDENTITY)
# An e-mail conversation's address is whatever its From says (anyone can write any From):
# a channel identity of its own kind, never the "email" an order proof links.
EMAIL_SENDER_IDENTITY = "email_sender"
# Channels whose address is a phone number the provider has proven (also what the bot is
# told is a proven phone, gateway.conversations.loop).
PHONE_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP})
# A merged contact points on to its survivor, which may have merged since; the chain is
# acyclic (only live contacts merge) and stays short, this only bounds a corrupted one.
MAX_MERGE_HOPS = 64

_SLOT = "{}"
# ARGV[1..4] of every script: where a contact id or conversation id goes in these keys.
_TEMPLATES = (
    keys.contact(_SLOT), keys.contact_conversations(_SLOT), keys.contact_identities(_SLOT), keys.conversation(_SLOT),
)

_HELPERS = f"""
local function key(template, id)
  local at = string.find(template, '{_SLOT}', 1, true)
  return string.sub(template, 1, at - 1) .. id .. string.sub(template, at + {len(_SLOT)})
end
local function live(contact)
  for _ = 1, {MAX_MERGE_HOPS} do
    local onward = redis.call('HGET', key(ARGV[1], contact), 'merged_into')
    if not onward then return contact end
    contact = onward
  end
  error('merge chain too long at contact ' .. contact)
end
-- `current`: who the identity key names now. Unchanged keys are not written: a claim
-- runs on every inbound message, and a write is replicated and appended to the AOF.
local function hold(identity, contact, current)
  if current ~= contact then redis.call('SET', identity, contact) end
  redis.call('SADD', key(ARGV[3], contact), identity)
end
"""

# The contact of an identity, a new one (ARGV[5], created at ARGV[6]) if it has none.
_CLAIM = _HELPERS + """
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('HSET', key(ARGV[1], ARGV[5]), 'id', ARGV[5], 'created_at', ARGV[6])
  hold(KEYS[1], ARGV[5], holder)
  return ARGV[5]
end
local contact = live(holder)
hold(KEYS[1], contact, holder)
return contact
"""

# Links the identity KEYS[1] to contact ARGV[5], merging its holder in (at ARGV[6]).
# Returns {survivor, merged contact or '', outcome}. Everything that can fail (a too long
# chain) fails before the first write: a script's writes are not undone by an error.
_LINK = _HELPERS + """
local mine = live(ARGV[5])
local named = redis.call('GET', KEYS[1])
if not named then
  hold(KEYS[1], mine, named)
  return {mine, '', 'claimed'}
end
local holder = live(named)
if holder == mine then
  hold(KEYS[1], mine, named)
  return {mine, '', 'held'}
end
local function created(contact)
  return tonumber(redis.call('HGET', key(ARGV[1], contact), 'created_at')) or 0
end
local winner, loser = mine, holder
local mine_at, holder_at = created(mine), created(holder)
if holder_at < mine_at or (holder_at == mine_at and holder < mine) then winner, loser = holder, mine end

local from, to = key(ARGV[2], loser), key(ARGV[2], winner)
for _, id in ipairs(redis.call('ZRANGE', from, 0, -1)) do
  local conversation = key(ARGV[4], id)
  -- HSET on a missing hash would leave a one-field stub that reads as a broken conversation.
  if redis.call('EXISTS', conversation) == 1 then redis.call('HSET', conversation, 'contact_id', winner) end
end
redis.call('ZUNIONSTORE', to, 2, to, from, 'AGGREGATE', 'MIN')
redis.call('DEL', from)

local held = key(ARGV[3], loser)
for _, identity in ipairs(redis.call('SMEMBERS', held)) do
  if redis.call('GET', identity) == loser then hold(identity, winner, loser) end
end
redis.call('DEL', held)
hold(KEYS[1], winner, redis.call('GET', KEYS[1]))
redis.call('HSET', key(ARGV[1], loser), 'merged_into', winner, 'merged_at', ARGV[6])
return {winner, loser, 'merged'}
"""


class LinkOutcome(StrEnum):
    CLAIMED = "claimed"  # nobody held the identity: now the contact does
    HELD = "held"  # the contact held it already
    MERGED = "merged"  # another contact held it: the two are one now


@dataclass(frozen=True, slots=True)
class Link:
    contact_id: str  # the contact holding the identity now (the survivor of a merge)
    outcome: LinkOutcome
    merged: str | None = None  # the contact that merged into `contact_id`


def channel_identity(channel: Channel | str) -> str:
    """The identity kind of a channel's addresses: the channel's value, "email_sender" for e-mail."""
    value = channel.value if isinstance(channel, Channel) else channel
    return EMAIL_SENDER_IDENTITY if value == Channel.EMAIL.value else value


def proven_phone(channel: Channel, address: str) -> str | None:
    """The phone number a conversation's address proves, if its channel proves one."""
    return address if channel in PHONE_CHANNELS and E164.fullmatch(address) else None


class Contacts:
    def __init__(self, redis: Redis, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.clock = clock
        self._claim = redis.register_script(_CLAIM)
        self._link = redis.register_script(_LINK)

    async def claim(self, kind: str, value: str) -> str:
        """The contact holding an identity; a new contact if nobody does (atomic across processes)."""
        candidate = uuid.uuid4().hex
        return str(await self._claim([keys.identity(kind, value)], [*_TEMPLATES, candidate, repr(self.clock())]))

    async def holder(self, kind: str, value: str) -> str | None:
        """The live contact holding an identity, without claiming it."""
        contact_id = await self.redis.get(keys.identity(kind, value))
        return None if contact_id is None else await self.live(str(contact_id))

    async def live(self, contact_id: str) -> str:
        """The contact itself, or the survivor it merged into."""
        for _ in range(MAX_MERGE_HOPS):
            onward = await self.redis.hget(keys.contact(contact_id), "merged_into")
            if onward is None:
                return contact_id
            contact_id = str(onward)
        raise RuntimeError(f"merge chain too long at contact {contact_id}")

    async def fresh(self) -> str:
        """A new contact holding no identity yet."""
        contact_id = uuid.uuid4().hex
        await self.redis.hset(keys.contact(contact_id), mapping={"id": contact_id, "created_at": repr(self.clock())})
        return contact_id

    async def proven(self, contact_id: str) -> bool:
        """Whether the contact holds an identity a proof linked (an order's email or phone)."""
        heads = tuple(keys.identity(kind, "") for kind in PROVEN_IDENTITIES)
        held = await self.redis.smembers(keys.contact_identities(await self.live(contact_id)))
        return any(str(identity).startswith(heads) for identity in held)

    async def link(self, contact_id: str, kind: str, value: str) -> Link:
        """Give the contact a proven identity, merging whoever held it into one contact."""
        winner, merged, outcome = await self._link(
            [keys.identity(kind, value)], [*_TEMPLATES, contact_id, repr(self.clock())],
        )
        link = Link(str(winner), LinkOutcome(outcome), str(merged) or None)
        # The kind only: an email or phone number is personal data, not for the log.
        if link.outcome is LinkOutcome.MERGED:
            log.info("contact %s linked to %s (merged %s)", link.contact_id, kind, link.merged)
        elif link.outcome is LinkOutcome.CLAIMED:
            log.info("contact %s linked to %s", link.contact_id, kind)
        return link

    async def link_conversation(self, conversation_id: str, kind: str, value: str) -> Link | None:
        """Link the contact of a conversation (None: there is no such conversation)."""
        contact_id = await self.redis.hget(keys.conversation(conversation_id), "contact_id")
        # Read outside the script: if a merge moves the conversation meanwhile, the script
        # follows the old contact's merged_into to the one that holds it now.
        return None if contact_id is None else await self.link(str(contact_id), kind, value)
