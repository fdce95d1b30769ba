"""The report answers of the Agent API (`/agent/reports/...`): the models that write them and
generate their OpenAPI schemas. What each figure means is in the README ("Reports")."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from gateway.json_input import Body

Grid = list[list[int]]
Seconds = float | None


class ReportRange(Body):
    # "from" is a Python keyword: the field has another name, the JSON the API's.
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)

    from_: str = Field(alias="from", description="first day (YYYY-MM-DD, shop time zone)")
    to: str = Field(description="last day, inclusive")
    timezone: str = Field(description="the shop's time zone (config/business_hours.yml)")
    business_hours: bool = Field(description="only what happened in opening hours, durations inside them")
    channel: str | None
    team: str | None
    agent: str | None


class Report(Body):
    range: ReportRange


class DayStarted(Body):
    day: str
    total: int
    by_channel: dict[str, int]


class Started(Body):
    total: int
    by_channel: dict[str, int]
    by_day: list[DayStarted]


class DayCount(Body):
    day: str
    total: int


class Handoffs(Body):
    total: int
    by_team: dict[str, int]
    by_day: list[DayCount]


class Heatmaps(Body):
    incoming: Grid = Field(description="conversations started, 7 rows (Monday first) × 24 local hours")
    handoffs: Grid | None = Field(description="handoffs, 7 × 24; null with an agent filter (see unfiltered)")


class VolumeReport(Report):
    unfiltered: list[str] = Field(description="figures a team or agent filter does not apply to: shown for "
                                  "everyone, or null where nobody had them yet (handoffs, with an agent filter)")
    started: Started
    handoffs: Handoffs | None = Field(description="null with an agent filter: a handoff is no agent's yet")
    heatmap: Heatmaps


class Durations(Body):
    count: int
    median: Seconds = Field(description="seconds, at the resolution of its histogram bucket")
    p90: Seconds
    mean: Seconds = Field(description="seconds, exact to the millisecond")


class FirstResponse(Durations):
    over_target: int = Field(description="first responses of `target` seconds or longer (target_seconds)")
    unanswered: int | None = Field(description="handoffs resolved or handed back before an agent wrote; "
                                   "null with an agent filter")


class CountMedian(Body):
    count: int
    median: Seconds


class DaySpeed(Body):
    day: str
    first_response: CountMedian
    resolution: CountMedian
    waiting: CountMedian


class SameDay(Body):
    answered: int = Field(description="e-mail handoffs a person answered")
    within_24h: int = Field(description="of those, first answered within 24 hours of the handoff")
    rate: float | None = Field(description="within_24h / answered; null without an answered one")
    unanswered: int | None = Field(description="e-mail handoffs resolved or handed back before an agent wrote; "
                                   "null with an agent filter")


class SpeedReport(Report):
    unfiltered: list[str] = Field(description="figures an agent filter does not apply to (left out: null)")
    target_seconds: int
    email_same_day: SameDay | None = Field(description="the e-mail target, answered the same day (within 24 h); "
                                           "null with a filter for another channel")
    first_response: FirstResponse
    resolution: Durations
    waiting: Durations
    handling: Durations = Field(description="from an agent's first assignment to the resolve or hand back")
    by_day: list[DaySpeed]


class Topic(Body):
    topic: str = Field(description="order_status is \"where is my order?\"; faq/<topic>; "
                       "none: nothing recognised before the handoff or the end")
    conversations: int
    deflected: int
    deflection_rate: float | None


class Reason(Body):
    reason: str
    team: str
    handoffs: int


class TextCount(Body):
    text: str
    count: int


class NotUnderstood(Body):
    turns: int
    top: list[TextCount]


class BotReport(Report):
    unfiltered: list[str] = Field(description="figures a team or agent filter does not apply to: shown for "
                                  "everyone, or null where nobody had them yet (handoffs_by_reason, with an "
                                  "agent filter)")
    conversations: int = Field(description="bot episodes: conversations, and again what follows a hand back")
    deflected: int
    deflection_rate: float | None
    topics: list[Topic]
    handoffs_by_reason: list[Reason] | None = Field(description="null with an agent filter")
    not_understood: NotUnderstood


class Scores(Body):
    surveys: int
    answers: int
    score: float | None = Field(description="share of answers that are 4 or 5")


class DayScores(Body):
    day: str
    answers: int
    score: float | None


class TeamScores(Scores):
    team: str


class AgentScores(Scores):
    agent: str


class ChannelScores(Scores):
    channel: str


class Comment(Body):
    conversation_id: str
    at: int = Field(description="milliseconds since the epoch (the resolve)")
    score: int | None
    comment: str
    channel: str
    team: str | None
    agent: str | None
    feedback: str | None = Field(description="praise, suggestion or complaint")


class SatisfactionReport(Report, Scores):
    response_rate: float | None
    distribution: dict[str, int]
    by_day: list[DayScores]
    by_team: list[TeamScores]
    by_agent: list[AgentScores]
    by_channel: list[ChannelScores]
    comments: list[Comment] = Field(description="newest first, at most 200")


class StaffingForecast(Body):
    week_of: str = Field(description="the Monday the forecast week starts")
    handoffs: list[list[float]] = Field(description="expected handoffs, 7 × 24 (Monday first, local hours)")
    needed: Grid = Field(description="agents needed for them, 7 × 24")


class StaffingReport(Report):
    service_level: float = Field(description="share of handoffs to answer within answer_within_seconds")
    answer_within_seconds: int
    concurrency: int = Field(description="chats one agent works at once")
    handling_seconds: float = Field(description="mean time an agent holds a chat, measured in the range")
    handling_measured: bool = Field(description="false: no chat was handled in the range; 600 s is assumed")
    needed: Grid = Field(description="agents needed per weekday × hour for the range's handoffs (Erlang C)")
    forecast: StaffingForecast | None = Field(description="next week; null with less than a week of history")


class ProactiveRuleResult(Body):
    rule: str
    target: str = Field(description="bot or human: who the offer puts the shopper through to")
    shown: int
    accepted: int
    declined: int
    converted: int = Field(description="an order placed in the offer's browsing session")
    conversion_rate: float = Field(description="converted / shown, 0 when none was shown")


class ProactiveRangeReport(Report):
    unfiltered: list[str] = Field(description="figures a filter did not apply to (offers have no team, agent or hours)")
    rules: list[ProactiveRuleResult] = Field(description="every rule of the rules file, over the range")
    today: list[ProactiveRuleResult] = Field(description="the same for today (shop time)")


class NotificationsSent(Body):
    status: str
    channel: str
    count: int


class WismoSide(Body):
    orders: int = Field(description="orders shipped in the range on this side")
    contacts: int = Field(description="conversations asking where such an order is, after it shipped")
    per_100: float | None = Field(description="contacts per 100 of these orders; null without orders")


class Wismo(Body):
    notified: WismoSide = Field(description="orders the shopper was told had shipped")
    not_notified: WismoSide


class NotificationsReport(Report):
    unfiltered: list[str] = Field(description="figures a filter did not apply to (WISMO has no channel, team or agent)")
    sent: list[NotificationsSent] = Field(description="order-status messages sent, by status and channel")
    wismo: Wismo = Field(description="'where is my order?' contacts per 100 shipped orders")


class Product(Body):
    sku: str
    name: str


class Theme(Body):
    id: str
    label: str = Field(description="the theme's most telling words")
    terms: list[str]


class ComplaintAlert(Body):
    product: Product | None
    shoppers: int = Field(description="distinct shoppers complaining within window_days")
    window_days: int
    baseline: float = Field(description="the product's usual shoppers per window before this one")
    since: int = Field(description="milliseconds since the epoch: the window's first complaint")
    cases: list[str] = Field(description="the complaints' conversation ids, newest first")
    theme: Theme | None = Field(description="the theme most of these complaints share")


class ClusterDay(Body):
    day: str
    count: int


class ClusterCase(Body):
    conversation_id: str
    at: int
    text: str
    source: str = Field(description="intent, handoff, return or csat: where the complaint was said")


class ComplaintCluster(Body):
    product: Product | None = Field(description="null: no product could be told")
    theme: Theme
    cases: int
    shoppers: int
    trend: list[ClusterDay]
    conversations: list[ClusterCase] = Field(description="the newest complaints of the cluster, at most 20")


class ComplaintsReport(Report):
    unfiltered: list[str] = Field(description="figures a filter did not apply to (alerts are the whole shop's)")
    alerts: list[ComplaintAlert]
    clusters: list[ComplaintCluster] = Field(description="by product and theme, most shoppers first, at most 50")
    feedback: dict[str, int] = Field(description="comments classed as praise, suggestion or complaint")
