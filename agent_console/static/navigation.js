// The console's views and its address: Chats for everyone; Overview, Conversations and
// Reports for supervisors (agents never see those tabs). The hash names the view
// (`#/reports`), and `#/conversations/{id}` opens one case directly, on load too.

import { CaseControls } from "./case_controls.js";
import { ConversationsView } from "./conversations.js";
import { clear, h } from "./dom.js";
import { I18n } from "./i18n.js";
import { OverviewView } from "./overview.js";
import { PrivacyControls } from "./privacy.js";
import { ReportsView } from "./reports.js";

const SUPERVISOR_VIEWS = ["overview", "conversations", "reports"];
const CASE_LINK = /^#\/conversations\/(.+)$/;

export class Navigation {
  /** owner: the Console (api, open(id), agentName(email), notify(text), teams). */
  constructor(owner) {
    this.owner = owner;
    this.i18n = null;
    this.views = null; // name → view, for a supervisor's session
    this.controls = null;
    this.current = "chats";
    this.onHash = () => this.route();
  }

  /** The texts in the agent's language, before anything is drawn. */
  async prepare() {
    this.i18n = await I18n.load(document.body, navigator.languages);
    document.documentElement.lang = this.i18n.language;
    this.i18n.apply(document);
    return this.i18n;
  }

  start(me) {
    const c = this.owner;
    const app = {
      api: c.api, i18n: this.i18n, me, teams: c.teams,
      channels: (document.body.dataset.channels || "").split(" ").filter(Boolean),
      open: (cid) => this.openCase(cid), agentName: c.agentName, notify: (text) => c.notify(text),
    };
    if (me.role === "supervisor") {
      this.views = {
        overview: new OverviewView(document.getElementById("view-overview"), app),
        conversations: new ConversationsView(document.getElementById("view-conversations"), app),
        reports: new ReportsView(document.getElementById("view-reports"), app),
      };
      this.controls = new CaseControls(app);
      this.privacy = new PrivacyControls(app); // a contact's export and erasure, the audit trail
    }
    document.getElementById("me-team").textContent = this.i18n.label("team", me.team);
    this.renderTabs();
    window.addEventListener("hashchange", this.onHash);
    this.route();
  }

  stop() {
    window.removeEventListener("hashchange", this.onHash);
    if (this.views) Object.values(this.views).forEach((view) => view.hide());
    this.views = null; // the next login may be an agent's
    this.controls = null;
    if (this.privacy) this.privacy.destroy();
    this.privacy = null;
    for (const name of SUPERVISOR_VIEWS) clear(document.getElementById(`view-${name}`));
    this.show("chats");
    this.renderTabs();
  }

  renderTabs() {
    const nav = document.getElementById("tabs");
    clear(nav);
    nav.hidden = !this.views;
    if (!this.views) return;
    for (const name of ["chats", ...SUPERVISOR_VIEWS]) {
      nav.appendChild(h("a", {
        className: "tab", text: this.i18n.t(`view.${name}`),
        attrs: { href: `#/${name}`, "aria-current": name === this.current ? "page" : null },
        dataset: { view: name },
      }));
    }
  }

  /** The view (and the case) the address names; what a user may not see falls back to Chats. */
  async route() {
    const hash = location.hash;
    const link = CASE_LINK.exec(hash);
    if (link) {
      this.show("chats");
      await this.owner.open(decodeURIComponent(link[1]));
      return;
    }
    const name = hash.replace(/^#\//, "");
    this.show(this.views && SUPERVISOR_VIEWS.includes(name) ? name : "chats");
  }

  show(name) {
    this.current = name;
    document.getElementById("app").dataset.view = name;
    for (const view of SUPERVISOR_VIEWS) {
      document.getElementById(`view-${view}`).hidden = view !== name;
      if (this.views && view !== name) this.views[view].hide();
    }
    document.querySelectorAll("#tabs .tab").forEach((tab) => {
      if (tab.dataset.view === name) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    });
    if (this.views && this.views[name]) this.views[name].show();
  }

  /** A case from a list, a report or an alert: through the address, so Back returns to the list. */
  openCase(cid) {
    const hash = `#/conversations/${encodeURIComponent(cid)}`;
    if (location.hash === hash) this.route();
    else location.hash = hash;
  }

  /** A chat column was closed: the address no longer names its case (a reload would open it). */
  closed(cid) {
    if (location.hash === `#/conversations/${encodeURIComponent(cid)}`) history.replaceState(null, "", "#/chats");
  }

  /** A conversation or an agent's presence changed (the /agent socket). */
  live() {
    if (this.views) this.views.overview.live();
  }

  /** Every case head, drawn again: the supervisor's buttons. */
  decorate(chat) {
    if (this.controls) this.controls.decorate(chat);
    if (this.privacy) this.privacy.decorate(chat);
  }
}
