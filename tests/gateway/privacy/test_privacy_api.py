"""A contact's export and erasure in the Agent API, on a real Redis: the export holds every
kind of record, the erasure leaves nothing of the shopper but pseudonymised report counts, both
are on the audit trail, and only supervisors may do either."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient
from redis.asyncio import Redis

from core.types import Team
from gateway import keys
from gateway.app import create_app
from gateway.desk.agents import AgentRole
from gateway.privacy.export import WITHHELD_SESSION
from gateway.privacy.forget import ERASED
from gateway.privacy.keys import AUDIT
from gateway.settings import Settings
from tests.gateway.agent_support import Console, add_agent
from tests.gateway.privacy.privacy_support import COMMENT, COMPLAINT, REASON, Case, Clock, keys_of, values_holding
from tests.gateway.privacy.privacy_support import write_case

SUE = "sue@nordlicht-home.example"
ALEX = "alex@nordlicht-home.example"
WHO = "Olga Ostrowski"


@pytest.fixture
async def gateway(aiohttp_client: AiohttpClient, redis: Redis, api_settings: Settings) -> tuple[TestClient, Clock]:
    clock = Clock()
    # Plain http: the console's session cookie is not Secure.
    return await aiohttp_client(create_app(api_settings.replace(public_url=None), clock=clock)), clock


async def _console(gateway: TestClient, redis: Redis, email: str, role: AgentRole) -> Console:
    await add_agent(redis, email, Team.GENERAL, name=email.split("@")[0].title(), role=role)
    return await Console(str(gateway.make_url("")).rstrip("/"), email).login()


@pytest.fixture
async def sue(gateway: tuple[TestClient, Clock], redis: Redis) -> AsyncIterator[Console]:
    console = await _console(gateway[0], redis, SUE, AgentRole.SUPERVISOR)
    yield console
    await console.close()


@pytest.fixture
async def alex(gateway: tuple[TestClient, Clock], redis: Redis) -> AsyncIterator[Console]:
    console = await _console(gateway[0], redis, ALEX, AgentRole.AGENT)
    yield console
    await console.close()


async def _two_cases(gateway: tuple[TestClient, Clock]) -> tuple[Case, Case]:
    """Olga's web chat, and her second one from another browser, one contact by her email."""
    api, clock = gateway
    first = await write_case(api, clock, "session-olga-1", who=WHO)
    clock.now += 3600
    second = await write_case(api, clock, "session-olga-2", order_id="104250", who=WHO)
    assert first.contact_id == second.contact_id
    return first, second


async def test_the_export_holds_every_kind_of_record_and_is_audited(
        gateway: tuple[TestClient, Clock], sue: Console, redis: Redis) -> None:
    first, second = await _two_cases(gateway)

    status, found = await sue.call("GET", "/contacts?email=Anna@Example.com")
    assert status == 200 and found["id"] == first.contact_id
    assert {(i["kind"], i["value"]) for i in found["identities"]} >= {
        ("web", "session-olga-1"), ("web", "session-olga-2"), ("email", "anna@example.com"),
        ("phone", "+4915112345678")}
    async with sue.http.post(f"{sue.base_url}/api/v1/agent/contacts/{first.contact_id}/export",
                             json={"reason": "Olga asked by e-mail on 2 Dec"},
                             headers={"X-CSRF-Token": sue.csrf}) as response:
        assert response.status == 200
        assert response.headers["Content-Disposition"].startswith("attachment;")
        export: dict[str, Any] = await response.json()

    assert export["contact"]["id"] == first.contact_id
    assert [case["conversation"]["id"] for case in export["conversations"]] == [second.conversation_id,
                                                                                 first.conversation_id]
    case = export["conversations"][1]
    texts = [event["text"] for event in case["events"]]
    assert COMPLAINT.format(who=WHO) in texts and any(e["kind"] == "csat" for e in case["events"])
    assert [order["order_id"] for order in case["orders"]] == ["104233"]
    assert case["requests"][0]["reason"] == REASON.format(who=WHO)
    assert case["csat"] == {"score": 2, "comment": COMMENT.format(who=WHO)}
    # A web session id is a bearer credential that continues the chat: the copy withholds it.
    assert [(s["session_id"], s["trail"][0]["title"]) for s in export["storefront"]] == [
        (WITHHELD_SESSION, "Kissen"), (WITHHELD_SESSION, "Kissen")]
    assert ("web", WITHHELD_SESSION) in {(i["kind"], i["value"]) for i in export["identities"]}
    assert ("email", "anna@example.com") in {(i["kind"], i["value"]) for i in export["identities"]}
    assert "session-olga" not in json.dumps(export)
    [entry] = (await sue.get("/privacy/audit"))["entries"]
    assert (entry["agent"], entry["action"], entry["contact_id"], entry["reason"]) == (
        SUE, "export", first.contact_id, "Olga asked by e-mail on 2 Dec")
    assert entry["covered"]["conversations"] == 2


