"""The shop_events room's own Redis keys, built on gateway/keys/'s prefix."""

from gateway.keys import PREFIX

# Sorted set of the event ids still to deliver, scored by when (ms) each is next due; a
# claimed event's score is moved a lease ahead, so a process that dies leaves it to another.
QUEUE = f"{PREFIX}:shop-events:queue"


def event(event_id: str) -> str:
    """One outbound event (hash: body, type, conversation and request, state, attempts, last
    error), kept EVENT_SECONDS (gateway/shop_events/queue.py)."""
    return f"{PREFIX}:shop-event:{event_id}"
