"""Every Redis key storechat uses, built in one place.

Rasa's tracker and lock stores share the server under `storechat:tracker:` and
`storechat:lock:` (configured in bot/endpoints.yml); nothing here may collide.
"""

PREFIX = "storechat"

# python-socketio's Redis manager publishes cross-process emits on this channel.
SOCKETIO_CHANNEL = f"{PREFIX}:socketio"
# Every conversation event is also published here, for consoles and workers.
EVENTS_CHANNEL = f"{PREFIX}:events"


def conversation(conversation_id: str) -> str:
    return f"{PREFIX}:conv:{conversation_id}"


def conversation_events(conversation_id: str) -> str:
    """Stream of the conversation's history, in order."""
    return f"{PREFIX}:conv:{conversation_id}:events"


def conversation_client_messages(conversation_id: str) -> str:
    """Hash of the shopper's message ids (a widget's client id, a provider's message id) →
    the case event that stored it: the same message sent again is not stored twice."""
    return f"{PREFIX}:conv:{conversation_id}:client-messages"


def turn_queue(conversation_id: str) -> str:
    """List of the conversation's shopper messages not yet answered, oldest first
    (gateway/conversations/turns.py)."""
    return f"{PREFIX}:conv:{conversation_id}:turns"


def turn_lease(conversation_id: str) -> str:
    """Held (a token, with a TTL) by the process answering the conversation's turn queue."""
    return f"{PREFIX}:conv:{conversation_id}:turn-lease"


# Sorted set of conversation ids with unanswered messages, scored by when their queue last
# moved: the sweeper's list of queues a stopped process may have left behind.
TURNS_WAITING = f"{PREFIX}:turns:waiting"


def contact(contact_id: str) -> str:
    return f"{PREFIX}:contact:{contact_id}"


def contact_conversations(contact_id: str) -> str:
    """Sorted set of the contact's conversation ids, scored by creation time."""
    return f"{PREFIX}:contact:{contact_id}:conversations"


def identity(kind: str, value: str) -> str:
    """Maps a channel identity (web session, phone number, ...) to its contact id."""
    return f"{PREFIX}:identity:{kind}:{value}"


def conversations_by_state(state: str) -> str:
    """Sorted set of conversation ids in a state, scored by the time they entered it."""
    return f"{PREFIX}:state:{state}"


# --- the shop API: orders, verification, shopper requests -------------------


def order(order_id: str) -> str:
    """The order as JSON, its shipment events included."""
    return f"{PREFIX}:order:{order_id}"


def orders_by_email(email: str) -> str:
    """Sorted set of the order ids of one (normalised) email, scored by placed_at."""
    return f"{PREFIX}:orders:email:{email}"


def conversation_client(conversation_id: str) -> str:
    """The network address a web conversation's shopper last wrote from (the limits' client)."""
    return f"{PREFIX}:conversation:{conversation_id}:client"

# The key the gateway signs web session ids with, generated once (gateway/webchat/sessions.py).
WEB_SESSION_KEY = f"{PREFIX}:webchat:session-key"


def verification_failures(conversation_id: str) -> str:
    """A conversation's failed typed proofs and the wait they earned (a hash with a TTL)."""
    return f"{PREFIX}:verify:conv:{conversation_id}:failures"


def verification_client_failures(kind: str, client: str) -> str:
    """The same for a device/session (`address`, a channel address) or a `network` address."""
    return f"{PREFIX}:verify:{kind}:{client}:failures"


def verified_orders(conversation_id: str) -> str:
    """Set of order ids the shopper of a conversation has proven to own."""
    return f"{PREFIX}:verified:{conversation_id}:orders"


def verified_emails(conversation_id: str) -> str:
    """Set of (normalised) emails the shopper of a conversation has proven to own."""
    return f"{PREFIX}:verified:{conversation_id}:emails"


def request(request_id: str) -> str:
    """A shopper's request (return, cancellation, ...) as a hash."""
    return f"{PREFIX}:request:{request_id}"


def conversation_requests(conversation_id: str) -> str:
    """List of the request ids made in a conversation, oldest first."""
    return f"{PREFIX}:conv:{conversation_id}:requests"


def team_requests(team: str) -> str:
    """Sorted set of a team's request ids, scored by creation time (the console's inbox)."""
    return f"{PREFIX}:requests:{team}"


