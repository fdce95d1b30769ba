"""When a rule fires: evaluation on events and on a ticker, and the caps that hold offers back.

An event updates the visitor and puts them in a sorted set, scored by when their next
rule could fire if nothing else happened (a cart left alone for 60 s is due 60 s after
the last event). Every gateway process runs a ticker that takes due visitors: the
process whose ZREM removes the entry evaluates it, so each due time is handled once.
An offer itself is claimed in one Redis script that checks the caps again (once per
session, per day, one open offer, no checkout): two processes evaluating the same
visitor at once show it once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from core.types import Author, Channel, Clock, ConversationState, EventKind, Team
from gateway import keys
from gateway.conversations.store import ConversationStore, event_from_entry
from gateway.proactive.events import OrderPlaced, PageType, StorefrontEvent
from gateway.proactive.metrics import Metrics, Outcome
from gateway.proactive.offers import Offer, Offers
from gateway.proactive.rules import Rule, Rules, Target, VisitorKind
from gateway.proactive.visitors import Visitor, VisitorStore

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
_TICK_BACKOFF_CAP = 30.0
# Visitors one tick takes at most; the rest wait for the next tick.
TICK_BATCH = 100
# How far back the case is read for the shopper's last message.
_RECENT_EVENTS = 50
DAY_SECONDS = 86400
# The per-session and per-day bookkeeping outlives the session and the day.
_BOOKKEEPING_TTL = 2 * DAY_SECONDS

# KEYS: visitor, offered-this-session, offers-today, the new offer.
# ARGV: rule, now, open_until, max_per_day, visit, ttl, offer id, then the offer's field/value pairs.
_CLAIM_OFFER = """
if redis.call('HGET', KEYS[1], 'visits') ~= ARGV[5] then return 0 end
if redis.call('HGET', KEYS[1], 'checkout') == '1' then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0') > tonumber(ARGV[2]) then return 0 end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[4]) then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[6])
redis.call('HSET', KEYS[4], unpack(ARGV, 8))
redis.call('EXPIRE', KEYS[4], ARGV[6])
redis.call('HSET', KEYS[1], 'open_offer', ARGV[7], 'open_until', ARGV[3])
return 1
"""


class FreeAgents(Protocol):
    async def has_free_agent(self, team: Team) -> bool: ...


def ready_at(rule: Rule, visitor: Visitor, session_timeout: float) -> float | None:
    """When the rule's conditions all hold if nothing else happens; None: not in this session."""
    when = rule.when
    if when.visitor is not VisitorKind.ANY and visitor.returning != (when.visitor is VisitorKind.RETURNING):
        return None
    if when.page_types is not None and visitor.page_type not in when.page_types:
        return None
    if when.min_cart_value is not None and (
            visitor.cart is None or not visitor.cart.items or visitor.cart.amount < when.min_cart_value):
        return None
    if when.help_pages is not None and visitor.help_pages < when.help_pages:
        return None
    due = visitor.last_event
    if when.idle_seconds is not None:
        due = max(due, visitor.last_event + when.idle_seconds)
    if when.browsing_seconds is not None:
        missing = when.browsing_seconds - visitor.product_seconds
        if missing > 0:
            if visitor.page_type is not PageType.PRODUCT:
                return None  # time on other pages does not count
            due = max(due, visitor.page_since + missing)
    if due - visitor.last_event > session_timeout:
        return None  # the browsing session will have ended by then
    return due


