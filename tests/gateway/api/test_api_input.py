"""What /api/v1 refuses before it reaches Redis: ids that would name another key, digits of
other scripts, quantities and dates no order has, and names that would mislead an agent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Channel, Team
from gateway.conversations.store import ConversationStore
from gateway.app import create_app
from gateway.desk.agents import AgentRole, AgentStore
from gateway.settings import Settings
from tests.gateway.shop_support import SHOP, order_body, put_order

Client = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
PASSWORD = "korrekt-pferd-batterie"
ARABIC_INDIC_ORDER = "١٠٤٢١٥"  # 104215 in Arabic-Indic digits


async def test_conversation_ids_that_name_other_keys_are_a_json_404(
        aiohttp_client: Client, redis: Redis, api_settings: Settings) -> None:
    # Plain http: the session cookie is not Secure, so the test client sends it back.
    api = await aiohttp_client(create_app(api_settings.replace(public_url=None)))
    conversation = await ConversationStore(redis).open(Channel.SMS, "+4917012345678", "de")
    await AgentStore(redis).put("sue@nordlicht-home.example", PASSWORD, team=Team.GENERAL,
                                role=AgentRole.SUPERVISOR)
    login = await api.post("/api/v1/agent/login", json={"email": "sue@nordlicht-home.example", "password": PASSWORD})
    csrf = {"X-CSRF-Token": (await login.json())["csrf_token"]}
    assert (await api.get(f"/api/v1/agent/conversations/{conversation.id}")).status == 200
    for path in (f"{conversation.id}:events", f"{conversation.id}:csat", "a:b"):
        read = await api.get(f"/api/v1/agent/conversations/{path}")
        claim = await api.post(f"/api/v1/agent/conversations/{path}/claim", headers=csrf)
        assert (read.status, claim.status) == (404, 404)
        assert read.content_type == "application/json" and (await read.json())["error"] == "not_found"


async def test_order_numbers_and_prices_take_ascii_digits_only(api: TestClient) -> None:  # type: ignore[type-arg]
    body = order_body(order_id=ARABIC_INDIC_ORDER)
    refused = await api.put(f"/api/v1/orders/{ARABIC_INDIC_ORDER}", json=body, headers=SHOP)
    assert refused.status == 422 and (await refused.json())["error"] == "invalid_order_id"
    price = await api.put("/api/v1/orders/104233", json=order_body(total="٩٤.٣٠"), headers=SHOP)
    assert price.status == 422 and (await price.json())["message"].startswith("total: must match")


def _item(**changes: Any) -> list[dict[str, Any]]:
    return [{"sku": "NL-1001", "name": "Leinen-Kissenhülle", "quantity": 2, "price": "29.90", **changes}]


@pytest.mark.parametrize(("changes", "message"), [
    ({"items": _item(quantity=1000)}, "items[0].quantity: must be at most 999"),
    ({"placed_at": "1900-01-01T00:00:00+00:00"}, "placed_at: must be in the years 2000 to 2099"),
    ({"estimated_delivery": "9999-12-31"}, "estimated_delivery: must be in the years 2000 to 2099"),
    ({"customer_name": "Anna \u202eBerg"}, "customer_name: must be one line, without tabs or bidirectional formatting"),
    ({"items": _item(name="Kissen\u2066")}, "items[0].name: must be one line, without tabs or bidirectional formatting"),
    ({"customer_name": "Anna\tBerg"}, "customer_name: must be one line, without tabs or bidirectional formatting"),
    ({"items": _item(name="Kissen\x00")}, "items[0].name: must not contain control characters"),
    ({"shipping_address": {"name": "Anna\nBerg", "street": "Invalidenstraße 12", "postal_code": "10115",
                           "city": "Berlin", "country": "DE"}}, "shipping_address.name: must be one line"),
])
async def test_an_order_beyond_sane_bounds_is_a_422_naming_the_field(
        api: TestClient, changes: dict[str, Any], message: str) -> None:  # type: ignore[type-arg]
    response = await api.put("/api/v1/orders/104233", json=order_body(**changes), headers=SHOP)
    assert response.status == 422
    assert (await response.json())["message"].startswith(message)


async def test_a_shipment_event_beyond_the_years_is_a_422(api: TestClient) -> None:  # type: ignore[type-arg]
    await put_order(api)
    response = await api.post("/api/v1/orders/104233/events", json={"status": "shipped", "at": "2150-01-01T10:00:00Z"},
                              headers=SHOP)
    assert response.status == 422 and "at: must be in the years 2000 to 2099" in (await response.json())["message"]
