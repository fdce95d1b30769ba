// The supervisors' live Overview: who waits per team and for how long, which agents are
// online, away or offline with their load (GET /agent/overview), and the shoppers' open
// requests per team (GET /agent/requests). Socket.IO `conversation` and `presence` events
// the console receives anyway make it load again, at most once a second.

import { clear, h } from "./dom.js";
import { caseButton, kpis, table } from "./report_parts.js";

const LIVE_DELAY_MS = 1000;
const TICK_MS = 10000;
const PRESENCE_ORDER = { online: 0, away: 1, offline: 2 };
const REQUEST_STATUSES = ["open", "received", "refunded", "rejected"];

/**
 * Waiting per team (gateway/api/supervisor_contract.py `Overview.teams`), every team of the
 * console included, with `since` (ms): when the longest wait began, so it moves on between loads.
 */
export function waitingByTeam(data, teams, now = Date.now()) {
  const found = new Map((Array.isArray(data.teams) ? data.teams : []).map((item) => [item.team, {
    team: item.team,
    waiting: Number(item.waiting || 0),
    since: item.longest_wait_seconds === null || item.longest_wait_seconds === undefined
      ? null : now - Number(item.longest_wait_seconds) * 1000,
  }]));
  for (const team of teams) if (!found.has(team)) found.set(team, { team, waiting: 0, since: null });
  return [...found.values()];
}

