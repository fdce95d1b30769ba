"""The conversation state machine: the only code that changes a conversation's state.

Every transition is checked against `ALLOWED`, written atomically (optimistic
locking with WATCH, so two gateway processes racing for one conversation cannot
both win), recorded as a state event in the conversation's history and published
on the events channel. The indexes that follow from the state are kept in the same
transaction: the team queues and each agent's set of open chats.
"""

from __future__ import annotations

from dataclasses import replace

from redis.asyncio import Redis
from redis.exceptions import WatchError

from core.types import Clock, Conversation, ConversationState, EventKind
from gateway import keys
from gateway.conversations.store import (
    UnknownConversation,
    append_event,
    conversation_from_hash,
    conversation_to_hash,
    event_fields,
)

S = ConversationState

ALLOWED: dict[ConversationState, frozenset[ConversationState]] = {
    S.BOT: frozenset({S.QUEUED, S.RESOLVED}),
    # queued → queued is a re-route to another team; → bot (from either human state) is a
    # hand-back: the assistant answers again (gateway/desk/desk.py `hand_back`).
    S.QUEUED: frozenset({S.QUEUED, S.ASSIGNED, S.RESOLVED, S.BOT}),
    # assigned → assigned is a transfer to another agent, → queued to another team.
    S.ASSIGNED: frozenset({S.ASSIGNED, S.QUEUED, S.RESOLVED, S.BOT}),
    # The shopper's next message after a resolve starts a fresh bot turn.
    S.RESOLVED: frozenset({S.BOT}),
}


class InvalidTransition(Exception):
    def __init__(self, conversation_id: str, current: ConversationState, wanted: ConversationState) -> None:
        super().__init__(f"conversation {conversation_id}: {current.value} → {wanted.value} is not allowed")
        self.current = current
        self.wanted = wanted


class AgentAtCapacity(Exception):
    """Auto-assignment found the agent's chats full (another assignment won the last slot)."""

    def __init__(self, agent: str, capacity: int) -> None:
        super().__init__(f"agent {agent} already has {capacity} open chats")
        self.agent = agent


class StateChanged(Exception):
    """The conversation was no longer in the state the caller expected (someone else won)."""

    def __init__(self, conversation_id: str, expected: ConversationState, actual: ConversationState) -> None:
        super().__init__(f"conversation {conversation_id} is {actual.value}, expected {expected.value}")
        self.expected = expected
        self.actual = actual


async def transition(
    redis: Redis,
    conversation_id: str,
    to: ConversationState,
    *,
    clock: Clock,
    reason: str,
    expect: ConversationState | None = None,
    team: str | None = None,
    agent: str | None = None,
    capacity: int | None = None,
) -> Conversation:
    """Move a conversation to `to`; returns the conversation as written.

    `expect` makes the transition conditional on the current state, e.g. a claim
    only succeeds on a conversation that is still queued. `capacity` (for
    auto-assignment) makes an assignment conditional on the agent having fewer
    open chats than that; a manual claim passes none.
    """
    key = keys.conversation(conversation_id)
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                watched = [key]
                if to is S.ASSIGNED and agent is not None and capacity is not None:
                    watched.append(keys.agent_chats(agent))
                await pipe.watch(*watched)
                raw = await pipe.hgetall(key)
                if not raw:
                    raise UnknownConversation(conversation_id)
                current = conversation_from_hash(raw)
                if expect is not None and current.state != expect:
                    raise StateChanged(conversation_id, expect, current.state)
                if to not in ALLOWED[current.state]:
                    raise InvalidTransition(conversation_id, current.state, to)
                if len(watched) > 1 and agent is not None and capacity is not None:
                    if await pipe.zcard(keys.agent_chats(agent)) >= capacity:
                        raise AgentAtCapacity(agent, capacity)
                now = clock()
                human = to in (S.QUEUED, S.ASSIGNED)
                updated = replace(
                    current,
                    state=to,
                    updated_at=now,
                    state_since=now,
                    team=team if human else None,
                    agent=agent if to is S.ASSIGNED else None,
                    # Assigned keeps why it was queued; a transfer may give a new reason.
                    reason=(reason if to is S.QUEUED or current.state is S.BOT else current.reason) if human else None,
                )
                data = {"from": current.state.value, "to": to.value, "reason": reason}
                if updated.team:
                    data["team"] = updated.team
                if updated.agent:
                    data["agent"] = updated.agent
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.hset(key, mapping=conversation_to_hash(updated))
                pipe.zrem(keys.conversations_by_state(current.state.value), conversation_id)
                pipe.zadd(keys.conversations_by_state(to.value), {conversation_id: now})
                if current.state is S.QUEUED and current.team:
                    pipe.zrem(keys.team_queue(current.team), conversation_id)
                if current.state is S.ASSIGNED and current.agent:
                    pipe.zrem(keys.agent_chats(current.agent), conversation_id)
                if to is S.QUEUED and updated.team:
                    pipe.zadd(keys.team_queue(updated.team), {conversation_id: now})
                if to is S.ASSIGNED and updated.agent:
                    pipe.zadd(keys.agent_chats(updated.agent), {conversation_id: now})
                append_event(pipe, conversation_id, event_fields(EventKind.STATE, now, data=data))
                await pipe.execute()
                return updated
            except WatchError:
                continue  # someone else wrote the conversation: re-read and re-check
