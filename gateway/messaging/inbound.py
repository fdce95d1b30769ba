"""What the inbox worker does with a message or status from SMS, Messenger or WhatsApp.

A message opens (or continues) the conversation at the shopper's channel address,
moves the channel's customer-service window, and goes into the one conversation
loop — except SMS keywords (STOP, START, HELP and their German words), which are
the shop's duty to honour and never reach the bot, and messages over the shopper's
webhook_message_per_sender, which the case keeps without a bot turn. A numbered answer to numbered
options (SMS has no buttons) is read as the option. A delivery status (delivered, read,
failed) goes on the case against the message it is about.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

from channels import rich, sms
from channels.base import DeliveryState, DeliveryStatus, Inbound, Received
from core.types import Author, Channel, Conversation, EventKind, OutgoingMessage, QuickReply
from gateway import keys
from gateway.conversations.loop import ConversationLoop
from gateway.messaging.delivery import SENT_IDS_SECONDS
from gateway.messaging.outbound_send import record_state

log = logging.getLogger(__name__)

WINDOW_KEY_SECONDS = 8 * 24 * 3600
# Channels without buttons, where quick replies are shown as numbered options.
NUMBERED_CHANNELS = frozenset({Channel.SMS})


class ChannelInbound:
    def __init__(self, loop: ConversationLoop) -> None:
        self.loop = loop
        self.store = loop.store
        self.texts = loop.texts

    async def __call__(self, item: Received) -> None:
        if isinstance(item, DeliveryStatus):
            await self._status(item)
        else:
            await self._message(item)

    async def _message(self, item: Inbound) -> None:
        conversation = await self.store.open(item.channel, item.address, self.texts.default)
        redis = self.store.redis
        # The window counts from the latest message even if an older redelivery comes later.
        window = keys.channel_window(item.channel.value, item.address)
        last = await redis.get(window)
        if last is None or float(last) < item.received_at:
            await redis.set(window, repr(item.received_at), ex=WINDOW_KEY_SECONDS)
        if item.channel is Channel.SMS and (word := sms.keyword(item.text)) is not None:
            await self._keyword(conversation, item, word)
            return
        attachments = [{key: value for key, value in asdict(media).items() if value is not None}
                       for media in item.media]
        if item.throttled:
            # Over webhook_message_per_sender: the case keeps it, the bot does not answer it.
            data: dict[str, object] = {"throttled": True, "provider_id": item.provider_id}
            if attachments:
                data["attachments"] = attachments
            await self.store.append_shopper_message(conversation.id, item.text, data, message_id=item.provider_id)
            return
        text = item.text
        if item.channel in NUMBERED_CHANNELS:
            offered = [QuickReply(str(r.get("title", "")), str(r.get("payload", "")))
                       for r in await self.store.offered_quick_replies(conversation.id)]
            if (chosen := rich.chosen_option(text, offered)) is not None:
                text = chosen.payload
        await self.loop.shopper_message(conversation, text, {}, attachments=attachments,
                                        provider_id=item.provider_id)

    async def _keyword(self, conversation: Conversation, item: Inbound, word: sms.Keyword) -> None:
        """STOP / START / HELP: recorded on the case, answered by the shop, never by the bot."""
        redis = self.store.redis
        opt_out = keys.opt_out(item.channel.value, item.address)
        stored = await self.store.append_shopper_message(conversation.id, item.text, {"keyword": word.value},
                                                         message_id=item.provider_id)
        if stored.duplicate:
            # A redelivery taken over from a process that stopped: it may have stopped before the
            # opt-out took effect, so that is done again (it may be done twice); the confirmation
            # is not sent twice.
            if word is sms.Keyword.OPT_OUT:
                await redis.hset(opt_out, mapping={"at": repr(item.received_at), "keyword": item.text[:40]})
            elif word is sms.Keyword.OPT_IN:
                await redis.delete(opt_out)
            return
        locale = sms.keyword_language(item.text) or conversation.locale
        if word is sms.Keyword.OPT_OUT:
            # Confirmed before the opt-out takes effect: the one message the rules allow after STOP.
            await self._confirm(conversation, locale, "sms_opted_out")
            await redis.hset(opt_out, mapping={"at": repr(item.received_at), "keyword": item.text[:40]})
            await self._record(conversation, "opted_out", "The shopper opted out of SMS: nothing more is sent "
                               "to this number until they send START.")
        elif word is sms.Keyword.OPT_IN:
            await redis.delete(opt_out)
            await self._record(conversation, "opted_in", "The shopper opted in to SMS again.")
            await self._confirm(conversation, locale, "sms_opted_in")
        else:
            await self._confirm(conversation, locale, "sms_help")
        log.info("SMS keyword %s from conversation %s", word.value, conversation.id)

    async def _confirm(self, conversation: Conversation, locale: str, key: str) -> None:
        await self.loop.outbox.send(conversation, OutgoingMessage(self.texts.get(locale, key), author=Author.SYSTEM))

    async def _record(self, conversation: Conversation, status: str, text: str) -> None:
        await self.store.append(conversation.id, EventKind.DELIVERY, author=Author.SYSTEM, text=text,
                                data={"status": status, "channel": conversation.channel.value})

    async def _status(self, status: DeliveryStatus) -> None:
        """The provider's news of a message it took: delivered, read or failed goes on the case
        against the message, once per message and state (a long SMS is several provider
        messages); `sent` is recorded already, when the provider took it."""
        if status.state is DeliveryState.SENT:
            return
        channel = status.channel.value
        owner = await self.store.redis.get(keys.sent_message(channel, status.provider_id))
        if owner is None:
            log.info("%s status for an unknown message %s: %s %s", channel, status.provider_id,
                     status.state.value, status.error or "")
            return
        conversation_id, message_id = _owner(str(owner))
        once = keys.delivery_reported(message_id or f"{channel}:{status.provider_id}", status.state.value)
        if await self.store.redis.exists(once):
            return  # reported already (a long SMS is several provider messages; a webhook comes again)
        text = None
        if status.state is DeliveryState.FAILED:
            log.warning("%s message %s of conversation %s failed: %s", channel, status.provider_id,
                        conversation_id, status.error)
            text = f"Not delivered: {status.error or 'the provider reported a failure'}"
        # Marked reported in the transaction that records it: a Redis error in between loses nothing.
        await record_state(self.store, conversation_id, message_id=message_id or "", channel=channel,
                           state=status.state.value, text=text, provider_id=status.provider_id,
                           reason=status.error if status.state is DeliveryState.FAILED else None,
                           also=lambda pipe: pipe.set(once, "1", ex=SENT_IDS_SECONDS))


def _owner(raw: str) -> tuple[str, str | None]:
    """(conversation id, message event id) of a sent provider id (before message ids were
    kept, only the conversation's)."""
    if not raw.startswith("{"):
        return raw, None
    data = json.loads(raw)
    return str(data["c"]), str(data["m"]) or None
