"""Call-backs from the request to the outcome.

The shopper's request puts the case in its team's queue — `queued(team, reason=callback)`
through the state machine — with the call-back (number and slot) on the case, and confirms
it in the shopper's language. The agent who calls records the outcome:

- **reached**: the call-back is done; the case is resolved, or stays with the agent for follow-up;
- **no answer**: tried again at the next slot at least RETRY_GAP later (the case goes back to
  its team's queue), until MAX_ATTEMPTS calls went unanswered: then it is closed as
  unreachable and the shopper is told how to reach the shop instead;
- **rescheduled**: a new slot (the shopper asked on the phone for another time).

Every step is a `callback` event on the case and is told to the shopper on their channel.
Where SMS is configured, an SMS reminds the shopper REMINDER_MINUTES before the slot, sent
through the outbox like any message to a texter (durable, and never twice) — but only to a
number the shopper proved is theirs (`proven_phones`): a typed number is anyone's, and an
SMS to it would make the shop a sender of texts to strangers (nor is an SMS conversation
opened for it). Its confirmation then promises no reminder.

A call-back is its case's team's (`callback_team`): the slots offered and the slot booked are
that team's. An outcome of an assigned case is its agent's or a supervisor's to record
(NotTheAssignee otherwise); a queued one any agent of the team may record.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace

from aiohttp import web
from datetime import UTC, datetime
from enum import StrEnum

from core.types import Author, Channel, Conversation, ConversationState, OutgoingMessage, Team
from gateway.callbacks import slots
from gateway.callbacks.store import MAX_ATTEMPTS, Callback, CallbackStore, NotOpen, Status, Step
from gateway.conversations import state_machine
from gateway.conversations.contacts import PHONE_CHANNELS
from gateway.conversations.outbox import Outbox
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import Agent, AgentRole
from gateway.desk.business_hours import BusinessHours, describe_opening
from gateway.desk.desk import Desk
from gateway.desk.reach import Reach
from gateway.shop.verification import Verifier, normalise_phone
from gateway.texts import Texts

log = logging.getLogger(__name__)
S = ConversationState

REASON = "callback"
# An unanswered call is tried again no sooner than this (seconds).
RETRY_GAP = 3600
REMINDER_MINUTES = 30
TICK_SECONDS = 15.0


class Outcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    RESCHEDULED = "rescheduled"


class SlotNotOffered(ValueError):
    """The slot is not one a call-back can be booked for (past, outside hours, not on the half hour)."""


class NotTheAssignee(PermissionError):
    """The case is assigned to another agent: only they or a supervisor record its call's outcome."""


def callback_team(conversation: Conversation | None) -> str:
    """The team a conversation's call-back is with: the team whose desk has the case (queued
    or assigned), else the general team. Both the slots offered and the slot booked are its."""
    if conversation is not None and conversation.state in (S.QUEUED, S.ASSIGNED) and conversation.team:
        return conversation.team
    return Team.GENERAL.value


