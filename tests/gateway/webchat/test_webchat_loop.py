"""The whole loop through a real gateway app, a real Socket.IO client, Redis and Rasa."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Author, Channel, EventKind
from gateway.app import create_app
from gateway.conversations.loop import BUSY_WAITS
from gateway.conversations.store import ConversationStore
from gateway.settings import Settings
from tests.support import Shopper, free_port

AiohttpClient = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]


@pytest.fixture
async def gateway(aiohttp_client: AiohttpClient, settings: Settings, redis: Redis) -> TestClient:  # type: ignore[type-arg]
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def shopper(gateway: TestClient) -> AsyncIterator[Shopper]:  # type: ignore[type-arg]
    shopper = Shopper(str(gateway.make_url("/")))
    await shopper.connect()
    yield shopper
    await shopper.close()


async def _messages(redis: Redis, session_id: str) -> list[tuple[Author | None, str | None, dict[str, object]]]:
    store = ConversationStore(redis)
    conversation = await store.find_latest(Channel.WEB, session_id)
    assert conversation is not None
    return [(e.author, e.text, e.data) for e in await store.history(conversation.id) if e.kind is EventKind.MESSAGE]


async def test_hallo_gets_a_bot_answer_and_the_exchange_is_recorded(shopper: Shopper, redis: Redis) -> None:
    await shopper.say("hallo")
    reply = await shopper.expect("bot_uttered")

    assert reply["text"] and reply["author"] == "bot"
    assert shopper.session_id is not None
    [(author, text, _), (bot_author, bot_text, understood)] = await _messages(redis, shopper.session_id)
    assert (author, text) == (Author.SHOPPER, "hallo")
    assert (bot_author, bot_text) == (Author.BOT, reply["text"])
    assert understood["intent"] == "greet"
    assert isinstance(understood["confidence"], float) and understood["confidence"] > 0.5


async def test_an_faq_is_answered_in_the_shoppers_language(gateway: TestClient) -> None:  # type: ignore[type-arg]
    english = Shopper(str(gateway.make_url("/")), locale="en")
    await english.connect()
    await english.say("how long do I have to send something back?")
    reply = await english.expect("bot_uttered")
    await english.close()
    assert "30" in reply["text"] and "days" in reply["text"]

    german = Shopper(str(gateway.make_url("/")), locale="de")
    await german.connect()
    await german.say("wie lange kann ich was zurückschicken?")
    reply = await german.expect("bot_uttered")
    await german.close()
    assert "30" in reply["text"] and "Tage" in reply["text"]


async def test_gibberish_gets_a_did_not_understand(shopper: Shopper, redis: Redis) -> None:
    await shopper.say("xqzv plumbo wrrrt")
    reply = await shopper.expect("bot_uttered")
    assert reply["text"]
    assert shopper.session_id is not None
    *_, (_, _, understood) = await _messages(redis, shopper.session_id)
    # The bot's two ways of not understanding: low confidence, or recognised nonsense.
    assert understood["intent"] in {"nlu_fallback", "out_of_scope"}


async def test_bad_payloads_get_an_error_event_and_the_chat_goes_on(shopper: Shopper) -> None:
    await shopper.client.emit("user_uttered", "just a string")
    assert (await shopper.expect("storechat_error"))["code"] == "invalid_payload"

    await shopper.say("x" * 5000)
    error = await shopper.expect("storechat_error")
    assert error["code"] == "message_too_long" and "unter 2.000 Zeichen" in error["message"]

    await shopper.client.emit("user_uttered", {"message": "hi", "session_id": "e" * 32})
    assert (await shopper.expect("storechat_error"))["code"] == "session_mismatch"

    await shopper.say("hallo")
    assert (await shopper.expect("bot_uttered"))["text"]


async def test_a_message_before_the_session_request_is_refused(gateway: TestClient) -> None:  # type: ignore[type-arg]
    client = socketio.AsyncClient(reconnection=False)
    errors: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    client.on("storechat_error", errors.put)
    await client.connect(str(gateway.make_url("/")), transports=["websocket"])
    await client.emit("user_uttered", {"message": "hallo"})
    assert (await asyncio.wait_for(errors.get(), 10))["code"] == "no_session"
    await client.disconnect()


async def test_a_packet_over_the_transport_limit_drops_only_that_socket(
    gateway: TestClient, redis: Redis,  # type: ignore[type-arg]
) -> None:
    url = str(gateway.make_url("/"))
    rogue = Shopper(url)
    dropped = asyncio.Event()

    async def on_disconnect(*reason: object) -> None:
        dropped.set()

    rogue.client.on("disconnect", on_disconnect)
    await rogue.connect()
    # Over the gateway's limit (max_socket_payload_bytes, 64 KiB), under python-socketio's
    # own default (1 MB): without the limit the packet is read and answered "too long".
    await rogue.client.emit("user_uttered", {"message": "y" * 200_000})
    async with asyncio.timeout(10):
        await dropped.wait()  # the server closed the socket
    assert rogue.session_id is not None
    # Nothing of it was read: not even a conversation (the first message would make one).
    assert await ConversationStore(redis).find_latest(Channel.WEB, rogue.session_id) is None
    assert rogue.inbox.empty()  # no answer, not even "too long"
    await rogue.close()

    fine = Shopper(url)
    await fine.connect()
    await fine.say("hallo")
    assert (await fine.expect("bot_uttered"))["text"]
    await fine.close()


async def test_reconnecting_with_the_session_id_continues_the_conversation(gateway: TestClient) -> None:  # type: ignore[type-arg]
    url = str(gateway.make_url("/"))
    first = Shopper(url)
    session_id = await first.connect()
    await first.say("hallo")
    await first.expect("bot_uttered")
    await first.close()

    again = Shopper(url, session_id=session_id)
    assert await again.connect() == session_id
    history = await again.history()
    await again.close()
    assert [m["author"] for m in history] == ["shopper", "bot"]
    assert history[0]["text"] == "hallo"


@pytest.mark.parametrize("locale, words", [("de", "Nachricht ist gespeichert"), ("en", "message is saved")])
async def test_rasa_down_gets_a_polite_answer_and_keeps_the_message(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, locale: str, words: str,
) -> None:
    down = base_settings.replace(rasa_url=f"http://127.0.0.1:{free_port()}")
    gateway = await aiohttp_client(create_app(down))
    shopper = Shopper(str(gateway.make_url("/")), locale=locale)
    await shopper.connect()
    await shopper.say("wo ist meine Bestellung 104233?")
    reply = await shopper.expect("bot_uttered")
    await shopper.close()

    assert words in reply["text"] and reply["author"] == "system"
    assert shopper.session_id is not None
    messages = await _messages(redis, shopper.session_id)
    assert messages[0][:2] == (Author.SHOPPER, "wo ist meine Bestellung 104233?")
    assert messages[1][2]["reason"] == "bot_unavailable"


async def test_a_slow_rasa_times_out_politely(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis,
) -> None:
    async def too_slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({"messages": []})

    stand_in = web.Application()
    stand_in.router.add_post("/webhooks/storechat/webhook", too_slow)
    slow_rasa = await aiohttp_client(stand_in)
    slow = base_settings.replace(rasa_url=str(slow_rasa.make_url("")).rstrip("/"), rasa_timeout=0.3)
    gateway = await aiohttp_client(create_app(slow))
    shopper = Shopper(str(gateway.make_url("/")), locale="en")
    await shopper.connect()
    await shopper.say("hello?")
    reply = await shopper.expect("bot_uttered", timeout=3)
    await shopper.close()
    assert "message is saved" in reply["text"]


@pytest.mark.parametrize(("busy", "answered_by"), [(2, "bot"), (len(BUSY_WAITS) + 1, "system")])
async def test_a_rasa_busy_for_a_moment_is_asked_again_and_one_busy_for_long_hands_over(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, busy: int, answered_by: str,
) -> None:
    """A 503 is the connector's "my Redis is out of reach, nothing was kept" (bot/storechat_connector.py):
    a blip is waited out, so the shopper stays with the bot; a long one ends as Rasa down does."""
    asked: list[float] = []

    async def busy_then_answer(request: web.Request) -> web.Response:
        asked.append(asyncio.get_running_loop().time())
        if len(asked) <= busy:
            return web.json_response({"error": "the bot's store is unavailable for a moment", "retry": True},
                                     status=503, headers={"Retry-After": "1"})
        return web.json_response({"messages": [{"text": "Sie haben 30 Tage Zeit."}], "intent": None,
                                  "retrieval": None, "handoff": None, "language": "de"})

    stand_in = web.Application()
    stand_in.router.add_post("/webhooks/storechat/webhook", busy_then_answer)
    rasa = await aiohttp_client(stand_in)
    gateway = await aiohttp_client(create_app(base_settings.replace(rasa_url=str(rasa.make_url("")).rstrip("/"))))
    shopper = Shopper(str(gateway.make_url("/")))
    await shopper.connect()
    await shopper.say("Wie lange kann ich zurückgeben?")
    reply = await shopper.expect("bot_uttered", timeout=15)
    await shopper.close()

    assert reply["author"] == answered_by
    assert len(asked) == min(busy + 1, len(BUSY_WAITS) + 1)  # asked again after each wait, no more
    assert shopper.session_id is not None
    conversation = await ConversationStore(redis).find_latest(Channel.WEB, shopper.session_id)
    assert conversation is not None
    assert conversation.state.value == ("bot" if answered_by == "bot" else "queued")


async def test_healthz_reports_each_dependency(
    aiohttp_client: AiohttpClient, settings: Settings, redis: Redis,
) -> None:
    up = await aiohttp_client(create_app(settings))
    response = await up.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "redis": "up", "rasa": "up"}

    down = await aiohttp_client(create_app(settings.replace(rasa_url=f"http://127.0.0.1:{free_port()}")))
    response = await down.get("/healthz")
    assert response.status == 503
    assert (await response.json())["rasa"] == "down"
