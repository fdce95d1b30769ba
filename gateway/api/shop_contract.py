"""The shop API's and the bot's answers that are no domain model of their own: the
envelopes around orders and requests, and the errors that carry more than a message."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from gateway.json_input import Body
from gateway.shop.orders import OrderView
from gateway.shop.shopper_requests import RequestView
from gateway.shop.verification import MAX_LISTED_ORDERS


class Error(Body):
    """Every error of the API: a code to act on, a message for the developer; some add a field or two."""

    error: str
    message: str


class NoMatchError(Error):
    error: Literal["no_match"]
    attempts_left: Annotated[int, Field(ge=0, description="typed proofs left before this client must wait")]
    retry_after: Annotated[int | None, Field(ge=1, description="with no attempts left: the seconds this client "
                                             "now waits before its next typed proof (as Retry-After)")] = None


class TooManyAttemptsError(Error):
    error: Literal["too_many_attempts"]
    retry_after: Annotated[int, Field(ge=1, description="seconds to wait (also the Retry-After header)")]


class RateLimitedError(Error):
    """Any /api/v1 request over a rate rule of config/limits.yml (README: Limits)."""

    error: Literal["rate_limited"]
    retry_after: Annotated[int, Field(ge=1, description="seconds to wait (also the Retry-After header)")]


class RefusedError(Error):
    error: Literal["too_late", "not_delivered", "return_window_over", "damage_window_over", "invalid_transition"]
    status: str = Field(description="the order's (or the return's) current status")


class ProvenOrder(Body):
    order: OrderView


class ProvenOrders(Body):
    orders: Annotated[list[OrderView], Field(max_length=MAX_LISTED_ORDERS, description="newest first")]


class RequestAnswer(Body):
    request: RequestView


class Requests(Body):
    requests: Annotated[list[RequestView], Field(description="oldest first")]


class Accepted(Body):
    accepted: Literal[True]
