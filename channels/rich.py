"""Rich content degraded to what a channel can show, in one place.

The bot and the agents write one `OutgoingMessage` (text, quick replies, an image);
each channel shows what it can of it: buttons where it has them and their limits
allow, numbered options a shopper answers with the number where it has none, and
long texts split into parts the channel accepts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gateway.types import QuickReply

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
# "2", "2.", "(2)", "Nr. 2", " 2 " — how people on a phone answer a numbered list.
_CHOICE = re.compile(r"^\s*(?:nr\.?\s*|no\.?\s*|#)?\(?([1-9][0-9]?)\)?[.)]?\s*$", re.IGNORECASE)


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, an ellipsis showing it was cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_text(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` characters, cut between paragraphs, lines,
    sentences or words where possible (a tracking link is never cut in two)."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    for separator in ("\n\n", "\n", _SENTENCE_END, " "):
        pieces = separator.split(text) if isinstance(separator, re.Pattern) else text.split(separator)
        joiner = "\n\n" if separator == "\n\n" else "\n" if separator == "\n" else " "
        if len(pieces) > 1 and all(len(piece) <= limit for piece in pieces):
            current = ""
            for piece in pieces:
                candidate = f"{current}{joiner}{piece}" if current else piece
                if len(candidate) <= limit:
                    current = candidate
                else:
                    parts.append(current)
                    current = piece
            parts.append(current)
            return [part.strip() for part in parts if part.strip()]
    # Some piece is longer than the limit even at word level: split the long ones on
    # their own, keeping the breaks that worked around them.
    for paragraph in text.split("\n"):
        words = paragraph.split(" ")
        current = ""
        for word in words:
            while len(word) > limit:
                if current:
                    parts.append(current)
                    current = ""
                parts.append(word[:limit])
                word = word[limit:]
            candidate = f"{current} {word}" if current else word
            if len(candidate) <= limit:
                current = candidate
            else:
                parts.append(current)
                current = word
        if current:
            parts.append(current)
    return [part.strip() for part in parts if part.strip()]


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
