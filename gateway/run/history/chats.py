"""The kinds of conversation the demo history is made of, each written through a `Chat`:
bot-only FAQ chats, "where is my order?" with and without a shipping notification, handoffs
with their reason, team, agent and survey, complaints, proactive offers on the web.

`Ctx` holds what they share (the scenario, the FAQ, the orders, the tallies); `rng` decides
everything else, so one seed gives one history.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from core.types import Channel, ConversationState as S
from gateway.bot.faq import Entry
from gateway.desk.business_hours import BusinessHours
from gateway.notifications.compose import notification_text
from gateway.proactive.metrics import Metrics, Outcome
from gateway.run.history import phrases as P
from gateway.run.history.orders import HistoryOrder, Product
from gateway.run.history.writer import AGENTS, BERLIN, SUPERVISOR, Chat, Scenario, answer_delay
from gateway.shop.orders import Order, OrderStatus
from gateway.texts import Texts

HOUR = 3600.0
# How soon an agent answers while the team is in (seconds, one span drawn), and after its next opening.
ANSWERED_SOON = ((20, 90), (60, 420), (300, 1800))
AFTER_OPENING = (60, 2400)
# The bot's intent for the message that brings each handoff reason.
INTENT_OF = {"shopper_asked": "request_human", "billing_problem": "billing_problem",
             "delivered_not_received": "delivered_not_received", "order_problem": "change_address",
             "repeated_misunderstanding": "nlu_fallback", "complaint": "complain", "damaged_item": "report_damage"}
HANDING_OVER = {"de": "Einen Moment, ich verbinde Sie mit einer Kollegin oder einem Kollegen.",
                "en": "One moment, I'm connecting you with a colleague."}
SORRY = {"de": "Das tut mir leid! Ich gebe Ihr Anliegen an unser Produktteam weiter.",
         "en": "I'm sorry to hear that! I'm passing this on to our product team."}
ASK_ORDER = {"de": "Das tut mir leid! Nennen Sie mir bitte Ihre Bestellnummer und die Postleitzahl.",
             "en": "I'm sorry! Could you tell me the order number and postal code?"}
PASSING_ON = {"de": "Danke! Ich gebe Ihr Anliegen an unser Produktteam weiter.",
              "en": "Thank you! I'm passing this on to our product team."}


@dataclass
class Tally:
    """What the history holds, counted as it is written."""

    conversations: int = 0
    channels: Counter[str] = field(default_factory=Counter)
    teams: Counter[str] = field(default_factory=Counter)
    agents: Counter[str] = field(default_factory=Counter)
    csat_answers: int = 0
    csat_comments: int = 0
    notifications: int = 0
    wismo: Counter[str] = field(default_factory=Counter)  # "notified" / "not_notified" → questions
    offers: Counter[str] = field(default_factory=Counter)
    reopened: int = 0
    handed_back: int = 0
    cut: int = 0  # conversations still going on at the history's end


@dataclass
class Ctx:
    scenario: Scenario
    texts: Texts
    topics: list[Entry]
    catalogue: dict[str, Product]
    metrics: Metrics
    # Every offer's rule → {language: its texts} and its target (config/proactive_rules.yml).
    rules: dict[str, dict[str, Any]]
    orders: dict[str, Order] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)

    @property
    def hours(self) -> BusinessHours:
        return self.scenario.hours

    async def chat(self, channel: Channel, at: int, address: str, locale: str) -> Chat:
        chat = await self.scenario.chat(channel, at, address, locale)
        self.tally.conversations += 1
        self.tally.channels[channel.value] += 1
        return chat


def pick(rng: random.Random, said: P.Said, locale: str) -> str:
    return rng.choice(said[locale])


def agents_of(team: str) -> list[str]:
    return [email for email, of in AGENTS.items() if of == team and email != SUPERVISOR] or [SUPERVISOR]


def answer_delay_next_day(chat: Chat, rng: random.Random) -> float:
    """Seconds until the team's first opening on a later day, and a little more."""
    hours, team = chat.scenario.hours, chat.team or "general"
    tomorrow = (datetime.fromtimestamp(chat.t / 1000, BERLIN) + timedelta(days=1)).replace(hour=0, minute=0)
    opening = hours.next_opening(tomorrow, team) + timedelta(seconds=rng.uniform(300, 3600))
    return (opening.timestamp() * 1000 - chat.t) / 1000


