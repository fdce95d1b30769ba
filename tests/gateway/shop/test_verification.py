"""Proving an order in a conversation over HTTP: what each proof opens, and the attempt limits."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Channel
from gateway import keys
from gateway.conversations.store import ConversationStore
from gateway.shop import customer_token
from tests.gateway.shop_support import BOT, CID, CUSTOMER_TOKEN_SECRET, put_order, verify

ANNAS_PHONE = "+4915112345678"  # the phone of shop_support's order


async def chat(redis: Redis, channel: Channel = Channel.WEB, address: str | None = None,
               network: str | None = None) -> str:
    """A real conversation's id; `network`: the address its web shopper writes from."""
    conversation = await ConversationStore(redis).open(channel, address or f"session-{uuid.uuid4().hex}", "de")
    if network is not None:
        await redis.set(keys.conversation_client(conversation.id), network)
    return conversation.id


async def phone_proof(api: TestClient, order_id: str, cid: str, value: str | None = None) -> tuple[int, Any]:
    proof = {"kind": "phone"} if value is None else {"kind": "phone", "value": value}
    response = await api.post(f"/api/v1/conversations/{cid}/verifications",
                              json={"order_id": order_id, "proof": proof}, headers=BOT)
    return response.status, await response.json()


async def wait_is_over(redis: Redis) -> None:
    """As if the clients had waited: their waits end now, their failures stay counted."""
    for key in await redis.keys("storechat:verify:*"):
        await redis.hdel(key, "until")


async def test_a_typed_email_proves_only_the_order_it_was_checked_against(api: TestClient) -> None:
    """Knowing one (order, email) pair, or placing a guest order with someone's email, opens nothing else."""
    await put_order(api)
    await put_order(api, order_id="104300", placed_at="2026-11-22T09:00:00+01:00")

    status, body = await verify(api, "104233", "email", "  Anna@Example.COM ")
    listed = await (await api.get(f"/api/v1/conversations/{CID}/orders", headers=BOT)).json()

    assert status == 200 and body["order"]["order_id"] == "104233"
    assert [o["order_id"] for o in listed["orders"]] == ["104233"]
    assert (await api.get(f"/api/v1/conversations/{CID}/orders/104300", headers=BOT)).status == 403


async def test_a_customer_token_proves_all_of_that_customers_orders(api: TestClient) -> None:
    await put_order(api)
    await put_order(api, order_id="104300", placed_at="2026-11-22T09:00:00+01:00")
    await put_order(api, order_id="104301", email="someone.else@example.com")

    token = customer_token.sign("Anna@Example.com", CUSTOMER_TOKEN_SECRET)
    status, _ = await verify(api, "104233", "customer_token", token)
    listed = await (await api.get(f"/api/v1/conversations/{CID}/orders", headers=BOT)).json()

    assert status == 200
    assert [o["order_id"] for o in listed["orders"]] == ["104300", "104233"]
    assert (await api.get(f"/api/v1/conversations/{CID}/orders/104300", headers=BOT)).status == 200
    assert (await api.get(f"/api/v1/conversations/{CID}/orders/104301", headers=BOT)).status == 403


async def test_a_look_alike_email_in_a_token_does_not_open_the_ascii_customers_orders(api: TestClient) -> None:
    """The Kelvin sign lowercases to k: an account \u212Aarl@… must not read karl@…'s orders."""
    await put_order(api, email="karl@example.com")

    look_alike = customer_token.sign("\u212Aarl@example.com", CUSTOMER_TOKEN_SECRET)

    assert (await verify(api, "104233", "customer_token", look_alike))[0] == 404


async def test_the_order_list_holds_the_20_newest_orders(api: TestClient) -> None:
    for day in range(1, 26):
        await put_order(api, order_id=f"1100{day:02}", placed_at=f"2026-10-{day:02}T09:00:00+01:00")
    token = customer_token.sign("anna@example.com", CUSTOMER_TOKEN_SECRET)
    assert (await verify(api, "110001", "customer_token", token))[0] == 200

    listed = await (await api.get(f"/api/v1/conversations/{CID}/orders", headers=BOT)).json()

    assert [o["order_id"] for o in listed["orders"]] == [f"1100{day:02}" for day in range(25, 5, -1)]


async def test_a_postal_code_or_phone_proof_proves_only_that_order(api: TestClient, redis: Redis) -> None:
    await put_order(api)
    await put_order(api, order_id="104300")
    sms = await chat(redis, Channel.SMS, ANNAS_PHONE)
    whatsapp = await chat(redis, Channel.WHATSAPP, ANNAS_PHONE)

    assert (await verify(api, "104233", "postal_code", " 10 115 "))[0] == 200
    assert (await phone_proof(api, "104300", sms))[0] == 200
    assert (await phone_proof(api, "104300", whatsapp, "any value is ignored"))[0] == 200

    listed = await (await api.get(f"/api/v1/conversations/{CID}/orders", headers=BOT)).json()
    assert [o["order_id"] for o in listed["orders"]] == ["104233"]
    listed = await (await api.get(f"/api/v1/conversations/{sms}/orders", headers=BOT)).json()
    assert [o["order_id"] for o in listed["orders"]] == ["104300"]


