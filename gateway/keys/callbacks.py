"""Keys of the call-backs shoppers ask for (gateway/callbacks/)."""

from gateway.keys.prefix import PREFIX


def conversation_callback(conversation_id: str) -> str:
    """The conversation's call-back (a hash: phone, slot, status, attempts, …); one at a time."""
    return f"{PREFIX}:conv:{conversation_id}:callback"


# Sorted set of the conversations with an open call-back, scored by its slot (epoch seconds).
CALLBACKS_DUE = f"{PREFIX}:callbacks:due"
# Sorted set of the conversations whose call-back reminder (an SMS) is still to go, scored by when.
CALLBACK_REMINDERS = f"{PREFIX}:callbacks:reminders"


def callbacks_counted_on(day: str) -> str:
    """The reports' call-back counts of a shop-local day (a hash: "<step>:<channel>" → count)."""
    return f"{PREFIX}:report:callbacks:{day}"
