// The reports' filter bar: a date range (the last 28 days unless chosen), channel, team,
// agent, business hours only; and the CSV export link with the same filters (`csv`, placed
// by the view).

import { clear, h } from "./dom.js";

const DEFAULT_DAYS = 28;
const PRESETS = [7, 28, 90];
const CSV_PATH = "/api/v1/agent/reports/conversations.csv";

/** A local calendar day as YYYY-MM-DD (not toISOString: that is the UTC day). */
export function isoDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The last `days` days up to today: {from, to}. */
export function lastDays(days, today = new Date()) {
  const first = new Date(today.getFullYear(), today.getMonth(), today.getDate() - (days - 1), 12);
  return { from: isoDay(first), to: isoDay(today) };
}

function select(name, label, options) {
  return h("label", { className: "filter" }, h("span", { className: "filter-label", text: label }),
    h("select", { attrs: { name } }, options.map(([value, text]) => h("option", { text, attrs: { value } }))));
}

export class ReportFilters {
  /** app: {i18n, api, teams, channels}; onChange(params) after every change. */
  constructor(root, app, onChange) {
    this.root = root;
    this.app = app;
    this.onChange = onChange;
    this.form = null;
    this.csv = null;
  }

  render() {
    const { i18n, teams, channels } = this.app;
    const range = lastDays(DEFAULT_DAYS);
    this.csv = h("a", { className: "button csv-link", text: i18n.t("reports.csv"),
      attrs: { href: CSV_PATH, download: "conversations.csv" } });
    this.form = h("form", { className: "report-filters", attrs: { "aria-label": i18n.t("reports.filters") },
      on: { submit: (e) => e.preventDefault(), change: () => this.changed() } },
    h("label", { className: "filter" }, h("span", { className: "filter-label", text: i18n.t("reports.from") }),
      h("input", { attrs: { type: "date", name: "from", value: range.from, required: true } })),
    h("label", { className: "filter" }, h("span", { className: "filter-label", text: i18n.t("reports.to") }),
      h("input", { attrs: { type: "date", name: "to", value: range.to, required: true } })),
    h("div", { className: "presets", attrs: { role: "group", "aria-label": i18n.t("reports.presets") } },
      PRESETS.map((days) => h("button", { className: "button button--small", text: i18n.t("reports.last_days", { n: days }),
        attrs: { type: "button" }, dataset: { days }, on: { click: () => this.preset(days) } }))),
    select("channel", i18n.t("common.channel"), [["", i18n.t("reports.all_channels")],
      ...channels.map((c) => [c, i18n.label("channel", c)])]),
    select("team", i18n.t("common.team"), [["", i18n.t("reports.all_teams")], ...teams.map((t) => [t, i18n.label("team", t)])]),
    select("agent", i18n.t("common.agent"), [["", i18n.t("reports.all_agents")]]),
    h("label", { className: "filter filter--check" },
      h("input", { attrs: { type: "checkbox", name: "business_hours" } }),
      h("span", { text: i18n.t("reports.business_hours") })));
    clear(this.root).appendChild(this.form);
    this.updateCsv();
    this.loadAgents();
    return this.form;
  }

  async loadAgents() {
    let agents = [];
    try {
      agents = (await this.app.api.agents()).agents || [];
    } catch (e) {
      return; // the filter offers "all agents" only
    }
    const box = this.form.elements.agent;
    agents.sort((a, b) => String(a.name).localeCompare(String(b.name), this.app.i18n.locale))
      .forEach((agent) => box.appendChild(h("option", { text: `${agent.name} (${this.app.i18n.label("team", agent.team)})`,
        attrs: { value: agent.email } })));
  }

  preset(days) {
    const range = lastDays(days);
    this.form.elements.from.value = range.from;
    this.form.elements.to.value = range.to;
    this.changed();
  }

  /** The filters as the report API's query: empty ones left out. */
  params() {
    const f = this.form.elements;
    let [from, to] = [f.from.value, f.to.value];
    if (from && to && from > to) [from, to] = [to, from];
    const params = { from, to };
    for (const name of ["channel", "team", "agent"]) if (f[name].value) params[name] = f[name].value;
    if (f.business_hours.checked) params.business_hours = "true";
    return params;
  }

  updateCsv() {
    this.csv.href = `${CSV_PATH}?${new URLSearchParams(this.params())}`;
  }

  changed() {
    const f = this.form.elements;
    if (!f.from.value || !f.to.value) return; // a date being typed
    this.updateCsv();
    this.onChange(this.params());
  }
}
