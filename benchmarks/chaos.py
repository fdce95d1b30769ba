"""Fault injection: nothing a shopper sends is lost, and nobody is left in silence, when a
process breaks (issue 13).

    make chaos                                              # make train, then every scenario (~2.5 min)
    .venv/bin/python benchmarks/chaos.py --quick            # 4 shoppers × 10 messages (~2 min, mostly start-up)
    .venv/bin/python benchmarks/chaos.py --scenario "redis restart" --scenario "provider 429"
    .venv/bin/python benchmarks/chaos.py --json > chaos.json   # JSON on stdout, tables on stderr

Each web scenario runs on a fresh cluster: an empty embedded Redis with its append-only file
on, Rasa with bot/models/storechat.tar.gz and its action server, and two `storechat serve`
gateways on that Redis. Ten web shoppers (half on each gateway) send a burst of 200 messages
with the acknowledged-message contract (benchmarks/chaos_shoppers.py) and, once 40 % of it
has left them, one fault is injected: `kill -9` of one gateway, a graceful Redis restart, a
SIGKILL of Rasa (not restarted: the rest of the burst meets a dead bot), or a SIGSTOP of Rasa
for longer than RASA_TIMEOUT, then a SIGCONT. The provider scenarios share one more such
cluster, with SMS and WhatsApp pointed at a fault-injecting provider (benchmarks/
chaos_provider.py) that answers 500, 429 with Retry-After, or holds the call past the
gateway's read timeout. The exit status is 1 if any scenario is not clean.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Run as a script (`python benchmarks/chaos.py`): make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis  # noqa: E402

from benchmarks.chaos_messaging import Agent, Faults, Messaging, run_provider_scenario  # noqa: E402
from benchmarks.chaos_provider import Fault, FaultyProvider  # noqa: E402
from benchmarks.chaos_system import Cluster, add_bot, add_gateway, add_redis, cluster  # noqa: E402
from benchmarks.chaos_tally import ProviderFigures, WebFigures, provider_table, web_table  # noqa: E402
from benchmarks.chaos_web import Burst, run_burst  # noqa: E402
from benchmarks.cli import progress, stop_on_sigterm  # noqa: E402
from benchmarks.stack import BENCH_DIR, free_port, unlimited_limits  # noqa: E402
from core.types import Team  # noqa: E402
from gateway.run import dev_secrets  # noqa: E402
from gateway.settings import REPO_ROOT, Settings  # noqa: E402
from tests.channels.drivers import channel_env  # noqa: E402
from tests.gateway.agent_support import PASSWORD, add_agent  # noqa: E402
from tests.hours_support import hours_file  # noqa: E402

CHAOS_DIR = BENCH_DIR / "chaos"
# The gateways give a provider this long to answer a send (STORECHAT_PROVIDER_READ_TIMEOUT,
# 10 s as shipped): shorter here, so that a held call runs past it within the run.
PROVIDER_TIMEOUT_S = 3.0
# Rasa is stopped this much longer than the gateways wait for it (RASA_TIMEOUT).
STOP_BEYOND_TIMEOUT_S = 4.0
REDIS_DOWN_S = 2.0
FULL = Burst(shoppers=10, messages=20)
QUICK = Burst(shoppers=4, messages=10)


@dataclass
class System:
    cluster: Cluster
    settings: Settings
    urls: list[str]

    def redis(self) -> Redis:
        return Redis.from_url(self.settings.effective_redis_url, decode_responses=True)


def _settings(data_dir: Path) -> Settings:
    """Free ports for everything, Rasa's workers as `storechat run` has them, open around the
    clock (a handoff's notice must not depend on the hour of the run)."""
    redis_port, rasa_port = free_port(), free_port()
    return dev_secrets.with_internal_secrets(Settings(
        port=free_port(), redis_url=f"redis://127.0.0.1:{redis_port}/0",
        rasa_port=rasa_port, rasa_url=f"http://127.0.0.1:{rasa_port}", action_server_port=free_port(),
        data_dir=data_dir, root=REPO_ROOT, rasa_workers=Settings.from_env().rasa_workers,
        business_hours_file=hours_file(data_dir, open_now=True),
    ))


@contextmanager
def storechat(name: str, provider_url: str) -> Iterator[System]:
    """A fresh cluster under var/bench/chaos/<name>/ (logs in its log/), stopped at the end."""
    data_dir = CHAOS_DIR / re.sub(r"[^a-z0-9]+", "-", name).strip("-")
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    settings = _settings(data_dir)
    second = settings.replace(port=free_port())
    public_url = f"http://127.0.0.1:{settings.port}"
    env = {"STORECHAT_LIMITS": str(unlimited_limits()), "STORECHAT_PROVIDER_READ_TIMEOUT": str(PROVIDER_TIMEOUT_S),
           **channel_env(public_url, provider_url)}
    with cluster(data_dir / "log") as system:
        add_redis(system, settings, data_dir / "redis")
        add_bot(system, settings)
        urls = [add_gateway(system, "gateway-1", settings, env), add_gateway(system, "gateway-2", second, env)]
        system.start("redis")
        started = time.perf_counter()
        system.start("actions", "rasa", "gateway-1", "gateway-2")
        progress(f"  {name}: Rasa, actions and two gateways up in {time.perf_counter() - started:.0f}s "
                 f"(logs: {data_dir / 'log'})")
        yield System(system, settings, urls)


def _stop_rasa_for(system: System) -> Callable[[], None]:
    def stall() -> None:
        system.cluster.signal("rasa", signal.SIGSTOP)
        try:
            time.sleep(system.settings.rasa_timeout + STOP_BEYOND_TIMEOUT_S)
        finally:
            system.cluster.signal("rasa", signal.SIGCONT)

    return stall


# Web scenario → the fault it injects into its cluster (blocking: it runs in a thread).
WEB_FAULTS: dict[str, Callable[[System], Callable[[], None]]] = {
    "kill -9 gateway": lambda system: lambda: system.cluster.kill("gateway-1"),
    "redis restart": lambda system: lambda: system.cluster.restart("redis", down_s=REDIS_DOWN_S),
    "rasa killed": lambda system: lambda: system.cluster.kill("rasa"),
    "rasa stopped > timeout": _stop_rasa_for,
}
PROVIDER_FAULTS = {
    "provider 500": Faults("provider 500", Fault(500), 3),
    "provider 429": Faults("provider 429", Fault(429, retry_after="2"), 3),
    "provider timeout": Faults("provider timeout", Fault(hang=PROVIDER_TIMEOUT_S * 2.5), 2),
}
SCENARIOS = (*WEB_FAULTS, *PROVIDER_FAULTS)


async def web_scenario(name: str, burst: Burst, provider: FaultyProvider) -> WebFigures:
    progress(f"{name}: starting a fresh cluster…")
    with storechat(name, provider.url) as system:
        redis = system.redis()
        try:
            figures = await run_burst(name, system.urls, redis, burst, WEB_FAULTS[name](system), progress=progress)
        finally:
            await redis.aclose()
    progress(f"  {name}: {'clean' if figures.clean else 'NOT CLEAN'}")
    return figures


async def provider_scenarios(names: Sequence[str], provider: FaultyProvider, *, quick: bool) -> list[ProviderFigures]:
    """The provider scenarios, one after the other on one cluster (each with shoppers of its own)."""
    progress(f"{', '.join(names)}: starting a fresh cluster…")
    results = []
    with storechat("provider", provider.url) as system:
        redis = system.redis()
        await add_agent(redis, "agent@chaos.example", Team.GENERAL, name="Anna")
        agent = Agent(system.urls[0], "agent@chaos.example", PASSWORD)
        try:
            await agent.login()
            messaging = Messaging(system.urls, system.urls[0], redis, provider, agent)
            for name in names:
                progress(f"  {name}: {PROVIDER_FAULTS[name].count} faults queued")
                figures = await run_provider_scenario(name, messaging, PROVIDER_FAULTS[name],
                                                      agent_replies=4 if quick else 6, bot_shoppers=2 if quick else 4)
                progress(f"  {name}: {'clean' if figures.clean else 'NOT CLEAN'}")
                results.append(figures)
        finally:
            await agent.close()
            await redis.aclose()
    return results


async def run(names: Sequence[str], *, quick: bool) -> tuple[list[WebFigures], list[ProviderFigures]]:
    provider = FaultyProvider()
    await provider.start()  # in this loop: the gateways' web scenarios need it only as their channels' address
    try:
        web = [await web_scenario(name, QUICK if quick else FULL, provider) for name in names if name in WEB_FAULTS]
        providers = [name for name in names if name in PROVIDER_FAULTS]
        return web, await provider_scenarios(providers, provider, quick=quick) if providers else []
    finally:
        await provider.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK.shoppers} shoppers × {QUICK.messages} messages, fewer provider messages")
    parser.add_argument("--json", action="store_true", help="the figures as JSON on stdout (the tables on stderr)")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, metavar="NAME",
                        help=f"run only this scenario (repeatable): {', '.join(repr(s) for s in SCENARIOS)}")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    started = time.perf_counter()
    web, providers = asyncio.run(run(args.scenario or SCENARIOS, quick=args.quick))
    clean = all(f.clean for f in web) and all(f.clean for f in providers)
    tables = []
    if web:
        tables.append("web chat (each message: acknowledged and stored once, or the shopper told):\n"
                      + web_table(web))
    if providers:
        tables.append("SMS and WhatsApp (each message to a shopper: sent once at most, and a state):\n"
                      + provider_table(providers))
    tables.append(f"{'clean' if clean else 'NOT CLEAN'}: {len(web) + len(providers)} scenarios "
                  f"in {time.perf_counter() - started:.0f}s")
    if args.json:
        print(json.dumps({"web": [f.as_dict() for f in web], "provider": [f.as_dict() for f in providers],
                          "clean": clean}, indent=2))
        progress("\n\n".join(tables))
    else:
        print("\n\n".join(tables))
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
