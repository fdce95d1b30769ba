"""Who takes a queued conversation: agents' presence, their load, and round robin.

Presence is what the agent chose (online or away) while at least one console of
theirs is connected; with none connected they are offline, whatever they chose.
Auto-assignment gives the oldest conversation of a team's queue to the online
agent of that team with a free slot who was given a chat least recently. Every
assignment goes through the state machine with the agent's capacity, so two
gateway processes assigning at once can neither give one conversation twice nor
overfill an agent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from redis.asyncio import Redis

from core.types import Clock, Conversation, ConversationState, Team
from gateway import keys
from gateway.conversations import state_machine
from gateway.conversations.store import UnknownConversation
from gateway.desk.agents import Agent, AgentStore

log = logging.getLogger(__name__)

# One pass of auto-assignment gives out at most this many conversations; the next
# queueing or freed slot starts another pass.
MAX_ASSIGNMENTS_PER_PASS = 100


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class AgentLoad:
    agent: Agent
    presence: Presence
    open_chats: int


# A console socket not refreshed for this long belongs to a gateway process that died
# (live processes refresh theirs every gateway.api.agent_socket.HEARTBEAT_SECONDS).
SOCKET_STALE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Roster:
    """Agents' presence and load, shared by every gateway process through Redis."""

    redis: Redis
    agents: AgentStore
    clock: Clock

    async def connected(self, email: str, socket_id: str) -> None:
        """A console socket is connected (or still is: the heartbeat calls this again)."""
        await self.redis.zadd(keys.agent_sockets(email), {socket_id: self.clock()})

    async def disconnected(self, email: str, socket_id: str) -> None:
        key = keys.agent_sockets(email)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(key, socket_id)
            pipe.zremrangebyscore(key, "-inf", self.clock() - SOCKET_STALE_SECONDS)
            await pipe.execute()

    async def choose(self, email: str, presence: Presence) -> None:
        """The agent's own choice; offline is not chosen but follows from no console being open."""
        if presence is Presence.OFFLINE:
            raise ValueError("offline is not a choice: close the console")
        await self.redis.set(keys.agent_status(email), presence.value)

    async def load(self, agent: Agent) -> AgentLoad:
        return (await self.loads([agent]))[0]

    async def loads(self, agents: list[Agent]) -> list[AgentLoad]:
        fresh = self.clock() - SOCKET_STALE_SECONDS
        async with self.redis.pipeline(transaction=False) as pipe:
            for agent in agents:
                pipe.zcount(keys.agent_sockets(agent.email), fresh, "+inf")
                pipe.get(keys.agent_status(agent.email))
                pipe.zcard(keys.agent_chats(agent.email))
            replies = await pipe.execute()
        loads = []
        for index, agent in enumerate(agents):
            sockets, chosen, open_chats = replies[3 * index: 3 * index + 3]
            presence = Presence(chosen or Presence.ONLINE.value) if int(sockets) else Presence.OFFLINE
            loads.append(AgentLoad(agent, presence, int(open_chats)))
        return loads

    async def team(self, team: Team) -> list[AgentLoad]:
        return await self.loads(await self.agents.of_team(team))

    async def everyone(self) -> list[AgentLoad]:
        return await self.loads(await self.agents.all())


@dataclass(frozen=True, slots=True)
class Router:
    redis: Redis
    roster: Roster
    clock: Clock
    # Concurrent chats an agent is given by auto-assignment (a manual claim may exceed it).
    capacity: int

    async def has_free_agent(self, team: Team) -> bool:
        return any(self._free(load) for load in await self.roster.team(team))

    def _free(self, load: AgentLoad) -> bool:
        return load.presence is Presence.ONLINE and load.open_chats < self.capacity

    async def _next_agent(self, team: Team) -> Agent | None:
        free = [load.agent for load in await self.roster.team(team) if self._free(load)]
        if not free:
            return None
        async with self.redis.pipeline(transaction=False) as pipe:
            for agent in free:
                pipe.zscore(keys.agents_last_assigned(), agent.email)
            scores = await pipe.execute()
        # Least recently given a chat first; never-assigned agents before everyone.
        return min(zip(free, scores, strict=True), key=lambda pair: (pair[1] or 0.0, pair[0].email))[0]

    async def assign_waiting(self, team: Team) -> list[Conversation]:
        """Give the team's queue, oldest first, to its free online agents; the assignments made."""
        assigned: list[Conversation] = []
        for _ in range(MAX_ASSIGNMENTS_PER_PASS):
            head = await self.redis.zrange(keys.team_queue(team.value), 0, 0)
            if not head:
                break
            agent = await self._next_agent(team)
            if agent is None:
                break
            try:
                conversation = await state_machine.transition(
                    self.redis, str(head[0]), ConversationState.ASSIGNED, clock=self.clock,
                    reason="auto_assigned", expect=ConversationState.QUEUED,
                    team=team.value, agent=agent.email, capacity=self.capacity,
                )
            except (state_machine.StateChanged, state_machine.AgentAtCapacity) as exc:
                # Another process took the conversation or the agent's last slot: look again.
                log.debug("auto-assignment retried: %s", exc)
                continue
            except UnknownConversation:
                await self.redis.zrem(keys.team_queue(team.value), str(head[0]))
                continue
            await self.redis.zadd(keys.agents_last_assigned(), {agent.email: self.clock()})
            log.info("conversation %s assigned to %s (%s)", conversation.id, agent.email, team.value)
            assigned.append(conversation)
        return assigned

    async def position(self, conversation: Conversation) -> int | None:
        """1 for the next in line; None when the conversation is not waiting in a queue."""
        if conversation.state is not ConversationState.QUEUED or not conversation.team:
            return None
        rank: int | None = await self.redis.zrank(keys.team_queue(conversation.team), conversation.id)  # type: ignore[assignment]
        return None if rank is None else rank + 1
