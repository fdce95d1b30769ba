"""The figures of the volume, speed, bot and satisfaction reports, recounted from the facts
tests/gateway/reports/recount.py read out of the raw histories (shapes: the design's).

Each fact is counted on the day, hour and opening-hours side of its own moment; a figure
with a team uses that team's opening hours, the others the shop's. With `business_hours`,
an event (a start, a handoff, a resolve, a turn) counts only in opening hours, a duration
always, at its opening milliseconds. Figures nobody had yet (started, the bot's, and with an
agent filter the handoffs) are named in `unfiltered`; the handoffs are then left out (null).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from core.types import Channel, Team
from tests.gateway.reports.recount import (
    Facts,
    OpeningMinutes,
    count_median,
    durations,
    share,
    top_texts,
)

CHANNELS = tuple(channel.value for channel in Channel)
TEAMS = tuple(team.value for team in Team)
DEFAULT_TARGET = 120
MAX_COMMENTS = 200


@dataclass(frozen=True, slots=True)
class Query:
    first: date
    last: date
    channel: str | None = None
    team: str | None = None
    agent: str | None = None
    business_hours: bool = False
    target: int | None = None

    def params(self) -> dict[str, str]:
        params = {"from": self.first.isoformat(), "to": self.last.isoformat()}
        for name in ("channel", "team", "agent"):
            if (value := getattr(self, name)) is not None:
                params[name] = value
        if self.business_hours:
            params["business_hours"] = "true"
        if self.target is not None:
            params["target"] = str(self.target)
        return params

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


class Figures:
    """The reports for one query over one set of facts."""

    def __init__(self, facts: Facts, query: Query, hours: OpeningMinutes) -> None:
        self.facts, self.q, self.hours = facts, query, hours

    # --- which facts count ----------------------------------------------------------

    def day(self, at: int) -> date:
        return self.hours.local(at).date()

    def counted(self, at: int, channel: str, hours_of: str | None, *,
                team: str | None = None, agent: str | None = None, by_team: bool = True,
                duration: bool = False) -> bool:
        """In the range, on the channel, in opening hours if asked (a `duration` counts
        whenever it started); `by_team` False: a figure the team and agent filters do not
        apply to."""
        q = self.q
        if not q.first <= self.day(at) <= q.last or (q.channel and channel != q.channel):
            return False
        if by_team and ((q.team and team != q.team) or (q.agent and agent != q.agent)):
            return False
        return duration or not q.business_hours or self.hours.is_open(at, hours_of)

    def unfiltered(self, *figures: str, handoffs: tuple[str, ...] = ()) -> list[str]:
        """The figures a team or agent filter does not apply to; with an agent filter also
        the `handoffs` ones, which nobody had yet (the report leaves them out)."""
        return [*(figures if self.q.team or self.q.agent else ()), *(handoffs if self.q.agent else ())]

    def span(self, start: int, end: int, team: str | None) -> int:
        return self.hours.open_ms(start, end, team) if self.q.business_hours else end - start

    def by_day(self, items: Iterable[tuple[int, Any]]) -> dict[date, list[Any]]:
        days: dict[date, list[Any]] = defaultdict(list)
        for at, value in items:
            days[self.day(at)].append(value)
        return days

    def heatmap(self, moments: Iterable[int]) -> list[list[int]]:
        grid = [[0] * 24 for _ in range(7)]
        for at in moments:
            local = self.hours.local(at)
            grid[local.weekday()][local.hour] += 1
        return grid

    def episodes(self) -> list[Any]:
        return [e for e in self.facts.episodes if self.counted(e.at, e.channel, None, by_team=False)]

    def handoffs(self) -> list[Any]:
        """Handoffs of the team asked for (with an agent filter: left out, see `unfiltered`)."""
        return [h for h in self.facts.handoffs if self.counted(h.at, h.channel, h.team, team=h.team)]

    def first_responses(self) -> list[tuple[int, int]]:
        """(the handoff, its first response's duration) for each answered handoff."""
        return [(h.at, self.span(h.at, h.answered_at, h.answered_team)) for h in self.facts.handoffs
                if h.answered_at is not None and self.counted(h.at, h.channel, h.answered_team, team=h.answered_team,
                                                              agent=h.answered_by, duration=True)]

    def resolves(self) -> list[Any]:
        return [r for r in self.facts.resolves if self.counted(r.at, r.channel, r.team, team=r.team, agent=r.agent)]

    def resolutions(self) -> list[tuple[int, int]]:
        return [(r.at, self.span(r.started, r.at, r.team)) for r in self.facts.resolves if r.started is not None
                and self.counted(r.at, r.channel, r.team, team=r.team, agent=r.agent, duration=True)]

    def waits(self) -> list[tuple[int, int]]:
        return [(x.at, self.span(x.at, x.answered_at, x.team)) for x in self.facts.exchanges
                if self.counted(x.at, x.channel, x.team, team=x.team, agent=x.agent, duration=True)]

    # --- the reports -------------------------------------------------------------------

    def range(self) -> dict[str, Any]:
        q = self.q
        return {"from": q.first.isoformat(), "to": q.last.isoformat(), "timezone": self.hours.hours.timezone.key,
                "business_hours": q.business_hours, "channel": q.channel, "team": q.team, "agent": q.agent}

    def volume(self) -> dict[str, Any]:
        started, handoffs = self.episodes(), self.handoffs()
        started_days = self.by_day((e.at, e.channel) for e in started)
        handoff_days = self.by_day((h.at, h.team) for h in handoffs)
        agent = self.q.agent is not None
        return {
            "range": self.range(),
            "unfiltered": self.unfiltered("started", "heatmap.incoming", handoffs=("handoffs", "heatmap.handoffs")),
            "started": {
                "total": len(started), "by_channel": _counts(CHANNELS, (e.channel for e in started)),
                "by_day": [{"day": day.isoformat(), "total": len(started_days[day]),
                            "by_channel": _counts(CHANNELS, started_days[day])} for day in self.q.days()],
            },
            "handoffs": None if agent else {
                "total": len(handoffs), "by_team": _counts(TEAMS, (h.team for h in handoffs)),
                "by_day": [{"day": day.isoformat(), "total": len(handoff_days[day])} for day in self.q.days()],
            },
            "heatmap": {"incoming": self.heatmap(e.at for e in started),
                        "handoffs": None if agent else self.heatmap(h.at for h in handoffs)},
        }

    def speed(self) -> dict[str, Any]:
        target = self.q.target if self.q.target is not None else DEFAULT_TARGET
        first = self.first_responses()
        resolution, waiting = self.resolutions(), self.waits()
        handling = [(h.at, self.span(h.assigned_at, h.at, h.team)) for h in self.facts.handling
                    if self.counted(h.at, h.channel, h.team, team=h.team, agent=h.agent, duration=True)]
        unanswered = [h for h in self.facts.handoffs if h.unanswered
                      and self.counted(h.at, h.channel, h.ended_team, team=h.ended_team)]
        days = {name: self.by_day(items) for name, items in
                (("first_response", first), ("resolution", resolution), ("waiting", waiting))}
        return {
            "range": self.range(), "unfiltered": self.unfiltered(handoffs=("first_response.unanswered",)),
            "target_seconds": target, "email_same_day": self.email_same_day(),
            "first_response": {**durations([d for _, d in first]),
                               "over_target": sum(d >= target * 1000 for _, d in first),
                               "unanswered": None if self.q.agent else len(unanswered)},
            "resolution": durations([d for _, d in resolution]),
            "waiting": durations([d for _, d in waiting]),
            "handling": durations([d for _, d in handling]),
            "by_day": [{"day": day.isoformat(), **{name: count_median(values[day]) for name, values in days.items()}}
                       for day in self.q.days()],
        }

    def email_same_day(self) -> dict[str, Any] | None:
        if self.q.channel not in (None, "email"):
            return None
        answered = [d for h, d in zip(self.facts.handoffs, self._spans(), strict=True)
                    if d is not None and h.channel == "email"]
        within = sum(d < 24 * 3600 * 1000 for d in answered)
        unanswered = [h for h in self.facts.handoffs if h.unanswered and h.channel == "email"
                      and self.counted(h.at, h.channel, h.ended_team, team=h.ended_team)]
        return {"answered": len(answered), "within_24h": within,
                "rate": round(within / len(answered), 4) if answered else None,
                "unanswered": None if self.q.agent else len(unanswered)}

    def _spans(self) -> list[int | None]:
        """Each handoff's first-response duration, where it is answered and counted."""
        return [self.span(h.at, h.answered_at, h.answered_team)
                if h.answered_at is not None and self.counted(h.at, h.channel, h.answered_team, team=h.answered_team,
                                                              agent=h.answered_by, duration=True) else None
                for h in self.facts.handoffs]

    def bot(self) -> dict[str, Any]:
        started = [b for b in self.facts.bot_episodes if self.counted(b.at, b.channel, None, by_team=False)]
        topics: dict[str, list[bool]] = defaultdict(list)
        for episode in started:
            topics[episode.topic or "none"].append(not episode.handed_off)
        reasons = Counter((h.reason, h.team) for h in self.handoffs())
        turns = [t for t in self.facts.turns if self.counted(t.at, t.channel, None, by_team=False)]
        deflected = sum(not e.handed_off for e in started)
        # Most conversations first; "none", what the bot did not recognise, last.
        ordered = sorted(topics.items(), key=lambda item: (item[0] == "none", -len(item[1]), item[0]))
        return {
            "range": self.range(),
            "unfiltered": self.unfiltered("conversations", "deflected", "deflection_rate", "topics",
                                          "not_understood", handoffs=("handoffs_by_reason",)),
            "conversations": len(started), "deflected": deflected,
            "deflection_rate": share(deflected, len(started)),
            "topics": [{"topic": topic, "conversations": len(flags), "deflected": sum(flags),
                        "deflection_rate": share(sum(flags), len(flags))} for topic, flags in ordered],
            "handoffs_by_reason": None if self.q.agent else [
                {"reason": reason, "team": team, "handoffs": n}
                for (reason, team), n in sorted(reasons.items(), key=lambda i: (-i[1], i[0]))],
            "not_understood": {"turns": len(turns), "top": top_texts(turns)},
        }

    def satisfaction(self) -> dict[str, Any]:
        resolves = self.resolves()
        days = self.by_day((r.at, r) for r in resolves)

        def scores(group: list[Any]) -> dict[str, Any]:
            answers = [r.score for r in group if r.score is not None]
            return {"surveys": len(group), "answers": len(answers),
                    "score": share(sum(score >= 4 for score in answers), len(answers))}

        def grouped(name: str) -> list[dict[str, Any]]:
            groups: dict[str, list[Any]] = defaultdict(list)
            for r in resolves:
                if getattr(r, name) is not None:
                    groups[getattr(r, name)].append(r)
            return [{name: key, **scores(group)} for key, group in sorted(groups.items())]

        overall = scores(resolves)
        comments = sorted((r for r in resolves if r.comment), key=lambda r: (-r.at, r.conversation_id))
        return {
            "range": self.range(), **overall, "response_rate": share(overall["answers"], overall["surveys"]),
            "distribution": _counts(("1", "2", "3", "4", "5"), (str(r.score) for r in resolves if r.score)),
            "by_day": [{"day": day.isoformat(), "answers": scores(days[day])["answers"],
                        "score": scores(days[day])["score"]} for day in self.q.days()],
            "by_team": grouped("team"), "by_agent": grouped("agent"), "by_channel": grouped("channel"),
            "comments": [{"conversation_id": r.conversation_id, "at": r.at, "score": r.score, "comment": r.comment,
                          "channel": r.channel, "team": r.team, "agent": r.agent}
                         for r in comments[:MAX_COMMENTS]],
        }

    def csv_rows(self) -> list[dict[str, str]]:
        """The export: every conversation started in the range (in opening hours, if asked) of
        the channel, and of the team and agent that had it last, oldest first."""
        q = self.q
        rows = []
        for e in sorted(self.episodes(), key=lambda e: (e.at, e.conversation_id)):
            if (q.team and e.team != q.team) or (q.agent and e.agent != q.agent):
                continue
            topic = e.first_bot.topic if e.first_bot is not None and e.first_bot.topic else "none"
            rows.append({"conversation_id": e.conversation_id, "episode": str(e.number), "channel": e.channel,
                         "started_at": self.time(e.at), "first_handoff_at": self.time(e.first_handoff),
                         "first_response_at": self.time(e.first_response), "resolved_at": self.time(e.resolved),
                         "team": e.team or "", "agent": e.agent or "", "topic": topic, "reason": e.reason or "",
                         "outcome": e.outcome, "csat": "" if e.score is None else str(e.score)})
        return rows

    def time(self, at: int | None) -> str:
        return "" if at is None else self.hours.local(at).isoformat()

    def report(self, name: str) -> dict[str, Any]:
        answer: dict[str, Any] = getattr(self, name)()
        return answer


def _counts(names: Iterable[str], values: Iterable[str | None]) -> dict[str, int]:
    counts = dict.fromkeys(names, 0)
    for value in values:
        if value is not None:
            counts[value] = counts.get(value, 0) + 1
    return counts
