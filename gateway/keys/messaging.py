"""Keys of the messaging channels (webhook intake, delivery, windows, opt-outs, the outbound
queue) and of order-status notifications."""

from gateway.keys.prefix import PREFIX

# --- messaging channels: webhook intake, delivery, windows, opt-outs ------------

INBOX_GROUP = "gateway"


def inbox(channel: str) -> str:
    """Stream of a channel's accepted webhook deliveries (one entry per message or status),
    read by the inbox worker of every gateway process that has the channel, in one group."""
    return f"{PREFIX}:inbox:{channel}"


# Entries whose processing failed, kept for an operator to look at.
INBOX_DEAD = f"{PREFIX}:inbox:dead"


def webhook_seen(channel: str, provider_id: str) -> str:
    """Set when a provider message id was accepted: a redelivery finds it and is skipped."""
    return f"{PREFIX}:webhook:seen:{channel}:{provider_id}"


def channel_window(channel: str, address: str) -> str:
    """When the shopper at `address` last wrote on `channel` (the 24-hour window at Meta)."""
    return f"{PREFIX}:window:{channel}:{address}"


def opt_out(channel: str, address: str) -> str:
    """Present while the shopper at `address` has opted out of messages on `channel`
    (a hash: at, keyword)."""
    return f"{PREFIX}:optout:{channel}:{address}"


def sent_message(channel: str, provider_id: str) -> str:
    """The conversation a message sent on `channel` with the provider's id belongs to
    (for the provider's delivery statuses)."""
    return f"{PREFIX}:sent:{channel}:{provider_id}"


def outbound_queue(conversation_id: str) -> str:
    """List of the conversation's messages waiting to go out on SMS, Messenger or WhatsApp,
    oldest first (gateway/messaging/outbound.py)."""
    return f"{PREFIX}:conv:{conversation_id}:outbound"


def outbound_lease(conversation_id: str) -> str:
    """Held (a token, with a TTL) by the process sending the conversation's outbound queue."""
    return f"{PREFIX}:conv:{conversation_id}:outbound-lease"


def outbound_sending(conversation_id: str) -> str:
    """Which part of the queue's first message a provider call may have started for: a holder
    that finds it there after a stopped one records the message as `unknown`, not sent twice."""
    return f"{PREFIX}:conv:{conversation_id}:outbound-sending"


# Sorted set of conversations with an outbound queue, scored by when a sweeper should take
# it up if nobody has (its retry's not-before time, or a moment after it was pushed).
OUTBOUND_DUE = f"{PREFIX}:outbound:due"


def outbound_once(key: str) -> str:
    """Set when a message with this dedupe key (an order event's notification) was queued."""
    return f"{PREFIX}:outbound:once:{key}"


def delivery_reported(message_id: str, state: str) -> str:
    """Set when a provider's `state` (delivered, read) of a message was put on the case once."""
    return f"{PREFIX}:delivery:{message_id}:{state}"


# --- order-status notifications (gateway/notifications/) -----------------------------

# Sorted set of order ids with a notification waiting, scored by when it may go
# (now, or the end of the quiet hours); each process's ticker claims with ZREM.
NOTIFICATIONS_DUE = f"{PREFIX}:notifications:due"
# Hash order id → the status whose notification waits (a newer event replaces it).
NOTIFICATIONS_PENDING = f"{PREFIX}:notifications:pending"
# Sorted set of claimed notifications not yet handed to the outbox (`<order id>\n<status>:<event
# ms>`), scored by the deadline after which they are due again (the claimer died, or failed).
NOTIFICATIONS_INFLIGHT = f"{PREFIX}:notifications:inflight"


def notification_taken(order_id: str, status: str, event_at: str) -> str:
    """Set once for one shipment event (order, status, event time): the same event posted
    again finds it and notifies nobody twice."""
    return f"{PREFIX}:notifications:taken:{order_id}:{status}:{event_at}"


def notifications_sent_on(day: str) -> str:
    """Hash of the notifications sent on a shop-local day, fields `<status>:<channel>` (the
    reports; expires after about 400 days)."""
    return f"{PREFIX}:notifications:sent:{day}"


def order_shipping(order_id: str) -> str:
    """What the reports know of an order's shipping (hash: shipped_at, notified_at, and
    `contact:<conversation id>` → when a "where is my order?" counted); about 400 days."""
    return f"{PREFIX}:shipping:order:{order_id}"


# Sorted set of shipped order ids scored by when they shipped (epoch seconds): a range of
# shop-local days is a range of scores. Trimmed to about 400 days.
ORDERS_SHIPPED = f"{PREFIX}:shipping:shipped"