async def test_a_phone_proof_is_the_conversations_own_number_never_the_one_sent(
    api: TestClient, redis: Redis,
) -> None:
    """The action-server hole: a tracker claiming `channel: sms, phone: <the order's phone>`."""
    await put_order(api)
    someone_elses_sms = await chat(redis, Channel.SMS, "+4917000000001")
    web = await chat(redis)

    answers = [await phone_proof(api, "104233", cid, ANNAS_PHONE)
               for cid in (someone_elses_sms, web, "no-such-conversation")]
    wrong = await verify(api, "104233", "postal_code", "99999", cid="yet-another")

    assert [status for status, _ in answers] == [404] * 3
    assert all(body == {**wrong[1], "attempts_left": body["attempts_left"]} for _, body in answers)
    for cid in (someone_elses_sms, web, "no-such-conversation"):
        assert (await api.get(f"/api/v1/conversations/{cid}/orders/104233", headers=BOT)).status == 403


async def test_25_new_sender_ids_sending_the_orders_phone_prove_nothing(api: TestClient) -> None:
    await put_order(api)

    statuses = [(await phone_proof(api, "104233", f"sender-{n}", ANNAS_PHONE))[0] for n in range(25)]

    assert 200 not in statuses


async def test_phone_proofs_and_bad_tokens_are_rate_limited_per_conversation(api: TestClient, redis: Redis) -> None:
    """Running through order numbers from one SMS chat: five at once, then one every six minutes."""
    for n in range(7):
        await put_order(api, order_id=f"1043{n:02}", phone="+4917000000001")
    texter = await chat(redis, Channel.SMS, "+4915100000000")
    forged = customer_token.sign("eve@example.com", "not-the-shops-secret")

    tries = [await phone_proof(api, f"1043{n:02}", texter) for n in range(5)]
    refused = await verify(api, "104305", "customer_token", forged, cid=texter)

    assert [status for status, _ in tries] == [404] * 5
    assert refused[0] == 429 and refused[1]["error"] == "too_many_attempts"
    assert 300 < refused[1]["retry_after"] <= 360
    valid = customer_token.sign("anna@example.com", CUSTOMER_TOKEN_SECRET)
    await put_order(api, order_id="104399")
    assert (await verify(api, "104399", "customer_token", valid, cid=texter))[0] == 200, "the owner's login"


async def test_a_customer_token_proves_the_email_it_carries(api: TestClient) -> None:
    await put_order(api)
    valid = customer_token.sign("anna@example.com", CUSTOMER_TOKEN_SECRET)
    expired = customer_token.sign("anna@example.com", CUSTOMER_TOKEN_SECRET, ttl=-1)
    someone_else = customer_token.sign("eve@example.com", CUSTOMER_TOKEN_SECRET)

    assert (await verify(api, "104233", "customer_token", expired, cid="a"))[0] == 404
    assert (await verify(api, "104233", "customer_token", someone_else, cid="b"))[0] == 404
    assert (await verify(api, "104233", "customer_token", valid, cid="c"))[0] == 200


async def test_unknown_order_and_wrong_proof_look_the_same(api: TestClient) -> None:
    await put_order(api)

    wrong_proof = await verify(api, "104233", "email", "eve@example.com", cid="a")
    unknown_order = await verify(api, "999999", "email", "eve@example.com", cid="b")

    assert wrong_proof == unknown_order == (404, {
        "error": "no_match", "message": "no order matches this order id and proof", "attempts_left": 2,
    })


async def test_three_failures_make_the_conversation_wait_a_minute(api: TestClient, redis: Redis) -> None:
    await put_order(api)

    answers = [await verify(api, order_id, "postal_code", "99999") for order_id in ("104233", "999999", "104233")]
    response = await api.post(f"/api/v1/conversations/{CID}/verifications", headers=BOT,
                              json={"order_id": "104233", "proof": {"kind": "postal_code", "value": "10115"}})

    assert [body["attempts_left"] for _, body in answers] == [2, 1, 0]
    assert answers[2][1]["retry_after"] == 60 and "retry_after" not in answers[1][1]
    assert response.status == 429, "even the right proof waits"
    body = await response.json()
    assert body["error"] == "too_many_attempts" and 0 < body["retry_after"] <= 60
    assert response.headers["Retry-After"] == str(body["retry_after"])
    assert (await verify(api, "104233", "postal_code", "10115", cid="fresh"))[0] == 200


