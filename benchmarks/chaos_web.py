"""A burst of web chat messages with a fault injected part-way, and its figures.

Each shopper (half on each gateway) sends its messages at a steady pace without waiting for
acknowledgements (a shopper who types fast, or a widget resending after a reconnect); once
`fault_at` of the burst has left the shoppers, the fault runs (in a thread: killing or
restarting a process blocks; an async one runs in the loop). Then every message is followed
until it is acknowledged or its shopper gives up on it, and until no turn waits in Redis any
more (every stored message has had its turn: answered, or left for a person), and the cases
in Redis are read.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from benchmarks.chaos_shoppers import DEADLINE, WebShopper
from benchmarks.chaos_tally import WebFigures, tally
from benchmarks.messages import conversation, locale_of
from gateway import keys

# A blocking one (killing or restarting a process) runs in a thread while the shoppers go on.
Fault = Callable[[], None] | Callable[[], Awaitable[None]]
# After the last turn: for its answer to reach the shopper (through the Socket.IO Redis channel).
EMIT_GRACE_S = 0.5


@dataclass(frozen=True, slots=True)
class Burst:
    shoppers: int = 10
    messages: int = 20  # each
    interval_s: float = 0.1  # between one shopper's messages
    fault_at: float = 0.4  # the share of the burst sent when the fault starts
    deadline_s: float = DEADLINE  # a shopper gives up on a message after this
    # After every message is settled: how long to wait for the last turns to be answered (a turn
    # a killed gateway held waits for its lease to expire: gateway/conversations/turns.py).
    answers_s: float = 30.0
    seed: int = 13


async def run_burst(scenario: str, urls: Sequence[str], redis: Redis, burst: Burst, fault: Fault | None,
                    *, progress: Callable[[str], None] = lambda _: None) -> WebFigures:
    shoppers = [WebShopper(urls, first=n % len(urls), locale=locale_of(n), deadline=burst.deadline_s)
                for n in range(burst.shoppers)]
    await asyncio.gather(*(shopper.start() for shopper in shoppers))
    try:
        total = burst.shoppers * burst.messages
        sent = 0
        fault_started = asyncio.Event()
        rng = random.Random(burst.seed)

        async def type_away(shopper: WebShopper) -> None:
            nonlocal sent
            for line in conversation(rng, shopper.locale, burst.messages):
                shopper.send(line.text)
                sent += 1
                if sent >= burst.fault_at * total:
                    fault_started.set()
                await asyncio.sleep(burst.interval_s)

        async def inject() -> None:
            await fault_started.wait()
            if fault is not None:
                progress(f"  {scenario}: fault at message {sent} of {total}")
                started = time.perf_counter()
                if inspect.iscoroutinefunction(fault):
                    await fault()
                else:
                    await asyncio.to_thread(fault)
                progress(f"  {scenario}: fault over after {time.perf_counter() - started:.1f}s")

        injector = asyncio.create_task(inject())
        await asyncio.gather(*(type_away(shopper) for shopper in shoppers))
        fault_started.set()
        await injector
        await asyncio.gather(*(shopper.settled() for shopper in shoppers))
        waiting = await _turns_done(redis, burst.answers_s)
        return await tally(scenario, shoppers, redis, turns_waiting=waiting)
    finally:
        await asyncio.gather(*(shopper.close() for shopper in shoppers), return_exceptions=True)


async def _turns_done(redis: Redis, within: float) -> int:
    """Until no conversation has a turn waiting, or `within` is over; how many still have one.

    A message is on its turn queue from the moment it is stored (one transaction), so once
    every message is acknowledged an empty queue means every one has had its turn."""
    deadline = time.perf_counter() + within
    while True:
        try:
            waiting = int(await redis.zcard(keys.TURNS_WAITING))
        except RedisError:
            waiting = -1  # Redis not back yet
        if waiting == 0 or time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(EMIT_GRACE_S)
    return waiting
