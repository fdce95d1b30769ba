"""The inbox keeps only what is not answered yet: finished deliveries are trimmed, one a
stopped process had read (and never finished) stays until another process takes it over."""

from __future__ import annotations

import asyncio
import contextlib
import time

from redis.asyncio import Redis

from channels.base import Inbound, Received
from core.types import Channel
from gateway import keys
from gateway.messaging import inbox
from gateway.messaging.inbox import InboxWorker


def _sms(n: int) -> Inbound:
    return Inbound(Channel.SMS, f"SM{n:032x}", f"+49170{n:07d}", "hallo", time.time())


async def test_finished_deliveries_are_trimmed_and_an_unfinished_one_is_kept(redis: Redis) -> None:
    stream = keys.inbox("sms")
    await redis.xgroup_create(stream, keys.INBOX_GROUP, id="0", mkstream=True)
    await inbox.accept(redis, [_sms(0)])
    # Read by a process that died before it answered: pending, not finished.
    await redis.xreadgroup(keys.INBOX_GROUP, "gateway-dead", {stream: ">"}, count=1)
    await inbox.accept(redis, [_sms(n) for n in range(1, 300)])
    handled: list[Received] = []

    async def handle(item: Received) -> None:
        handled.append(item)

    worker = InboxWorker(redis, [Channel.SMS], handle, claim_idle_ms=3_600_000)
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(10):
            while len(handled) < 299:
                await asyncio.sleep(0.05)
        await worker._trim_finished()
        # Nothing at or after the unfinished delivery is cut.
        [(first_id, fields)] = await redis.xrange(stream, count=1)
        assert inbox.decode(fields["item"]).provider_id == _sms(0).provider_id
        assert await redis.xlen(stream) == 300
        # Once it is finished, everything but the last delivery read goes.
        await redis.xack(stream, keys.INBOX_GROUP, first_id)
        await inbox.accept(redis, [_sms(300)])
        async with asyncio.timeout(10):
            while await redis.xlen(stream) > 1:
                await asyncio.sleep(0.05)
        [(_, fields)] = await redis.xrange(stream)
        assert inbox.decode(fields["item"]).provider_id == _sms(300).provider_id
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
