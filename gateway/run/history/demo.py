"""The demo shop's history: eight weeks of conversations ending today, so a new user of
`make run` sees full reports and a live product alert at once.

Shopper-started chats follow a shop's week (busy Monday mornings and evenings, a quiet
Sunday) on all four channels, in German and English: FAQ questions the bot answers,
handoffs to the teams with their reasons, the agents' answers, resolves and surveys,
reopened and handed-back cases, offers on the storefront. The shop's orders ship and are
delivered; about half are notified, and their shoppers ask "where is my order?" far less.
Each product gets a complaint now and then (never three shoppers in a week); one product,
the linen cushion cover, starts coming apart at the seams in the last ten days, reported by
eight shoppers in German and English. `DemoTruth` says which conversations those are.

Everything is written through the conversation store and the state machine at moments of
the history's choosing (gateway/run/history/writer.py); nothing after `now` is written.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from redis.asyncio import Redis

from core.types import Channel
from gateway import keys
from gateway.bot.faq import load_languages, load_topics
from gateway.desk.business_hours import BusinessHours
from gateway.proactive.metrics import Metrics
from gateway.run.history import chats
from gateway.run.history import phrases as P
from gateway.run.history.chats import Ctx
from gateway.run.history.orders import HistoryOrder, address_for, plan_orders, products, store_orders
from gateway.run.history.writer import BERLIN, Chat, PastTheEnd, Scenario
from gateway.settings import REPO_ROOT
from gateway.shop.orders import OrderStore
from gateway.texts import Texts

DEFECT_SKU = "NL-1001"  # the linen cushion cover
# When its shoppers report the seams: days before the history's last day.
DEFECT_DAYS = (10, 8, 6, 5, 4, 3, 2, 1)
# Shopper-started conversations on a Monday … Sunday, and orders placed.
CHATS_PER_DAY = (88, 82, 78, 76, 72, 68, 62)
ORDERS_PER_DAY = (46, 42, 40, 40, 38, 34, 36)
# The hours they start at: weekdays peak in the late morning and the evening, Sunday starts late.
WEEKDAY_HOURS = (1, 1, 0, 0, 0, 1, 2, 5, 8, 10, 11, 11, 9, 9, 9, 9, 9, 8, 8, 10, 10, 8, 5, 3)
SUNDAY_HOURS = (2, 1, 0, 0, 0, 0, 1, 1, 3, 5, 7, 8, 8, 8, 8, 8, 8, 8, 9, 11, 12, 10, 6, 3)
CHANNELS = (Channel.WEB, Channel.WHATSAPP, Channel.MESSENGER, Channel.SMS, Channel.EMAIL)
CHANNEL_WEIGHTS = (42, 24, 16, 10, 8)
# What a shopper-started conversation is (the product complaints and the defect are planned apart).
KINDS = {"bot_only": 44, "shopper_asked": 9, "order_problem": 8, "billing_problem": 6,
         "delivered_not_received": 4, "repeated_misunderstanding": 3, "service_complaint": 2,
         "greeting_only": 5, "wismo_unproven": 5}
# "Where is my order?" per shipped order, with and without a shipping notification.
ASKS = {"notified": 0.05, "not_notified": 0.2}
RULES_FILE = REPO_ROOT / "config" / "proactive_rules.yml"


@dataclass(frozen=True, slots=True)
class DemoTruth:
    """What the history holds: the defect's product and conversations (the tests' ground truth), and counts."""

    defect_sku: str
    defect_conversations: tuple[str, ...]
    first: date
    end: date
    conversations: int
    events: int
    orders: int
    notified_orders: int
    channels: dict[str, int]
    teams: dict[str, int]
    agents: dict[str, int]
    csat_answers: int
    csat_comments: int
    notifications: int
    wismo: dict[str, int]
    offers: dict[str, int]
    reopened: int
    handed_back: int


def _moment(rng: random.Random, day: date, hours: tuple[int, ...]) -> datetime:
    hour = rng.choices(range(24), weights=hours)[0]
    return datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=BERLIN)


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _rules(path: Path) -> dict[str, dict[str, Any]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    declined = {locale: texts["declined"] for locale, texts in raw["texts"].items()}
    return {name: {"texts": rule["texts"], "target": rule["target"], "team": rule.get("team", "general"),
                   "declined": declined} for name, rule in raw["rules"].items()}


class _History:
    def __init__(self, ctx: Ctx, rng: random.Random, first: date, end: date) -> None:
        self.ctx, self.rng, self.first, self.end = ctx, rng, first, end
        self.days = [first + timedelta(days=n) for n in range((end - first).days + 1)]
        # Returning shoppers: (channel, address, locale) of earlier chats.
        self.known: list[tuple[Channel, str, str]] = []

    def shopper(self, *, new: bool = False) -> tuple[Channel, str, str]:
        rng = self.rng
        if not new and self.known and rng.random() < 0.18:
            return rng.choice(self.known)
        channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
        found = (channel, address_for(channel, rng), "de" if rng.random() < 0.68 else "en")
        if not new:
            self.known.append(found)
        return found

    async def write(self, start: datetime, kind: str, **shopper: Any) -> Chat | None:
        """One shopper-started conversation; None if it would start after the end.

        Each conversation draws from a generator of its own, seeded from the history's: one
        cut short at the end leaves every other conversation as it was."""
        channel, address, locale = shopper.get("who") or self.shopper()
        rng = random.Random(self.rng.getrandbits(64))
        try:
            chat = await self.ctx.chat(channel, _ms(start), address, locale)
        except PastTheEnd:
            return None
        try:
            await self._kind(chat, kind, shopper, rng)
        except PastTheEnd:
            self.ctx.tally.cut += 1
        return chat

    async def _kind(self, chat: Chat, kind: str, extra: dict[str, Any], rng: random.Random) -> None:
        ctx = self.ctx
        if chat.channel is Channel.WEB and kind in ("bot_only", "shopper_asked") and rng.random() < 0.3:
            if not await chats.offered(ctx, chat, rng):
                return
        if kind == "bot_only":
            await chats.bot_only(ctx, chat, rng)
        elif kind in P.HANDOFFS:
            await chats.handoff_chat(ctx, chat, rng, kind)
        elif kind == "service_complaint":
            await chats.service_complaint(ctx, chat, rng)
        elif kind == "greeting_only":
            await chats.greet(chat, rng, 0)
            await chats.thank(chat, rng)
        elif kind == "wismo_unproven":  # asks, never gives the order number
            asked = {"de": ("Wo ist mein Paket?", "Wann kommt meine Bestellung?"),
                     "en": ("Where is my parcel?", "When does my order arrive?")}
            await chat.shopper(rng.choice(asked[chat.locale]), 0)
            await chat.bot({"de": "Wie lautet Ihre Bestellnummer?", "en": "What is your order number?"}[chat.locale],
                           "order_status")
        elif kind == "product_complaint":
            await chats.product_complaint(ctx, chat, rng, extra["sku"])
        elif kind == "defect":
            await chats.defect_report(ctx, chat, rng, extra["text"], extra.get("order"))

    async def shopper_chats(self) -> None:
        rng = self.rng
        kinds, weights = list(KINDS), list(KINDS.values())
        for day in self.days:
            shape = SUNDAY_HOURS if day.weekday() == 6 else WEEKDAY_HOURS
            for _ in range(round(CHATS_PER_DAY[day.weekday()] * rng.uniform(0.85, 1.15))):
                await self.write(_moment(rng, day, shape), rng.choices(kinds, weights=weights)[0])

    async def product_complaints(self) -> None:
        """Every other product's usual complaints: one every four to nine days, so never three
        shoppers in a week; the cushion cover's two older ones long before its defect."""
        rng = self.rng
        for sku in self.ctx.catalogue:
            offsets = [n for n in (8, 30) if n < len(self.days) - 14] if sku == DEFECT_SKU else []
            offset = rng.randint(0, 5)
            while sku != DEFECT_SKU and offset < len(self.days):
                offsets.append(offset)
                offset += rng.randint(4, 9)
            for offset in offsets:
                await self.write(_moment(rng, self.days[offset], WEEKDAY_HOURS), "product_complaint",
                                 sku=sku, who=self.shopper(new=True))

    async def defect(self, orders: dict[str, HistoryOrder]) -> list[str]:
        """The cushion cover's seams: eight shoppers, German and English, each a new contact."""
        rng, ids = self.rng, []
        for n, days_before in enumerate(DEFECT_DAYS):
            locale = "de" if n % 2 == 0 else "en"
            text, names_it = P.DEFECT_REPORTS[locale][(n // 2) % len(P.DEFECT_REPORTS[locale])]
            day = self.end - timedelta(days=days_before)
            start = _moment(rng, day, WEEKDAY_HOURS[:22] + (0, 0))
            channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
            who = (channel, address_for(channel, rng), locale)
            order = orders.get(f"defect-{n}") if not names_it or rng.random() < 0.4 else None
            chat = await self.write(start, "defect", text=text, order=order, who=who)
            if chat is not None:
                ids.append(chat.id)
        return ids

    def defect_orders(self, first_id: int) -> dict[str, HistoryOrder]:
        """The orders the defect's shoppers prove: a cushion cover (and a candle holder) bought a week or two before."""
        rng, found = self.rng, {}
        for n, days_before in enumerate(DEFECT_DAYS):
            placed = _moment(rng, self.end - timedelta(days=days_before + rng.randint(8, 16)), WEEKDAY_HOURS)
            [plan] = plan_orders(rng, list(self.ctx.catalogue.values()), [placed])
            skus = (DEFECT_SKU,) if n % 3 else (DEFECT_SKU, "NL-2040")
            found[f"defect-{n}"] = HistoryOrder(**{**_fields(plan), "order_id": str(first_id + n), "skus": skus,
                                                   "notified": False, "locale": "de" if n % 2 == 0 else "en"})
        return found


def _fields(plan: HistoryOrder) -> dict[str, Any]:
    return {name: getattr(plan, name) for name in HistoryOrder.__slots__}


async def write_demo_history(redis: Redis, hours: BusinessHours, *, end: date, weeks: int = 8, seed: int = 8,
                             now: float | None = None, texts: Texts | None = None,
                             faq_dir: Path = REPO_ROOT / "faq_data", rules_file: Path = RULES_FILE) -> DemoTruth:
    """Write `weeks` weeks of history ending on the shop-local day `end`, nothing after `now`
    (default: now, or the end of `end` if that is sooner)."""
    end_of_day = datetime.combine(end + timedelta(days=1), datetime.min.time(), BERLIN).timestamp() - 1
    now = min(time.time() if now is None else now, end_of_day)
    texts = texts or Texts.load("de")
    rng = random.Random(seed)
    first = end - timedelta(days=7 * weeks - 1)
    scenario = Scenario(redis, hours, until=round(now * 1000), texts=texts)
    catalogue = products()
    ctx = Ctx(scenario, texts, load_topics(faq_dir, load_languages(faq_dir)), {p.sku: p for p in catalogue},
              Metrics(redis, BERLIN), _rules(rules_file))
    events_before = int(await redis.xlen(keys.FEED))
    history = _History(ctx, rng, first, end)

    placed = [_moment(rng, day, WEEKDAY_HOURS) for day in history.days
              for _ in range(round(ORDERS_PER_DAY[day.weekday()] * rng.uniform(0.85, 1.15)))]
    plans = plan_orders(rng, catalogue, sorted(placed))
    defect_orders = history.defect_orders(int(plans[-1].order_id) + 1)
    ctx.orders = await store_orders(OrderStore(redis, lambda: now), [*plans, *defect_orders.values()],
                                    catalogue, rng, now)
    await _order_chats(history, plans, now)
    await history.shopper_chats()
    await history.product_complaints()
    defect_ids = await history.defect(defect_orders)

    tally = ctx.tally
    return DemoTruth(
        defect_sku=DEFECT_SKU, defect_conversations=tuple(defect_ids), first=first, end=end,
        conversations=tally.conversations, events=int(await redis.xlen(keys.FEED)) - events_before,
        orders=len(ctx.orders), notified_orders=sum(1 for plan in plans if plan.notified and plan.order_id in ctx.orders
                                                    and plan.shipped_at <= now),
        channels=dict(tally.channels), teams=dict(tally.teams), agents=dict(tally.agents),
        csat_answers=tally.csat_answers, csat_comments=tally.csat_comments, notifications=tally.notifications,
        wismo=dict(tally.wismo), offers=dict(tally.offers), reopened=tally.reopened, handed_back=tally.handed_back,
    )


async def _order_chats(history: _History, plans: list[HistoryOrder], now: float) -> None:
    """Each shipped order's notifications (if notified) and "where is my order?" questions."""
    ctx, rng = history.ctx, history.rng
    for plan in plans:
        if plan.shipped_at > now:
            continue
        side = "notified" if plan.notified else "not_notified"
        asks = rng.random() < ASKS[side]
        in_reply = plan.notified and asks and rng.random() < 0.6
        own = random.Random(rng.getrandbits(64))  # as in _History.write
        try:
            if plan.notified:
                await chats.order_news(ctx, own, plan, in_reply)
            if asks and not in_reply:
                await chats.where_is_my_order(ctx, own, plan, side)
        except PastTheEnd:
            ctx.tally.cut += 1

