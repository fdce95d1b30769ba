// The agent console: login, the queues, up to three chats side by side, live over the
// `/agent` Socket.IO namespace. Everything goes through the Agent API (agent_console/README.md).

import { Api, ApiError } from "./api.js";
import { CallbackPanel } from "./callbacks.js";
import { ChatView } from "./chat.js";
import { Navigation } from "./navigation.js";
import { ProactivePanel } from "./proactive.js";
import { RequestActions } from "./request_actions.js";
import { renderSidebar, tick } from "./sidebar.js";

const MAX_OPEN = 3;
const OPEN_KEY = "storechat.console.open";
const TICK_MS = 10000;
const NOTICE_MS = 6000;

const $ = (id) => document.getElementById(id);

class Console {
  constructor() {
    this.api = new Api(() => this.sessionLost());
    this.me = null;
    this.teams = (document.body.dataset.teams || "").split(" ").filter(Boolean);
    // The teams whose queues this agent reaches (GET /agent/queues answers only those).
    this.queueTeams = [];
    this.summaries = new Map();
    this.unread = new Map();
    this.names = new Map();
    this.chats = new Map(); // id → ChatView, in opening order
    this.socket = null;
    this.ticker = null;
    this.noticeTimer = null;
    this.agentName = (email) => (email ? this.names.get(email) || null : null);
    this.els = { queues: $("queues"), mine: $("mine"), mineCount: $("mine-count"), mineEmpty: $("mine-empty") };
    this.proactive = new ProactivePanel($("proactive"), this.api);
    this.callbacks = new CallbackPanel($("callbacks"), this); // who to phone when (callbacks.js)
    this.navigation = new Navigation(this); // the views (supervisors: overview, conversations, reports)
    $("login-form").addEventListener("submit", (e) => this.login(e));
    $("logout").addEventListener("click", () => this.logout());
    $("presence").addEventListener("change", (e) => this.setPresence(e.target.value));
  }

  /** A text in the agent's language (navigation.js loads them before anything is shown). */
  t(key, values) {
    return this.navigation.i18n ? this.navigation.i18n.t(key, values) : key;
  }

  label(prefix, code) {
    return this.navigation.i18n ? this.navigation.i18n.label(prefix, code) : String(code);
  }

  // ------------------------------------------------------------------ session

  async boot() {
    await this.navigation.prepare();
    try {
      const session = await this.api.me();
      await this.start(session);
    } catch (error) {
      this.showLogin(error instanceof ApiError && error.status === 401 ? "" : error.message);
    }
  }

  showLogin(message) {
    $("boot").hidden = true;
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    const email = $("login-form").elements.email;
    (email.value ? $("login-form").elements.password : email).focus();
  }

  async login(event) {
    event.preventDefault();
    const form = event.target;
    const email = form.elements.email.value.trim();
    const password = form.elements.password.value;
    if (!email || !password) {
      $("login-error").textContent = this.t("console.enter_login");
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const session = await this.api.login(email, password);
      form.elements.password.value = "";
      await this.start(session);
    } catch (error) {
      $("login-error").textContent =
        error.status === 401 ? this.t("console.wrong_login")
          : error.status === 429 ? this.t("console.too_many_logins")
          : error.message || this.t("console.login_failed");
    } finally {
      button.disabled = false;
    }
  }

  async logout() {
    try {
      await this.api.logout();
    } catch (e) {
      /* the session may already be gone: log out locally all the same */
    }
    this.stop();
    this.showLogin(this.t("console.logged_out"));
  }

  sessionLost() {
    if (!this.me) return;
    this.stop();
    this.showLogin(this.t("console.session_ended"));
  }

  async start(session) {
    this.me = session.agent;
    this.names.set(this.me.email, this.me.name);
    $("me-name").textContent = this.me.name;
    $("me-team").textContent = this.me.team;
    $("login").hidden = true;
    $("boot").hidden = true;
    $("app").hidden = false;
    await this.refreshQueues();
    if (this.me.role === "supervisor") this.proactive.start();
    this.callbacks.start();
    this.connect();
    this.ticker = setInterval(() => tick(document), TICK_MS);
    const restored = JSON.parse(sessionStorage.getItem(OPEN_KEY) || "[]");
    for (const id of restored.slice(-MAX_OPEN)) await this.open(id, { focus: false });
    this.navigation.start(this.me); // a deep link (#/conversations/{id}) opens its case now
  }

  stop() {
    this.me = null;
    clearInterval(this.ticker);
    this.proactive.stop();
    this.callbacks.stop();
    this.navigation.stop();
    if (this.socket) {
      this.socket.disconnect();
      this.socket = null;
    }
    for (const chat of this.chats.values()) chat.destroy();
    this.chats.clear();
    this.summaries.clear();
    this.unread.clear();
    $("chats-empty").hidden = false;
  }

