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
