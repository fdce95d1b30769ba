// One open chat column: the whole case, the live timeline, the composer.

import { ApiError } from "./api.js";
import { renderCase } from "./case_panel.js";
import { clear, h, waited, words } from "./dom.js";
import { isDeliveryProgress, newerDelivery, renderEvent, showDelivery } from "./timeline.js";

const TYPING_REPEAT_MS = 2000; // while the agent types, tell the shopper at most this often
const TYPING_IDLE_MS = 3000; // no key for this long: the agent stopped typing
const SHOPPER_TYPING_MS = 8000; // a lost "stopped typing" does not leave the hint forever
const CANNED_DELAY_MS = 200;
const CHANNEL_NAMES = { web: "Web chat", sms: "SMS", messenger: "Messenger", whatsapp: "WhatsApp", email: "E-mail" };

export class ChatView {
  /**
   * app: {api, me, template, agentName(email), t(key, values), summaryOf(id), emitTyping(id, bool),
   *       onSummary(summary), onHead(chat)?, onClose(id), openConversation(id), notify(text), refreshQueues()}
   */
  constructor(app, id) {
    this.app = app;
    this.id = id;
    this.summary = app.summaryOf(id) || null;
    this.locale = this.summary ? this.summary.locale : null;
    this.seen = new Set();
    // Message id → its latest delivery state (a state may come before its message is shown).
    this.deliveries = new Map();
    this.typingSent = 0;
    this.typingIdle = null;
    this.shopperTypingTimer = null;
    this.cannedTimer = null;
    this.caseTimer = null;
    this.root = app.template.content.firstElementChild.cloneNode(true);
    this.root.dataset.conversationId = id;
    this.q = (selector) => this.root.querySelector(selector);
    this.events = this.q(".events");
    this.input = this.q(".composer-input");
    this.stick = true; // keep the newest event in view until the agent scrolls up
    this.wire();
    this.renderHead();
  }

