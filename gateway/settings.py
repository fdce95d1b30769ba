"""Configuration, parsed once from the environment into a typed, frozen object."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from gateway.messaging.channel_settings import ChannelConfigError, ChannelSettings

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """An environment variable holds a value storechat cannot use."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "yes", "true", "on"):
        return True
    if raw in ("0", "no", "false", "off"):
        return False
    raise ConfigError(f"{name} must be yes or no, got {raw!r}")


def _pattern(env: Mapping[str, str], name: str, default: str) -> re.Pattern[str]:
    raw = env.get(name) or default
    try:
        return re.compile(raw)
    except re.error as exc:
        raise ConfigError(f"{name} is not a regular expression ({exc}): {raw!r}") from None


@dataclass(frozen=True, slots=True)
class RedisAddress:
    host: str
    port: int
    db: int
    password: str

    @classmethod
    def from_url(cls, url: str) -> RedisAddress:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ConfigError(f"REDIS_URL must start with redis://, got {url!r}")
        db = parts.path.lstrip("/") or "0"
        if not db.isdigit():
            raise ConfigError(f"REDIS_URL database must be a number, got {db!r}")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=int(db),
            password=parts.password or "",
        )


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    # None: `storechat run` starts an embedded Redis persisting under data_dir.
    redis_url: str | None = None
    embedded_redis_port: int = 6390
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_port: int = 5005
    action_server_port: int = 5055
    # A turn that takes longer than this is answered with the "bot unavailable" text.
    rasa_timeout: float = 8.0
    # Rasa server worker processes (Sanic workers sharing the port and the Redis
    # tracker and lock stores); a turn is CPU-bound, so one per core.
    rasa_workers: int = 2
    max_message_chars: int = 2000
    # Socket.IO packets above this size are refused by the transport itself.
    max_socket_payload_bytes: int = 64 * 1024
    default_locale: str = "de"
    data_dir: Path = field(default_factory=lambda: REPO_ROOT / "var")
    root: Path = REPO_ROOT
    # Bearer tokens of the shop API; unset → those endpoints answer 503 api_disabled.
    shop_token: str | None = None
    bot_token: str | None = None
    # Key the storefront signs customer tokens with; unset → such proofs are refused.
    customer_token_secret: str | None = None
    # Where shoppers reach the gateway (return-label links); None → http://{host}:{port}.
    public_url: str | None = None
    # An order id must match this in full; the shop decides its own numbering.
    order_number_pattern: re.Pattern[str] = re.compile(r"\d{6}")
    # An agent's console session ends after this long without a request.
    agent_session_hours: float = 8.0
    # Concurrent chats auto-assignment gives one agent (a manual claim may go beyond).
    agent_max_chats: int = 3
    # When the teams answer (a YAML file; the demo shop's hours by default).
    business_hours_file: Path = field(default_factory=lambda: REPO_ROOT / "config" / "business_hours.yml")
    # When a chat is offered by itself (a YAML file; gateway/proactive/rules.py).
    proactive_rules_file: Path = field(default_factory=lambda: REPO_ROOT / "config" / "proactive_rules.yml")
    # Which shipment events the customer is told of, quiet hours, WhatsApp templates (a YAML file).
    notifications_file: Path = field(default_factory=lambda: REPO_ROOT / "config" / "notifications.yml")
    # SMS, Messenger and WhatsApp: on when their secrets are set (gateway/messaging/channel_settings.py).
    channels: ChannelSettings = field(default_factory=ChannelSettings)
    # A webhook delivery a gateway process read but did not finish (it died) is taken
    # over by another process after this long.
    inbox_claim_idle_ms: int = 60_000
    # Whether this process also processes webhook deliveries (off: it only accepts them,
    # for intake processes scaled apart from the ones that answer).
    inbox_worker: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        rasa_port = _int(env, "RASA_PORT", 5005)
        settings = cls(
            host=env.get("STORECHAT_HOST", "127.0.0.1"),
            port=_int(env, "STORECHAT_PORT", 8080),
            redis_url=env.get("REDIS_URL") or None,
            embedded_redis_port=_int(env, "STORECHAT_REDIS_PORT", 6390),
            rasa_url=env.get("RASA_URL", f"http://127.0.0.1:{rasa_port}").rstrip("/"),
            rasa_port=rasa_port,
            action_server_port=_int(env, "ACTION_SERVER_PORT", 5055),
            rasa_timeout=_float(env, "RASA_TIMEOUT", 8.0),
            rasa_workers=_int(env, "RASA_WORKERS", 2),
            max_message_chars=_int(env, "STORECHAT_MAX_MESSAGE_CHARS", 2000),
            default_locale=env.get("STORECHAT_DEFAULT_LOCALE", "de"),
            data_dir=Path(env.get("STORECHAT_DATA_DIR", str(REPO_ROOT / "var"))),
            shop_token=env.get("STORECHAT_SHOP_TOKEN") or None,
            bot_token=env.get("STORECHAT_BOT_TOKEN") or None,
            customer_token_secret=env.get("STORECHAT_CUSTOMER_TOKEN_SECRET") or None,
            public_url=(env.get("STORECHAT_PUBLIC_URL") or "").rstrip("/") or None,
            order_number_pattern=_pattern(env, "STORECHAT_ORDER_NUMBER_PATTERN", r"\d{6}"),
            agent_session_hours=_float(env, "STORECHAT_AGENT_SESSION_HOURS", 8.0),
            agent_max_chats=_int(env, "STORECHAT_AGENT_MAX_CHATS", 3),
            business_hours_file=Path(env.get("STORECHAT_BUSINESS_HOURS")
                                     or str(REPO_ROOT / "config" / "business_hours.yml")),
            proactive_rules_file=Path(env.get("STORECHAT_PROACTIVE_RULES")
                                      or str(REPO_ROOT / "config" / "proactive_rules.yml")),
            notifications_file=Path(env.get("STORECHAT_NOTIFICATIONS")
                                    or str(REPO_ROOT / "config" / "notifications.yml")),
            inbox_claim_idle_ms=_int(env, "STORECHAT_INBOX_CLAIM_IDLE_MS", 60_000),
            inbox_worker=_flag(env, "STORECHAT_INBOX_WORKER", True),
        )
        try:
            settings = dataclasses.replace(
                settings, channels=ChannelSettings.from_env(env, settings.effective_public_url))
        except ChannelConfigError as exc:
            raise ConfigError(str(exc)) from None
        if settings.redis_url is not None:
            RedisAddress.from_url(settings.redis_url)  # fail at start, not on first use
        if settings.rasa_workers < 1:
            raise ConfigError("RASA_WORKERS must be at least 1")
        if settings.rasa_timeout <= 0:
            raise ConfigError("RASA_TIMEOUT must be positive")
        if settings.agent_max_chats < 1:
            raise ConfigError("STORECHAT_AGENT_MAX_CHATS must be at least 1")
        if settings.agent_session_hours <= 0:
            raise ConfigError("STORECHAT_AGENT_SESSION_HOURS must be positive")
        return settings

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"redis://127.0.0.1:{self.embedded_redis_port}/0"

    @property
    def agent_session_ms(self) -> int:
        return max(1, round(self.agent_session_hours * 3_600_000))

    @property
    def effective_public_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"
