// For supervisors: how the proactive chat offers do, per rule (GET /agent/proactive).

import { clear, h, words } from "./dom.js";

const REFRESH_MS = 60000;
// count → its label; "ordered" is the API's converted: an order placed in the session after the offer.
const COUNTS = { shown: "shown", accepted: "accepted", declined: "declined", converted: "ordered" };

function percent(rate) {
  const value = Number(rate);
  return Number.isFinite(value) ? `${Math.round(value * 1000) / 10} %` : "—";
}

function cell(label, value, name, title) {
  return h("div", { attrs: { title } },
    h("dt", { text: label }), h("dd", { text: value, dataset: name ? { count: name } : {} }));
}

/** One block per rule: its name and target, then the counts and the conversion rate. */
function ruleList(rules) {
  return h("ul", { className: "proactive-rules" }, rules.map((rule) => h("li", { dataset: { rule: rule.rule } },
    h("p", { className: "rule-name" },
      h("span", { text: words(rule.rule) }), h("span", { className: "rule-target", text: ` · to ${rule.target}` })),
    h("dl", { className: "rule-counts" },
      Object.entries(COUNTS).map(([name, label]) => cell(label, String(rule[name] ?? 0), name, null)),
      cell("rate", percent(rule.conversion_rate), null, "ordered ÷ shown: orders placed in the session after the offer")))));
}

/** The sidebar section `section` (hidden for agents): a block per rule, refreshed every minute. */
export class ProactivePanel {
  constructor(section, api) {
    this.section = section;
    this.api = api;
    this.timer = null;
    this.box = section.querySelector(".proactive-report");
    section.querySelector(".proactive-refresh").addEventListener("click", () => this.load());
  }

  start() {
    this.section.hidden = false;
    this.load();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.load(), REFRESH_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.section.hidden = true;
    clear(this.box);
  }

  async load() {
    try {
      const report = await this.api.proactive();
      const rules = Array.isArray(report.rules) ? report.rules : [];
      clear(this.box).appendChild(rules.length ? ruleList(rules) : h("p", { className: "empty", text: "No rules configured." }));
    } catch (error) {
      if (error.status !== 401) clear(this.box).appendChild(h("p", { className: "empty", text: `Could not load: ${error.message}` }));
    }
  }
}
