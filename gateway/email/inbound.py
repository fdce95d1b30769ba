"""What the inbox worker does with a mail (the other channels' items go on to theirs).

A shopper's mail continues the conversation its thread names (gateway/email/threads.py)
when it comes from that conversation's address, else the conversation at the sender's
address (a new one if there is none): two senders are never one case. It goes on the case
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
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from channels import rich
from channels.base import Inbound, Received
from core.types import Author, Channel, Conversation, EventKind, QuickReply
from gateway.conversations.loop import ConversationLoop
from gateway.email import keys as email_keys
from gateway.email.threads import Threads
from gateway.messaging.outbound_send import record_state

log = logging.getLogger(__name__)

Handler = Callable[[Received], Awaitable[None]]


class EmailInbound:
    def __init__(self, loop: ConversationLoop, threads: Threads, others: Handler) -> None:
        self.loop = loop
        self.store = loop.store
        self.threads = threads
        self.others = others

    async def __call__(self, item: Received) -> None:
        if item.channel is not Channel.EMAIL:
            await self.others(item)
        elif isinstance(item, Inbound):
            await self._mail(item)

    async def _details(self, message_id: str) -> dict[str, Any]:
        raw = await self.store.redis.get(email_keys.received(message_id))
        return dict(json.loads(raw)) if raw else {}

    async def _mail(self, item: Inbound) -> None:
        details = await self._details(item.provider_id)
        if details.get("automatic"):
            await self._automatic(item, details)
            return
        conversation = await self._conversation(item, details)
        references = [str(found) for found in details.get("references") or ()]
        if details.get("in_reply_to"):
            references.append(str(details["in_reply_to"]))
        await self.threads.heard(conversation.id, message_id=item.provider_id,
                                 subject=str(details.get("subject") or ""), references=references)
        email = {"message_id": item.provider_id, "subject": details.get("subject") or "",
                 "body": details.get("body") or item.text}
        if item.profile_name:
            email["from_name"] = item.profile_name
        attachments = [dict(found) for found in details.get("attachments") or ()]
        if item.throttled:
            # Over webhook_message_per_sender: the case keeps it, the bot does not answer it.
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

    async def _conversation(self, item: Inbound, details: Mapping[str, Any]) -> Conversation:
        threaded = await self.threads.conversation_of(
            recipients=[str(r) for r in details.get("recipients") or ()],
            in_reply_to=details.get("in_reply_to"), references=[str(r) for r in details.get("references") or ()])
        if threaded is not None:
            conversation = await self.store.find(threaded)
            if conversation is not None and conversation.address.lower() == item.address:
                return conversation
            if conversation is not None:
                log.info("e-mail %s answers conversation %s, but from another sender: a conversation of its own",
                         item.provider_id, threaded)
        return await self.store.open(Channel.EMAIL, item.address, self.loop.texts.default)

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
            log.info("automatic e-mail %s dropped, not answered (%s): no case it belongs to", item.provider_id, reason)
            return
        subject = str(details.get("subject") or "")
        if details.get("bounce") and sent is not None and sent.event_id:
            await record_state(self.store, conversation_id, message_id=sent.event_id, channel=Channel.EMAIL.value,
                               state="failed", text=f"The mail bounced: {subject or reason}",
                               reason=f"bounced ({reason})", provider_id=item.provider_id)
        else:
            await self.store.append(conversation_id, EventKind.DELIVERY, author=Author.SYSTEM,
                                    text=f"An automatic mail arrived and was not answered ({reason}): {subject}",
                                    data={"status": "auto_reply", "channel": Channel.EMAIL.value, "reason": reason,
                                          "subject": subject, "from": item.address, "provider_id": item.provider_id,
                                          "body": str(details.get("body") or "")[:2000]})
        log.info("automatic e-mail %s (%s) recorded on conversation %s, not answered",
                 item.provider_id, reason, conversation_id)