# --- agents and their console sessions ----------------------------------------


def agent(email: str) -> str:
    """An agent account (hash: name, team, role, password hash), by normalised email."""
    return f"{PREFIX}:agent:account:{email}"


def agent_emails() -> str:
    """Set of the (normalised) emails of every agent account."""
    return f"{PREFIX}:agent:accounts"


def agent_session(session_digest: str) -> str:
    """A console session (hash: email, csrf token), by the SHA-256 of its cookie value."""
    return f"{PREFIX}:agent:session:{session_digest}"


# --- the human side: team queues, agents' chats, presence, CSAT -----------------


def team_queue(team: str) -> str:
    """Sorted set of the conversations queued for a team, scored by the time they were queued."""
    return f"{PREFIX}:queue:{team}"


def agent_chats(email: str) -> str:
    """Sorted set of the conversations assigned to an agent, scored by assignment time."""
    return f"{PREFIX}:agent:chats:{email}"


def team_agents(team: str) -> str:
    """Set of the (normalised) emails of a team's agents."""
    return f"{PREFIX}:agent:team:{team}"


def agent_status(email: str) -> str:
    """The presence an agent chose (online or away); offline is having no console connected."""
    return f"{PREFIX}:agent:status:{email}"


def agent_sockets(email: str) -> str:
    """Sorted set of the agent's connected console sockets (Socket.IO sids, any gateway
    process), scored by when their process last confirmed them."""
    return f"{PREFIX}:agent:sockets:{email}"


def agents_last_assigned() -> str:
    """Sorted set of agent emails scored by when they were last given a chat (round robin)."""
    return f"{PREFIX}:agent:last-assigned"


def csat(conversation_id: str) -> str:
    """The satisfaction survey of a conversation (hash: state, score, comment)."""
    return f"{PREFIX}:conv:{conversation_id}:csat"


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


# --- contacts across channels ------------------------------------------------------


def contact_identities(contact_id: str) -> str:
    """Set of the identity keys (`identity(kind, value)`) a contact holds: what a merge repoints.

    Identities claimed before this index existed are not in it (see gateway/conversations/contacts.py).
    """
    return f"{PREFIX}:contact:{contact_id}:identities"


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


# --- proactive chat offers: storefront visitors, due evaluations, offers, counters ------


def visitor(session_id: str) -> str:
    """A storefront visitor by web session id (hash: browsing session, page, cart, checkout,
    the open offer); gateway/proactive/visitors.py."""
    return f"{PREFIX}:visitor:{session_id}"


def visitor_trail(session_id: str) -> str:
    """List of the visitor's last page views (JSON), oldest first."""
    return f"{PREFIX}:visitor:{session_id}:trail"


def visitor_offered(session_id: str, visit: int) -> str:
    """Set of the rules offered in one browsing session (the visitor's `visit`-th)."""
    return f"{PREFIX}:visitor:{session_id}:visit:{visit}:offered"


def visitor_converted(session_id: str, visit: int) -> str:
    """Present once an order placed in that browsing session was counted as a conversion."""
    return f"{PREFIX}:visitor:{session_id}:visit:{visit}:converted"


def visitor_offers_on(session_id: str, day: int) -> str:
    """Offers shown to the visitor on a day (days since the epoch, UTC), all rules (a counter)."""
    return f"{PREFIX}:visitor:{session_id}:offers:{day}"


# Sorted set of visitor session ids scored by when their rules are next due for evaluation.
PROACTIVE_DUE = f"{PREFIX}:proactive:due"


def proactive_offer(offer_id: str) -> str:
    """One offer shown (hash: rule, target, team, session and conversation, state)."""
    return f"{PREFIX}:proactive:offer:{offer_id}"


def proactive_metrics() -> str:
    """Hash of the offers' counters, fields `<rule>:shown|accepted|declined|converted`."""
    return f"{PREFIX}:proactive:metrics"


def proactive_metrics_on(day: str) -> str:
    """The same counters for one shop-local day ("YYYY-MM-DD"), expiring after about 400 days."""
    return f"{PREFIX}:proactive:metrics:{day}"


# --- reports, complaint clusters and the conversation directory (gateway/reports/) ------

