"""One contact per person across channels: proofs and phone channels link identities, and
contacts that turn out to be one person merge, on a real Redis and the real gateway app."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Channel, Conversation, Team
from gateway import keys
from gateway.api.agent import COOKIE
from gateway.conversations.contacts import PHONE_CHANNELS, Contacts, LinkOutcome
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import AgentRole
from tests.gateway.agent_support import PASSWORD, add_agent
from tests.gateway.shop_support import put_order, verify

PHONE = "+4915112345678"  # order 104233's phone in tests/gateway/shop_support.py
EMAIL = "anna@example.com"
OTHER_PHONE = "+4917012345678"


def ticking_store(redis: Redis) -> ConversationStore:
    """A store whose clock ticks a second per reading: which contact is older is certain."""
    ticks = itertools.count(1_700_000_000)
    return ConversationStore(redis, clock=lambda: float(next(ticks)))


async def contact_of(redis: Redis, conversation: Conversation) -> str:
    return str(await redis.hget(keys.conversation(conversation.id), "contact_id"))


async def survivors(redis: Redis, contact_ids: set[str]) -> set[str]:
    return {c for c in contact_ids if await redis.hget(keys.contact(c), "merged_into") is None}


async def agent_case(api: TestClient, redis: Redis, conversation_id: str) -> Any:
    # A supervisor: conversations only the bot had are out of an agent's reach (gateway/desk/reach.py).
    await add_agent(redis, "lena@shop.example", Team.GENERAL, role=AgentRole.SUPERVISOR)
    login = await api.post("/api/v1/agent/login", json={"email": "lena@shop.example", "password": PASSWORD})
    assert login.status == 200, await login.text()
    # The session cookie is Secure (the public URL is https); the test client talks http.
    cookie = {"Cookie": f"{COOKIE}={login.cookies[COOKIE].value}"}
    response = await api.get(f"/api/v1/agent/conversations/{conversation_id}", headers=cookie)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_an_order_proven_on_the_web_brings_the_shoppers_texts_into_the_same_case(
    api: TestClient, redis: Redis, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.conversations.contacts")
    store = ticking_store(redis)
    await put_order(api)
    web = await store.open(Channel.WEB, "w" * 32, "de")

    assert (await verify(api, "104233", "email", "anna@example.com", cid=web.id))[0] == 200
    sms = await store.open(Channel.SMS, PHONE, "de")

    assert sms.contact_id == web.contact_id == await contact_of(redis, sms)
    case = await agent_case(api, redis, sms.id)
    assert [earlier["id"] for earlier in case["earlier"]] == [web.id]
    # The shopper still only continues their own conversation on each channel.
    assert (await store.open(Channel.WEB, "w" * 32, "de")).id == web.id
    assert (await store.open(Channel.SMS, PHONE, "de")).id == sms.id
    # The log says what was linked, never the email or the number.
    assert "linked to email" in caplog.text and "linked to phone" in caplog.text
    assert EMAIL not in caplog.text and PHONE.removeprefix("+") not in caplog.text


async def test_two_contacts_merge_into_the_older_one_when_a_proof_links_them(api: TestClient, redis: Redis) -> None:
    store = ticking_store(redis)
    await put_order(api)
    await put_order(api, order_id="104300", phone=None)
    web = await store.open(Channel.WEB, "w" * 32, "de")
    assert (await verify(api, "104300", "email", EMAIL, cid=web.id))[0] == 200  # the web contact holds the email
    sms = await store.open(Channel.SMS, PHONE, "de")  # a newer contact holds the phone
    assert sms.contact_id != web.contact_id
    sms_score = await redis.zscore(keys.contact_conversations(sms.contact_id), sms.id)

    # 104233 has that email and that phone: the two contacts are one person.
    assert (await verify(api, "104233", "email", "anna@example.com", cid=web.id))[0] == 200

    survivor, loser = web.contact_id, sms.contact_id
    assert await contact_of(redis, web) == await contact_of(redis, sms) == survivor
    identities = [keys.identity("web", "w" * 32), keys.identity("sms", PHONE),
                  keys.identity("email", EMAIL), keys.identity("phone", PHONE)]
    assert [await redis.get(identity) for identity in identities] == [survivor] * 4
    assert await redis.smembers(keys.contact_identities(survivor)) == set(identities)
    assert await redis.zscore(keys.contact_conversations(survivor), sms.id) == sms_score
    assert set(await redis.zrange(keys.contact_conversations(survivor), 0, -1)) == {web.id, sms.id}
    assert await redis.hget(keys.contact(loser), "merged_into") == survivor
    assert not await redis.exists(keys.contact_conversations(loser), keys.contact_identities(loser))
    reopened = await store.open(Channel.SMS, PHONE, "de")
    assert (reopened.id, reopened.contact_id) == (sms.id, survivor)


async def test_two_proofs_at_once_leave_one_contact(api: TestClient, redis: Redis) -> None:
    store = ticking_store(redis)
    await put_order(api)
    sms = await store.open(Channel.SMS, PHONE, "de")
    first = await store.open(Channel.WEB, "a" * 32, "de")
    second = await store.open(Channel.WEB, "b" * 32, "de")

    results = await asyncio.gather(verify(api, "104233", "email", "anna@example.com", cid=first.id),
                                   verify(api, "104233", "email", EMAIL, cid=second.id))

    assert [status for status, _ in results] == [200, 200]
    contacts = {sms.contact_id, first.contact_id, second.contact_id}
    assert await survivors(redis, contacts) == {sms.contact_id}  # the oldest
    assert {await contact_of(redis, c) for c in (sms, first, second)} == {sms.contact_id}
    assert len(await redis.zrange(keys.contact_conversations(sms.contact_id), 0, -1)) == 3
    for identity in (keys.identity("email", EMAIL), keys.identity("phone", PHONE)):
        assert await redis.get(identity) == sms.contact_id


async def test_many_processes_linking_one_identity_at_once_agree_on_one_contact(
    redis_url: str, redis: Redis,
) -> None:
    store = ticking_store(redis)
    conversations = [await store.open(Channel.WEB, f"{n:032}", "de") for n in range(8)]
    clients = [Redis.from_url(redis_url, decode_responses=True) for _ in conversations]
    try:
        links = await asyncio.gather(*(
            Contacts(client).link(conversation.contact_id, "email", EMAIL)
            for client, conversation in zip(clients, conversations, strict=True)
        ))
    finally:
        for client in clients:
            await client.aclose()

    # Each link answers the survivor of its moment; in the end the oldest survives them all.
    oldest = conversations[0].contact_id
    assert sorted(link.outcome for link in links) == [LinkOutcome.CLAIMED] + [LinkOutcome.MERGED] * 7
    assert {await Contacts(redis).live(link.contact_id) for link in links} == {oldest}
    assert await redis.get(keys.identity("email", EMAIL)) == oldest
    assert await survivors(redis, {c.contact_id for c in conversations}) == {oldest}
    assert {await contact_of(redis, c) for c in conversations} == {oldest}


async def test_a_failed_proof_links_nothing(api: TestClient, redis: Redis) -> None:
    store = ticking_store(redis)
    await put_order(api)
    web = await store.open(Channel.WEB, "w" * 32, "de")

    assert (await verify(api, "104233", "postal_code", "99999", cid=web.id))[0] == 404
    assert (await verify(api, "104233", "email", "eve@example.com", cid=web.id))[0] == 404

    assert not await redis.exists(keys.identity("email", EMAIL), keys.identity("phone", PHONE))
    assert await redis.smembers(keys.contact_identities(web.contact_id)) == {keys.identity("web", "w" * 32)}
    assert (await store.open(Channel.SMS, PHONE, "de")).contact_id != web.contact_id


async def test_a_postal_code_proves_the_order_but_not_the_person(api: TestClient, redis: Redis) -> None:
    # It is printed on the parcel's label: whoever holds the parcel knows it.
    store = ticking_store(redis)
    await put_order(api)
    web = await store.open(Channel.WEB, "p" * 32, "de")
    assert (await verify(api, "104233", "postal_code", "10115", cid=web.id))[0] == 200
    assert not await redis.exists(keys.identity("email", EMAIL), keys.identity("phone", PHONE))
    assert (await store.open(Channel.SMS, PHONE, "de")).contact_id != web.contact_id


async def test_sms_and_whatsapp_from_one_number_are_one_contact(redis: Redis) -> None:
    store = ticking_store(redis)
    sms = await store.open(Channel.SMS, OTHER_PHONE, "de")
    whatsapp = await store.open(Channel.WHATSAPP, OTHER_PHONE, "de")

    assert whatsapp.id != sms.id and whatsapp.contact_id == sms.contact_id
    assert await contact_of(redis, whatsapp) == await contact_of(redis, sms) == sms.contact_id
    assert set(await redis.zrange(keys.contact_conversations(sms.contact_id), 0, -1)) == {sms.id, whatsapp.id}
    assert (await store.open(Channel.WHATSAPP, OTHER_PHONE, "de")).id == whatsapp.id
    assert (await store.open(Channel.SMS, OTHER_PHONE, "de")).id == sms.id


async def test_a_short_code_is_no_phone_number(redis: Redis) -> None:
    store = ticking_store(redis)
    await store.open(Channel.SMS, "33111", "de")

    assert not await redis.exists(keys.identity("phone", "33111"), keys.identity("phone", "+33111"))


async def test_an_identity_from_before_the_index_still_finds_its_conversation_after_a_merge(redis: Redis) -> None:
    """Such an identity is not repointed by the merge; reads follow merged_into, a claim repoints it."""
    store = ticking_store(redis)
    web = await store.open(Channel.WEB, "w" * 32, "de")
    legacy = await store.open(Channel.WEB, "l" * 32, "de")
    await redis.delete(keys.contact_identities(legacy.contact_id))  # as stored before the index
    await store.contacts.link(legacy.contact_id, "email", EMAIL)

    await store.contacts.link(web.contact_id, "email", EMAIL)

    assert await redis.get(keys.identity("web", "l" * 32)) == legacy.contact_id  # not moved by the merge
    assert await store.find_latest(Channel.WEB, "l" * 32) == await store.get(legacy.id)
    reopened = await store.open(Channel.WEB, "l" * 32, "de")
    assert (reopened.id, reopened.contact_id) == (legacy.id, web.contact_id)
    assert await redis.get(keys.identity("web", "l" * 32)) == web.contact_id


async def test_a_conversation_created_for_a_merged_contact_joins_the_survivor(redis: Redis) -> None:
    store = ticking_store(redis)
    older = await store.open(Channel.WEB, "o" * 32, "de")
    newer = await store.open(Channel.WEB, "n" * 32, "de")
    await store.contacts.link(newer.contact_id, "email", EMAIL)
    await store.contacts.link(older.contact_id, "email", EMAIL)

    late = await store.create(newer.contact_id, Channel.WEB, "n" * 32, "de")

    assert late.contact_id == older.contact_id == await contact_of(redis, late)
    assert await redis.zscore(keys.contact_conversations(older.contact_id), late.id) is not None

