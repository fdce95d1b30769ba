"""Real `storechat serve` processes: scale-out over one Redis, and surviving a restart."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from core.types import Channel
from gateway import keys
from gateway.conversations.store import ConversationStore
from gateway.settings import Settings
from tests.support import Shopper, free_port, gateway_process


def _url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.port}"


async def test_two_gateway_processes_sharing_redis_behave_as_one(
    settings: Settings, redis: Redis, tmp_path: Path,
) -> None:
    first = settings.replace(port=free_port())
    second = settings.replace(port=free_port())
    with gateway_process(first, tmp_path / "first.log"), gateway_process(second, tmp_path / "second.log"):
        # The same shopper in two tabs, each tab's socket held by another process.
        tab_on_first = Shopper(_url(first))
        session_id = await tab_on_first.connect()
        tab_on_second = Shopper(_url(second), session_id=session_id)
        assert await tab_on_second.connect() == session_id

        await tab_on_second.say("hallo")
        # The reply is emitted by the second process and reaches the first's socket too.
        on_first = await tab_on_first.expect("bot_uttered")
        on_second = await tab_on_second.expect("bot_uttered")
        assert on_first == on_second and on_first["text"]

        history_seen_by_first = await tab_on_first.history()
        assert [m["author"] for m in history_seen_by_first] == ["shopper", "bot"]
        await tab_on_first.close()
        await tab_on_second.close()

    conversation = await ConversationStore(redis).find_latest(Channel.WEB, session_id)
    assert conversation is not None
    assert await redis.zcard(keys.contact_conversations(conversation.contact_id)) == 1


async def test_a_gateway_restart_keeps_the_conversation_and_the_shopper_reconnects(
    settings: Settings, redis: Redis, tmp_path: Path,
) -> None:
    log = tmp_path / "gateway.log"
    shopper = Shopper(_url(settings), reconnection=True)
    with gateway_process(settings, log):
        session_id = await shopper.connect()
        await shopper.say("hallo")
        first_reply = await shopper.expect("bot_uttered")
    before = await ConversationStore(redis).find_latest(Channel.WEB, session_id)

    with gateway_process(settings, log):
        # The client reconnects by itself and asks for its stored session again.
        assert await shopper.expect("session_confirm", timeout=30) == session_id
        history = await shopper.history()
        assert [(m["author"], m["text"]) for m in history] == [("shopper", "hallo"), ("bot", first_reply["text"])]
        await shopper.say("how long do I have to return an item?", metadata={"locale": "en"})
        assert "30" in (await shopper.expect("bot_uttered"))["text"]
        await shopper.close()

    after = await ConversationStore(redis).find_latest(Channel.WEB, session_id)
    assert before is not None and after is not None and after.id == before.id
    # One "created" state event and the four messages: nothing lost, nothing doubled.
    assert len(await ConversationStore(redis).history(after.id)) == 4 + 1
