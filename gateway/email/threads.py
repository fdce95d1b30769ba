"""Which conversation a mail belongs to, and where storechat's next mail goes in its thread.

A shopper's reply finds its conversation by its reply+<token>@ address, or by the
Message-IDs it answers (In-Reply-To, References) among the mails storechat sent. The
gateway's inbound (gateway/email/inbound.py) takes that conversation only when the mail
comes from the address the conversation is with: a colleague forwarding a mail, or a
second person answering on the thread, starts their own conversation, never joins one.

Every mail of a conversation goes on its thread (`heard`, `next`), so storechat's next
mail answers the shopper's latest one (In-Reply-To) with the thread's References, and the
shopper's mail client shows one thread. Kept as long as a thread lives: 90 days after its latest mail.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import WatchError

from channels import rich
from channels.email import MailSettings, Thread, new_message_id, reply_subject
from core.types import Channel, Conversation, OutgoingMessage
from gateway import keys
from gateway.email import keys as email_keys
from gateway.texts import Texts

THREAD_SECONDS = 90 * 24 * 3600
# The Message-IDs of a thread kept for References: its first and the latest ones.
REFERENCES_KEPT = 20
SUBJECT_CHARS = 78


@dataclass(frozen=True, slots=True)
class SentMail:
    """A mail storechat sent: its conversation, and the message event it carried."""

    conversation_id: str
    event_id: str | None


class Threads:
    def __init__(self, redis: Redis, settings: MailSettings, texts: Texts) -> None:
        self.redis = redis
        self.settings = settings
        self.texts = texts

    async def conversation_of(self, *, recipients: Sequence[str], in_reply_to: str | None,
                              references: Sequence[str]) -> str | None:
        """The conversation a mail answers: by its reply+<token>@ recipient, or by a mail of
        ours it names (the one it answers first, then the thread from its latest back)."""
        for recipient in recipients:
            token = self.settings.token_of(recipient)
            if token is not None and (found := await self.redis.get(email_keys.reply_token(token))):
                return str(found)
        sent = await self.sent(_named(in_reply_to, references))
        return sent.conversation_id if sent is not None else None

    async def sent(self, message_ids: Iterable[str]) -> SentMail | None:
        """The first of `message_ids` that storechat sent."""
        for message_id in message_ids:
            owner = await self.redis.get(keys.sent_message(Channel.EMAIL.value, message_id))
            if owner is not None:
                data = json.loads(str(owner))
                return SentMail(str(data["c"]), str(data.get("m") or "") or None)
        return None

    async def heard(self, conversation_id: str, *, message_id: str, subject: str, references: Sequence[str]) -> None:
        """A shopper's mail joined the conversation: storechat's next mail answers it."""
        key = email_keys.thread(conversation_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:  # read and write as one: a mail of ours queued meanwhile stays on the chain
                try:
                    await pipe.watch(key)
                    known = await pipe.hgetall(key)
                    chain = _chain([*str(known.get("chain", "")).split(), *references, message_id])
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(key, mapping={"answers": message_id, "chain": " ".join(chain)})
                    if subject:
                        pipe.hset(key, "subject", subject)
                    pipe.expire(key, THREAD_SECONDS)
                    await pipe.execute()
                    return
                except WatchError:
                    continue

    async def next(self, conversation: Conversation, message: OutgoingMessage) -> Thread:
        """The thread of storechat's next mail in the conversation, its Message-ID new: it
        answers the shopper's latest mail (else storechat's own latest), and its References
        are the thread so far. The thread moves on to it at once (messages are sent in the
        order they are queued), read and written as one step."""
        key = email_keys.thread(conversation.id)
        message_id = new_message_id(self.settings.reply_domain)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    known = await pipe.hgetall(key)
                    token = str(known.get("token") or secrets.token_urlsafe(18))
                    subject = str(known.get("subject") or "")
                    chain = str(known.get("chain", "")).split()
                    answers = str(known.get("answers") or "") or (chain[-1] if chain else None)
                    thread = Thread(message_id=message_id,
                                    subject=reply_subject(subject) if subject else self._subject(conversation, message),
                                    locale=conversation.locale, in_reply_to=answers, references=tuple(chain),
                                    reply_token=token)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(key, mapping={"chain": " ".join(_chain([*chain, thread.message_id])), "token": token,
                                            "subject": subject or thread.subject})
                    pipe.expire(key, THREAD_SECONDS)
                    pipe.set(email_keys.reply_token(token), conversation.id, ex=THREAD_SECONDS)
                    await pipe.execute()
                    return thread
                except WatchError:
                    continue

    def _subject(self, conversation: Conversation, message: OutgoingMessage) -> str:
        """A thread storechat starts (a notification): its first line, or the shop's words."""
        first_line = next((line for line in message.text.splitlines() if line.strip()), "")
        return rich.clip(first_line, SUBJECT_CHARS) if first_line else self.texts.get(conversation.locale,
                                                                                          "email_subject")


def _named(in_reply_to: str | None, references: Sequence[str]) -> list[str]:
    return [*([in_reply_to] if in_reply_to else []), *reversed(references)]


def _chain(message_ids: Sequence[str]) -> list[str]:
    """The thread's Message-IDs once each, in order: its first and the latest ones."""
    unique = list(dict.fromkeys(message_ids))
    return unique if len(unique) <= REFERENCES_KEPT else unique[:1] + unique[-(REFERENCES_KEPT - 1):]