@dataclass(frozen=True, slots=True)
class Engine:
    rules: Rules
    visitors: VisitorStore
    store: ConversationStore
    agents: FreeAgents
    offers: Offers
    metrics: Metrics
    clock: Clock

    @property
    def redis(self) -> Redis:
        return self.store.redis

    async def on_event(self, session_id: str, event: StorefrontEvent, locale: str | None = None) -> None:
        now = self.clock()
        visitor, _ = await self.visitors.observe(session_id, event, now, self.rules.session_timeout_seconds,
                                                 locale)
        if isinstance(event, OrderPlaced):
            await self._count_conversion(visitor)
        await self._schedule(visitor, await self._offered(visitor), now, evaluate_now=True)

    async def _offered(self, visitor: Visitor) -> set[str]:
        return {str(name) for name in await self.redis.smembers(keys.visitor_offered(visitor.session_id,
                                                                                     visitor.visits))}

    def next_due(self, visitor: Visitor, offered: set[str]) -> float | None:
        if visitor.checkout:
            return None
        times = [due for rule in self.rules.rules if rule.name not in offered
                 and (due := ready_at(rule, visitor, self.rules.session_timeout_seconds)) is not None]
        return min(times, default=None)

    async def _schedule(self, visitor: Visitor, offered: set[str], now: float, *, not_before: float = 0.0,
                        evaluate_now: bool = False) -> None:
        due = self.next_due(visitor, offered)
        if due is None or due - visitor.last_event > self.rules.session_timeout_seconds:
            await self.redis.zrem(keys.PROACTIVE_DUE, visitor.session_id)
            return
        due = max(due, not_before)
        await self.redis.zadd(keys.PROACTIVE_DUE, {visitor.session_id: due})
        # Due at once (the third help page): evaluated now rather than at the next tick. Only
        # for an event: an evaluation that could not offer leaves the retry to the ticker.
        if evaluate_now and due <= now and await self.redis.zrem(keys.PROACTIVE_DUE, visitor.session_id):
            await self.evaluate(visitor.session_id)

    async def tick(self) -> int:
        """Evaluate the visitors due now that this process wins; how many it evaluated."""
        now = self.clock()
        due = [str(member) for member in await self.redis.zrangebyscore(
            keys.PROACTIVE_DUE, "-inf", now, start=0, num=TICK_BATCH)]
        evaluated = 0
        for session_id in due:
            if not await self.redis.zrem(keys.PROACTIVE_DUE, session_id):
                continue  # another process took it
            evaluated += 1
            try:
                await self.evaluate(str(session_id))
            except Exception:  # one visitor's failure must not stop the others' offers
                log.exception("proactive evaluation of visitor %s failed", session_id)
        return evaluated

    async def run(self, interval: float = TICK_SECONDS) -> None:
        """The ticker: runs until cancelled, waiting longer while Redis fails."""
        failures = 0
        while True:
            try:
                await self.tick()
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("proactive ticker failed (%d in a row): %r", failures, exc)
            await asyncio.sleep(min(_TICK_BACKOFF_CAP, interval * 2 ** min(failures, 5)))

    async def evaluate(self, session_id: str) -> Offer | None:
        """Offer the first rule that holds now, unless a cap says no; the offer shown, if any."""
        now = self.clock()
        visitor = await self.visitors.get(session_id)
        if visitor is None or visitor.checkout or visitor.session_over(now, self.rules.session_timeout_seconds):
            return None
        offered = await self._offered(visitor)
        # A visitor who never wrote has no conversation: the offer waits for their answer to make one.
        conversation = await self.store.find_latest(Channel.WEB, session_id)
        if conversation is not None and conversation.state in (ConversationState.QUEUED,
                                                                ConversationState.ASSIGNED):
            return None  # a chat is open: the next event looks again
        shown_today = await self.redis.get(keys.visitor_offers_on(session_id, int(now // DAY_SECONDS)))
        if int(shown_today or 0) >= self.rules.max_per_day:
            return None  # enough for today: tomorrow's first event looks again
        last_written = await self._last_shopper_message(conversation.id) if conversation is not None else 0.0
        quiet_until = max(visitor.open_until, last_written + self.rules.chat_quiet_seconds)
        if quiet_until > now:
            await self._schedule(visitor, offered, now, not_before=quiet_until)
            return None
        rule = next((rule for rule in self.rules.rules if rule.name not in offered
                     and (due := ready_at(rule, visitor, self.rules.session_timeout_seconds)) is not None
                     and due <= now), None)
        offer = None
        if rule is not None:
            locale = conversation.locale if conversation is not None else visitor.locale or self.rules.default_locale
            offer = await self._claim(rule, visitor, conversation.id if conversation else "", locale, now)
            if offer is not None:
                offered.add(rule.name)
                await self.offers.show(conversation, offer)
                await self.metrics.count(rule.name, Outcome.SHOWN, now)
        await self._schedule(visitor, offered, now, not_before=now + self.rules.offer_open_seconds if offer else 0.0)
        return offer

    async def _last_shopper_message(self, conversation_id: str) -> float:
        entries = await self.redis.xrevrange(keys.conversation_events(conversation_id), count=_RECENT_EVENTS)
        for entry_id, fields in entries or []:
            event = event_from_entry(entry_id, fields or {})
            if event.kind is EventKind.MESSAGE and event.author is Author.SHOPPER:
                return event.at
        return 0.0

    async def _claim(self, rule: Rule, visitor: Visitor, conversation_id: str, locale: str,
                     now: float) -> Offer | None:
        team = rule.team
        target = Target.BOT
        if rule.target is Target.HUMAN and team is not None and await self.agents.has_free_agent(team):
            target = Target.HUMAN
        offer = Offer(offer_id=uuid.uuid4().hex, rule=rule.name, target=target,
                      team=team if target is Target.HUMAN else None,
                      session_id=visitor.session_id, conversation_id=conversation_id, shown_at=now, locale=locale)
        fields = [item for pair in offer.to_hash().items() for item in pair]
        won = await self.redis.eval(
            _CLAIM_OFFER, 4, keys.visitor(visitor.session_id), keys.visitor_offered(visitor.session_id, visitor.visits),
            keys.visitor_offers_on(visitor.session_id, int(now // DAY_SECONDS)), keys.proactive_offer(offer.offer_id),
            rule.name, repr(now), repr(now + self.rules.offer_open_seconds), str(self.rules.max_per_day),
            str(visitor.visits), str(_BOOKKEEPING_TTL), offer.offer_id, *fields,
        )
        return offer if won else None

    async def _count_conversion(self, visitor: Visitor) -> None:
        offered = await self._offered(visitor)
        if not offered:
            return
        first = await self.redis.set(keys.visitor_converted(visitor.session_id, visitor.visits), "1",
                                     nx=True, ex=_BOOKKEEPING_TTL)
        if first:  # a second order_placed in the session is not a second conversion
            now = self.clock()
            for rule in sorted(offered):
                await self.metrics.count(rule, Outcome.CONVERTED, now)
