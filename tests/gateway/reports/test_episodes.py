"""The episode fold on its own: which facts each event settles, and when a conversation starts."""

from __future__ import annotations

from typing import Any

from core.types import Author, Event, EventKind
from gateway.reports.episodes import IDLE_SECONDS, EpisodeState, FactName, Folded, fold


class Case:
    """Feeds events to the fold one by one, as the feed would, through a JSON round trip."""

    def __init__(self) -> None:
        self.state = EpisodeState()
        self.out = Folded()
        self.at = 1_000_000.0

    def _event(self, kind: EventKind, author: Author | None = None, text: str | None = None, **data: Any) -> None:
        state = EpisodeState.loads(self.state.dumps())
        fold(state, Event("1-0", kind, self.at, author, text, data), conversation_id="c1", channel="web", out=self.out)
        self.state = state

    def after(self, seconds: float) -> Case:
        self.at += seconds
        return self

    def shopper(self, text: str = "hello") -> Case:
        self._event(EventKind.MESSAGE, Author.SHOPPER, text)
        return self

    def bot(self, intent: str | None = "faq", **data: Any) -> Case:
        self._event(EventKind.MESSAGE, Author.BOT, "…", intent=intent, **data)
        return self

    def agent(self) -> Case:
        self._event(EventKind.MESSAGE, Author.AGENT, "Hi", agent="anna@shop.example")
        return self

    def state_to(self, to: str, previous: str, **data: Any) -> Case:
        self._event(EventKind.STATE, **{"from": previous, "to": to, "reason": "x", **data})
        return self

    def csat(self, score: int, comment: str | None = None) -> Case:
        self._event(EventKind.CSAT, Author.SHOPPER, score=score, comment=comment)
        return self

    def facts(self, name: FactName) -> list[Any]:
        return [fact for fact in self.out.facts if fact.name is name]


def test_a_reopened_conversation_starts_again_and_its_handoff_starts_a_new_clock() -> None:
    case = Case().shopper().bot().state_to("queued", "bot", team="logistics").after(30).agent()
    case.after(60).state_to("resolved", "assigned").after(5).shopper("4").csat(4)
    assert len(case.facts(FactName.STARTED)) == 1, "a survey answer is no new conversation"
    case.after(3600).shopper("one more thing").state_to("bot", "resolved").bot()
    case.state_to("queued", "bot", team="billing").after(200).agent()
    assert len(case.facts(FactName.STARTED)) == 2 and case.state.episode == 2
    assert [f.span[1] - f.span[0] for f in case.facts(FactName.FIRST_RESPONSE)] == [30, 200]
    assert [f.label for f in case.facts(FactName.CSAT)] == ["4"]


def test_a_hand_back_leaves_an_unanswered_handoff_and_keeps_the_conversation() -> None:
    case = Case().shopper().bot("request_human").state_to("queued", "bot", team="general")
    case.after(100).state_to("bot", "queued").after(10).shopper("where is my order").bot("order_status")
    assert len(case.facts(FactName.UNANSWERED)) == 1
    assert len(case.facts(FactName.STARTED)) == 1
    assert case.state.outcome == "handed_back" and case.state.topic == "request_human"
    case.state_to("queued", "bot", team="logistics").after(40).agent()
    assert [f.span[1] - f.span[0] for f in case.facts(FactName.FIRST_RESPONSE)] == [40]
    # The bot's part after the hand back is a bot episode of its own, with its own topic.
    assert [f.at - 1_000_000 for f in case.facts(FactName.BOT_EPISODE)] == [0, 110]
    assert [(f.at - 1_000_000, f.label) for f in case.facts(FactName.TOPIC)] == [(0, "request_human"),
                                                                              (110, "order_status")]
    assert len(case.facts(FactName.HANDED)) == 2, "each bot episode ended in a handoff"


def test_a_hand_back_the_shopper_does_not_answer_is_no_bot_episode() -> None:
    case = Case().shopper().bot("greet").state_to("queued", "bot", team="general")
    case.after(100).state_to("bot", "queued").after(10).state_to("resolved", "bot")
    assert len(case.facts(FactName.BOT_EPISODE)) == 1 and case.facts(FactName.TOPIC) == []
    assert len(case.facts(FactName.HANDED)) == 1


def test_a_bot_chat_resumed_after_a_day_of_silence_is_a_new_conversation() -> None:
    case = Case().shopper().bot("greet").after(IDLE_SECONDS - 1).shopper().bot()
    assert len(case.facts(FactName.STARTED)) == 1
    case.after(IDLE_SECONDS + 1).shopper().bot()
    assert len(case.facts(FactName.STARTED)) == 2
    # Silence is from the last shopper or bot message; an order notification does not break it.
    case.after(3600).bot().after(IDLE_SECONDS - 1).shopper().bot()
    assert len(case.facts(FactName.STARTED)) == 2
    case.after(60).bot(None, notification={"order_id": "1", "status": "shipped"}).after(IDLE_SECONDS).shopper()
    assert len(case.facts(FactName.STARTED)) == 3


def test_waiting_counts_each_exchange_once_and_notices_do_not_answer() -> None:
    case = Case().shopper().after(1).shopper().after(2).bot().after(5).shopper()
    case._event(EventKind.MESSAGE, Author.SYSTEM, "You are number 2 in the queue")
    case.bot(None, notification={"order_id": "1", "status": "shipped"}).after(4).bot()
    assert [f.span[1] - f.span[0] for f in case.facts(FactName.WAITING)] == [3, 4]


def test_a_not_understood_turn_is_counted_once_with_what_the_shopper_wrote() -> None:
    case = Case().shopper("Mein  Paket  ist NASS").bot("nlu_fallback").bot("nlu_fallback")
    assert [f.text for f in case.facts(FactName.NOT_UNDERSTOOD)] == ["mein paket ist nass"]
    assert case.state.topic is None