def quiet_until(moment: float) -> float:
    """The notifications' quiet hours (21:00–08:00, config/notifications.yml): when one may go."""
    at = datetime.fromtimestamp(moment, BERLIN)
    if at.hour >= 21:
        at = (at + timedelta(days=1)).replace(hour=8, minute=0)
    elif at.hour < 8:
        at = at.replace(hour=8, minute=0)
    return at.timestamp()


# --- the bot's part ---------------------------------------------------------------------


async def faq_turn(ctx: Ctx, chat: Chat, rng: random.Random, after: float) -> None:
    topic = rng.choice(ctx.topics)
    await chat.shopper(rng.choice(topic.questions[chat.locale]), after)
    await chat.bot(topic.answers[chat.locale], "faq", retrieval=f"faq/{topic.id}", after=rng.uniform(0.6, 2.5))


async def greet(chat: Chat, rng: random.Random, after: float) -> None:
    await chat.shopper(pick(rng, P.GREETINGS, chat.locale), after)
    await chat.bot(P.BOT_GREETING[chat.locale], "greet", after=rng.uniform(0.5, 1.5))


async def thank(chat: Chat, rng: random.Random) -> None:
    await chat.shopper(pick(rng, P.THANKS, chat.locale), rng.uniform(15, 120))
    await chat.bot(P.BOT_WELCOME[chat.locale], "thanks", after=rng.uniform(0.5, 1.5))


async def not_understood(chat: Chat, rng: random.Random) -> None:
    await chat.shopper(pick(rng, P.NOT_UNDERSTOOD, chat.locale), rng.uniform(10, 90))
    await chat.bot(P.BOT_FALLBACK[chat.locale], "nlu_fallback", after=rng.uniform(0.5, 1.5))


async def bot_only(ctx: Ctx, chat: Chat, rng: random.Random) -> None:
    """FAQ questions answered by the bot; sometimes a greeting, a misunderstanding, thanks."""
    greeted = rng.random() < 0.4
    if greeted:
        await greet(chat, rng, 0)
    for n in range(rng.choices((1, 2, 3), weights=(6, 3, 1))[0]):
        await faq_turn(ctx, chat, rng, rng.uniform(5, 40) if n or greeted else 0)
        if rng.random() < 0.12:
            await not_understood(chat, rng)
    if rng.random() < 0.5:
        await thank(chat, rng)


# --- the desk's part --------------------------------------------------------------------


async def survey(ctx: Ctx, chat: Chat, rng: random.Random, *, proven: bool, score: int | None = None) -> None:
    """The survey after a resolve: answered about half the time, sometimes with a comment. In a
    conversation with a proven order a low score gets no comment (it would read as a complaint
    about the order's product)."""
    if score is None:
        if rng.random() >= 0.55:
            return
        score = rng.choices((1, 2, 3, 4, 5), weights=(5, 6, 12, 30, 47))[0]
    comment = None
    if rng.random() < 0.45:
        if score >= 4:
            comment = pick(rng, P.PRAISE if rng.random() < 0.7 else P.SUGGESTIONS, chat.locale)
        elif score == 3:
            comment = pick(rng, P.SUGGESTIONS, chat.locale)
        elif not proven:
            comment = pick(rng, P.SERVICE_GRIPES, chat.locale)
    await chat.csat(score, comment, after=rng.uniform(10, 300))
    ctx.tally.csat_answers += 1
    ctx.tally.csat_comments += comment is not None