  async setPresence(status) {
    try {
      const presence = await this.api.presence(status);
      this.notify(this.t("console.presence_now", { presence: this.label("presence", presence.presence) }));
    } catch (error) {
      if (error.status !== 401) this.notify(this.t("console.presence_failed", { error: error.message }));
    }
  }

  notify(text) {
    clearTimeout(this.noticeTimer);
    $("notice").textContent = text;
    this.noticeTimer = setTimeout(() => {
      $("notice").textContent = "";
    }, NOTICE_MS);
  }

  // ------------------------------------------------------------------ queues

  async refreshQueues() {
    let data;
    try {
      data = await this.api.queues();
    } catch (error) {
      if (error.status !== 401) this.notify(this.t("console.queues_failed", { error: error.message }));
      return;
    }
    // A fresh picture: whatever is no longer queued or mine drops out of the lists.
    for (const [id, summary] of this.summaries) {
      if (!this.chats.has(id) && (summary.state === "queued" || summary.state === "assigned")) this.summaries.delete(id);
    }
    this.queueTeams = Object.keys(data.queues || {});
    for (const list of Object.values(data.queues || {})) list.forEach((s) => this.remember(s));
    (data.mine || []).forEach((s) => this.remember(s));
    (data.agents || []).forEach((a) => this.presence(a));
    this.renderSidebar();
  }

  remember(summary) {
    this.summaries.set(summary.id, summary);
    if (summary.agent && summary.agent_name) this.names.set(summary.agent, summary.agent_name);
  }

  presence(agent) {
    this.names.set(agent.email, agent.name);
    if (this.me && agent.email === this.me.email && agent.presence !== "offline") {
      $("presence").value = agent.presence;
    }
  }

  renderSidebar() {
    if (!this.me) return;
    renderSidebar(this.els, {
      me: this.me,
      teams: this.queueTeams,
      summaries: this.summaries,
      unread: this.unread,
      openIds: new Set(this.chats.keys()),
    }, {
      open: (id) => this.open(id),
      claim: (id) => this.claim(id),
    });
  }

  isMine(summary) {
    return Boolean(summary && summary.state === "assigned" && summary.agent === this.me.email);
  }

  /**
   * Whether this agent still reaches a conversation at the desk (README "Who sees what"): a
   * transfer to another team takes it away. Resolved and bot ones the server decides.
   */
  reaches(summary) {
    if (this.me.role === "supervisor" || this.teams.every((team) => this.queueTeams.includes(team))) return true;
    if (summary.agent === this.me.email) return true;
    if (summary.state !== "queued" && summary.state !== "assigned") return true;
    return this.queueTeams.includes(summary.team);
  }

  /** A summary from the API or the socket: lists, open chats, and a chat newly given to me opens. */
  onSummary(summary, { announce = true } = {}) {
    if (!this.me) return;
    const before = this.summaries.get(summary.id);
    const known = before && before.updated_at > summary.updated_at;
    if (known) return; // an older picture arriving late
    if (!this.reaches(summary)) {
      // Transferred to another team: gone from the lists, and its chat closes.
      this.summaries.delete(summary.id);
      if (this.chats.has(summary.id)) this.close(summary.id);
      this.renderSidebar();
      return;
    }
    const chat = this.chats.get(summary.id);
    // Only what the lists or an open chat show is kept: a long day sees many conversations.
    if (summary.state === "queued" || this.isMine(summary) || chat) this.remember(summary);
    else this.summaries.delete(summary.id);
    if (chat && chat.summary !== summary) chat.setSummaryQuietly(summary);
    if (announce && this.isMine(summary) && !this.isMine(before) && !chat) {
      this.notify(this.t("console.assigned_to_you", { channel: this.label("channel", summary.channel) }));
      if (this.chats.size < MAX_OPEN) this.open(summary.id, { focus: false });
    }
    this.renderSidebar();
  }

  async claim(id) {
    try {
      const summary = await this.api.claim(id);
      this.onSummary(summary, { announce: false }); // the agent's own claim: no "assigned to you"
      await this.open(id);
    } catch (error) {
      if (error.status === 409) {
        let who = this.t("console.another_agent");
        try {
          const whole = await this.api.conversation(id);
          this.onSummary(whole.conversation);
          who = whole.conversation.agent_name || whole.conversation.agent || who;
        } catch (e) {
          /* keep "another agent" */
        }
        this.notify(this.t("console.already_taken", { who }));
        await this.refreshQueues();
      } else if (error.status !== 401) {
        this.notify(this.t("console.claim_failed", { error: error.message }));
      }
    }
  }

  // ------------------------------------------------------------------ chats