@dataclass(frozen=True, slots=True)
class Callbacks:
    records: CallbackStore
    store: ConversationStore
    desk: Desk
    outbox: Outbox
    texts: Texts
    hours: BusinessHours
    # Whose call-backs an agent lists and works: their team's (or all: gateway/desk/reach.py).
    reach: Reach
    # The orders proven in a conversation, whose phones are the shopper's proven numbers.
    verifier: Verifier

    @property
    def reminders(self) -> bool:
        """Reminders go by SMS, so only where the SMS channel is configured."""
        return self.outbox.delivers_to(Channel.SMS)

    def slots(self, team: str | None, not_before: float | None = None) -> list[float]:
        return slots.offered_slots(self.hours, self.store.clock(), team, not_before=not_before)

    def when(self, slot: float, locale: str) -> str:
        """"heute um 14:30 Uhr", "tomorrow at 09:00", "on Monday 7 December, at 08:00"."""
        local = datetime.fromtimestamp(slot, UTC).astimezone(self.hours.timezone)
        return describe_opening(local, datetime.fromtimestamp(self.store.clock(), UTC), locale, self.texts)

    async def proven_phones(self, conversation: Conversation) -> set[str]:
        """The numbers the shopper proved are theirs in this conversation: the phone of an order
        proven here, and the conversation's own SMS or WhatsApp number (the provider proved it)."""
        phones = {normalise_phone(order.phone) for order in await self.verifier.proven_orders(conversation.id)
                  if order.phone}
        if conversation.channel in PHONE_CHANNELS:
            phones.add(normalise_phone(conversation.address))
        return phones

    async def reminds(self, conversation: Conversation | None) -> bool:
        """Whether a call-back of this conversation may be reminded: SMS configured and a proven number."""
        return self.reminders and conversation is not None and bool(await self.proven_phones(conversation))

    def _reminder_at(self, callback: Callback) -> float | None:
        at = callback.slot - REMINDER_MINUTES * 60
        return at if self.reminders and callback.proven and at > self.store.clock() else None

    async def _tell(self, conversation: Conversation, key: str, **values: object) -> None:
        text = self.texts.get(conversation.locale, key, **values)
        await self.outbox.send(conversation, OutgoingMessage(text, author=Author.SYSTEM))

    # --- the shopper asks ------------------------------------------------------------------

    async def request(self, conversation: Conversation, phone: str, slot: float, via: str) -> Callback:
        """Book the call-back (`phone` already in E.164): SlotNotOffered, or CallbacksFull."""
        team = callback_team(conversation)
        if not slots.bookable(self.hours, slot, self.store.clock(), team):
            raise SlotNotOffered(f"{slot} is not a slot the {team} team offers")
        now = self.store.clock()
        earlier = await self.records.get(conversation.id)
        again = earlier is not None and earlier.status is Status.OPEN
        callback = Callback(conversation_id=conversation.id, phone=phone, slot=slot, status=Status.OPEN,
                            attempts=earlier.attempts if again and earlier else 0, team=team,
                            locale=conversation.locale, requested_at=earlier.requested_at if again and earlier else now,
                            via=via, updated_at=now, proven=phone in await self.proven_phones(conversation))
        # Asking again while one is open changes it (another number or time), not a second one.
        written = await self.records.write(callback, Step.RESCHEDULED if again else Step.REQUESTED,
                                           expect_open=False, new=not again, by="shopper",
                                           reminder_at=self._reminder_at(callback))
        await self._queue(conversation, team)
        key = "callback_confirmed_reminder" if self._reminder_at(callback) is not None else "callback_confirmed"
        await self._tell(conversation, key, when=self.when(slot, conversation.locale), phone=phone)
        log.info("call-back for conversation %s booked (%s)", conversation.id, "changed" if again else "new")
        return written

    async def _queue(self, conversation: Conversation, team: str) -> None:
        """The case waits in the team's queue, unless a person has it already."""
        current = await self.store.get(conversation.id)
        if current.state is S.RESOLVED:
            current = await state_machine.transition(self.store.redis, current.id, S.BOT, clock=self.store.clock,
                                                     reason="shopper_returned", expect=S.RESOLVED)
        if current.state is S.BOT:
            await self.desk.queue(current, Team(team), REASON)

    # --- the agent calls -------------------------------------------------------------------

    async def list_for(self, teams: list[Team]) -> list[Callback]:
        wanted = {team.value for team in teams}
        return [callback for callback in await self.records.due() if callback.team in wanted]

    async def outcome(self, conversation_id: str, agent: Agent, outcome: Outcome, *, slot: float | None = None,
                      resolve: bool = False) -> Callback:
        """Record how the call went: NotOpen when there is no open call-back (any more),
        SlotNotOffered for a new slot that cannot be booked."""
        callback = await self.records.get(conversation_id)
        if callback is None or callback.status is not Status.OPEN:
            raise NotOpen(conversation_id)
        conversation = await self.store.get(conversation_id)
        if conversation.state is S.ASSIGNED and conversation.agent != agent.email \
                and agent.role is not AgentRole.SUPERVISOR:
            raise NotTheAssignee(f"the case is assigned to {conversation.agent}: only they or a supervisor "
                                 "record its call-back")
        if outcome is Outcome.REACHED:
            return await self._reached(conversation, callback, agent, resolve)
        if outcome is Outcome.RESCHEDULED:
            if slot is None or not slots.bookable(self.hours, slot, self.store.clock(), callback.team):
                raise SlotNotOffered("choose one of the offered slots")
            moved = await self.records.write(replace(callback, slot=slot), Step.RESCHEDULED, expect_open=True,
                                             by=agent.email, reminder_at=self._reminder_at(replace(callback, slot=slot)))
            await self._tell(conversation, "callback_rescheduled", when=self.when(slot, conversation.locale))
            return moved
        return await self._no_answer(conversation, callback, agent)

    async def _reached(self, conversation: Conversation, callback: Callback, agent: Agent, resolve: bool) -> Callback:
        done = await self.records.write(replace(callback, status=Status.REACHED), Step.REACHED, expect_open=True,
                                        by=agent.email)
        if conversation.state is S.QUEUED:
            conversation = await self.desk.claim(conversation.id, agent)  # the follow-up is the caller's
        if resolve and conversation.state is S.ASSIGNED:
            await self.desk.resolve(conversation.id, agent)
        return done

    async def _no_answer(self, conversation: Conversation, callback: Callback, agent: Agent) -> Callback:
        attempts = callback.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            closed = await self.records.write(replace(callback, attempts=attempts, status=Status.UNREACHABLE),
                                              Step.UNREACHABLE, expect_open=True, by=agent.email)
            await self._tell(conversation, "callback_unreachable", attempts=attempts)
            await self._close(conversation)
            return closed
        later = self.slots(callback.team, not_before=max(callback.slot, self.store.clock()) + RETRY_GAP)
        if not later:
            raise SlotNotOffered(f"the {callback.team} team has no slot for another try")
        again = replace(callback, attempts=attempts, slot=later[0])
        retry = await self.records.write(again, Step.NO_ANSWER, expect_open=True, by=agent.email,
                                         reminder_at=self._reminder_at(again))
        await self._tell(conversation, "callback_retry", when=self.when(later[0], conversation.locale))
        if conversation.state is S.ASSIGNED:
            # Back to the team: whoever is there at the next slot calls.
            await state_machine.transition(self.store.redis, conversation.id, S.QUEUED, clock=self.store.clock,
                                           reason=REASON, expect=S.ASSIGNED, team=callback.team)
            # Its agent (a supervisor may record it for them) has room for another case.
            if conversation.agent and (owner := await self.desk.agents.get(conversation.agent)) is not None:
                await self.desk.agent_available(owner)
        return retry

    async def _close(self, conversation: Conversation) -> None:
        """Unreachable: the case leaves the desk without a satisfaction question (nobody talked)."""
        if conversation.state not in (S.QUEUED, S.ASSIGNED):
            return
        try:
            await state_machine.transition(self.store.redis, conversation.id, S.RESOLVED, clock=self.store.clock,
                                           reason="callback_unreachable", expect=conversation.state)
        except state_machine.StateChanged:
            log.info("conversation %s changed while its call-back was closed", conversation.id)
            return
        if conversation.agent and (owner := await self.desk.agents.get(conversation.agent)) is not None:
            await self.desk.agent_available(owner)

    # --- reminders -------------------------------------------------------------------------

    async def remind_due(self) -> int:
        """Send the reminders that are due (each by one process); how many went."""
        sent = 0
        for conversation_id in await self.records.take_reminders(self.store.clock()):
            callback = await self.records.get(conversation_id)
            if callback is None or callback.status is not Status.OPEN or not self.reminders or not callback.proven:
                continue  # (an unproven number is never texted, nor an SMS conversation opened for it)
            text = self.texts.get(callback.locale, "callback_reminder", when=self.when(callback.slot, callback.locale))
            texter = await self.store.open(Channel.SMS, callback.phone, callback.locale)
            once = f"callback-reminder:{conversation_id}:{round(callback.slot)}"
            if await self.outbox.send_once(texter, OutgoingMessage(text, author=Author.SYSTEM), once) is not None:
                await self.records.write(callback, Step.REMINDED, expect_open=True, by="sms")
                sent += 1
        return sent

    async def run_reminders(self, interval: float = TICK_SECONDS) -> None:
        while True:
            try:
                await self.remind_due()
            except NotOpen:
                pass  # completed while its reminder went out
            except Exception:
                log.exception("call-back reminders failed; trying again")
            await asyncio.sleep(interval)


CALLBACKS = web.AppKey("callbacks", Callbacks)
