"""The reports benchmark's history: `per_day` conversations on each of `days` days, written
through the real store and state machine (gateway/run/history/writer.py), so the feed the
projections follow is exactly what a running shop produces.

The mix, per conversation: a few bot turns (FAQ topics, orders, greetings, now and then a
line the bot does not understand, from about 120 distinct ones); about a third are handed
to a team, most of those answered by one of the team's agents (sooner inside opening hours,
after the next opening outside them), some transferred, handed back, resolved unanswered or
left waiting; resolved ones get the survey (60 % answer, 40 % of those with a comment) and a
quarter come back later (a reopen). Starts follow the day's shape (`HOUR_WEIGHTS`, few at
night, most late morning and evening) and the week's (`WEEKDAY_SHARE`); half the chats are web.

Each chat has its own random generator (seeded by its number), so a run writes the same
history whatever the concurrency. Chats are written `lanes` at a time, each lane a `Scenario`
of its own (its own clock and store), one chat after the other.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from redis.asyncio import Redis

from core.types import Channel, ConversationState as S
from gateway.desk.business_hours import BusinessHours
from gateway.run.history.writer import AGENTS, SUPERVISOR, Chat, Scenario, answer_delay, berlin

HOUR = 3600.0
CHANNELS = (Channel.WEB, Channel.WHATSAPP, Channel.SMS, Channel.MESSENGER)
CHANNEL_WEIGHTS = (50, 25, 10, 15)
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 10, 9, 9, 10, 10, 9, 8, 8, 9, 10, 9, 6, 3)
# Monday … Sunday, averaging 1: a shop's week is busiest on Monday and Sunday evening.
WEEKDAY_SHARE = (1.15, 1.05, 1.0, 1.0, 0.9, 0.8, 1.1)
# (what the shopper writes, the intent, the retrieval intent, weight)
TURNS = (
    ("Wo ist meine Bestellung?", "order_status", None, 8),
    ("Wie lange habe ich Zeit für eine Rücksendung?", "faq", "faq/returns", 5),
    ("How long does shipping take?", "faq", "faq/shipping", 4),
    ("Kann ich mit Klarna zahlen?", "faq", "faq/payment", 3),
    ("Do you ship to Switzerland?", "faq", "faq/shipping_countries", 2),
    ("Gibt es Garantie auf die Lampe?", "faq", "faq/warranty", 2),
    ("Wann kommt meine Erstattung?", "faq", "faq/refunds", 2),
    ("Hallo", "greet", None, 5),
    ("danke!", "thanks", None, 3),
    ("ja", "affirm", None, 2),
    ("Ich will eine Rechnung", "invoice_request", None, 2),
    ("Ich möchte etwas zurückschicken", "start_return", None, 2),
    ("Adresse ändern bitte", "change_address", None, 1),
)
# (reason, team) of the bot's handoffs.
REASONS = (("shopper_asked", "general"), ("complaint", "product"), ("damaged_item", "product"),
           ("billing_problem", "billing"), ("delivered_not_received", "logistics"),
           ("order_problem", "logistics"), ("repeated_misunderstanding", "general"))
_WORDS = ("Mond", "Farbe", "Gutschein", "Paket", "Katze", "Wetter", "Rabatt", "voucher", "colour", "parcel",
          "Sofa", "Kerze", "Größe", "size", "Samstag", "tomorrow", "Lieferant", "Abo", "newsletter", "app")
_FRAMES = ("was ist mit {}", "{} ???", "hab {} nicht", "where {}", "{} kaputt oder so", "wie {} geht das")
# About 120 distinct not-understood lines: the top-texts list has real work to do.
NOT_UNDERSTOOD = tuple(frame.format(word) for frame in _FRAMES for word in _WORDS) + ("asdf", "???", "hmm")
COMMENTS = ("Super schnell, danke!", "Zu lange gewartet", "Bitte mehr Farben", "Top Service", "very helpful",
            "Die Lampe kam kaputt an", "took ages", "Freundlich und kompetent", "Niemand hat geantwortet",
            "great, thanks", "Die Naht der Kissenhülle geht auf", "refund still missing")


@dataclass
class Written:
    """What was written, counted as it was."""

    conversations: int = 0
    handoffs: int = 0
    answered: int = 0
    resolved: int = 0
    csat: int = 0
    reopened: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)


def day_counts(days: list[date], per_day: int) -> dict[date, int]:
    """Conversations each day: `per_day` on average, shaped by the weekday."""
    return {day: max(1, round(per_day * WEEKDAY_SHARE[day.weekday()])) for day in days}


def start_moment(day: date, rng: random.Random) -> int:
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return berlin(day.year, day.month, day.day, hour, rng.randrange(60), round(rng.uniform(0, 59.999), 3))


def _agents_of(team: str) -> list[str]:
    return [email for email, of in AGENTS.items() if of == team and email != SUPERVISOR] or [SUPERVISOR]


async def _bot_turns(chat: Chat, rng: random.Random, *, after: float) -> None:
    for n in range(rng.randint(1, 4)):
        if rng.random() < 0.12:
            text, intent, retrieval = rng.choice(NOT_UNDERSTOOD), rng.choice(("nlu_fallback", "out_of_scope")), None
        else:
            text, intent, retrieval, _ = rng.choices(TURNS, weights=[t[3] for t in TURNS])[0]
        await chat.shopper(text, after if n == 0 else rng.uniform(5, 240))
        await chat.bot("…", intent, retrieval=retrieval, after=rng.uniform(0.2, 3), messages=rng.choice((1, 1, 2)))




async def _human_part(chat: Chat, rng: random.Random, written: Written) -> None:
    """A handoff and what the desk makes of it: resolved, back with the bot, or still open."""
    reason, team = rng.choice(REASONS)
    written.handoffs += 1
    await chat.handoff(team, reason, after=rng.uniform(0.1, 3))
    if rng.random() < 0.08:
        await chat.to_team(rng.choice([t for _, t in REASONS if t != team]), rng.uniform(60, 900))
    outcome = rng.random()
    if outcome < 0.04:
        return  # still waiting
    if outcome < 0.1:
        await chat.resolve(rng.uniform(300, 7200), by=SUPERVISOR)
        return
    if outcome < 0.14 and await chat.hand_back(rng.uniform(120, 3600)):
        return
    first, *others = rng.sample(_agents_of(chat.team or "general"), k=len(_agents_of(chat.team or "general")))
    await chat.claim(first, max(1.0, answer_delay(chat, rng, ((3, 60), (60, 600), (600, 3600)), (30, 1800))))
    if others and rng.random() < 0.08:
        await chat.to_agent(others[0], rng.uniform(30, 300))
    written.answered += 1
    await chat.agent_says("Hallo, ich helfe Ihnen gern.", rng.uniform(1, 30))
    for _ in range(rng.randint(0, 3)):
        await chat.shopper("Und was jetzt?", rng.uniform(20, 600))
        if rng.random() < 0.9:
            await chat.agent_says("Das erledige ich für Sie.", rng.uniform(10, 900))
    if rng.random() < 0.92:
        await chat.resolve(rng.uniform(60, 1800) if rng.random() < 0.9 else rng.uniform(8 * HOUR, 30 * HOUR))
    else:
        await chat.hand_back(rng.uniform(60, 600))


async def write_chat(scenario: Scenario, day: date, number: int, seed: int, written: Written) -> None:
    """Conversation `number` of the history, starting on `day`."""
    rng = random.Random(seed * 1_000_003 + number)
    channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
    start = start_moment(day, rng)
    opened = start - rng.randint(1000, 600_000)
    chat = await scenario.chat(channel, opened, f"{channel.value}-bench-{number}", rng.choice(("de", "de", "en")))
    written.conversations += 1
    written.by_channel[channel.value] = written.by_channel.get(channel.value, 0) + 1
    if channel is Channel.WEB and rng.random() < 0.1:
        await chat.offer(1)
    await _bot_turns(chat, rng, after=max(0.0, (start - chat.t) / 1000))
    for _ in range(2):
        if rng.random() >= 0.35:
            return  # the bot was enough (or the shopper left)
        await _human_part(chat, rng, written)
        if chat.state is not S.RESOLVED:
            return
        written.resolved += 1
        if rng.random() < 0.6:
            written.csat += 1
            comment = rng.choice(COMMENTS) if rng.random() < 0.4 else None
            await chat.csat(rng.choices((1, 2, 3, 4, 5), weights=(8, 7, 15, 30, 40))[0], comment,
                            after=rng.uniform(5, 600))
        if rng.random() >= 0.25:
            return
        written.reopened += 1
        await chat.reopen("Ich habe noch eine Frage", rng.uniform(HOUR, 3 * 24 * HOUR))
        await chat.bot("Gern, worum geht es?", "greet")
        await _bot_turns(chat, rng, after=rng.uniform(20, 120))


def numbered(counts: dict[date, int], first: int = 0) -> Iterator[tuple[date, int]]:
    number = first
    for day, count in counts.items():
        for _ in range(count):
            yield day, number
            number += 1


async def write_chats(redis: Redis, hours: BusinessHours, chats: list[tuple[date, int]], *, seed: int,
                      lanes: int, written: Written) -> None:
    """Write `chats` ((day, number) each), `lanes` at a time."""
    pending = iter(chats)

    async def lane() -> None:
        scenario = Scenario(redis, hours)
        for day, number in pending:
            await write_chat(scenario, day, number, seed, written)

    await asyncio.gather(*(lane() for _ in range(lanes)))
