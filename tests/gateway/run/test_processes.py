"""Real `storechat serve` processes: scale-out over one Redis, and surviving a restart; and
how every process is started: internal services on loopback, each hop behind its secret."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis

from core.types import Channel
from gateway import keys
from gateway.conversations.store import ConversationStore
from gateway.run import dev_secrets, processes
from gateway.settings import Settings
from tests.support import Shopper, free_port, gateway_process

SECRETS = {"shop_token": "shop", "bot_token": "bot", "customer_token_secret": "customer", "rasa_token": "rasa",
           "actions_token": "actions"}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A checkout with the bot's venv and a trained model, as far as the definitions look."""
    for path in (".venv-bot/bin/rasa", ".venv-bot/bin/python", f"bot/{processes.MODEL_FILE}"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).touch()
    return tmp_path


def _after(argv: tuple[str, ...], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_internal_services_listen_on_loopback_unless_told_otherwise(root: Path) -> None:
    default = Settings(root=root, data_dir=root / "var", **SECRETS)
    elsewhere = Settings.from_env({"STORECHAT_INTERNAL_HOST": "10.0.0.5"}).replace(root=root, **SECRETS)

    for settings, host in ((default, "127.0.0.1"), (elsewhere, "10.0.0.5")):
        actions, rasa = processes.action_server(settings), processes.rasa_server(settings)
        assert actions.argv[1:3] == ("-m", "action_server"), "not `rasa run actions`, which binds 0.0.0.0"
        assert _after(actions.argv, "--host") == _after(rasa.argv, "--interface") == host
        assert rasa.env["ACTION_SERVER_URL"] == f"http://{host}:5055"
        assert settings.rasa_url == f"http://{host}:5005"
    redis = processes.embedded_redis(6390, root / "redis")
    assert _after(redis.argv, "--bind") == "127.0.0.1"


def test_each_process_gets_only_the_secrets_of_its_own_hops(root: Path) -> None:
    settings = Settings(root=root, data_dir=root / "var", **SECRETS)

    gateway, rasa = processes.gateway(settings).env, processes.rasa_server(settings).env
    actions = processes.action_server(settings).env

    assert (gateway["STORECHAT_RASA_TOKEN"], rasa["STORECHAT_RASA_TOKEN"]) == ("rasa", "rasa")
    assert (rasa["STORECHAT_ACTIONS_TOKEN"], actions["STORECHAT_ACTIONS_TOKEN"]) == ("actions", "actions")
    assert "STORECHAT_ACTIONS_TOKEN" not in gateway
    assert not {"STORECHAT_RASA_TOKEN", "STORECHAT_SHOP_TOKEN", "STORECHAT_CUSTOMER_TOKEN_SECRET"} & set(actions)
    assert not {"STORECHAT_BOT_TOKEN", "STORECHAT_SHOP_TOKEN", "STORECHAT_CUSTOMER_TOKEN_SECRET"} & set(rasa)


@pytest.mark.parametrize("missing", ["rasa_token", "actions_token"])
def test_an_internal_service_is_not_started_without_its_secret(root: Path, missing: str) -> None:
    settings = Settings(root=root, data_dir=root / "var", **{**SECRETS, missing: None})

    with pytest.raises(processes.ProcessError, match=Settings.variables()[missing]):
        processes.rasa_server(settings)


def test_storechat_run_generates_the_internal_secrets(root: Path) -> None:
    bare = Settings(root=root, data_dir=root / "var")

    demo, own_redis = dev_secrets.with_dev_secrets(bare), dev_secrets.with_internal_secrets(bare)

    for settings in (demo, own_redis):
        assert settings.rasa_token and settings.actions_token and settings.rasa_token != settings.actions_token
    assert dev_secrets.with_dev_secrets(bare).rasa_token == demo.rasa_token, "kept in var/secrets.json"
    assert own_redis.shop_token is None, "only the hops storechat run starts itself"


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


QUESTIONS = ["hallo", "Wie lange habe ich Zeit für eine Rückgabe?", "Was kostet der Versand?",
             "Kann ich mit PayPal bezahlen?", "danke", "Liefert ihr nach Österreich?"]


async def _bot_intents(redis: Redis, session_id: str) -> list[str]:
    """The intent behind each bot message of the session's conversation, in the order sent
    (the bot's wording may vary; what it understood, and how many messages it sends, do not)."""
    conversation = await ConversationStore(redis).find_latest(Channel.WEB, session_id)
    assert conversation is not None
    return [str(event.data.get("intent")) for event in await ConversationStore(redis).history(conversation.id)
            if event.kind.value == "message" and event.author is not None and event.author.value == "bot"]


async def test_one_conversations_turns_are_answered_in_order_across_two_processes(
    settings: Settings, redis: Redis, tmp_path: Path,
) -> None:
    first = settings.replace(port=free_port())
    second = settings.replace(port=free_port())
    with gateway_process(first, tmp_path / "first.log"), gateway_process(second, tmp_path / "second.log"):
        # Asked one at a time, waiting for each answer: the order the answers must come in.
        alone = Shopper(_url(first))
        alone_session = await alone.connect()
        for question in QUESTIONS:
            await alone.turn(question)
        await alone.close()

        # The same questions from two tabs on two processes, without waiting for anything.
        tab_on_first = Shopper(_url(first))
        session_id = await tab_on_first.connect()
        tab_on_second = Shopper(_url(second), session_id=session_id)
        await tab_on_second.connect()
        for number, question in enumerate(QUESTIONS):
            tab = tab_on_first if number % 2 == 0 else tab_on_second
            ack = await tab.client.call("user_uttered", {"message": question, "session_id": session_id,
                                                         "message_id": f"tab-message-{number:03d}"}, timeout=10)
            assert ack["status"] == "stored"
        expected = await _bot_intents(redis, alone_session)
        async with asyncio.timeout(60):
            while len(answered := await _bot_intents(redis, session_id)) < len(expected):
                await asyncio.sleep(0.2)
        await tab_on_first.close()
        await tab_on_second.close()

    assert answered == expected
    conversation = await ConversationStore(redis).find_latest(Channel.WEB, session_id)
    assert conversation is not None
    shopper_lines = [event.text for event in await ConversationStore(redis).history(conversation.id)
                     if event.author is not None and event.author.value == "shopper"]
    assert shopper_lines == QUESTIONS
