"""Proactive offers under test: a controllable clock, the engine on real Redis with a recording
web channel, and rules written for the test (the shipped file's thresholds may change)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from redis.asyncio import Redis

from channels import webchat
from core.types import BotTurn, Channel, Conversation, Event, OutgoingMessage, Team, Understanding
from gateway.conversations.csat import Survey
from gateway.conversations.loop import ConversationLoop
from gateway.conversations.outbox import Outbox
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import AgentStore
from gateway.desk.assignment import Roster, Router
from gateway.desk.business_hours import BusinessHours
from gateway.desk.desk import Desk
from gateway.proactive.events import parse_event
from gateway.proactive.rules import Rules, parse_rules
from gateway.proactive.service import Proactive
from gateway.texts import Texts
from tests.gateway.agent_support import add_agent
from tests.hours_support import hours_file

LANGUAGES = frozenset({"de", "en"})
# 2027-01-15 08:00 UTC: far from a day's end, so a test's offers fall on one day.
START = 1_800_000_000.0
DECLINED_DE = "Alles klar! Schreiben Sie uns, wenn doch etwas ist."


class Clock:
    """The engine's and the case's time; a test moves it on instead of sleeping."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def rule_texts(name: str) -> dict[str, dict[str, str]]:
    return {language: {"text": f"{name}: bot {language}", "human_text": f"{name}: human {language}",
                       "accept": "Ja, gern" if language == "de" else "Yes, please",
                       "decline": "Nein, danke" if language == "de" else "No, thanks",
                       "accepted": f"{name}: accepted {language}"} for language in sorted(LANGUAGES)}


def rules_raw(rules: Mapping[str, dict[str, Any]] | None = None, **caps: Any) -> dict[str, Any]:
    """The issue's three rules with round thresholds, or `rules` instead; `caps` override the caps."""
    rules = rules if rules is not None else {
        "cart_idle": {"when": {"page_types": ["cart", "checkout"], "idle_seconds": 60, "min_cart_value": "20.00"},
                      "target": "human", "team": "general"},
        "product_browsing": {"when": {"page_types": ["product", "category"], "browsing_seconds": 180},
                             "target": "human", "team": "product"},
        "help_reading": {"when": {"page_types": ["help"], "help_pages": 3, "idle_seconds": 20}, "target": "bot"},
    }
    return {
        "session_timeout_seconds": 1800, "offer_open_seconds": 600, "chat_quiet_seconds": 600, "max_per_day": 2,
        **caps,
        "texts": {"de": {"declined": DECLINED_DE}, "en": {"declined": "All right!"}},
        "rules": {name: {**rule, "texts": rule_texts(name)} for name, rule in rules.items()},
    }


def make_rules(rules: Mapping[str, dict[str, Any]] | None = None, **caps: Any) -> Rules:
    return parse_rules(rules_raw(rules, **caps), languages=LANGUAGES, default_locale="de")


def write_rules(directory: Path, rules: Mapping[str, dict[str, Any]] | None = None, **caps: Any) -> Path:
    path = directory / "proactive_rules.yml"
    path.write_text(yaml.safe_dump(rules_raw(rules, **caps), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


class RecordingBot:
    """Stands in for Rasa: answers every turn with one message and remembers what it heard."""

    def __init__(self) -> None:
        self.heard: list[str] = []

    async def turn(self, sender: str, text: str, metadata: Mapping[str, Any]) -> BotTurn:
        self.heard.append(text)
        return BotTurn((OutgoingMessage("Gern! Worum geht es?"),), Understanding("greet", 0.9))


@dataclasses.dataclass
class Shop:
    """The engine and everything it talks to, on real Redis; emits and web messages recorded."""

    redis: Redis
    clock: Clock
    store: ConversationStore
    roster: Roster
    desk: Desk
    proactive: Proactive
    loop: ConversationLoop
    bot: RecordingBot
    emits: list[tuple[str, dict[str, Any], str]]
    delivered: list[tuple[str, OutgoingMessage]]

    async def visitor(self, locale: str = "de") -> tuple[str, Conversation]:
        """A widget's web session and its conversation (the widget opens it at session_request)."""
        session_id = webchat.new_session_id()
        return session_id, await self.store.open(Channel.WEB, session_id, locale)

    async def send(self, session_id: str, **event: Any) -> None:
        await self.proactive.observe(session_id, parse_event(event))

    async def page(self, session_id: str, page_type: str, title: str | None = None) -> None:
        await self.send(session_id, type="page_view", page_type=page_type,
                        url=f"https://nordlicht-home.example/{page_type}", title=title or page_type.title())

    async def cart(self, session_id: str, value: str, *, items: int = 1) -> None:
        await self.send(session_id, type="cart", value=value, currency="EUR", items=[
            {"sku": f"NL-{index}", "name": f"Kissen {index}", "quantity": 1, "price": value} for index in range(items)])

    async def tick_after(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.proactive.engine.tick()

    def offers(self) -> list[dict[str, Any]]:
        return [data for event, data, _ in self.emits if event == "proactive_offer"]

    async def online(self, email: str, team: Team, *, open_chats: int = 0) -> None:
        """An agent of `team` with a connected console (and `open_chats` chats already)."""
        await add_agent(self.redis, email, team, name=email.partition("@")[0].title())
        await self.roster.connected(email, f"console-of-{email}")
        for index in range(open_chats):
            await self.redis.zadd(f"storechat:agent:chats:{email}", {f"busy-{index}": 1})

    async def says(self, conversation_id: str, text: str) -> None:
        """The shopper writes in the chat (through the conversation loop, as every channel)."""
        await self.loop.shopper_message(await self.store.get(conversation_id), text, {})

    def told(self, conversation_id: str) -> list[str]:
        return [message.text for cid, message in self.delivered if cid == conversation_id]


async def build_shop(redis: Redis, tmp_path: Path, rules: Rules | None = None, *, capacity: int = 1) -> Shop:
    clock = Clock()
    store = ConversationStore(redis, clock)
    agents = AgentStore(redis)
    # Presence is about real console sockets: the roster keeps real time.
    roster = Roster(redis, agents, time.time)
    router = Router(redis, roster, clock, capacity)
    outbox = Outbox(store)
    delivered: list[tuple[str, OutgoingMessage]] = []

    async def deliver(conversation: Conversation, message: OutgoingMessage, event: Event | None = None) -> None:
        delivered.append((conversation.id, message))

    outbox.register_channel(Channel.WEB, deliver)
    texts = Texts.load("de")
    survey = Survey(store, outbox, texts)
    desk = Desk(store, agents, router, outbox, survey, texts, BusinessHours.load(hours_file(tmp_path, open_now=True)))
    emits: list[tuple[str, dict[str, Any], str]] = []

    async def emit(event: str, data: dict[str, Any], room: str) -> None:
        emits.append((event, data, room))

    proactive = Proactive.build(rules=rules or make_rules(), store=store, agents=router, outbox=outbox, desk=desk,
                                emit=emit)
    bot = RecordingBot()
    loop = ConversationLoop(store, bot, texts, outbox, desk, survey, offers=proactive)
    return Shop(redis, clock, store, roster, desk, proactive, loop, bot, emits, delivered)
