// What a supervisor can do with any case, in the case's head: take it over (a transfer to
// oneself), re-assign it to an agent picked from the list, or hand it back to the bot
// (POST /agent/conversations/{id}/handback). Drawn again whenever the case's summary changes.

import { ApiError } from "./api.js";
import { clear, h } from "./dom.js";

const ACTIVE = new Set(["queued", "assigned"]);

export class CaseControls {
  /** app: {api, i18n, me, notify(text)} */
  constructor(app) {
    this.app = app;
    this.parts = new WeakMap(); // chat → its controls
  }

  /** Called with a ChatView each time its head is drawn. */
  decorate(chat) {
    const parts = this.parts.get(chat) || this.build(chat);
    const s = chat.summary;
    const active = Boolean(s && ACTIVE.has(s.state));
    const mine = Boolean(s && s.state === "assigned" && s.agent === this.app.me.email);
    parts.takeOver.hidden = !active || mine;
    parts.reassign.hidden = !active;
    parts.handback.hidden = !active;
    if (!active) parts.row.hidden = true;
  }

  build(chat) {
    const { i18n } = this.app;
    const button = (name, text, action) => h("button", {
      className: `button button--small case-${name}`, text, attrs: { type: "button" }, on: { click: action },
    });
    const select = h("select", { className: "reassign-target", attrs: { "aria-label": i18n.t("case.reassign_to") } });
    const row = h("form", { className: "case-reassign", on: { submit: (e) => { e.preventDefault(); this.reassign(chat, parts); } } },
      h("span", { className: "muted", text: i18n.t("case.reassign_to") }), select,
      h("button", { className: "button button--small button--primary", text: i18n.t("case.assign"), attrs: { type: "submit" } }),
      button("reassign-cancel", i18n.t("common.cancel"), () => { row.hidden = true; }));
    row.hidden = true;
    const parts = {
      row, select,
      takeOver: button("take-over", i18n.t("case.take_over"), () => this.takeOver(chat)),
      reassign: button("reassign", i18n.t("case.reassign"), () => this.openReassign(chat, parts)),
      handback: button("handback", i18n.t("case.handback"), () => this.handBack(chat)),
    };
    const box = h("div", { className: "case-supervise", attrs: { role: "group", "aria-label": i18n.t("case.supervisor") } },
      parts.takeOver, parts.reassign, parts.handback);
    chat.root.querySelector(".chat-actions").appendChild(box);
    chat.root.querySelector(".chat-head").after(row);
    this.parts.set(chat, parts);
    return parts;
  }

  /** Runs a supervisor's action; its answer (a summary) redraws the case. */
  async act(chat, name, action, done) {
    chat.alert("");
    try {
      const answer = await action();
      const summary = answer && answer.conversation ? answer.conversation : answer;
      if (summary && summary.id) chat.setSummary(summary);
      chat.refreshCaseSoon();
      this.app.notify(done);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return false;
      chat.alert(this.app.i18n.t("case.failed", { action: this.app.i18n.t(`case.${name}`), error: error.message }));
      if (error instanceof ApiError && error.status === 409) chat.refreshCaseSoon(); // show it as it is now
      return false;
    }
  }

  takeOver(chat) {
    const { api, me, i18n } = this.app;
    return this.act(chat, "take_over", () => api.transfer(chat.id, { agent: me.email }), i18n.t("case.taken_over"));
  }

  handBack(chat) {
    const { api, i18n } = this.app;
    return this.act(chat, "handback", () => api.handback(chat.id), i18n.t("case.handed_back"));
  }

  /** The agents to pick from: everyone but the one who has it; offline agents cannot take a chat. */
  async openReassign(chat, parts) {
    const { api, i18n } = this.app;
    const owner = chat.summary && chat.summary.state === "assigned" ? chat.summary.agent : null;
    let agents = [];
    try {
      agents = (await api.agents()).agents || [];
    } catch (error) {
      if (error.status !== 401) chat.alert(i18n.t("case.failed", { action: i18n.t("case.reassign"), error: error.message }));
      return;
    }
    clear(parts.select);
    agents.filter((a) => a.email !== owner)
      .sort((a, b) => (a.presence === "offline") - (b.presence === "offline") || String(a.name).localeCompare(String(b.name)))
      .forEach((a) => parts.select.appendChild(h("option", {
        text: i18n.t("case.agent_option", {
          name: a.name || a.email, team: i18n.label("team", a.team), presence: i18n.label("presence", a.presence),
          open: i18n.number(a.open_chats),
        }),
        attrs: { value: a.email, disabled: a.presence === "offline" },
      })));
    if (!parts.select.options.length) {
      parts.select.appendChild(h("option", { text: i18n.t("case.nobody"), attrs: { value: "", disabled: true } }));
    }
    parts.row.hidden = false;
    parts.select.focus();
  }

  async reassign(chat, parts) {
    const { api, i18n } = this.app;
    const email = parts.select.value;
    if (!email) return;
    const name = parts.select.selectedOptions[0] ? parts.select.selectedOptions[0].textContent : email;
    const ok = await this.act(chat, "reassign", () => api.transfer(chat.id, { agent: email }),
      i18n.t("case.reassigned", { name: name.split(" (")[0] }));
    if (ok) parts.row.hidden = true;
  }
}
