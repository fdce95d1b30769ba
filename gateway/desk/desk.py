"""The human side of a conversation: queueing, claiming, replying, notes, transfer, resolve,
handing back to the bot.

Every change of state goes through the state machine; this module decides who may
make it and tells the shopper what it means for them (their place in the queue,
when the team is back, who is now looking after them, the satisfaction question).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from core.formatting import format_number
from core.types import Author, Conversation, ConversationState, Event, EventKind, OutgoingMessage, Team
from gateway.conversations import state_machine
from gateway.conversations.csat import Survey
from gateway.conversations.outbox import Outbox
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import Agent, AgentRole, AgentStore
from gateway.desk.assignment import Router
from gateway.desk.business_hours import BusinessHours, describe_opening
from gateway.texts import Texts

log = logging.getLogger(__name__)
S = ConversationState


class NotPermitted(Exception):
    """The agent may not do this to this conversation (403)."""


class Conflict(Exception):
    """The conversation is not in a state that allows this any more (409), e.g. another agent has it."""

    def __init__(self, message: str, conversation: Conversation | None = None) -> None:
        super().__init__(message)
        self.conversation = conversation


@dataclass(frozen=True, slots=True)
class Desk:
    store: ConversationStore
    agents: AgentStore
    router: Router
    outbox: Outbox
    survey: Survey
    texts: Texts
    hours: BusinessHours

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.store.clock(), UTC)

    async def _say(self, conversation: Conversation, key: str, **values: object) -> None:
        text = self.texts.get(conversation.locale, key, **values)
        await self.outbox.send(conversation, OutgoingMessage(text, author=Author.SYSTEM))

    # --- queueing -----------------------------------------------------------------

    async def queue(self, conversation: Conversation, team: Team, reason: str) -> Conversation | None:
        """Hand a bot conversation to a team's queue (None if a person already has it); then `place` it."""
        try:
            queued = await state_machine.transition(
                self.store.redis, conversation.id, S.QUEUED, clock=self.store.clock,
                reason=reason, expect=S.BOT, team=team.value,
            )
        except state_machine.StateChanged as exc:
            # Someone (an agent's claim) moved it first: the case is already with a person.
            log.info("handoff of %s skipped: %s", conversation.id, exc)
            return None
        log.info("conversation %s queued for %s (%s)", conversation.id, team.value, reason)
        return queued

    async def place(self, queued: Conversation) -> None:
        """Give a queued conversation to a free agent, or tell the shopper how long it will be."""
        team = Team(queued.team or Team.GENERAL.value)
        for assigned in await self.router.assign_waiting(team):
            await self._announce_agent(assigned)
        current = await self.store.get(queued.id)
        if current.state is not S.QUEUED:
            return  # someone took it at once and the shopper was told who
        now = self._now()
        if not self.hours.is_open(now, team.value):
            opening = self.hours.next_opening(now, team.value)
            when = describe_opening(opening, now, current.locale, self.texts)
            await self._say(current, "out_of_hours", when=when)
            return
        position = await self.router.position(current)
        if position == 1:
            await self._say(current, "queue_next")
        elif position is not None:
            await self._say(current, "queue_position",
                            position=format_number(position, self.texts.cldr_locale(current.locale)))

    async def _announce_agent(self, conversation: Conversation) -> None:
        agent = await self.agents.get(conversation.agent) if conversation.agent else None
        if agent is not None:
            await self._say(conversation, "agent_joined", name=agent.name)

    async def agent_available(self, agent: Agent) -> None:
        """An agent came online or has a free slot: their team's queue moves."""
        for assigned in await self.router.assign_waiting(agent.team):
            await self._announce_agent(assigned)

    # --- what agents do -------------------------------------------------------------

    async def claim(self, conversation_id: str, agent: Agent) -> Conversation:
        conversation = await self.store.get(conversation_id)
        if conversation.state is S.ASSIGNED and conversation.agent == agent.email:
            return conversation
        if conversation.state is not S.QUEUED:
            raise Conflict(_taken(conversation), conversation)
        try:
            claimed = await state_machine.transition(
                self.store.redis, conversation_id, S.ASSIGNED, clock=self.store.clock, reason="claimed",
                expect=S.QUEUED, team=conversation.team, agent=agent.email,
            )
        except state_machine.StateChanged:
            current = await self.store.get(conversation_id)
            if current.state is S.ASSIGNED and current.agent == agent.email:
                return current
            raise Conflict(_taken(current), current) from None
        await self._announce_agent(claimed)
        return claimed

    async def reply(self, conversation_id: str, agent: Agent, text: str) -> Event:
        """Send the agent's message to the shopper; a reply to a queued conversation claims it."""
        conversation = await self.store.get(conversation_id)
        if not (conversation.state is S.ASSIGNED and conversation.agent == agent.email):
            conversation = await self.claim(conversation_id, agent)
        message = OutgoingMessage(text, author=Author.AGENT, agent_name=agent.name)
        return await self.outbox.send(conversation, message, agent=agent.email)

    async def note(self, conversation_id: str, agent: Agent, text: str) -> Event:
        await self.store.get(conversation_id)
        return await self.store.append(conversation_id, EventKind.NOTE, author=Author.AGENT, text=text,
                                       data={"agent": agent.email, "agent_name": agent.name})

    def _check_owner(self, conversation: Conversation, agent: Agent, action: str) -> None:
        """The assigned agent or a supervisor; a queued conversation is the team's, so a supervisor's."""
        if conversation.state not in (S.QUEUED, S.ASSIGNED):
            raise Conflict(f"the conversation is {conversation.state.value}: nothing to {action}", conversation)
        if agent.role is AgentRole.SUPERVISOR or conversation.agent == agent.email:
            return
        if conversation.state is S.QUEUED:
            raise NotPermitted(f"only a supervisor can {action} a conversation waiting in a queue")
        raise NotPermitted(f"the conversation is assigned to {conversation.agent}: only they or a "
                           f"supervisor can {action} it")

    async def transfer(self, conversation_id: str, agent: Agent, *, team: Team | None = None,
                       to_agent: str | None = None) -> Conversation:
        if (team is None) == (to_agent is None):
            raise ValueError("transfer to a team or to an agent")
        conversation = await self.store.get(conversation_id)
        self._check_owner(conversation, agent, "transfer")
        previous = await self.agents.get(conversation.agent) if conversation.agent else None
        try:
            if team is not None:
                moved = await state_machine.transition(
                    self.store.redis, conversation_id, S.QUEUED, clock=self.store.clock,
                    reason=f"transferred by {agent.email}", expect=conversation.state, team=team.value,
                )
            else:
                target = await self.agents.get(to_agent or "")
                if target is None:
                    raise ValueError(f"no agent {to_agent!r}")
                moved = await state_machine.transition(
                    self.store.redis, conversation_id, S.ASSIGNED, clock=self.store.clock,
                    reason=f"transferred by {agent.email}", expect=conversation.state,
                    team=target.team.value, agent=target.email,
                )
        except state_machine.StateChanged:
            raise Conflict("the conversation changed meanwhile: reload it",
                           await self.store.get(conversation_id)) from None
        if moved.state is S.QUEUED:
            await self._say(moved, "transferred")
            await self.place(moved)
        else:
            await self._announce_agent(moved)
        if previous is not None:
            await self.agent_available(previous)  # a slot came free
        return moved

    async def resolve(self, conversation_id: str, agent: Agent) -> Conversation:
        resolved = await self._release(conversation_id, agent, S.RESOLVED, "resolve", f"resolved by {agent.email}")
        await self.survey.ask(resolved)
        return resolved

    async def hand_back(self, conversation_id: str, agent: Agent) -> Conversation:
        """Give a queued or assigned conversation back to the bot: the shopper is told the
        assistant answers again, and the agent who had it gets a slot free."""
        back = await self._release(conversation_id, agent, S.BOT, "hand back", f"handed_back by {agent.email}")
        await self._say(back, "handed_back")
        return back

    async def _release(self, conversation_id: str, agent: Agent, to: S, action: str, reason: str) -> Conversation:
        """The conversation leaves the desk (its owner or a supervisor decides), and the agent
        who had it gets a slot free."""
        conversation = await self.store.get(conversation_id)
        self._check_owner(conversation, agent, action)
        try:
            moved = await state_machine.transition(self.store.redis, conversation_id, to, clock=self.store.clock,
                                                   reason=reason, expect=conversation.state)
        except state_machine.StateChanged:
            raise Conflict("the conversation changed meanwhile: reload it",
                           await self.store.get(conversation_id)) from None
        if conversation.agent and (owner := await self.agents.get(conversation.agent)) is not None:
            await self.agent_available(owner)
        return moved


def _taken(conversation: Conversation) -> str:
    if conversation.state is S.ASSIGNED:
        return f"already taken by {conversation.agent}"
    return f"the conversation is {conversation.state.value}, not waiting for an agent"
