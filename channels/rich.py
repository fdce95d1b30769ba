"""Rich content degraded to what a channel can show, in one place.

The bot and the agents write one `OutgoingMessage` (text, quick replies, an image);
each channel shows what it can of it: buttons where it has them and their limits
allow, numbered options a shopper answers with the number where it has none, and
long texts split into parts the channel accepts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.types import OutgoingMessage, QuickReply

# From the coarsest break to the finest, with what joins two pieces again.
_BREAKS = (
    (re.compile(r"\n\s*\n"), "\n\n"),
    (re.compile(r"\n"), "\n"),
    (re.compile(r"(?<=[.!?…])\s+"), " "),
    (re.compile(r"\s+"), " "),
)
# "2", "2.", "(2)", "Nr. 2", " 2 " — how people on a phone answer a numbered list.
_CHOICE = re.compile(r"^\s*(?:nr\.?\s*|no\.?\s*|#)?\(?([1-9][0-9]?)\)?[.)]?\s*$", re.IGNORECASE)


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, an ellipsis showing it was cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_text(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` characters, cut between paragraphs, lines,
    sentences or words where possible (a tracking link is never cut in two unless it
    alone is longer than the limit)."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    for separator, joiner in _BREAKS:
        pieces = [piece for piece in separator.split(text) if piece.strip()]
        if len(pieces) < 2:
            continue
        parts: list[str] = []
        current = ""
        for piece in pieces:
            # A piece too long for one part is cut at the next finer break.
            for fragment in split_text(piece, limit) if len(piece) > limit else [piece.strip()]:
                candidate = f"{current}{joiner}{fragment}" if current else fragment
                if len(candidate) <= limit:
                    current = candidate
                else:
                    parts.append(current)
                    current = fragment
        parts.append(current)
        return [part for part in parts if part]
    return [text[start:start + limit] for start in range(0, len(text), limit)]


def numbered_options(text: str, replies: Sequence[QuickReply]) -> str:
    """Quick replies as a numbered list under the text, for channels without buttons."""
    if not replies:
        return text
    options = "\n".join(f"{number}) {reply.title}" for number, reply in enumerate(replies, start=1))
    return f"{text}\n\n{options}" if text else options


def chosen_option(text: str, offered: Sequence[QuickReply]) -> QuickReply | None:
    """The option a shopper picked by typing its number ("2", "2.", "(2)"), if any."""
    if not offered or not (match := _CHOICE.match(text)):
        return None
    number = int(match.group(1))
    return offered[number - 1] if 1 <= number <= len(offered) else None


def one_message(messages: Sequence[OutgoingMessage]) -> OutgoingMessage:
    """A turn's messages as one (a mail): the texts as paragraphs, every quick reply under
    them, the first picture; the first message's author."""
    first = messages[0]
    return OutgoingMessage(
        text="\n\n".join(message.text.strip() for message in messages if message.text.strip()),
        author=first.author,
        quick_replies=tuple(reply for message in messages for reply in message.quick_replies),
        image_url=next((message.image_url for message in messages if message.image_url), None),
        agent_name=first.agent_name,
    )
