"""The /api/v1 shop API over HTTP, against the real gateway app and a real Redis."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import EventKind
from gateway import keys
from gateway.api.agent import ROUTES as AGENT_ROUTES
from gateway.api.callbacks import REPORT_ROUTE as CALLBACK_REPORT_ROUTE
from gateway.api.callbacks import ROUTES as CALLBACK_ROUTES
from gateway.api.openapi import document
from gateway.api.privacy import ROUTES as PRIVACY_ROUTES
from gateway.api.reports import ROUTES as REPORT_ROUTES
from gateway.api.shop import ROUTES
from gateway.api.supervisor import ROUTES as SUPERVISOR_ROUTES
from gateway.conversations.store import ConversationStore
from gateway.run import dev_secrets, processes
from gateway.settings import REPO_ROOT, Settings
from gateway.shop.orders import OrderStore
from tests.gateway.shop_support import BOT, CID, PUBLIC_URL, SHOP, order_body, put_order, verify


def _ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


async def _event(api: TestClient, order_id: str, status: str, **extra: Any) -> None:
    response = await api.post(f"/api/v1/orders/{order_id}/events", json={"status": status, **extra}, headers=SHOP)
    assert response.status == 201, await response.text()


async def _request(api: TestClient, cid: str = CID, **body: Any) -> tuple[int, Any]:
    response = await api.post(f"/api/v1/conversations/{cid}/requests", json=body, headers=BOT)
    return response.status, await response.json()


# --- tokens ------------------------------------------------------------------------


async def test_missing_or_wrong_bearer_is_401_with_a_challenge(api: TestClient) -> None:
    for headers in ({}, {"Authorization": "Basic c2hvcDpzaG9w"}, {"Authorization": "Bearer wrong"}):
        response = await api.get("/api/v1/orders/104233", headers=headers)
        assert response.status == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert set(await response.json()) == {"error", "message"}


async def test_the_other_roles_token_is_403_both_ways(api: TestClient) -> None:
    shop_route = await api.get("/api/v1/orders/104233", headers=BOT)
    bot_route = await api.get(f"/api/v1/conversations/{CID}/orders", headers=SHOP)

    assert (shop_route.status, (await shop_route.json())["error"]) == (403, "forbidden")
    assert (bot_route.status, (await bot_route.json())["error"]) == (403, "forbidden")


async def test_unset_tokens_switch_the_api_off(api_without_tokens: TestClient) -> None:
    response = await api_without_tokens.get("/api/v1/orders/104233", headers=SHOP)

    assert response.status == 503
    assert (await response.json())["error"] == "api_disabled"
    assert (await api_without_tokens.get("/api/v1/openapi.json")).status == 200


# --- orders ------------------------------------------------------------------------


async def test_put_creates_then_updates_and_get_returns_the_history(api: TestClient) -> None:
    body = order_body()
    created = await api.put("/api/v1/orders/104233", json=body, headers=SHOP)
    updated = await api.put("/api/v1/orders/104233", json={**body, "status": "confirmed"}, headers=SHOP)
    read = await api.get("/api/v1/orders/104233", headers=SHOP)

    assert (created.status, updated.status, read.status) == (201, 200, 200)
    order = await read.json()
    assert {k: v for k, v in order.items() if k != "events"} == {**body, "status": "confirmed", "invoice_url": None}
    assert [e["status"] for e in order["events"]] == ["placed", "confirmed"]


async def test_shipment_events_move_the_status(api: TestClient) -> None:
    await put_order(api)

    response = await api.post("/api/v1/orders/104233/events", headers=SHOP, json={
        "status": "delayed", "at": "2026-11-24T18:00:00+01:00", "location": "Köln", "estimated_delivery": "2026-11-28",
    })

    order = await response.json()
    assert response.status == 201
    assert (order["status"], order["estimated_delivery"]) == ("delayed", "2026-11-28")
    assert order["events"][-1] == {"status": "delayed", "at": "2026-11-24T18:00:00+01:00", "location": "Köln"}


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/v1/orders/999999", None),
    ("POST", "/api/v1/orders/999999/events", {"status": "shipped"}),
    ("POST", "/api/v1/returns/AAAAAAAAAAAAAAAAAAAAAAAA/events", {"status": "received"}),
    ("GET", "/api/v1/no-such-route", None),
])
async def test_unknown_things_are_404_json(api: TestClient, method: str, path: str, body: Any) -> None:
    response = await api.request(method, path, json=body, headers=SHOP)

    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


async def test_bad_bodies_get_clear_errors(api: TestClient) -> None:
    not_json = await api.put("/api/v1/orders/104233", data=b"{nope", headers=SHOP)
    wrong_type = await api.put("/api/v1/orders/104233", json=order_body(items=[{"sku": "A", "name": "B",
                               "quantity": "2", "price": "1.00"}]), headers=SHOP)
    unknown_status = await api.put("/api/v1/orders/104233", json=order_body(status="lost"), headers=SHOP)
    bad_id = await api.put("/api/v1/orders/ABC-1", json=order_body(order_id="ABC-1"), headers=SHOP)

    assert (not_json.status, (await not_json.json())["error"]) == (400, "invalid_json")
    assert wrong_type.status == 422
    assert await wrong_type.json() == {"error": "invalid_order", "message": "items[0].quantity: must be an integer ≥ 1"}
    assert (unknown_status.status, (await unknown_status.json())["error"]) == (422, "invalid_order")
    assert "status" in (await unknown_status.json())["message"]
    assert (bad_id.status, (await bad_id.json())["error"]) == (422, "invalid_order_id")


async def test_a_bearer_token_that_is_not_utf8_is_401(api: TestClient) -> None:
    reader, writer = await asyncio.open_connection(api.host, api.port)
    writer.write(b"GET /api/v1/orders/104233 HTTP/1.1\r\nHost: test\r\n"
                 b"Authorization: Bearer \xff\xfe\r\nConnection: close\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"401", answer
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["error"] == "invalid_token"


@pytest.mark.parametrize("body", [b"[" * 20_000 + b"]" * 20_000, b'{"total": ' + b"9" * 5000 + b"}"],
                         ids=["deeply nested", "huge number"])
async def test_json_the_parser_chokes_on_is_400(api: TestClient, body: bytes) -> None:
    response = await api.put("/api/v1/orders/104233", data=body, headers=SHOP)

    assert (response.status, (await response.json())["error"]) == (400, "invalid_json")


async def test_lone_surrogates_are_422_with_the_field_path(api: TestClient, redis: Redis) -> None:
    order = await api.put("/api/v1/orders/104233", json=order_body(customer_name="Anna \ud800"), headers=SHOP)
    address = order_body()["shipping_address"] | {"city": "Berlin\udfff"}
    nested = await api.put("/api/v1/orders/104233", json=order_body(shipping_address=address), headers=SHOP)
    proof = await api.post(f"/api/v1/conversations/{CID}/verifications", headers=BOT,
                           json={"order_id": "104233", "proof": {"kind": "email", "value": "a\ud800@example.com"}})

    assert (order.status, await order.json()) == (422, {
        "error": "invalid_order", "message": "customer_name: must be valid Unicode text (no lone surrogates)"})
    assert (nested.status, (await nested.json())["message"].split(":")[0]) == (422, "shipping_address.city")
    assert (proof.status, (await proof.json())["message"].split(":")[0]) == (422, "proof.value")
    assert await redis.get(keys.verification_failures(CID)) is None, "no attempt was reserved"
    assert await redis.get(keys.order("104233")) is None


async def test_a_body_over_64_kib_is_413_even_without_content_length(api: TestClient) -> None:
    huge = json.dumps(order_body(customer_name="x" * 70_000)).encode()

    async def chunks() -> Any:
        for start in range(0, len(huge), 8192):
            yield huge[start:start + 8192]

    declared = await api.put("/api/v1/orders/104233", data=huge, headers=SHOP)
    chunked = await api.put("/api/v1/orders/104233", data=chunks(), headers=SHOP)

    for response in (declared, chunked):
        assert response.status == 413
        assert (await response.json())["error"] == "body_too_large"


# --- requests ------------------------------------------------------------------------


async def _proven(api: TestClient, cid: str = CID, **changes: Any) -> dict[str, Any]:
    order = await put_order(api, **changes)
    assert (await verify(api, order["order_id"], "email", order["email"], cid=cid))[0] == 200
    return order


@pytest.mark.parametrize(("kind", "allowed", "refused"), [
    ("cancellation", ["placed", "confirmed"], ["packed", "shipped", "delivered", "delayed"]),
    ("address_change", ["placed", "confirmed", "packed"], ["shipped", "in_transit", "out_for_delivery"]),
])
async def test_cancellation_and_address_change_have_deadlines(
    api: TestClient, kind: str, allowed: list[str], refused: list[str],
) -> None:
    address = {"name": "Anna Berg", "street": "Torstraße 1", "postal_code": "10119", "city": "Berlin", "country": "DE"}
    for status in allowed + refused:
        # One conversation per status: an open twin in the same one would be given back.
        await _proven(api, cid=status, status=status)
        code, body = await _request(api, cid=status, kind=kind, order_id="104233", address=address)
        if status in allowed:
            assert code == 201, status
            assert body["request"]["team"] == "logistics" and body["request"]["status"] == "open"
        else:
            assert (code, body["error"], body["status"]) == (409, "too_late", status)


async def test_an_open_request_is_not_opened_twice(api: TestClient, redis: Redis) -> None:
    """A double tap or a retried call gives back the open return, not a second label."""
    await _proven(api)
    await _event(api, "104233", "delivered", at=_ago(days=2))

    first = await _request(api, kind="return", order_id="104233", reason="zu klein")
    again = await _request(api, kind="return", order_id="104233", reason="zu klein")
    invoice = await _request(api, kind="invoice_copy", order_id="104233")

    assert (first[0], again[0], invoice[0]) == (201, 200, 201)
    assert again[1] == first[1]
    assert await redis.zcard(keys.team_requests("logistics")) == 1
    listed = await (await api.get(f"/api/v1/conversations/{CID}/requests", headers=BOT)).json()
    assert [r["kind"] for r in listed["requests"]] == ["return", "invoice_copy"]


async def test_parallel_identical_requests_open_one(api: TestClient, redis: Redis) -> None:
    await _proven(api)

    results = await asyncio.gather(*(_request(api, kind="cancellation", order_id="104233") for _ in range(6)))

    assert sorted(code for code, _ in results) == [200] * 5 + [201]
    assert len({body["request"]["id"] for _, body in results}) == 1
    assert await redis.zcard(keys.team_requests("logistics")) == 1


async def test_a_closed_return_does_not_stop_a_new_one(api: TestClient) -> None:
    await _proven(api)
    await _event(api, "104233", "delivered", at=_ago(days=2))
    _, body = await _request(api, kind="return", order_id="104233", items=["NL-1001"])
    await api.post(f"/api/v1/returns/{body['request']['id']}/events", json={"status": "rejected"}, headers=SHOP)

    code, second = await _request(api, kind="return", order_id="104233", items=["NL-1001"])

    assert code == 201 and second["request"]["id"] != body["request"]["id"]


async def test_a_lone_surrogate_in_a_requests_items_is_422(api: TestClient) -> None:
    await _proven(api)

    code, body = await _request(api, kind="return", order_id="104233", items=["NL-1001", "NL\ud800"])

    assert (code, body["error"]) == (422, "invalid_request") and body["message"].startswith("items[1]: ")


async def test_an_address_change_needs_the_new_address(api: TestClient) -> None:
    await _proven(api)

    code, body = await _request(api, kind="address_change", order_id="104233")

    assert (code, body["error"]) == (422, "invalid_request") and body["message"].startswith("address")


async def test_a_return_within_30_days_of_delivery_gets_a_label(api: TestClient) -> None:
    await _proven(api)
    await _event(api, "104233", "delivered", at=_ago(days=29))

    code, body = await _request(api, kind="return", order_id="104233", items=["NL-2040"], reason="zu klein")

    request = body["request"]
    assert code == 201
    assert request["label_url"] == f"{PUBLIC_URL}/returns/{request['id']}/label"
    assert (request["items"], request["team"], request["status"]) == (["NL-2040"], "logistics", "open")
    assert len(request["id"]) >= 22, "the label page's only key must not be guessable"


async def test_returns_are_refused_before_delivery_after_the_window_and_for_foreign_items(api: TestClient) -> None:
    await _proven(api, status="shipped")
    not_delivered = await _request(api, kind="return", order_id="104233")
    await _event(api, "104233", "delivered", at=_ago(days=31))
    too_late = await _request(api, kind="return", order_id="104233")
    await _event(api, "104233", "delivered", at=_ago(days=1))
    foreign_item = await _request(api, kind="return", order_id="104233", items=["NL-1001", "NL-9999"])

    assert (not_delivered[0], not_delivered[1]["error"]) == (409, "not_delivered")
    assert (too_late[0], too_late[1]["error"]) == (409, "return_window_over")
    assert (foreign_item[0], foreign_item[1]["error"]) == (422, "invalid_request")
    assert foreign_item[1]["message"].startswith("items[1]: NL-9999")


async def test_requests_need_a_proven_order(api: TestClient) -> None:
    await put_order(api)

    unproven = await _request(api, kind="invoice_copy", order_id="104233")
    unknown = await _request(api, kind="invoice_copy", order_id="999999")

    assert unproven == unknown
    assert (unproven[0], unproven[1]["error"]) == (403, "not_verified")


async def test_a_request_reaches_its_team_and_the_consoles(api: TestClient, redis: Redis) -> None:
    await _proven(api)
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.EVENTS_CHANNEL)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation

    code, body = await _request(api, kind="invoice_copy", order_id="104233")

    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
    await pubsub.aclose()
    request = body["request"]
    assert code == 201 and request["team"] == "billing" and "label_url" not in request
    assert message is not None
    published = json.loads(message["data"])
    assert (published["type"], published["conversation_id"]) == ("event", CID)
    assert (published["event"]["kind"], published["event"]["data"]) == ("request", request)
    history = await redis.xrange(keys.conversation_events(CID))
    assert published["event"]["id"] == history[-1][0]
    assert await redis.zrange(keys.team_requests("billing"), 0, -1) == [request["id"]]


async def test_the_shop_moves_a_return_along_and_the_bot_sees_it(api: TestClient) -> None:
    await _proven(api)
    await _event(api, "104233", "delivered", at=_ago(days=2))
    _, body = await _request(api, kind="return", order_id="104233")
    return_id = body["request"]["id"]

    received = await api.post(f"/api/v1/returns/{return_id}/events", json={"status": "received"}, headers=SHOP)
    refunded = await api.post(f"/api/v1/returns/{return_id}/events",
                              json={"status": "refunded", "note": "39,80 € erstattet"}, headers=SHOP)
    backwards = await api.post(f"/api/v1/returns/{return_id}/events", json={"status": "received"}, headers=SHOP)
    listed = await (await api.get(f"/api/v1/conversations/{CID}/requests", headers=BOT)).json()

    assert (received.status, refunded.status) == (200, 200)
    assert (backwards.status, (await backwards.json())["status"]) == (409, "refunded")
    assert [(r["id"], r["status"], r["note"]) for r in listed["requests"]] == [(return_id, "refunded", "39,80 € erstattet")]


async def test_each_step_of_a_request_is_on_the_case(api: TestClient, redis: Redis) -> None:
    await _proven(api)
    await _event(api, "104233", "delivered", at=_ago(days=2))
    _, body = await _request(api, kind="return", order_id="104233", reason="zu klein")
    return_id = body["request"]["id"]
    await api.post(f"/api/v1/returns/{return_id}/events", json={"status": "received"}, headers=SHOP)

    history = await ConversationStore(redis).history(CID)
    steps = [e.data for e in history if e.kind is EventKind.REQUEST]
    assert [(s["id"], s["kind"], s["status"]) for s in steps] == [
        (return_id, "return", "open"), (return_id, "return", "received"),
    ]
    assert steps[0]["reason"] == "zu klein" and steps[0]["label_url"] == body["request"]["label_url"]


# --- the return label page -------------------------------------------------------------


async def test_the_label_page_escapes_what_the_shopper_wrote(api: TestClient) -> None:
    await _proven(api, customer_name="<b>Anna</b>")
    await _event(api, "104233", "delivered", at=_ago(days=2))
    _, body = await _request(api, kind="return", order_id="104233", items=["NL-1001"],
                             reason="<script>alert('x')</script>")
    path = body["request"]["label_url"].removeprefix(PUBLIC_URL)

    german = await api.get(path)
    english = await api.get(path + "?lang=en")

    html = await german.text()
    assert german.status == 200 and german.headers["Cache-Control"] == "private, no-store"
    assert "Rücksendeetikett" in html and "Leinen-Kissenhülle" in html and "Eichen-Kerzenhalter" not in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "Return label" in await english.text()


async def test_the_label_page_may_run_and_style_only_its_own_inline_blocks(api: TestClient) -> None:
    await _proven(api)
    await _event(api, "104233", "delivered", at=_ago(days=2))
    _, body = await _request(api, kind="return", order_id="104233", items=["NL-1001"])
    page = await api.get(body["request"]["label_url"].removeprefix(PUBLIC_URL))
    html = await page.text()

    policy = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    for tag in ("style", "script"):
        [block] = re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert policy[f"{tag}-src"] == f"'sha256-{digest}'"
    assert "onclick" not in html and page.headers["X-Content-Type-Options"] == "nosniff"


async def test_an_unknown_label_is_404(api: TestClient) -> None:
    assert (await api.get("/returns/AAAAAAAAAAAAAAAAAAAAAAAA/label")).status == 404
    assert (await api.get("/returns/short/label")).status == 404


# --- the OpenAPI document --------------------------------------------------------------


async def test_openapi_describes_every_route_with_its_token_and_nothing_else(api: TestClient) -> None:
    response = await api.get("/api/v1/openapi.json")
    served = await response.json()

    assert response.status == 200 and served["openapi"] == "3.1.0"
    documented = {(path, method.upper()) for path, item in served["paths"].items()
                  for method in item if method != "parameters"}
    assert documented == {(route.path, route.method) for route in (*ROUTES, *AGENT_ROUTES, *SUPERVISOR_ROUTES,
                                                                          *PRIVACY_ROUTES, *CALLBACK_ROUTES)} | {
        (path, "GET") for path, _ in (*REPORT_ROUTES, CALLBACK_REPORT_ROUTE)}
    for route in ROUTES:
        operation = served["paths"][route.path][route.method.lower()]
        expected = [] if route.role is None else [{f"{route.role.value}Token": []}]
        assert operation["security"] == expected, route.path
        if route.role is not None:
            assert {"401", "403", "503"} <= set(operation["responses"]), route.path


def test_every_schema_reference_in_openapi_resolves() -> None:
    doc = document("http://x")
    text = json.dumps(doc)
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}

    assert refs and refs <= set(doc["components"]["schemas"])


# --- tokens for a development `storechat run` --------------------------------------------


def test_storechat_run_generates_tokens_once_and_hands_them_to_gateway_and_actions(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", root=REPO_ROOT, bot_token="from-the-environment")

    first = dev_secrets.with_dev_secrets(settings)
    again = dev_secrets.with_dev_secrets(settings)

    path = dev_secrets.secrets_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first == again and first.bot_token == "from-the-environment"
    assert first.shop_token and first.customer_token_secret and first.shop_token != first.customer_token_secret
    gateway_env = processes.gateway(first).env
    actions_env = processes.action_server(first).env
    assert gateway_env["STORECHAT_SHOP_TOKEN"] == first.shop_token
    assert gateway_env["STORECHAT_BOT_TOKEN"] == actions_env["STORECHAT_BOT_TOKEN"] == "from-the-environment"
    assert actions_env["STORECHAT_API_URL"] == "http://127.0.0.1:8080"
    assert "STORECHAT_SHOP_TOKEN" not in actions_env


async def test_an_order_stored_under_the_older_rules_still_reads(api: TestClient, redis: Redis) -> None:
    """The input rules are checked on write: an order stored before they tightened (a
    quantity of 1000, a tab in a name, a year before 2000) reads, is proven and grows."""
    old = order_body(items=[{"sku": "NL-1001", "name": "Kissen\tgrau", "quantity": 1000, "price": "29.90"}],
                     placed_at="1999-12-31T23:00:00+01:00", estimated_delivery="1999-12-31")
    old["events"] = [{"status": "placed", "at": "1999-12-31T23:00:00+01:00", "location": "Lager\t3"}]
    await redis.set(keys.order("104233"), json.dumps(old))

    stored = await OrderStore(redis).get("104233")
    verified = await verify(api, "104233", "email", "anna@example.com")
    read = await api.get(f"/api/v1/conversations/{CID}/orders/104233", headers=BOT)
    await _event(api, "104233", "confirmed")

    assert stored is not None and stored.items[0].quantity == 1000 and stored.placed_at.year == 1999
    assert verified[0] == 200
    assert read.status == 200
    assert (await read.json())["items"][0] == old["items"][0]
    assert [e["status"] for e in (await (await api.get("/api/v1/orders/104233", headers=SHOP)).json())["events"]] == [
        "placed", "confirmed"]
