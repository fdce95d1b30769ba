"""Proactive chat offers (issue 6): every rule and every cap on a controllable clock, the answers
through the conversation loop, and the storefront's two ways in plus the supervisors' numbers
through the real app (Socket.IO and HTTP), with real Redis.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Author, Channel, ConversationState, EventKind, Team
from gateway import keys
from gateway.app import create_app
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import AgentRole
from gateway.desk.assignment import Presence
from gateway.proactive.metrics import Outcome
from gateway.proactive.offers import payload
from gateway.proactive.rules import DEFAULT_RULES_FILE, Rules, RulesError, parse_rules
from gateway.proactive.visitors import VisitorStore
from gateway.settings import Settings
from tests.gateway.agent_support import Console, add_agent
from tests.gateway.proactive_support import (
    DECLINED_DE,
    LANGUAGES,
    Clock,
    Shop,
    build_shop,
    make_rules,
    rules_raw,
    write_rules,
)
from tests.gateway.rasa_standin import AiohttpClient, ScriptedRasa
from tests.gateway.shop_support import BOT, SHOP, SHOP_TOKEN
from tests.hours_support import hours_file
from tests.support import Shopper, free_port

S = ConversationState
QUEUE_NEXT = "Gleich ist eine Kollegin oder ein Kollege für Sie da – Sie sind als Nächstes dran."


@pytest.fixture
async def shop(redis: Redis, tmp_path: Path) -> Shop:
    return await build_shop(redis, tmp_path)


async def _counts(shop: Shop, rule: str) -> dict[str, int]:
    report = await shop.proactive.report()
    entry = next(entry for entry in report["rules"] if entry["rule"] == rule)
    return {outcome.value: entry[outcome.value] for outcome in Outcome}


async def _idle_cart(shop: Shop, value: str = "39.90") -> tuple[str, str]:
    """A visitor who put something in the cart and sits on the cart page; (session, conversation)."""
    session_id, conversation = await shop.visitor()
    await shop.page(session_id, "product", "Leinen-Kissenhülle")
    shop.clock.advance(20)
    await shop.cart(session_id, value)
    await shop.page(session_id, "cart", "Warenkorb")
    return session_id, conversation.id


# --- the rules ------------------------------------------------------------------------------------


async def test_cart_idle_fires_once_after_a_minute_on_the_cart_page_and_the_offer_is_on_the_case(
    shop: Shop,
) -> None:
    session_id, conversation_id = await _idle_cart(shop)

    await shop.tick_after(59)
    assert shop.offers() == []
    await shop.tick_after(1)
    [offer] = shop.offers()
    # Back on the cart page later in the same session: not again.
    await shop.tick_after(700)
    await shop.page(session_id, "cart")
    await shop.tick_after(120)

    assert len(shop.offers()) == 1
    assert (offer["rule"], offer["target"], offer["text"]) == ("cart_idle", "bot", "cart_idle: bot de")
    assert "team" not in offer  # nobody of the team is online: the bot offers itself
    assert offer["quick_replies"] == [
        {"title": "Ja, gern", "payload": f'/offer_accept{{"offer_id":"{offer["offer_id"]}"}}'},
        {"title": "Nein, danke", "payload": f'/offer_decline{{"offer_id":"{offer["offer_id"]}"}}'},
        {"title": "Rückruf vereinbaren", "payload": f'/offer_callback{{"offer_id":"{offer["offer_id"]}"}}'},
    ]
    rich, plain = f"web:{session_id}:rich", f"web:{session_id}:plain"
    assert [(e[0], e[2]) for e in shop.emits] == [("proactive_offer", rich), ("bot_uttered", rich),
                                                   ("bot_uttered", plain)]
    uttered, plainly = (e[1] for e in shop.emits if e[0] == "bot_uttered")
    assert (uttered["text"], uttered["author"], uttered["offer_id"]) == (offer["text"], "bot", offer["offer_id"])
    # A plain Rasa widget gets Rasa's keys only, the offer's buttons as quick replies.
    assert set(plainly) == {"text", "quick_replies"} and plainly["quick_replies"] == uttered["quick_replies"]
    assert [reply["payload"] for reply in uttered["quick_replies"]] == [r["payload"] for r in offer["quick_replies"]]
    recorded = [e for e in await shop.store.history(conversation_id) if e.kind is EventKind.MESSAGE]
    assert [(e.author, e.text) for e in recorded] == [(Author.BOT, offer["text"])]
    assert recorded[0].data == {"offer_id": offer["offer_id"], "rule": "cart_idle",
                                "quick_replies": offer["quick_replies"]}
    assert (await _counts(shop, "cart_idle"))["shown"] == 1


async def test_cart_idle_needs_the_minimum_cart_value_and_items(shop: Shop) -> None:
    await _idle_cart(shop, value="19.99")
    empty, _ = await shop.visitor()
    await shop.cart(empty, "0.00", items=0)
    await shop.page(empty, "cart")
    await shop.tick_after(300)
    assert shop.offers() == []

    await _idle_cart(shop, value="20.00")
    await shop.tick_after(60)
    assert [offer["rule"] for offer in shop.offers()] == ["cart_idle"]


async def test_product_browsing_counts_product_pages_only_and_starts_again_when_the_cart_changes(
    shop: Shop,
) -> None:
    browsing, _ = await shop.visitor()
    await shop.page(browsing, "product", "Kissen")
    shop.clock.advance(100)
    await shop.page(browsing, "product", "Decke")
    await shop.tick_after(79)
    assert shop.offers() == []
    await shop.tick_after(1)  # 180 s on product pages
    assert [offer["rule"] for offer in shop.offers()] == ["product_browsing"]

    category, _ = await shop.visitor()
    await shop.page(category, "category")
    await shop.tick_after(400)
    assert len(shop.offers()) == 1  # time on category pages is not browsing products

    adding, _ = await shop.visitor()
    await shop.page(adding, "product")
    shop.clock.advance(170)
    await shop.cart(adding, "29.90")  # they acted: the clock starts again
    await shop.tick_after(179)
    assert len(shop.offers()) == 1
    await shop.tick_after(1)  # 180 s since the cart change, still on the product page
    assert [offer["rule"] for offer in shop.offers()] == ["product_browsing", "product_browsing"]


async def test_help_reading_fires_on_the_third_help_page_after_a_pause_with_the_bot(shop: Shop) -> None:
    await shop.online("paul@shop.example", Team.GENERAL)
    session_id, _ = await shop.visitor(locale="en")
    await shop.page(session_id, "help", "Returns")
    await shop.page(session_id, "help", "Shipping")
    await shop.tick_after(120)
    assert shop.offers() == []

    await shop.page(session_id, "help", "Payment")
    await shop.tick_after(19)
    assert shop.offers() == []
    await shop.tick_after(1)

    [offer] = shop.offers()
    assert (offer["rule"], offer["target"], offer["text"]) == ("help_reading", "bot", "help_reading: bot en")
    assert [reply["title"] for reply in offer["quick_replies"]] == ["Yes, please", "No, thanks", "Arrange a call-back"]


async def test_a_rule_for_new_visitors_and_one_for_returning_visitors(redis: Redis, tmp_path: Path) -> None:
    shop = await build_shop(redis, tmp_path, make_rules({
        "welcome": {"when": {"idle_seconds": 10, "visitor": "new"}, "target": "bot"},
        "welcome_back": {"when": {"idle_seconds": 10, "visitor": "returning"}, "target": "bot"},
    }, max_per_day=5))
    session_id, _ = await shop.visitor()
    await shop.page(session_id, "other")
    await shop.tick_after(10)
    await shop.page(session_id, "category")
    await shop.tick_after(700)
    assert [offer["rule"] for offer in shop.offers()] == ["welcome"]

    shop.clock.advance(31 * 60)  # the browsing session has ended; the next page starts a new one
    await shop.page(session_id, "other")
    await shop.tick_after(10)

    assert [offer["rule"] for offer in shop.offers()] == ["welcome", "welcome_back"]
    visitor = await VisitorStore(redis).get(session_id)
    assert visitor is not None and visitor.returning


# --- the caps -------------------------------------------------------------------------------------


async def test_at_most_max_per_day_offers_and_the_next_day_again(shop: Shop) -> None:
    session_id, _ = await shop.visitor()
    for title in ("Rücksendung", "Versand", "Zahlung"):
        await shop.page(session_id, "help", title)
    await shop.tick_after(20)
    shop.clock.advance(600)  # the help offer is no longer open
    await shop.cart(session_id, "59.00")
    await shop.page(session_id, "cart")
    await shop.tick_after(60)
    shop.clock.advance(600)
    await shop.page(session_id, "product")
    await shop.tick_after(400)
    assert [offer["rule"] for offer in shop.offers()] == ["help_reading", "cart_idle"]

    shop.clock.advance(24 * 3600)  # the next day (and a new browsing session)
    await shop.page(session_id, "product")
    await shop.tick_after(180)
    assert [offer["rule"] for offer in shop.offers()] == ["help_reading", "cart_idle", "product_browsing"]


async def test_no_offer_while_the_conversation_is_with_the_team(shop: Shop) -> None:
    session_id, conversation = await shop.visitor()
    queued = await shop.desk.queue(conversation, Team.LOGISTICS, "shopper_asked")
    assert queued is not None and queued.state is S.QUEUED
    await shop.cart(session_id, "99.00")
    await shop.page(session_id, "cart")
    await shop.tick_after(600)

    assert shop.offers() == []


async def test_no_offer_within_ten_minutes_of_the_shoppers_last_message(shop: Shop) -> None:
    session_id, conversation_id = await _idle_cart(shop)
    await shop.says(conversation_id, "Hallo")
    written = shop.clock()
    await shop.tick_after(60)
    await shop.tick_after(500)
    assert shop.offers() == []

    shop.clock.now = written + 599
    await shop.proactive.engine.tick()
    assert shop.offers() == []
    await shop.tick_after(1)
    assert [offer["rule"] for offer in shop.offers()] == ["cart_idle"]


@pytest.mark.parametrize("checkout", [{"type": "checkout_started"}, {"type": "order_placed", "order_id": "104233"}])
async def test_no_offer_after_checkout_in_the_session(shop: Shop, checkout: dict[str, Any]) -> None:
    session_id, _ = await _idle_cart(shop)
    await shop.send(session_id, **checkout)
    await shop.page(session_id, "checkout")
    await shop.tick_after(300)

    assert shop.offers() == []
    assert await shop.redis.zscore(keys.PROACTIVE_DUE, session_id) is None


async def test_a_human_offer_only_with_an_agent_of_the_team_online_and_a_free_slot(shop: Shop) -> None:
    async def offer() -> dict[str, Any]:
        await _idle_cart(shop)
        await shop.tick_after(60)
        return shop.offers()[-1]

    nobody = await offer()
    await shop.online("pia@shop.example", Team.PRODUCT)
    other_team = await offer()
    await shop.online("gus@shop.example", Team.GENERAL, open_chats=1)  # capacity 1: full
    full = await offer()
    await shop.roster.choose("gus@shop.example", Presence.AWAY)
    await shop.redis.delete(keys.agent_chats("gus@shop.example"))
    away = await offer()
    await shop.roster.choose("gus@shop.example", Presence.ONLINE)
    free = await offer()

    assert [o["target"] for o in (nobody, other_team, full, away)] == ["bot"] * 4
    assert (free["target"], free["team"], free["text"]) == ("human", "general", "cart_idle: human de")


async def test_two_processes_ticking_at_once_show_one_offer(shop: Shop, redis: Redis, tmp_path: Path) -> None:
    other = await build_shop(redis, tmp_path)
    other.clock.now = shop.clock.now
    await _idle_cart(shop)
    shop.clock.advance(60)
    other.clock.now = shop.clock.now

    await asyncio.gather(shop.proactive.engine.tick(), other.proactive.engine.tick())
    # Even evaluating the same visitor at once (no ZREM in between) shows it once.
    session_id, _ = await _idle_cart(shop)
    shop.clock.advance(60)
    other.clock.now = shop.clock.now
    await asyncio.gather(shop.proactive.engine.evaluate(session_id), other.proactive.engine.evaluate(session_id))

    assert len(shop.offers() + other.offers()) == 2
    assert (await _counts(shop, "cart_idle"))["shown"] == 2


# --- the answers ------------------------------------------------------------------------------------


async def test_accepting_a_human_offer_puts_cart_and_trigger_on_the_case_and_queues_it_for_the_team(
    shop: Shop,
) -> None:
    await shop.online("gus@shop.example", Team.GENERAL)
    session_id, conversation_id = await _idle_cart(shop)
    await shop.tick_after(60)
    [offer] = shop.offers()
    await shop.roster.choose("gus@shop.example", Presence.AWAY)  # he stepped away meanwhile

    await shop.says(conversation_id, payload("offer_accept", offer["offer_id"]))

    conversation = await shop.store.get(conversation_id)
    assert (conversation.state, conversation.team, conversation.reason) == (S.QUEUED, "general", "proactive_cart_idle")
    assert await shop.redis.zrange(keys.team_queue("general"), 0, -1) == [conversation_id]
    assert shop.told(conversation_id)[-1] == QUEUE_NEXT
    assert shop.bot.heard == []
    history = await shop.store.history(conversation_id)
    [context] = [e for e in history if e.kind is EventKind.CONTEXT]
    assert (context.data["rule"], context.data["offer_id"], context.data["target"]) == (
        "cart_idle", offer["offer_id"], "human")
    assert context.data["cart"]["value"] == "39.90" and context.data["cart"]["items"][0]["sku"] == "NL-0"
    assert [page["title"] for page in context.data["trail"]] == ["Leinen-Kissenhülle", "Warenkorb"]
    tapped = [e for e in history if e.kind is EventKind.MESSAGE and e.author is Author.SHOPPER][-1]
    assert tapped.data["quick_reply_title"] == "Ja, gern"
    assert (await _counts(shop, "cart_idle"))["accepted"] == 1


async def test_accepting_the_bots_offer_gets_its_answer_and_the_bot_takes_the_next_message(shop: Shop) -> None:
    session_id, conversation = await shop.visitor()
    for _ in range(3):
        await shop.page(session_id, "help")
    await shop.tick_after(20)
    [offer] = shop.offers()

    await shop.says(conversation.id, payload("offer_accept", offer["offer_id"]))
    await shop.says(conversation.id, payload("offer_accept", offer["offer_id"]))  # a double tap
    assert shop.told(conversation.id)[-1] == "help_reading: accepted de"
    await shop.says(conversation.id, "Wie lange habe ich für eine Rücksendung Zeit?")

    assert shop.bot.heard == ["Wie lange habe ich für eine Rücksendung Zeit?"]
    assert shop.told(conversation.id).count("help_reading: accepted de") == 1
    assert (await _counts(shop, "help_reading"))["accepted"] == 1


async def test_writing_while_the_offer_is_open_accepts_it_and_the_bot_answers_the_question(shop: Shop) -> None:
    session_id, conversation = await shop.visitor()
    for _ in range(3):
        await shop.page(session_id, "help")
    await shop.tick_after(20)
    shop.clock.advance(300)

    await shop.says(conversation.id, "Kann ich per Rechnung zahlen?")

    assert shop.bot.heard == ["Kann ich per Rechnung zahlen?"]
    assert "help_reading: accepted de" not in shop.told(conversation.id)
    assert [e.data["rule"] for e in await shop.store.history(conversation.id) if e.kind is EventKind.CONTEXT] == [
        "help_reading"]
    assert (await _counts(shop, "help_reading"))["accepted"] == 1


async def test_a_message_after_the_offer_closed_is_just_a_message(shop: Shop) -> None:
    session_id, conversation = await shop.visitor()
    for _ in range(3):
        await shop.page(session_id, "help")
    await shop.tick_after(20)
    shop.clock.advance(601)

    await shop.says(conversation.id, "Hallo")

    assert shop.bot.heard == ["Hallo"]
    assert (await _counts(shop, "help_reading"))["accepted"] == 0


async def test_declining_is_answered_briefly_and_counted_once(shop: Shop) -> None:
    session_id, conversation_id = await _idle_cart(shop)
    await shop.tick_after(60)
    [offer] = shop.offers()

    await shop.says(conversation_id, payload("offer_decline", offer["offer_id"]))
    await shop.says(conversation_id, payload("offer_decline", offer["offer_id"]))
    await shop.says(conversation_id, payload("offer_accept", "0" * 32))  # no such offer

    assert shop.told(conversation_id) == [DECLINED_DE]  # the offer itself went out as an emit
    assert shop.bot.heard == []
    assert (await shop.store.get(conversation_id)).state is S.BOT
    assert await _counts(shop, "cart_idle") == {"shown": 1, "accepted": 0, "declined": 1, "converted": 0}


async def test_an_order_placed_after_an_offer_counts_as_converted_once(shop: Shop) -> None:
    session_id, _ = await _idle_cart(shop)
    await shop.tick_after(60)
    plain, _ = await _idle_cart(shop, value="5.00")  # no offer for this one: not a conversion

    for visitor in (session_id, session_id, plain):
        await shop.send(visitor, type="order_placed", order_id="104233", value="39.90")

    report = await shop.proactive.report()
    assert report["rules"][0] == {"rule": "cart_idle", "target": "human", "shown": 1, "accepted": 0,
                                  "declined": 0, "converted": 1, "conversion_rate": 1.0}
    assert [entry["rule"] for entry in report["rules"]] == ["cart_idle", "product_browsing", "help_reading"]


# --- the rules file -------------------------------------------------------------------------------


def test_the_shipped_rules_file_has_the_three_rules_in_german_and_english() -> None:
    rules = Rules.load(DEFAULT_RULES_FILE, languages=LANGUAGES, default_locale="de")

    assert [rule.name for rule in rules.rules] == ["cart_idle", "product_browsing", "help_reading"]
    assert all(set(rule.texts) == LANGUAGES for rule in rules.rules)
    assert rules.session_timeout_seconds == 1800 and rules.offer_open_seconds == 600
    assert rules.declined_text("en") != rules.declined_text("de")
    human = [rule for rule in rules.rules if rule.target.value == "human"]
    assert human and all(rule.team is not None and rule.texts["de"].human_text for rule in human)


@pytest.mark.parametrize(("change", "message"), [
    (lambda raw: raw["rules"]["cart_idle"]["when"].update(idle_minutes=5), "rules.cart_idle.when: unknown condition"),
    (lambda raw: raw["rules"]["cart_idle"]["when"].pop("idle_seconds"), "needs one of idle_seconds"),
    (lambda raw: raw["rules"]["cart_idle"].pop("team"), "rules.cart_idle.team: must be one of"),
    (lambda raw: raw["rules"]["cart_idle"]["texts"].pop("en"), "rules.cart_idle.texts: no texts in en"),
    (lambda raw: raw["rules"]["cart_idle"]["texts"]["de"].pop("human_text"), "texts.de.human_text: must be"),
    (lambda raw: raw["rules"]["help_reading"]["when"].update(help_pages=0), "help_pages: must be a positive"),
    (lambda raw: raw["rules"]["cart_idle"]["when"].update(min_cart_value="20,00"), "min_cart_value: must be"),
    (lambda raw: raw["rules"]["cart_idle"]["when"].update(page_types=["basket"]), "page_types[0]: must be one of"),
    (lambda raw: raw["rules"]["cart_idle"]["when"].update(visitor="loyal"), "when.visitor: must be one of"),
    (lambda raw: raw["texts"].pop("de"), "texts: no texts in de"),
])
def test_a_mistake_in_the_rules_file_names_the_entry(change: Any, message: str) -> None:
    raw = rules_raw()
    change(raw)
    with pytest.raises(RulesError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_rules(raw, languages=LANGUAGES, default_locale="de")


# --- through the real app: Socket.IO, HTTP, the console ------------------------------------------------


# Rules that fire at once in the app (real time): a help page is enough.
APP_RULES = {
    "help_reading": {"when": {"page_types": ["help"], "help_pages": 1}, "target": "human", "team": "logistics"},
    "cart_idle": {"when": {"page_types": ["cart"], "idle_seconds": 3600, "min_cart_value": "1.00"}, "target": "bot"},
}


@dataclasses.dataclass
class App:
    gateway: TestClient  # type: ignore[type-arg]
    rasa: ScriptedRasa
    redis: Redis
    closing: list[Shopper | Console]

    @property
    def url(self) -> str:
        return str(self.gateway.make_url("")).rstrip("/")

    async def shopper(self, locale: str = "de") -> Shopper:
        shopper = Shopper(self.url + "/", locale=locale)
        shopper.client.on("proactive_offer", shopper._collector("proactive_offer"))
        await shopper.connect()
        self.closing.append(shopper)
        return shopper

    async def console(self, email: str, team: Team, *, role: AgentRole = AgentRole.AGENT,
                      connect: bool = True) -> Console:
        await add_agent(self.redis, email, team, name=email.partition("@")[0].title(), role=role)
        console = await Console(self.url, email).login()
        self.closing.append(console)
        return await console.connect() if connect else console

    async def conversation_id(self, shopper: Shopper) -> str:
        assert shopper.session_id is not None
        found = await ConversationStore(self.redis).find_latest(Channel.WEB, shopper.session_id)
        assert found is not None
        return found.id


async def _app(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
               rules: dict[str, Any] | None, clock: Clock | None = None) -> App:
    rasa = ScriptedRasa({"messages": [{"text": "Hallo!"}], "intent": {"name": "greet", "confidence": 0.9},
                         "retrieval": None, "handoff": None})
    settings = base_settings.replace(
        port=free_port(), rasa_url=await rasa.start(aiohttp_client), shop_token=SHOP_TOKEN,
        bot_token="bot-token-for-tests", business_hours_file=hours_file(tmp_path, open_now=True),
        proactive_rules_file=write_rules(tmp_path, rules),
    )
    gateway = create_app(settings) if clock is None else create_app(settings, clock=clock)
    return App(await aiohttp_client(gateway), rasa, redis, [])


@pytest.fixture
async def app(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis,
              tmp_path: Path) -> AsyncIterator[App]:
    world = await _app(aiohttp_client, base_settings, redis, tmp_path, APP_RULES)
    yield world
    for client in world.closing:
        await client.close()


async def _until(condition: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.05)


async def test_storefront_events_over_socketio_reach_the_engine_and_the_agent_sees_cart_and_trail(
    app: App,
) -> None:
    shopper = await app.shopper()
    boss = await app.console("sue@shop.example", Team.GENERAL, role=AgentRole.SUPERVISOR, connect=False)
    await shopper.client.emit("storefront_event", {"type": "page_view", "page_type": "product",
                                                   "url": "https://nordlicht-home.example/p/kissen",
                                                   "title": "Leinen-Kissenhülle"})
    await shopper.client.emit("storefront_event", {
        "type": "cart", "value": "59.80", "currency": "EUR",
        "items": [{"sku": "NL-1001", "name": "Leinen-Kissenhülle", "quantity": 2, "price": "29.90"}]})
    await shopper.client.emit("storefront_event", {"type": "cart", "items": [{"sku": "x"}]})
    refused = await shopper.expect("storechat_error")
    visitors = VisitorStore(app.redis)
    assert shopper.session_id is not None
    session_id = shopper.session_id

    async def has_cart() -> bool:
        visitor = await visitors.get(session_id)
        return visitor is not None and visitor.cart is not None

    await _until(has_cart)
    # A page view makes no case: the shopper's first message does, and it shows what they did before.
    await shopper.say("Hallo")
    await shopper.expect("bot_uttered")
    case = await boss.get(f"/conversations/{await app.conversation_id(shopper)}")

    assert refused["code"] == "invalid_event" and "items[0].name" in refused["message"]
    assert case["visitor"]["cart"]["value"] == "59.80" and case["visitor"]["cart"]["currency"] == "EUR"
    assert [(p["page_type"], p["title"]) for p in case["visitor"]["trail"]] == [("product", "Leinen-Kissenhülle")]
    assert case["trail"] == case["visitor"]["trail"] and case["cart"] == case["visitor"]["cart"]
    assert shopper.inbox.empty()  # no offer for a product page


async def test_a_socket_sending_too_many_events_has_the_excess_dropped(app: App) -> None:
    shopper = await app.shopper()
    for index in range(15):
        await shopper.client.emit("storefront_event", {"type": "page_view", "page_type": "category",
                                                       "title": f"Seite {index}"})
    await asyncio.sleep(0.5)

    assert shopper.session_id is not None
    trail = await VisitorStore(app.redis).trail(shopper.session_id)
    assert 5 <= len(trail) <= 8


async def test_the_shops_endpoint_needs_the_shop_token_and_validates_events(app: App) -> None:
    shopper = await app.shopper()
    session_id = shopper.session_id
    good = {"session_id": session_id, "event": {"type": "checkout_started"}}

    async def post(body: Any, headers: dict[str, str] = SHOP) -> tuple[int, Any]:
        response = await app.gateway.post("/api/v1/storefront/events", json=body, headers=headers)
        return response.status, await response.json()

    assert (await post(good, {}))[0] == 401
    assert (await post(good, BOT))[0] == 403
    bad = [
        ({"event": {"type": "checkout_started"}}, "session_id: is required"),
        ({"session_id": "short", "event": {"type": "checkout_started"}}, "session_id: must match"),
        ({"session_id": session_id, "event": {"type": "wishlist"}}, "event.type: must be one of"),
        ({"session_id": session_id, "event": {"type": "page_view", "page_type": "blog"}}, "event.page_type"),
        ({"session_id": session_id, "event": {"type": "page_view", "page_type": "help",
                                              "url": "javascript:alert(1)"}}, "event.url: must match"),
        ({"session_id": session_id, "event": {"type": "cart", "items": [], "value": "1,50", "currency": "EUR"}},
         "event.value: must match"),
        ({"session_id": session_id, "event": {"type": "cart", "value": "10.00", "currency": "EUR", "items": [
            {"sku": "NL-1", "name": "Kissen", "quantity": 0, "price": "10.00"}]}}, "event.items[0].quantity"),
        ({"session_id": session_id, "event": "order_placed"}, "event: must be a JSON object"),
    ]
    for body, message in bad:
        status, error = await post(body)
        assert (status, error["error"]) == (422, "invalid_event"), body
        assert error["message"].startswith(message), (body, error)

    status, accepted = await post({"session_id": session_id, "event": {
        "type": "page_view", "page_type": "help", "url": "https://nordlicht-home.example/hilfe"}})
    assert (status, accepted) == (202, {"accepted": True})
    offer = await shopper.expect("proactive_offer")  # the shop's event reaches the visitor's widget
    assert offer["rule"] == "help_reading"


async def test_a_human_offer_accepted_in_the_widget_goes_to_the_online_agent_with_the_context(app: App) -> None:
    anna = await app.console("anna@shop.example", Team.LOGISTICS)
    shopper = await app.shopper()
    await shopper.client.emit("storefront_event", {"type": "cart", "value": "24.90", "currency": "EUR", "items": [
        {"sku": "NL-2040", "name": "Eichen-Kerzenhalter", "quantity": 1, "price": "24.90"}]})
    await shopper.client.emit("storefront_event", {"type": "page_view", "page_type": "help",
                                                   "url": "https://nordlicht-home.example/hilfe/versand",
                                                   "title": "Versand"})

    offer = await shopper.expect("proactive_offer")
    uttered = await shopper.expect("bot_uttered")
    assert (offer["target"], offer["team"], offer["text"]) == ("human", "logistics", "help_reading: human de")
    assert uttered["offer_id"] == offer["offer_id"] and uttered["text"] == offer["text"]
    await shopper.say(offer["quick_replies"][0]["payload"])
    joined = await shopper.expect("bot_uttered")
    conversation_id = await app.conversation_id(shopper)
    assigned = await anna.expect("conversation", lambda c: c["id"] == conversation_id and c["state"] == "assigned")
    case = await anna.get(f"/conversations/{conversation_id}")

    assert joined["text"] == "Anna kümmert sich jetzt um Ihr Anliegen."
    assert (assigned["team"], assigned["reason"], assigned["agent"]) == (
        "logistics", "proactive_help_reading", "anna@shop.example")
    [context] = [e for e in case["events"] if e["kind"] == "context"]
    assert context["data"]["rule"] == "help_reading" and context["data"]["cart"]["value"] == "24.90"
    assert [page["title"] for page in context["data"]["trail"]] == ["Versand"]
    assert app.rasa.received == []


async def test_a_bot_offer_declined_in_the_widget_and_the_supervisors_numbers(app: App) -> None:
    shopper = await app.shopper()
    await shopper.client.emit("storefront_event", {"type": "page_view", "page_type": "help"})
    offer = await shopper.expect("proactive_offer")
    assert (offer["target"], offer["text"]) == ("bot", "help_reading: bot de")  # nobody of logistics is online
    assert (await shopper.expect("bot_uttered"))["offer_id"] == offer["offer_id"]

    await shopper.say(offer["quick_replies"][1]["payload"])
    answer = await shopper.expect("bot_uttered")
    history = await shopper.history()
    response = await app.gateway.post("/api/v1/storefront/events", headers=SHOP, json={
        "session_id": shopper.session_id, "event": {"type": "order_placed", "order_id": "104233"}})
    assert response.status == 202
    boss = await app.console("sue@shop.example", Team.GENERAL, role=AgentRole.SUPERVISOR, connect=False)
    agent = await app.console("kim@shop.example", Team.GENERAL, connect=False)
    status, report = await boss.call("GET", "/proactive")
    refused, body = await agent.call("GET", "/proactive")
    anonymous = await app.gateway.get("/api/v1/agent/proactive")

    assert answer["text"] == DECLINED_DE and app.rasa.received == []
    assert [(m["author"], m["text"]) for m in history] == [
        ("bot", offer["text"]), ("shopper", "Nein, danke"), ("bot", DECLINED_DE)]
    assert history[0]["quick_replies"] == offer["quick_replies"]
    assert status == 200 and report["rules"] == [
        {"rule": "help_reading", "target": "human", "shown": 1, "accepted": 0, "declined": 1, "converted": 1,
         "conversion_rate": 1.0},
        {"rule": "cart_idle", "target": "bot", "shown": 0, "accepted": 0, "declined": 0, "converted": 0,
         "conversion_rate": 0.0},
    ]
    assert (refused, body["error"]) == (403, "not_permitted")
    assert anonymous.status == 401


async def test_the_apps_ticker_offers_once_the_cart_has_waited_long_enough(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
) -> None:
    clock = Clock()
    app = await _app(aiohttp_client, base_settings, redis, tmp_path, None, clock)  # the three rules
    shopper = await app.shopper()
    try:
        await shopper.client.emit("storefront_event", {"type": "cart", "value": "39.90", "currency": "EUR", "items": [
            {"sku": "NL-1001", "name": "Leinen-Kissenhülle", "quantity": 1, "price": "39.90"}]})
        await shopper.client.emit("storefront_event", {"type": "page_view", "page_type": "cart"})
        assert shopper.session_id is not None
        session_id = shopper.session_id

        async def due() -> bool:
            return await redis.zscore(keys.PROACTIVE_DUE, session_id) == clock.now + 60

        await _until(due)
        clock.advance(59)
        await shopper.no_event("proactive_offer", within=1.5)  # the ticker ran: not yet
        clock.advance(1)
        offer = await shopper.expect("proactive_offer", timeout=5)
    finally:
        await shopper.close()

    assert (offer["rule"], offer["target"]) == ("cart_idle", "bot")


async def test_an_offer_answered_with_a_call_back_counts_as_taken_and_opens_the_call_back_form(app: App) -> None:
    shopper = await app.shopper()
    await shopper.client.emit("storefront_event", {"type": "page_view", "page_type": "help"})
    offer = await shopper.expect("proactive_offer")
    await shopper.expect("bot_uttered")
    choice = offer["quick_replies"][2]

    await shopper.say(choice["payload"])
    answer = await shopper.expect("bot_uttered")
    boss = await app.console("sue@shop.example", Team.GENERAL, role=AgentRole.SUPERVISOR, connect=False)
    _, report = await boss.call("GET", "/proactive")
    case = await boss.get(f"/conversations/{await app.conversation_id(shopper)}")

    assert choice["title"] == "Rückruf vereinbaren"
    assert answer["quick_replies"] == [{"content_type": "text", "title": "Rückruf vereinbaren",
                                        "payload": "/callback_form"}]
    assert answer["text"].startswith("Gern ruft Sie unser Team zurück") and app.rasa.received == []
    assert report["rules"][0]["accepted"] == 1 and report["rules"][0]["declined"] == 0
    [context] = [e for e in case["events"] if e["kind"] == "context"]
    assert context["data"]["target"] == "callback"