# Stream of conversation ids, one entry per new event: what the projections follow.
FEED = f"{PREFIX}:feed"


def projection_state(projection: str, conversation_id: str) -> str:
    """What one projection has folded of a conversation (hash: its cursor, its own fields)."""
    return f"{PREFIX}:projection:{projection}:{conversation_id}"


def report_rollup(variant: str, day: str, channel: str, team: str, agent: str) -> str:
    """Hash of one shop-local day's counters for one filter combination ("*" for all), in one
    variant (`all`, or `open`: only the opening hours); gateway/reports/rollups.py."""
    return f"{PREFIX}:report:{variant}:{day}:{channel}:{team}:{agent}"


def report_not_understood(variant: str, day: str, channel: str) -> str:
    """Sorted set of the messages the bot did not understand on a day, scored by how often."""
    return f"{PREFIX}:report:nu:{variant}:{day}:{channel}"


def report_comments(day: str) -> str:
    """List of the survey comments of a day (JSON: score, text, channel, team, agent)."""
    return f"{PREFIX}:report:comments:{day}"


def report_episodes(day: str) -> str:
    """Hash of the conversations (episodes) started on a day, `{id}:{episode}` → JSON row."""
    return f"{PREFIX}:report:episodes:{day}"


def report_prefix() -> str:
    """What every key of the report rollups starts with."""
    return f"{PREFIX}:report:"


# --- the conversation directory: supervisors' list and search (gateway/desk/directory.py) ---
# Every set below holds conversation ids scored by their last activity (the `at` of their
# newest event), except the prefix sets, which hold words. Bounds: gateway/desk/directory.py.

DIRECTORY_ALL = f"{PREFIX}:directory:all"


def directory_facet(facet: str, value: str) -> str:
    """Sorted set of the conversations with one value of a facet (state, team, agent, channel, csat)."""
    return f"{PREFIX}:directory:facet:{facet}:{value}"


def directory_postings(term: str) -> str:
    """Sorted set of the conversations a search term occurs in (its newest ones only)."""
    return f"{PREFIX}:directory:term:{term}"


def directory_prefix(prefix: str) -> str:
    """Sorted set of the search terms that start with a 3-character prefix, scored by last use."""
    return f"{PREFIX}:directory:prefix:{prefix}"


def directory_scratch(name: str) -> str:
    """A search's intermediate set, deleted in the transaction that made it."""
    return f"{PREFIX}:directory:scratch:{name}"


# What `Directory.reset` deletes (a SCAN pattern).
DIRECTORY_KEYS = f"{PREFIX}:directory:*"


# --- complaint clusters (gateway/complaints/) ------------------------------------

# Hash document id → the complaint document (JSON); the newest COMPLAINT_DOCUMENTS_MAX only.
COMPLAINT_DOCUMENTS = f"{PREFIX}:complaints:documents"
# Sorted set of the document ids, scored by when the shopper said it.
COMPLAINT_TIMELINE = f"{PREFIX}:complaints:timeline"
# Sorted set of feedback entries `class|channel|team|document id`, scored by time (the counts).
COMPLAINT_FEEDBACK = f"{PREFIX}:complaints:feedback"
# Sorted set of the SKUs with complaints, scored by the latest one (which products alerts look at).
COMPLAINT_PRODUCTS = f"{PREFIX}:complaints:products"
# Hash `sku|name` → name: every name a product was sold under, written with every order the shop
# stores (OrderStore.put): what a complaint naming a product is matched against (gateway/complaints/).
PRODUCT_NAMES = f"{PREFIX}:products:names"


def complaint_product_documents(sku: str) -> str:
    """Sorted set of a product's complaint document ids by time (a product's own cap)."""
    return f"{PREFIX}:complaints:product:{sku}:documents"


def complaint_product_shoppers(sku: str) -> str:
    """Sorted set of `day:contact:conversation` for a product's complaints, scored by the first
    time that day: the per-product, per-day counts the alerts are computed from."""
    return f"{PREFIX}:complaints:product:{sku}:shoppers"


# --- the demo shop's history (gateway/run/history/) ----------------------------------

# The shop-local day the demo history ends on, set when `storechat demo-data` (or the first
# `make run`) writes it: a second run finds it and writes nothing twice.
DEMO_HISTORY = f"{PREFIX}:demo:history"
