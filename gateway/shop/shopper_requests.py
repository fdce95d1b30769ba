"""What a verified shopper asks the shop to do: return, cancel, change the address, send an invoice.

The bot opens a request; the team that handles it finds it in Redis (one hash per
request, a list per conversation, a sorted set per team) and the consoles learn of
it at once from the request event on its case (``gateway.conversations.store.append_event``). The
policy sheet's deadlines are enforced here, so the bot can never promise what
the shop would refuse.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SerializerFunctionWrapHandler, StringConstraints, ValidationInfo
from pydantic import field_validator, model_serializer
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from core.types import Clock, EventKind, Team
from gateway import keys
from gateway.conversations.store import Fields, append_event, event_fields
from gateway.json_input import Body, InvalidInput, Text, Timestamp, problem, text_value
from gateway.shop.orders import Address, Order, OrderNumber, OrderStatus

RETURN_WINDOW = timedelta(days=30)
# A damaged or faulty item is reported within 14 days of delivery (the policy sheet).
DAMAGE_WINDOW = timedelta(days=14)
S = OrderStatus
# Cancellation is possible until the order is packed; an address change until it is shipped.
CANCELLABLE = frozenset({S.PLACED, S.CONFIRMED})
ADDRESS_CHANGEABLE = frozenset({S.PLACED, S.CONFIRMED, S.PACKED})


class RequestKind(StrEnum):
    RETURN = "return"
    CANCELLATION = "cancellation"
    ADDRESS_CHANGE = "address_change"
    INVOICE_COPY = "invoice_copy"
    DAMAGED_ITEM = "damaged_item"


class RequestStatus(StrEnum):
    OPEN = "open"
    # The agent agreed (gateway/desk/request_actions.py); a return then waits for its parcel.
    APPROVED = "approved"
    RECEIVED = "received"
    REFUNDED = "refunded"
    REJECTED = "rejected"


TEAMS = {
    RequestKind.RETURN: "logistics",
    RequestKind.CANCELLATION: "logistics",
    RequestKind.ADDRESS_CHANGE: "logistics",
    RequestKind.INVOICE_COPY: "billing",
    RequestKind.DAMAGED_ITEM: "product",
}
R = RequestStatus
# A return is open (or approved by an agent) until the parcel arrives; a refused one may be
# rejected at any step.
RETURN_TRANSITIONS = {
    R.OPEN: frozenset({R.APPROVED, R.RECEIVED, R.REJECTED}),
    R.APPROVED: frozenset({R.RECEIVED, R.REJECTED}),
    R.RECEIVED: frozenset({R.REFUNDED, R.REJECTED}),
    R.REFUNDED: frozenset[RequestStatus](),
    R.REJECTED: frozenset[RequestStatus](),
}


def waits_for_parcel(request: ShopperRequest) -> bool:
    """An approved return is not done: the parcel is still to come (an approved cancellation
    or address change is the shop's to carry out)."""
    return request.kind is RequestKind.RETURN and request.status is RequestStatus.APPROVED


class ReturnEventInput(Body):
    """open → received → refunded | rejected (open → rejected too)."""

    status: Literal[R.RECEIVED, R.REFUNDED, R.REJECTED]
    note: Annotated[str, Text(max_length=1000)] | None = None


class RequestRefused(Exception):
    """The policy does not allow the request for the order as it stands (409)."""

    def __init__(self, code: str, message: str, status: OrderStatus) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class UnknownRequest(LookupError):
    pass


class InvalidTransition(Exception):
    def __init__(self, current: RequestStatus, wanted: RequestStatus) -> None:
        super().__init__(f"a return that is {current.value} cannot become {wanted.value}")
        self.current = current


@dataclass(frozen=True, slots=True)
class ShopperRequest:
    id: str
    kind: RequestKind
    order_id: str
    conversation_id: str
    status: RequestStatus
    team: str
    created_at: datetime
    updated_at: datetime
    items: tuple[str, ...] = ()
    reason: str | None = None
    address: Address | None = None
    note: str | None = None
    # An agent's decision (gateway/desk/request_actions.py): who, refund or replacement, the label.
    decided_by: str | None = None
    resolution: str | None = None
    label_sent_at: datetime | None = None
    # The agents' actions made on it, each once (approve, reject, label, decide-refund, …).
    agent_actions: tuple[str, ...] = ()


def _sku(value: object) -> str:
    return text_value(value, "a SKU (a non-empty string)")


# Any SKU of the order (check_policy checks which): no length of its own.
OrderSku = Annotated[str, StringConstraints(min_length=1), BeforeValidator(_sku)]


class RequestInput(Body):
    """`address` is required for an address_change."""

    kind: RequestKind
    order_id: OrderNumber
    items: Annotated[tuple[OrderSku, ...], Field(min_length=1, max_length=100, description=(
        "SKUs of the order (returns; default: every item)"))] | None = None
    reason: Annotated[str, Text(max_length=2000)] | None = None
    address: Address | None = Field(None, validate_default=True)

    @field_validator("address")
    @classmethod
    def _given_for_a_change(cls, address: Address | None, info: ValidationInfo) -> Address | None:
        if address is None and info.data.get("kind") is RequestKind.ADDRESS_CHANGE:
            raise problem("is required for an address change")
        return address


def check_policy(wanted: RequestInput, order: Order, now: datetime) -> tuple[str, ...]:
    """Raise RequestRefused if the policy forbids it; the SKUs a return covers otherwise."""
    status = order.status
    if wanted.kind is RequestKind.CANCELLATION and status not in CANCELLABLE:
        raise RequestRefused("too_late", f"an order that is {status.value} can no longer be cancelled", status)
    if wanted.kind is RequestKind.ADDRESS_CHANGE and status not in ADDRESS_CHANGEABLE:
        raise RequestRefused("too_late", f"the address of an order that is {status.value} can no longer change", status)
    if wanted.kind not in (RequestKind.RETURN, RequestKind.DAMAGED_ITEM):
        return ()
    delivered_at = order.delivered_at()
    if status is not S.DELIVERED or delivered_at is None:
        raise RequestRefused("not_delivered", f"an order that is {status.value} cannot be returned yet", status)
    if wanted.kind is RequestKind.DAMAGED_ITEM and now - delivered_at > DAMAGE_WINDOW:
        raise RequestRefused("damage_window_over", "damage is reported within 14 days of delivery", status)
    if now - delivered_at > RETURN_WINDOW:
        raise RequestRefused("return_window_over", "the 30-day return window has ended", status)
    skus = [item.sku for item in order.items]
    for index, sku in enumerate(wanted.items or ()):
        if sku not in skus:
            raise InvalidInput(f"items[{index}]", f"{sku} is not an item of order {order.order_id}")
    return wanted.items or tuple(skus)


# --- JSON and Redis forms ----------------------------------------------------


class RequestView(Body):
    id: str
    kind: RequestKind
    order_id: str
    conversation_id: str
    status: RequestStatus
    team: Team
    created_at: Timestamp
    updated_at: Timestamp
    items: tuple[str, ...]
    reason: str | None
    note: str | None
    address: Address | None = None
    label_url: str | None = Field(None, description="returns only: the printable label")
    decided_by: str | None = Field(None, description="the agent who approved, rejected or decided it")
    resolution: Literal["refund", "replacement"] | None = Field(None, description="damaged_item: the decision")
    label_sent_at: Timestamp | None = Field(None, description="returns: when an agent sent the label")

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if key not in _OPTIONAL or value is not None}


