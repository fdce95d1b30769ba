"""The SMTP listener: where the shop's mail comes in (its MX, or a forward to it).

Not an open relay: RCPT TO is taken only for the shop's address and its reply+<token>@
addresses (anything else: 550). Each mail is read (channels/email.py) and stored on the
e-mail inbox (gateway/messaging/inbox.py) before it is acknowledged with 250, so the
sending server hands it over quickly and a gateway that dies after the 250 loses nothing;
a mail its sender sent before with the same Message-ID is acknowledged and dropped before
anything of it is written (another sender's mail reusing the Message-ID is a mail of its
own). With Redis away the answer is 451: the sending server tries again later, as SMTP servers do.

What the inbox entry does not carry is kept beside it for the worker: the subject and
threading headers, the whole text (quoted history included, for the case) and the
attachments — each up to ATTACHMENT_BYTES, base64 in Redis for ATTACHMENT_SECONDS, within
a daily byte budget for all mail (STORECHAT_EMAIL_ATTACHMENT_BYTES_PER_DAY); a larger one,
one beyond the budget and an automatic mail's are named on the case, not kept. The
listener's own size limit (STORECHAT_SMTP_MAX_BYTES) bounds a mail.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import logging
import ssl
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from redis.asyncio import Redis
from redis.exceptions import RedisError

from channels.base import Inbound, MalformedPayload, Media
from channels.email import Mail, MailSettings, parse
from core.types import Channel, Clock
from gateway.email import keys as email_keys
from gateway.limits.limiter import Limiter
from gateway.messaging import inbox

log = logging.getLogger(__name__)

ATTACHMENT_BYTES = 5 * 1024 * 1024
ATTACHMENTS_KEPT = email_keys.ATTACHMENTS_KEPT
ATTACHMENT_SECONDS = 30 * 24 * 3600
# The attachment bytes kept in Redis per UTC day, unless the settings say otherwise
# (STORECHAT_EMAIL_ATTACHMENT_BYTES_PER_DAY); beyond it an attachment is named, not kept.
ATTACHMENT_BYTES_PER_DAY = 200 * 1000 * 1000
DAY_SECONDS = 24 * 3600
# An SMTP client that says nothing for this long is hung up on.
IDLE_SECONDS = 60.0


def kind_of(content_type: str) -> str:
    major = content_type.partition("/")[0].lower()
    return major if major in ("image", "audio", "video") else "file"


class MailIntake:
    """aiosmtpd's handler: RCPT checked, DATA read, stored, acknowledged."""

    def __init__(self, redis: Redis, settings: MailSettings, *, limiter: Limiter | None, clock: Clock,
                 attachment_bytes_per_day: int = ATTACHMENT_BYTES_PER_DAY) -> None:
        self.redis = redis
        self.settings = settings
        self.limiter = limiter
        self.clock = clock
        self.attachment_bytes_per_day = attachment_bytes_per_day

    def accepts(self, recipient: str) -> bool:
        address = recipient.strip().strip("<>").lower()
        return address == self.settings.address.lower() or self.settings.token_of(address) is not None

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if not self.accepts(address):
            return f"550 5.1.1 <{address}>: no such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        peer = str(session.peer[0]) if isinstance(session.peer, tuple) and session.peer else "unknown"
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw or "").encode("utf-8", "surrogateescape")
        try:
            if self.limiter is not None and not (await self.limiter.hit("email_per_address", peer)).allowed:
                return "451 4.7.1 Too many mails from your address: try again later"
        except RedisError:
            return "451 4.3.0 Cannot take the mail right now: try again later"
        try:
            mail = parse(raw, envelope_from=envelope.mail_from)
            if mail.automatic is None and self.accepts(mail.sender):
                # Our own address writing to itself (a forward pointing back): answering it
                # would be a loop.
                mail = dataclasses.replace(mail, automatic="sent from the shop's own address")
        except MalformedPayload as exc:
            log.info("e-mail from %s refused: %s", peer, exc)
            return f"550 5.6.0 {exc}"
        except Exception:  # a mail this reader cannot take: refused, not retried by the sender for days
            log.exception("e-mail from %s could not be read", peer)
            return "550 5.6.0 The mail could not be read"
        try:
            duplicate = not await self.store(mail, [str(r) for r in envelope.rcpt_tos])
        except RedisError as exc:
            log.warning("e-mail from %s not stored (Redis unavailable: %s): the sender is asked to try later", peer, exc)
            return "451 4.3.0 Cannot store the mail right now: try again later"
        except Exception:  # kept by the sender, who tries again: nothing is lost to a bug here
            log.exception("e-mail %s from %s could not be stored", mail.message_id, peer)
            return "451 4.3.0 Cannot store the mail right now: try again later"
        # The Message-ID, not the address: an address is personal data, not for the log.
        log.info("e-mail %s %s", mail.message_id,
                 "was a redelivery" if duplicate else "accepted" + (f" ({mail.automatic})" if mail.automatic else ""))
        return "250 2.0.0 OK: queued"

    async def store(self, mail: Mail, recipients: list[str]) -> bool:
        """Keep the mail for the inbox worker; whether it was new (not a redelivery)."""
        stored_as = email_keys.stored_as(mail.sender, mail.message_id)
        # The redelivery check before anything is written: a redelivery overwrites nothing.
        if not await self.redis.set(email_keys.delivery(stored_as), "1", nx=True, ex=inbox.SEEN_SECONDS):
            return False
        try:
            return await self._keep(mail, recipients, stored_as)
        except BaseException:
            # Not kept: the sender's next try must not read as a redelivery.
            with contextlib.suppress(RedisError):
                await self.redis.delete(email_keys.delivery(stored_as))
            raise

    async def _keep(self, mail: Mail, recipients: list[str], stored_as: str) -> bool:
        kept: list[dict[str, Any]] = []
        async with self.redis.pipeline(transaction=False) as pipe:
            for index, attachment in enumerate(mail.attachments):
                entry: dict[str, Any] = {"kind": kind_of(attachment.content_type), "name": attachment.filename,
                                         "content_type": attachment.content_type, "size": attachment.size,
                                         "stored": False, "index": index}
                # An automatic mail's attachments are never kept (nobody answers it).
                if mail.automatic is None and attachment.size <= ATTACHMENT_BYTES and index < ATTACHMENTS_KEPT:
                    if await self._budget(attachment.size):
                        pipe.set(email_keys.attachment(stored_as, index),
                                 base64.b64encode(attachment.data).decode("ascii"), ex=ATTACHMENT_SECONDS)
                        entry["stored"] = True
                    else:
                        entry["withheld"] = "daily_limit"
                kept.append(entry)
            details = {"subject": mail.subject, "in_reply_to": mail.in_reply_to, "references": list(mail.references),
                       "body": mail.body, "automatic": mail.automatic, "bounce": mail.bounce, "recipients": recipients,
                       "attachments": kept, "stored_as": stored_as}
            pipe.set(email_keys.received(stored_as), json.dumps(details, ensure_ascii=False), ex=inbox.SEEN_SECONDS)
            await pipe.execute()
        throttled = False
        if self.limiter is not None and mail.automatic is None:
            decision = await self.limiter.hit("webhook_message_per_sender", f"email:{mail.sender}")
            throttled = not decision.allowed
        item = Inbound(channel=Channel.EMAIL, provider_id=mail.message_id, address=mail.sender, text=mail.text,
                       received_at=self.clock(), profile_name=mail.sender_name, throttled=throttled,
                       business_address=recipients[0].lower() if recipients else None,
                       media=tuple(Media(kind=str(item["kind"]), content_type=str(item["content_type"]),
                                         caption=str(item["name"])) for item in kept))
        accepted, _ = await inbox.accept(self.redis, [item])
        return accepted == 1

    async def _budget(self, size: int) -> bool:
        """Whether `size` more attachment bytes fit in today's budget (taken if they do)."""
        key = email_keys.attachment_bytes(int(self.clock() // DAY_SECONDS))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incrby(key, size)
            pipe.expire(key, 2 * DAY_SECONDS)
            total, _ = await pipe.execute()
        if int(total) <= self.attachment_bytes_per_day:
            return True
        await self.redis.decrby(key, size)
        return False


async def start_listener(intake: MailIntake, host: str, port: int, *, max_bytes: int, hostname: str,
                         tls: ssl.SSLContext | None = None) -> asyncio.Server:
    """The listener, on the running loop (aiosmtpd's Controller would run it in a thread)."""
    def session() -> SMTP:
        # STARTTLS offered, not required: a sending server without TLS still delivers (as to any MX).
        return SMTP(intake, data_size_limit=max_bytes, hostname=hostname, ident="storechat", enable_SMTPUTF8=True,
                    timeout=IDLE_SECONDS, tls_context=tls, require_starttls=False)

    server = await asyncio.get_running_loop().create_server(session, host, port)
    log.info("e-mail: SMTP listener on %s:%d for %s", host, port, intake.settings.address)
    return server
