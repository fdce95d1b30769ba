"""Retention: a case expires 24 months after its last activity (config/retention.yml), swept
by the gateway itself; visitor trails and Rasa's trackers expire in Redis after 30 days."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient
from redis.asyncio import Redis

from core.types import Author
from gateway import keys
from gateway.app import STORE, create_app
from gateway.desk.directory import Directory, Filter
from gateway.environment import ConfigError
from gateway.privacy.forget import ERASED
from gateway.privacy.keys import SWEEP_CLAIM
from gateway.privacy.policy import RetentionPolicy
from gateway.privacy.retention import Sweeper
from gateway.privacy.service import PRIVACY
from gateway.run import processes
from gateway.settings import REPO_ROOT, Settings
from tests.gateway.privacy.privacy_support import DAY, Clock, keys_of, values_holding, write_case


async def next_tick(redis: Redis, sweeper: Sweeper) -> int:
    """A sweep in a new tick (the claim of the last one, the app's own sweeper's included, is over)."""
    await redis.delete(SWEEP_CLAIM)
    return await sweeper.sweep()


@pytest.fixture
async def world(aiohttp_client: AiohttpClient, redis: Redis, api_settings: Settings) -> tuple[object, Clock]:
    clock = Clock()
    return await aiohttp_client(create_app(api_settings, clock=clock)), clock


async def test_an_expired_case_is_gone_and_a_fresh_one_is_kept(world: tuple[object, Clock], redis: Redis) -> None:
    api, clock = world
    old = await write_case(api, clock, "session-old")  # type: ignore[arg-type]
    clock.now += 400 * DAY
    fresh = await write_case(api, clock, "session-fresh", order_id="104250",  # type: ignore[arg-type]
                             email="ben@example.com", phone="+4917000000001", who="Ben Brandt")
    privacy = api.app[PRIVACY]  # type: ignore[attr-defined]
    assert await next_tick(redis, privacy.sweeper) == 0  # nothing is 730 days old yet

    clock.now += 331 * DAY  # the old case's last activity is 731 days ago, the fresh one's 331
    assert await next_tick(redis, privacy.sweeper) == 1

    assert await keys_of(redis, old.conversation_id) == []
    assert await keys_of(redis, old.contact_id) == []  # the contact went with its last case
    assert not await redis.exists(keys.identity("web", old.session_id), keys.identity("email", "anna@example.com"),
                                  keys.request(old.request_id))
    assert not await redis.zscore(keys.team_requests("logistics"), old.request_id)
    # What the reports keep of its words is pseudonymised; the counts stay.
    assert await values_holding(redis, "Olga") == await values_holding(redis, "olga") == []
    assert await values_holding(redis, "Ben Brandt")  # the fresh case's words are all there
    assert ERASED in repr(await redis.hgetall(keys.COMPLAINT_DOCUMENTS))
    page = await Directory(redis).search(Filter(text="Naht"), limit=10)
    assert [hit.conversation_id for hit in page.hits] == [fresh.conversation_id]

    assert len(await keys_of(redis, fresh.conversation_id)) >= 8
    assert await redis.exists(keys.conversation(fresh.conversation_id), keys.contact(fresh.contact_id),
                              keys.request(fresh.request_id)) == 3
    assert await api.app[STORE].history(fresh.conversation_id)  # type: ignore[attr-defined]


async def test_a_shopper_writing_again_keeps_the_case(world: tuple[object, Clock], redis: Redis) -> None:
    api, clock = world
    case = await write_case(api, clock, "session-back")  # type: ignore[arg-type]
    clock.now += 731 * DAY
    # The shopper writes now; the directory has not folded it yet, so it still reads as expired.
    await api.app[STORE].append_message(case.conversation_id, Author.SHOPPER, "Hallo, ich bin wieder da")  # type: ignore[attr-defined]

    assert await next_tick(redis, api.app[PRIVACY].sweeper) == 0  # type: ignore[attr-defined]
    assert await redis.exists(keys.conversation(case.conversation_id), keys.contact(case.contact_id)) == 2
    assert await redis.zscore(keys.DIRECTORY_ALL, case.conversation_id) == pytest.approx(clock.now)


async def test_one_process_sweeps_a_tick(world: tuple[object, Clock], redis: Redis) -> None:
    api, clock = world
    await write_case(api, clock, "session-a")  # type: ignore[arg-type]
    clock.now += 731 * DAY
    privacy = api.app[PRIVACY]  # type: ignore[attr-defined]
    other = type(privacy.sweeper)(redis, privacy.forget, privacy.sweeper.policy, clock)  # another process's

    assert await next_tick(redis, other) == 1
    assert await privacy.sweeper.sweep() == 0  # the tick was the other's: nothing swept twice
    assert await redis.pttl(SWEEP_CLAIM) > 0


async def test_a_tick_forgets_a_bounded_number_of_cases(world: tuple[object, Clock], redis: Redis) -> None:
    api, clock = world
    for n in range(3):
        await write_case(api, clock, f"session-{n}", order_id=f"10430{n}", email=f"c{n}@example.com",
                         phone=f"+491700000010{n}")  # type: ignore[arg-type]
    clock.now += 731 * DAY
    privacy = api.app[PRIVACY]  # type: ignore[attr-defined]
    small = type(privacy.sweeper)(redis, privacy.forget, privacy.sweeper.policy, clock, batch=2)

    assert await next_tick(redis, small) == 2
    assert await next_tick(redis, small) == 1
    assert await redis.zcard(keys.DIRECTORY_ALL) == 0


async def test_visitor_trails_and_rasa_trackers_follow_the_retention_file(
        aiohttp_client: AiohttpClient, redis: Redis, api_settings: Settings, tmp_path: Path) -> None:
    policy = tmp_path / "retention.yml"
    policy.write_text("conversations_days: 90\nvisitor_trails_days: 2\ntrackers_days: 3\n")
    settings = api_settings.replace(retention_file=policy)
    clock = Clock()
    api = await aiohttp_client(create_app(settings, clock=clock))
    await write_case(api, clock, "session-trail")  # type: ignore[arg-type]

    for key in (keys.visitor("session-trail"), keys.visitor_trail("session-trail")):
        assert 2 * DAY - 60 < await redis.ttl(key) <= 2 * DAY
    assert processes.gateway(settings).env["STORECHAT_RETENTION"] == str(policy)
    assert processes._bot_env(settings)["STORECHAT_TRACKER_SECONDS"] == str(3 * 86_400)
    assert "record_exp: ${STORECHAT_TRACKER_SECONDS}" in (REPO_ROOT / "bot" / "endpoints.yml").read_text()
    assert api.app[PRIVACY].sweeper.policy.conversation_seconds == 90 * 86_400  # type: ignore[attr-defined]


def test_the_shipped_defaults_are_24_months_and_30_days() -> None:
    policy = RetentionPolicy.load(REPO_ROOT / "config" / "retention.yml")
    assert (policy.conversations_days, policy.visitor_trails_days, policy.trackers_days) == (730, 30, 30)


@pytest.mark.parametrize("text", ["conversations_days: 0\n", "conversation_days: 30\n", "trackers_days: [1]\n",
                                  "- 1\n"])
def test_an_unusable_retention_file_stops_the_start_naming_the_variable(tmp_path: Path, text: str) -> None:
    path = tmp_path / "retention.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="STORECHAT_RETENTION"):
        RetentionPolicy.load(path)


async def test_a_case_that_cannot_be_forgotten_steps_aside_for_the_next(
    world: tuple[object, Clock], redis: Redis, caplog: pytest.LogCaptureFixture,
) -> None:
    api, clock = world
    broken = await write_case(api, clock, "session-broken")  # type: ignore[arg-type]
    clock.now += DAY
    fine = await write_case(api, clock, "session-fine", order_id="104251", email="c@example.com",
                            phone="+4917000000020")  # type: ignore[arg-type]
    # An entry no reader understands: forgetting the older case raises.
    await redis.xadd(keys.conversation_events(broken.conversation_id), {"kind": "no-such-kind"})
    clock.now += 732 * DAY
    privacy = api.app[PRIVACY]  # type: ignore[attr-defined]
    one_a_tick = type(privacy.sweeper)(redis, privacy.forget, privacy.sweeper.policy, clock, batch=1)

    assert await next_tick(redis, one_a_tick) == 0
    assert await next_tick(redis, one_a_tick) == 1  # the next tick takes the next case

    assert await keys_of(redis, fine.conversation_id) == []
    assert await redis.exists(keys.conversation(broken.conversation_id))
    assert [r for r in caplog.records if broken.conversation_id in r.getMessage()] != []
    # It is tried again a day later, not every tick.
    assert await next_tick(redis, one_a_tick) == 0
    assert len([r for r in caplog.records if broken.conversation_id in r.getMessage()]) == 1
