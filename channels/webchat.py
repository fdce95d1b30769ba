"""Web chat: the Rasa Socket.IO protocol, parsed into and rendered from storechat types.

Protocol (compatible with Rasa's socketio channel and its web widgets):
client `session_request {session_id, locale?, extensions?}` → server `session_confirm
<session_id>` (a plain string, as Rasa sends it); client `user_uttered {message, session_id,
metadata? | customData?, message_id?}`; server `bot_uttered`.

A client that declares no extension gets `bot_uttered` with exactly Rasa's keys, as Rasa's
socketio output channel sends them: `{text}`, `{text, quick_replies}` or `{attachment}` (a
message with text and an image comes as two). An agent's message to such a client names
the agent in its text ("Anna: …") where the shop wants it (STORECHAT_PLAIN_AGENT_NAMES).

Extensions a client declares in `session_request` (unknown names are ignored):
- `author`: `bot_uttered` is one payload with storechat's additions: `author` (bot, agent,
  system), `agent_name`, `id` (the case event id) and `at` (ms);
- `typing`: server `agent_typing {typing, agent_name}` while a person in the console types.
Every client may send `history_request` → `history {messages}` (the shopper's own items
carry their `message_id`) and `typing {typing}` (shown in the agent's console), and gets
`storechat_error {code, message}` for anything refused (`rate_limited` adds `retry_after`,
in seconds, and `event`, the event that was refused).

A `user_uttered` that asks for a Socket.IO acknowledgement gets one as soon as the message is
stored, before the bot answers: `{status: "stored", message_id, id}` (`duplicate: true` for a
`message_id` seen before, stored once), `{status: "refused", code, message, retry_after?}`,
or `{status: "ignored"}` for one without a `message` (rasa-webchat's init payload), which
is otherwise ignored quietly.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.text import replace_lone_surrogates
from core.types import Author, Event, EventKind, OutgoingMessage

# A web session id is the shopper's bearer secret for their conversation, so it
# must be unguessable: ids that do not look random are replaced by new ones.
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# A client's id of a shopper message (a UUID, say): what makes a resend recognisable.
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class InvalidPayload(ValueError):
    """A client event the gateway refuses; `code` is sent back to the client."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


# The extensions of the protocol a client may declare (see above); other names are ignored.
AUTHOR = "author"
TYPING = "typing"
EXTENSIONS = frozenset({AUTHOR, TYPING})
# More names than this in one session_request are not read (a client would not send them).
MAX_EXTENSIONS = 16


@dataclass(frozen=True, slots=True)
class SessionRequest:
    session_id: str
    is_new: bool
    locale: object
    # What the client declared it understands, of EXTENSIONS; empty for a plain Rasa widget.
    extensions: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class UserUttered:
    text: str
    session_id: str | None
    metadata: Mapping[str, Any]
    # The client's own id of the message (storechat's widget sends one): a resend is not stored twice.
    message_id: str | None = None


def new_session_id() -> str:
    return secrets.token_hex(16)


def parse_session_request(data: object) -> SessionRequest:
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise InvalidPayload("invalid_payload", "session_request must be an object")
    requested = data.get("session_id")
    extensions = parse_extensions(data.get("extensions"))
    if isinstance(requested, str) and _SESSION_ID.match(requested):
        return SessionRequest(session_id=requested, is_new=False, locale=data.get("locale"), extensions=extensions)
    return SessionRequest(session_id=new_session_id(), is_new=True, locale=data.get("locale"), extensions=extensions)


def parse_extensions(declared: object) -> frozenset[str]:
    """The known extensions among what a client declared; anything else (a later version's
    names, a wrong type) leaves the client a plain Rasa client for it, not an error."""
    if not isinstance(declared, list):
        return frozenset()
    return frozenset(name for name in declared[:MAX_EXTENSIONS] if isinstance(name, str) and name in EXTENSIONS)


# What a client's metadata may hold: rasa-webchat's customData is a flat object; nothing
# a widget sends needs more, and what is deeper or bigger is refused before anything reads it.
MAX_METADATA_DEPTH = 4
MAX_METADATA_ITEMS = 100


def clean_text(text: str) -> str:
    """`text` with lone surrogates (JSON's "\\ud800", not UTF-8) replaced by U+FFFD."""
    return replace_lone_surrogates(text)


