"""The durable outbound queue (gateway/messaging/outbound.py) against a provider stand-in on a
real port and a real Redis: nobody waits for the provider, a retry never sends a message
twice, a message whose call may have reached the provider is `unknown` and not sent again,
what a dead process left is finished by another, and one conversation's messages go in order.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from channels.base import ProviderRequest
from core.types import Author, Channel, ConversationState, EventKind, OutgoingMessage, Team
from gateway import keys
from gateway.conversations.outbox import Outbox
from gateway.conversations.store import ConversationStore
from gateway.messaging.channel_settings import ChannelSettings
from gateway.messaging.delivery import Accepted, ChannelDelivery, ProviderClient, Refused, RetryLater, Uncertain
from gateway.messaging.outbound import Outbound
from tests.channels.drivers import channel_env
from tests.channels.provider_standin import ProviderStandIn
from tests.gateway.agent_support import Console, add_agent
from tests.gateway.messaging.support import (
    PUBLIC_URL,
    SMS,
    eventually,
    events_of,
    next_request,
    nothing_sent,
    post,
    scripted_reply,
)
from tests.gateway.rasa_standin import ScriptedRasa
from tests.support import free_port

MakeGateway = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
AiohttpServer = Callable[[web.Application], Awaitable[TestServer]]
SHOPPER = "+4917012340001"
HANDOFF = scripted_reply("Ich verbinde Sie mit einem Kollegen.", handoff={"team": "general", "reason": "shopper_asked"})


@pytest.fixture
def rasa() -> ScriptedRasa:
    return ScriptedRasa(HANDOFF)


# --- one provider call, classified ------------------------------------------------------


async def _answering(aiohttp_server: AiohttpServer, status: int, *, hang: float = 0.0,
                     retry_after: str | None = None) -> str:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        if hang:
            await asyncio.sleep(hang)
        headers = {"Retry-After": retry_after} if retry_after else {}
        return web.json_response({"error": {"message": f"status {status}"}}, status=status, headers=headers)

    app = web.Application()
    app.router.add_post("/send", handle)
    server = await aiohttp_server(app)
    return str(server.make_url("/send"))


@pytest.mark.parametrize(("status", "retry_after", "expected"), [
    (201, None, Accepted),
    (429, "7", RetryLater),
    (503, None, RetryLater),
    (500, None, Refused),  # no idempotency key: a retry could be a second SMS
    (400, None, Refused),
])
async def test_a_provider_answer_is_classified_so_only_what_cannot_duplicate_is_retried(
        aiohttp_server: AiohttpServer, status: int, retry_after: str | None, expected: type) -> None:
    url = await _answering(aiohttp_server, status, retry_after=retry_after)
    async with aiohttp.ClientSession() as http:
        outcome = await ProviderClient(http).call(ProviderRequest("POST", url, {}, b"Body=hallo"))
    assert isinstance(outcome, expected)
    if status == 429:
        assert isinstance(outcome, RetryLater) and outcome.after == 7.0  # the provider's Retry-After
    if isinstance(outcome, Refused):
        assert f"HTTP {status}" in outcome.reason  # the provider's reason, for the case


async def test_a_refused_connection_is_retried_and_a_read_timeout_is_uncertain(aiohttp_server: AiohttpServer) -> None:
    slow = await _answering(aiohttp_server, 201, hang=2.0)
    async with aiohttp.ClientSession() as http:
        client = ProviderClient(http, read_timeout=0.3)
        refused = await client.call(ProviderRequest("POST", f"http://127.0.0.1:{free_port()}/send", {}, b""))
        timed_out = await client.call(ProviderRequest("POST", slow, {}, b""))
    assert isinstance(refused, RetryLater)  # nothing reached the provider
    assert isinstance(timed_out, Uncertain) and "may or may not" in timed_out.reason


# --- through the gateway -----------------------------------------------------------------


async def _queued_with_agent(gateway: TestClient, standin: ProviderStandIn, redis: Redis) -> tuple[str, Console]:  # type: ignore[type-arg]
    """An SMS shopper handed to the general team, and Anna, who has claimed them."""
    assert await post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER, "Ich möchte mit jemandem sprechen")) == 200
    await next_request(standin)  # the bot's words
    await next_request(standin)  # the queue notice
    conversation = await ConversationStore(redis).find_latest(Channel.SMS, SHOPPER)
    assert conversation is not None and conversation.state is ConversationState.QUEUED
    await add_agent(redis, "anna@nordlicht-home.example", Team.GENERAL, name="Anna")
    console = await Console(str(gateway.make_url("")).rstrip("/"), "anna@nordlicht-home.example").login()
    status, _ = await console.call("POST", f"/conversations/{conversation.id}/claim")
    assert status == 200
    assert "Anna" in SMS.text_of(await next_request(standin))  # "Anna is looking after you"
    return conversation.id, console


async def _states_of(redis: Redis, message_id: str) -> list[str]:  # type: ignore[type-arg]
    return [e.data["status"] for e in await events_of(redis, Channel.SMS, SHOPPER, EventKind.DELIVERY)
            if e.data.get("message_id") == message_id]


async def test_an_agents_reply_is_answered_at_once_and_a_provider_timeout_is_unknown_never_a_second_sms(
        make_gateway: MakeGateway, standin: ProviderStandIn, redis: Redis) -> None:  # type: ignore[type-arg]
    gateway = await make_gateway(provider_read_timeout=1.0)
    conversation_id, console = await _queued_with_agent(gateway, standin, redis)
    try:
        standin.drain()
        standin.hang_next(1, 4.0)  # the provider takes it and answers long after the read timeout
        started = time.perf_counter()
        status, body = await console.call("POST", f"/conversations/{conversation_id}/messages",
                                          {"text": "Ich schaue mir das an."})
        waited = time.perf_counter() - started
    finally:
        await console.close()
    assert status == 201 and body["delivery"]["state"] == "queued"
    assert waited < 1.0  # the request did not wait for the provider (it holds the call 4 s)
    assert SMS.text_of(await next_request(standin)) == "Ich schaue mir das an."
    await eventually(lambda: _states_of_are(redis, body["id"], ["unknown"]), timeout=5)
    unknown = [e for e in await events_of(redis, Channel.SMS, SHOPPER, EventKind.DELIVERY)
               if e.data.get("message_id") == body["id"]][0]
    assert "may or may not" in (unknown.text or "")
    await nothing_sent(standin, 2.0)  # never sent again by itself


async def _states_of_are(redis: Redis, message_id: str, expected: list[str]) -> bool:  # type: ignore[type-arg]
    return await _states_of(redis, message_id) == expected


async def test_429_waits_for_its_retry_after_and_the_next_reply_does_not_overtake_it(
        gateway: TestClient, standin: ProviderStandIn, redis: Redis) -> None:  # type: ignore[type-arg]
    conversation_id, console = await _queued_with_agent(gateway, standin, redis)
    try:
        standin.drain()
        standin.fail_next(1, 429, retry_after="2")
        first = await console.call("POST", f"/conversations/{conversation_id}/messages", {"text": "Erstens."})
        second = await console.call("POST", f"/conversations/{conversation_id}/messages", {"text": "Zweitens."})
    finally:
        await console.close()
    assert first[0] == second[0] == 201
    refused = await next_request(standin)
    retried = await next_request(standin)
    then = await next_request(standin)
    assert [SMS.text_of(r) for r in (refused, retried, then)] == ["Erstens.", "Erstens.", "Zweitens."]
    assert retried.at - refused.at >= 1.9  # Retry-After: 2 honoured
    for message in (first[1], second[1]):
        await eventually(lambda message=message: _states_of_are(redis, message["id"], ["sent"]))
    await nothing_sent(standin)


async def test_a_reply_waiting_out_a_429_is_not_sent_after_the_shopper_sent_stop(
        gateway: TestClient, standin: ProviderStandIn, redis: Redis) -> None:  # type: ignore[type-arg]
    conversation_id, console = await _queued_with_agent(gateway, standin, redis)
    try:
        standin.drain()
        standin.fail_next(1, 429, retry_after="2")
        status, body = await console.call("POST", f"/conversations/{conversation_id}/messages", {"text": "Noch da?"})
    finally:
        await console.close()
    assert status == 201
    assert SMS.text_of(await next_request(standin)) == "Noch da?"  # answered 429
    assert await post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER, "STOP")) == 200
    # After the Retry-After: the reply is not sent, the STOP's confirmation is (and nothing else).
    confirmation = SMS.text_of(await next_request(standin))
    assert "abgemeldet" in confirmation and "START" in confirmation
    await eventually(lambda: _states_of_are(redis, body["id"], ["not_sent"]))
    await nothing_sent(standin)


async def test_a_provider_whose_port_is_closed_gets_the_message_once_it_is_back(
        gateway: TestClient, standin: ProviderStandIn, redis: Redis) -> None:  # type: ignore[type-arg]
    conversation_id, console = await _queued_with_agent(gateway, standin, redis)
    try:
        standin.drain()
        standin.refuse_for(1.5)
        status, body = await console.call("POST", f"/conversations/{conversation_id}/messages", {"text": "Hallo?"})
    finally:
        await console.close()
    assert status == 201
    assert SMS.text_of(await next_request(standin)) == "Hallo?"
    await eventually(lambda: _states_of_are(redis, body["id"], ["sent"]))
    await nothing_sent(standin)


# --- a process that died with messages on its queue ------------------------------------


@dataclass
class Side:
    store: ConversationStore
    outbox: Outbox
    outbound: Outbound


@pytest.fixture
async def queueing(redis: Redis, standin: ProviderStandIn) -> AsyncIterator[Callable[..., Side]]:  # type: ignore[type-arg]
    """Outbound queues on the test's Redis, sending (or only queueing) to the stand-in."""
    adapters = ChannelSettings.from_env(channel_env(PUBLIC_URL, standin.url), PUBLIC_URL).adapters()
    async with aiohttp.ClientSession() as http:
        made: list[Outbound] = []

        def side(*, sends: bool, lease_ms: int = 6_000, stop_grace_seconds: float = 5.0, read_timeout: float = 1.0) -> Side:
            store = ConversationStore(redis)
            deliveries = {channel: ChannelDelivery(adapter, ProviderClient(http, read_timeout=read_timeout), store)
                          for channel, adapter in adapters.items()}
            outbound = Outbound(store, deliveries, sends=sends, lease_ms=lease_ms, heartbeat_seconds=lease_ms / 3000,
                                stale_seconds=0.1, stop_grace_seconds=stop_grace_seconds)
            outbox = Outbox(store)
            outbox.register_channel(Channel.SMS, outbound.channel(Channel.SMS))
            made.append(outbound)
            return Side(store, outbox, outbound)

        yield side
        for outbound in made:
            await outbound.stop()


