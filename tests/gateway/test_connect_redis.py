"""The gateway's Redis client under a burst: commands wait for a connection, none fails."""

from __future__ import annotations

import asyncio

from gateway.app import REDIS_CONNECTIONS, connect_redis


async def test_a_burst_larger_than_the_pool_waits_for_connections_instead_of_failing(redis_url: str) -> None:
    redis = connect_redis(redis_url)
    try:
        await redis.delete("burst")
        # Five times more commands in flight at once than the pool has connections (the
        # default pool raised "Too many connections" here and the shopper's message failed).
        await asyncio.gather(*(redis.incr("burst") for _ in range(REDIS_CONNECTIONS * 5)))
        assert int(await redis.get("burst")) == REDIS_CONNECTIONS * 5
        assert len(redis.connection_pool._in_use_connections) == 0
        assert redis.connection_pool.max_connections == REDIS_CONNECTIONS
    finally:
        await redis.delete("burst")
        await redis.aclose()
