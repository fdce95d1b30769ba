"""The gateway's way into Rasa: one synchronous JSON webhook.

Registered in credentials.yml as `storechat_connector.StorechatInput` (Rasa runs with
cwd `bot/` and `PYTHONPATH=bot`), the only channel there: Rasa's own REST and Socket.IO
channels stay off, so nothing but the gateway can speak for a conversation.

    GET  /webhooks/storechat/          → {"status": "ok"}
    POST /webhooks/storechat/webhook   {"sender": str, "message": str,
                                        "metadata": {"locale": "de", ...}?}
         with `Authorization: Bearer $STORECHAT_RASA_TOKEN` (the gateway's secret)
      401 → {"error": "unauthorized"} without it (and for every call while the
            variable is unset: the connector fails closed)
      200 → {"messages": [{"text"?, "buttons"?: [{"title", "payload"}], "image"?,
                           "attachment"?, "custom"?}, ...],
             "intent": {"name", "confidence"} | null,
             "retrieval": {"name": "faq/returns", "confidence"} | null,
             "handoff": {"team", "reason"} | null,
             "language": "de" | "en" | null}
      400 → {"error": "..."} on a malformed body
      503 → {"error": "...", "retry": true} (Retry-After: 1) if Rasa's Redis (tracker or
            lock store) was out of reach: nothing of the turn was kept, so it may be sent again
      500 → {"error": "..."} if Rasa failed to handle the message otherwise

Unlike Rasa's RestInput, the reply also carries what NLU understood, so the gateway can
count deflections without a second call, and the language the bot now speaks with the
shopper (its `language` slot), so the gateway's own texts follow it on channels that send
no locale (SMS, Messenger, WhatsApp).

The handoff signal: a custom action that needs a person ends its turn with
`dispatcher.utter_message(json_message={"handoff": {"team": ..., "reason": ...}})`
(bot/actions/handoff.py). That message is not for the shopper: it is lifted out of
`messages` into the reply's `handoff` field, and the gateway queues the conversation
for that team.
"""

from __future__ import annotations

import hmac
import inspect
import json
import os
import re
import uuid
from typing import Any, Awaitable, Callable, Optional

import structlog
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.lock_store import LockError
from rasa.shared.core.events import UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sanic.response import HTTPResponse

from language_from_metadata import LANGUAGE_ENTITY, language_from_locale, supported_languages

structlogger = structlog.get_logger()

TOKEN_VARIABLE = "STORECHAT_RASA_TOKEN"

# Keys of Rasa's collected bot messages that the gateway understands.
_MESSAGE_KEYS = ("text", "image", "attachment", "custom")


def store_unavailable(exc: BaseException) -> bool:
    """Whether a failed turn failed because Rasa's Redis was out of reach (a restart, a
    moment's outage) or the conversation's lock could not be had: then the tracker kept
    nothing of the turn, and the gateway may send the same message again."""
    seen: set[int] = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, (RedisConnectionError, RedisTimeoutError, LockError)):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class BadRequest(ValueError):
    """The request body does not follow the contract above."""


def parse_body(body: Any) -> tuple[str, str, dict[str, Any]]:
    """(sender, message, metadata) from the decoded JSON body, or BadRequest."""
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    sender, message = body.get("sender"), body.get("message")
    metadata = body.get("metadata") or {}
    if not isinstance(sender, str) or not sender:
        raise BadRequest("`sender` must be a non-empty string")
    if not isinstance(message, str):
        raise BadRequest("`message` must be a string")
    if not isinstance(metadata, dict):
        raise BadRequest("`metadata` must be an object")
    return sender, message, metadata


def authorised(header: Optional[str], token: str) -> bool:
    """Whether an Authorization header carries the bearer `token` (constant time; an
    empty token authorises nothing)."""
    if not token:
        return False
    given = (header or "").encode("utf-8", "replace")
    return hmac.compare_digest(given, f"Bearer {token}".encode("utf-8"))


def outgoing_message(collected: dict[str, Any]) -> dict[str, Any]:
    """One collected bot message in the connector's shape (no recipient, clean buttons)."""
    out = {key: collected[key] for key in _MESSAGE_KEYS if collected.get(key) is not None}
    buttons = collected.get("buttons")
    if buttons:
        out["buttons"] = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in buttons
        ]
    return out


# Rasa's payload syntax: /intent, /intent@0.9, /intent{"entity": "value"}.
_PAYLOAD = re.compile(r"^(?P<head>/[^{@\s]+(?:@[0-9.]+)?)(?P<entities>\{.*\})?$", re.DOTALL)


