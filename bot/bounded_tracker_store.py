"""Rasa's Redis tracker store, with a tracker that stays small.

Rasa keeps a conversation's every event in its tracker and, on every turn, loads,
replays, merges and re-serialises all of them: a turn costs more the longer the
shopper has chatted (measured: 50 ms on the first turn, 170 ms by the 40th).
storechat does not need that history in Rasa — the gateway keeps the whole case
(gateway/conversations/store.py) — so this store keeps only the current session's last
`max_turns` shopper turns, preceded by the state they started from (slot values and
an active form), exactly as Rasa starts a new session with carried-over slots (six turns are
plenty for rules and forms, which look back a turn or two):

    action_session_start, session_started, slot…, active_loop?, action_listen,
    user, …  (the last `max_turns` turns, untouched)

Nor does it keep credentials: the storefront's customer token comes with each web message
(its metadata) and is used by that turn's actions, which get the tracker from Rasa's memory;
the stored events (and the `session_started_metadata` slot) never hold it (it would otherwise sit in Redis as long as the tracker,
30 days). A later turn brings its own.

Configured in endpoints.yml (`type: bounded_tracker_store.BoundedRedisTrackerStore`);
Rasa's lock store still orders the turns of one sender across Rasa processes.
"""

from __future__ import annotations

import json
from typing import Any, List, Optional, Text, Type

from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.conversation import Dialogue
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses

DEFAULT_MAX_TURNS = 6
# Message metadata that is a credential, used in its turn and never stored.
CREDENTIALS = ("customer_token",)


def _index_event_types() -> None:
    """Look event classes up by name in a dict, not by walking the class tree.

    Rasa's `Event.resolve_by_type` lists every subclass of Event (checking each for
    abstractness) once per event it deserialises — measured at 11 ms of CPU per turn
    with a 10-turn tracker, more than the NLU models. The classes are all defined when
    rasa.shared.core.events is imported, so an index built once gives the same answers;
    unknown names still go to Rasa's own lookup (its default/`topic`/error handling).
    """
    original = Event.resolve_by_type
    if getattr(original, "indexed", False):
        return
    index: dict = {}
    for cls in all_subclasses(Event):
        index.setdefault(cls.type_name, cls)  # the first match wins, as in Rasa

    def resolve_by_type(
        type_name: Text, default: Optional[Type[Event]] = None
    ) -> Optional[Type[Event]]:
        found = index.get(type_name)
        return found if found is not None else original(type_name, default)

    resolve_by_type.indexed = True  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[assignment]


_index_event_types()


def compacted_events(
    tracker: DialogueStateTracker, domain: Domain, max_turns: int
) -> List[Event]:
    """The tracker's events, cut to its last `max_turns` user turns plus their start state."""
    events = list(tracker.events)
    user_turns = [i for i, event in enumerate(events) if isinstance(event, UserUttered)]
    if len(user_turns) <= max_turns:
        return events
    cut = user_turns[-max_turns]
    # Where the conversation stood just before the first kept turn.
    before = DialogueStateTracker.from_events(
        tracker.sender_id, events[:cut], domain.slots
    )
    at = events[cut].timestamp
    start: List[Event] = [
        ActionExecuted(ACTION_SESSION_START_NAME, timestamp=at),
        SessionStarted(timestamp=at),
    ]
    initial = {slot.name: slot.initial_value for slot in domain.slots}
    for name, value in before.current_slot_values().items():
        if value != initial.get(name):
            start.append(SlotSet(name, value, timestamp=at))
    if before.active_loop_name:
        start.append(ActiveLoop(before.active_loop_name, timestamp=at))
    start.append(ActionExecuted(ACTION_LISTEN_NAME, timestamp=at))
    return start + events[cut:]


def without_credentials(value: Any) -> Any:
    """A serialised dialogue with no credential in it: not in a user message's metadata, and
    not in the copy Rasa keeps of a session's first metadata (the `session_started_metadata`
    slot, carried over by the cut above)."""
    if isinstance(value, dict):
        return {k: without_credentials(v) for k, v in value.items() if k not in CREDENTIALS}
    if isinstance(value, list):
        return [without_credentials(item) for item in value]
    return value


class BoundedRedisTrackerStore(RedisTrackerStore):
    """A RedisTrackerStore that stores only the last `max_turns` turns of the session."""

    def __init__(
        self,
        domain: Domain,
        host: Text = "localhost",
        max_turns: int = DEFAULT_MAX_TURNS,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, host=host, **kwargs)
        if int(max_turns) < 1:
            raise ValueError("max_turns must be at least 1")
        self.max_turns = int(max_turns)

    async def save(
        self, tracker: DialogueStateTracker, timeout: Optional[float] = None
    ) -> None:
        """Stores the compacted tracker; unlike Rasa's, never re-reads the stored one.

        Rasa merges with the stored tracker to keep earlier sessions; here the tracker
        being saved (the latest session, as retrieved, plus this turn) is all we keep.
        """
        await self.stream_events(tracker)
        events = compacted_events(tracker, self.domain, self.max_turns)
        dialogue = without_credentials(Dialogue(tracker.sender_id, events).as_dict())
        self.red.set(self.key_prefix + tracker.sender_id, json.dumps(dialogue), ex=timeout or self.record_exp)
