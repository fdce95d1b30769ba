"""The `storechat` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from gateway.settings import ConfigError, Settings

if TYPE_CHECKING:
    from gateway.desk.agents import AgentStore


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.app import create_app
    from gateway.web.access_log import RedactingAccessLogger

    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None,
                shutdown_timeout=5, access_log_class=RedactingAccessLogger)
    return 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.bot import training
    from gateway.run.launcher import Launcher

    try:
        training.train(settings.root, log_path=settings.data_dir / "log" / "train.log")
    except training.TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return Launcher(settings).run()


def _train(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.bot import training

    try:
        trained = training.train(settings.root, force=args.force, log_path=settings.data_dir / "log" / "train.log")
    except training.TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("model trained" if trained else "model is up to date (training data unchanged)")
    return 0


def _demo_data(settings: Settings, args: argparse.Namespace) -> int:
    from redis.exceptions import RedisError

    from demo_shop import ORDERS_FILE
    from gateway.run import demo_data

    try:
        loaded = asyncio.run(demo_data.load_into(settings.effective_redis_url))
    except RedisError as exc:
        print(f"error: cannot write to Redis at {settings.effective_redis_url} ({exc}); "
              "start `storechat run` first or set REDIS_URL", file=sys.stderr)
        return 1
    for order in loaded:
        eta = order.estimated_delivery.isoformat() if order.estimated_delivery else "-"
        print(f"  {order.order_id}  {order.status.value:17} eta {eta:10}  {order.email}")
    print(f"loaded {len(loaded)} demo orders from {ORDERS_FILE}")
    if args.history:
        from gateway.run.history.load import describe, load_history_into

        print("loading the demo history (eight weeks of conversations; about a minute)…", flush=True)
        try:
            print(describe(asyncio.run(load_history_into(settings))))
        except RedisError as exc:
            print(f"error: the demo history could not be written ({exc})", file=sys.stderr)
            return 1
    return 0


def _reports_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    from redis.exceptions import RedisError

    from gateway.app import build_reports, connect_redis
    from gateway.conversations.feed import rebuild
    from gateway.desk.business_hours import BusinessHours

    async def refold() -> int:
        redis = connect_redis(settings.effective_redis_url)
        try:
            reports = build_reports(redis, settings, BusinessHours.load(settings.business_hours_file), time.time)
            for projection in reports.projections:
                folded = await rebuild(redis, projection)
                print(f"{projection.name}: refolded {folded} conversations")
            return 0
        finally:
            await redis.aclose()

    try:
        return asyncio.run(refold())
    except RedisError as exc:
        print(f"error: cannot reach Redis at {settings.effective_redis_url} ({exc})", file=sys.stderr)
        return 1


def _read_password(args: argparse.Namespace) -> str:
    if args.password != "-":
        return str(args.password)
    # From stdin, so the password stays out of the shell history and the process list.
    return sys.stdin.readline().rstrip("\r\n")


async def _with_agents(settings: Settings, use: Callable[[AgentStore], Awaitable[int]]) -> int:
    from gateway.app import connect_redis
    from gateway.desk.agents import AgentStore

    redis = connect_redis(settings.effective_redis_url)
    try:
        return await use(AgentStore(redis))
    finally:
        await redis.aclose()


def _agents_add(settings: Settings, args: argparse.Namespace) -> int:
    from redis.exceptions import RedisError

    from core.types import Team
    from gateway.desk.agents import AgentRole, InvalidAgent

    password = _read_password(args)

    async def add(agents: AgentStore) -> int:
        agent, created = await agents.put(args.email, password, team=Team(args.team), name=args.name,
                                          role=AgentRole(args.role) if args.role else None)
        print(f"{'added' if created else 'updated'} {agent.email} ({agent.name}, {agent.team.value}, {agent.role.value})")
        return 0

    try:
        return asyncio.run(_with_agents(settings, add))
    except InvalidAgent as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RedisError as exc:
        print(f"error: cannot write to Redis at {settings.effective_redis_url} ({exc}); "
              "start `storechat run` first or set REDIS_URL", file=sys.stderr)
        return 1


def _agents_list(settings: Settings, args: argparse.Namespace) -> int:
    from redis.exceptions import RedisError

    async def show(agents: AgentStore) -> int:
        for agent in await agents.all():
            print(f"  {agent.email:40} {agent.team.value:10} {agent.role.value:10} {agent.name}")
        return 0

    try:
        return asyncio.run(_with_agents(settings, show))
    except RedisError as exc:
        print(f"error: cannot read Redis at {settings.effective_redis_url} ({exc}); "
              "start `storechat run` first or set REDIS_URL", file=sys.stderr)
        return 1


def _add_agents_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from core.types import Team
    from gateway.desk.agents import AgentRole

    agents = commands.add_parser("agents", help="manage the agent console's accounts").add_subparsers(
        dest="agents_command", required=True)
    add = agents.add_parser("add", help="add an agent, or update one with this email (new password included)")
    add.add_argument("--email", required=True)
    add.add_argument("--password", required=True, help="at least 10 characters; `-` reads one line from stdin")
    add.add_argument("--team", required=True, choices=[team.value for team in Team])
    add.add_argument("--name", help="display name (default: kept, or the email's local part)")
    add.add_argument("--role", choices=[role.value for role in AgentRole],
                     help="default: kept, or agent for a new account")
    add.set_defaults(handler=_agents_add)
    agents.add_parser("list", help="list the agents").set_defaults(handler=_agents_list)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storechat", description="storechat: chat and live chat for online shops")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start Redis (embedded unless REDIS_URL), Rasa, actions and the gateway") \
        .set_defaults(handler=_run)
    commands.add_parser("serve", help="start one gateway process (for scale-out behind a load balancer)") \
        .set_defaults(handler=_serve)
    train = commands.add_parser("train", help="generate the bot's data from faq_data/ and train if it changed")
    train.add_argument("--force", action="store_true", help="train even if nothing changed")
    train.set_defaults(handler=_train)
    demo = commands.add_parser("demo-data", help="load the demo shop's orders and its eight-week history into "
                               "Redis (idempotent: the history is written once)")
    demo.add_argument("--history", action=argparse.BooleanOptionalAction, default=True,
                      help="also the history of conversations, orders and a product defect, ending today "
                           "(default; --no-history: the orders only)")
    demo.set_defaults(handler=_demo_data)
    _add_agents_commands(commands)
    reports = commands.add_parser("reports", help="the supervisors' reports").add_subparsers(
        dest="reports_command", required=True)
    reports.add_parser("rebuild", help="refold every conversation into the reports, complaint clusters and "
                       "directory (after an upgrade, with the gateway stopped)") \
        .set_defaults(handler=_reports_rebuild)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return int(args.handler(settings, args))


if __name__ == "__main__":
    sys.exit(main())
