"""The supervisor's Reports view and the supervisor views, in Chromium, on the demo history.

One gateway for the module, on the shop's real opening hours (config/business_hours.yml:
the business-hours filter must change something), over the demo history loaded once as
`storechat demo-data` loads it (here two weeks: the cushion cover's defect and a week
before it), and three shoppers waiting now. The figures the page shows are compared with
what the API answers the same session for the same query, never with numbers written here.

    .venv/bin/python tests/browser/screenshot_reports.py   # docs/reports.png, docs/supervisor.png
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, expect
from redis.asyncio import Redis

from core.types import Channel, Team
from gateway.app import build_reports
from gateway.desk.agents import AgentRole, AgentStore
from gateway.desk.business_hours import BusinessHours
from gateway.run.history.demo import DemoTruth
from gateway.run.history.load import load_demo_history
from gateway.run.history.writer import SUPERVISOR, Scenario
from gateway.settings import REPO_ROOT, Settings
from tests.browser.test_console import run
from tests.support import free_port, gateway_process

SUPERVISOR_PASSWORD = "reports-test-password"
SUPERVISOR_NAME = "Sven Berg"
# Product: no shopper waits there, so logging in does not auto-assign one of WAITING.
AGENT_EMAIL = "carla@nordlicht-home.example"
AGENT_PASSWORD = "reports-agent-password"
AGENT_NAME = "Carla Brandt"
SHOP_HOURS = REPO_ROOT / "config" / "business_hours.yml"
# Where the README's pictures go (screenshot_reports.py sets it); those take the whole demo.
SCREENSHOTS = os.environ.get("STORECHAT_REPORTS_SCREENSHOTS")
# Two weeks hold the defect and a week before it; the eight `storechat demo-data` writes take 100 s.
WEEKS = 8 if SCREENSHOTS else 2
# Shoppers waiting now: (team, what they wrote, minutes ago). Logistics and billing: the
# supervisor works in general, and auto-assignment would give a general chat to them.
WAITING = (
    ("logistics", "Meine Zitronenpresse ist seit Tagen nicht angekommen", 12),
    ("logistics", "Wo bleibt mein Paket? Ich warte schon ewig", 4),
    ("billing", "Die Rechnung für die Leinendecke stimmt nicht", 7),
)
SEARCH_WORD = "zitronenpresse"


@dataclass(frozen=True)
class Demo:
    url: str
    truth: DemoTruth
    waiting: dict[str, str]  # conversation id → team


async def _write_waiting(redis: Redis, hours: BusinessHours) -> dict[str, str]:
    now = round(time.time() * 1000)
    scenario = Scenario(redis, hours, until=now)
    waiting = {}
    for n, (team, text, minutes) in enumerate(WAITING):
        chat = await scenario.chat(Channel.WEB, now - minutes * 60_000 - 5_000, f"reports-test-waiting-{n}")
        await chat.shopper(text, after=1)
        await chat.bot("…", "request_human")
        await chat.handoff(team, "shopper_asked")
        waiting[chat.id] = team
    return waiting


@pytest.fixture(scope="module")
def demo(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A gateway on the shop's hours over the demo history, a supervisor and an agent."""
    # Its followers fold what the tests do (take over, hand back) while the module runs; the
    # gateway stops with the module.
    settings = base_settings.replace(port=free_port(), business_hours_file=SHOP_HOURS, report_worker=True)

    async def load() -> tuple[DemoTruth, dict[str, str]]:
        redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
        try:
            await redis.flushdb()
            agents = AgentStore(redis)
            await agents.put(SUPERVISOR, SUPERVISOR_PASSWORD, team=Team.GENERAL, name=SUPERVISOR_NAME,
                             role=AgentRole.SUPERVISOR)
            await agents.put(AGENT_EMAIL, AGENT_PASSWORD, team=Team.PRODUCT, name=AGENT_NAME)
            loaded = await load_demo_history(redis, settings, now=time.time(), weeks=WEEKS)
            hours = BusinessHours.load(SHOP_HOURS)
            waiting = await _write_waiting(redis, hours)
            await build_reports(redis, settings, hours, time.time).drain()
        finally:
            await redis.aclose()
        assert loaded.truth is not None
        return loaded.truth, waiting

    async def forget() -> None:
        redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
        try:
            await redis.flushdb()
        finally:
            await redis.aclose()

    truth, waiting = run(load)
    try:
        with gateway_process(settings, tmp_path_factory.mktemp("reports-gateway-logs") / "gateway.log"):
            yield Demo(f"http://127.0.0.1:{settings.port}", truth, waiting)
    finally:
        # The tests' Redis is shared: the history and the agents left online here would be
        # the next module's (an online agent takes a handoff a later test expects queued).
        run(forget)


