"""Secrets for a development `storechat run` that has none configured.

`make run` must show a working product on a fresh machine, and the shop API, the
bot's order look-ups and the internal hops (gateway → Rasa → action server) need tokens. Random ones are generated once into
``var/secrets.json`` (readable only by the owner) and reused, so a shop script
written against them keeps working across restarts. Variables set in the
environment always win; production sets them all.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from gateway.settings import Settings

SECRETS_FILE = "secrets.json"
# Settings field → the environment variable that would set it.
GENERATED = {name: Settings.variables()[name]
             for name in ("shop_token", "bot_token", "customer_token_secret", "rasa_token", "actions_token")}


def secrets_path(settings: Settings) -> Path:
    return settings.data_dir / SECRETS_FILE


def _read_or_create(path: Path) -> dict[str, str]:
    stored: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    missing = [name for name in GENERATED if not stored.get(name)]
    if missing:
        stored.update({name: secrets.token_urlsafe(32) for name in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, stored)
    os.chmod(path, 0o600)
    return stored


def _write(path: Path, stored: dict[str, str]) -> None:
    # Created 0600 from the start: never world-readable, not even for a moment.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(stored, file, indent=2)


DEMO_AGENT = "demo@nordlicht-home.example"


def demo_agent_password(settings: Settings) -> str:
    """The demo console account's password, generated once into var/secrets.json."""
    path = secrets_path(settings)
    stored = _read_or_create(path)
    if not stored.get("demo_agent_password"):
        stored["demo_agent_password"] = secrets.token_urlsafe(12)
        _write(path, stored)
    return stored["demo_agent_password"]


def with_dev_secrets(settings: Settings) -> Settings:
    """`settings` with every unset token taken from (or generated into) var/secrets.json."""
    if all(getattr(settings, name) is not None for name in GENERATED):
        return settings
    stored = _read_or_create(secrets_path(settings))
    return settings.replace(**{name: getattr(settings, name) or stored[name] for name in GENERATED})


# The secrets of the hops between the processes `storechat run` starts itself: nobody else
# needs to know them, so a run without them set gets fresh ones (never written anywhere).
INTERNAL = ("rasa_token", "actions_token")


def with_internal_secrets(settings: Settings) -> Settings:
    """`settings` with a random secret for each internal hop the environment leaves unset."""
    return settings.replace(**{name: getattr(settings, name) or secrets.token_urlsafe(32) for name in INTERNAL})
