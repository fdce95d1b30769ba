"""Every Redis key storechat uses, built in one place: this package,
one module a subject, all re-exported here (`keys.conversation(...)`).

Rasa's tracker and lock stores share the server under `storechat:tracker:` and
`storechat:lock:` (configured in bot/endpoints.yml); nothing here may collide.
"""

# One flat namespace: callers write `keys.<name>` whichever module defines it.
from gateway.keys.callbacks import *  # noqa: F403
from gateway.keys.conversations import *  # noqa: F403
from gateway.keys.insights import *  # noqa: F403
from gateway.keys.messaging import *  # noqa: F403
from gateway.keys.prefix import PREFIX as PREFIX

# python-socketio's Redis manager publishes cross-process emits on this channel.
SOCKETIO_CHANNEL = f"{PREFIX}:socketio"
# Every conversation event is also published here, for consoles and workers.
EVENTS_CHANNEL = f"{PREFIX}:events"