@dataclass(frozen=True)
class Session:
    """A logged-in console, with every URL its browser context asked for and every script error."""

    page: Page
    requests: list[str]
    errors: list[str]

    def last(self, report: str) -> str:
        """The URL of the newest request for `report` (e.g. "volume")."""
        return [url for url in self.requests if f"/api/v1/agent/reports/{report}?" in url][-1]


@pytest.fixture
def supervisor(browser: Browser, demo: Demo) -> Iterator[Session]:
    """A supervisor's console in German."""
    session = console(browser, demo, SUPERVISOR, SUPERVISOR_PASSWORD)
    yield session
    session.page.context.close()


def console(browser: Browser, demo: Demo, email: str, password: str, path: str = "") -> Session:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="de-DE",
                                  timezone_id="Europe/Berlin")
    page = context.new_page()
    page.set_default_timeout(20_000)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{demo.url}/console{path}")
    page.locator('#login-form input[name="email"]').fill(email)
    page.locator('#login-form input[name="password"]').fill(password)
    page.locator('#login-form button[type="submit"]').click()
    expect(page.locator("#app")).to_be_visible()
    return Session(page, requests, errors)


def api(page: Page, url: str) -> dict[str, Any]:
    """What the API answers this page's session (its cookies) for `url`."""
    response = page.request.get(url)
    assert response.status == 200, response.text()
    answer: dict[str, Any] = response.json()
    return answer


def shown(page: Page, section: str, kpi: str) -> str:
    text: str = page.locator(f'.report[data-report="{section}"] [data-kpi="{kpi}"] dd').inner_text()
    return text


def formatted(page: Page, how: str, value: Any) -> str:
    """`value` as the console writes it (its I18n: number, percent or duration)."""
    text: str = page.evaluate("([how, value]) => window.storechatConsole.navigation.i18n[how](value)", [how, value])
    return text


def open_reports(page: Page) -> Request:
    """The Reports tab, clicked: the volume report's request, once every section is drawn."""
    with page.expect_request("**/api/v1/agent/reports/volume?*") as volume:
        page.locator('#tabs .tab[data-view="reports"]').click()
    drawn(page)
    return volume.value


def drawn(page: Page) -> None:
    """Every section has its answer (the view drops its data-loading then)."""
    expect(page.locator("#view-reports")).not_to_have_attribute("data-loading", "true")
    expect(page.locator('.report[data-report="volume"] [data-kpi="started"]')).to_be_visible()


def check_figures(page: Page, volume_url: str) -> dict[str, Any]:
    """The volume, speed, bot and satisfaction figures shown equal the API's for the page's query."""
    volume = api(page, volume_url)
    query = volume_url.split("?", 1)[1]
    base = volume_url.split("/volume?", 1)[0]
    speed, bot, satisfaction = (api(page, f"{base}/{name}?{query}") for name in ("speed", "bot", "satisfaction"))
    assert shown(page, "volume", "started") == formatted(page, "number", volume["started"]["total"])
    assert shown(page, "volume", "handoffs") == formatted(page, "number", volume["handoffs"]["total"])
    assert shown(page, "speed", "first-response-median") == formatted(page, "duration", speed["first_response"]["median"])
    assert shown(page, "bot", "deflection") == formatted(page, "percent", bot["deflection_rate"])
    assert shown(page, "satisfaction", "score") == formatted(page, "percent", satisfaction["score"])
    return volume


