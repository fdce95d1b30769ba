"""Proving an order in a conversation over HTTP: what each proof opens, and the attempt limits."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from gateway import keys
from gateway.shop import customer_token
from tests.gateway.shop_support import BOT, CID, CUSTOMER_TOKEN_SECRET, put_order, verify


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


async def test_a_postal_code_or_phone_proof_proves_only_that_order(api: TestClient) -> None:
    await put_order(api)
    await put_order(api, order_id="104300")

    assert (await verify(api, "104233", "postal_code", " 10 115 "))[0] == 200
    assert (await verify(api, "104300", "phone", "0049 151 1234 5678", cid="conv-2"))[0] == 200
    assert (await verify(api, "104300", "phone", "0151 / 12345678", cid="conv-3"))[0] == 200

    listed = await (await api.get(f"/api/v1/conversations/{CID}/orders", headers=BOT)).json()
    assert [o["order_id"] for o in listed["orders"]] == ["104233"]


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


async def test_three_failures_lock_the_conversation_for_an_hour(api: TestClient, redis: Redis) -> None:
    await put_order(api)

    left = [(await verify(api, order_id, "postal_code", "99999"))[1]["attempts_left"]
            for order_id in ("104233", "999999", "104233")]
    status, body = await verify(api, "104233", "postal_code", "10115")

    assert left == [2, 1, 0]
    assert (status, body["error"]) == (429, "locked"), "even the right proof waits out the lock"
    assert 3500 < await redis.ttl(keys.verification_failures(CID)) <= 3600
    assert (await verify(api, "104233", "postal_code", "10115", cid="fresh"))[0] == 200


async def test_parallel_guesses_cannot_slip_past_the_limit(api: TestClient) -> None:
    await put_order(api)

    results = await asyncio.gather(*(verify(api, "104233", "postal_code", f"{n:05}") for n in range(12)))

    assert sorted(status for status, _ in results) == [404] * 3 + [429] * 9


async def test_many_conversations_against_one_order_lock_that_order(api: TestClient, redis: Redis) -> None:
    """Ten failures across conversations stop an enumeration of one order's postal code."""
    await put_order(api)
    for n in range(10):
        assert (await verify(api, "104233", "postal_code", f"{n:05}", cid=f"attacker-{n}"))[0] == 404

    assert (await verify(api, "104233", "postal_code", "10115", cid="the-real-anna"))[0] == 429
    assert (await verify(api, "104233", "email", "anna@example.com", cid="the-real-anna"))[0] == 429
    await put_order(api, order_id="104300")
    assert (await verify(api, "104300", "postal_code", "10115", cid="the-real-anna"))[0] == 200


async def test_a_locked_order_still_opens_to_what_only_its_owner_holds(api: TestClient) -> None:
    """Throwaway chats can lock out typed guesses, but not the owner's login or SMS number."""
    await put_order(api)
    for n in range(10):
        await verify(api, "104233", "email", f"eve{n}@example.com", cid=f"attacker-{n}")
    assert (await verify(api, "104233", "postal_code", "10115", cid="probe"))[0] == 429

    token = customer_token.sign("anna@example.com", CUSTOMER_TOKEN_SECRET)
    assert (await verify(api, "104233", "customer_token", token, cid="anna-web"))[0] == 200
    assert (await verify(api, "104233", "phone", "+4915112345678", cid="anna-sms"))[0] == 200


async def test_failed_possession_proofs_count_only_against_their_conversation(api: TestClient, redis: Redis) -> None:
    await put_order(api)
    wrong_token = customer_token.sign("eve@example.com", CUSTOMER_TOKEN_SECRET)
    for n in range(12):
        kind, value = ("phone", f"+49151000000{n:02}") if n % 2 else ("customer_token", wrong_token)
        assert (await verify(api, "104233", kind, value, cid=f"attacker-{n}"))[0] == 404

    assert await redis.get(keys.order_verification_failures("104233")) is None
    assert (await verify(api, "104233", "postal_code", "10115", cid="the-real-anna"))[0] == 200
    three_wrong = [(await verify(api, "104233", "phone", "+4915100000000", cid="one-chat"))[0] for _ in range(4)]
    assert three_wrong == [404, 404, 404, 429]


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
