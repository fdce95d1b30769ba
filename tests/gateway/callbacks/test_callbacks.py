"""Call-backs through a real gateway: the widget's Socket.IO events, the case in its team's
queue, the Agent API's list and outcomes with the retry limit, the report's counts against a
recount of the case events, and an erasure taking the number with the case.

The clock is the test's (a Wednesday afternoon in Berlin) and the hours are the policy sheet's,
so the offered slots are known; Rasa is a stand-in that is never asked.
"""

from __future__ import annotations

from collections import Counter

from core.types import Channel, Conversation, ConversationState, Event, EventKind, OutgoingMessage
from gateway import keys
from gateway.callbacks.service import CALLBACKS
from gateway.conversations.store import ConversationStore
from gateway.reports.service import REPORTS
from gateway.shop.orders import OrderStore, parse_order
from tests.gateway.callbacks.support import AGENT, BOSS, World, berlin, ms
from tests.gateway.shop_support import order_body


async def test_a_shopper_books_a_call_in_the_widget_and_reads_the_confirmation(world: World) -> None:
    shopper = await world.shopper("de")
    slots = await shopper.client.call("callback_slots", {})
    assert slots["status"] == "ok" and slots["reminder"] is False  # no SMS configured here
    assert [slot["at"] for slot in slots["slots"][:2]] == [ms("2026-12-09T14:30"), ms("2026-12-09T15:00")]
    assert slots["slots"][0]["label"] == "heute um 14:30 Uhr"

    refused = await shopper.client.call("callback_request", {"phone": "ruf mich an", "slot": slots["slots"][0]["at"]})
    assert refused["status"] == "refused" and refused["field"] == "phone"
    assert refused["message"].startswith("Das sieht nicht nach einer Telefonnummer aus")
    outside = await shopper.client.call("callback_request", {"phone": "0171 2345678", "slot": ms("2026-12-09T21:00")})
    assert outside["status"] == "refused" and outside["field"] == "slot"
    assert await world.redis.zcard(keys.CALLBACKS_DUE) == 0  # nothing of a refused request is kept

    answer = await shopper.client.call("callback_request", {"phone": "0171 2345678", "slot": slots["slots"][1]["at"]})
    confirmation = await shopper.expect("bot_uttered")

    assert answer == {"status": "scheduled", "phone": "+491712345678", "slot": ms("2026-12-09T15:00"),
                      "label": "heute um 15:00 Uhr"}
    assert confirmation["author"] == "system"
    assert confirmation["text"] == "Danke! Wir rufen Sie heute um 15:00 Uhr unter +491712345678 an."
    cid = str((await world.redis.zrange(keys.CALLBACKS_DUE, 0, -1))[0])
    conversation = await ConversationStore(world.redis).get(cid)
    assert (conversation.state, conversation.team, conversation.reason) == (ConversationState.QUEUED, "general",
                                                                              "callback")
    [requested] = await world.events(cid, EventKind.CALLBACK)
    assert requested["step"] == "requested" and requested["phone"] == "+491712345678"
    assert requested["slot"] == ms("2026-12-09T15:00") and requested["via"] == "widget"


async def test_the_team_lists_it_and_unanswered_calls_are_retried_then_closed_as_unreachable(world: World) -> None:
    shopper = await world.shopper("en")
    await shopper.client.call("callback_request", {"phone": "+44 20 7946 0958", "slot": ms("2026-12-09T14:30")})
    await shopper.expect("bot_uttered")
    anna = await world.console(AGENT)
    listed = await anna.get("/callbacks")
    [callback] = listed["callbacks"]
    cid = callback["conversation_id"]
    assert (callback["phone"], callback["slot"], callback["attempts"], callback["max_attempts"]) == (
        "+442079460958", ms("2026-12-09T14:30"), 0, 3)
    assert listed["slots"]["general"][0] == ms("2026-12-09T14:30")

    world.clock.now = berlin("2026-12-09T14:35")
    status, first = await anna.call("POST", f"/conversations/{cid}/callback", {"outcome": "no_answer"})
    retry = await shopper.expect("bot_uttered")
    assert status == 200 and first["attempts"] == 1 and first["slot"] == ms("2026-12-09T16:00")
    assert retry["text"] == "Sorry, we could not reach you. We will try again today at 16:00."  # an hour on

    world.clock.now = berlin("2026-12-09T19:40")
    status, second = await anna.call("POST", f"/conversations/{cid}/callback", {"outcome": "no_answer"})
    assert status == 200 and second["slot"] == ms("2026-12-10T08:00")  # the next morning: 20:00 closes
    await shopper.expect("bot_uttered")
    status, third = await anna.call("POST", f"/conversations/{cid}/callback", {"outcome": "no_answer"})
    told = await shopper.expect("bot_uttered")
    assert status == 200 and third["status"] == "unreachable" and third["attempts"] == 3
    # Told on the shopper's own channel, which may be SMS or e-mail: no "in the chat".
    assert told["text"] == ("Sorry, we could not reach you after 3 tries and will not call again. Just reply to "
                            "this message – we will answer you the same way.")
    assert (await ConversationStore(world.redis).get(cid)).state is ConversationState.RESOLVED
    assert (await anna.get("/callbacks"))["callbacks"] == []
    status, again = await anna.call("POST", f"/conversations/{cid}/callback", {"outcome": "no_answer"})
    assert status == 409 and again["error"] == "not_open"
    steps = [event["step"] for event in await world.events(cid, EventKind.CALLBACK)]
    assert steps == ["requested", "no_answer", "no_answer", "unreachable"]


