"""`storechat run`: start the whole system, wait until it is healthy, stop it cleanly."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.types import Team
from gateway.desk.agents import AgentRole, AgentStore
from gateway.run import demo_data, dev_secrets, processes
from gateway.settings import Settings

log = logging.getLogger(__name__)


class Launcher:
    def __init__(self, settings: Settings) -> None:
        # Development tokens for whatever the environment leaves unset, shared by
        # the gateway and the action server through their environments.
        # The demo (the embedded Redis) gets development secrets and the demo orders; with
        # your own REDIS_URL the tokens come from the environment and no demo data is
        # written into your orders (`storechat demo-data` does it on purpose).
        self.demo = settings.redis_url is None
        self.demo_agent = False
        self.settings = dev_secrets.with_internal_secrets(
            dev_secrets.with_dev_secrets(settings) if self.demo else settings)
        self.log_dir = settings.data_dir / "log"
        self.running: list[tuple[processes.ProcessSpec, subprocess.Popen[bytes]]] = []
        self._stop = threading.Event()
        self._history: threading.Thread | None = None
        self._history_report = ""

    def _log_path(self, service: processes.ProcessSpec) -> Path:
        return self.log_dir / f"{service.name}.log"

    def _start(self, service: processes.ProcessSpec) -> subprocess.Popen[bytes]:
        process = processes.start(service, self._log_path(service))
        self.running.append((service, process))
        print(f"  started {service.name:8} (pid {process.pid}, log {self._log_path(service)})", flush=True)
        return process

    def _wait(self, service: processes.ProcessSpec, process: subprocess.Popen[bytes],
              probe: Callable[[], bool], timeout: float = 180) -> None:
        try:
            processes.wait_until(probe, timeout=timeout, process=process, what=service.name)
        except processes.ProcessError:
            print(f"\n{service.name} failed to start; the end of its log:\n{processes.tail(self._log_path(service))}")
            raise

    def _check_ports(self) -> None:
        s = self.settings
        wanted = [("gateway", s.port), ("rasa", s.rasa_port), ("actions", s.action_server_port)]
        if s.redis_url is None:
            wanted.append(("redis", s.embedded_redis_port))
        busy = [f"{name} port {port}" for name, port in wanted if not processes.port_free("127.0.0.1", port)]
        if busy:
            raise processes.ProcessError(
                "already in use: " + ", ".join(busy) + " (is storechat already running? "
                "set STORECHAT_PORT, RASA_PORT, ACTION_SERVER_PORT or STORECHAT_REDIS_PORT)"
            )

    def _load_demo_orders(self) -> None:
        """The demo shop's orders, so the bot can answer "where is my order?" at once."""
        try:
            loaded = asyncio.run(demo_data.load_into(self.settings.effective_redis_url))
        except RedisError as exc:
            raise processes.ProcessError(f"could not load the demo orders into Redis: {exc}") from None
        print(f"  loaded {len(loaded)} demo orders (demo_shop/orders.yml)", flush=True)

    def _start_demo_history(self) -> None:
        """The demo shop's eight-week history, written once per Redis (gateway/run/history/), in
        a thread while Rasa starts: the first start takes about a minute longer at most."""
        def load() -> None:
            from gateway.run.history.load import describe, load_history_into
            try:
                self._history_report = describe(asyncio.run(load_history_into(self.settings)))
            except Exception as exc:  # the demo still runs without its history
                if self._stop.is_set():
                    return  # stopped by Ctrl-C while writing: Redis went away under it
                log.exception("the demo history could not be written")
                self._history_report = f"the demo history could not be written: {exc}"
        self._history = threading.Thread(target=load, name="demo-history", daemon=True)
        self._history.start()

    def _finish_demo_history(self) -> None:
        if self._history is None:
            return
        if self._history.is_alive():
            print("  waiting for the demo history…", flush=True)
        # Short joins, not one long one: Ctrl-C must stop `storechat run` while it waits.
        while self._history.is_alive():
            if self._stop.is_set():
                print("  stopping before the demo history is written", flush=True)
                return
            self._history.join(0.2)
        self._history = None
        print(f"  {self._history_report}", flush=True)

    def _add_demo_agent(self) -> None:
        """A supervisor account for the demo console, unless agents exist already."""
        async def add() -> bool:
            redis = Redis.from_url(self.settings.effective_redis_url, decode_responses=True)
            try:
                store = AgentStore(redis)
                if await store.get(dev_secrets.DEMO_AGENT) is not None:
                    return True
                if await store.all():
                    return False  # the operator has made their own accounts
                await store.put(dev_secrets.DEMO_AGENT, dev_secrets.demo_agent_password(self.settings),
                                team=Team.GENERAL, name="Demo", role=AgentRole.SUPERVISOR)
                return True
            finally:
                await redis.aclose()
        try:
            self.demo_agent = asyncio.run(add())
        except RedisError as exc:
            raise processes.ProcessError(f"could not add the demo agent: {exc}") from None

    def start_all(self) -> None:
        s = self.settings
        self._check_ports()
        print("Starting storechat…", flush=True)
        if s.redis_url is None:
            redis = processes.embedded_redis(s.embedded_redis_port, s.data_dir / "redis")
            process = self._start(redis)
            self._wait(redis, process, processes.redis_ok(s.effective_redis_url), timeout=20)
            self._load_demo_orders()
            self._add_demo_agent()
            self._start_demo_history()
        actions = processes.action_server(s)
        actions_process = self._start(actions)
        rasa = processes.rasa_server(s)
        rasa_process = self._start(rasa)
        gateway = processes.gateway(s)
        gateway_process = self._start(gateway)
        self._wait(actions, actions_process, processes.http_ok(f"{s.action_server_url}/health"))
        self._wait(rasa, rasa_process, processes.http_ok(f"{s.rasa_url}/"))
        self._wait(gateway, gateway_process, processes.http_ok(f"http://{s.host}:{s.port}/healthz"))
        self._finish_demo_history()

    def stop_all(self) -> None:
        for service, process in reversed(self.running):
            processes.stop(process)
            print(f"  stopped {service.name}", flush=True)
        self.running.clear()

    def _token_source(self) -> str:
        if not self.demo or all(os.environ.get(variable) for variable in dev_secrets.GENERATED.values()):
            return "from the environment"
        return f"{dev_secrets.secrets_path(self.settings)}, generated for development"

    def _console_login(self) -> str:
        if self.demo_agent:
            return (f"log in as {dev_secrets.DEMO_AGENT}, password \"demo_agent_password\" in "
                    f"{dev_secrets.secrets_path(self.settings)}")
        return "log in with an account made by `storechat agents add`"

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop.set()

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        try:
            self.start_all()
        except processes.ProcessError as exc:
            print(f"error: {exc}", flush=True)
            self.stop_all()
            return 1
        if self._stop.is_set():  # Ctrl-C while starting
            print("\nStopping storechat…", flush=True)
            self.stop_all()
            return 0
        base = f"http://{self.settings.host}:{self.settings.port}"
        print(
            f"\nstorechat is up.\n"
            f"  Demo storefront:  {base}/            (English: {base}/?lang=en)\n"
            f"  Health:           {base}/healthz\n"
            f"  Shop API:         {base}/api/v1/openapi.json  (tokens: {self._token_source()})\n"
            f"  Agent console:    {base}/console  ({self._console_login()})\n"
            f"  Logs:             {self.log_dir}/\n"
            f"Open the storefront, click the chat button and say hello.\n"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
        exit_code = 0
        while not self._stop.wait(1.0):
            for service, process in self.running:
                if process.poll() is not None:
                    print(f"\n{service.name} stopped unexpectedly (code {process.returncode}); its log:\n"
                          f"{processes.tail(self._log_path(service))}", flush=True)
                    exit_code = 1
                    self._stop.set()
                    break
        print("\nStopping storechat…", flush=True)
        self.stop_all()
        return exit_code