def test_the_reports_show_the_apis_figures_and_follow_the_filters(supervisor: Session, demo: Demo) -> None:
    page = supervisor.page
    everything = check_figures(page, open_reports(page).url)
    assert everything["started"]["total"] > 500  # the demo history, not an empty shop
    expect(page.locator(".reports-range")).to_contain_text("Europe/Berlin")

    # The charts: Chart.js from the gateway, every chart drawn into a canvas of real size.
    assert page.evaluate("() => typeof window.Chart") == "function"
    assert f"{demo.url}/console/vendor/chart.umd.min.js" in supervisor.requests
    boxes = page.locator(".chart-box")
    assert boxes.count() >= 6
    for n in range(boxes.count()):
        assert boxes.nth(n).get_attribute("data-chart") in ("bar", "line")
        size = boxes.nth(n).locator("canvas").bounding_box()
        assert size is not None and size["width"] > 100 and size["height"] > 50
    by_day = page.locator('[data-panel="started-by-day"] canvas')
    days_drawn = page.evaluate("(canvas) => window.Chart.getChart(canvas).data.datasets"
                               ".flatMap((d) => d.data).reduce((a, b) => a + b, 0)", by_day.element_handle())
    assert days_drawn == everything["started"]["total"]
    # The heatmaps are tables: their cells add up to what came in.
    cells = page.locator('[data-panel="heatmap-incoming"] td').evaluate_all(
        "(cells) => cells.reduce((sum, cell) => sum + Number(cell.dataset.value), 0)")
    assert cells == sum(map(sum, everything["heatmap"]["incoming"]))

    # A channel: the page asks for it, and shows what the API says for it.
    with page.expect_request("**/api/v1/agent/reports/volume?*channel=whatsapp*") as request:
        page.locator('.reports-filters select[name="channel"]').select_option("whatsapp")
    drawn(page)
    whatsapp = check_figures(page, request.value.url)
    assert 0 < whatsapp["started"]["total"] < everything["started"]["total"]
    assert page.locator('.report[data-report="volume"] [data-kpi="started-sms"]').count() == 0

    # Business hours only: another request, other figures (the demo has night and Sunday chats).
    with page.expect_request("**/api/v1/agent/reports/volume?*business_hours=true*") as request:
        page.locator('.reports-filters input[name="business_hours"]').check()
    drawn(page)
    in_hours = check_figures(page, request.value.url)
    assert parse_qs(urlsplit(request.value.url).query)["channel"] == ["whatsapp"]
    assert in_hours["started"]["total"] < whatsapp["started"]["total"]
    expect(page.locator(".reports-range")).to_contain_text("nur Geschäftszeiten")
    csv = page.locator("#view-reports a.csv-link").get_attribute("href") or ""
    assert "channel=whatsapp" in csv and "business_hours=true" in csv
    export = page.request.get(demo.url + csv)
    assert export.status == 200 and export.headers["content-type"].startswith("text/csv")

    # A report that fails says so in its own section; the others are still drawn.
    page.route("**/api/v1/agent/reports/complaints?*", lambda route: route.fulfill(
        status=503, content_type="application/json", body='{"error": "unavailable", "message": "gleich wieder da"}'))
    page.locator('.reports-filters select[name="channel"]').select_option("")
    drawn(page)
    expect(page.locator('.report[data-report="complaints"] .report-error')).to_contain_text("gleich wieder da")
    check_figures(page, supervisor.last("volume"))
    assert page.locator('.report[data-report="staffing"] .heatmap').count() == 2

    # Nothing was asked of any other origin, and no script failed.
    foreign = [url for url in supervisor.requests if not url.startswith(demo.url)]
    assert not foreign
    assert not supervisor.errors


def test_an_agent_sees_no_reports_and_the_api_refuses(browser: Browser, demo: Demo) -> None:
    page = console(browser, demo, AGENT_EMAIL, AGENT_PASSWORD, "#/reports").page
    try:
        expect(page.locator("#me-name")).to_have_text(AGENT_NAME)
        expect(page.locator("#app")).to_have_attribute("data-view", "chats")  # the address asked for reports
        expect(page.locator("#tabs")).to_be_hidden()
        expect(page.locator("#view-reports")).to_be_hidden()
        assert page.locator("#view-reports .report").count() == 0
        for path in ("reports/volume", "reports/complaints", "conversations", "overview"):
            assert page.request.get(f"{demo.url}/api/v1/agent/{path}").status == 403, path
    finally:
        page.context.close()


def test_the_overview_shows_who_waits_per_team(supervisor: Session, demo: Demo) -> None:
    page = supervisor.page
    page.locator('#tabs .tab[data-view="overview"]').click()
    expect(page.locator("#view-overview")).to_have_attribute("data-loaded", "true")
    overview = api(page, f"{demo.url}/api/v1/agent/overview")
    for entry in overview["teams"]:
        card = page.locator(f'.team-card[data-team="{entry["team"]}"]')
        expect(card.locator('[data-count="waiting"]')).to_have_text(formatted(page, "number", entry["waiting"]))
    # Those written waiting, and any the demo history left in a queue at its end.
    teams = {entry["team"]: entry for entry in overview["teams"]}
    for team in ("logistics", "billing"):
        assert teams[team]["waiting"] >= list(demo.waiting.values()).count(team)
        assert teams[team]["longest_wait_seconds"] >= min(m for t, _, m in WAITING if t == team) * 60
        expect(page.locator(f'.team-card[data-team="{team}"] .longest')).to_have_text(re.compile(r"^\d+ (Min\.|Std\.|T\.)"))
    expect(page.locator('[data-part="agents"] tr[data-agent="sven@nordlicht-home.example"]')).to_contain_text("Online")


