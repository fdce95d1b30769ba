"""Every state change goes through the state machine, atomically, with an event."""

from __future__ import annotations

import asyncio
import json

import pytest
from redis.asyncio import Redis

from core.types import Channel, Conversation, ConversationState, EventKind
from gateway import keys
from gateway.conversations import state_machine
from gateway.conversations.state_machine import ALLOWED, InvalidTransition, StateChanged, transition
from gateway.conversations.store import ConversationStore, UnknownConversation

S = ConversationState


def clock() -> float:
    return 1_700_000_000.0


async def _conversation_in(redis: Redis, state: ConversationState) -> Conversation:
    store = ConversationStore(redis)
    conversation = await store.open(Channel.WEB, "x" * 32, "de")
    path = {
        S.BOT: [],
        S.QUEUED: [S.QUEUED],
        S.ASSIGNED: [S.QUEUED, S.ASSIGNED],
        S.RESOLVED: [S.RESOLVED],
    }[state]
    for step in path:
        conversation = await transition(
            redis, conversation.id, step, clock=clock, reason="setup", team="logistics",
            agent="agent-1" if step is S.ASSIGNED else None,
        )
    return conversation


@pytest.mark.parametrize("start", list(S))
@pytest.mark.parametrize("target", list(S))
async def test_transitions_follow_the_table(redis: Redis, start: ConversationState, target: ConversationState) -> None:
    conversation = await _conversation_in(redis, start)
    if target in ALLOWED[start]:
        updated = await transition(redis, conversation.id, target, clock=clock, reason="test",
                                   team="billing", agent="agent-2")
        assert updated.state is target
        assert (await ConversationStore(redis).get(conversation.id)).state is target
    else:
        with pytest.raises(InvalidTransition):
            await transition(redis, conversation.id, target, clock=clock, reason="test")
        assert (await ConversationStore(redis).get(conversation.id)).state is start


async def test_a_transition_is_recorded_and_published(redis: Redis) -> None:
    conversation = await _conversation_in(redis, S.BOT)
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.EVENTS_CHANNEL)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation

    queued = await transition(redis, conversation.id, S.QUEUED, clock=clock, reason="asked_for_human", team="billing")

    assert queued.team == "billing" and queued.agent is None
    last = (await ConversationStore(redis).history(conversation.id))[-1]
    assert last.kind is EventKind.STATE
    assert last.data == {"from": "bot", "to": "queued", "reason": "asked_for_human", "team": "billing"}
    message = await pubsub.get_message(timeout=2, ignore_subscribe_messages=True)
    assert message is not None
    assert json.loads(message["data"])["conversation_id"] == conversation.id
    assert await redis.zscore(keys.conversations_by_state("queued"), conversation.id) is not None
    assert await redis.zscore(keys.conversations_by_state("bot"), conversation.id) is None
    await pubsub.aclose()


async def test_two_agents_claiming_at_once_exactly_one_wins(redis_url: str, redis: Redis) -> None:
    conversation = await _conversation_in(redis, S.QUEUED)
    clients = [Redis.from_url(redis_url, decode_responses=True) for _ in range(2)]

    async def claim(client: Redis, agent: str) -> str:
        try:
            await transition(client, conversation.id, S.ASSIGNED, clock=clock, reason="claimed",
                             expect=S.QUEUED, team="logistics", agent=agent)
            return agent
        except StateChanged:
            return "lost"

    try:
        results = await asyncio.gather(claim(clients[0], "anna"), claim(clients[1], "ben"))
    finally:
        for client in clients:
            await client.aclose()
    winners = [r for r in results if r != "lost"]
    assert len(winners) == 1
    stored = await ConversationStore(redis).get(conversation.id)
    assert stored.agent == winners[0]
    assigned_events = [e for e in await ConversationStore(redis).history(conversation.id)
                       if e.kind is EventKind.STATE and e.data["to"] == "assigned"]
    assert len(assigned_events) == 1


async def test_an_unknown_conversation_is_an_error(redis: Redis) -> None:
    with pytest.raises(UnknownConversation):
        await state_machine.transition(redis, "nope", S.QUEUED, clock=clock, reason="test")