async def test_reached_resolves_the_case_and_a_reschedule_takes_only_an_offered_slot(world: World) -> None:
    shopper = await world.shopper("de")
    await shopper.client.call("callback_request", {"phone": "0171 2345678", "slot": ms("2026-12-09T16:00")})
    anna = await world.console(AGENT)
    [callback] = (await anna.get("/callbacks"))["callbacks"]
    cid = callback["conversation_id"]

    status, refused = await anna.call("POST", f"/conversations/{cid}/callback",
                                      {"outcome": "rescheduled", "slot": ms("2026-12-13T10:00")})  # a Sunday
    assert status == 422 and refused["error"] == "slot_not_offered"
    status, moved = await anna.call("POST", f"/conversations/{cid}/callback",
                                    {"outcome": "rescheduled", "slot": ms("2026-12-12T10:00")})  # Saturday
    assert status == 200 and moved["slot"] == ms("2026-12-12T10:00")

    status, done = await anna.call("POST", f"/conversations/{cid}/callback", {"outcome": "reached", "resolve": True})
    assert status == 200 and done["status"] == "reached"
    conversation = await ConversationStore(world.redis).get(cid)
    assert conversation.state is ConversationState.RESOLVED
    case = await anna.get(f"/conversations/{cid}")
    steps = [event["data"]["step"] for event in case["events"] if event["kind"] == "callback"]
    assert steps == ["requested", "rescheduled", "reached"]


async def test_the_report_counts_every_step_as_a_recount_of_the_case_events(world: World) -> None:
    cids = []
    for phone in ("0171 2345678", "0172 3456789", "0173 4567890"):
        shopper = await world.shopper()
        await shopper.client.call("callback_request", {"phone": phone, "slot": ms("2026-12-09T15:00")})
    anna = await world.console(AGENT)
    cids = [callback["conversation_id"] for callback in (await anna.get("/callbacks"))["callbacks"]]
    await anna.call("POST", f"/conversations/{cids[0]}/callback", {"outcome": "reached"})
    await anna.call("POST", f"/conversations/{cids[1]}/callback", {"outcome": "no_answer"})
    await anna.call("POST", f"/conversations/{cids[1]}/callback",
                    {"outcome": "rescheduled", "slot": ms("2026-12-10T09:00")})
    await world.client.app[REPORTS].drain()

    sue = await world.console(BOSS)
    report = await sue.get("/reports/callbacks?from=2026-12-09&to=2026-12-09")
    recount: Counter[str] = Counter()
    for cid in cids:
        recount.update(event["step"] for event in await world.events(cid, EventKind.CALLBACK))
    assert report["totals"] == {step: recount[step] for step in
                                ("requested", "reached", "no_answer", "rescheduled", "unreachable")}
    assert report["totals"]["requested"] == 3 and report["totals"]["reached"] == 1
    assert report["days"][0]["day"] == "2026-12-09" and report["days"][0]["no_answer"] == 1
    status, _ = await anna.call("GET", "/reports/callbacks?from=2026-12-09&to=2026-12-09")
    assert status == 403  # supervisors only


async def test_erasing_the_contact_takes_the_number_and_its_place_in_the_list(world: World) -> None:
    shopper = await world.shopper()
    await shopper.client.call("callback_request", {"phone": "0171 2345678", "slot": ms("2026-12-09T15:00")})
    sue = await world.console(BOSS)
    [callback] = (await sue.get("/callbacks"))["callbacks"]
    cid = callback["conversation_id"]
    contact = (await sue.get(f"/conversations/{cid}"))["conversation"]["contact_id"]
    exported_status, exported = await sue.call("POST", f"/contacts/{contact}/export", {"reason": "shopper asked"})
    assert exported_status == 200
    [case] = exported["conversations"]
    assert any(event["kind"] == "callback" and event["data"]["phone"] == "+491712345678" for event in case["events"])

    status, _ = await sue.call("POST", f"/contacts/{contact}/erase", {"reason": "shopper asked"})

    assert status == 200
    assert not await world.redis.exists(keys.conversation_callback(cid))
    assert await world.redis.zscore(keys.CALLBACKS_DUE, cid) is None
    assert (await sue.get("/callbacks"))["callbacks"] == []