_OPTIONAL = frozenset({"address", "label_url", "decided_by", "resolution", "label_sent_at"})


def request_to_json(request: ShopperRequest, public_url: str) -> dict[str, Any]:
    label = f"{public_url}/returns/{request.id}/label" if request.kind is RequestKind.RETURN else None
    return RequestView.model_validate(request).model_copy(update={"label_url": label}).model_dump(mode="json")


def _to_hash(request: ShopperRequest) -> Fields:
    return {
        "id": request.id,
        "kind": request.kind.value,
        "order_id": request.order_id,
        "conversation_id": request.conversation_id,
        "status": request.status.value,
        "team": request.team,
        "created_at": request.created_at.isoformat(),
        "updated_at": request.updated_at.isoformat(),
        "items": json.dumps(list(request.items)),
        "reason": request.reason or "",
        "address": request.address.model_dump_json() if request.address else "",
        "note": request.note or "",
        "decided_by": request.decided_by or "",
        "resolution": request.resolution or "",
        "label_sent_at": request.label_sent_at.isoformat() if request.label_sent_at else "",
        "agent_actions": json.dumps(list(request.agent_actions)),
    }


def _from_hash(raw: Mapping[Any, Any]) -> ShopperRequest:
    return ShopperRequest(
        id=raw["id"],
        kind=RequestKind(raw["kind"]),
        order_id=raw["order_id"],
        conversation_id=raw["conversation_id"],
        status=RequestStatus(raw["status"]),
        team=raw["team"],
        created_at=datetime.fromisoformat(raw["created_at"]),
        updated_at=datetime.fromisoformat(raw["updated_at"]),
        items=tuple(json.loads(raw["items"])),
        reason=raw["reason"] or None,
        address=Address.model_validate_json(raw["address"]) if raw["address"] else None,
        note=raw["note"] or None,
        # Absent in requests stored before agents could act on them.
        decided_by=raw.get("decided_by") or None,
        resolution=raw.get("resolution") or None,
        label_sent_at=datetime.fromisoformat(raw["label_sent_at"]) if raw.get("label_sent_at") else None,
        agent_actions=tuple(json.loads(raw.get("agent_actions") or "[]")),
    )


# A change to a request: the request as it becomes, more data for its case event, and what
# else goes into the same transaction (the shop's webhook); None: made already.
Also = Callable[[Pipeline, ShopperRequest], None]
Step = Callable[[ShopperRequest, datetime], tuple[ShopperRequest, Mapping[str, Any], Also] | None]


