"""The privacy room's own Redis keys, built on gateway/keys/'s prefix.

Rasa's tracker key is Rasa's (`key_prefix: storechat` in bot/endpoints.yml, and Rasa's own
`tracker:`); it is named here only so that a forgotten case takes its tracker along.
"""

from gateway.keys import PREFIX

# Stream of the audit trail: every export and erasure (who, when, which contact, the reason).
# Neither retention nor an erasure touches it.
AUDIT = f"{PREFIX}:privacy:audit"
# Held by the one gateway process that sweeps expired cases in this tick (a lock with a TTL).
SWEEP_CLAIM = f"{PREFIX}:privacy:sweep"


def rasa_tracker(conversation_id: str) -> str:
    """Rasa's tracker of the conversation (the gateway's conversation id is Rasa's sender id)."""
    return f"{PREFIX}:tracker:{conversation_id}"
