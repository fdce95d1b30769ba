// The supervisors' Conversations view: every conversation, newest activity first
// (GET /agent/conversations), filtered and searched by text, a page at a time by the
// answer's `next` cursor. A click opens the case in the case panel beside the queues.

import { clear, h } from "./dom.js";

const PAGE = 50;
const SEARCH_DELAY_MS = 300;
const STATES = ["bot", "queued", "assigned", "resolved"];
// A button's payload ("/offer_accept{…}", "/csat_no_comment") is what the shopper tapped, not wrote.
const PAYLOAD = /^\/[a-z_]+/;

/** The list's preview of the newest message: a tapped button in words, else the text (as text). */
function previewText(i18n, text) {
  if (!text) return "—";
  return PAYLOAD.test(String(text)) ? i18n.t("conversations.button") : String(text);
}

function choice(name, label, options) {
  return h("label", { className: "filter" }, h("span", { className: "filter-label", text: label }),
    h("select", { attrs: { name } }, options.map(([value, text]) => h("option", { text, attrs: { value } }))));
}

function dateInput(name, label) {
  return h("label", { className: "filter" }, h("span", { className: "filter-label", text: label }),
    h("input", { attrs: { type: "date", name } }));
}

export class ConversationsView {
  /** app: {api, i18n, teams, channels, open(cid), agentName(email)} */
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.built = false;
    this.next = null;
    this.generation = 0;
    this.searchTimer = null;
  }

  build() {
    const { i18n, teams, channels } = this.app;
    const all = i18n.t("conversations.any");
    this.form = h("form", { className: "report-filters conversation-filters", attrs: { role: "search" },
      on: {
        submit: (e) => { e.preventDefault(); this.load(); },
        change: (e) => { if (e.target.name !== "q") this.load(); },
        input: (e) => { if (e.target.name === "q") this.searchSoon(); },
      } },
    h("label", { className: "filter filter--search" }, h("span", { className: "filter-label", text: i18n.t("conversations.search") }),
      h("input", { attrs: { type: "search", name: "q", autocomplete: "off", placeholder: i18n.t("conversations.search_placeholder") } })),
    choice("state", i18n.t("conversations.state"), [["", all], ...STATES.map((s) => [s, i18n.label("state", s)])]),
    choice("team", i18n.t("common.team"), [["", all], ...teams.map((t) => [t, i18n.label("team", t)])]),
    choice("agent", i18n.t("common.agent"), [["", all]]),
    choice("channel", i18n.t("common.channel"), [["", all], ...channels.map((c) => [c, i18n.label("channel", c)])]),
    dateInput("from", i18n.t("reports.from")),
    dateInput("to", i18n.t("reports.to")),
    choice("csat", i18n.t("conversations.csat"), [["", all], ...[1, 2, 3, 4, 5].map((n) => [String(n), `${n} ★`])]));
    this.list = h("ol", { className: "conversation-list", attrs: { "aria-label": i18n.t("view.conversations") } });
    this.status = h("p", { className: "muted conversation-status", attrs: { role: "status" } });
    this.more = h("button", { className: "button", text: i18n.t("conversations.more"), attrs: { type: "button" },
      on: { click: () => this.load({ more: true }) } });
    this.more.hidden = true;
    clear(this.root).append(
      h("header", { className: "view-head" }, h("h1", { className: "view-title", text: i18n.t("view.conversations") })),
      this.form, this.status, this.list, h("p", { className: "more-row" }, this.more));
    this.loadAgents();
    this.built = true;
  }

  async loadAgents() {
    try {
      const { agents } = await this.app.api.agents();
      const box = this.form.elements.agent;
      (agents || []).sort((a, b) => String(a.name).localeCompare(String(b.name), this.app.i18n.locale))
        .forEach((a) => box.appendChild(h("option", { text: a.name || a.email, attrs: { value: a.email } })));
    } catch (e) {
      /* any agent only */
    }
  }

  show() {
    if (!this.built) {
      this.build();
      this.load();
    }
  }

  hide() {
    clearTimeout(this.searchTimer);
  }

  searchSoon() {
    clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => this.load(), SEARCH_DELAY_MS);
  }

  params() {
    const params = { limit: String(PAGE) };
    for (const [name, value] of new FormData(this.form)) {
      const text = String(value).trim();
      if (text) params[name] = text;
    }
    return params;
  }

  /** The first page for the filters, or (`more`) the next page after what is shown. */
  async load({ more = false } = {}) {
    const generation = ++this.generation;
    const params = this.params();
    if (more && this.next) params.cursor = this.next;
    this.more.disabled = true;
    if (!more) this.status.textContent = this.app.i18n.t("reports.loading");
    let page;
    try {
      page = await this.app.api.conversations(params);
    } catch (error) {
      if (generation === this.generation && error.status !== 401) {
        this.status.textContent = this.app.i18n.t("reports.failed", { error: error.message });
      }
      return;
    } finally {
      this.more.disabled = false;
    }
    if (generation !== this.generation) return;
    if (!more) clear(this.list);
    const conversations = Array.isArray(page.conversations) ? page.conversations : [];
    conversations.forEach((summary) => this.list.appendChild(this.entry(summary)));
    this.next = page.next || null;
    this.more.hidden = !this.next;
    const shown = this.list.children.length;
    this.status.textContent = shown
      ? this.app.i18n.t(this.next ? "conversations.shown_more" : "conversations.shown", { n: this.app.i18n.number(shown) })
      : this.app.i18n.t("conversations.none");
  }

  entry(summary) {
    const { i18n } = this.app;
    const agent = summary.agent_name || this.app.agentName(summary.agent) || summary.agent;
    const csat = summary.csat; // the shopper's last score, 1–5, or null
    return h("li", { className: "conversation", dataset: { conversationId: summary.id, state: summary.state } },
      h("button", { className: "conversation-open", attrs: { type: "button" }, on: { click: () => this.app.open(summary.id) } },
        h("span", { className: "conversation-top" },
          h("span", { className: "channel", text: i18n.label("channel", summary.channel) }),
          h("span", { className: `state state--${summary.state}`, text: i18n.label("state", summary.state) }),
          summary.team ? h("span", { className: "team-tag", text: i18n.label("team", summary.team) }) : null,
          agent ? h("span", { className: "agent-tag", text: agent }) : null,
          csat ? h("span", { className: "csat-tag", text: `${csat} ★` }) : null,
          h("time", { className: "muted conversation-time", text: i18n.moment(summary.last_activity_at || summary.updated_at || summary.created_at) })),
        h("span", { className: "preview", text: previewText(i18n, summary.preview) })));
  }
}