def payload_with_language(text: str, language: Optional[str]) -> str:
    """A quick-reply payload that also carries the shopper's language as an entity.

    Rasa answers a payload ("/faq_topic{...}") without its NLU pipeline, so the
    language component never sees it; without this a chat opened by a quick reply
    would answer in the default language. Anything that is not a payload is unchanged.
    """
    match = _PAYLOAD.match(text.strip())
    if match is None or language is None:
        return text
    entities: Any = {}
    if match["entities"]:
        try:
            entities = json.loads(match["entities"])
        except ValueError:
            return text  # Rasa will log it as an unparseable payload
        if not isinstance(entities, dict):
            return text
    entities.setdefault(LANGUAGE_ENTITY, language)
    return match["head"] + json.dumps(entities, ensure_ascii=False)


def split_handoff(
    collected: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], Optional[dict[str, str]]]:
    """(messages for the shopper, the turn's handoff signal or None; the last one wins)."""
    messages: list[dict[str, Any]] = []
    handoff: Optional[dict[str, str]] = None
    for message in collected:
        custom = message.get("custom")
        signal = custom.get("handoff") if isinstance(custom, dict) else None
        if isinstance(signal, dict):
            handoff = {
                "team": str(signal.get("team") or "general"),
                "reason": str(signal.get("reason") or "unspecified"),
            }
        else:
            messages.append(message)
    return messages, handoff


def understanding(parse_data: dict[str, Any]) -> dict[str, Any]:
    """The `intent` and `retrieval` fields from a UserUttered's parse data."""
    intent = parse_data.get("intent") or {}
    name = intent.get("name")
    result: dict[str, Any] = {
        "intent": (
            {"name": name, "confidence": float(intent.get("confidence") or 0.0)}
            if name
            else None
        ),
        "retrieval": None,
    }
    # The ResponseSelector's top-ranked sub-intent for a retrieval intent ("faq").
    selected = (parse_data.get("response_selector") or {}).get(name or "")
    prediction = (selected or {}).get("response") or {}
    if prediction.get("intent_response_key"):
        result["retrieval"] = {
            "name": prediction["intent_response_key"],
            "confidence": float(prediction.get("confidence") or 0.0),
        }
    return result


class StorechatInput(InputChannel):
    """Synchronous JSON webhook for the storechat gateway."""

    def __init__(self, token: Optional[str] = None) -> None:
        self._languages = supported_languages()
        self._token = os.environ.get(TOKEN_VARIABLE, "") if token is None else token
        if not self._token:
            structlogger.error("storechat.token.missing", variable=TOKEN_VARIABLE)

    @classmethod
    def name(cls) -> str:
        return "storechat"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        module = inspect.getmodule(self)
        webhook = Blueprint(
            f"custom_webhook_{type(self).__name__}", module.__name__ if module else None
        )

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not authorised(request.headers.get("Authorization"), self._token):
                return response.json({"error": "unauthorized"}, status=401,
                                     headers={"WWW-Authenticate": "Bearer"})
            try:
                sender, text, metadata = parse_body(_json_or_none(request))
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)

            language = language_from_locale(metadata.get("locale"), self._languages)
            text = payload_with_language(text, language)
            collector = CollectingOutputChannel()
            # Our own id lets us find *this* turn in the tracker even if another
            # message from the same sender was handled right after it.
            message_id = uuid.uuid4().hex
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender,
                        input_channel=self.name(),
                        message_id=message_id,
                        metadata=metadata,
                    )
                )
            except Exception as exc:
                # Nothing collected yet: the failure came before the bot acted (taking the lock,
                # reading the tracker), so nothing of the turn was kept. Once the bot has spoken,
                # the tracker may have been saved (Rasa's lock cleanup runs after that): not retried.
                if store_unavailable(exc) and not collector.messages:
                    structlogger.warning("storechat.message.store_unavailable", sender=sender, error=repr(exc))
                    return response.json({"error": "the bot's store is unavailable for a moment", "retry": True},
                                         status=503, headers={"Retry-After": "1"})
                structlogger.exception("storechat.message.failure", sender=sender)
                return response.json({"error": "the bot failed to handle the message"}, status=500)

            try:
                parse_data, language = await _turn_facts(request, sender, message_id)
            except Exception:  # the turn is done: its reply matters more than the labels
                structlogger.exception("storechat.parse_data.unavailable", sender=sender)
                parse_data, language = None, None
            messages, handoff = split_handoff(collector.messages)
            return response.json(
                {
                    "messages": [outgoing_message(m) for m in messages],
                    **understanding(parse_data or {}),
                    "handoff": handoff,
                    "language": language,
                }
            )

        return webhook


def _json_or_none(request: Request) -> Any:
    try:
        return request.json
    except Exception:  # sanic raises its own BadRequest on invalid JSON
        return None


async def _turn_facts(
    request: Request, sender: str, message_id: str
) -> tuple[Optional[dict[str, Any]], Optional[str]]:
    """What NLU made of this message, and the language slot after the turn."""
    agent = request.app.ctx.agent
    tracker = await agent.tracker_store.retrieve(sender)
    if tracker is None:
        return None, None
    language = tracker.get_slot(LANGUAGE_ENTITY)
    language = language if isinstance(language, str) else None
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered) and event.message_id == message_id:
            return dict(event.parse_data), language
    return None, language