export class OverviewView {
  /** app: {api, i18n, teams, open(cid), agentName(email)} */
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.visible = false;
    this.stale = true;
    this.timer = null;
    this.ticker = null;
    this.built = false;
    this.ctx = { i18n: app.i18n, open: (cid) => app.open(cid), agentName: app.agentName };
  }

  build() {
    const { i18n, teams } = this.app;
    this.waiting = h("div", { className: "overview-part", dataset: { part: "waiting" } });
    this.agents = h("div", { className: "overview-part", dataset: { part: "agents" } });
    this.requestsBox = h("div", {});
    this.statusFilter = h("select", { attrs: { name: "status", "aria-label": i18n.t("overview.request_status") },
      on: { change: () => this.loadRequests() } },
    h("option", { text: i18n.t("overview.requests_open"), attrs: { value: "" } }),
    REQUEST_STATUSES.map((status) => h("option", { text: i18n.label("request_status", status), attrs: { value: status } })));
    this.teamFilter = h("select", { attrs: { name: "team", "aria-label": i18n.t("common.team") },
      on: { change: () => this.loadRequests() } },
    h("option", { text: i18n.t("reports.all_teams"), attrs: { value: "" } }),
    teams.map((team) => h("option", { text: i18n.label("team", team), attrs: { value: team } })));
    clear(this.root).append(
      h("header", { className: "view-head" },
        h("h1", { className: "view-title", text: i18n.t("view.overview") }),
        h("button", { className: "button button--small", text: i18n.t("common.refresh"), attrs: { type: "button" },
          on: { click: () => this.load() } })),
      h("section", { className: "overview-section", attrs: { "aria-label": i18n.t("overview.waiting") } },
        h("h2", { className: "report-title", text: i18n.t("overview.waiting") }), this.waiting),
      h("section", { className: "overview-section", attrs: { "aria-label": i18n.t("overview.agents") } },
        h("h2", { className: "report-title", text: i18n.t("overview.agents") }), this.agents),
      h("section", { className: "overview-section", dataset: { part: "requests" },
        attrs: { "aria-label": i18n.t("overview.requests") } },
      h("h2", { className: "report-title", text: i18n.t("overview.requests") },
        h("span", { className: "filters-inline" }, this.teamFilter, this.statusFilter)),
      this.requestsBox));
    this.built = true;
  }

  show() {
    if (!this.built) this.build();
    this.visible = true;
    clearInterval(this.ticker);
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    if (this.stale) this.load();
  }

  hide() {
    this.visible = false;
    clearInterval(this.ticker);
    clearTimeout(this.timer);
  }

  /** Something changed (a conversation's state, an agent's presence): load again soon. */
  live() {
    this.stale = true;
    if (!this.visible) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), LIVE_DELAY_MS);
  }

  async load() {
    this.stale = false;
    await Promise.all([this.loadOverview(), this.loadRequests()]);
  }

  async loadOverview() {
    let data;
    try {
      data = await this.app.api.overview();
    } catch (error) {
      if (error.status !== 401) this.failed(this.waiting, error);
      return;
    }
    this.renderWaiting(waitingByTeam(data, this.app.teams));
    this.renderAgents(Array.isArray(data.agents) ? data.agents : [], data.capacity, data.totals || {});
    this.root.dataset.loaded = "true";
  }

  failed(box, error) {
    clear(box).appendChild(h("p", { className: "report-error", text: this.app.i18n.t("reports.failed", { error: error.message }) }));
  }

  /** How long the longest waiting shopper has waited, in words (moves on with tick()). */
  longest(row, now = Date.now()) {
    return row.since ? this.app.i18n.duration((now - Number(row.since)) / 1000) : "—";
  }

  renderWaiting(rows) {
    const { i18n } = this.app;
    clear(this.waiting).appendChild(h("ul", { className: "team-cards" }, rows.map((row) =>
      h("li", { className: `team-card${row.waiting ? " team-card--waiting" : ""}`, dataset: { team: row.team } },
        h("h3", { className: "team-card-name", text: i18n.label("team", row.team) }),
        h("p", { className: "team-card-count" },
          h("span", { className: "team-card-number", dataset: { count: "waiting" }, text: i18n.number(row.waiting) }),
          ` ${i18n.t("overview.waiting_count")}`),
        h("p", { className: "team-card-wait" }, `${i18n.t("overview.longest")} `,
          h("span", { className: "longest", text: row.waiting ? this.longest(row) : "—",
            dataset: row.since && row.waiting ? { waitingSince: row.since } : {} }))))));
  }

  tick() {
    const now = Date.now();
    this.root.querySelectorAll("[data-waiting-since]").forEach((node) => {
      node.textContent = this.longest({ since: Number(node.dataset.waitingSince) }, now);
    });
  }

  /** Online / away / offline, the load against what auto-assignment gives one agent (capacity). */
  renderAgents(agents, capacity, totals) {
    const { i18n } = this.app;
    const sorted = [...agents].sort((a, b) => (PRESENCE_ORDER[a.presence] ?? 3) - (PRESENCE_ORDER[b.presence] ?? 3)
      || String(a.name).localeCompare(String(b.name), i18n.locale));
    const count = (presence) => totals[presence] ?? agents.filter((a) => a.presence === presence).length;
    clear(this.agents).append(
      kpis([
        ...["online", "away", "offline"].map((presence) => ({
          name: presence, label: i18n.label("presence", presence), value: i18n.number(count(presence)),
        })),
        totals.assigned !== undefined ? { name: "assigned", label: i18n.t("overview.assigned"), value: i18n.number(totals.assigned) } : null,
        totals.free_slots !== undefined ? { name: "free-slots", label: i18n.t("overview.free_slots"),
          value: i18n.number(totals.free_slots), hint: i18n.t("overview.free_slots_hint") } : null,
      ]),
      table(
        [{ label: i18n.t("common.agent") }, { label: i18n.t("common.team") }, { label: i18n.t("overview.role") },
          { label: i18n.t("overview.presence") }, { label: i18n.t("overview.open_chats"), numeric: true }],
        sorted.map((a) => [a.name || a.email, i18n.label("team", a.team), i18n.label("role", a.role),
          h("span", { className: `presence-badge presence--${a.presence}`, text: i18n.label("presence", a.presence) }),
          capacity ? `${i18n.number(a.open_chats)} / ${i18n.number(capacity)}` : i18n.number(a.open_chats)]),
        { rowData: (cells, n) => ({ agent: sorted[n].email, presence: sorted[n].presence }), empty: i18n.t("overview.no_agents") }));
  }

  async loadRequests() {
    const params = {};
    if (this.teamFilter.value) params.team = this.teamFilter.value;
    if (this.statusFilter.value) params.status = this.statusFilter.value;
    let requests;
    try {
      const answer = await this.app.api.requests(params);
      requests = (answer.teams || []).flatMap((group) => (group.requests || []).map((r) => ({ ...r, team: r.team || group.team })));
    } catch (error) {
      if (error.status !== 401) this.failed(this.requestsBox, error);
      return;
    }
    this.renderRequests(requests);
  }

  /** The requests grouped by team (the team that handles them), newest first. */
  renderRequests(requests) {
    const { i18n, teams } = this.app;
    const order = [...teams, ...new Set(requests.map((r) => r.team).filter((t) => !teams.includes(t)))];
    const groups = order.map((team) => [team, requests.filter((r) => r.team === team)]).filter(([, list]) => list.length);
    const box = clear(this.requestsBox);
    if (!groups.length) {
      box.appendChild(h("p", { className: "empty", text: i18n.t("overview.no_requests") }));
      return;
    }
    for (const [team, list] of groups) {
      box.appendChild(h("div", { className: "request-group", dataset: { team } },
        h("h3", { className: "report-panel-title", text: `${i18n.label("team", team)} · ${i18n.number(list.length)}` }),
        table(
          [{ label: i18n.t("overview.request_kind") }, { label: i18n.t("overview.order") },
            { label: i18n.t("overview.request_status") }, { label: i18n.t("overview.since") },
            { label: i18n.t("overview.reason") }, { label: "" }],
          list.map((r) => [i18n.label("request_kind", r.kind), r.order_id || "—",
            h("span", { className: `status status--${r.status}`, text: i18n.label("request_status", r.status) }),
            i18n.moment(r.created_at), h("span", { className: "shopper-text", text: r.reason || r.note || "" }),
            r.conversation_id ? caseButton(this.ctx, r.conversation_id) : ""]),
          { rowData: (cells, n) => ({ requestId: list[n].id, status: list[n].status }) })));
    }
  }
}