async def desk(ctx: Ctx, chat: Chat, rng: random.Random, team: str, reason: str,
               lines: tuple[str, str, str] | None, *, proven: bool = False, agent: str | None = None) -> None:
    """A handoff and what the desk makes of it: `lines` are the agent's answer, the shopper's
    reply and the agent's close (None: the agent only answers and resolves)."""
    await chat.handoff(team, reason, after=rng.uniform(0.3, 2))
    ctx.tally.teams[team] += 1
    if rng.random() < 0.07:  # sent on to the team that can help
        team = rng.choice([t for t in ("general", "logistics", "billing", "product") if t != team])
        await chat.to_team(team, rng.uniform(60, 600))
    if rng.random() < 0.04:  # given up on before anyone answered: back to the bot, or closed
        if await chat.hand_back(rng.uniform(300, 3 * HOUR)):
            ctx.tally.handed_back += 1
        else:
            await chat.resolve(rng.uniform(HOUR, 5 * HOUR), by=SUPERVISOR)
        return
    who = agent or rng.choice(agents_of(team))
    await chat.claim(who, max(1.0, answer_delay(chat, rng, ANSWERED_SOON, AFTER_OPENING) - rng.uniform(2, 20)))
    ctx.tally.agents[who] += 1
    answer, reply, close = lines or (pick(rng, P.SERVICE_ANSWERS, chat.locale), "", "")
    await chat.agent_says(answer, rng.uniform(2, 25))
    if reply:
        await chat.shopper(reply, rng.uniform(30, 240))
        await chat.agent_says(close, rng.uniform(40, 600))
        if rng.random() < 0.5:
            await chat.shopper(pick(rng, P.THANKS, chat.locale), rng.uniform(10, 90))
    if rng.random() < 0.05 and await chat.hand_back(rng.uniform(30, 300)):
        ctx.tally.handed_back += 1
        await thank(chat, rng)
        return
    if rng.random() < 0.92:
        await chat.resolve(rng.uniform(30, 600))
    else:  # left open until the team's next day
        await chat.resolve(max(60.0, answer_delay_next_day(chat, rng)))
    await survey(ctx, chat, rng, proven=proven)


async def maybe_reopen(ctx: Ctx, chat: Chat, rng: random.Random) -> None:
    """Now and then the shopper comes back to a resolved case a day or two later."""
    if chat.state is not S.RESOLVED or rng.random() >= 0.07:
        return
    text = {"de": "Eine Frage hätte ich doch noch dazu.", "en": "I have one more question about this."}
    await chat.reopen(text[chat.locale], rng.uniform(20 * HOUR, 60 * HOUR))
    await chat.bot(P.BOT_GREETING[chat.locale], "greet", after=1)
    ctx.tally.reopened += 1
    await faq_turn(ctx, chat, rng, rng.uniform(20, 90))
    if rng.random() < 0.5:
        await chat.shopper({"de": "Ich möchte lieber mit jemandem sprechen.",
                            "en": "I'd rather talk to someone."}[chat.locale], rng.uniform(20, 90))
        await chat.bot(HANDING_OVER[chat.locale], "request_human", after=1)
        await desk(ctx, chat, rng, "general", "shopper_asked", None)


async def handoff_chat(ctx: Ctx, chat: Chat, rng: random.Random, reason: str) -> None:
    team, dialogues = P.HANDOFFS[reason]
    opening, answer, reply, close = rng.choice(dialogues[chat.locale])
    order = rng.choice(list(ctx.orders)) if ctx.orders else "300001"
    if reason == "repeated_misunderstanding":
        await not_understood(chat, rng)
        await not_understood(chat, rng)
    await chat.shopper(opening.format(order=order), rng.uniform(3, 30))
    await chat.bot(HANDING_OVER[chat.locale], INTENT_OF[reason], after=rng.uniform(0.5, 1.5))
    await desk(ctx, chat, rng, team, reason, (answer, reply.format(order=order), close))
    await maybe_reopen(ctx, chat, rng)


async def service_complaint(ctx: Ctx, chat: Chat, rng: random.Random) -> None:
    """A complaint about the service (no product): the general team takes it."""
    await chat.shopper(pick(rng, P.SERVICE_COMPLAINTS, chat.locale), rng.uniform(3, 30))
    await chat.bot(HANDING_OVER[chat.locale], "complain", after=1)
    await desk(ctx, chat, rng, "general", "complaint", None)