def texts_sent(world: World) -> list[tuple[str, str]]:
    """What the gateway's SMS channel sends from now on, as the outbox sees it (the real one
    queues for Twilio: gateway/messaging/): a stand-in for the provider."""
    texted: list[tuple[str, str]] = []

    async def sms(conversation: Conversation, message: OutgoingMessage, event: Event | None = None) -> None:
        texted.append((conversation.address, message.text))

    world.client.app[CALLBACKS].outbox.register_channel(Channel.SMS, sms)
    return texted


async def test_with_sms_configured_a_proven_number_is_reminded_once_before_the_slot(world: World) -> None:
    callbacks = world.client.app[CALLBACKS]
    texted = texts_sent(world)
    shopper = await world.shopper("de")
    await shopper.say("Wo bleibt meine Bestellung?")
    await shopper.expect("bot_uttered")
    assert shopper.session_id is not None
    conversation = await ConversationStore(world.redis).find_latest(Channel.WEB, shopper.session_id)
    assert conversation is not None
    # The bot had the shopper prove order 104233 (its phone: +49 151 12345678).
    order, _ = await OrderStore(world.redis).put(parse_order(order_body(), "104233"))
    await callbacks.verifier.vouch(conversation.id, order)
    assert (await shopper.client.call("callback_slots", {}))["reminder"] is True

    await shopper.client.call("callback_request", {"phone": "0151 12345678", "slot": ms("2026-12-09T16:00")})
    confirmation = await shopper.expect("bot_uttered")
    assert confirmation["text"].endswith("Kurz vorher erinnern wir Sie per SMS.")

    world.clock.now = berlin("2026-12-09T15:29")
    assert await callbacks.remind_due() == 0
    world.clock.now = berlin("2026-12-09T15:31")
    await callbacks.remind_due()  # (or the gateway's own ticker, whichever takes it first)
    assert await callbacks.remind_due() == 0  # once

    assert texted == [("+4915112345678", "Erinnerung: Der Kundenservice von Nordlicht Home ruft Sie heute um "
                                          "16:00 Uhr an, wie vereinbart.")]
    assert [event["step"] for event in await world.events(conversation.id, EventKind.CALLBACK)] == [
        "requested", "reminded"]


async def test_a_typed_number_nobody_proved_is_called_but_never_texted(world: World) -> None:
    callbacks = world.client.app[CALLBACKS]
    texted = texts_sent(world)
    shopper = await world.shopper("de")
    assert (await shopper.client.call("callback_slots", {}))["reminder"] is False

    await shopper.client.call("callback_request", {"phone": "0171 2345678", "slot": ms("2026-12-09T16:00")})
    confirmation = await shopper.expect("bot_uttered")
    assert confirmation["text"] == "Danke! Wir rufen Sie heute um 16:00 Uhr unter +491712345678 an."  # no promise
    world.clock.now = berlin("2026-12-09T15:31")

    assert await callbacks.remind_due() == 0
    assert texted == []
    assert await ConversationStore(world.redis).find_latest(Channel.SMS, "+491712345678") is None
    assert await world.redis.zcard(keys.CALLBACKS_DUE) == 1  # the call itself stands


async def test_a_page_that_keeps_asking_is_slowed_down_politely(world: World) -> None:
    shopper = await world.shopper("en")
    answers = [await shopper.client.call("callback_slots", {}) for _ in range(7)]
    assert [answer["status"] for answer in answers] == ["ok"] * 6 + ["refused"]
    assert answers[-1]["code"] == "rate_limited" and answers[-1]["retry_after"] >= 1
    assert answers[-1]["message"].startswith("One moment, please")


async def test_a_widget_without_the_form_that_taps_it_gets_a_colleague_instead(world: World) -> None:
    shopper = await world.shopper("de")  # a plain Rasa widget sends the quick reply's payload as is
    await shopper.say("/callback_form")
    answer = await shopper.expect("bot_uttered")
    assert answer["text"].startswith("Gern ruft Sie unser Team zurück. Schreiben Sie uns hier Ihre Telefonnummer")
    assert shopper.session_id is not None
    conversation = await ConversationStore(world.redis).find_latest(Channel.WEB, shopper.session_id)
    assert conversation is not None and (conversation.state, conversation.reason) == (ConversationState.QUEUED,
                                                                                       "callback")
