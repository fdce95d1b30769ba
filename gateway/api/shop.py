"""The /api/v1 routes: the shop pushes orders and return updates; the bot verifies
shoppers, reads their orders and opens requests on their behalf.

The contract is in the OpenAPI document built by gateway/api/openapi.py (served at
/api/v1/openapi.json); `ROUTES` is the one list both are checked against.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web
from redis.asyncio import Redis

from gateway.api import openapi
from gateway.api.http import (
    ApiError, Handler, Role, answer, authorise, caller, constrained_path, invalid_input_as, json_errors, limit,
    read_body, read_json,
)
from gateway.api.shop_contract import ProvenOrder, ProvenOrders, RequestAnswer, Requests
from gateway.api.storefront_events import post_storefront_event
from gateway.limits.limiter import Limiter
from gateway.settings import Settings
from gateway.shop.orders import Order, OrderEvent, OrderEventInput, OrderStore, OrderView, ShopOrderView, parse_order
from gateway.shop.shopper_requests import (
    InvalidTransition,
    RequestInput,
    RequestRefused,
    RequestStore,
    ReturnEventInput,
    UnknownRequest,
    request_to_json,
)
from gateway.shop.verification import NoMatch, TokenProofsDisabled, TooManyAttempts, VerificationInput, Verifier


class OrderEventListener(Protocol):
    """Told of every shipment event once it is stored (gateway/notifications/ tells the customer)."""

    async def __call__(self, order: Order, event: OrderEvent) -> None: ...


@dataclass(frozen=True, slots=True)
class ShopApi:
    settings: Settings
    orders: OrderStore
    verifier: Verifier
    requests: RequestStore
    order_events: OrderEventListener | None = None

    @classmethod
    def build(cls, redis: Redis, settings: Settings, limiter: Limiter) -> ShopApi:
        orders = OrderStore(redis)
        return cls(
            settings=settings,
            orders=orders,
            verifier=Verifier(redis, orders, settings.customer_token_secret, limiter),
            requests=RequestStore(redis, settings.effective_public_url),
        )

    @property
    def tokens(self) -> Mapping[Role, str | None]:
        return {Role.SHOP: self.settings.shop_token, Role.BOT: self.settings.bot_token}

    @property
    def context(self) -> Mapping[str, Any]:
        """What the bodies' models need to know of the settings."""
        return {"order_pattern": self.settings.order_number_pattern}

    def order_id(self, value: str) -> str:
        """A path's order id; one that cannot exist is refused before any lookup."""
        if not self.settings.order_number_pattern.fullmatch(value):
            raise ApiError(422, "invalid_order_id",
                           f"order_id must match {self.settings.order_number_pattern.pattern}")
        return value


SHOP_API = web.AppKey("shop_api", ShopApi)


def _api(request: web.Request) -> ShopApi:
    return request.config_dict[SHOP_API]


def _order_json(order: Order, status: int = 200) -> web.Response:
    """An order in an answer to the shop, which may read back where it asked news to go."""
    return answer(ShopOrderView, order, status)


# --- shop ----------------------------------------------------------------------


async def put_order(request: web.Request) -> web.Response:
    api = _api(request)
    order_id = api.order_id(request.match_info["order_id"])
    body = await read_json(request)
    with invalid_input_as("invalid_order"):
        order = parse_order(body, order_id)
    stored, created = await api.orders.put(order)
    return _order_json(stored, 201 if created else 200)


async def get_order(request: web.Request) -> web.Response:
    api = _api(request)
    order = await api.orders.get(api.order_id(request.match_info["order_id"]))
    if order is None:
        raise ApiError(404, "not_found", "no such order")
    return _order_json(order)


async def post_order_event(request: web.Request) -> web.Response:
    api = _api(request)
    order_id = api.order_id(request.match_info["order_id"])
    sent = await read_body(request, OrderEventInput, "invalid_event")
    event = sent.event(api.orders.now())
    order = await api.orders.add_event(order_id, event, estimated_delivery=sent.estimated_delivery)
    if order is None:
        raise ApiError(404, "not_found", "no such order: PUT it first")
    if api.order_events is not None:
        await api.order_events(order, event)
    return _order_json(order, 201)


async def post_return_event(request: web.Request) -> web.Response:
    api = _api(request)
    sent = await read_body(request, ReturnEventInput, "invalid_event")
    try:
        updated = await api.requests.advance_return(request.match_info["return_id"], sent.status, sent.note)
    except UnknownRequest:
        raise ApiError(404, "not_found", "no such return") from None
    except InvalidTransition as exc:
        raise ApiError(409, "invalid_transition", str(exc), extra={"status": exc.current.value}) from None
    return answer(RequestAnswer, {"request": request_to_json(updated, api.requests.public_url)})


# --- bot -------------------------------------------------------------------------


