"""What a fault-injection scenario came to, counted from both ends: what the shoppers sent
and were told, and what the cases in Redis hold.

A web shopper's message is *stored* when its conversation's case has a shopper message with
its `client_message_id`; *duplicated* when it has more than one; *lost* when it was
acknowledged but is not stored; *told not sent* when the shopper gave up on it (and says
so); *silent* when it is neither stored-and-acknowledged nor told: the shopper would believe
something that is not so. The issue's bar: 0 lost, 0 duplicated, 0 silent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

from benchmarks.chaos_shoppers import WebShopper
from core.types import Author, Channel, EventKind
from gateway.conversations.store import ConversationStore


@dataclass(frozen=True, slots=True)
class WebFigures:
    scenario: str
    shoppers: int
    sent: int
    acknowledged: int
    stored: int
    duplicated: int
    lost: int  # acknowledged, not stored
    told_not_sent: int
    silent: int  # neither stored and acknowledged, nor told
    resent: int  # messages sent more than once (after a reconnect or an ack timeout)
    duplicate_acks: int  # resends the gateway recognised ("duplicate": true)
    # What the shoppers saw: bot or agent answers, notices (bot unavailable, queue place), and
    # shoppers who got nothing at all.
    answers: int
    notices: int
    unanswered_shoppers: int
    # Messages to the shoppers on their cases: more than they received means some emits were lost.
    to_shoppers_on_case: int
    reconnects: int
    ack_p99_s: float
    # Conversations with turns still waiting when the figures were read (-1: Redis did not answer).
    turns_waiting: int = 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.silent)


async def on_case(redis: Redis, session_id: str | None) -> tuple[Counter[str], int]:
    """How often each client message id is on the session's case, and how many messages to the
    shopper (bot, agent, notices) it holds."""
    if session_id is None:
        return Counter(), 0
    store = ConversationStore(redis)
    conversation = await store.find_latest(Channel.WEB, session_id)
    if conversation is None:
        return Counter(), 0
    ids: Counter[str] = Counter()
    to_shopper = 0
    for event in await store.history(conversation.id, count=100_000):
        if event.kind is not EventKind.MESSAGE:
            continue
        if event.author is not Author.SHOPPER:
            to_shopper += 1
        elif "client_message_id" in event.data:
            ids[str(event.data["client_message_id"])] += 1
    return ids, to_shopper


async def tally(scenario: str, shoppers: Sequence[WebShopper], redis: Redis, *, turns_waiting: int = 0) -> WebFigures:
    sent = acked = stored = duplicated = lost = told = silent = resent = duplicate_acks = 0
    answers = notices = unanswered = recorded = 0
    ack_times: list[float] = []
    for shopper in shoppers:
        stored_copies, to_shopper = await on_case(redis, shopper.session_id)
        recorded += to_shopper
        for message in shopper.messages.values():
            copies = stored_copies.get(message.message_id, 0)
            sent += 1
            acked += message.acked
            stored += copies > 0
            duplicated += max(copies - 1, 0)
            lost += message.acked and copies == 0
            told += message.told
            silent += not message.told and not (message.acked and copies > 0)
            resent += message.attempts > 1
            duplicate_acks += message.duplicate_acks
            if message.acked_after_s is not None:
                ack_times.append(message.acked_after_s)
        authors = [str(reply.get("author")) for _, reply in shopper.replies]
        answers += sum(author in ("bot", "agent") for author in authors)
        notices += sum(author == "system" for author in authors)
        unanswered += not authors
    ack_times.sort()
    p99 = ack_times[min(len(ack_times) - 1, int(len(ack_times) * 0.99))] if ack_times else float("nan")
    return WebFigures(
        scenario=scenario, shoppers=len(shoppers), sent=sent, acknowledged=acked, stored=stored,
        duplicated=duplicated, lost=lost, told_not_sent=told, silent=silent, resent=resent,
        duplicate_acks=duplicate_acks, answers=answers, notices=notices, unanswered_shoppers=unanswered,
        to_shoppers_on_case=recorded,
        reconnects=sum(max(shopper.connects - 1, 0) for shopper in shoppers), ack_p99_s=p99,
        turns_waiting=turns_waiting,
    )


@dataclass(frozen=True, slots=True)
class ProviderFigures:
    """Messages to SMS/WhatsApp shoppers (agent and bot replies) against a failing provider."""

    scenario: str
    messages: int  # agent and bot messages to the shoppers, on the cases
    provider_calls: int
    received: int  # calls the provider took (answered with success, or held past the read timeout)
    duplicates: int  # one message taken by the provider more than once
    sent: int  # messages whose last recorded state is each of these
    failed: int
    unknown: int
    other_state: int  # queued, not_sent, …
    no_state: int  # no delivery state at all: nobody knows what happened (must be 0)
    agent_request_max_ms: float  # the slowest Agent API reply request (nobody waits for a provider)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.no_state)


WEB_HEAD = (f"{'scenario':<26} {'sent':>5} {'acked':>5} {'stored':>6} {'dup':>4} {'lost':>4} {'told':>4} "
            f"{'silent':>6} │ {'resent':>6} {'dup-ack':>7} {'ack p99':>7} │ {'answers':>7} {'notices':>7} "
            f"{'nothing':>7} {'on case':>7} {'reconn':>6} {'waiting':>7}")
PROVIDER_HEAD = (f"{'scenario':<26} {'msgs':>5} {'calls':>5} {'recvd':>5} {'dup':>4} │ {'sent':>5} {'failed':>6} "
                 f"{'unknown':>7} {'other':>5} {'none':>4} │ {'agent req max':>13}")


def web_table(results: Sequence[WebFigures]) -> str:
    rows = [WEB_HEAD, "─" * len(WEB_HEAD)]
    for f in results:
        rows.append(
            f"{f.scenario:<26} {f.sent:>5} {f.acknowledged:>5} {f.stored:>6} {f.duplicated:>4} {f.lost:>4} "
            f"{f.told_not_sent:>4} {f.silent:>6} │ {f.resent:>6} {f.duplicate_acks:>7} {f.ack_p99_s:>6.2f}s │ "
            f"{f.answers:>7} {f.notices:>7} {f.unanswered_shoppers:>7} {f.to_shoppers_on_case:>7} {f.reconnects:>6} "
            f"{f.turns_waiting:>7}")
    return "\n".join(rows)


def provider_table(results: Sequence[ProviderFigures]) -> str:
    rows = [PROVIDER_HEAD, "─" * len(PROVIDER_HEAD)]
    for f in results:
        rows.append(
            f"{f.scenario:<26} {f.messages:>5} {f.provider_calls:>5} {f.received:>5} {f.duplicates:>4} │ "
            f"{f.sent:>5} {f.failed:>6} {f.unknown:>7} {f.other_state:>5} {f.no_state:>4} │ "
            f"{f.agent_request_max_ms:>11.0f}ms")
    return "\n".join(rows)