async def _left_by_a_dead_process(side: Side, redis: Redis, *, mid_call: bool) -> tuple[str, str]:  # type: ignore[type-arg]
    """A reply queued by a process that then died holding the queue (mid-call: after marking
    the message as being sent). The conversation's and the message's ids."""
    conversation = await side.store.open(Channel.SMS, SHOPPER, "de")
    event = await side.outbox.record(conversation, OutgoingMessage("Ihr Paket ist unterwegs.", Author.AGENT,
                                                                   agent_name="Anna"))
    entry = json.loads(str(await redis.lindex(keys.outbound_queue(conversation.id), 0)))
    assert entry["event_id"] == event.id
    await redis.set(keys.outbound_lease(conversation.id), "the-dead-process", px=400)
    if mid_call:
        await redis.set(keys.outbound_sending(conversation.id), f"{entry['id']}:0")
    return conversation.id, event.id


async def _sweep_until(side: Side, redis: Redis, message_id: str, state: str) -> None:  # type: ignore[type-arg]
    async def recorded() -> bool:
        await side.outbound.sweep()
        return state in await _states_of(redis, message_id)
    await eventually(recorded, timeout=5)


async def test_what_a_process_left_before_its_call_is_sent_by_another_once_its_lease_runs_out(
        queueing: Callable[..., Side], standin: ProviderStandIn, redis: Redis) -> None:  # type: ignore[type-arg]
    _, message_id = await _left_by_a_dead_process(queueing(sends=False), redis, mid_call=False)
    other = queueing(sends=True)
    assert await other.outbound.sweep() == 0  # the dead holder's lease still runs
    await _sweep_until(other, redis, message_id, "sent")
    assert SMS.text_of(await next_request(standin)) == "Ihr Paket ist unterwegs."
    await nothing_sent(standin)