def _clean_metadata(value: object, depth: int, budget: list[int]) -> Any:
    """A copy of JSON-decoded `value` with clean strings, or InvalidPayload when too deep or big."""
    budget[0] -= 1
    if depth > MAX_METADATA_DEPTH or budget[0] < 0:
        raise InvalidPayload("invalid_payload", "metadata is nested too deeply or has too many entries")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        return {clean_text(str(key)): _clean_metadata(item, depth + 1, budget) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean_metadata(item, depth + 1, budget) for item in value]
    return value


def parse_user_uttered(data: object, *, max_chars: int) -> UserUttered | None:
    """The shopper's message; None for one without `message` at all (rasa-webchat's init)."""
    if not isinstance(data, Mapping):
        raise InvalidPayload("invalid_payload", "user_uttered must be an object")
    message = data.get("message")
    if message is None:
        return None
    if not isinstance(message, str):
        raise InvalidPayload("invalid_payload", "user_uttered needs a string 'message'")
    text = clean_text(message.strip())
    if not text:
        raise InvalidPayload("empty_message", "the message is empty")
    if len(text) > max_chars:
        raise InvalidPayload("message_too_long", f"the message is longer than {max_chars} characters")
    session_id = data.get("session_id")
    message_id = data.get("message_id")
    if message_id is not None and not (isinstance(message_id, str) and _MESSAGE_ID.match(message_id)):
        raise InvalidPayload("invalid_payload", "message_id must be 8 to 64 letters, digits, '-' or '_'")
    metadata = data.get("metadata") or data.get("customData") or {}
    if not isinstance(metadata, Mapping):
        raise InvalidPayload("invalid_payload", "metadata must be an object")
    return UserUttered(
        text=text,
        session_id=session_id if isinstance(session_id, str) else None,
        metadata=_clean_metadata(metadata, 0, [MAX_METADATA_ITEMS]),
        message_id=message_id,
    )


def _quick_replies(message: OutgoingMessage) -> list[dict[str, str]]:
    return [{"content_type": "text", "title": reply.title, "payload": reply.payload}
            for reply in message.quick_replies]


def _image(url: str) -> dict[str, Any]:
    return {"type": "image", "payload": {"src": url}}


def render_rich(message: OutgoingMessage, event: Event | None = None) -> dict[str, Any]:
    """The `bot_uttered` of a client that declared `author`: one payload with who wrote it,
    and (once it is on the case) the case event's id and time."""
    payload: dict[str, Any] = {"text": message.text, "author": message.author.value}
    if message.quick_replies:
        payload["quick_replies"] = _quick_replies(message)
    if message.image_url:
        payload["attachment"] = _image(message.image_url)
    if message.agent_name:
        payload["agent_name"] = message.agent_name
    if event is not None:
        payload["id"] = event.id
        payload["at"] = int(event.at * 1000)
    return payload


def render_plain(message: OutgoingMessage, *, agent_names: bool = True) -> list[dict[str, Any]]:
    """The `bot_uttered` payloads of a plain Rasa widget, keyed exactly as Rasa's socketio
    channel sends them (a widget renders nothing else): the text, with its quick replies,
    then the image on its own. `agent_names`: an agent's text starts with their name."""
    payloads: list[dict[str, Any]] = []
    text = message.text
    if text and agent_names and message.author is Author.AGENT and message.agent_name:
        text = f"{message.agent_name}: {text}"
    if text:
        payloads.append({"text": text, "quick_replies": _quick_replies(message)} if message.quick_replies
                        else {"text": text})
    if message.image_url:
        payloads.append({"attachment": _image(message.image_url)})
    return payloads


def render_history(events: Iterable[Event]) -> list[dict[str, Any]]:
    """What the shopper may see of their history: the messages, nothing internal."""
    messages = []
    for event in events:
        if event.kind is not EventKind.MESSAGE or event.author is None:
            continue
        text = event.data.get("quick_reply_title") or event.text or ""
        item: dict[str, Any] = {"author": event.author.value, "text": text, "at": int(event.at * 1000)}
        if event.author is Author.SHOPPER:
            # What a widget's resend after a lost acknowledgement is recognised by.
            if message_id := event.data.get("client_message_id"):
                item["message_id"] = message_id
        else:
            if replies := event.data.get("quick_replies"):
                item["quick_replies"] = replies
            if name := event.data.get("agent_name"):
                item["agent_name"] = name
        messages.append(item)
    return messages
