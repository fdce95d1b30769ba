// The call-back list (GET /agent/callbacks): who to phone when, soonest first, each with its
// number as a tel: link, its case one click away, and the outcome buttons (POST
// /agent/conversations/{id}/callback). Also the timeline entry of a `callback` case event.
// Text only ever goes in as textContent (dom.js `h`).

import { clear, h } from "./dom.js";
import { kpis, table } from "./report_parts.js";

const REFRESH_MS = 30000;

function when(ms, locale) {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleString(locale || undefined, { weekday: "short", day: "numeric", month: "short",
                                                     hour: "2-digit", minute: "2-digit" });
}

/** The timeline entry of a call-back step. context: {t(key, values)} (timeline.js). */
export function callbackEntry(event, context) {
  const data = event.data || {};
  const locale = document.documentElement.lang || undefined;
  const values = { phone: data.phone || "", slot: when(data.slot, locale), attempts: data.attempts ?? 0,
                   by: data.by || "" };
  const step = data.step || "requested";
  const text = context.t(`callback.step_${step}`, values);
  return h("li", { className: "ev ev--callback", dataset: { eventId: event.id, step } },
    h("div", { className: "ev-head" },
      h("span", { className: "ev-author", text: context.t("callback.title") }),
      h("time", { className: "ev-time", text: when(event.at, locale) })),
    h("p", { className: "ev-request-text", text }));
}

/** The sidebar section `section`: the open call-backs, refreshed every half minute and on news. */
export class CallbackPanel {
  /** app: {api, t(key, values), open(conversationId), notify(text)} (console.js). */
  constructor(section, app) {
    this.section = section;
    this.app = app;
    this.timer = null;
    this.list = section.querySelector(".callback-list");
    this.count = section.querySelector(".count");
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
    clear(this.list);
  }

  async load() {
    let data;
    try {
      data = await this.app.api.request("GET", "/callbacks");
    } catch (error) {
      if (error.status !== 401) clear(this.list).appendChild(h("li", { className: "empty", text: error.message }));
      return;
    }
    const callbacks = Array.isArray(data.callbacks) ? data.callbacks : [];
    this.count.textContent = String(callbacks.length);
    clear(this.list);
    if (!callbacks.length) {
      this.list.appendChild(h("li", { className: "empty", text: this.app.t("callback.none") }));
      return;
    }
    for (const callback of callbacks) this.list.appendChild(this.entry(callback, (data.slots || {})[callback.team] || []));
  }

  entry(callback, slots) {
    const t = (key, values) => this.app.t(key, values);
    const locale = document.documentElement.lang || undefined;
    const moveTo = h("select", { className: "callback-slot", attrs: { "aria-label": t("callback.new_slot") } },
      slots.map((at) => h("option", { text: when(at, locale), attrs: { value: at } })));
    const button = (label, outcome, extra) => h("button", {
      className: "button button--small", text: label, attrs: { type: "button" }, dataset: { outcome },
      on: { click: () => this.record(callback, { outcome, ...extra() }) } });
    return h("li", { className: "callback", dataset: { conversationId: callback.conversation_id } },
      h("p", { className: "callback-when" },
        h("span", { className: "callback-slot-time", text: when(callback.slot, locale) }),
        h("span", { className: "callback-attempts",
                    text: t("callback.attempt", { n: callback.attempts + 1, max: callback.max_attempts }) })),
      h("p", { className: "callback-who" },
        h("a", { className: "callback-phone", text: callback.phone, attrs: { href: `tel:${callback.phone}` } }),
        h("button", { className: "link-button callback-case", text: t("callback.open_case"), attrs: { type: "button" },
                      on: { click: () => this.app.open(callback.conversation_id) } })),
      h("div", { className: "callback-actions" },
        button(t("callback.reached"), "reached", () => ({ resolve: false })),
        button(t("callback.reached_resolve"), "reached", () => ({ resolve: true })),
        button(t("callback.no_answer"), "no_answer", () => ({})),
        moveTo,
        button(t("callback.reschedule"), "rescheduled", () => ({ slot: Number(moveTo.value) }))));
  }

  async record(callback, body) {
    try {
      await this.app.api.request("POST", `/conversations/${encodeURIComponent(callback.conversation_id)}/callback`, body);
      this.app.notify(this.app.t(`callback.recorded_${body.outcome}`));
    } catch (error) {
      if (error.status !== 401) this.app.notify(this.app.t("callback.failed", { error: error.message }));
    }
    await this.load();
  }
}

const STEPS = ["requested", "reached", "no_answer", "rescheduled", "unreachable"];

/** The Reports view's section (GET /agent/reports/callbacks): the range's totals and a row per day. */
export function callbackReport(ctx, data) {
  const { i18n } = ctx;
  const totals = (data && data.totals) || {};
  const days = (data && Array.isArray(data.days) ? data.days : []).filter((day) => STEPS.some((step) => day[step]));
  return h("div", {},
    kpis(STEPS.map((step) => ({ name: `callbacks-${step}`, label: i18n.t(`callback.report_${step}`),
                                value: i18n.number(totals[step] ?? 0) }))),
    table([{ label: i18n.t("callback.report_day") }, ...STEPS.map((step) => ({ label: i18n.t(`callback.report_${step}`),
                                                                             numeric: true }))],
          days.map((day) => [i18n.day(day.day), ...STEPS.map((step) => i18n.number(day[step]))]),
          { empty: i18n.t("callback.report_none") }),
    h("p", { className: "report-note", text: i18n.t("callback.report_hint") }));
}
