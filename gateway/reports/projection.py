"""The reports' projection: each case's new events through the episode fold into the rollups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from core.types import Conversation, Event
from gateway import keys
from gateway.reports.episodes import EpisodeState, Folded, fold
from gateway.conversations.feed import Projected
from gateway.reports.rollups import Rollups

# What `reset` deletes: everything under these is the rollups' own.
_OWN_KEYS = ("all:*", "open:*", "nu:*", "comments:*", "episodes:*")


@dataclass(frozen=True, slots=True)
class ReportsProjection:
    rollups: Rollups
    name: str = "reports"

    async def project(self, redis: Redis, conversation: Conversation, state: Mapping[str, str],
                      events: Sequence[Event]) -> Projected:
        episode = EpisodeState.loads(state.get("s"))
        out = Folded()
        for event in events:
            fold(episode, event, conversation_id=conversation.id, channel=conversation.channel.value, out=out)
        rows = {f"{conversation.id}:{number}": content for number, content in out.rows.items()}
        return Projected({"s": episode.dumps()}, self.rollups.stage(out.facts, rows).write)

    async def reset(self, redis: Redis) -> None:
        for pattern in _OWN_KEYS:
            async for key in redis.scan_iter(match=keys.report_prefix() + pattern, count=1000):
                await redis.delete(key)
