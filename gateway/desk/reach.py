"""Agents' reach: which conversations an agent may read and work, and whose consoles hear of them.

An agent reaches a conversation that is with their team or with them: waiting in their
team's queue, assigned to them or to a colleague of their team, and, once it is resolved or
back with the bot, the team and agent it was last with (so the agent who resolved a chat
still sees the survey come in, and a colleague can read the case later). A conversation of
another team, and one only the bot ever had, is a supervisor's. Supervisors reach every
conversation; `STORECHAT_AGENT_REACH=all` gives every agent that reach, for a small shop
whose few agents answer every team's queue.

A shopper's record is one, across channels and teams: whoever reaches one of a contact's
conversations that is at the desk now (queued for their team, or assigned to them or their
team) reaches that contact's other conversations too — the case history attached to a
chat is whole, not the part the team happened to hold.

A transfer to another team takes the conversation out of the reach of whoever had it
(unless they are of that team too); a transfer to an agent gives it to that agent's team.

Reading is not working: the contact's record is read whole, but only the team's, the
agent's own, a supervisor's (or, with reach "all", everyone's) conversations are worked —
claimed, answered, noted, transferred, resolved, handed back, typed in. Another team's
queue stays theirs even when its shopper is at this agent's desk too.

Every Agent API route on a conversation and every /agent socket event asks `Reach`
(gateway/api/agent.py, gateway/api/agent_socket.py). A conversation out of reading reach
answers exactly as one that does not exist, 404 `unknown_conversation`, so an id is never
confirmed; one read but not worked answers 403 `not_your_team` (NotYours).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.types import Conversation, ConversationState, EventKind, Team
from gateway import keys
from gateway.conversations.store import ConversationStore, UnknownConversation, event_from_entry
from gateway.desk.agents import Agent, AgentRole

# A resolved case's last team is found among its newest events, read this many at a time,
# at most SCANNED of them (the whole case is read up to as many, gateway/desk/case.py).
PAGE = 200
SCANNED = 2000
# A contact's newest conversations looked at for one at the desk (the case lists as many).
CONTACT_CONVERSATIONS = 21
_AT_THE_DESK = frozenset({ConversationState.QUEUED, ConversationState.ASSIGNED})


@dataclass(frozen=True, slots=True)
class Holder:
    """The team and agent a conversation is with now, or was with last (None: nobody's)."""

    team: str | None
    agent: str | None


NOBODY = Holder(None, None)


class NotYours(Exception):
    """A conversation the agent reads (through its contact) but does not work."""


@dataclass(frozen=True, slots=True)
class Reach:
    store: ConversationStore
    # STORECHAT_AGENT_REACH=all: every agent reaches what a supervisor does.
    everyone: bool = False

    def sees_all(self, agent: Agent) -> bool:
        return self.everyone or agent.role is AgentRole.SUPERVISOR

    def teams(self, agent: Agent) -> list[Team]:
        """The queues the agent reads: their own team first, then the others they reach."""
        if not self.sees_all(agent):
            return [agent.team]
        return sorted(Team, key=lambda team: team is not agent.team)

    async def holder(self, conversation: Conversation) -> Holder:
        if conversation.state in _AT_THE_DESK:
            return Holder(conversation.team, conversation.agent)
        return await self.last_holder(conversation.id)

    async def last_holder(self, conversation_id: str, *, before: str | None = None) -> Holder:
        """Who the conversation was last with: the newest state change (older than the event
        id `before`, if given) that named a team; NOBODY if it never reached the desk."""
        newest = f"({before}" if before else "+"
        for _ in range(SCANNED // PAGE):
            entries = await self.store.redis.xrevrange(keys.conversation_events(conversation_id),
                                                       max=newest, min="-", count=PAGE) or []
            for entry_id, fields in entries:
                if not fields or fields.get("kind") != EventKind.STATE.value:
                    continue
                data = event_from_entry(entry_id, fields).data
                if isinstance(team := data.get("team"), str) and team:
                    agent = data.get("agent")
                    return Holder(team, agent if isinstance(agent, str) and agent else None)
            if len(entries) < PAGE:
                break
            newest = f"({entries[-1][0]!s}"
        return NOBODY

    def within(self, agent: Agent, holder: Holder) -> bool:
        if self.sees_all(agent):
            return True
        return holder.agent == agent.email or (holder.team is not None and holder.team == agent.team.value)

    async def works(self, agent: Agent, conversation: Conversation) -> bool:
        """Whether the agent may act on the conversation: theirs, their team's, or all of them."""
        return self.sees_all(agent) or self.within(agent, await self.holder(conversation))

    async def allows(self, agent: Agent, conversation: Conversation) -> bool:
        """Whether the agent reads the conversation: works it, or reaches its contact."""
        return await self.works(agent, conversation) or await self.through_contact(agent, conversation)

    def holds_one_of(self, agent: Agent, conversations: Iterable[Conversation]) -> bool:
        """Whether one of `conversations` is at the desk with the agent or their team."""
        return any(other.state in _AT_THE_DESK and self.within(agent, Holder(other.team, other.agent))
                   for other in conversations)

    async def through_contact(self, agent: Agent, conversation: Conversation) -> bool:
        """Whether the agent has one of the contact's conversations at the desk now (its
        CONTACT_CONVERSATIONS newest), and so reaches the contact's whole record."""
        others = await self.store.redis.zrevrange(
            keys.contact_conversations(conversation.contact_id), 0, CONTACT_CONVERSATIONS - 1,
        )
        found = [await self.store.find(other_id) for other_id in (str(i) for i in others if str(i) != conversation.id)]
        return self.holds_one_of(agent, (other for other in found if other is not None))

    async def conversation(self, agent: Agent, conversation_id: str, *, to_work: bool = False) -> Conversation:
        """The conversation if the agent reads it (and works it, `to_work`): UnknownConversation,
        as for a missing id, if they do not read it; NotYours if they read but do not work it."""
        conversation = await self.store.get(conversation_id)
        if await self.works(agent, conversation):
            return conversation
        if not await self.through_contact(agent, conversation):
            raise UnknownConversation(conversation_id)
        if to_work:
            raise NotYours(conversation_id)
        return conversation
