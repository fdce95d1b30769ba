"""Conversations written through the real store and state machine at moments of the
writer's choosing: the demo history (`storechat demo-data`), the reports' recount test and
the reports benchmark.

A `Chat` keeps its own time; every step moves it on and writes at that moment, so many
chats can be written one after another although their times interleave.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from core.types import Author, Channel, ConversationState as S, EventKind
from gateway import keys
from gateway.conversations import state_machine
from gateway.conversations.contacts import channel_identity
from gateway.conversations.store import ConversationStore
from gateway.desk.business_hours import BusinessHours, describe_opening
from gateway.shop.verification import PROOF_SECONDS
from gateway.texts import Texts

BERLIN = ZoneInfo("Europe/Berlin")
SUPERVISOR = "sven@nordlicht-home.example"
# The demo shop's agents and their teams (the supervisor works in general).
AGENTS = {
    "anna@nordlicht-home.example": "logistics", "ben@nordlicht-home.example": "logistics",
    "carla@nordlicht-home.example": "product", "dana@nordlicht-home.example": "billing",
    "emil@nordlicht-home.example": "general", "fritz@nordlicht-home.example": "general",
    SUPERVISOR: "general",
}


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: float = 0,
           *, fold: int = 0) -> int:
    """Milliseconds since the epoch of a Berlin wall-clock time (`fold=1`: the second 02:30
    of the night the clocks go back)."""
    whole = int(second)
    at = datetime(year, month, day, hour, minute, whole, tzinfo=BERLIN, fold=fold)
    return round(at.timestamp() * 1000) + round((second - whole) * 1000)


class PastTheEnd(Exception):
    """A chat's next step would fall after the scenario's `until`: the history stops there."""


class Clock:
    def __init__(self) -> None:
        self.ms = 0

    def __call__(self) -> float:
        return self.ms / 1000


@dataclass
class Scenario:
    redis: Redis
    hours: BusinessHours
    clock: Clock = field(default_factory=Clock)
    # What could not be written because the state machine does not allow it yet.
    left_out: list[str] = field(default_factory=list)
    # Nothing is written after this moment (ms; the demo history's "now"): a step past it
    # raises PastTheEnd, so a chat still going on is left as it stands at that moment.
    until: int | None = None
    # The gateway's texts for what the shopper is told (queue, survey) in the chat's language;
    # without them the notices are short German stand-ins.
    texts: Texts | None = None

    def __post_init__(self) -> None:
        self.store = ConversationStore(self.redis, self.clock)

    @property
    def can_hand_back(self) -> bool:
        return S.BOT in state_machine.ALLOWED[S.QUEUED] and S.BOT in state_machine.ALLOWED[S.ASSIGNED]

    def check(self, moment: int) -> None:
        if self.until is not None and moment > self.until:
            raise PastTheEnd(moment)

    async def chat(self, channel: Channel, at: int, address: str, locale: str = "de") -> Chat:
        self.check(at)
        self.clock.ms = at
        contact = await self.store.contact_for_identity(channel_identity(channel), address)
        conversation = await self.store.create(contact, channel, address, locale)
        return Chat(self, conversation.id, channel, at, locale=locale)


@dataclass
class Chat:
    scenario: Scenario
    id: str
    channel: Channel
    t: int  # this chat's clock, ms
    state: S = S.BOT
    team: str | None = None
    agent: str | None = None
    locale: str = "de"

    def _text(self, key: str, stand_in: str, **values: object) -> str:
        texts = self.scenario.texts
        return stand_in if texts is None else texts.get(self.locale, key, **values)

    def after(self, seconds: float) -> int:
        self.scenario.check(self.t + round(seconds * 1000))
        self.t += round(seconds * 1000)
        self.scenario.clock.ms = self.t
        return self.t

    def at(self, moment: int) -> int:
        if moment < self.t:
            raise ValueError("a chat's history only moves forward")
        self.scenario.check(moment)
        self.t = self.scenario.clock.ms = moment
        return self.t

    @property
    def store(self) -> ConversationStore:
        return self.scenario.store

    async def _message(self, author: Author, text: str, after: float, data: dict[str, object] | None = None) -> None:
        self.after(after)
        await self.store.append_message(self.id, author, text, data)

    async def shopper(self, text: str, after: float = 30) -> None:
        await self._message(Author.SHOPPER, text, after)

    async def bot(self, text: str, intent: str, *, retrieval: str | None = None, after: float = 1.2,
                  messages: int = 1) -> None:
        data: dict[str, object] = {"intent": intent, "confidence": 0.87}
        if retrieval:
            data["retrieval_intent"], data["retrieval_confidence"] = retrieval, 0.91
        for n in range(messages):
            await self._message(Author.BOT, text, after if n == 0 else 0.05, data)

    async def plain_bot(self, text: str, after: float) -> None:
        """A bot message that carries no understanding (the answer to a tapped offer)."""
        await self._message(Author.BOT, text, after)

    async def turn(self, text: str, intent: str, *, retrieval: str | None = None, after: float = 30) -> None:
        """The shopper writes and the bot answers."""
        await self.shopper(text, after)
        await self.bot("…", intent, retrieval=retrieval)

    async def system(self, text: str, after: float = 0.2, **data: object) -> None:
        await self._message(Author.SYSTEM, text, after, data)

    async def notification(self, status: str, after: float, order_id: str = "104233", text: str | None = None) -> None:
        """An order-status notification, as the notifier sends it (the text: its own or a stand-in)."""
        await self._message(Author.BOT, text or f"Your order is {status}.", after,
                            {"notification": {"order_id": order_id, "status": status}})

    async def offer(self, after: float, text: str = "Can I help?", rule: str = "cart_idle") -> None:
        await self._message(Author.BOT, text, after, {"offer_id": "offer-" + self.id[:8], "rule": rule})

    async def prove(self, order_id: str) -> None:
        """The shopper proves owning the order here, as gateway/shop/verification.py remembers it
        (kept PROOF_SECONDS: the projections folding the history soon after read it)."""
        redis = self.scenario.redis
        async with redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.verified_orders(self.id), order_id)
            pipe.expire(keys.verified_orders(self.id), PROOF_SECONDS)
            await pipe.execute()

    async def agent_says(self, text: str, after: float, agent: str | None = None) -> None:
        """An agent's reply; to a queued chat it claims it first, as the desk does (in the
        same millisecond: the reply is written at exactly `after`)."""
        email = agent or self.agent
        if email is None:
            raise ValueError("nobody to write")
        if self.state is S.QUEUED:
            await self._move(S.ASSIGNED, after, "claimed", team=self.team, agent=email)
            await self.system(self._joined(email), 0)
            after = 0
        await self._message(Author.AGENT, text, after, {"agent_name": email.split("@")[0].title(), "agent": email})

    async def _move(self, to: S, after: float, reason: str, *, team: str | None = None,
                    agent: str | None = None) -> None:
        self.after(after)
        await state_machine.transition(self.scenario.redis, self.id, to, clock=self.scenario.clock,
                                       reason=reason, team=team, agent=agent)
        self.state, self.team, self.agent = to, team if to in (S.QUEUED, S.ASSIGNED) else None, agent

    async def handoff(self, team: str, reason: str, after: float = 0.4) -> None:
        await self._move(S.QUEUED, after, reason, team=team)
        moment = datetime.fromtimestamp(self.t / 1000, self.scenario.hours.timezone)
        hours, texts = self.scenario.hours, self.scenario.texts
        if hours.is_open(moment, team):
            await self.system(self._text("queue_next", "Sie sind Nummer 1 in der Warteschlange."))
        elif texts is None:
            await self.system("Unser Team antwortet morgen um 08:00 Uhr.")
        else:
            when = describe_opening(hours.next_opening(moment, team), moment, self.locale, texts)
            await self.system(texts.get(self.locale, "out_of_hours", when=when))

    def _joined(self, agent: str) -> str:
        name = agent.split("@")[0].title()
        return self._text("agent_joined", f"{name} kümmert sich jetzt um Ihr Anliegen.", name=name)

    async def claim(self, agent: str, after: float) -> None:
        await self._move(S.ASSIGNED, after, "claimed", team=self.team, agent=agent)
        await self.system(self._joined(agent))

    async def to_team(self, team: str, after: float) -> None:
        await self._move(S.QUEUED, after, f"transferred by {self.agent or SUPERVISOR}", team=team)
        await self.system(self._text("transferred", "Wir haben Sie an ein anderes Team weitergegeben."))

    async def to_agent(self, agent: str, after: float) -> None:
        await self._move(S.ASSIGNED, after, f"transferred by {self.agent or SUPERVISOR}",
                         team=AGENTS[agent], agent=agent)

    async def resolve(self, after: float, by: str | None = None) -> None:
        await self._move(S.RESOLVED, after, f"resolved by {by or self.agent or SUPERVISOR}")
        await self.system(self._text("csat_question", "Wie zufrieden waren Sie? (1–5)"))

    async def csat(self, score: int, comment: str | None = None, after: float = 20) -> None:
        """The shopper's answers to the survey, as the conversation loop records them."""
        await self.shopper(str(score), after)
        await self.store.append(self.id, EventKind.CSAT, author=Author.SHOPPER, data={"score": score, "comment": None})
        await self.system(self._text("csat_comment", "Möchten Sie uns noch etwas sagen?"))
        if comment is None:
            await self.shopper("/csat_no_comment", 15)
        else:
            await self.shopper(comment, 40)
            await self.store.append(self.id, EventKind.CSAT, author=Author.SHOPPER,
                                    data={"score": score, "comment": comment})
        await self.system(self._text("csat_thanks", "Danke!"))

    async def reopen(self, text: str, after: float) -> None:
        """The shopper's next message after a resolve: a fresh bot turn."""
        await self.shopper(text, after)
        await self._move(S.BOT, 0, "shopper_returned")

    async def hand_back(self, after: float) -> bool:
        """Back to the bot from a queue or an agent; False where that does not exist yet."""
        if not self.scenario.can_hand_back:
            self.scenario.left_out.append(self.id)
            return False
        await self._move(S.BOT, after, f"handed_back by {self.agent or SUPERVISOR}")
        if self.scenario.texts is not None:
            await self.system(self.scenario.texts.get(self.locale, "handed_back"))
        return True


def answer_delay(chat: Chat, rng: random.Random, soon: Sequence[tuple[float, float]],
                 after_opening: tuple[float, float]) -> float:
    """Seconds until an agent answers `chat`: one of the `soon` spans drawn while its team is
    in (if the team is still in then), else a moment `after_opening` seconds past the next opening."""
    hours, team = chat.scenario.hours, chat.team or "general"
    now = datetime.fromtimestamp(chat.t / 1000, hours.timezone)
    if hours.is_open(now, team):
        delay = rng.choice(tuple(rng.uniform(low, high) for low, high in soon))
        if hours.is_open(now + timedelta(seconds=delay), team):
            return delay
        now += timedelta(seconds=delay)
    opening = hours.next_opening(now, team) + timedelta(seconds=rng.uniform(*after_opening))
    return (opening.timestamp() * 1000 - chat.t) / 1000