async def product_complaint(ctx: Ctx, chat: Chat, rng: random.Random, sku: str) -> None:
    """One of a product's usual complaints, naming it, for the product team."""
    text = pick(rng, P.PRODUCT_COMPLAINTS[sku], chat.locale).format(product=ctx.catalogue[sku].spoken(chat.locale))
    intent = rng.choice(("report_damage", "complain"))
    await chat.shopper(text, rng.uniform(3, 30))
    await chat.bot(SORRY[chat.locale], intent, after=1)
    lines = (pick(rng, P.PRODUCT_ANSWERS, chat.locale), pick(rng, P.PRODUCT_FOLLOWUPS, chat.locale),
             pick(rng, P.PRODUCT_CLOSES, chat.locale))
    await desk(ctx, chat, rng, "product", "damaged_item" if intent == "report_damage" else "complaint", lines)


async def defect_report(ctx: Ctx, chat: Chat, rng: random.Random, text: str, order: HistoryOrder | None) -> None:
    """A shopper reporting the cushion cover's seams; with `order`, proving the order it came in."""
    await chat.shopper(text, rng.uniform(3, 30))
    if order is not None:
        await chat.bot(ASK_ORDER[chat.locale], "report_damage", after=1)
        await chat.shopper(f"{order.order_id}, {order.postal_code}", rng.uniform(20, 90))
        await chat.prove(order.order_id)
        await chat.bot(PASSING_ON[chat.locale], "inform", after=1)
    else:
        await chat.bot(SORRY[chat.locale], "report_damage", after=1)
    lines = (pick(rng, P.PRODUCT_ANSWERS, chat.locale), pick(rng, P.PRODUCT_FOLLOWUPS, chat.locale),
             pick(rng, P.DEFECT_CLOSES, chat.locale))
    await chat.handoff("product", "damaged_item", after=rng.uniform(0.3, 2))
    ctx.tally.teams["product"] += 1
    agent = rng.choice(("carla@nordlicht-home.example", SUPERVISOR))
    await chat.claim(agent, max(1.0, answer_delay(chat, rng, ANSWERED_SOON, AFTER_OPENING)))
    ctx.tally.agents[agent] += 1
    await chat.agent_says(lines[0], rng.uniform(2, 25))
    await chat.shopper(lines[1], rng.uniform(60, 400))
    await chat.agent_says(lines[2], rng.uniform(60, 400))
    await chat.resolve(rng.uniform(60, 400))
    await survey(ctx, chat, rng, proven=True, score=rng.choice((3, 4, 4, 5)) if rng.random() < 0.6 else None)


# --- orders: notifications and "where is my order?" ------------------------------------


def _day(moment: float) -> date:
    return datetime.fromtimestamp(moment, BERLIN).date()


async def order_news(ctx: Ctx, rng: random.Random, plan: HistoryOrder, asks: bool) -> None:
    """A notified order's conversation: shipped (and delivered), perhaps a reply asking when."""
    order = ctx.orders.get(plan.order_id)
    if order is None:
        return
    shipped = quiet_until(plan.shipped_at + rng.uniform(120, 1800))
    chat = await ctx.chat(plan.channel, round(shipped * 1000), plan.address, plan.locale)
    await chat.notification("shipped", 0, plan.order_id,
                            notification_text(order, OrderStatus.SHIPPED, ctx.texts, plan.locale, _day(shipped)))
    await chat.prove(plan.order_id)  # the notifier vouches for the order at the address it was sent to
    ctx.tally.notifications += 1
    if asks:
        await chat.shopper(pick(rng, P.WISMO_REPLY, plan.locale), rng.uniform(2 * HOUR, 30 * HOUR))
        await chat.bot(P.ORDER_ON_ITS_WAY[plan.locale].format(order=plan.order_id, carrier=plan.carrier),
                       "order_status", after=1.5)
        ctx.tally.wismo["notified"] += 1
    delivered = quiet_until(plan.delivered_at + rng.uniform(60, 900))
    if delivered * 1000 > chat.t and rng.random() < 0.6:
        chat.at(round(delivered * 1000))
        await chat.notification("delivered", 0, plan.order_id,
                                notification_text(order, OrderStatus.DELIVERED, ctx.texts, plan.locale, _day(delivered)))
        ctx.tally.notifications += 1