async def test_a_message_whose_sender_died_mid_call_is_unknown_and_not_sent_again(
        queueing: Callable[..., Side], standin: ProviderStandIn, redis: Redis) -> None:  # type: ignore[type-arg]
    conversation_id, message_id = await _left_by_a_dead_process(queueing(sends=False), redis, mid_call=True)
    other = queueing(sends=True)
    await _sweep_until(other, redis, message_id, "unknown")
    await nothing_sent(standin)  # the provider may have it: no second SMS
    assert await _states_of(redis, message_id) == ["unknown"]
    assert not await redis.exists(keys.outbound_queue(conversation_id), keys.outbound_sending(conversation_id))


@pytest.mark.parametrize(("provider_takes_s", "cut_state"), [
    (0.5, "sent"),  # within the stopping process's grace: the call finishes
    (4.0, "unknown"),  # past it: cut short (the provider may have it), recorded by the next holder
])
async def test_a_stopping_process_finishes_the_call_under_way_and_hands_its_queue_over_at_once(
        queueing: Callable[..., Side], standin: ProviderStandIn, redis: Redis,  # type: ignore[type-arg]
        provider_takes_s: float, cut_state: str) -> None:
    first = queueing(sends=True, lease_ms=60_000, stop_grace_seconds=1.5, read_timeout=10.0)
    standin.hang_next(1, provider_takes_s)
    conversation = await first.store.open(Channel.SMS, SHOPPER, "de")
    under_way = await first.outbox.record(conversation, OutgoingMessage("Eins.", Author.AGENT, agent_name="Anna"))
    await next_request(standin)  # the call is out
    following = await first.outbox.record(conversation, OutgoingMessage("Zwei.", Author.AGENT, agent_name="Anna"))
    await first.outbound.stop()  # a graceful stop mid-call: the lease is given back, not waited for
    assert not await redis.exists(keys.outbound_lease(conversation.id))

    other = queueing(sends=True)
    await _sweep_until(other, redis, following.id, "sent")
    assert SMS.text_of(await next_request(standin)) == "Zwei."
    await nothing_sent(standin)
    assert await _states_of(redis, under_way.id) == [cut_state]


async def test_an_entry_that_cannot_be_read_back_is_failed_on_its_case_and_the_queue_goes_on(
        queueing: Callable[..., Side], standin: ProviderStandIn, redis: Redis) -> None:  # type: ignore[type-arg]
    side = queueing(sends=False)
    conversation = await side.store.open(Channel.SMS, SHOPPER, "de")
    broken = await side.outbox.record(conversation, OutgoingMessage("Eins.", Author.AGENT, agent_name="Anna"))
    following = await side.outbox.record(conversation, OutgoingMessage("Zwei.", Author.AGENT, agent_name="Anna"))
    queue = keys.outbound_queue(conversation.id)
    entry = json.loads(str(await redis.lindex(queue, 0)))
    await redis.lset(queue, 0, json.dumps({"event_id": entry["event_id"], "channel": "sms", "message": None}))

    await _sweep_until(queueing(sends=True), redis, following.id, "sent")
    assert await _states_of(redis, broken.id) == ["failed"]
    assert SMS.text_of(await next_request(standin)) == "Zwei."
    await nothing_sent(standin)
