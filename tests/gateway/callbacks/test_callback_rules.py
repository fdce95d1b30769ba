"""Who may book what, and who may record what: one open call-back per conversation and a few
requests per number; the slots offered are the slots booked (one team decides both); an
assigned case's call is its agent's or a supervisor's to record; texts that fit any channel."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from core.types import ConversationState, EventKind, Team
from gateway import keys
from gateway.callbacks.service import CALLBACKS
from gateway.conversations.store import ConversationStore
from gateway.settings import Settings
from gateway.texts import Texts
from tests.gateway.agent_support import add_agent
from tests.gateway.callbacks.support import AGENT, BOSS, REPO, AiohttpClient, World, berlin, ms, start_world

BEN = "ben@nordlicht-home.example"


async def test_asking_again_changes_the_one_call_back_and_a_number_takes_only_a_few_requests(world: World) -> None:
    first = await world.shopper("de")
    booked = await first.client.call("callback_request", {"phone": "0171 2345678", "slot": ms("2026-12-09T15:00")})
    moved = await first.client.call("callback_request", {"phone": "0171 2345678", "slot": ms("2026-12-09T16:00")})
    assert booked["status"] == moved["status"] == "scheduled"
    [cid] = await world.redis.zrange(keys.CALLBACKS_DUE, 0, -1)  # still one: the second changed it
    assert await world.redis.zscore(keys.CALLBACKS_DUE, cid) == berlin("2026-12-09T16:00")
    assert [event["step"] for event in await world.events(str(cid), EventKind.CALLBACK)] == ["requested",
                                                                                              "rescheduled"]

    # Other pages booking calls to the same number: two more pass (four a day), then no more.
    for _ in range(2):
        other = await world.shopper("de")
        assert (await other.client.call("callback_request", {"phone": "+49 171 2345678",
                                                             "slot": ms("2026-12-09T15:00")}))["status"] == "scheduled"
    last = await world.shopper("de")
    refused = await last.client.call("callback_request", {"phone": "0171/234 56 78", "slot": ms("2026-12-09T15:00")})
    assert refused["status"] == "refused" and refused["code"] == "phone_rate_limited" and refused["field"] == "phone"
    assert refused["message"].startswith("Für diese Nummer wurden heute schon mehrere Rückrufe angefragt")
    assert refused["retry_after"] >= 1
    assert await world.redis.zcard(keys.CALLBACKS_DUE) == 3
    # Another number from that page is still welcome.
    assert (await last.client.call("callback_request", {"phone": "0172 3456789",
                                                        "slot": ms("2026-12-09T15:00")}))["status"] == "scheduled"


async def test_the_slots_offered_are_the_slots_the_team_takes(aiohttp_client: AiohttpClient, base_settings: Settings,
                                                              redis: Redis, tmp_path: Path) -> None:
    # The general team (whose a new conversation's call-back is) answers the phone later than the shop.
    hours = tmp_path / "business_hours.yml"
    hours.write_text((REPO / "config" / "business_hours.yml").read_text(encoding="utf-8")
                     + '\nteams:\n  general:\n    weekly: {wednesday: ["15:00-18:00"], thursday: ["15:00-18:00"]}\n',
                     encoding="utf-8")
    world = await start_world(aiohttp_client, base_settings, redis, tmp_path, hours_file=hours)
    try:
        shopper = await world.shopper("en")
        offered = (await shopper.client.call("callback_slots", {}))["slots"]
        assert offered[0] == {"at": ms("2026-12-09T15:00"), "label": "today at 15:00"}
        answer = await shopper.client.call("callback_request", {"phone": "0171 2345678", "slot": offered[0]["at"]})
        assert answer["status"] == "scheduled" and answer["slot"] == ms("2026-12-09T15:00")
    finally:
        await world.close()


async def test_an_assigned_case_is_its_agents_to_record_or_a_supervisors(world: World) -> None:
    await add_agent(world.redis, BEN, Team.GENERAL, name="Ben")
    callbacks = world.client.app[CALLBACKS]
    shopper = await world.shopper("de")
    await shopper.client.call("callback_request", {"phone": "0171 2345678", "slot": ms("2026-12-09T14:30")})
    [cid] = map(str, await world.redis.zrange(keys.CALLBACKS_DUE, 0, -1))
    ben = await callbacks.desk.agents.get(BEN)
    assert ben is not None
    await callbacks.desk.claim(cid, ben)  # Ben took the case to call the shopper himself
    world.clock.now = berlin("2026-12-09T14:35")

    anna = await world.console(AGENT)
    status, refused = await anna.call("POST", f"/conversations/{cid}/callback", {"outcome": "no_answer"})
    assert status == 403 and refused["error"] == "not_your_case"
    status, refused = await anna.call("POST", f"/conversations/{cid}/callback",
                                      {"outcome": "rescheduled", "slot": ms("2026-12-10T09:00")})
    assert status == 403
    conversation = await ConversationStore(world.redis).get(cid)
    assert (conversation.state, conversation.agent) == (ConversationState.ASSIGNED, BEN)  # still Ben's
    assert [event["step"] for event in await world.events(cid, EventKind.CALLBACK)] == ["requested"]

    sue = await world.console(BOSS)  # a supervisor records it for him
    status, done = await sue.call("POST", f"/conversations/{cid}/callback", {"outcome": "no_answer"})
    assert status == 200 and done["attempts"] == 1
    queued = await ConversationStore(world.redis).get(cid)
    assert (queued.state, queued.team) == (ConversationState.QUEUED, "general")  # back to the team for the retry
    # Queued, any agent of the team records the next try.
    status, moved = await anna.call("POST", f"/conversations/{cid}/callback",
                                    {"outcome": "rescheduled", "slot": ms("2026-12-10T09:00")})
    assert status == 200 and moved["slot"] == ms("2026-12-10T09:00")


@pytest.mark.parametrize("locale", ["de", "en"])
def test_the_unreachable_text_fits_every_channel_the_case_may_be_on(locale: str) -> None:
    text = Texts.load("de").get(locale, "callback_unreachable", attempts=3)
    assert "3" in text and "chat" not in text.lower()
