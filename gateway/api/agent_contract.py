"""The Agent API's bodies: what the console sends, and what it reads back.

The desk builds its answers as domain objects or dicts; the routes write them through
these models, which are also their schemas in the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, ValidationInfo

from core.types import Author, Channel, ConversationState, EventKind, Team
from gateway.desk.agents import MAX_PASSWORD_CHARS, AgentRole
from gateway.desk.assignment import AgentLoad, Presence
from gateway.json_input import Body, Millis, Text, problem, setting, text_value
from gateway.proactive.events import CartItem, PageType
from gateway.proactive.rules import Target
from gateway.shop.orders import OrderView
from gateway.shop.shopper_requests import RequestView

# --- what the console sends ---------------------------------------------------------


class LoginInput(Body):
    email: Annotated[str, Text(max_length=254)]
    password: Annotated[str, Text(max_length=MAX_PASSWORD_CHARS)]


def _within_the_limit(text: str, info: ValidationInfo) -> str:
    # The limit is the operator's (STORECHAT_MAX_MESSAGE_CHARS): each request brings it.
    limit: int = setting(info, "max_message_chars")
    if len(text) > limit:
        raise problem(f"must be at most {limit} characters")
    return text


class TextInput(Body):
    text: Annotated[str, StringConstraints(min_length=1), BeforeValidator(text_value),
                    AfterValidator(_within_the_limit),
                    Field(description="at most STORECHAT_MAX_MESSAGE_CHARS characters")]


class TransferInput(Body):
    """Exactly one of team and agent."""

    team: Team | None = None
    agent: Annotated[str, Text(max_length=254), Field(description="an agent's email")] | None = None


class PresenceInput(Body):
    status: Literal[Presence.ONLINE, Presence.AWAY]


# --- what it reads ------------------------------------------------------------------


class AgentView(Body):
    email: str
    name: str
    team: Team
    role: AgentRole


class AgentLoadView(AgentView):
    presence: Presence
    open_chats: Annotated[int, Field(ge=0)]

    @classmethod
    def of(cls, load: AgentLoad) -> AgentLoadView:
        return cls.model_validate({**dict(AgentView.model_validate(load.agent)), "presence": load.presence,
                                   "open_chats": load.open_chats})


class AgentSessionView(Body):
    agent: AgentView
    csrf_token: str = Field(description="send it as X-CSRF-Token on every state-changing agent request")


class Agents(Body):
    agents: list[AgentLoadView]


class ConversationSummary(Body):
    id: str
    contact_id: str
    channel: Channel
    state: ConversationState
    team: Team | None
    agent: str | None
    agent_name: str | None = None
    locale: str
    reason: str | None = Field(None, description="why it was queued")
    created_at: Millis
    updated_at: Millis | None = None
    state_since: Millis | None = None
    queued_at: Millis | None
    preview: str | None = Field(None, description="the shopper's last message, shortened")


class CaseEvent(Body):
    id: str = Field(description="stream id, increasing")
    kind: EventKind
    at: Millis
    author: Author | None
    text: str | None
    data: dict[str, Any] = Field(description=(
        "a bot message: intent, confidence, retrieval_intent, retrieval_confidence; an agent message or "
        "note: agent, agent_name; a message on SMS, Messenger or WhatsApp: delivery (queued or not_sent); "
        "a state change: from, to, reason, team, agent; a request: the request; csat: score, comment; "
        "a delivery: status (sent, delivered, read, failed, unknown, not_sent, opted_out, opted_in), "
        "message_id (the message's event id), channel, provider_ids, reason"))


DeliveryStateName = Literal["queued", "sent", "delivered", "read", "failed", "unknown", "not_sent"]


class DeliveryView(Body):
    state: DeliveryStateName = Field(description=(
        "queued: on the outbound queue (SMS, Messenger, WhatsApp); sent: the provider took it (the web chat: "
        "emitted to the shopper's widget); delivered, read: the provider reported so; failed: the provider "
        "refused it (reason); unknown: the request went out and no answer came, so the provider may or may not "
        "have sent it (never sent again by itself); not_sent: opted out or outside the channel's window"))
    reason: str | None = Field(None, description="why it failed or was not sent")


class SentMessage(CaseEvent):
    """A reply as recorded, and how far its delivery got when the answer was written. Later
    states come as DELIVERY events naming it (data.message_id) on the case and the socket."""

    delivery: DeliveryView


class CartView(Body):
    items: list[CartItem]
    value: str
    currency: str
    updated_at: Millis


class PageSeen(Body):
    page_type: PageType
    url: str | None
    title: str | None
    at: Millis


class Visitor(Body):
    """The web visitor's storefront activity (empty for other channels)."""

    cart: CartView | None
    trail: list[PageSeen] = Field(description="the last page views, oldest first")


class Csat(Body):
    score: Annotated[int, Field(ge=1, le=5)]
    comment: str | None


class Case(Body):
    conversation: ConversationSummary
    events: list[CaseEvent]
    orders: list[OrderView] = Field(description="only orders the shopper proved")
    requests: list[RequestView]
    earlier: list[ConversationSummary] = Field(description="the contact's other conversations, newest first")
    visitor: Visitor
    trail: list[PageSeen] = Field(description="visitor.trail (older consoles)")
    cart: CartView | None = Field(description="visitor.cart (older consoles)")
    csat: Csat | None


class Queues(Body):
    queues: dict[Team, list[ConversationSummary]] = Field(
        description="team → its waiting conversations, oldest first, for the teams the agent reaches "
                    "(their own; every team for a supervisor), the agent's own team first")
    mine: list[ConversationSummary]
    agents: list[AgentLoadView]


class CannedAnswerView(Body):
    topic: str
    title: str
    text: str
    score: Annotated[float, Field(ge=0, le=1)] | None


class CannedAnswerList(Body):
    answers: list[CannedAnswerView] = Field(description="best first; every topic when q is empty")


class Suggestion(Body):
    answer: CannedAnswerView | None = Field(description="null when nothing fits")


class RuleResult(Body):
    rule: str
    target: Target
    shown: Annotated[int, Field(ge=0)]
    accepted: Annotated[int, Field(ge=0)]
    declined: Annotated[int, Field(ge=0)]
    converted: Annotated[int, Field(ge=0)]
    conversion_rate: Annotated[float, Field(ge=0, description="converted / shown")]


class ProactiveReport(Body):
    rules: list[RuleResult] = Field(description="every rule of the rules file, all-time counts")
