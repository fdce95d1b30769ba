"""An agent's action reaches an SMS shopper the way an agent's reply does: on the durable
outbound queue (the Agent API answers `queued` at once), as one SMS in their language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Channel, Team
from gateway.conversations.store import ConversationStore
from tests.channels.provider_standin import ProviderStandIn
from tests.gateway.agent_support import Console, add_agent
from tests.gateway.messaging.support import PUBLIC_URL, SMS, next_request, nothing_sent, post, scripted_reply
from tests.gateway.rasa_standin import ScriptedRasa
from tests.gateway.shop_support import BOT, BOT_TOKEN, SHOP_TOKEN, put_order

MakeGateway = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
SHOPPER = "+4917012340077"
HANDOFF = scripted_reply("Ich verbinde Sie mit einem Kollegen.", handoff={"team": "general", "reason": "shopper_asked"})


@pytest.fixture
def rasa() -> ScriptedRasa:
    return ScriptedRasa(HANDOFF)


async def test_an_approved_cancellation_goes_to_the_sms_shopper_once_through_the_outbound_queue(
        make_gateway: MakeGateway, standin: ProviderStandIn, redis: Redis) -> None:
    gateway = await make_gateway(shop_token=SHOP_TOKEN, bot_token=BOT_TOKEN)
    assert await post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER, "Bitte stornieren, ich möchte jemanden")) == 200
    await next_request(standin)  # the bot's words
    await next_request(standin)  # the queue notice
    conversation = await ConversationStore(redis).find_latest(Channel.SMS, SHOPPER)
    assert conversation is not None
    await put_order(gateway, phone=SHOPPER)
    proof = {"order_id": "104233", "proof": {"kind": "phone", "value": SHOPPER}}  # the conversation's own number
    assert (await gateway.post(f"/api/v1/conversations/{conversation.id}/verifications", json=proof,
                               headers=BOT)).status == 200
    opened = await gateway.post(f"/api/v1/conversations/{conversation.id}/requests", headers=BOT,
                                json={"kind": "cancellation", "order_id": "104233"})
    rid = (await opened.json())["request"]["id"]
    await add_agent(redis, "anna@nordlicht-home.example", Team.GENERAL, name="Anna")
    console = await Console(str(gateway.make_url("")).rstrip("/"), "anna@nordlicht-home.example").login()
    try:
        assert (await console.call("POST", f"/conversations/{conversation.id}/claim"))[0] == 200
        await next_request(standin)  # "Anna is looking after you"
        status, body = await console.call("POST", f"/conversations/{conversation.id}/requests/{rid}/approve", {})
        again = await console.call("POST", f"/conversations/{conversation.id}/requests/{rid}/approve", {})
        sms = SMS.text_of(await next_request(standin))
        await nothing_sent(standin, 1.0)
    finally:
        await console.close()

    assert (status, body["message"], body["shop_event"]) == (201, "queued", None)  # no webhook set up here
    assert again[0] == 200 and again[1]["made"] is False
    assert sms.startswith("Ihre Bestellung 104233 wird storniert.")