async def where_is_my_order(ctx: Ctx, rng: random.Random, plan: HistoryOrder, side: str) -> None:
    """The shopper asks, proves the order with the postal code, gets its status; a few want a person."""
    ask = plan.shipped_at + rng.uniform(18 * HOUR, 70 * HOUR)
    chat = await ctx.chat(plan.channel, round(ask * 1000), plan.address, plan.locale)
    if rng.random() < 0.3:
        await greet(chat, rng, 0)
    await chat.shopper(pick(rng, P.WISMO, plan.locale).format(order=plan.order_id), rng.uniform(3, 20))
    await chat.bot(P.ASK_PROOF[plan.locale], "order_status", after=1.2)
    ctx.tally.wismo[side] += 1
    await chat.shopper(plan.postal_code, rng.uniform(15, 60))
    await chat.prove(plan.order_id)
    await chat.bot(P.ORDER_ON_ITS_WAY[plan.locale].format(order=plan.order_id, carrier=plan.carrier),
                   "inform", after=1.5)
    if rng.random() < 0.12:
        await chat.shopper({"de": "Das dauert mir zu lange, kann ich mit jemandem sprechen?",
                            "en": "That's taking too long, can I talk to someone?"}[plan.locale], rng.uniform(20, 90))
        await chat.bot(HANDING_OVER[plan.locale], "request_human", after=1)
        lines = {"de": ("Ich habe bei {c} nachgefragt: Ihr Paket wird morgen zugestellt.", "", ""),
                 "en": ("I checked with {c}: your parcel will be delivered tomorrow.", "", "")}[plan.locale]
        await desk(ctx, chat, rng, "logistics", "order_problem", (lines[0].format(c=plan.carrier), "", ""),
                   proven=True)
    elif rng.random() < 0.5:
        await thank(chat, rng)


# --- proactive offers on the storefront -------------------------------------------------


async def offered(ctx: Ctx, chat: Chat, rng: random.Random) -> bool:
    """An offer opens the web chat; True if the shopper took it up (the chat goes on)."""
    rule = rng.choices(list(ctx.rules), weights=[3 if name == "cart_idle" else 2 for name in ctx.rules])[0]
    texts = ctx.rules[rule]["texts"][chat.locale]
    human = ctx.rules[rule]["target"] == "human"
    await chat.offer(0, texts.get("human_text") if human and texts.get("human_text") else texts["text"], rule)
    at = chat.t / 1000
    await ctx.metrics.count(rule, Outcome.SHOWN, at)
    ctx.tally.offers["shown"] += 1
    answer = rng.random()
    if answer < 0.45:
        return False  # ignored
    if answer < 0.65:
        await chat.shopper("/offer_decline", rng.uniform(3, 40))
        await chat.plain_bot(ctx.rules[rule]["declined"][chat.locale], after=0.5)
        await ctx.metrics.count(rule, Outcome.DECLINED, chat.t / 1000)
        ctx.tally.offers["declined"] += 1
        return False
    await chat.shopper("/offer_accept", rng.uniform(3, 40))
    await ctx.metrics.count(rule, Outcome.ACCEPTED, chat.t / 1000)
    ctx.tally.offers["accepted"] += 1
    if rng.random() < 0.3:
        await ctx.metrics.count(rule, Outcome.CONVERTED, chat.t / 1000 + rng.uniform(300, 1800))
        ctx.tally.offers["converted"] += 1
    if human:
        team = ctx.rules[rule]["team"]
        advice = {"de": ("Hallo! Wobei darf ich helfen?", "Ist die Kissenhülle auch in Grau erhältlich?",
                         "Ja, in Grau und Salbei – beide sind ab Lager lieferbar."),
                  "en": ("Hi! How can I help?", "Does the throw come in a larger size?",
                         "It comes in 130 × 180 cm only, but we have a matching cushion cover.")}[chat.locale]
        await desk(ctx, chat, rng, team, f"proactive_{rule}", advice)
        return False
    await chat.plain_bot(texts["accepted"], after=0.8)
    return True
