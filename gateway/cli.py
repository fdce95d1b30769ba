"""The `storechat` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from aiohttp import web

from gateway.settings import ConfigError, Settings


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.app import create_app

    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None,
                shutdown_timeout=5)
    return 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from gateway import training
    from gateway.supervisor import Supervisor

    try:
        training.train(settings.root, log_path=settings.data_dir / "log" / "train.log")
    except training.TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return Supervisor(settings).run()


def _train(settings: Settings, args: argparse.Namespace) -> int:
    from gateway import training

    try:
        trained = training.train(settings.root, force=args.force, log_path=settings.data_dir / "log" / "train.log")
    except training.TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("model trained" if trained else "model is up to date (training data unchanged)")
    return 0


def _demo_data(settings: Settings, args: argparse.Namespace) -> int:
    from redis.exceptions import RedisError

    from gateway import demo_orders

    try:
        loaded = asyncio.run(demo_orders.load_into(settings.effective_redis_url))
    except RedisError as exc:
        print(f"error: cannot write to Redis at {settings.effective_redis_url} ({exc}); "
              "start `storechat run` first or set REDIS_URL", file=sys.stderr)
        return 1
    for order in loaded:
        eta = order.estimated_delivery.isoformat() if order.estimated_delivery else "-"
        print(f"  {order.order_id}  {order.status.value:17} eta {eta:10}  {order.email}")
    print(f"loaded {len(loaded)} demo orders from {demo_orders.DEMO_ORDERS_FILE}")
    return 0


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
    commands.add_parser("demo-data", help="load the demo shop's orders into Redis (idempotent)") \
        .set_defaults(handler=_demo_data)
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