  wire() {
    this.q(".chat-close").addEventListener("click", () => this.app.onClose(this.id));
    this.q(".chat-claim").addEventListener("click", () => this.claim());
    this.q(".chat-resolve").addEventListener("click", () => this.resolve());
    this.q(".case-toggle").addEventListener("click", () => {
      const collapsed = this.root.classList.toggle("case-collapsed");
      this.q(".case-toggle").setAttribute("aria-expanded", String(!collapsed));
    });
    const form = this.q(".composer");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.send();
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      }
    });
    this.input.addEventListener("input", () => this.typing());
    this.input.addEventListener("blur", () => this.stopTyping());
    form.querySelectorAll('input[name="mode"]').forEach((radio) => radio.addEventListener("change", () => this.modeChanged()));
    this.q(".suggestion").addEventListener("click", () => this.insert(this.suggested));
    const search = this.q(".canned-search");
    search.addEventListener("input", () => this.searchCanned());
    search.addEventListener("focus", () => this.searchCanned());
    search.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.hideCanned();
    });
    this.root.addEventListener("focusout", (e) => {
      if (!this.q(".canned").contains(e.relatedTarget)) this.hideCanned();
    });
    this.q(".transfer-target").addEventListener("focus", () => this.loadAgents());
    const timeline = this.q(".timeline");
    timeline.addEventListener("scroll", () => {
      this.stick = this.isNearEnd();
    });
    // Columns change width when chats open or close and text reflows: stay at the end.
    this.resizes = new ResizeObserver(() => {
      if (this.stick) this.scrollToEnd();
    });
    this.resizes.observe(timeline);
    this.resizes.observe(this.events);
    this.q(".transfer-button").addEventListener("click", () => this.transfer());
  }

  get mode() {
    return this.q('input[name="mode"]:checked').value;
  }

  modeChanged() {
    const note = this.mode === "note";
    this.root.classList.toggle("is-note", note);
    this.input.setAttribute("aria-label", note ? "Private note" : "Reply to the shopper");
    this.input.placeholder = note
      ? "Private note for colleagues — never sent to the shopper"
      : "Reply to the shopper …  (Enter sends, Shift+Enter new line)";
    this.q(".composer-send").textContent = note ? "Add note" : "Send";
    if (note) this.stopTyping();
  }

  // ------------------------------------------------------------------ loading

  async load() {
    const whole = await this.app.api.conversation(this.id);
    this.setSummary(whole.conversation);
    clear(this.events);
    this.seen.clear();
    (whole.events || []).forEach((event) => this.addEvent(event, false));
    this.renderCase(whole);
    this.scrollToEnd();
    this.suggest();
    return whole;
  }

  renderCase(whole) {
    this.whole = whole;
    const actions = this.app.requestActions; // request_actions.js: approve, reject, label, decide
    renderCase(this.root, whole, {
      openConversation: (id) => this.app.openConversation(id),
      requestActions: actions ? (request) => actions.forRequest(this, request) : null,
      orderActions: actions ? (order) => actions.forOrder(this, order) : null,
    });
    const orders = whole.orders || [];
    const name = orders.length && orders[0].customer_name;
    if (name) this.root.dataset.customer = name;
    this.renderHead();
  }

  /** Re-reads the case (orders proven, requests, CSAT) soon after events that may change it. */
  refreshCaseSoon() {
    clearTimeout(this.caseTimer);
    this.caseTimer = setTimeout(async () => {
      try {
        const whole = await this.app.api.conversation(this.id);
        this.setSummary(whole.conversation);
        (whole.events || []).forEach((event) => this.addEvent(event));
        this.renderCase(whole);
      } catch (e) {
        /* the next event tries again; a 401 already went back to the login */
      }
    }, 400);
  }

  // ------------------------------------------------------------------ live

  setSummary(summary) {
    if (!summary) return;
    this.setSummaryQuietly(summary);
    this.app.onSummary(summary);
  }

  /** The summary changed elsewhere (the socket): only this column is redrawn. */
  setSummaryQuietly(summary) {
    this.summary = summary;
    this.locale = summary.locale || this.locale;
    this.renderHead();
  }

  renderHead() {
    const s = this.summary;
    const channel = s ? CHANNEL_NAMES[s.channel] || s.channel : "";
    const title = this.root.dataset.customer || (s ? `${channel} shopper` : "Conversation");
    this.q(".chat-title").textContent = title;
    const meta = this.q(".chat-meta");
    clear(meta);
    if (!s) return;
    const mine = s.state === "assigned" && s.agent === this.app.me.email;
    let state = words(s.state);
    if (s.state === "queued") state = `queued for ${s.team}`;
    if (s.state === "assigned") state = mine ? "assigned to you" : `with ${s.agent_name || s.agent}`;
    meta.append(
      h("span", { className: "channel", text: s.channel }),
      h("span", { className: "locale", text: String(s.locale || "").toUpperCase() }),
      h("span", { className: `state state--${s.state}`, text: state }),
    );
    if (s.state === "queued" && s.queued_at) {
      meta.append(h("span", { className: "wait", text: waited(s.queued_at), dataset: { since: s.queued_at } }));
    }
    this.root.dataset.state = s.state;
    // Transfer and resolve belong to the agent who has the chat, and to supervisors.
    const manages = (s.state === "assigned" || s.state === "queued") && (mine || this.app.me.role === "supervisor");
    this.q(".chat-claim").hidden = s.state !== "queued";
    this.q(".chat-resolve").hidden = !manages;
    this.q(".transfer").hidden = !manages;
    // A resolved conversation takes no replies (the shopper's next message reopens it with
    // the bot); notes for colleagues still go on the case.
    const closed = s.state === "resolved" || s.state === "bot";
    this.root.classList.toggle("is-closed", closed);
    const replyOption = this.q('input[name="mode"][value="reply"]');
    replyOption.disabled = closed;
    if (closed && replyOption.checked) {
      this.q('input[name="mode"][value="note"]').checked = true;
      this.modeChanged();
    }
    if (this.app.onHead) this.app.onHead(this); // a supervisor's buttons (case_controls.js)
  }

  /** An event from the case or the socket; `live` ones may change the case beside it. */
  addEvent(event, live = true) {
    if (!event || this.seen.has(event.id)) return;
    this.seen.add(event.id);
    const data = event.data || {};
    if (event.kind === "delivery" && data.message_id) {
      this.delivered(data.message_id, data.status);
      if (isDeliveryProgress(event)) return;
    }
    const nearEnd = this.stick || this.isNearEnd();
    const node = renderEvent(event, { channel: this.summary && this.summary.channel, agentName: this.app.agentName, t: this.app.t });
    this.events.appendChild(node);
    if (event.kind === "message" && data.delivery) this.delivered(event.id, data.delivery);
    if (this.deliveries.has(event.id)) showDelivery(node, this.deliveries.get(event.id), this.app.t);
    if (!live) return;
    if (event.author === "shopper") {
      this.setShopperTyping(false);
      this.suggest();
    }
    if (event.kind !== "note") this.refreshCaseSoon();
    if (nearEnd || event.author === "agent") this.scrollToEnd();
  }

  /** A message's delivery state moved on: shown under it (now, or when it is shown). */
  delivered(messageId, state) {
    if (!newerDelivery(this.deliveries.get(messageId), state)) return;
    this.deliveries.set(messageId, state);
    const node = this.events.querySelector(`[data-event-id="${CSS.escape(messageId)}"]`);
    if (node) showDelivery(node, state, this.app.t);
  }

  setShopperTyping(on) {
    clearTimeout(this.shopperTypingTimer);
    this.q(".typing").hidden = !on;
    if (on) {
      this.shopperTypingTimer = setTimeout(() => this.setShopperTyping(false), SHOPPER_TYPING_MS);
      if (this.isNearEnd()) this.scrollToEnd();
    }
  }

  isNearEnd() {
    const box = this.q(".timeline");
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }

  scrollToEnd() {
    const box = this.q(".timeline");
    box.scrollTop = box.scrollHeight;
    this.stick = true;
  }

  // ------------------------------------------------------------------ actions

  alert(text) {
    const box = this.q(".chat-alert");
    box.textContent = text || "";
    box.hidden = !text;
  }

  async act(what, action) {
    this.alert("");
    try {
      return await action();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return null;
      if (error instanceof ApiError && error.status === 409) {
        await this.explainConflict(what);
      } else {
        this.alert(`Could not ${what}: ${error.message}`);
      }
      return null;
    }
  }

  /** 409: someone else has the conversation, or it was resolved — say who, and show it as it is now. */
  async explainConflict(what) {
    try {
      const whole = await this.app.api.conversation(this.id);
      this.setSummary(whole.conversation);
      const s = whole.conversation;
      if (s.state === "assigned" && s.agent !== this.app.me.email) {
        this.alert(`Already taken by ${s.agent_name || s.agent}.`);
      } else {
        this.alert(`Could not ${what}: the conversation is ${words(s.state)} now.`);
      }
    } catch (e) {
      this.alert(`Could not ${what}: someone else changed this conversation.`);
    }
    this.app.refreshQueues();
  }

  async claim() {
    const summary = await this.act("claim it", () => this.app.api.claim(this.id));
    if (summary) this.setSummary(summary);
    return summary;
  }

  async resolve() {
    const summary = await this.act("resolve", () => this.app.api.resolve(this.id));
    if (summary) {
      this.setSummary(summary);
      this.app.notify("Resolved — the shopper is asked for their rating.");
    }
  }

  async transfer() {
    const value = this.q(".transfer-target").value;
    if (!value) {
      this.alert("Choose a team or an agent to transfer to.");
      return;
    }
    const [kind, target] = [value.slice(0, value.indexOf(":")), value.slice(value.indexOf(":") + 1)];
    const body = kind === "agent" ? { agent: target } : { team: target };
    const summary = await this.act("transfer", () => this.app.api.transfer(this.id, body));
    if (summary) {
      this.setSummary(summary);
      this.q(".transfer-target").value = "";
      this.app.notify(`Transferred to ${kind === "agent" ? this.app.agentName(target) || target : `team ${target}`}.`);
    }
  }

  async send() {
    const text = this.input.value.trim();
    if (!text) return;
    const note = this.mode === "note";
    this.stopTyping();
    const button = this.q(".composer-send");
    button.disabled = true;
    const event = await this.act(note ? "add the note" : "send the reply", () =>
      note ? this.app.api.note(this.id, text) : this.app.api.reply(this.id, text));
    button.disabled = false;
    if (!event) return;
    this.input.value = "";
    this.addEvent(event);
    this.scrollToEnd();
    this.input.focus();
  }

  insert(text) {
    if (!text) return;
    const current = this.input.value.trim();
    this.input.value = current ? `${current}\n${text}` : text;
    this.hideCanned();
    this.input.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
  }

  // ------------------------------------------------------------------ typing

  typing() {
    if (this.mode !== "reply") return;
    const now = Date.now();
    if (now - this.typingSent > TYPING_REPEAT_MS) {
      this.typingSent = now;
      this.app.emitTyping(this.id, true);
    }
    clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingIdle);
    this.typingIdle = null;
    if (this.typingSent) {
      this.typingSent = 0;
      this.app.emitTyping(this.id, false);
    }
  }

  // ------------------------------------------------------------------ canned answers

  async suggest() {
    const button = this.q(".suggestion");
    try {
      const { answer } = await this.app.api.suggestion(this.id);
      this.suggested = answer ? answer.text : null;
      button.hidden = !answer;
      if (answer) {
        clear(button).append(h("span", { className: "muted", text: "Suggested: " }), answer.title || answer.topic);
        button.title = answer.text;
      }
    } catch (e) {
      button.hidden = true;
    }
  }

  searchCanned() {
    clearTimeout(this.cannedTimer);
    this.cannedTimer = setTimeout(async () => {
      const q = this.q(".canned-search").value.trim();
      let answers = [];
      try {
        answers = (await this.app.api.canned(this.locale, q)).answers || [];
      } catch (e) {
        answers = [];
      }
      const list = clear(this.q(".canned-results"));
      answers.slice(0, 8).forEach((answer) => {
        list.appendChild(h("li", {}, h("button", {
          className: "canned-answer",
          attrs: { type: "button", title: answer.text },
          on: { click: () => this.insert(answer.text) },
        }, h("span", { className: "canned-title", text: answer.title || answer.topic }),
        h("span", { className: "canned-text", text: answer.text }))));
      });
      if (!answers.length) list.appendChild(h("li", { className: "empty", text: q ? "No answer matches." : "No answers." }));
      list.hidden = false;
    }, CANNED_DELAY_MS);
  }

  hideCanned() {
    clearTimeout(this.cannedTimer);
    this.q(".canned-results").hidden = true;
  }

  // ------------------------------------------------------------------ transfer targets

  async loadAgents() {
    const group = this.q(".transfer-agents");
    try {
      const { agents } = await this.app.api.agents();
      clear(group);
      agents
        .filter((a) => a.presence === "online" && a.email !== this.app.me.email)
        .forEach((a) => group.appendChild(h("option", {
          text: `${a.name} (${a.team}, ${a.open_chats} open)`,
          attrs: { value: `agent:${a.email}` },
        })));
      if (!group.children.length) group.appendChild(h("option", { text: "nobody else online", attrs: { disabled: true } }));
    } catch (e) {
      /* teams remain */
    }
  }

  destroy() {
    this.resizes.disconnect();
    this.stopTyping();
    clearTimeout(this.shopperTypingTimer);
    clearTimeout(this.cannedTimer);
    clearTimeout(this.caseTimer);
    this.root.remove();
  }
}
