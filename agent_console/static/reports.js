// The supervisors' Reports view: the filter bar, the complaint alerts, and one section per
// report (GET /api/v1/agent/reports/{report}); agents never see it (the API answers 403).

import { callbackReport } from "./callbacks.js";
import { Charts, loadChartJs } from "./charts.js";
import { clear, h } from "./dom.js";
import { bot, satisfaction } from "./report_bot.js";
import { ReportFilters } from "./report_filters.js";
import { alertBanner, complaints, outreach } from "./report_outreach.js";
import { speed, staffing, volume } from "./report_traffic.js";

// name: the section; reports: what it is drawn from (fetched in parallel); draw(ctx, answers).
const SECTIONS = [
  { name: "volume", reports: ["volume"], draw: (ctx, [data]) => volume(ctx, data) },
  { name: "speed", reports: ["speed"], draw: (ctx, [data]) => speed(ctx, data) },
  { name: "bot", reports: ["bot"], draw: (ctx, [data]) => bot(ctx, data) },
  { name: "satisfaction", reports: ["satisfaction"], draw: (ctx, [data]) => satisfaction(ctx, data) },
  { name: "outreach", reports: ["proactive", "notifications"], draw: (ctx, [p, n]) => outreach(ctx, p, n) },
  { name: "complaints", reports: ["complaints"], draw: (ctx, [data]) => complaints(ctx, data) },
  { name: "callbacks", reports: ["callbacks"], draw: (ctx, [data]) => callbackReport(ctx, data) },
  { name: "staffing", reports: ["staffing"], draw: (ctx, [data]) => staffing(ctx, data) },
];

export class ReportsView {
  /** app: {api, i18n, teams, channels, open(cid), agentName(email)} */
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.charts = new Charts(app.i18n);
    this.generation = 0;
    this.built = false;
    this.sections = new Map();
    this.ctx = { i18n: app.i18n, charts: this.charts, open: (cid) => app.open(cid), agentName: app.agentName };
  }

  build() {
    const { i18n } = this.app;
    const filters = h("div", { className: "reports-filters" });
    this.filters = new ReportFilters(filters, this.app, () => this.load());
    this.filters.render();
    this.rangeLine = h("p", { className: "reports-range muted", attrs: { "aria-live": "polite" } });
    this.alerts = h("div", { className: "reports-alerts" });
    const toc = h("nav", { className: "reports-toc", attrs: { "aria-label": i18n.t("reports.sections") } },
      SECTIONS.map((section) => h("button", {
        className: "link-button", text: i18n.t(`section.${section.name}`), attrs: { type: "button" },
        on: { click: () => this.sections.get(section.name).scrollIntoView({ block: "start" }) },
      })));
    const body = h("div", { className: "reports-sections" }, SECTIONS.map((section) => {
      const node = h("section", { className: "report", dataset: { report: section.name },
        attrs: { "aria-labelledby": `report-${section.name}` } },
      h("h2", { className: "report-title", text: i18n.t(`section.${section.name}`), attrs: { id: `report-${section.name}` } }),
      h("div", { className: "report-body" }));
      this.sections.set(section.name, node);
      return node;
    }));
    clear(this.root).append(
      h("header", { className: "reports-head" },
        h("h1", { className: "view-title", text: i18n.t("view.reports") }), this.rangeLine, this.filters.csv),
      filters, this.alerts, toc, body);
    this.built = true;
  }

  async show() {
    if (!this.built) {
      this.build();
      try {
        await loadChartJs();
      } catch (e) {
        /* tables and figures still show; the charts say the library is missing */
      }
      await this.load();
    }
  }

  /** Every section again, for the current filters; answers to an older request are dropped. */
  async load() {
    const generation = ++this.generation;
    const params = this.filters.params();
    this.charts.destroyAll();
    this.root.dataset.loading = "true";
    clear(this.alerts);
    for (const body of this.root.querySelectorAll(".report-body")) {
      clear(body).appendChild(h("p", { className: "empty", text: this.app.i18n.t("reports.loading") }));
    }
    await Promise.all(SECTIONS.map((section) => this.loadSection(section, params, generation)));
    if (generation === this.generation) delete this.root.dataset.loading;
  }

  async loadSection(section, params, generation) {
    const body = this.sections.get(section.name).querySelector(".report-body");
    let answers;
    try {
      answers = await Promise.all(section.reports.map((report) => this.app.api.report(report, params)));
    } catch (error) {
      if (generation !== this.generation || error.status === 401) return;
      clear(body).appendChild(h("p", { className: "report-error", attrs: { role: "status" },
        text: this.app.i18n.t("reports.failed", { error: error.message }) }));
      return;
    }
    if (generation !== this.generation) return;
    try {
      clear(body).appendChild(section.draw(this.ctx, answers));
    } catch (error) {
      clear(body).appendChild(h("p", { className: "report-error", text: this.app.i18n.t("reports.failed", { error: error.message }) }));
      console.error(error); // a shape the console does not understand: visible to whoever debugs it
    }
    this.sections.get(section.name).dataset.loaded = "true";
    this.describeRange(answers[0]);
    if (section.name === "complaints") {
      const banner = alertBanner(this.ctx, answers[0]);
      clear(this.alerts);
      if (banner) this.alerts.appendChild(banner);
    }
  }

  /** "3 Nov – 30 Nov · Europe/Berlin · business hours only", as the API understood the filters. */
  describeRange(report) {
    const range = report && report.range;
    if (!range) return;
    const { i18n } = this.app;
    const parts = [i18n.t("reports.range", { from: i18n.day(range.from), to: i18n.day(range.to) }), range.timezone];
    if (range.business_hours) parts.push(i18n.t("reports.business_hours_only"));
    this.rangeLine.textContent = parts.filter(Boolean).join(" · ");
  }

  hide() {
    /* the reports stay as they were: coming back shows them at once */
  }

  /** The reports again (the Refresh of the view, or after a long absence). */
  refresh() {
    if (this.built) this.load();
  }
}
