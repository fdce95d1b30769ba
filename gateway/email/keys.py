"""The e-mail room's own Redis keys, built on gateway/keys/'s prefix.

A Message-ID can hold any printable character and be 250 long: keys name its digest.
What storechat sent is found by `keys.sent_message("email", <Message-ID>)`, the map every
messaging channel keeps of its provider ids (gateway/messaging/outbound_send.py).
"""

import hashlib
from collections.abc import Iterable

from core.types import Event
from gateway.keys import PREFIX


def _digest(message_id: str) -> str:
    return hashlib.sha256(message_id.encode("utf-8", "surrogateescape")).hexdigest()[:40]


def thread(conversation_id: str) -> str:
    """Hash of the conversation's mail thread: subject, chain (its Message-IDs in order),
    answers (the shopper's latest), token (its reply+<token>@ address)."""
    return f"{PREFIX}:email:thread:{conversation_id}"


def reply_token(token: str) -> str:
    """The conversation a reply+<token>@ address belongs to."""
    return f"{PREFIX}:email:token:{token}"


def received(message_id: str) -> str:
    """JSON of an accepted mail's headers and whole text, for the inbox worker that answers it."""
    return f"{PREFIX}:email:received:{_digest(message_id)}"


def attachment(message_id: str, index: int) -> str:
    """One attachment of an accepted mail (base64), kept for the agent."""
    return f"{PREFIX}:email:attachment:{_digest(message_id)}:{index}"


def case_keys(conversation_id: str, events: Iterable[Event]) -> list[str]:
    """What an erased case's mails left beside it: the thread, and each mail's headers, text
    and attachments (gateway/privacy/forget.py deletes them with the case)."""
    found = [thread(conversation_id)]
    for event in events:
        mail = event.data.get("email")
        if isinstance(mail, dict) and isinstance(message_id := mail.get("message_id"), str):
            found.append(received(message_id))
            found += [attachment(message_id, index) for index, _ in enumerate(event.data.get("attachments") or ())]
    return found
