"""Keys of conversations and their cases, contacts, the shop API, agents and the human side."""

from gateway.keys.prefix import PREFIX

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



# --- contacts across channels ------------------------------------------------------


def contact_identities(contact_id: str) -> str:
    """Set of the identity keys (`identity(kind, value)`) a contact holds: what a merge repoints.

    Identities claimed before this index existed are not in it (see gateway/conversations/contacts.py).
    """
    return f"{PREFIX}:contact:{contact_id}:identities"
