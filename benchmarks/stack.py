"""The processes under test, started on free ports under var/bench/ and always stopped.

storechat is started through gateway/run/processes.py, the same definitions `storechat run`
and the tests use: an embedded Redis, the action server, Rasa with bot/models/storechat.tar.gz
and one `storechat serve` gateway (or several, sharing the Redis, for `storechat_gateways`).
The anchor is a stock `rasa init` assistant, created once under var/bench/anchor/ and run as
shipped (in-memory tracker store, REST channel).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gateway.limits.rules import RULES
from gateway.run import dev_secrets, processes
from gateway.settings import REPO_ROOT, RedisAddress, Settings

BENCH_DIR = REPO_ROOT / "var" / "bench"
LOG_DIR = BENCH_DIR / "log"
ANCHOR_DIR = BENCH_DIR / "anchor"
START_TIMEOUT = 300.0
_QUIET_BOT_ENV = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    """Running processes by name, started in order and stopped in reverse."""

    exits: ExitStack
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _pending: list[tuple[str, subprocess.Popen[bytes], Callable[[], bool]]] = field(default_factory=list)

    def start(self, service: processes.ProcessSpec, ready: Callable[[], bool], *, wait: bool = True) -> None:
        log = LOG_DIR / f"{service.name}.log"
        log.unlink(missing_ok=True)
        process = processes.start(service, log)
        self.exits.callback(processes.stop, process)
        self.processes[service.name] = process
        self._pending.append((service.name, process, ready))
        if wait:
            self.wait()

    def start_empty_redis(self, url: str, data_dir: Path) -> None:
        """An embedded Redis on `url`'s port, its data in `data_dir`, emptied first: every run
        starts from an empty Redis. Like `storechat run`: append-only persistence, as in production."""
        shutil.rmtree(data_dir, ignore_errors=True)
        self.start(processes.embedded_redis(RedisAddress.from_url(url).port, data_dir), processes.redis_ok(url))

    def wait(self) -> None:
        """Wait until every process started so far is ready (they start in parallel)."""
        for name, process, ready in self._pending:
            try:
                processes.wait_until(ready, timeout=START_TIMEOUT, process=process, what=name)
            except processes.ProcessError as exc:
                raise processes.ProcessError(f"{exc}\n--- {LOG_DIR / name}.log ---\n"
                                            f"{processes.tail(LOG_DIR / f'{name}.log', 40)}") from None
        self._pending.clear()


@dataclass(frozen=True, slots=True)
class Urls:
    gateway: str
    rasa: str
    anchor: str
    rasa_token: str  # what the storechat connector wants to see (STORECHAT_RASA_TOKEN)


def ensure_anchor() -> None:
    """Create and train the stock assistant the first time (kept for later runs)."""
    if list((ANCHOR_DIR / "models").glob("*.tar.gz")):
        return
    print(f"Creating the stock `rasa init` assistant in {ANCHOR_DIR} (trains once, a few minutes)…", flush=True)
    ANCHOR_DIR.mkdir(parents=True, exist_ok=True)
    rasa = REPO_ROOT / processes.BOT_VENV / "bin" / "rasa"
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (LOG_DIR / "anchor-init.log").open("wb") as log:
        subprocess.run(
            [str(rasa), "init", "--no-prompt", "--init-dir", str(ANCHOR_DIR)],
            cwd=REPO_ROOT, env={**os.environ, **_QUIET_BOT_ENV},
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=True,
        )


def anchor_service(port: int) -> processes.ProcessSpec:
    rasa = REPO_ROOT / processes.BOT_VENV / "bin" / "rasa"
    return processes.ProcessSpec(
        "anchor",
        (str(rasa), "run", "--port", str(port), "--interface", "127.0.0.1", "--credentials", "credentials.yml"),
        ANCHOR_DIR, _QUIET_BOT_ENV,
    )


def _settings() -> Settings:
    """Free ports for everything, data under var/bench/, Rasa workers as `storechat run` has them."""
    redis_port, rasa_port = free_port(), free_port()
    return dev_secrets.with_internal_secrets(Settings(
        port=free_port(), redis_url=f"redis://127.0.0.1:{redis_port}/0",
        rasa_port=rasa_port, rasa_url=f"http://127.0.0.1:{rasa_port}",
        action_server_port=free_port(), data_dir=BENCH_DIR, root=REPO_ROOT,
        # As `storechat run` would start Rasa here (RASA_WORKERS, default one per core).
        rasa_workers=Settings.from_env().rasa_workers,
    ))


def _start_bot(stack: Stack, settings: Settings) -> None:
    """An empty embedded Redis, then the action server and Rasa (not waited for)."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    stack.start_empty_redis(settings.effective_redis_url, BENCH_DIR / "redis")
    # The Rasa processes load their models in parallel.
    stack.start(processes.action_server(settings),
                processes.http_ok(f"http://127.0.0.1:{settings.action_server_port}/health"), wait=False)
    stack.start(processes.rasa_server(settings),
                processes.http_ok(f"{settings.rasa_url}/webhooks/storechat/"), wait=False)


def unlimited_limits() -> Path:
    """A limits file with every rate rule off: a load benchmark drives all its shoppers from
    one address (127.0.0.1), which the shipped rules would rightly slow down."""
    path = BENCH_DIR / "limits-unlimited.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{rule}: unlimited\n" for rule in RULES), encoding="utf-8")
    return path


def _start_gateway(stack: Stack, settings: Settings, name: str) -> str:
    """A `storechat serve` process named `name` (its log: var/bench/log/<name>.log), every rate
    rule off; its URL."""
    service = dataclasses.replace(processes.gateway(settings, {"STORECHAT_LIMITS": str(unlimited_limits())}),
                                  name=name)
    url = f"http://127.0.0.1:{settings.port}"
    stack.start(service, processes.http_ok(f"{url}/healthz"), wait=False)
    return url


@contextmanager
def both_systems() -> Iterator[tuple[Stack, Urls]]:
    """storechat (Redis, actions, Rasa, gateway) and the anchor, all up and healthy."""
    ensure_anchor()
    settings = _settings()
    anchor_port = free_port()
    with ExitStack() as exits:
        stack = Stack(exits)
        _start_bot(stack, settings)
        stack.start(anchor_service(anchor_port),
                    processes.http_ok(f"http://127.0.0.1:{anchor_port}/webhooks/rest/"), wait=False)
        stack.wait()
        gateway_url = _start_gateway(stack, settings, "gateway")
        stack.wait()
        yield stack, Urls(gateway=gateway_url, rasa=settings.rasa_url, anchor=f"http://127.0.0.1:{anchor_port}",
                          rasa_token=settings.rasa_token or "")


@dataclass(frozen=True, slots=True)
class Storechat:
    stack: Stack
    redis_url: str
    rasa_url: str
    # Process name (gateway-1, gateway-2, …) → base URL.
    gateways: dict[str, str]


@contextmanager
def storechat_gateways(count: int) -> Iterator[Storechat]:
    """storechat with `count` gateway processes on their own ports sharing one Redis (the
    Socket.IO Redis manager fans emits out between them), all up and healthy. The action
    server calls the first gateway's API."""
    settings = _settings()
    with ExitStack() as exits:
        stack = Stack(exits)
        _start_bot(stack, settings)
        stack.wait()
        gateways = {}
        for index in range(1, count + 1):
            own = settings if index == 1 else settings.replace(port=free_port())
            gateways[f"gateway-{index}"] = _start_gateway(stack, own, f"gateway-{index}")
        stack.wait()
        yield Storechat(stack, settings.effective_redis_url, settings.rasa_url, gateways)
