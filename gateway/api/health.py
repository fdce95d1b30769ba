"""GET /healthz: 200 once Redis and Rasa are reachable, 503 otherwise."""

from __future__ import annotations

import asyncio

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.bot.rasa_client import RasaClient


async def _redis_up(redis: Redis) -> bool:
    try:
        return bool(await asyncio.wait_for(redis.ping(), timeout=2))
    except (RedisError, OSError, asyncio.TimeoutError):
        return False


async def check(redis: Redis, rasa: RasaClient) -> web.Response:
    redis_ok, rasa_ok = await asyncio.gather(_redis_up(redis), rasa.is_up())
    body = {
        "status": "ok" if redis_ok and rasa_ok else "degraded",
        "redis": "up" if redis_ok else "down",
        "rasa": "up" if rasa_ok else "down",
    }
    return web.json_response(body, status=200 if redis_ok and rasa_ok else 503)
