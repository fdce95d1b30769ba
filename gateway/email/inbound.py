"""What the inbox worker does with a mail (the other channels' items go on to theirs).

A shopper's mail continues a conversation only through what it could know only by having
received storechat's mail — its reply+<token>@ recipient, or an In-Reply-To/References
naming a mail storechat sent in it (gateway/email/threads.py) — and only from that
conversation's address: two senders are never one case. Any other mail, even from a known
address, opens a new conversation (a From is easily forged: it carries over no proven
order) on the sender address's contact, or a new contact if that one holds a proven e-mail
or phone. The bot's answers to such mails are capped for all senders together (the
`email_first_answer` rule): over it the mail waits on its case for an agent. It goes on the case
with its subject and whole text, and into the one conversation loop with only its new
words; an answer by number to numbered options is read as the option (a mail has no
buttons).

An automatic mail — an out-of-office reply, a bounce, a mailing list's — is never answered
(two robots answering each other is a mail loop): it goes on the case its thread names, or
on the sender's latest, as a delivery note (a bounce: the mail it is about is `failed`),
and with no case to go on it is dropped with a log line.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from channels import rich
from channels.base import Inbound, Received
from core.types import Author, Channel, Conversation, EventKind, QuickReply
from gateway.conversations.contacts import EMAIL_SENDER_IDENTITY
from gateway.conversations.loop import ConversationLoop
from gateway.email import keys as email_keys
from gateway.email.threads import Threads
from gateway.limits.limiter import Limiter
from gateway.messaging.outbound_send import record_state

log = logging.getLogger(__name__)

Handler = Callable[[Received], Awaitable[None]]
# The bot's answers to mails that continue no conversation, all senders together.
FIRST_ANSWER_RULE = "email_first_answer"


class EmailInbound:
    def __init__(self, loop: ConversationLoop, threads: Threads, others: Handler, *,
                 limiter: Limiter | None = None) -> None:
        self.loop = loop
        self.limiter = limiter
        self.store = loop.store
        self.threads = threads
        self.others = others

    async def __call__(self, item: Received) -> None:
        if item.channel is not Channel.EMAIL:
            await self.others(item)
        elif isinstance(item, Inbound):
            await self._mail(item)

    async def _details(self, item: Inbound) -> dict[str, Any]:
        raw = await self.store.redis.get(email_keys.received(email_keys.stored_as(item.address, item.provider_id)))
        return dict(json.loads(raw)) if raw else {}

    async def _mail(self, item: Inbound) -> None:
        details = await self._details(item)
        if details.get("automatic"):
            await self._automatic(item, details)
            return
        conversation, threaded = await self._conversation(item, details)
        references = [str(found) for found in details.get("references") or ()]
        if details.get("in_reply_to"):
            references.append(str(details["in_reply_to"]))
        await self.threads.heard(conversation.id, message_id=item.provider_id,
                                 subject=str(details.get("subject") or ""), references=references)
        email = {"message_id": item.provider_id, "subject": details.get("subject") or "",
                 "body": details.get("body") or item.text,
                 "stored_as": email_keys.stored_as(item.address, item.provider_id)}
        if item.profile_name:
            email["from_name"] = item.profile_name
        attachments = [dict(found) for found in details.get("attachments") or ()]
        if not threaded and not item.throttled and self.limiter is not None:
            # Its From is unproven: the answer may go to a stranger, so all of them are capped.
            item = replace(item, throttled=not (await self.limiter.hit(FIRST_ANSWER_RULE, "all")).allowed)
        if item.throttled:
            # Over webhook_message_per_sender (or email_first_answer): the case keeps it, the
            # bot does not answer it.
            data: dict[str, object] = {"throttled": True, "provider_id": item.provider_id, "email": email}
            if attachments:
                data["attachments"] = attachments
            await self.store.append_shopper_message(conversation.id, item.text, data, message_id=item.provider_id)
            return
        text = item.text
        offered = [QuickReply(str(r.get("title", "")), str(r.get("payload", "")))
                   for r in await self.store.offered_quick_replies(conversation.id)]
        if (chosen := rich.chosen_option(text, offered)) is not None:
            text = chosen.payload
        await self.loop.shopper_message(conversation, text, {}, attachments=attachments, provider_id=item.provider_id,
                                        details={"email": email})

    async def _conversation(self, item: Inbound, details: Mapping[str, Any]) -> tuple[Conversation, bool]:
        """The mail's conversation, and whether the mail continues it (by its thread)."""
        threaded = await self.threads.conversation_of(
            recipients=[str(r) for r in details.get("recipients") or ()],
            in_reply_to=details.get("in_reply_to"), references=[str(r) for r in details.get("references") or ()])
        if threaded is not None:
            conversation = await self.store.find(threaded)
            if conversation is not None and conversation.address.lower() == item.address:
                return conversation, True
            if conversation is not None:
                log.info("e-mail %s answers conversation %s, but from another sender: a conversation of its own",
                         item.provider_id, threaded)
        # Any From can be forged: a mail that names no mail of ours opens a conversation of its
        # own (no order proven in it), never on a contact an order proof linked.
        contacts = self.store.contacts
        contact_id = await contacts.claim(EMAIL_SENDER_IDENTITY, item.address)
        if await contacts.proven(contact_id):
            contact_id = await contacts.fresh()
        return await self.store.create(contact_id, Channel.EMAIL, item.address, self.loop.texts.default), False

    async def _automatic(self, item: Inbound, details: Mapping[str, Any]) -> None:
        reason = str(details.get("automatic"))
        references = [str(r) for r in details.get("references") or ()]
        in_reply_to = details.get("in_reply_to")
        sent = await self.threads.sent([*([str(in_reply_to)] if in_reply_to else []), *reversed(references)])
        conversation_id = sent.conversation_id if sent is not None else await self.threads.conversation_of(
            recipients=[str(r) for r in details.get("recipients") or ()], in_reply_to=None, references=())
        if conversation_id is None:
            latest = await self.store.find_latest(Channel.EMAIL, item.address)
            conversation_id = latest.id if latest is not None else None
        if conversation_id is None or await self.store.find(conversation_id) is None:
            await self.store.redis.delete(email_keys.received(email_keys.stored_as(item.address, item.provider_id)))
            log.info("automatic e-mail %s dropped, not answered (%s): no case it belongs to", item.provider_id, reason)
            return
        subject = str(details.get("subject") or "")
        # For the shop's agents: in the shop's language (gateway/locales/).
        texts = self.loop.texts
        if details.get("bounce") and sent is not None and sent.event_id:
            await record_state(self.store, conversation_id, message_id=sent.event_id, channel=Channel.EMAIL.value,
                               state="failed",
                               text=texts.get(texts.default, "email_case_bounced", about=subject or reason),
                               reason=f"bounced ({reason})", provider_id=item.provider_id)
        else:
            await self.store.append(conversation_id, EventKind.DELIVERY, author=Author.SYSTEM,
                                    text=texts.get(texts.default, "email_case_auto_reply", reason=reason,
                                                   subject=subject),
                                    data={"status": "auto_reply", "channel": Channel.EMAIL.value, "reason": reason,
                                          "subject": subject, "from": item.address, "provider_id": item.provider_id,
                                          "stored_as": email_keys.stored_as(item.address, item.provider_id),
                                          "body": str(details.get("body") or "")[:2000]})
        log.info("automatic e-mail %s (%s) recorded on conversation %s, not answered",
                 item.provider_id, reason, conversation_id)
