"""Mail to shoppers: the e-mail channel on the durable outbound queue, and the one client
that hands each mail to the shop's SMTP relay.

The queue (gateway/messaging/outbound.py) treats e-mail like every messaging channel: a
bot answer, an agent's reply and a notification each go on the case and the queue in one
step, and one worker sends them in order. What is e-mail's own: the mail's place in its
thread (its Message-ID, In-Reply-To, References, Subject, reply+<token>@) is decided when
it is queued and kept with it (`Plan.headers`), so every try sends the same mail; the
signature is the shop's, in the conversation's language.

What the relay's answer means (`SmtpRelay.call`): a 4xx, or a connection refused, timed
out or lost before the mail's transaction began (greeting, EHLO, STARTTLS, login) —
nothing was accepted: tried again with backoff. A 5xx is `failed` with the relay's reason.
A connection lost once the transaction began is `unknown` (the relay may have taken the
mail): never sent twice.
"""

from __future__ import annotations

import contextlib
import ssl
from dataclasses import dataclass

import aiosmtplib

from channels.base import ProviderRequest
from channels.email import EmailChannel, Thread, new_message_id
from core.types import Conversation, OutgoingMessage
from gateway.conversations.store import ConversationStore
from gateway.email.threads import Threads
from gateway.messaging.delivery import Accepted, ChannelDelivery, Outcome, Plan, Refused, RetryLater, Uncertain
from gateway.texts import Texts

_REASON_CHARS = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class RelaySettings:
    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    # STARTTLS on the submission port; port 465 speaks TLS from the start.
    starttls: bool = True
    timeout: float = 30.0
    # A relay with a certificate of its own (the tests' local one): trusted as given.
    tls_context: ssl.SSLContext | None = None


def _answer(code: int, message: str) -> str:
    return f"SMTP {code}: {' '.join(message.split())[:_REASON_CHARS]}"


@dataclass(frozen=True, slots=True)
class SmtpRelay:
    """`gateway.messaging.delivery.Carrier` for mail: one SMTP transaction per call."""

    settings: RelaySettings

    async def call(self, request: ProviderRequest, *, idempotent: bool = False) -> Outcome:
        relay = self.settings
        implicit_tls = relay.port == 465
        client = aiosmtplib.SMTP(hostname=relay.host, port=relay.port, username=relay.username,
                                 password=relay.password, use_tls=implicit_tls,
                                 start_tls=relay.starttls and not implicit_tls, timeout=relay.timeout,
                                 tls_context=relay.tls_context)
        try:
            # Greeting, EHLO, STARTTLS, login: whatever breaks here, no mail went out yet.
            await client.connect()
        except aiosmtplib.SMTPResponseException as exc:
            return _classified(exc.code, exc.message)
        except aiosmtplib.SMTPNotSupported as exc:  # STARTTLS or a login the relay does not offer
            return Refused(f"the SMTP relay does not support what its settings ask for: {exc}")
        except (aiosmtplib.SMTPException, OSError) as exc:  # refused, unreachable, hung up, timed out
            return RetryLater(f"could not connect to the SMTP relay: {exc}")
        try:
            await client.sendmail(request.headers["mail-from"], [request.headers["rcpt-to"]], request.body)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0] if exc.recipients else None
            return _classified(refused.code if refused else 550, refused.message if refused else str(exc))
        except aiosmtplib.SMTPResponseException as exc:
            return _classified(exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Uncertain(f"the SMTP relay stopped answering during the mail ({exc!r}): "
                             "it may or may not have taken it")
        finally:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
            client.close()
        return Accepted(request.headers["message-id"].encode())

    async def send_once(self, request: ProviderRequest) -> bool:
        return isinstance(await self.call(request), Accepted)


def _classified(code: int, message: str) -> Outcome:
    # 4xx: "try again later" in SMTP's own words; the relay kept nothing.
    return RetryLater(_answer(code, message)) if 400 <= code < 500 else Refused(_answer(code, message))


class EmailDelivery(ChannelDelivery):
    """The e-mail channel's delivery: no opt-out keyword and no window, a thread instead."""

    def __init__(self, adapter: EmailChannel, relay: SmtpRelay, store: ConversationStore, threads: Threads,
                 texts: Texts) -> None:
        super().__init__(adapter, relay, store)
        self.mail = adapter
        self.threads = threads
        self.texts = texts

    async def plan(self, conversation: Conversation, message: OutgoingMessage) -> Plan:
        thread = await self.threads.next(conversation, message)
        return Plan(headers=thread.pairs())

    def requests(self, address: str, message: OutgoingMessage, plan: Plan) -> list[ProviderRequest]:
        thread = Thread.of(plan.headers) if plan.headers else Thread(
            message_id=new_message_id(self.mail.settings.reply_domain), subject="", locale=self.texts.default)
        signature = self.texts.get(self.texts.locale(thread.locale), "email_signature")
        if message.agent_name:
            signature = f"{message.agent_name}\n{signature}"
        return [self.mail.request(address, message, thread, signature=signature)]
