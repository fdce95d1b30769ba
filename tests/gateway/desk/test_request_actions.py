"""An agent acts on a shopper's request, through the whole gateway: approve, reject, send the
return label, decide a damaged item. Each is on the case, told to the shopper in their
language, and POSTed to the shop's receiver (a real server started here, checking the
signature with its own code) once; what the request's state or the policy sheet does not
allow is a 409 with the reason. Real Redis, real web chat shoppers and consoles; Rasa is the
HTTP stand-in. Every answer is also checked against the OpenAPI document."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Channel, Team
from gateway.app import create_app
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import AgentRole
from gateway.settings import Settings
from gateway.shop_events import keys as shop_event_keys
from tests.gateway.agent_support import Console, add_agent
from tests.gateway.rasa_standin import AiohttpClient, ScriptedRasa
from tests.gateway.shop_events.support import SECRET, Receiver
from tests.gateway.shop_support import BOT, BOT_TOKEN, SHOP, SHOP_TOKEN, put_order, verify
from tests.hours_support import hours_file
from tests.support import Shopper, free_port

ANNA, OTTO, SUE = "anna@shop.example", "otto@shop.example", "sue@shop.example"
HANDOFF = {"messages": [{"text": "Ich gebe Sie weiter."}], "intent": {"name": "request_human", "confidence": 0.99},
           "retrieval": None, "handoff": {"team": "logistics", "reason": "shopper_asked"}}
ANSWER = {"messages": [{"text": "Gern."}], "intent": {"name": "faq", "confidence": 0.9}, "retrieval": None,
          "handoff": None}


def _ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


@dataclasses.dataclass
class World:
    gateway: TestClient  # type: ignore[type-arg]
    rasa: ScriptedRasa
    redis: Redis
    receiver: Receiver
    consoles: list[Console] = dataclasses.field(default_factory=list)
    shoppers: list[Shopper] = dataclasses.field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.gateway.make_url("")).rstrip("/")

    async def console(self, email: str, team: Team = Team.LOGISTICS, *, role: AgentRole = AgentRole.AGENT,
                      name: str = "Anna") -> Console:
        await add_agent(self.redis, email, team, name=name, role=role)
        console = await Console(self.url, email).login()
        self.consoles.append(console)
        await console.connect()
        return console

    async def case(self, *, locale: str = "de", order_id: str = "104233") -> tuple[Shopper, str]:
        """A web chat shopper handed to the desk (Anna, online, takes it) who proved an order."""
        shopper = Shopper(self.url + "/", locale=locale)
        await shopper.connect()
        self.shoppers.append(shopper)
        self.rasa.reply = HANDOFF
        await shopper.say("Ich möchte mit einem Menschen sprechen", metadata={"locale": locale})
        await shopper.expect("bot_uttered")
        await shopper.expect("bot_uttered")  # who is looking after them now
        self.rasa.reply = ANSWER
        assert shopper.session_id is not None
        found = await ConversationStore(self.redis).find_latest(Channel.WEB, shopper.session_id)
        assert found is not None
        order = await put_order(self.gateway, order_id=order_id, status="placed")
        assert (await verify(self.gateway, order_id, "email", order["email"], cid=found.id))[0] == 200
        return shopper, found.id

    async def order_event(self, status: str, order_id: str = "104233", **extra: Any) -> None:
        response = await self.gateway.post(f"/api/v1/orders/{order_id}/events", json={"status": status, **extra},
                                           headers=SHOP)
        assert response.status == 201, await response.text()

    async def request(self, cid: str, kind: str, order_id: str = "104233", **body: Any) -> str:
        """The bot opens a request (as bot/actions does)."""
        response = await self.gateway.post(f"/api/v1/conversations/{cid}/requests", headers=BOT,
                                           json={"kind": kind, "order_id": order_id, **body})
        assert response.status == 201, await response.text()
        return str((await response.json())["request"]["id"])

    async def close(self) -> None:
        for shopper in self.shoppers:
            await shopper.close()
        for console in self.consoles:
            await console.close()


async def _world(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
                 receiver: Receiver, url: str | None = None) -> World:
    rasa = ScriptedRasa(ANSWER)
    settings = base_settings.replace(
        port=free_port(), rasa_url=await rasa.start(aiohttp_client), agent_max_chats=2,
        business_hours_file=hours_file(tmp_path, open_now=True), shop_token=SHOP_TOKEN, bot_token=BOT_TOKEN,
        shop_webhook_url=url or receiver.url, shop_webhook_secret=SECRET, shop_webhook_attempts=3,
        shop_webhook_retry_seconds=0.05,
    )
    return World(await aiohttp_client(create_app(settings)), rasa, redis, receiver)


@pytest.fixture
async def world(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis,
                tmp_path: Path) -> AsyncIterator[World]:
    receiver = await Receiver().start()
    world = await _world(aiohttp_client, base_settings, redis, tmp_path, receiver)
    yield world
    await world.close()
    await receiver.stop()


def _actions(case: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["data"]["action"], e["data"]["status"]) for e in case["events"]
            if e["kind"] == "request" and "action" in e["data"]]


async def _act(console: Console, cid: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    return await console.call("POST", f"/conversations/{cid}{path}", {} if body is None else body)


# --- a return: approved, its label sent; the shopper, the case and the shop hear each once ------


async def test_an_approved_return_and_its_label_reach_the_shopper_the_case_and_the_shop_once(world: World) -> None:
    anna = await world.console(ANNA)
    shopper, cid = await world.case()
    await world.order_event("delivered", at=_ago(days=2))
    rid = await world.request(cid, "return", reason="zu klein")

    approved = await _act(anna, cid, f"/requests/{rid}/approve", {"note": "Retoure ok"})
    told = await shopper.expect("bot_uttered")
    again = await asyncio.gather(*(_act(anna, cid, f"/requests/{rid}/approve") for _ in range(3)))  # a triple click
    label = await _act(anna, cid, f"/requests/{rid}/label")
    label_told = await shopper.expect("bot_uttered")
    events = await world.receiver.wait_for(2)
    await asyncio.sleep(0.3)  # time for a duplicate, if one were queued
    case = await anna.get(f"/conversations/{cid}")

    assert approved[0] == 201 and approved[1]["made"] is True and approved[1]["message"] == "sent"
    assert approved[1]["request"]["status"] == "approved" and approved[1]["request"]["decided_by"] == ANNA
    assert told["text"].startswith("Ihre Rücksendung für Bestellung 104233 ist genehmigt")
    assert [(status, body["made"], body["shop_event"]) for status, body in again] == [
        (200, False, approved[1]["shop_event"])] * 3
    assert label[0] == 201 and f"/returns/{rid}/label" in label_told["text"]
    assert label_told["text"].startswith("Hier ist Ihr kostenloses DHL-Rücksendeetikett")
    assert [(e["type"], e["id"]) for e in events] == [("request.approved", approved[1]["shop_event"]),
                                                     ("return.label_sent", label[1]["shop_event"])]
    first = events[0]
    assert (first["request"]["id"], first["request"]["kind"], first["order"]) == (
        rid, "return", {"order_id": "104233", "status": "delivered"})
    assert first["agent"] == {"email": ANNA, "name": "Anna"} and first["conversation_id"] == cid
    assert [status for _, _, status in world.receiver.tries] == [200, 200] and world.receiver.forged == 0
    assert _actions(case) == [("approve", "approved"), ("label", "approved")]
    shopper_messages = [e["text"] for e in case["events"] if e["kind"] == "message" and e["author"] == "agent"]
    assert len(shopper_messages) == 2  # one message per action, whatever the clicks
    assert case["requests"][0]["label_sent_at"]
    page = await world.gateway.get(f"/returns/{rid}/label")
    assert page.status == 200 and "Genehmigt – wartet auf das Paket" in await page.text()


async def test_an_english_shopper_hears_of_an_approved_cancellation_in_english(world: World) -> None:
    anna = await world.console(ANNA)
    shopper, cid = await world.case(locale="en")
    rid = await world.request(cid, "cancellation")

    status, body = await _act(anna, cid, f"/requests/{rid}/approve")
    told = await shopper.expect("bot_uttered")
    events = await world.receiver.wait_for(1)

    assert status == 201 and told["text"] == ("Your order 104233 is being cancelled. If you have paid already, the "
                                              "amount goes back to your original payment method.")
    assert (events[0]["type"], events[0]["request"]["kind"], events[0]["request"]["status"]) == (
        "request.approved", "cancellation", "approved")


# --- refusals ------------------------------------------------------------------------------


async def test_what_the_state_or_the_policy_does_not_allow_is_409_with_the_reason(world: World) -> None:
    anna = await world.console(ANNA)
    shopper, cid = await world.case()
    cancellation = await world.request(cid, "cancellation")
    address = await world.request(cid, "address_change", address={
        "name": "Anna Berg", "street": "Torstraße 1", "postal_code": "10119", "city": "Berlin", "country": "DE"})
    await world.order_event("packed")  # the policy: cancel until packed, change the address until shipped

    too_late = await _act(anna, cid, f"/requests/{cancellation}/approve")
    no_reason = await _act(anna, cid, f"/requests/{cancellation}/reject", {})
    rejected = await _act(anna, cid, f"/requests/{cancellation}/reject", {"reason": "Schon verpackt."})
    told = await shopper.expect("bot_uttered")
    approve_rejected = await _act(anna, cid, f"/requests/{cancellation}/approve")
    label_for_cancellation = await _act(anna, cid, f"/requests/{cancellation}/label")
    moved = await _act(anna, cid, f"/requests/{address}/approve")
    reject_approved = await _act(anna, cid, f"/requests/{address}/reject", {"reason": "doch nicht"})
    unknown = await _act(anna, cid, "/requests/AAAAAAAAAAAAAAAAAAAAAAAA/approve")

    assert (too_late[0], too_late[1]["error"], too_late[1]["status"]) == (409, "too_late", "open")
    assert "packed can no longer be cancelled" in too_late[1]["message"]
    assert no_reason[0] == 422 and rejected[0] == 201
    assert told["text"] == ("Ihre Anfrage zu Bestellung 104233 können wir leider nicht annehmen: Schon verpackt.")
    assert (approve_rejected[0], approve_rejected[1]["error"], approve_rejected[1]["status"]) == (
        409, "invalid_transition", "rejected")
    assert approve_rejected[1]["message"] == "a cancellation request that is rejected cannot be approved"
    assert (label_for_cancellation[0], label_for_cancellation[1]["error"]) == (409, "not_a_return")
    assert moved[0] == 201  # packed, not shipped: the address may still change
    assert (reject_approved[0], reject_approved[1]["error"]) == (409, "invalid_transition")
    assert (unknown[0], unknown[1]["error"]) == (404, "unknown_request")
    events = await world.receiver.wait_for(2)
    assert sorted(e["type"] for e in events) == ["request.approved", "request.rejected"]
    assert next(e for e in events if e["type"] == "request.rejected")["reason"] == "Schon verpackt."


async def test_a_return_the_warehouse_rejected_is_not_the_agents_to_reject_again(world: World) -> None:
    anna = await world.console(ANNA)
    _, cid = await world.case()
    await world.order_event("delivered", at=_ago(days=2))
    rid = await world.request(cid, "return")
    response = await world.gateway.post(f"/api/v1/returns/{rid}/events", json={"status": "rejected"}, headers=SHOP)
    assert response.status == 200

    reject = await _act(anna, cid, f"/requests/{rid}/reject", {"reason": "Beschädigt zurückgekommen"})
    approve = await _act(anna, cid, f"/requests/{rid}/approve")
    await asyncio.sleep(0.3)

    assert [(status, body["error"]) for status, body in (reject, approve)] == [(409, "invalid_transition")] * 2
    assert world.receiver.tries == []  # nothing for the shop


async def test_only_the_agent_who_has_the_case_or_a_supervisor_acts(world: World) -> None:
    anna = await world.console(ANNA)
    otto = await world.console(OTTO, name="Otto")  # same team, not his case
    sue = await world.console(SUE, Team.GENERAL, role=AgentRole.SUPERVISOR, name="Sue")
    _, cid = await world.case()
    await world.order_event("delivered", at=_ago(days=2))
    rid = await world.request(cid, "return")

    colleague = await _act(otto, cid, f"/requests/{rid}/approve")
    label_first = await _act(anna, cid, f"/requests/{rid}/label")
    supervisor = await _act(sue, cid, f"/requests/{rid}/approve")
    no_csrf = await otto.call("POST", f"/conversations/{cid}/requests/{rid}/reject", {"reason": "x"}, csrf=False)

    assert (colleague[0], colleague[1]["error"]) == (403, "not_permitted")
    assert f"assigned to {ANNA}" in colleague[1]["message"]
    assert (label_first[0], label_first[1]["error"]) == (409, "not_approved")
    assert supervisor[0] == 201 and supervisor[1]["request"]["decided_by"] == SUE
    assert no_csrf[0] == 403
    assert len(await world.receiver.wait_for(1)) == 1


# --- a damaged item: refund or replacement -------------------------------------------------


async def test_a_damaged_item_gets_one_decision_within_14_days_of_delivery(world: World) -> None:
    anna = await world.console(ANNA)
    shopper, cid = await world.case()
    await world.order_event("delivered", at=_ago(days=3))
    await put_order(world.gateway, order_id="104299")  # another shopper's: not proven here
    refund = {"order_id": "104233", "resolution": "refund", "items": ["NL-2040"], "note": "Glas gesprungen"}

    decided = await _act(anna, cid, "/decisions", refund)
    told = await shopper.expect("bot_uttered")
    again = await _act(anna, cid, "/decisions", refund)
    other = await _act(anna, cid, "/decisions", {**refund, "resolution": "replacement"})
    unproven = await _act(anna, cid, "/decisions", {**refund, "order_id": "104299"})
    events = await world.receiver.wait_for(1)

    request = decided[1]["request"]
    assert decided[0] == 201 and (request["kind"], request["status"], request["resolution"], request["team"]) == (
        "damaged_item", "approved", "refund", "product")
    assert request["items"] == ["NL-2040"]
    assert told["text"].startswith("Für den beschädigten Artikel aus Bestellung 104233 erstatten wir")
    assert (again[0], again[1]["made"], again[1]["request"]["id"]) == (200, False, request["id"])
    assert (other[0], other[1]["error"]) == (409, "already_decided")
    assert (unproven[0], unproven[1]["error"]) == (422, "not_verified")
    assert [(e["type"], e["request"]["resolution"]) for e in events] == [("damaged_item.decided", "refund")]


async def test_damage_reported_after_14_days_is_refused(world: World) -> None:
    anna = await world.console(ANNA)
    _, cid = await world.case()
    await world.order_event("delivered", at=_ago(days=15))

    late = await _act(anna, cid, "/decisions", {"order_id": "104233", "resolution": "replacement"})

    assert (late[0], late[1]["error"]) == (409, "damage_window_over")


# --- the webhook's retries -----------------------------------------------------------------


async def test_a_receiver_that_answers_503_first_gets_the_event_once_on_the_retry(world: World) -> None:
    world.receiver.fail_first = 1
    anna = await world.console(ANNA)
    _, cid = await world.case()
    rid = await world.request(cid, "cancellation")

    status, body = await _act(anna, cid, f"/requests/{rid}/approve")
    events = await world.receiver.wait_for(1)
    await asyncio.sleep(0.3)

    assert status == 201 and [e["id"] for e in events] == [body["shop_event"]]
    assert world.receiver.tries == [(body["shop_event"], "1", 503), (body["shop_event"], "2", 200)]
    # Delivered: what it said (the shopper's data) is not kept, only that it was sent.
    record = await world.redis.hgetall(shop_event_keys.event(body["shop_event"]))
    assert record["state"] == "delivered" and "body" not in record


async def test_a_receiver_that_is_down_is_retried_then_the_failure_is_on_the_case(
        aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gateway.shop_events.queue")
    down = f"http://127.0.0.1:{free_port()}/storechat"  # nobody listens there
    world = await _world(aiohttp_client, base_settings, redis, tmp_path, Receiver(), url=down)
    try:
        anna = await world.console(ANNA)
        _, cid = await world.case()
        rid = await world.request(cid, "cancellation")
        status, body = await _act(anna, cid, f"/requests/{rid}/approve")
        failure = await anna.expect("event", lambda data: data["event"]["data"].get("action") == "shop_not_told")
    finally:
        await world.close()

    shop_event = failure["event"]["data"]["shop_event"]
    assert status == 201 and shop_event["id"] == body["shop_event"] and shop_event["state"] == "failed"
    assert "(try 3 of 3)" in shop_event["reason"] and "ClientConnectorError" in shop_event["reason"]
    assert failure["conversation_id"] == cid
    logged = [r.getMessage() for r in caplog.records if r.name == "gateway.shop_events.queue"]
    assert any(body["shop_event"] in line and "failed" in line for line in logged)
    assert [line for line in logged if "again in" in line][:2]  # two retries before it failed
    record = await redis.hgetall(shop_event_keys.event(body["shop_event"]))
    assert record["state"] == "failed" and "body" not in record