async def test_each_further_failure_doubles_the_wait_up_to_an_hour(api: TestClient, redis: Redis) -> None:
    await put_order(api)
    waits = []
    for _ in range(10):
        status, body = await verify(api, "104233", "email", "eve@example.com")
        assert status == 404
        waits.append(body.get("retry_after"))
        await wait_is_over(redis)

    assert waits == [None, None, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    # Forgotten a day after the last wait ends.
    assert 24 * 3600 < await redis.ttl(keys.verification_failures(CID)) <= 25 * 3600


async def test_parallel_guesses_cannot_slip_past_the_limit(api: TestClient) -> None:
    await put_order(api)

    results = await asyncio.gather(*(verify(api, "104233", "postal_code", f"{n:05}") for n in range(12)))

    assert sorted(status for status, _ in results) == [404] * 3 + [429] * 9


async def test_throwaway_chats_guessing_an_order_do_not_stop_its_owner(api: TestClient, redis: Redis) -> None:
    """Ten wrong postal codes over four throwaway chats, and guesses at a number not ordered yet."""
    await put_order(api)
    throwaways = [await chat(redis, network="198.51.100.7") for _ in range(4)]
    for n in range(10):
        assert (await verify(api, "104233", "postal_code", f"{n:05}", cid=throwaways[n % 4]))[0] == 404
        assert (await verify(api, "104300", "postal_code", f"{n:05}", cid=f"ahead-{n}"))[0] == 404

    annas_chat = await chat(redis, network="203.0.113.20")
    assert (await verify(api, "104233", "postal_code", "10115", cid=annas_chat))[0] == 200
    assert (await verify(api, "104233", "email", "anna@example.com", cid="annas-other-chat"))[0] == 200
    await put_order(api, order_id="104300")
    assert (await verify(api, "104300", "postal_code", "10115", cid=annas_chat))[0] == 200


async def test_a_network_address_that_keeps_failing_waits_whatever_chat_it_opens(
    api: TestClient, redis: Redis,
) -> None:
    """Ten failures from one address over ten fresh chats; another address is not slowed."""
    await put_order(api)
    answers = [await verify(api, "104233", "postal_code", f"{n:05}", cid=await chat(redis, network="198.51.100.7"))
               for n in range(10)]
    next_chat = await chat(redis, network="198.51.100.7")
    elsewhere = await chat(redis, network="198.51.100.8")

    assert [status for status, _ in answers] == [404] * 10
    assert [body["attempts_left"] for _, body in answers[-3:]] == [2, 1, 0]
    assert (await verify(api, "104233", "postal_code", "10115", cid=next_chat))[0] == 429
    assert (await verify(api, "104233", "postal_code", "10115", cid=elsewhere))[0] == 200


async def test_a_session_that_keeps_failing_waits_in_each_of_its_conversations(api: TestClient, redis: Redis) -> None:
    await put_order(api)
    store = ConversationStore(redis)
    first = await store.open(Channel.WEB, "session-1", "de")
    second = await store.create(first.contact_id, Channel.WEB, "session-1", "de")

    assert (await verify(api, "104233", "postal_code", "00001", cid=first.id))[0] == 404
    assert (await verify(api, "104233", "postal_code", "00002", cid=first.id))[0] == 404
    assert (await verify(api, "104233", "postal_code", "00003", cid=second.id))[1]["attempts_left"] == 0
    assert (await verify(api, "104233", "postal_code", "10115", cid=second.id))[0] == 429


async def test_a_waiting_client_still_proves_what_only_the_owner_holds(api: TestClient, redis: Redis) -> None:
    """Typed guesses make a client wait, but not the owner's login or SMS number."""
    await put_order(api)
    annas_sms = await chat(redis, Channel.SMS, ANNAS_PHONE)
    annas_web = await chat(redis)
    for cid in (annas_sms, annas_web):
        for n in range(4):
            await verify(api, "104233", "email", f"eve{n}@example.com", cid=cid)
        assert (await verify(api, "104233", "postal_code", "10115", cid=cid))[0] == 429

    token = customer_token.sign("anna@example.com", CUSTOMER_TOKEN_SECRET)
    assert (await verify(api, "104233", "customer_token", token, cid=annas_web))[0] == 200
    assert (await phone_proof(api, "104233", annas_sms))[0] == 200


async def test_failed_possession_proofs_do_not_count_against_typed_ones(api: TestClient, redis: Redis) -> None:
    await put_order(api)
    wrong_token = customer_token.sign("eve@example.com", CUSTOMER_TOKEN_SECRET)
    texter = await chat(redis, Channel.SMS, "+4915100000000")
    for n in range(4):
        assert (await verify(api, "104233", "customer_token", wrong_token, cid=texter))[0] == 404
    assert (await phone_proof(api, "104233", texter))[1]["attempts_left"] == 3

    assert (await verify(api, "104233", "postal_code", "10115", cid=texter))[0] == 200


async def test_a_success_does_not_cost_an_attempt(api: TestClient) -> None:
    await put_order(api)
    for _ in range(5):
        assert (await verify(api, "104233", "email", "anna@example.com"))[0] == 200

    assert (await verify(api, "104233", "email", "eve@example.com"))[1]["attempts_left"] == 2


async def test_unproven_and_unknown_orders_are_the_same_403(api: TestClient) -> None:
    await put_order(api)

    unproven = await api.get(f"/api/v1/conversations/{CID}/orders/104233", headers=BOT)
    unknown = await api.get(f"/api/v1/conversations/{CID}/orders/999999", headers=BOT)

    assert unproven.status == unknown.status == 403
    assert await unproven.json() == await unknown.json()
    assert (await api.get(f"/api/v1/conversations/{CID}/orders", headers=BOT)).status == 200