class RequestStore:
    def __init__(self, redis: Redis, public_url: str, clock: Clock = time.time) -> None:
        self.redis = redis
        self.public_url = public_url
        self.clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _record(self, pipe: Pipeline, request: ShopperRequest, extra: Mapping[str, Any] | None = None) -> None:
        """Queue, on `pipe`, the request's step as an event on its case (for whoever
        takes the case) and its announcement to the consoles; `extra`: more of the step's data."""
        data = {**request_to_json(request, self.public_url), **(extra or {})}
        append_event(pipe, request.conversation_id,
                     event_fields(EventKind.REQUEST, request.updated_at.timestamp(), data=data))

    async def open(self, conversation_id: str, wanted: RequestInput, order: Order) -> tuple[ShopperRequest, bool]:
        """Open the request (True) or give back the open one of its kind for the order (False).

        A double tap or a retried call must not print a second return label nor put the
        case twice on the team's list. The conversation's list of requests is WATCHed
        from the look for an open twin until the new request is on it, so two parallel
        calls cannot both find none: the loser retries and finds the winner's. (A key
        per order and kind would cover other conversations too, but would have to be
        cleared on every way a request closes; a shopper opening the same request from
        two chats is rare, and the team sees both.) Raises RequestRefused or InvalidInput.
        """
        listed = keys.conversation_requests(conversation_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(listed)
                    twin = await self._open_twin(conversation_id, wanted.kind, order.order_id)
                    if twin is not None:
                        return twin, False
                    request = self._new(conversation_id, wanted, order)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(keys.request(request.id), mapping=_to_hash(request))
                    pipe.rpush(listed, request.id)
                    pipe.zadd(keys.team_requests(request.team), {request.id: request.created_at.timestamp()})
                    self._record(pipe, request)
                    await pipe.execute()
                    return request, True
                except WatchError:
                    continue  # another request joined the conversation: look again

    async def _open_twin(self, conversation_id: str, kind: RequestKind, order_id: str) -> ShopperRequest | None:
        for request in await self.for_conversation(conversation_id):
            if request.kind is kind and request.order_id == order_id and request.status is RequestStatus.OPEN:
                return request
        return None

    def _new(self, conversation_id: str, wanted: RequestInput, order: Order) -> ShopperRequest:
        """A request the policy allows (RequestRefused or InvalidInput otherwise), not yet stored."""
        now = self.now()
        items = check_policy(wanted, order, now)
        return ShopperRequest(
            # The id is the only key to the public return-label page: unguessable.
            id=secrets.token_urlsafe(18), kind=wanted.kind, order_id=order.order_id,
            conversation_id=conversation_id, status=RequestStatus.OPEN, team=TEAMS[wanted.kind],
            created_at=now, updated_at=now, items=items, reason=wanted.reason, address=wanted.address,
        )

    async def get(self, request_id: str) -> ShopperRequest | None:
        raw = await self.redis.hgetall(keys.request(request_id))
        return _from_hash(raw) if raw else None

    async def for_conversation(self, conversation_id: str) -> list[ShopperRequest]:
        ids = await self.redis.lrange(keys.conversation_requests(conversation_id), 0, -1)
        return await self.many([str(request_id) for request_id in ids])

    async def many(self, request_ids: list[str]) -> list[ShopperRequest]:
        """The requests of these ids that exist, in that order, read in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for request_id in request_ids:
                pipe.hgetall(keys.request(request_id))
            raws = await pipe.execute()
        return [_from_hash(raw) for raw in raws if raw]

    async def change(self, request_id: str, step: Step) -> tuple[ShopperRequest, bool]:
        """Apply `step` to the request in one transaction (WATCHed, so two agents' clicks
        cannot both win): the updated request and True, or the request unchanged and False
        when `step` finds the change made already (None). `step` may raise to refuse it."""
        key = keys.request(request_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.hgetall(key)
                    if not raw:
                        raise UnknownRequest(request_id)
                    current = _from_hash(raw)
                    made = step(current, self.now())
                    if made is None:
                        return current, False  # leaving the pipeline unwatches
                    updated, extra, also = made
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(key, mapping=_to_hash(updated))
                    self._record(pipe, updated, extra)
                    also(pipe, updated)
                    await pipe.execute()
                    return updated, True
                except WatchError:
                    continue

    async def advance_return(self, return_id: str, status: RequestStatus, note: str | None) -> ShopperRequest:
        """The warehouse's word on a return: received, then refunded or rejected."""
        key = keys.request(return_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.hgetall(key)
                    if not raw or raw["kind"] != RequestKind.RETURN.value:
                        raise UnknownRequest(return_id)
                    current = _from_hash(raw)
                    if status not in RETURN_TRANSITIONS[current.status]:
                        raise InvalidTransition(current.status, status)
                    updated = replace(current, status=status, updated_at=self.now(), note=note or current.note)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(key, mapping=_to_hash(updated))
                    self._record(pipe, updated)
                    await pipe.execute()
                    return updated
                except WatchError:
                    continue
