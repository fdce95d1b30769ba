"""The e-mail channel's parts, built from the settings: on when STORECHAT_EMAIL_ADDRESS is
set, and then STORECHAT_SMTP_HOST must be too (a channel that takes mail it can never
answer is a mistake worth stopping for)."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

from redis.asyncio import Redis

from channels.email import EmailChannel, MailSettings
from gateway.conversations.loop import ConversationLoop
from gateway.conversations.store import ConversationStore
from gateway.email.delivery import EmailDelivery, RelaySettings, SmtpRelay
from gateway.email.inbound import EmailInbound, Handler
from gateway.email.listener import MailIntake, start_listener
from gateway.email.threads import Threads
from gateway.environment import ConfigError
from gateway.limits.limiter import Limiter
from gateway.settings import Settings
from gateway.texts import Texts


@dataclass(frozen=True, slots=True)
class EmailService:
    mail: MailSettings
    threads: Threads
    delivery: EmailDelivery
    intake: MailIntake
    listen_host: str
    listen_port: int
    max_bytes: int
    limiter: Limiter | None = None
    # STARTTLS for the senders that ask for it (None: plain SMTP).
    tls: ssl.SSLContext | None = None

    @classmethod
    def build(cls, settings: Settings, redis: Redis, store: ConversationStore, texts: Texts,
              limiter: Limiter | None) -> EmailService | None:
        if not settings.email_address or not settings.smtp_host:  # Settings refuses an address without a relay
            return None
        try:
            mail = MailSettings(address=settings.email_address.strip().lower(), name=settings.email_name,
                                reply_domain=(settings.effective_email_reply_domain or "").strip().lower())
        except ValueError as exc:
            raise ConfigError(f"STORECHAT_EMAIL_ADDRESS / STORECHAT_EMAIL_REPLY_DOMAIN: {exc}") from None
        relay = SmtpRelay(RelaySettings(host=settings.smtp_host, port=settings.smtp_port, username=settings.smtp_user,
                                        password=settings.smtp_password, starttls=settings.smtp_starttls))
        threads = Threads(redis, mail, texts)
        tls = None
        if settings.smtp_tls_cert is not None and settings.smtp_tls_key is not None:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            try:
                tls.load_cert_chain(settings.smtp_tls_cert, settings.smtp_tls_key)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"STORECHAT_SMTP_TLS_CERT / STORECHAT_SMTP_TLS_KEY cannot be used: {exc}") from None
        return cls(mail=mail, threads=threads,
                   delivery=EmailDelivery(EmailChannel(mail), relay, store, threads, texts),
                   intake=MailIntake(redis, mail, limiter=limiter, clock=store.clock,
                                    attachment_bytes_per_day=settings.email_attachment_bytes_per_day),
                   listen_host=settings.smtp_listen_host, listen_port=settings.smtp_listen_port,
                   max_bytes=settings.smtp_max_bytes, limiter=limiter, tls=tls)

    def inbound(self, loop: ConversationLoop, others: Handler) -> EmailInbound:
        """The inbox worker's handler: mails here, every other channel's item to `others`."""
        return EmailInbound(loop, self.threads, others, limiter=self.limiter)

    async def listen(self) -> asyncio.Server | None:
        """The SMTP listener (port 0: none in this process, another takes the mail)."""
        if not self.listen_port:
            return None
        return await start_listener(self.intake, self.listen_host, self.listen_port, max_bytes=self.max_bytes,
                                    hostname=self.mail.reply_domain, tls=self.tls)
