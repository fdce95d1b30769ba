"""An order's record: its parts as storechat holds them, and its stored form read back.

The shapes here are checked when an order is written (gateway/shop/orders.py parses the
shop's JSON with the input rules). Redis keeps what was written then, so the stored form
is read back without those rules: an order stored before a rule tightened (a quantity of
1000, a tab in an item's name, a year before 2000) stays readable, for verification, the
case, the privacy export and notifications alike.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from core.types import Channel
from gateway.json_input import Body, Money, Quantity, ShortText, Sku, Text, problem
from gateway.texts import languages_in

COUNTRY = r"[A-Z]{2}"
# Where a notification can go: an E.164 number (SMS, WhatsApp), a Messenger PSID, or the
# widget's web session id (the same form channels/webchat.py accepts).
NOTIFY_ADDRESSES = {
    Channel.SMS: re.compile(r"\+[1-9][0-9]{6,14}"),
    Channel.WHATSAPP: re.compile(r"\+[1-9][0-9]{6,14}"),
    Channel.MESSENGER: re.compile(r"[0-9]{1,32}"),
    Channel.WEB: re.compile(r"[A-Za-z0-9_-]{20,64}"),
    # The customer's e-mail address (channels/email.py keeps addresses lower-cased).
    Channel.EMAIL: re.compile(r"[^@\s<>]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,63}"),
}
# The languages of the gateway's texts: a file in gateway/locales/ adds one.
NOTIFY_LOCALES = languages_in()


class OrderStatus(StrEnum):
    PLACED = "placed"
    CONFIRMED = "confirmed"
    PACKED = "packed"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELAYED = "delayed"
    CANCELLED = "cancelled"


class Carrier(StrEnum):
    DHL = "DHL"
    DPD = "DPD"


STATUSES = tuple(status.value for status in OrderStatus)
# Left the warehouse (a shop may report only "delivered"); not "delayed": late can be before shipping.
SHIPPED_STATUSES = frozenset({OrderStatus.SHIPPED, OrderStatus.IN_TRANSIT, OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED})


class Item(Body):
    sku: Sku
    name: ShortText
    quantity: Quantity
    price: Money


class Address(Body):
    name: ShortText
    street: ShortText
    postal_code: Annotated[str, Text(max_length=12)]
    city: ShortText
    country: Annotated[str, Text(max_length=2, pattern=COUNTRY), Field(description="ISO 3166-1 alpha-2")]


@dataclass(frozen=True, slots=True)
class OrderEvent:
    status: OrderStatus
    at: datetime
    location: str | None = None
    note: str | None = None


_ADDRESS_FORMS = {
    Channel.SMS: "a phone number in E.164 form like +4915112345678",
    Channel.WHATSAPP: "a phone number in E.164 form like +4915112345678",
    Channel.MESSENGER: "the customer's page-scoped id (digits)",
    Channel.WEB: "the widget's session id (StorechatWidget.sessionId())",
    Channel.EMAIL: "the customer's e-mail address",
}


class Notify(Body):
    """Where the customer wants news of the shipment: the statuses of config/notifications.yml
    are told there (never in the quiet hours, once per event). Only the shop's answers show it,
    never the bot's."""

    channel: Channel
    address: Annotated[str, Text(max_length=254), Field(
        examples=["+4915112345678"], description="; ".join(f"{c.value}: {f}" for c, f in _ADDRESS_FORMS.items()))]
    locale: Annotated[str, Field(json_schema_extra={"enum": list(NOTIFY_LOCALES)})]

    @field_validator("address")
    @classmethod
    def _fits_the_channel(cls, address: str, info: ValidationInfo) -> str:
        channel = info.data.get("channel")
        if channel is not None and not NOTIFY_ADDRESSES[channel].fullmatch(address):
            # "must match <regex>" would say less than what the channel wants.
            raise problem(f"must be {_ADDRESS_FORMS[channel]}")
        return address

    @field_validator("locale")
    @classmethod
    def _a_language_of_ours(cls, locale: str) -> str:
        if locale not in NOTIFY_LOCALES:
            raise problem("must be one of " + ", ".join(NOTIFY_LOCALES))
        return locale


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    email: str
    items: tuple[Item, ...]
    total: str
    currency: str
    status: OrderStatus
    placed_at: datetime
    phone: str | None = None
    postal_code: str | None = None
    customer_name: str | None = None
    carrier: Carrier | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    estimated_delivery: date | None = None
    invoice_url: str | None = None
    shipping_address: Address | None = None
    notify: Notify | None = None
    events: tuple[OrderEvent, ...] = ()

    def delivered_at(self) -> datetime | None:
        """When the (last) delivered event happened: the start of the return window."""
        delivered = [event.at for event in self.events if event.status is OrderStatus.DELIVERED]
        return delivered[-1] if delivered else None

    def shipped_at(self) -> datetime | None:
        """When the order left the warehouse: its first event of a SHIPPED_STATUSES status."""
        return next((event.at for event in self.events if event.status in SHIPPED_STATUSES), None)


# --- the stored form, read back ------------------------------------------------------


def order_from_stored(raw: str | bytes) -> Order:
    """The order as it was written: types restored, the input rules not asked again."""
    data = json.loads(raw)
    address, notify = data.get("shipping_address"), data.get("notify")
    return Order(
        order_id=data["order_id"], email=data["email"], total=data["total"], currency=data["currency"],
        items=tuple(Item.model_construct(**item) for item in data["items"]),
        status=OrderStatus(data["status"]), placed_at=datetime.fromisoformat(data["placed_at"]),
        phone=data.get("phone"), postal_code=data.get("postal_code"), customer_name=data.get("customer_name"),
        carrier=None if data.get("carrier") is None else Carrier(data["carrier"]),
        tracking_number=data.get("tracking_number"), tracking_url=data.get("tracking_url"),
        estimated_delivery=None if data.get("estimated_delivery") is None else date.fromisoformat(
            data["estimated_delivery"]),
        invoice_url=data.get("invoice_url"),
        shipping_address=None if address is None else Address.model_construct(**address),
        notify=None if notify is None else Notify.model_construct(**{**notify, "channel": Channel(notify["channel"])}),
        events=tuple(OrderEvent(OrderStatus(event["status"]), datetime.fromisoformat(event["at"]), event.get("location"),
                                event.get("note")) for event in data.get("events", ())),
    )