async def post_verification(request: web.Request) -> web.Response:
    api = _api(request)
    sent = await read_body(request, VerificationInput, "invalid_request", context=api.context)
    try:
        order = await api.verifier.verify(request.match_info["cid"], sent.order_id, sent.proof)
    except NoMatch as exc:
        waits = {} if exc.retry_after is None else {"retry_after": exc.retry_after}
        raise ApiError(404, "no_match", "no order matches this order id and proof",
                       extra={"attempts_left": exc.attempts_left, **waits},
                       headers={"Retry-After": str(exc.retry_after)} if exc.retry_after else None) from None
    except TooManyAttempts as exc:
        raise ApiError(429, "too_many_attempts", f"too many failed attempts; try again in {exc.retry_after} s",
                       extra={"retry_after": exc.retry_after}, headers={"Retry-After": str(exc.retry_after)}) from None
    except TokenProofsDisabled:
        raise ApiError(422, "token_proofs_disabled",
                       "customer tokens cannot be checked: STORECHAT_CUSTOMER_TOKEN_SECRET is not set") from None
    return answer(ProvenOrder, {"order": order})


async def list_conversation_orders(request: web.Request) -> web.Response:
    orders = await _api(request).verifier.proven_orders(request.match_info["cid"])
    return answer(ProvenOrders, {"orders": orders})


async def _proven_order(api: ShopApi, conversation_id: str, order_id: str) -> Order:
    """The order if the conversation proved it; an unknown order looks exactly the same."""
    order = await api.orders.get(order_id)
    if order is None or not await api.verifier.is_proven(conversation_id, order):
        raise ApiError(403, "not_verified", "the shopper has not proven this order in this conversation")
    return order


async def get_conversation_order(request: web.Request) -> web.Response:
    api = _api(request)
    order_id = api.order_id(request.match_info["order_id"])
    return answer(OrderView, await _proven_order(api, request.match_info["cid"], order_id))


async def post_request(request: web.Request) -> web.Response:
    api = _api(request)
    conversation_id = request.match_info["cid"]
    wanted = await read_body(request, RequestInput, "invalid_request", context=api.context)
    order = await _proven_order(api, conversation_id, wanted.order_id)
    try:
        with invalid_input_as("invalid_request"):
            opened, created = await api.requests.open(conversation_id, wanted, order)
    except RequestRefused as exc:
        raise ApiError(409, exc.code, str(exc), extra={"status": exc.status.value}) from None
    return answer(RequestAnswer, {"request": request_to_json(opened, api.requests.public_url)},
                  201 if created else 200)


async def list_requests(request: web.Request) -> web.Response:
    api = _api(request)
    found = await api.requests.for_conversation(request.match_info["cid"])
    return answer(Requests, {"requests": [request_to_json(r, api.requests.public_url) for r in found]})


async def get_openapi(request: web.Request) -> web.Response:
    settings = _api(request).settings
    return web.json_response(openapi.document(settings.effective_public_url, settings.order_number_pattern.pattern))


# --- wiring ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    # As in the OpenAPI document; aiohttp's placeholders get their patterns in `add_shop_api`.
    path: str
    handler: Handler
    role: Role | None


ROUTES = (
    Route("GET", "/openapi.json", get_openapi, None),
    Route("PUT", "/orders/{order_id}", put_order, Role.SHOP),
    Route("GET", "/orders/{order_id}", get_order, Role.SHOP),
    Route("POST", "/orders/{order_id}/events", post_order_event, Role.SHOP),
    Route("POST", "/returns/{return_id}/events", post_return_event, Role.SHOP),
    Route("POST", "/storefront/events", post_storefront_event, Role.SHOP),
    Route("POST", "/conversations/{cid}/verifications", post_verification, Role.BOT),
    Route("GET", "/conversations/{cid}/orders", list_conversation_orders, Role.BOT),
    Route("GET", "/conversations/{cid}/orders/{order_id}", get_conversation_order, Role.BOT),
    Route("POST", "/conversations/{cid}/requests", post_request, Role.BOT),
    Route("GET", "/conversations/{cid}/requests", list_requests, Role.BOT),
)

def _guarded(handler: Handler, role: Role | None) -> Handler:
    if role is None:
        return handler

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        authorise(request.headers.get("Authorization"), role, _api(request).tokens)
        # Per token, wherever it is sent from: a leaked or runaway one is slowed down too. Not
        # the bot's: each of its calls is one shopper's turn, which that shopper's own limits
        # bound already, and one shared budget would cap every shopper's order questions at once.
        if role is not Role.BOT:
            await limit(request, "api_per_token", role.value)
        return await handler(request)

    return guarded


@web.middleware
async def _per_address(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every /api/v1 request (shop and agent API, and anything unauthenticated) counts against
    api_per_address first; the action server's, carrying the bot's token, do not (see _guarded)."""
    if not _from_the_bot(request):
        await limit(request, "api_per_address", caller(request, _api(request).settings.proxies))
    return await handler(request)


def _from_the_bot(request: web.Request) -> bool:
    try:
        authorise(request.headers.get("Authorization"), Role.BOT, _api(request).tokens)
    except ApiError:
        return False
    return True


def api_app() -> web.Application:
    """The /api/v1 sub-application; the parent app must provide SHOP_API."""
    api = web.Application(middlewares=[json_errors, _per_address])
    for route in ROUTES:
        api.router.add_route(route.method, constrained_path(route.path), _guarded(route.handler, route.role))
    return api