  async open(id, { focus = true } = {}) {
    let chat = this.chats.get(id);
    if (!chat) {
      if (this.chats.size >= MAX_OPEN) this.close(this.chats.keys().next().value);
      chat = new ChatView(this.chatApp(), id);
      this.chats.set(id, chat);
      $("chats").appendChild(chat.root);
      $("chats-empty").hidden = true;
      this.saveOpen();
      this.watch(id);
      try {
        await chat.load();
      } catch (error) {
        if (error.status === 404) {
          this.close(id);
          this.notify(this.t("console.gone"));
          return;
        }
        if (error.status !== 401) chat.alert(this.t("console.load_failed", { error: error.message }));
      }
    }
    this.unread.delete(id);
    this.renderSidebar();
    if (focus) {
      chat.root.scrollIntoView({ block: "nearest", inline: "nearest" });
      chat.input.focus({ preventScroll: true });
    }
  }

  close(id) {
    const chat = this.chats.get(id);
    if (!chat) return;
    chat.destroy();
    this.chats.delete(id);
    if (this.socket && !this.isMine(this.summaries.get(id))) this.socket.emit("unwatch", { conversation_id: id });
    $("chats-empty").hidden = this.chats.size > 0;
    this.navigation.closed(id);
    this.saveOpen();
    this.renderSidebar();
  }

  saveOpen() {
    sessionStorage.setItem(OPEN_KEY, JSON.stringify([...this.chats.keys()]));
  }

  chatApp() {
    return {
      api: this.api,
      me: this.me,
      template: $("chat-template"),
      agentName: this.agentName,
      t: (key, values) => this.t(key, values),
      summaryOf: (id) => this.summaries.get(id),
      emitTyping: (id, typing) => {
        if (this.socket && this.socket.connected) this.socket.emit("typing", { conversation_id: id, typing });
      },
      onSummary: (summary) => this.onSummary(summary),
      onHead: (chat) => this.navigation.decorate(chat),
      onClose: (id) => this.close(id),
      openConversation: (id) => this.open(id),
      notify: (text) => this.notify(text),
      refreshQueues: () => this.refreshQueues(),
      requestActions: new RequestActions({ api: this.api, me: this.me, t: (key, values) => this.t(key, values), notify: (text) => this.notify(text) }),
    };
  }

  // ------------------------------------------------------------------ live

  watch(id) {
    if (this.socket && this.socket.connected) this.socket.emit("watch", { conversation_id: id });
  }

  connect() {
    if (!window.io) {
      this.notify(this.t("console.no_live"));
      return;
    }
    const socket = window.io("/agent", {
      path: "/socket.io",
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelayMax: 10000,
    });
    this.socket = socket;
    socket.on("connect", () => {
      document.body.dataset.live = "on";
      for (const id of this.chats.keys()) socket.emit("watch", { conversation_id: id });
      // Whatever changed while the socket was away.
      this.refreshQueues();
      for (const chat of this.chats.values()) chat.refreshCaseSoon();
    });
    socket.on("disconnect", async (reason) => {
      document.body.dataset.live = "off";
      // The server closes the socket of an expired session and Socket.IO does not retry
      // those: if /me still answers (401 goes back to the login), connect again.
      if (reason === "io server disconnect") {
        try {
          await this.api.me();
          if (this.socket === socket) socket.connect();
        } catch (e) {
          /* sessionLost() ran on a 401 */
        }
      }
    });
    socket.on("connect_error", async () => {
      document.body.dataset.live = "off";
      // A refused connection may mean the session is gone: /me answers 401 then.
      try {
        await this.api.me();
      } catch (e) {
        /* sessionLost() ran on a 401 */
      }
    });
    socket.on("conversation", (summary) => {
      if (summary && summary.id) this.onSummary(summary);
      this.navigation.live();
    });
    socket.on("event", (data) => this.onEvent(data));
    socket.on("typing", (data) => {
      const chat = data && this.chats.get(data.conversation_id);
      if (chat) chat.setShopperTyping(Boolean(data.typing));
    });
    // A console event the server refused (agent_console/README.md): a bug here, not the agent's.
    socket.on("storechat_error", (error) => console.warn("the /agent socket refused", error));
    socket.on("presence", (agent) => {
      if (agent && agent.email) this.presence(agent);
      this.navigation.live();
    });
  }

  onEvent(data) {
    if (!data || !data.event) return;
    const id = data.conversation_id;
    const event = data.event;
    const chat = this.chats.get(id);
    if (chat) chat.addEvent(event);
    if (event.kind === "callback") this.callbacks.load();
    if (event.author === "shopper" && event.kind === "message") {
      const summary = this.summaries.get(id);
      if (summary) summary.preview = event.text;
      if (!chat || document.hidden) this.unread.set(id, (this.unread.get(id) || 0) + 1);
      this.renderSidebar();
    }
  }
}

const app = new Console();
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) {
    for (const id of app.chats.keys()) app.unread.delete(id);
    app.renderSidebar();
  }
});
window.storechatConsole = app; // for debugging in the browser's console
app.boot();
