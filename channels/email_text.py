"""What a person wrote in a mail (channels/email.py): the reply without the quoted history
and the signature, and an HTML-only mail read as text.

Mail clients quote what they answer in their own ways: Gmail and Apple Mail under
"On … wrote:" (German: "Am … schrieb …:"), with "> " before each quoted line; Outlook under
a rule and a "Von: … Gesendet: …" block, or "-----Original Message-----". A signature
starts at the "-- " line (RFC 3676), or is a phone's "Sent from my iPhone".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html.parser import HTMLParser

# --- where the quoted history starts --------------------------------------------------

_QUOTE_HEADERS = (
    re.compile(r"^\s*On\b.{1,300}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Am\b.{1,300}\bschrieb\b.{0,300}:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Le\b.{1,300}\ba écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|originalnachricht|"
               r"forwarded message|weitergeleitete nachricht)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),
)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(von|from)\s*:\*?\s", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^\s*\*?(gesendet|sent|datum|date)\s*:\*?\s", re.IGNORECASE)
_MOBILE_SIGNATURE = re.compile(r"^\s*(sent from my|von meinem|gesendet von)\b.{0,60}$", re.IGNORECASE)


def reply_text(body: str) -> str:
    """The shopper's new words: the body before the quoted history and the signature."""
    lines = body.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        joined = f"{line} {lines[index + 1]}" if index + 1 < len(lines) else line
        if any(header.match(line) or header.match(joined) for header in _QUOTE_HEADERS):
            break
        if _OUTLOOK_FROM.match(line) and any(_OUTLOOK_SENT.match(later) for later in lines[index + 1:index + 4]):
            break
        if line.rstrip("\r") in ("-- ", "--") or _MOBILE_SIGNATURE.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


class _TextOfHtml(HTMLParser):
    """The words of an HTML-only mail; a quoted mail (blockquote) left out."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Sequence[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head", "blockquote"):
            self._skip += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head", "blockquote"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(markup: str) -> str:
    reader = _TextOfHtml()
    reader.feed(markup)
    reader.close()
    text = "".join(reader.parts)
    return re.sub(r"\n\s*\n+", "\n\n", re.sub(r"[ \t\xa0]+", " ", text)).strip()
