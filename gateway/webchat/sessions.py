"""Web session ids the gateway issued, and only those: a random part and its HMAC.

A session id is the shopper's bearer secret for their conversation. A client that could
pick its own could pick one it also planted in someone else's browser, or flood Redis
with made-up ones; so the widget keeps whatever `session_confirm` says, and an id the
gateway did not sign is answered with a fresh one. Signing needs no record per visitor
(a page view stores nothing). The key is generated once into Redis, where every gateway
process finds the same one; deleting it ends every web session.

Ids from before signing (32 hex, `secrets.token_hex(16)`) were random bearer secrets known
only to their owner; one that already has a conversation is continued (`is_legacy`), so an
open case's replies still reach its shopper after the upgrade. Any other unsigned id is new.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from redis.asyncio import Redis

from gateway import keys

_RANDOM_HEX = 32
# 32 hex of randomness, then 32 hex of its HMAC-SHA256 (the form channels/webchat.py accepts).
_SIGNED = re.compile(rf"^[0-9a-f]{{{_RANDOM_HEX}}}[0-9a-f]{{32}}$")
_LEGACY = re.compile(r"^[0-9a-f]{32}$")


def is_legacy(session_id: str) -> bool:
    """Whether `session_id` has the shape of an id issued before ids were signed."""
    return _LEGACY.fullmatch(session_id) is not None


class SessionIds:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def _key(self) -> bytes:
        # Read every time (one GET per session_request): a key created by another process,
        # or anew after a flush, is the one all processes use from then on.
        await self.redis.set(keys.WEB_SESSION_KEY, secrets.token_hex(32), nx=True)
        return str(await self.redis.get(keys.WEB_SESSION_KEY)).encode("ascii")

    @staticmethod
    def _mac(key: bytes, random_part: str) -> str:
        return hmac.new(key, random_part.encode("ascii"), hashlib.sha256).hexdigest()[:32]

    async def issue(self) -> str:
        random_part = secrets.token_hex(_RANDOM_HEX // 2)
        return random_part + self._mac(await self._key(), random_part)

    async def accepts(self, session_id: str) -> bool:
        """Whether the gateway issued `session_id`."""
        if not _SIGNED.match(session_id):
            return False
        random_part, mac = session_id[:_RANDOM_HEX], session_id[_RANDOM_HEX:]
        return hmac.compare_digest(mac, self._mac(await self._key(), random_part))
