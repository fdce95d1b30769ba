"""python-socketio's Redis manager, made to close every connection it opens.

Upstream makes a new Redis client at each connect, and the first connect is not only
the listener's: an emit before any socket has connected (an agent's presence, say)
publishes through a client of its own, which the listener's start then replaces
without closing. Its connection was left for the garbage collector. Here the manager
keeps one client and one pub/sub for its whole life: redis-py reconnects both by
itself after a Redis restart (the pub/sub subscribes again), and `aclose` closes them.
"""

from __future__ import annotations

import asyncio

import socketio

from gateway import background


class RedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]  # python-socketio is untyped
    def _redis_connect(self) -> None:
        if self.redis is None:
            super()._redis_connect()
        self.connected = True

    async def aclose(self) -> None:
        """End the listener, then close the pub/sub and the client (python-socketio has no close).

        The listener may be blocked in a pub/sub read that swallows the cancel, so its
        connection is closed under it.
        """
        pubsub, listener = self.pubsub, getattr(self, "thread", None)

        async def close_pubsub() -> None:
            if pubsub is not None and pubsub.connection is not None:
                await pubsub.connection.disconnect(nowait=True)

        if isinstance(listener, asyncio.Future):
            await background.stop([listener], unblock=close_pubsub)
        for client in (pubsub, self.redis):
            if client is not None:
                await client.aclose()
