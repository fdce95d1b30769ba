"""What an agent reads: a conversation's summary for the queues, and the whole case.

The shapes are the Agent API's (agent_console/README.md, /api/v1/openapi.json).
Times are milliseconds since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from core.types import Channel, Conversation, ConversationState
from gateway import keys
from gateway.conversations.csat import Survey
from gateway.conversations.store import ConversationStore, event_to_json
from gateway.desk.agents import Agent, AgentStore
from gateway.desk.reach import Reach
from gateway.shop.orders import order_to_json
from gateway.shop.shopper_requests import RequestStore, request_to_json
from gateway.shop.verification import Verifier

# The contact's earlier conversations shown with a case.
EARLIER_CONVERSATIONS = 20
# A case's history is read up to this many events (a chat of months is still one read).
MAX_CASE_EVENTS = 2000


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class VisitorTrail(Protocol):
    """A web visitor's cart and page trail (gateway/proactive/visitors.py's VisitorStore)."""

    async def for_agent(self, session_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Cases:
    store: ConversationStore
    agents: AgentStore
    verifier: Verifier
    requests: RequestStore
    survey: Survey
    public_url: str
    # Who may read which conversation (also of the contact's earlier ones shown with a case).
    reach: Reach
    # The web visitor's cart and page trail (gateway/proactive/visitors.py).
    visitors: VisitorTrail | None = None

    async def summary(self, conversation: Conversation) -> dict[str, Any]:
        agent = await self.agents.get(conversation.agent) if conversation.agent else None
        waiting = conversation.state is ConversationState.QUEUED
        return {
            "id": conversation.id, "contact_id": conversation.contact_id, "channel": conversation.channel.value,
            "state": conversation.state.value, "team": conversation.team, "agent": conversation.agent,
            "agent_name": agent.name if agent else None, "locale": conversation.locale,
            "reason": conversation.reason, "created_at": _ms(conversation.created_at),
            "updated_at": _ms(conversation.updated_at), "state_since": _ms(conversation.state_since),
            "queued_at": _ms(conversation.state_since) if waiting else None, "preview": conversation.preview,
        }

    async def summaries(self, conversation_ids: list[str]) -> list[dict[str, Any]]:
        found = [await self.store.find(conversation_id) for conversation_id in conversation_ids]
        return [await self.summary(conversation) for conversation in found if conversation is not None]

    async def queue(self, team: str) -> list[dict[str, Any]]:
        """The team's waiting conversations, oldest first."""
        return await self.summaries([str(i) for i in await self.store.redis.zrange(keys.team_queue(team), 0, -1)])

    async def assigned_to(self, email: str) -> list[dict[str, Any]]:
        return await self.summaries([str(i) for i in await self.store.redis.zrange(keys.agent_chats(email), 0, -1)])

    async def whole(self, conversation: Conversation, reader: Agent) -> dict[str, Any]:
        """The case as `reader` sees it: every earlier conversation of the contact (whoever
        reaches this conversation at the desk reaches them, gateway/desk/reach.py)."""
        events = await self.store.history(conversation.id, count=MAX_CASE_EVENTS)
        earlier_ids = await self.store.redis.zrevrange(
            keys.contact_conversations(conversation.contact_id), 0, EARLIER_CONVERSATIONS,
        )
        found = [other for other in [await self.store.find(str(i)) for i in earlier_ids if str(i) != conversation.id]
                 if other is not None]
        # The contact path, once for all of them: one of these (or this one) at the reader's desk.
        whole_record = self.reach.holds_one_of(reader, [conversation, *found])
        earlier = [await self.summary(other) for other in found
                   if whole_record or await self.reach.works(reader, other)]
        visitor: dict[str, Any] = {"cart": None, "trail": []}
        if conversation.channel is Channel.WEB and self.visitors is not None:
            visitor = await self.visitors.for_agent(conversation.address)
        return {
            "conversation": await self.summary(conversation),
            "events": [event_to_json(event) for event in events],
            "orders": [order_to_json(order) for order in await self.verifier.proven_orders(conversation.id)],
            "requests": [request_to_json(request, self.public_url)
                         for request in await self.requests.for_conversation(conversation.id)],
            "earlier": earlier[:EARLIER_CONVERSATIONS],
            # The web session's storefront activity; "trail" and "cart" are kept for older consoles.
            "visitor": visitor,
            "trail": visitor["trail"],
            "cart": visitor["cart"],
            "csat": await self.survey.result(conversation.id),
        }
