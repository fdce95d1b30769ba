"""The gateway's HTTP client for the Rasa server's storechat connector.

The connector (bot/storechat_connector.py) answers one POST with the bot's
messages and what the bot understood, so a turn costs one round trip. Each POST
carries the shared secret (STORECHAT_RASA_TOKEN) the connector refuses calls without.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

from core.types import Author, BotTurn, Handoff, OutgoingMessage, QuickReply, Team, Understanding

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/storechat/webhook"


class BotUnavailable(Exception):
    """Rasa could not be reached, timed out or answered with an error."""


class BotBusy(BotUnavailable):
    """Rasa kept nothing of the turn and asked for it again in a moment (503: its Redis was
    out of reach, or the conversation's lock taken)."""


def _optional_float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _message(raw: Mapping[str, Any]) -> OutgoingMessage | None:
    text = raw.get("text")
    image = raw.get("image")
    buttons = raw.get("buttons") or []
    if not isinstance(text, str) and not isinstance(image, str):
        return None  # custom payloads without text are not for the shopper
    quick_replies = tuple(
        QuickReply(title=str(b.get("title", "")), payload=str(b.get("payload", b.get("title", ""))))
        for b in buttons
        if isinstance(b, Mapping)
    )
    return OutgoingMessage(
        text=text if isinstance(text, str) else "",
        author=Author.BOT,
        quick_replies=quick_replies,
        image_url=image if isinstance(image, str) else None,
    )


def _handoff(raw: object) -> Handoff | None:
    if not isinstance(raw, Mapping):
        return None
    reason = str(raw.get("reason") or "unspecified")
    try:
        team = Team(str(raw.get("team")))
    except ValueError:
        log.warning("bot handed off to unknown team %r (%s); routing to general", raw.get("team"), reason)
        team = Team.GENERAL
    return Handoff(team=team, reason=reason)


def parse_turn(body: Mapping[str, Any]) -> BotTurn:
    messages = tuple(
        message
        for raw in body.get("messages") or []
        if isinstance(raw, Mapping) and (message := _message(raw)) is not None
    )
    intent = body.get("intent") or {}
    retrieval = body.get("retrieval") or {}
    return BotTurn(
        messages=messages,
        understanding=Understanding(
            intent=intent.get("name"),
            confidence=_optional_float(intent.get("confidence")),
            retrieval_intent=retrieval.get("name"),
            retrieval_confidence=_optional_float(retrieval.get("confidence")),
        ),
        handoff=_handoff(body.get("handoff")),
        language=language if isinstance(language := body.get("language"), str) else None,
    )


class RasaClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, timeout: float, token: str | None) -> None:
        self._session = session
        self._url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # No token: Rasa answers 401 to every turn, and the shopper is told the bot is away.
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def turn(self, sender: str, text: str, metadata: Mapping[str, Any]) -> BotTurn:
        payload = {"sender": sender, "message": text, "metadata": dict(metadata)}
        try:
            async with self._session.post(
                self._url + WEBHOOK_PATH, json=payload, timeout=self._timeout, headers=self._headers
            ) as response:
                if response.status != 200:
                    detail = (await response.text())[:200]
                    failure = BotBusy if response.status == 503 else BotUnavailable
                    raise failure(f"Rasa answered {response.status}: {detail}")
                body = await response.json()
        except asyncio.TimeoutError as exc:
            raise BotUnavailable(f"Rasa did not answer within {self._timeout.total}s") from exc
        except aiohttp.ClientError as exc:
            raise BotUnavailable(f"Rasa unreachable: {exc}") from exc
        if not isinstance(body, Mapping):
            raise BotUnavailable("Rasa answered with a body that is not a JSON object")
        return parse_turn(body)

    async def is_up(self) -> bool:
        try:
            async with self._session.get(self._url + "/", timeout=aiohttp.ClientTimeout(total=2)) as response:
                return response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False
