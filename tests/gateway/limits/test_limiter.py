"""The shared limiter on a real Redis: bursts, refills, per-client counts, and the rules file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis

from gateway.limits.clients import client_address, parse_networks, rate_client
from gateway.limits.limiter import Limiter, limit_key
from gateway.limits.rules import RULES, Limits, Rate
from gateway.settings import REPO_ROOT

RULE = {"demo_per_client": "a test rule"}


def limits(rate: str) -> Limits:
    return Limits.of({"demo_per_client": rate}, rules=RULE)


async def test_a_burst_is_allowed_then_the_next_waits_one_interval(redis: Redis) -> None:
    limiter = Limiter(redis, limits("60/minute burst 3"))
    decisions = [await limiter.hit("demo_per_client", "a") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert 0 < decisions[3].retry_after <= 1.0


async def test_clients_are_counted_apart(redis: Redis) -> None:
    limiter = Limiter(redis, limits("1/hour burst 1"))
    assert (await limiter.hit("demo_per_client", "a")).allowed
    assert not (await limiter.hit("demo_per_client", "a")).allowed
    assert (await limiter.hit("demo_per_client", "b")).allowed


async def test_the_rate_refills(redis: Redis) -> None:
    limiter = Limiter(redis, limits("20/second burst 1"))
    assert (await limiter.hit("demo_per_client", "a")).allowed
    refused = await limiter.hit("demo_per_client", "a")
    assert not refused.allowed
    await asyncio.sleep(refused.retry_after + 0.02)
    assert (await limiter.hit("demo_per_client", "a")).allowed


async def test_parallel_hits_cannot_slip_past_the_burst(redis: Redis) -> None:
    limiter = Limiter(redis, limits("5/hour burst 5"))
    decisions = await asyncio.gather(*(limiter.hit("demo_per_client", "a") for _ in range(40)))
    assert sum(d.allowed for d in decisions) == 5


async def test_a_refused_event_is_not_counted_and_keys_expire(redis: Redis) -> None:
    limiter = Limiter(redis, limits("10/second burst 2"))
    for _ in range(50):
        await limiter.hit("demo_per_client", "a")
    ttl_ms = await redis.pttl(limit_key("demo_per_client", "a"))
    assert 0 < ttl_ms <= 200  # two intervals at most: refusals did not push it further


async def test_a_refund_gives_one_event_back_and_a_refunded_client_holds_no_key(redis: Redis) -> None:
    limiter = Limiter(redis, limits("1/hour burst 2"))
    assert [(await limiter.hit("demo_per_client", "a")).allowed for _ in range(3)] == [True, True, False]
    await limiter.refund("demo_per_client", "a")
    assert (await limiter.hit("demo_per_client", "a")).allowed
    assert not (await limiter.hit("demo_per_client", "a")).allowed
    for _ in range(3):  # more refunds than events: never below "now", and the key is gone
        await limiter.refund("demo_per_client", "a")
    assert not await redis.exists(limit_key("demo_per_client", "a"))
    assert [(await limiter.hit("demo_per_client", "a")).allowed for _ in range(3)] == [True, True, False]


async def test_unlimited_never_refuses_and_stores_nothing(redis: Redis) -> None:
    limiter = Limiter(redis, limits("unlimited"))
    assert all([(await limiter.hit("demo_per_client", "a")).allowed for _ in range(100)])
    assert await redis.dbsize() == 0


def test_rates_are_read_or_refused_with_the_rule_named() -> None:
    assert Rate.parse("30/minute burst 10", "x") == Rate(30, 60.0, 10)
    assert Rate.parse("30/minute", "x") == Rate(30, 60.0, 30)
    with pytest.raises(ValueError, match="demo_per_client"):
        limits("lots")
    with pytest.raises(ValueError, match="unknown key 'typo'"):
        Limits.of({"demo_per_client": "1/second", "typo": "1/second"}, rules=RULE)
    with pytest.raises(ValueError, match="no rate for demo_per_client"):
        Limits.of({}, rules=RULE)


def test_the_shipped_file_sets_every_rule_the_code_asks_for() -> None:
    shipped = Limits.load(REPO_ROOT / "config" / "limits.yml")
    assert set(shipped.rates) == set(RULES)


def test_forwarded_addresses_count_only_from_trusted_proxies() -> None:
    proxies = parse_networks("10.0.0.0/8")
    assert client_address("203.0.113.9", "1.2.3.4", proxies) == "203.0.113.9"  # not a proxy: ignored
    assert client_address("10.0.0.2", "1.2.3.4, 198.51.100.7", proxies) == "198.51.100.7"
    assert client_address("10.0.0.2", "198.51.100.7, 10.0.0.3", proxies) == "198.51.100.7"
    assert client_address("10.0.0.2", None, proxies) == "10.0.0.2"
    assert rate_client("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert rate_client("::ffff:198.51.100.7") == "198.51.100.7"


def test_a_bad_proxy_list_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'nonsense'"):
        parse_networks("10.0.0.0/8, nonsense")
