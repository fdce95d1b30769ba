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


# The most attachments of one mail kept (the rest: named on the case, not kept).
ATTACHMENTS_KEPT = 20


def stored_as(sender: str, message_id: str) -> str:
    """What names one accepted mail: its sender and its Message-ID (a Message-ID alone is the
    sender's to choose, so another sender's mail can reuse it)."""
    return _digest(f"{sender.lower()}\0{message_id}")


def delivery(mail: str) -> str:
    """Set (NX) when the mail `stored_as(...)` is first accepted: its redeliveries are dropped."""
    return f"{PREFIX}:email:delivery:{mail}"


def received(mail: str) -> str:
    """JSON of an accepted mail's headers and whole text, for the inbox worker that answers it."""
    return f"{PREFIX}:email:received:{mail}"


def attachment(mail: str, index: int) -> str:
    """One attachment of an accepted mail (base64), kept for the agent."""
    return f"{PREFIX}:email:attachment:{mail}:{index}"


def attachment_bytes(day: int) -> str:
    """Counter of the attachment bytes kept on one UTC day (days since the epoch)."""
    return f"{PREFIX}:email:attachment-bytes:{day}"


def case_keys(conversation_id: str, events: Iterable[Event]) -> list[str]:
    """What an erased case's mails left beside it: the thread, and each mail's headers, text
    and every attachment key it can have (gateway/privacy/forget.py deletes them with the case)."""
    found = [thread(conversation_id)]
    for event in events:
        mail = event.data.get("email")
        stored = mail.get("stored_as") if isinstance(mail, dict) else event.data.get("stored_as")
        if isinstance(stored, str):
            found.append(received(stored))
            found += [attachment(stored, index) for index in range(ATTACHMENTS_KEPT)]
    return found
