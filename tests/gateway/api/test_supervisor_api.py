"""The supervisor console's API through the whole gateway: the directory (list, filters,
German and English search), the overview, the teams' requests, handing a conversation back
to the bot and taking one over. Real Redis, real web chat shoppers and consoles; Rasa is the
HTTP stand-in, so each test decides when the bot hands over. Every answer is also checked
against the OpenAPI document (tests/gateway/contract_support.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Channel, Conversation, Team
from gateway.api.openapi import document
from gateway.api.supervisor import ROUTES as SUPERVISOR_ROUTES
from gateway.app import create_app
from gateway.conversations.feed import Follower
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import AgentRole
from gateway.desk.directory import DirectoryProjection
from gateway.settings import Settings
from tests.gateway.agent_support import Console, add_agent
from tests.gateway.rasa_standin import AiohttpClient, ScriptedRasa
from tests.gateway.shop_support import BOT, BOT_TOKEN, SHOP_TOKEN, put_order, verify
from tests.hours_support import hours_file
from tests.support import Shopper, free_port

ANNA, OTTO, SUE = "anna@shop.example", "otto@shop.example", "sue@shop.example"
PASSING_ON = "Ich gebe Sie an unser Logistik-Team weiter."
HANDOFF = {"messages": [{"text": PASSING_ON}], "intent": {"name": "request_human", "confidence": 0.99},
           "retrieval": None, "handoff": {"team": "logistics", "reason": "shopper_asked"}}
ANSWER = {"messages": [{"text": "Gern, dabei helfe ich."}], "intent": {"name": "faq", "confidence": 0.9},
          "retrieval": None, "handoff": None}
BACK_DE = ("Unser digitaler Assistent ist jetzt wieder für Sie da. Wenn Sie noch einmal mit einer Kollegin "
           "oder einem Kollegen sprechen möchten, schreiben Sie es einfach.")
BACK_EN = "Our digital assistant is back with you now. If you would like to talk to a colleague again, just say so."


class Clock:
    def __init__(self) -> None:
        self.now = 1_796_115_600.0  # Tuesday 1 December 2026, 10:00 in Berlin

    def __call__(self) -> float:
        return self.now


@dataclasses.dataclass
class World:
    gateway: TestClient  # type: ignore[type-arg]
    rasa: ScriptedRasa
    redis: Redis
    clock: Clock
    follower: Follower
    consoles: list[Console] = dataclasses.field(default_factory=list)
    shoppers: list[Shopper] = dataclasses.field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.gateway.make_url("")).rstrip("/")

    async def console(self, email: str, team: Team = Team.LOGISTICS, *, role: AgentRole = AgentRole.AGENT,
                      name: str | None = None, online: bool = True) -> Console:
        await add_agent(self.redis, email, team, name=name, role=role)
        console = await Console(self.url, email).login()
        self.consoles.append(console)
        if not online:
            await console.call("PUT", "/presence", {"status": "away"})
        await console.connect()
        return console

    async def supervisor(self) -> Console:
        return await self.console(SUE, Team.GENERAL, role=AgentRole.SUPERVISOR, name="Sue", online=False)

    async def shopper(self, *lines: str, locale: str = "de") -> Shopper:
        """A web chat shopper who has written `lines`, each answered by the bot."""
        shopper = Shopper(self.url + "/", locale=locale)
        await shopper.connect()
        self.shoppers.append(shopper)
        for line in lines:
            await shopper.say(line, metadata={"locale": locale})
            await shopper.expect("bot_uttered")
        return shopper

    async def conversation(self, shopper: Shopper) -> Conversation:
        assert shopper.session_id is not None
        found = await ConversationStore(self.redis).find_latest(Channel.WEB, shopper.session_id)
        assert found is not None
        return found

    async def hand_over(self, shopper: Shopper, text: str = "Ich möchte mit einem Menschen sprechen") -> str:
        self.rasa.reply = HANDOFF
        await shopper.say(text)
        assert (await shopper.expect("bot_uttered"))["text"] == PASSING_ON
        self.rasa.reply = ANSWER
        return (await self.conversation(shopper)).id

    async def directory(self, console: Console, **query: str) -> dict[str, Any]:
        await self.follower.drain()
        return dict(await console.get("/conversations" + (f"?{urlencode(query)}" if query else "")))

    async def close(self) -> None:
        for shopper in self.shoppers:
            await shopper.close()
        for console in self.consoles:
            await console.close()


@pytest.fixture
async def world(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis,
                tmp_path: Path) -> AsyncIterator[World]:
    rasa = ScriptedRasa(ANSWER)
    settings = base_settings.replace(
        port=free_port(), rasa_url=await rasa.start(aiohttp_client), agent_max_chats=1,
        business_hours_file=hours_file(tmp_path, open_now=True), shop_token=SHOP_TOKEN, bot_token=BOT_TOKEN,
    )
    clock = Clock()
    follower = Follower(redis, DirectoryProjection())
    await follower.ensure_group()  # before anything is written: a new group starts at the feed's end
    world = World(await aiohttp_client(create_app(settings, clock=clock)), rasa, redis, clock, follower)
    yield world
    await world.close()


def _ids(page: dict[str, Any]) -> list[str]:
    return [entry["id"] for entry in page["conversations"]]


# --- who may ----------------------------------------------------------------------------


async def test_agents_get_403_and_strangers_401(world: World) -> None:
    anna = await world.console(ANNA)
    stranger = Console(world.url, "nobody@shop.example")
    world.consoles.append(stranger)

    for path in ("/conversations", "/overview", "/requests"):
        assert (await anna.call("GET", path))[0] == 403, path
        assert (await anna.call("GET", path))[1]["error"] == "not_permitted"
        assert (await stranger.call("GET", path))[0] == 401, path


# --- the directory ----------------------------------------------------------------------


async def test_the_directory_finds_what_shoppers_wrote_in_german_and_english(world: World) -> None:
    sue = await world.supervisor()
    german = await world.shopper("Ich möchte eine Rücksendung machen, die Größe passt nicht")
    world.clock.now += 60
    english = await world.shopper("I would like a refund for the damaged lamp", locale="en")
    world.clock.now += 60
    await world.shopper("Wann kommt mein Paket?")
    ids = {name: (await world.conversation(shopper)).id for name, shopper in (("de", german), ("en", english))}

    for query in ("Rücksendung", "ruecksendung", "RÜCKSENDUNG groesse", "rücks"):
        assert _ids(await world.directory(sue, q=query)) == [ids["de"]], query
    assert _ids(await world.directory(sue, q="Refund lamp")) == [ids["en"]]
    assert _ids(await world.directory(sue, q="damaged")) == [ids["en"]]
    # The bot's answer is searchable too ("Gern, dabei helfe ich."): in all three, newest first.
    assert len(_ids(await world.directory(sue, q="helfe"))) == 3
    assert _ids(await world.directory(sue, q="refund rücksendung")) == []

    entry = (await world.directory(sue, q="lamp"))["conversations"][0]
    assert (entry["channel"], entry["state"], entry["locale"], entry["csat"]) == ("web", "bot", "en", None)
    assert entry["preview"] == "I would like a refund for the damaged lamp" and entry["last_activity_at"] > 0


async def test_the_directory_filters_by_state_team_agent_channel_and_day(world: World) -> None:
    sue = await world.supervisor()
    anna = await world.console(ANNA, name="Anna")
    shopper = await world.shopper()
    taken = await world.hand_over(shopper)  # Anna is online: auto-assigned
    await shopper.expect("bot_uttered")  # Anna joined
    world.clock.now += 10
    waiting = await world.hand_over(await world.shopper())  # her one slot is full: it waits
    world.clock.now += 10
    await world.shopper("Nur eine Frage")

    everything = await world.directory(sue)
    # Empty parameters count as absent, as a console building ?state=&team= sends them.
    assert _ids(await world.directory(sue, state="", team="", q="")) == _ids(everything)
    assert len(everything["conversations"]) == 3 and everything["next"] is None
    assert _ids(await world.directory(sue, state="queued")) == [waiting]
    assert _ids(await world.directory(sue, state="assigned", agent=ANNA.upper())) == [taken]
    assert _ids(await world.directory(sue, team="logistics")) == [waiting, taken]
    assert _ids(await world.directory(sue, channel="sms")) == []
    assert _ids(await world.directory(sue, **{"from": "2026-12-01", "to": "2026-12-01"})) == _ids(everything)
    assert _ids(await world.directory(sue, **{"from": "2026-12-02"})) == []
    assert _ids(await world.directory(sue, to="2026-11-30")) == []

    # Resolved and rated: still Anna's and logistics', now with its score.
    assert (await anna.call("POST", f"/conversations/{taken}/resolve"))[0] == 200
    await shopper.expect("bot_uttered")  # how satisfied?
    await shopper.say("5")
    await shopper.expect("bot_uttered")  # anything to add?
    rated = await world.directory(sue, csat="5")
    assert _ids(rated) == [taken] and rated["conversations"][0]["csat"] == 5
    assert _ids(await world.directory(sue, state="resolved", agent=ANNA, team="logistics")) == [taken]


async def test_the_directory_pages_with_a_cursor(world: World) -> None:
    sue = await world.supervisor()
    for n in range(5):
        await world.shopper(f"Frage Nummer {n}")  # the clock stands still: every time ties

    seen: list[str] = []
    page = await world.directory(sue, limit="2")
    while True:
        seen += _ids(page)
        if page["next"] is None:
            break
        page = await world.directory(sue, limit="2", cursor=page["next"])

    assert len(seen) == 5 and len(set(seen)) == 5


@pytest.mark.parametrize("query", [
    {"state": "sleeping"}, {"team": "marketing"}, {"channel": "fax"}, {"csat": "6"}, {"limit": "0"},
    {"limit": "many"}, {"from": "yesterday"}, {"from": "2026-12-02", "to": "2026-12-01"},
    {"cursor": "not-a-cursor"}, {"q": "x" * 201},
])
async def test_a_bad_query_parameter_is_422_naming_it(world: World, query: dict[str, str]) -> None:
    sue = await world.supervisor()

    status, body = await sue.call("GET", f"/conversations?{urlencode(query)}")

    assert (status, body["error"]) == (422, "invalid_query")
    assert body["message"].startswith(next(iter(query)) if "to" not in query else "to"), body


# --- the overview and the requests ---------------------------------------------------------


async def test_the_overview_shows_the_waiting_and_every_agents_load(world: World) -> None:
    sue = await world.supervisor()
    await world.console(ANNA, name="Anna")
    await world.console(OTTO, Team.BILLING, online=False)
    await world.hand_over(await world.shopper())  # Anna takes it
    await world.hand_over(await world.shopper())  # waits
    world.clock.now += 42

    overview = await sue.get("/overview")

    teams = {entry["team"]: entry for entry in overview["teams"]}
    assert teams["logistics"] == {"team": "logistics", "waiting": 1, "longest_wait_seconds": 42.0}
    assert teams["billing"] == {"team": "billing", "waiting": 0, "longest_wait_seconds": None}
    agents = {agent["email"]: (agent["presence"], agent["open_chats"]) for agent in overview["agents"]}
    assert agents == {ANNA: ("online", 1), OTTO: ("away", 0), SUE: ("away", 0)}
    assert overview["capacity"] == 1
    assert overview["totals"] == {"waiting": 1, "assigned": 1, "online": 1, "away": 2, "offline": 0,
                                  "open_chats": 1, "free_slots": 0}


async def test_the_requests_list_shows_each_teams_open_requests_with_their_status(world: World) -> None:
    sue = await world.supervisor()
    cid = (await world.conversation(await world.shopper("Hallo"))).id  # a first message makes the conversation
    order = await put_order(world.gateway)
    assert (await verify(world.gateway, order["order_id"], "email", order["email"], cid=cid))[0] == 200
    opened = {}
    for kind in ("cancellation", "invoice_copy"):
        response = await world.gateway.post(f"/api/v1/conversations/{cid}/requests", headers=BOT,
                                            json={"kind": kind, "order_id": order["order_id"]})
        assert response.status == 201, await response.text()
        opened[kind] = (await response.json())["request"]["id"]

    listed = await sue.get("/requests")
    billing = await sue.get("/requests?team=billing&status=open")
    none_done = await sue.get("/requests?status=refunded")

    by_team = {entry["team"]: [(r["id"], r["kind"], r["status"]) for r in entry["requests"]]
               for entry in listed["teams"]}
    assert by_team == {"logistics": [(opened["cancellation"], "cancellation", "open")],
                       "billing": [(opened["invoice_copy"], "invoice_copy", "open")], "product": [], "general": []}
    assert [entry["team"] for entry in billing["teams"]] == ["billing"]
    assert billing["teams"][0]["requests"][0]["conversation_id"] == cid
    assert all(entry["requests"] == [] for entry in none_done["teams"])
    assert (await sue.call("GET", "/requests?status=lost"))[0] == 422


# --- handing back, taking over --------------------------------------------------------------


async def test_the_agent_hands_back_the_shopper_hears_it_and_the_bot_answers_again(world: World) -> None:
    anna = await world.console(ANNA, name="Anna")
    shopper = await world.shopper()
    cid = await world.hand_over(shopper)
    assert (await shopper.expect("bot_uttered"))["text"] == "Anna kümmert sich jetzt um Ihr Anliegen."
    waiting = await world.hand_over(await world.shopper())  # Anna is full: it waits

    status, summary = await anna.call("POST", f"/conversations/{cid}/handback")
    told = await shopper.expect("bot_uttered")
    await shopper.say("Und wie lange dauert der Versand?")
    answer = await shopper.expect("bot_uttered")

    assert status == 200 and (summary["state"], summary["agent"], summary["team"]) == ("bot", None, None)
    assert (told["text"], told["author"]) == (BACK_DE, "system")
    assert answer["text"] == "Gern, dabei helfe ich." and world.rasa.received[-1]["message"].startswith("Und wie")
    case = await anna.get(f"/conversations/{cid}")
    state = [e["data"] for e in case["events"] if e["kind"] == "state"][-1]
    assert state == {"from": "assigned", "to": "bot", "reason": f"handed_back by {ANNA}"}
    # Her slot came free: the waiting conversation is hers now.
    assert [entry["id"] for entry in (await anna.get("/queues"))["mine"]] == [waiting]


async def test_a_supervisor_hands_back_a_waiting_conversation_but_a_colleague_may_not(world: World) -> None:
    sue = await world.supervisor()
    otto = await world.console(OTTO, online=False)
    shopper = await world.shopper("Hello", locale="en")
    cid = await world.hand_over(shopper, "I want to talk to a person")
    await shopper.expect("bot_uttered")  # the place in the queue

    refused, body = await otto.call("POST", f"/conversations/{cid}/handback")
    no_csrf, _ = await sue.call("POST", f"/conversations/{cid}/handback", csrf=False)
    status, summary = await sue.call("POST", f"/conversations/{cid}/handback")
    told = await shopper.expect("bot_uttered")
    again, conflict = await sue.call("POST", f"/conversations/{cid}/handback")

    assert (refused, body["error"], no_csrf) == (403, "not_permitted", 403)
    assert status == 200 and summary["state"] == "bot" and told["text"] == BACK_EN
    assert (again, conflict["error"]) == (409, "conflict")  # it is with the bot already
    assert (await sue.call("POST", "/conversations/nope/handback"))[0] == 404
    assert _ids(await world.directory(sue, state="queued")) == []
    assert _ids(await world.directory(sue, state="bot")) == [cid]


async def test_a_supervisor_takes_over_by_transferring_to_themselves(world: World) -> None:
    sue = await world.supervisor()
    anna = await world.console(ANNA, name="Anna")
    shopper = await world.shopper()
    cid = await world.hand_over(shopper)
    await shopper.expect("bot_uttered")  # Anna joined

    status, summary = await sue.call("POST", f"/conversations/{cid}/transfer", {"agent": SUE})
    told = await shopper.expect("bot_uttered")
    replied, _ = await sue.call("POST", f"/conversations/{cid}/messages", {"text": "Hier ist Sue, ich übernehme."})
    reply = await shopper.expect("bot_uttered")

    assert status == 200 and (summary["state"], summary["agent"], summary["agent_name"]) == ("assigned", SUE, "Sue")
    assert told["text"] == "Sue kümmert sich jetzt um Ihr Anliegen."
    assert replied == 201 and (reply["text"], reply["agent_name"]) == ("Hier ist Sue, ich übernehme.", "Sue")
    assert (await anna.get("/queues"))["mine"] == []
    # Now with Sue's team, out of Anna's reach: answered as if it did not exist (gateway/desk/reach.py).
    assert (await anna.call("POST", f"/conversations/{cid}/resolve"))[0] == 404
    assert _ids(await world.directory(sue, agent=SUE)) == [cid]


def test_the_document_gives_the_supervisor_routes_the_session_and_their_query() -> None:
    doc = document("http://x")

    for route in SUPERVISOR_ROUTES:
        operation = doc["paths"][route.path][route.method.lower()]
        assert operation["security"] == [{"agentSession": []}], route.path
        assert {"401", "403"} <= set(operation["responses"]), route.path
        assert not [p for p in operation.get("parameters", []) if p["in"] == "header"], route.path
    listed = {p["name"] for p in doc["paths"]["/agent/conversations"]["get"]["parameters"]}
    assert listed == {"state", "team", "agent", "channel", "from", "to", "q", "csat", "limit", "cursor"}
    handback = doc["paths"]["/agent/conversations/{cid}/handback"]["post"]
    assert [p["name"] for p in handback["parameters"] if p["in"] == "header"] == ["X-CSRF-Token"]