def test_conversations_are_searched_by_text_and_a_case_opens_from_its_link(supervisor: Session, demo: Demo) -> None:
    page = supervisor.page
    wanted = next(iter(demo.waiting))  # the first of WAITING: the lemon squeezer
    page.locator('#tabs .tab[data-view="conversations"]').click()
    expect(page.locator(".conversation").first).to_be_visible()
    with page.expect_request(f"**/api/v1/agent/conversations?*q={SEARCH_WORD}*"):
        page.locator('.conversation-filters input[name="q"]').fill(SEARCH_WORD)
    expect(page.locator(".conversation")).to_have_count(1)
    entry = page.locator(".conversation").first
    assert entry.get_attribute("data-conversation-id") == wanted
    expect(entry).to_contain_text("Zitronenpresse")

    # One click opens the case; the address names it.
    entry.locator(".conversation-open").click()
    chat = page.locator(f'.chat[data-conversation-id="{wanted}"]')
    expect(chat).to_be_visible()
    assert page.evaluate("() => location.hash") == f"#/conversations/{wanted}"

    # The supervisor takes it over, then hands it back to the bot.
    chat.locator(".case-take-over").click()
    expect(chat.locator(".case-take-over")).to_be_hidden()
    assert api(page, f"{demo.url}/api/v1/agent/conversations/{wanted}")["conversation"]["agent"] == SUPERVISOR
    chat.locator(".case-handback").click()
    expect(chat.locator(".case-handback")).to_be_hidden()
    assert api(page, f"{demo.url}/api/v1/agent/conversations/{wanted}")["conversation"]["state"] == "bot"


def test_a_link_to_a_case_opens_it_after_the_login(browser: Browser, demo: Demo) -> None:
    [billing] = [cid for cid, team in demo.waiting.items() if team == "billing"]
    page = console(browser, demo, SUPERVISOR, SUPERVISOR_PASSWORD, f"#/conversations/{billing}").page
    try:
        chat = page.locator(f'.chat[data-conversation-id="{billing}"]')
        expect(chat).to_be_visible()
        expect(chat.locator(".events")).to_contain_text("Leinendecke")
    finally:
        page.context.close()


def test_the_cluster_alert_names_the_defect_and_opens_its_cases(supervisor: Session, demo: Demo) -> None:
    page = supervisor.page
    open_reports(page)
    complaints = api(page, supervisor.last("complaints"))
    [alert] = complaints["alerts"]
    assert alert["product"]["sku"] == demo.truth.defect_sku
    banner = page.locator(f'.alert-banner[data-sku="{demo.truth.defect_sku}"]')
    expect(banner.locator(".alert-title")).to_contain_text(alert["product"]["name"])
    links = banner.locator(".alert-cases a.case-link")
    ids = [links.nth(n).get_attribute("data-conversation-id") for n in range(links.count())]
    assert ids == alert["cases"]
    assert len(set(ids) & set(demo.truth.defect_conversations)) >= 0.8 * len(ids)
    assert banner.locator(".alert-chart canvas").count() == 1

    links.first.click()
    chat = page.locator(f'.chat[data-conversation-id="{ids[0]}"]')
    expect(chat).to_be_visible()
    assert page.evaluate("() => location.hash") == f"#/conversations/{ids[0]}"
    # Back returns to the reports, the alert still there.
    page.go_back()
    expect(banner).to_be_visible()
    if SCREENSHOTS:
        screenshots(page, demo, Path(SCREENSHOTS))


def screenshots(page: Page, demo: Demo, folder: Path) -> None:
    """The README's pictures: the Reports view with its alert, and the Conversations list."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.mouse.move(1, 1)
    page.locator("#view-reports").evaluate("(view) => view.scrollTo(0, 0)")
    page.screenshot(path=str(folder / "reports.png"))
    page.locator('#tabs .tab[data-view="conversations"]').click()
    expect(page.locator(".conversation").first).to_be_visible()
    page.mouse.move(1, 1)
    page.screenshot(path=str(folder / "supervisor.png"))
