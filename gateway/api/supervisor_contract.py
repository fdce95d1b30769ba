"""The supervisor console's queries and answers: the conversation directory, the overview
of queues and agents, and the teams' shopper requests.

The query models read the query strings (an empty value counts as absent, so a console
may send `?state=&team=`) and describe them in the OpenAPI document; the answer models
write the answers and are their schemas there.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from core.types import Channel, ConversationState, Team
from gateway.api.agent_contract import AgentLoadView, ConversationSummary
from gateway.json_input import Body, CalendarDate, Millis, Text
from gateway.shop.shopper_requests import RequestStatus, RequestView

MAX_PAGE = 100

# --- what the console asks --------------------------------------------------------------


class DirectoryQuery(Body):
    state: ConversationState | None = Field(None, description="bot, queued, assigned or resolved: its state now")
    team: Team | None = Field(None, description="the team that has it, or had it last")
    agent: Annotated[str, Text(max_length=254)] | None = Field(
        None, description="an agent's email: the agent who has it, or had it last")
    channel: Channel | None = Field(None, description="web, sms, messenger, whatsapp or email")
    since: CalendarDate | None = Field(None, alias="from", description=(
        "YYYY-MM-DD: last activity on or after this day (the shop's time zone)"))
    until: CalendarDate | None = Field(None, alias="to", description=(
        "YYYY-MM-DD: last activity on or before this day (the shop's time zone)"))
    q: Annotated[str, Text(max_length=200)] | None = Field(None, description=(
        "words that must all occur in what shopper, bot or agents wrote (case, accents and umlaut "
        "spellings do not matter; from 3 letters a word also finds longer words it starts)"))
    csat: Annotated[int, Field(ge=1, le=5)] | None = Field(None, description="1–5: the shopper's last score")
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = Field(50, description=f"1–{MAX_PAGE}, default 50")
    cursor: Annotated[str, Text(max_length=100)] | None = Field(
        None, description="`next` of the previous page (same filters)")


class RequestsQuery(Body):
    team: Team | None = Field(None, description="one team (default: every team)")
    status: RequestStatus | None = Field(None, description="one status (default: open, received and approved returns, i.e. not done)")
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = Field(50, description=f"per team, 1–{MAX_PAGE}, default 50")


def query_parameters(model: type[Body]) -> dict[str, str]:
    """The query parameters a model reads, with their descriptions (for the OpenAPI document)."""
    return {field.alias or name: field.description or "" for name, field in model.model_fields.items()}


# --- what it reads ------------------------------------------------------------------------


class DirectoryEntry(ConversationSummary):
    csat: Annotated[int, Field(ge=1, le=5)] | None = Field(description="the shopper's last score, null if none")
    last_activity_at: Millis = Field(description="its newest event: what the list is ordered by")


class DirectoryPage(Body):
    conversations: list[DirectoryEntry] = Field(description="newest activity first")
    next: str | None = Field(description="the cursor of the next page; null on the last page")


class TeamWaiting(Body):
    team: Team
    waiting: Annotated[int, Field(ge=0)]
    longest_wait_seconds: Annotated[float, Field(ge=0)] | None = Field(description="null when nobody waits")


class OverviewTotals(Body):
    waiting: Annotated[int, Field(ge=0)]
    assigned: Annotated[int, Field(ge=0)] = Field(description="conversations an agent has now")
    online: Annotated[int, Field(ge=0)]
    away: Annotated[int, Field(ge=0)]
    offline: Annotated[int, Field(ge=0)]
    open_chats: Annotated[int, Field(ge=0)]
    free_slots: Annotated[int, Field(ge=0)] = Field(
        description="chats auto-assignment can still give to the agents online")


class Overview(Body):
    teams: list[TeamWaiting]
    agents: list[AgentLoadView]
    capacity: Annotated[int, Field(ge=1)] = Field(description="chats auto-assignment gives one agent "
                                                               "(STORECHAT_AGENT_MAX_CHATS)")
    totals: OverviewTotals


class TeamRequests(Body):
    team: Team
    requests: list[RequestView] = Field(description="newest first")


class TeamRequestList(Body):
    teams: list[TeamRequests]
