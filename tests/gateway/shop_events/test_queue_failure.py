"""A failed shop webhook's note on the case survives the death of the process that failed it:
the next process to claim the event writes it. Real Redis, a receiver nobody listens at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import aiohttp
import pytest
from redis.asyncio import Redis

from gateway.shop_events import keys
from gateway.shop_events.events import ShopEvent, ShopEventType
from gateway.shop_events.queue import LEASE_SECONDS, Failed, ShopEventQueue, WebhookConfig
from tests.gateway.shop_events.support import SECRET
from tests.support import free_port

EVENT_ID = "evt_req7Qk2v_approve"


@dataclass
class _Request:
    id: str


@dataclass
class _Event:
    """What `stage` reads of a ShopEvent (its body is sent as it serialises)."""

    id: str
    conversation_id: str
    request: _Request
    type: object

    def model_dump_json(self) -> str:
        return '{"id": "%s", "type": "request.approved"}' % self.id


class _Clock:
    def __init__(self) -> None:
        self.now = 2_000_000_000.0

    def __call__(self) -> float:
        return self.now


class _Died(Exception):
    """The process stopped right after it had failed the event."""


async def test_a_failure_is_on_the_case_even_if_the_process_died_before_it_wrote_it(redis: Redis) -> None:
    clock, noted = _Clock(), list[Failed]()
    config = WebhookConfig(url=f"http://127.0.0.1:{free_port()}/storechat", secret=SECRET, attempts=1)
    async with aiohttp.ClientSession() as http:
        first, second = ShopEventQueue(redis, http, config, clock=clock), ShopEventQueue(redis, http, config,
                                                                                        clock=clock)

        async def dies(failed: Failed) -> None:
            raise _Died

        async def notes(failed: Failed) -> None:
            noted.append(failed)

        first.on_failed, second.on_failed = dies, notes
        async with redis.pipeline(transaction=True) as pipe:
            first.stage(pipe, cast(ShopEvent, _Event(EVENT_ID, "conv-1", _Request("req7Qk2v"),
                                                     ShopEventType.REQUEST_APPROVED)))
            await pipe.execute()

        with pytest.raises(_Died):
            await first.deliver_due()
        assert (await first.state(EVENT_ID))["state"] == "failing"
        assert await second.deliver_due() == 0  # still under the dead process's lease

        clock.now += LEASE_SECONDS + 1
        assert await second.deliver_due() == 1
    assert [(f.event_id, f.conversation_id, f.request_id) for f in noted] == [(EVENT_ID, "conv-1", "req7Qk2v")]
    assert "ClientConnectorError" in noted[0].reason and "(try 1 of 1)" in noted[0].reason
    record = await second.state(EVENT_ID)
    assert record["state"] == "failed" and "body" not in record and record["attempts"] == "1"  # not sent again
    assert await redis.zscore(keys.QUEUE, EVENT_ID) is None
