"""One conversation's turns, one at a time and in order, across processes (gateway/conversations/turns.py).

Two `TurnQueue`s on the same Redis stand for two gateway processes."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import pytest
from redis.asyncio import Redis

from core.types import Channel
from gateway import keys
from gateway.conversations.store import ConversationStore
from gateway.conversations.turns import Turn, TurnQueue


class Answers:
    """Answers turns slowly, and notes what ran, in which order, and how many at once."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds
        self.order: dict[str, list[str]] = defaultdict(list)
        self.running: dict[str, int] = defaultdict(int)
        self.most_at_once: dict[str, int] = defaultdict(int)
        self.by: dict[str, list[str]] = defaultdict(list)

    def of(self, name: str):  # type: ignore[no-untyped-def]
        async def answer(conversation_id: str, turn: Turn) -> None:
            self.running[conversation_id] += 1
            self.most_at_once[conversation_id] = max(self.most_at_once[conversation_id],
                                                     self.running[conversation_id])
            try:
                await asyncio.sleep(self.seconds)
                self.order[conversation_id].append(turn.text)
                self.by[conversation_id].append(name)
            finally:
                self.running[conversation_id] -= 1
        return answer


def queues(redis: Redis, answers: Answers, **options: float) -> tuple[TurnQueue, TurnQueue]:
    first = TurnQueue(redis, time.time, **options)  # type: ignore[arg-type]
    second = TurnQueue(redis, time.time, **options)  # type: ignore[arg-type]
    first.answer_with(answers.of("first"))
    second.answer_with(answers.of("second"))
    return first, second


async def store_message(store: ConversationStore, queue: TurnQueue, conversation_id: str, text: str,
                        message_id: str | None = None) -> bool:
    stored = await store.append_shopper_message(
        conversation_id, text, {}, message_id=message_id,
        also=lambda pipe: queue.push(pipe, conversation_id, Turn(text=text, read=text)))
    return stored.duplicate


async def test_a_conversations_turns_run_one_at_a_time_in_order_whichever_process_took_them(redis: Redis) -> None:
    store = ConversationStore(redis)
    answers = Answers()
    first, second = queues(redis, answers)
    conversations = [(await store.open(Channel.WEB, f"session-{n:02d}-abcdefghijklmnop", "de")).id for n in range(3)]

    runs = []
    for number in range(8):
        for conversation_id in conversations:
            queue = first if number % 2 == 0 else second  # messages land on both processes
            await store_message(store, queue, conversation_id, f"message {number}")
            runs.append(asyncio.create_task(queue.run(conversation_id)))
    started = time.monotonic()
    await asyncio.gather(*runs)
    elapsed = time.monotonic() - started

    for conversation_id in conversations:
        assert answers.order[conversation_id] == [f"message {n}" for n in range(8)]
        assert answers.most_at_once[conversation_id] == 1
        assert await redis.llen(keys.turn_queue(conversation_id)) == 0
        assert not await redis.exists(keys.turn_lease(conversation_id))
    assert await redis.zcard(keys.TURNS_WAITING) == 0
    # The three conversations ran side by side: 8 turns of 50 ms each, not 24.
    assert elapsed < 8 * 0.05 * 2.5


async def test_a_message_stored_twice_under_one_id_is_one_message_and_one_turn(redis: Redis) -> None:
    store = ConversationStore(redis)
    answers = Answers(seconds=0)
    first, second = queues(redis, answers)
    conversation_id = (await store.open(Channel.WEB, "session-dup-abcdefghijklmnop", "de")).id

    results = await asyncio.gather(*(store_message(store, queue, conversation_id, "Wo ist mein Paket?", "client-0001")
                                     for queue in (first, second, first, second)))
    await first.run(conversation_id)

    assert sorted(results) == [False, True, True, True]
    history = await store.history(conversation_id)
    assert [event.text for event in history if event.text] == ["Wo ist mein Paket?"]
    assert answers.order[conversation_id] == ["Wo ist mein Paket?"]
    assert await redis.hget(keys.conversation_client_messages(conversation_id), "client-0001") == history[-1].id


async def test_a_queue_left_by_a_process_that_died_is_taken_over_once_its_lease_expires(redis: Redis) -> None:
    store = ConversationStore(redis)
    answers = Answers(seconds=0)
    _, survivor = queues(redis, answers, lease_ms=300, stale_seconds=0.1)
    conversation_id = (await store.open(Channel.WEB, "session-dead-abcdefghijklmnop", "de")).id
    # The dead process had taken the lease and stored two messages, then stopped (kill -9: no give-back).
    await redis.set(keys.turn_lease(conversation_id), "a-dead-process", px=300)
    await store_message(store, survivor, conversation_id, "eins")
    await store_message(store, survivor, conversation_id, "zwei")

    await survivor.run(conversation_id)  # the lease is held: the new message waits for its holder
    assert answers.order[conversation_id] == []
    await asyncio.sleep(0.15)
    assert await survivor.sweep() == 0  # stale, but the lease has not expired yet
    await asyncio.sleep(0.3)
    assert await survivor.sweep() == 1
    async with asyncio.timeout(5):
        while await redis.llen(keys.turn_queue(conversation_id)):
            await asyncio.sleep(0.02)
    await survivor.stop()

    assert answers.order[conversation_id] == ["eins", "zwei"]


async def test_a_turn_cut_off_by_a_stopping_process_is_answered_by_the_next_holder(redis: Redis) -> None:
    store = ConversationStore(redis)
    answers = Answers(seconds=5)
    stopping, other = queues(redis, answers)
    conversation_id = (await store.open(Channel.WEB, "session-stop-abcdefghijklmnop", "de")).id
    await store_message(store, stopping, conversation_id, "Hallo")
    stopping.kick(conversation_id)
    await asyncio.sleep(0.1)
    await stopping.stop()  # mid-turn: the lease is given back, the turn stays queued

    assert not await redis.exists(keys.turn_lease(conversation_id))
    answers.seconds = 0
    await other.run(conversation_id)
    assert answers.by[conversation_id] == ["second"]
    assert answers.order[conversation_id] == ["Hallo"]


async def test_a_failing_turn_is_logged_and_skipped_not_retried_for_ever(
    redis: Redis, caplog: pytest.LogCaptureFixture,
) -> None:
    store = ConversationStore(redis)
    queue = TurnQueue(redis, time.time)
    seen: list[str] = []

    async def answer(conversation_id: str, turn: Turn) -> None:
        seen.append(turn.text)
        if turn.text == "kaputt":
            raise ValueError("a bug")

    queue.answer_with(answer)
    conversation_id = (await store.open(Channel.WEB, "session-bug-abcdefghijklmnop", "de")).id
    for text in ("kaputt", "danach"):
        await store_message(store, queue, conversation_id, text)
    await queue.run(conversation_id)

    assert seen == ["kaputt", "danach"]
    assert "answering a turn failed" in caplog.text
    assert await redis.llen(keys.turn_queue(conversation_id)) == 0
