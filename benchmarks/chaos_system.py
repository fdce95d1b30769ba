"""The processes a fault-injection scenario breaks: an embedded Redis with its append-only
file on, Rasa and its action server (or a stand-in the caller runs), and two or more
`storechat serve` gateways on one Redis, each started from gateway/run/processes.py's
definitions, the same `storechat run` and the tests use.

Unlike benchmarks/stack.py's Stack, a process here can be killed, stopped, resumed and
started again under its own name (a restarted process logs to `<name>.<n>.log`), and the
logs go where the caller says (a test's tmp_path).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gateway.run import processes
from gateway.settings import RedisAddress, Settings

START_TIMEOUT = 300.0
GATEWAY_START_TIMEOUT = 60.0


@dataclass
class Service:
    spec: processes.ProcessSpec
    ready: Callable[[], bool]
    timeout: float
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0


@dataclass
class Cluster:
    """Services by name; every one still running is stopped when the cluster closes."""

    log_dir: Path
    exits: ExitStack
    services: dict[str, Service] = field(default_factory=dict)

    def add(self, name: str, spec: processes.ProcessSpec, ready: Callable[[], bool],
            timeout: float = START_TIMEOUT) -> None:
        self.services[name] = Service(dataclasses.replace(spec, name=name), ready, timeout)

    def log(self, name: str) -> Path:
        service = self.services[name]
        suffix = "" if service.starts <= 1 else f".{service.starts}"
        return self.log_dir / f"{name}{suffix}.log"

    def start(self, *names: str) -> None:
        """Start the services (in parallel) and wait until each is ready."""
        for name in names:
            service = self.services[name]
            service.starts += 1
            log = self.log(name)
            log.unlink(missing_ok=True)
            service.process = processes.start(service.spec, log)
            if service.starts == 1:
                # Once per service, whichever process it runs by then: the cluster stops in the
                # reverse order of first starts (the gateways before the Redis they use).
                self.exits.callback(self.stop, name)
        for name in names:
            service = self.services[name]
            try:
                processes.wait_until(service.ready, timeout=service.timeout, process=service.process, what=name)
            except processes.ProcessError as exc:
                raise processes.ProcessError(f"{exc}\n--- {self.log(name)} ---\n"
                                             f"{processes.tail(self.log(name), 40)}") from None

    def pid(self, name: str) -> int:
        process = self.services[name].process
        if process is None:
            raise RuntimeError(f"{name} is not running")
        return process.pid

    def signal(self, name: str, signum: signal.Signals) -> None:
        """To the whole process group (Rasa's Sanic workers are children of its main process)."""
        os.killpg(self.pid(name), signum)

    def kill(self, name: str) -> None:
        """`kill -9`: no cleanup, no goodbye to its sockets or leases."""
        self.signal(name, signal.SIGKILL)
        process = self.services[name].process
        assert process is not None
        process.wait()

    def stop(self, name: str) -> None:
        """A graceful stop (SIGTERM, then SIGKILL after 15 s); a stopped (SIGSTOP) one is resumed first."""
        process = self.services[name].process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGCONT)
            processes.stop(process)

    def restart(self, name: str, down_s: float = 0.0) -> None:
        """A graceful stop and, `down_s` later, a start again on the same port and data (Redis:
        its append-only file)."""
        self.stop(name)
        time.sleep(down_s)
        self.start(name)

    def running(self, name: str) -> bool:
        process = self.services[name].process
        return process is not None and process.poll() is None


@contextmanager
def cluster(log_dir: Path) -> Iterator[Cluster]:
    log_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as exits:
        yield Cluster(log_dir, exits)


def add_redis(system: Cluster, settings: Settings, data_dir: Path) -> None:
    """An embedded Redis on the settings' port, appendonly everysec (as `storechat run` has it)."""
    url = settings.effective_redis_url
    system.add("redis", processes.embedded_redis(RedisAddress.from_url(url).port, data_dir, persist=True),
               processes.redis_ok(url), timeout=30)


def add_bot(system: Cluster, settings: Settings) -> None:
    """Rasa with the trained model and its action server."""
    system.add("actions", processes.action_server(settings),
               processes.http_ok(f"http://127.0.0.1:{settings.action_server_port}/health"))
    system.add("rasa", processes.rasa_server(settings), processes.http_ok(f"{settings.rasa_url}/webhooks/storechat/"))


def add_gateway(system: Cluster, name: str, settings: Settings, env: Mapping[str, str]) -> str:
    """A `storechat serve` process; its URL."""
    url = f"http://127.0.0.1:{settings.port}"
    system.add(name, processes.gateway(settings, env), processes.http_ok(f"{url}/static/widget.css"),
               timeout=GATEWAY_START_TIMEOUT)
    return url
