"""Hand-offs to a human team, and offers of one (pure; the actions are in dialogue.py).

The signal is the one defined in the issue-3 contract: a custom JSON message
`{"handoff": {"team", "reason"}}` sent after the shopper-facing text; the connector
lifts it into its reply and the gateway queues the conversation for that team.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Optional

from .texts import Texts

TEAMS = ("logistics", "product", "billing", "general")
# Set (as {"team", "reason"}) by the action that offers a human; read in the next turn.
OFFER_SLOT = "handoff_offer"


@dataclass(frozen=True)
class Handoff:
    team: str
    reason: str

    def __post_init__(self) -> None:
        if self.team not in TEAMS:
            raise ValueError(f"unknown team {self.team!r}")

    def signal(self) -> dict[str, Any]:
        return {"handoff": {"team": self.team, "reason": self.reason}}

    def as_slot(self) -> dict[str, str]:
        return {"team": self.team, "reason": self.reason}


# Intents that go straight to a team, with the text said before the hand-off (if any).
DIRECT: Mapping[str, tuple[Handoff, Optional[str]]] = MappingProxyType({
    "request_human": (Handoff("general", "shopper_asked"), None),
    "complain": (Handoff("general", "complaint"), "complaint"),
    "report_damage": (Handoff("product", "damaged_item"), "report_damage"),
    "billing_problem": (Handoff("billing", "billing_problem"), "billing_problem"),
})


def offer_buttons(texts: Texts) -> list[dict[str, str]]:
    return [
        {"title": texts("button_human"), "payload": "/request_human"},
        {"title": texts("button_no_thanks"), "payload": "/deny"},
    ]


def offered_handoff(events: Iterable[Mapping[str, Any]]) -> Optional[Handoff]:
    """The hand-off offered in the bot's turn right before the latest user message."""
    offer: Optional[Handoff] = None
    seen_latest_user = False
    for event in reversed(list(events)):
        kind = event.get("event")
        if kind == "user":
            if seen_latest_user:
                break
            seen_latest_user = True
        elif kind == "session_started":
            # Slots carried into a new session (or a trimmed tracker) are no offer.
            return None
        elif seen_latest_user and offer is None and kind == "slot" and event.get("name") == OFFER_SLOT:
            value = event.get("value")
            if not (isinstance(value, Mapping) and value.get("team") in TEAMS):
                return None
            offer = Handoff(str(value["team"]), str(value.get("reason") or "shopper_asked"))
    return offer
