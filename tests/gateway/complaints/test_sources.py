"""Complaints are read off real cases, as the feed delivers them: what counts, once, with its shopper."""

from __future__ import annotations

from redis.asyncio import Redis

from gateway import keys
from gateway.complaints import store
from gateway.complaints.documents import ComplaintDocument, Source
from gateway.complaints.feedback import FeedbackClass
from gateway.complaints.projection import ComplaintsProjection
from gateway.conversations.feed import rebuild
from tests.gateway.complaints.support import DAY, START, Clock, fold, open_case, put_order


async def _documents(redis: Redis) -> list[ComplaintDocument]:
    return await store.documents_between(redis, 0, START + 365 * DAY, limit=1000)


async def _feedback(redis: Redis) -> list[FeedbackClass]:
    return [entry.feedback for entry in await store.feedback_between(redis, 0, START + 365 * DAY)]


async def test_a_damage_report_is_one_complaint_about_the_item_of_the_proven_order(
        redis: Redis, projection: ComplaintsProjection) -> None:
    clock = Clock()
    await put_order(redis, clock, "104233", [("NL-1001", "Leinen-Kissenhülle")])
    case = await open_case(redis, clock)
    await case.shopper("Hallo")
    await case.bot("Hallo! Wie kann ich helfen?", "greet")
    await case.prove("104233")
    await case.complain("Die Naht an meiner Kissenhülle geht schon auf")
    said_at = clock.now - 2  # the shopper's message, before the bot's answer and the handoff

    await fold(redis, projection)

    [document] = await _documents(redis)
    assert (document.conversation_id, document.contact_id) == (case.id, case.conversation.contact_id)
    assert (document.source, document.product, document.language) == (Source.INTENT, "NL-1001", "de")
    assert document.text == "Die Naht an meiner Kissenhülle geht schon auf"
    assert document.at == said_at
    assert document.team == "product"
    assert await _feedback(redis) == [FeedbackClass.COMPLAINT]


async def test_a_complaint_handoff_takes_what_the_shopper_says_next_but_not_order_numbers_or_thanks(
        redis: Redis, projection: ComplaintsProjection) -> None:
    clock = Clock()
    case = await open_case(redis, clock, locale="en")
    await case.shopper("I want to complain")
    await case.bot("I'm sorry to hear that. Passing you on.", "complain")
    await case.handoff("complaint", "general")
    await case.shopper("104233")
    await case.shopper("ok")
    await case.shopper("The stitching on the throw came apart after two days")
    await case.shopper("Thank you so much for the quick help, lovely service!")
    await case.resolve()
    await case.shopper("The lamp flickers")  # a new episode, no complaint handoff: the bot decides
    await case.bot("Here is our FAQ on lamps.", "faq")

    await fold(redis, projection)

    documents = await _documents(redis)
    assert [(d.source, d.text) for d in documents] == [
        (Source.INTENT, "I want to complain"),
        (Source.HANDOFF, "The stitching on the throw came apart after two days"),
    ]
    assert {d.language for d in documents} == {"en"}
    assert sorted(await _feedback(redis)) == sorted([FeedbackClass.COMPLAINT, FeedbackClass.COMPLAINT,
                                                    FeedbackClass.PRAISE])


async def test_a_handoff_for_damage_takes_the_message_the_bot_did_not_understand_as_damage(
        redis: Redis, projection: ComplaintsProjection) -> None:
    clock = Clock()
    case = await open_case(redis, clock)
    await case.shopper("Der Becher hat einen Sprung, was soll das")
    await case.bot("Ich verbinde Sie mit einem Menschen.", "request_human")
    await case.handoff("damaged_item", "product")

    await fold(redis, projection)

    [document] = await _documents(redis)
    assert (document.source, document.text) == (Source.HANDOFF, "Der Becher hat einen Sprung, was soll das")


async def test_a_return_reason_and_a_low_score_comment_are_complaints_a_good_comment_only_feedback(
        redis: Redis, projection: ComplaintsProjection) -> None:
    clock = Clock()
    await put_order(redis, clock, "104198", [("NL-3007", "Skagen Becher, 2er-Set"), ("NL-1120", "Fjord Wolldecke")])
    case = await open_case(redis, clock)
    await case.prove("104198")
    await case.request_return("104198", "Die Wolldecke fusselt schrecklich", items=["NL-1120"])
    await case.resolve()
    await case.csat(1, "Die Decke ist ihr Geld nicht wert")
    other = await open_case(redis, clock)
    await other.resolve()
    await other.csat(5, "Super schnelle Hilfe, vielen Dank!")
    await other.csat(4, None)  # a score alone says nothing to read

    await fold(redis, projection)

    documents = await _documents(redis)
    assert [(d.source, d.product, d.conversation_id) for d in documents] == [
        (Source.RETURN, "NL-1120", case.id),
        (Source.CSAT, "NL-1120", case.id),
    ]
    assert sorted(await _feedback(redis)) == sorted([FeedbackClass.COMPLAINT, FeedbackClass.COMPLAINT,
                                                    FeedbackClass.PRAISE])


async def test_a_complaint_made_before_the_proof_gets_its_product_once_the_order_is_proven(
        redis: Redis, projection: ComplaintsProjection) -> None:
    clock = Clock()
    await put_order(redis, clock, "104250", [("NL-5002", "Polar Tischleuchte"), ("NL-4410", "Düne Vase")])
    case = await open_case(redis, clock)
    await case.complain("Das Teil ist kaputt angekommen")  # no product named, no order yet
    await fold(redis, projection)
    [waiting] = await _documents(redis)
    assert waiting.product is None

    await case.prove("104250")
    await case.shopper("Es ist die Vase aus Bestellung 104250")
    await fold(redis, projection)

    documents = await _documents(redis)
    assert [(d.id, d.product) for d in documents] == [(waiting.id, "NL-4410"), (documents[1].id, "NL-4410")]
    assert documents[1].text == "Es ist die Vase aus Bestellung 104250"
    entries = await store.product_shoppers(redis, "NL-4410", 0, clock.now)
    assert [(e.contact_id, e.conversation_id) for e in entries] == [(case.conversation.contact_id, case.id)]


async def test_folding_again_from_scratch_counts_nothing_twice(redis: Redis, projection: ComplaintsProjection) -> None:
    clock = Clock()
    await put_order(redis, clock, "104233", [("NL-1001", "Leinen-Kissenhülle")])
    for _ in range(3):
        case = await open_case(redis, clock)
        await case.prove("104233")
        await case.complain("Die Naht geht auf")
        clock.advance(DAY)
    await fold(redis, projection)
    before = (await _documents(redis), await _feedback(redis),
              await store.product_shoppers(redis, "NL-1001", 0, clock.now))

    await fold(redis, projection)  # nothing new
    assert await rebuild(redis, projection) == 3

    after = (await _documents(redis), await _feedback(redis),
             await store.product_shoppers(redis, "NL-1001", 0, clock.now))
    assert after == before
    assert len(before[0]) == 3 and await redis.zcard(keys.COMPLAINT_FEEDBACK) == 3
