"""E-mail: an RFC 5322 message in, storechat's types out; storechat's answers out as mail.

Inbound mail comes from the gateway's SMTP listener (gateway/email/listener.py), which
hands the raw bytes to `parse`. What the bot and the agent read (`Mail.text`) is the
shopper's new words only (channels/email_text.py): quoted history ("On … wrote:", "Am … schrieb …:", "> " lines,
Outlook's "-----Original Message-----" and "Von: … Gesendet: …" blocks) and the signature
(after the "-- " line) are cut off; the whole text (`Mail.body`) stays on the case.
Auto-replies and bounces (`Mail.automatic` says why) must never be answered: two robots
answering each other is a mail loop.

Outbound: `compose` writes one multipart/alternative mail (plain text and the same as
simple, escaped HTML) that threads in the shopper's mail client: its own Message-ID,
In-Reply-To and References naming the shopper's mail, "Re: " and the subject, and a
Reply-To of reply+<token>@<domain> so the answer finds its conversation even when the
shopper's client drops the headers. The adapter's requests carry the finished mail as
bytes; the gateway's SMTP relay client sends them (gateway/email/delivery.py).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import formatdate, getaddresses, make_msgid, parseaddr

from channels.base import Acknowledgement, InvalidSignature, MalformedPayload, ProviderRequest, Received, WebhookRequest
from channels.email_text import html_text, reply_text
from channels.rich import numbered_options
from core.types import Author, Channel, OutgoingMessage

# The body kept on the case, and the reply text the bot and agent read, at most.
BODY_CHARS = 20_000
TEXT_CHARS = 4_000
# References kept on an outgoing mail (RFC 5322 allows trimming the middle of the chain).
REFERENCES_KEPT = 10
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
# Headers unfolded up to SMTP's own line limit: a long Message-ID stays on its header's line,
# where every client reads it (folded, some keep the leading space).
_POLICY = policy.SMTP.clone(max_line_length=998)
_PREFIX = re.compile(r"^\s*((re|aw|antw|fwd?|wg)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)

# --- what an automatic mail looks like ------------------------------------------------

_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|automatische antwort|out of (the )?office|"
    r"abwesenheit|abwesenheitsnotiz|i am out of|ich bin (bis|vom|nicht)|urlaubs?(notiz|abwesenheit)|"
    r"delivery status notification|undeliver(ed|able)|mail delivery (failed|system)|returned mail|"
    r"unzustellbar|nicht zustellbar|failure notice)", re.IGNORECASE)
_SYSTEM_SENDERS = frozenset({"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply"})
_BULK = frozenset({"bulk", "junk", "list", "auto_reply"})


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Mail:
    """One inbound mail, read."""

    message_id: str  # with its angle brackets, as headers write it
    sender: str  # the address, lower-cased
    sender_name: str | None
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str  # the new words: what the bot and the agent read
    body: str  # the whole text, quoted history included: what the case keeps
    attachments: tuple[Attachment, ...]
    # Why it is an auto-reply or a bounce (never answered), or None.
    automatic: str | None
    # A delivery report saying a mail did not arrive; `references` then names that mail.
    bounce: bool = False


def parse(raw: bytes, *, envelope_from: str | None = None) -> Mail:
    """Read a mail as it came over SMTP. `envelope_from` is MAIL FROM ("" for a bounce's <>)."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        name, sender = parseaddr(str(message.get("from", "")))
    except (ValueError, TypeError, IndexError, LookupError) as error:
        raise MalformedPayload(f"not a readable mail: {error!r}") from error
    if "@" not in sender:
        sender = (envelope_from or "").strip()
    if "@" not in sender:
        raise MalformedPayload("the mail names no sender address")
    body = _body_text(message)
    message_ids = _MESSAGE_ID.findall(str(message.get("message-id", "")))
    # A mail without a Message-ID still gets one that a redelivery of it shares.
    message_id = message_ids[0] if message_ids else f"<{hashlib.sha256(raw).hexdigest()[:40]}@storechat.invalid>"
    in_reply_to = _MESSAGE_ID.findall(str(message.get("in-reply-to", "")))
    references = _MESSAGE_ID.findall(str(message.get("references", "")))
    bounce = _is_bounce(message)
    if bounce:
        references += [found for found in _reported_ids(message) if found not in references]
    return Mail(
        message_id=message_id, sender=sender.strip().lower(), sender_name=name.strip() or None,
        subject=" ".join(str(message.get("subject", "")).split())[:300],
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=tuple(references)[-50:], text=reply_text(body)[:TEXT_CHARS], body=body[:BODY_CHARS],
        attachments=tuple(_attachments(message)), automatic=automatic(message, envelope_from), bounce=bounce,
    )


def _is_bounce(message: EmailMessage) -> bool:
    if message.get_content_type() == "multipart/report":
        return str(message.get_param("report-type") or "").lower() == "delivery-status"
    sender = parseaddr(str(message.get("from", "")))[1].lower()
    return sender.partition("@")[0] in ("mailer-daemon", "postmaster")


def _reported_ids(message: EmailMessage) -> list[str]:
    """The Message-ID of the mail a delivery report is about (in its returned headers)."""
    found: list[str] = []
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                found += _MESSAGE_ID.findall(str(inner.get("message-id", "")))
        elif part.get_content_type() == "text/rfc822-headers":
            headers = part.get_payload(decode=True)
            text = headers.decode("utf-8", "replace") if isinstance(headers, bytes) else str(headers)
            match = re.search(r"^message-id:\s*(<[^<>\s]+>)", text, re.IGNORECASE | re.MULTILINE)
            if match:
                found.append(match.group(1))
    return found


def automatic(message: Message, envelope_from: str | None = None) -> str | None:
    """Why the mail was sent by a machine (an auto-reply, a bounce, a mailing list), or None."""
    auto_submitted = str(message.get("auto-submitted", "")).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for header in ("x-autoreply", "x-autorespond", "x-autoresponse", "list-id"):
        if message.get(header) is not None:
            return f"{header} header"
    if str(message.get("precedence", "")).strip().lower() in _BULK:
        return f"Precedence: {str(message.get('precedence')).strip().lower()}"
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return "empty envelope sender (a bounce)"
    if str(message.get("return-path", "")).strip() == "<>":
        return "Return-Path <> (a bounce)"
    sender = parseaddr(str(message.get("from", "")))[1].lower()
    if sender.partition("@")[0] in _SYSTEM_SENDERS:
        return f"sent by {sender}"
    if message.get_content_type() == "multipart/report":
        return f"a {message.get_param('report-type') or 'delivery'} report"
    if _AUTO_SUBJECT.match(str(message.get("subject", ""))):
        return "an automatic reply's subject"
    return None


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AttributeError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    text = str(content).replace("\r\n", "\n")
    return html_text(text) if part.get_content_type() == "text/html" else text


def _attachments(message: EmailMessage) -> list[Attachment]:
    found = []
    for part in message.iter_attachments():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        found.append(Attachment(filename=(part.get_filename() or "attachment")[:200],
                                content_type=part.get_content_type(), size=len(data), data=data))
    return found


# --- outbound ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MailSettings:
    address: str  # the shop's sender, e.g. service@nordlicht-home.example
    name: str  # the sender's display name
    reply_domain: str  # reply+<token>@<reply_domain> comes back to the listener

    def __post_init__(self) -> None:
        if "@" not in self.address or not self.reply_domain or "@" in self.reply_domain:
            raise ValueError(f"an e-mail sender needs an address and a reply domain, not {self.address!r}, "
                             f"{self.reply_domain!r}")

    def reply_address(self, token: str) -> str:
        return f"reply+{token}@{self.reply_domain}"

    def token_of(self, recipient: str) -> str | None:
        """The reply token of a reply+<token>@ address of ours, or None."""
        local, _, domain = recipient.strip().strip("<>").rpartition("@")
        base, plus, token = local.partition("+")
        if not plus or base.lower() != "reply" or domain.lower() != self.reply_domain.lower():
            return None
        return token if TOKEN.fullmatch(token) else None


@dataclass(frozen=True, slots=True)
class Thread:
    """Where an outgoing mail goes in the shopper's mail client, decided when it is queued."""

    message_id: str
    subject: str
    locale: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    reply_token: str | None = None

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """As the outbound queue keeps it (gateway/messaging/outbound_send.py `Plan.headers`)."""
        pairs = [("message-id", self.message_id), ("subject", self.subject), ("locale", self.locale)]
        if self.in_reply_to:
            pairs.append(("in-reply-to", self.in_reply_to))
        if self.references:
            pairs.append(("references", " ".join(self.references)))
        if self.reply_token:
            pairs.append(("reply-token", self.reply_token))
        return tuple(pairs)

    @classmethod
    def of(cls, pairs: Sequence[tuple[str, str]]) -> Thread:
        given = dict(pairs)
        return cls(message_id=given["message-id"], subject=given.get("subject", ""), locale=given.get("locale", "de"),
                   in_reply_to=given.get("in-reply-to"), references=tuple(given.get("references", "").split()),
                   reply_token=given.get("reply-token"))


def reply_subject(subject: str) -> str:
    """"Re: " and the subject, without piling up "Re: AW: Re: ..."."""
    bare = _PREFIX.sub("", subject).strip()
    return f"Re: {bare}" if bare else "Re:"


def new_message_id(domain: str) -> str:
    return make_msgid(domain=domain)


def compose(settings: MailSettings, to: str, message: OutgoingMessage, thread: Thread, *,
            signature: str, at: float | None = None) -> EmailMessage:
    """The mail for one message to the shopper at `to`."""
    mail = EmailMessage(policy=_POLICY)
    mail["From"] = Address(display_name=settings.name, addr_spec=settings.address)
    mail["To"] = to
    mail["Subject"] = thread.subject
    mail["Date"] = formatdate(at)
    mail["Message-ID"] = thread.message_id
    if thread.in_reply_to:
        mail["In-Reply-To"] = thread.in_reply_to
    references = [*thread.references, *([thread.in_reply_to] if thread.in_reply_to else [])]
    references = list(dict.fromkeys(references))
    if references:
        # The first (the thread's root) and the latest: what clients thread by.
        mail["References"] = " ".join(references[:1] + references[1:][-(REFERENCES_KEPT - 1):])
    if thread.reply_token:
        mail["Reply-To"] = settings.reply_address(thread.reply_token)
    mail["Content-Language"] = thread.locale
    if message.author is not Author.AGENT:
        # RFC 3834: no auto-responder answers this; Exchange is asked not to send its own.
        mail["Auto-Submitted"] = "auto-replied" if thread.in_reply_to else "auto-generated"
        mail["X-Auto-Response-Suppress"] = "All"
    text = _plain(message, signature)
    mail.set_content(text)
    mail.add_alternative(_html(message, signature), subtype="html")
    return mail


def _words(message: OutgoingMessage) -> str:
    text = message.text
    if message.quick_replies:
        # No buttons in a mail: numbered options, answered with the number (channels/rich.py).
        text = numbered_options(text, message.quick_replies)
    if message.image_url:
        text = f"{text}\n\n{message.image_url}".strip()
    return text


def _plain(message: OutgoingMessage, signature: str) -> str:
    return f"{_words(message)}\n\n-- \n{signature}\n" if signature else f"{_words(message)}\n"


def _html(message: OutgoingMessage, signature: str) -> str:
    paragraphs = "".join(f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>"
                         for part in _words(message).split("\n\n") if part.strip())
    footer = (f'<p style="color:#555555">-- <br>{html.escape(signature).replace(chr(10), "<br>")}</p>'
              if signature else "")
    return f'<!DOCTYPE html><html><body style="font-family:sans-serif">{paragraphs}{footer}</body></html>\n'


def recipients(addresses: Sequence[str]) -> list[str]:
    """Addresses of RCPT TO or To/Cc headers, bare and lower-cased."""
    return [address.lower() for _, address in getaddresses(list(addresses)) if "@" in address]


_ACKNOWLEDGEMENT = Acknowledgement()


class EmailChannel:
    """The e-mail channel as `channels.base.ChannelAdapter`: mail arrives over SMTP, never
    as a webhook, so `verify` and `parse` refuse; `outgoing` renders the finished mail."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    @property
    def channel(self) -> Channel:
        return Channel.EMAIL

    @property
    def acknowledgement(self) -> Acknowledgement:
        return _ACKNOWLEDGEMENT

    def verify(self, request: WebhookRequest) -> None:
        raise InvalidSignature("e-mail arrives over SMTP, not as a webhook")

    def parse(self, request: WebhookRequest) -> list[Received]:
        raise MalformedPayload("e-mail arrives over SMTP, not as a webhook")

    def outgoing(self, address: str, message: OutgoingMessage, *, window_open: bool = True) -> list[ProviderRequest]:
        # Mail has no window; a mail without a thread of its own starts one.
        thread = Thread(message_id=new_message_id(self.settings.reply_domain), subject="", locale="de")
        return [self.request(address, message, thread, signature="")]

    def request(self, address: str, message: OutgoingMessage, thread: Thread, *, signature: str,
                at: float | None = None) -> ProviderRequest:
        mail = compose(self.settings, address, message, thread, signature=signature, at=at)
        headers: Mapping[str, str] = {"mail-from": self.settings.address, "rcpt-to": address,
                                      "message-id": thread.message_id}
        return ProviderRequest(method="SMTP", url=f"mailto:{address}", headers=headers, body=mail.as_bytes())

    def sent_ids(self, body: bytes) -> list[str]:
        # The relay client answers with the Message-ID it sent (gateway/email/delivery.py).
        message_id = body.decode("utf-8", "replace").strip()
        return [message_id] if _MESSAGE_ID.fullmatch(message_id) else []


__all__ = ["Attachment", "EmailChannel", "Mail", "MailSettings", "Thread", "automatic", "compose", "parse",
           "recipients", "reply_subject", "reply_text"]