async def test_erasure_leaves_only_pseudonymised_counts_and_the_audit_trail(
        gateway: tuple[TestClient, Clock], sue: Console, redis: Redis) -> None:
    first, second = await _two_cases(gateway)
    rollups_before = {key: await redis.hgetall(key) async for key in redis.scan_iter("storechat:report:all:*")}
    complaints_before = await redis.hlen(keys.COMPLAINT_DOCUMENTS)

    status, erased = await sue.call("POST", f"/contacts/{first.contact_id}/erase",
                                    {"reason": "Account deletion, ticket 4711"})

    assert status == 200 and erased["covered"]["conversations"] == 2
    for case in (first, second):
        assert await keys_of(redis, case.conversation_id) == []
        assert (await sue.call("GET", f"/conversations/{case.conversation_id}"))[0] == 404
        assert not await redis.exists(keys.visitor(case.session_id), keys.visitor_trail(case.session_id))
        # The request stays for the team to finish, without what the shopper wrote in it.
        request = await redis.hgetall(keys.request(case.request_id))
        assert request["kind"] == "cancellation" and request["reason"] == request["address"] == ""
    assert await keys_of(redis, first.contact_id) == []
    assert (await sue.call("GET", f"/contacts/{first.contact_id}"))[0] == 404
    assert (await sue.call("GET", "/contacts?email=anna@example.com"))[0] == 404
    # Nothing the shopper wrote is left anywhere; the reports' counts are as they were.
    assert await values_holding(redis, "Olga") == await values_holding(redis, "olga") == []
    assert {key: await redis.hgetall(key) async for key in redis.scan_iter("storechat:report:all:*")} == rollups_before
    documents = [json.loads(raw) for raw in (await redis.hgetall(keys.COMPLAINT_DOCUMENTS)).values()]
    assert len(documents) == complaints_before and {d["text"] for d in documents} == {ERASED}
    assert len({d["contact_id"] for d in documents}) == 1 and documents[0]["contact_id"] != first.contact_id
    # The trail outlives the data.
    [entry] = (await sue.get("/privacy/audit"))["entries"]
    assert (entry["action"], entry["reason"], entry["covered"]["conversations"]) == (
        "erase", "Account deletion, ticket 4711", 2)
    assert await redis.xlen(AUDIT) == 1


async def test_agents_may_neither_export_nor_erase_nor_read_the_trail(
        gateway: tuple[TestClient, Clock], alex: Console, redis: Redis) -> None:
    first, _ = await _two_cases(gateway)
    for method, path, body in (("POST", f"/contacts/{first.contact_id}/export", {"reason": "x"}),
                               ("POST", f"/contacts/{first.contact_id}/erase", {"reason": "x"}),
                               ("GET", f"/contacts/{first.contact_id}", None), ("GET", "/privacy/audit", None),
                               ("GET", "/contacts?email=anna@example.com", None)):
        status, answer = await alex.call(method, path, body)
        assert (status, answer["error"]) == (403, "not_permitted"), path
    assert await redis.exists(keys.conversation(first.conversation_id), keys.contact(first.contact_id)) == 2
    assert await redis.xlen(AUDIT) == 0


@pytest.mark.parametrize("body", [{}, {"reason": "   "}, {"reason": "x" * 501}])
async def test_export_and_erasure_need_a_reason(gateway: tuple[TestClient, Clock], sue: Console, redis: Redis,
                                                body: dict[str, str]) -> None:
    first, _ = await _two_cases(gateway)
    for action in ("export", "erase"):
        status, answer = await sue.call("POST", f"/contacts/{first.contact_id}/{action}", body)
        assert (status, answer["error"]) == (422, "invalid_reason")
    assert await redis.xlen(AUDIT) == 0


@pytest.mark.parametrize("contact_id", ["nobody", "x:conversations", "a%20b"])
async def test_an_unknown_contact_is_404(sue: Console, contact_id: str) -> None:
    status, answer = await sue.call("POST", f"/contacts/{contact_id}/erase", {"reason": "test"})
    assert (status, answer["error"]) == (404, "unknown_contact")
