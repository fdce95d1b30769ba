"""The Agent API's reports, `/api/v1/agent/reports/...`: for supervisors, read from the rollups.

Every report takes the same query (`from`, `to`, `channel`, `team`, `agent`,
`business_hours`); without a range it covers the last 28 days up to today, in the
shop's time zone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from core.types import Channel, Team
from gateway.api import reports_contract as contract
from gateway.api.agent import require_agent
from gateway.api.http import ApiError, answer
from gateway.complaints.report import COMPLAINTS
from gateway.desk.agents import AgentRole
from gateway.json_input import Body
from gateway.proactive.service import PROACTIVE
from gateway.reports import buckets, export
from gateway.reports.orders import notifications_report
from gateway.reports.proactive import proactive_report
from gateway.reports.query import MAX_DAYS, ReportQuery
from gateway.reports.service import REPORTS, Reports

DEFAULT_DAYS = 28
QUERY = {
    "from": "first day, YYYY-MM-DD in the shop's time zone (default: 27 days before `to`)",
    "to": "last day, inclusive (default: today)",
    "channel": "web, sms, messenger, whatsapp or email",
    "team": "logistics, product, billing or general",
    "agent": "an agent's email",
    "business_hours": "true: only what happened in opening hours, durations inside them",
}


def _day(params: MultiMapping[str], name: str, default: date) -> date:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(422, "invalid_query", f"{name}: a day as YYYY-MM-DD") from None


def _choice(params: MultiMapping[str], name: str, kind: type[Channel] | type[Team]) -> Any:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        choices = ", ".join(item.value for item in kind)
        raise ApiError(422, "invalid_query", f"{name}: one of {choices}") from None


def report_query(request: web.Request, reports: Reports) -> ReportQuery:
    """The query of a report request, or the 422 that says what is wrong with it."""
    params = request.query
    today = datetime.fromtimestamp(reports.clock(), reports.hours.timezone).date()
    last = _day(params, "to", today)
    first = _day(params, "from", last - timedelta(days=DEFAULT_DAYS - 1))
    hours = params.get("business_hours", "false").lower()
    if hours not in ("true", "false", "1", "0", "yes", "no"):
        raise ApiError(422, "invalid_query", "business_hours: true or false")
    agent = params.get("agent") or None
    if agent is not None and len(agent) > 254:
        raise ApiError(422, "invalid_query", "agent: an email address")
    try:
        return ReportQuery(first, last, reports.hours.timezone, channel=_choice(params, "channel", Channel),
                           team=_choice(params, "team", Team), agent=agent.strip().lower() if agent else None,
                           business_hours=hours in ("true", "1", "yes"))
    except ValueError as exc:
        raise ApiError(422, "invalid_query", f"from/to: {exc} (at most {MAX_DAYS} days)") from None


async def supervisor(request: web.Request) -> Reports:
    session = await require_agent(request, csrf=False)
    if session.agent.role is not AgentRole.SUPERVISOR:
        raise ApiError(403, "not_permitted", "only a supervisor reads the reports")
    return request.config_dict[REPORTS]


def _target(request: web.Request) -> int | None:
    raw = request.query.get("target")
    if not raw:
        return None
    if not raw.isdigit() or not buckets.is_edge(int(raw)):
        raise ApiError(422, "invalid_query", "target: seconds — whole seconds below a minute, 10 s steps below "
                       "10 minutes, whole minutes below an hour, quarter hours below a day, hours beyond")
    return int(raw)


Read = Callable[[Reports, ReportQuery, web.Request], Awaitable[dict[str, Any]]]


def _report(model: type[Body], read: Read) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        reports = await supervisor(request)
        return answer(model, await read(reports, report_query(request, reports), request))
    return handler


async def _volume(reports: Reports, query: ReportQuery, _: web.Request) -> dict[str, Any]:
    return await reports.volume(query)


async def _speed(reports: Reports, query: ReportQuery, request: web.Request) -> dict[str, Any]:
    return await reports.speed(query, _target(request))


async def _bot(reports: Reports, query: ReportQuery, _: web.Request) -> dict[str, Any]:
    return await reports.bot(query)


async def _satisfaction(reports: Reports, query: ReportQuery, _: web.Request) -> dict[str, Any]:
    return await reports.satisfaction(query)


async def _complaints(_: Reports, query: ReportQuery, request: web.Request) -> dict[str, Any]:
    return await request.config_dict[COMPLAINTS].report(query)


async def _proactive(reports: Reports, query: ReportQuery, request: web.Request) -> dict[str, Any]:
    today = datetime.fromtimestamp(reports.clock(), reports.hours.timezone).date()
    return await proactive_report(reports.redis, query, request.config_dict[PROACTIVE].rules.rules, today)


async def _notifications(reports: Reports, query: ReportQuery, _: web.Request) -> dict[str, Any]:
    return await notifications_report(reports.redis, query)


def _number(request: web.Request, name: str, default: float, low: float, high: float) -> float:
    raw = request.query.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise ApiError(422, "invalid_query", f"{name}: a number from {low:g} to {high:g}")
    return value


async def _staffing(reports: Reports, query: ReportQuery, request: web.Request) -> dict[str, Any]:
    return await reports.staffing(
        query, concurrency=int(_number(request, "concurrency", reports.concurrency, 1, 20)),
        service_level=_number(request, "service_level", 0.8, 0.05, 0.99),
        answer_within=int(_number(request, "answer_within", reports.first_response_target, 1, 86_400)),
    )


async def export_conversations(request: web.Request) -> web.StreamResponse:
    """The conversations behind the reports, as CSV (streamed: a range may hold many)."""
    reports = await supervisor(request)
    query = report_query(request, reports)
    name = f"storechat-conversations-{query.first.isoformat()}-{query.last.isoformat()}.csv"
    response = web.StreamResponse(headers={"Content-Type": "text/csv; charset=utf-8",
                                           "Content-Disposition": f'attachment; filename="{name}"'})
    await response.prepare(request)
    async for line in export.csv_lines(reports.redis, query):
        await response.write(line.encode("utf-8"))
    await response.write_eof()
    return response


ROUTES = (
    ("/agent/reports/volume", _report(contract.VolumeReport, _volume)),
    ("/agent/reports/speed", _report(contract.SpeedReport, _speed)),
    ("/agent/reports/bot", _report(contract.BotReport, _bot)),
    ("/agent/reports/satisfaction", _report(contract.SatisfactionReport, _satisfaction)),
    ("/agent/reports/staffing", _report(contract.StaffingReport, _staffing)),
    ("/agent/reports/complaints", _report(contract.ComplaintsReport, _complaints)),
    ("/agent/reports/proactive", _report(contract.ProactiveRangeReport, _proactive)),
    ("/agent/reports/notifications", _report(contract.NotificationsReport, _notifications)),
    ("/agent/reports/conversations.csv", export_conversations),
)


def add_report_routes(api: web.Application) -> None:
    for path, handler in ROUTES:
        api.router.add_get(path, handler)
