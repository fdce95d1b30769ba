"""The complaints, proactive and notifications reports in the Agent API, and the satisfaction
report's comments classed: wired to the projections the gateway runs."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Author, Channel, ConversationState, EventKind, Team
from gateway.app import STORE, create_app
from gateway.conversations import state_machine
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import AgentRole
from gateway.proactive.service import PROACTIVE
from gateway.reports.service import REPORTS
from gateway.settings import Settings
from tests.gateway.agent_support import add_agent
from tests.gateway.api.test_reports_api import T0, Clock, _get, _logged_in
from tests.gateway.complaints.support import put_order

DAY = "from=2026-12-01&to=2026-12-01"
SEAMS = ("Die Naht meiner Leinen-Kissenhülle geht nach einer Woche auf",
         "The seam of my linen cushion cover (Leinen-Kissenhülle) came apart",
         "Bei der Leinen-Kissenhülle löst sich die Naht, schade")


async def _complaint(store: ConversationStore, redis: Redis, clock: Clock, text: str, n: int) -> str:
    conversation = await store.open(Channel.WEB if n % 2 else Channel.SMS, f"shopper-{n}", "de")
    await store.append_message(conversation.id, Author.SHOPPER, text)
    clock.now += 1
    await store.append_message(conversation.id, Author.BOT, "Das tut mir leid.",
                               {"intent": "report_damage", "confidence": 0.9})
    await state_machine.transition(redis, conversation.id, ConversationState.QUEUED, clock=clock,
                                   reason="damaged_item", team="product")
    clock.now += 60
    return conversation.id


async def test_complaints_notifications_and_offers_are_reports_of_their_own(
        aiohttp_client: Any, redis: Redis, api_settings: Settings) -> None:
    clock = Clock()
    clock.now = T0 - 10 * 3600  # 09:58 in Berlin
    app = create_app(api_settings, clock=clock)
    client = await aiohttp_client(app)
    await add_agent(redis, "sue@shop.example", Team.GENERAL, role=AgentRole.SUPERVISOR)
    await add_agent(redis, "anna@shop.example", Team.LOGISTICS)
    await put_order(redis, clock, "300001", [("NL-1001", "Leinen-Kissenhülle"), ("NL-1120", "Fjord Wolldecke")])
    store = app[STORE]
    cases = [await _complaint(store, redis, clock, text, n) for n, text in enumerate(SEAMS)]
    notified = await store.open(Channel.WHATSAPP, "+491701234567", "de")
    await store.append_message(notified.id, Author.BOT, "Ihre Bestellung ist unterwegs.",
                               {"notification": {"order_id": "300001", "status": "shipped"}})
    resolved = await store.open(Channel.WEB, "shopper-csat", "en")
    await store.append_message(resolved.id, Author.SHOPPER, "Can I talk to someone?")
    for state, reason in ((ConversationState.QUEUED, "shopper_asked"), (ConversationState.ASSIGNED, "claimed")):
        await state_machine.transition(redis, resolved.id, state, clock=clock, reason=reason, team="general",
                                       agent="sue@shop.example")
    await store.append_message(resolved.id, Author.AGENT, "Hello!", {"agent": "sue@shop.example"})
    clock.now += 120
    await state_machine.transition(redis, resolved.id, ConversationState.RESOLVED, clock=clock,
                                   reason="resolved by sue@shop.example")
    await store.append(resolved.id, EventKind.CSAT, author=Author.SHOPPER,
                       data={"score": 5, "comment": "Super schnelle Hilfe, vielen Dank!"})
    await app[REPORTS].drain()

    await _logged_in(client, "anna@shop.example")
    for report in ("complaints", "proactive", "notifications"):
        status, body = await _get(client, report)
        assert status == 403 and body["error"] == "not_permitted", report
    await _logged_in(client, "sue@shop.example")

    status, complaints = await _get(client, f"complaints?{DAY}")
    assert status == 200
    [alert] = complaints["alerts"]
    assert alert["product"] == {"sku": "NL-1001", "name": "Leinen-Kissenhülle"} and alert["shoppers"] == 3
    assert sorted(alert["cases"]) == sorted(cases)
    cushion = [cluster for cluster in complaints["clusters"] if (cluster["product"] or {}).get("sku") == "NL-1001"]
    assert sum(cluster["cases"] for cluster in cushion) == 3
    status, narrowed = await _get(client, f"complaints?{DAY}&channel=sms&agent=sue@shop.example")
    assert sum(cluster["cases"] for cluster in narrowed["clusters"]) == 2
    assert "alerts" in narrowed["unfiltered"] and len(narrowed["alerts"]) == 1

    status, notifications = await _get(client, f"notifications?{DAY}")
    assert status == 200
    assert notifications["sent"] == [{"status": "shipped", "channel": "whatsapp", "count": 1}]
    status, on_web = await _get(client, f"notifications?{DAY}&channel=web")
    assert on_web["sent"] == [] and on_web["unfiltered"] == ["wismo"]

    status, proactive = await _get(client, f"proactive?{DAY}&team=general")
    assert status == 200 and proactive["unfiltered"] == ["rules", "today"]
    assert [row["rule"] for row in proactive["rules"]] == [rule.name for rule in app[PROACTIVE].rules.rules]
    assert {row["shown"] for row in proactive["rules"] + proactive["today"]} == {0}

    status, satisfaction = await _get(client, f"satisfaction?{DAY}")
    [comment] = satisfaction["comments"]
    assert comment["conversation_id"] == resolved.id and comment["feedback"] == "praise"
