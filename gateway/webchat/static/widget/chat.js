// The widget's conversation: the Rasa Socket.IO protocol (session_request / session_confirm /
// user_uttered / bot_uttered) and storechat's extensions (history, storechat_error,
// agent_typing, typing, storefront_event, proactive_offer), channels/webchat.py. Started by
// ../widget.js. The shopper's messages go out acknowledged and are kept until they are
// stored (delivery.js).

import { createCallbackForm } from "./callback.js";
import { createDelivery } from "./delivery.js";
import { storageGet, storageSet } from "./dom.js";
import { createTracker } from "./storefront_events.js";
import { createTeaser } from "./teaser.js";
import { createView } from "./view.js";

const SESSION_KEY = "storechat.session";
const OPEN_KEY = "storechat.open";
// While the shopper types, the agent is told at most this often; no key for
// TYPING_IDLE_MS means they stopped.
const TYPING_REPEAT_MS = 2500;
const TYPING_IDLE_MS = 3000;
// What this widget understands beyond Rasa's protocol (channels/webchat.py): who wrote each
// message and its case event id, and a person typing in the console.
const EXTENSIONS = ["author", "typing"];
// Refusals of a message the widget sent itself: its acknowledgement says so, on the bubble.
const MESSAGE_REFUSALS = new Set(["message_too_long", "empty_message", "invalid_payload", "session_mismatch"]);

/**
 * config: {origin, locale, formatLocale (how times are written, e.g. "en-IE"), shopName,
 * pageType, customerToken() → token|null};
 * t: the "widget" strings of gateway/locales/<locale>.json. Answers the public API's
 * implementation: {open, close, send, track, sessionId}.
 */
export function start(config, t) {
  const locale = config.locale;
  const title = config.shopName || t.default_title || "";
  const state = {
    open: false,
    sessionId: storageGet(SESSION_KEY),
    confirmed: false,
    replies: [], // the quick replies shown now (a refused tap shows them again)
    lastAuthor: null, // who wrote the newest message the shopper got: the bot is silent after an agent
    typingSentAt: 0, // when the shopper's "typing" last went out (0: not typing)
    typingIdleTimer: null,
    offers: new Set(), // offer ids shown on this page
    socket: null,
  };
  const connected = () => Boolean(state.confirmed && state.socket && state.socket.connected);

  const view = createView({ t, origin: config.origin, locale: config.formatLocale || locale, title,
                            onReply: (payload, shown) => (callback.handles(payload) ? callback.open("bot") : send(payload, shown)) });
  // A call-back instead of a chat: the header's button, or a quick reply that offers the form.
  const callback = createCallbackForm({ view, t, socket: () => state.socket, online: () => connected() });
  function showReplies(list) {
    state.replies = Array.isArray(list) ? list : [];
    view.showQuickReplies(state.replies);
  }
  const delivery = createDelivery({
    socket: () => state.socket,
    online: connected,
    payload: (entry) => {
      const metadata = { locale };
      const token = config.customerToken();
      if (token) metadata.customer_token = token;
      return { message: entry.message, session_id: state.sessionId, metadata, message_id: entry.message_id };
    },
    render: (entry) => view.renderMessage({ author: "shopper", text: entry.shown, at: entry.at }),
    mark: (entry) => {
      view.markDelivery(entry.node, entry.state, entry.reason, () => delivery.retry(entry));
      if (entry.state === "failed") view.setTyping(false); // no answer is coming to it
    },
    takeBack,
  });
  const teaser = createTeaser(view.shell, t, title, {
    reply: (payload, shown) => {
      open();
      send(payload, shown);
    },
    open: () => open(),
  });
  const tracker = createTracker({
    ready: connected,
    sessionId: () => state.sessionId,
    emit: (event) => state.socket.emit("storefront_event", event),
  });

  // ------------------------------------------------------------------ open / close

  function open() {
    if (state.open) return;
    state.open = true;
    teaser.hide(); // its offer is in the chat
    view.setOpen(true);
    storageSet(OPEN_KEY, "1", window.sessionStorage);
  }

  function close() {
    if (!state.open) return;
    state.open = false;
    view.setOpen(false);
    storageSet(OPEN_KEY, "0", window.sessionStorage);
  }

  // ------------------------------------------------------------------ sending

  // `message` goes to the bot; `shown` is what the shopper sees (a quick reply's title);
  // `typed`: it came from the input box (a refused one goes back there).
  function send(message, shown, typed) {
    const text = String(message == null ? "" : message).trim();
    if (!text) return;
    const at = Date.now();
    const node = view.renderMessage({ author: "shopper", text: shown || text, at });
    const replies = state.replies;
    showReplies([]);
    stopShopperTyping();
    // While a person has (or is about to take) the conversation the bot stays silent:
    // no dots promising an answer then.
    if (state.lastAuthor !== "agent" && state.lastAuthor !== "system") view.setTyping(true);
    // Out at once when connected, else after the next session_confirm and history.
    delivery.add({ message: text, shown: shown || text, at, node, typed: Boolean(typed), replies });
  }

  // The shopper's own typing goes to the agent's console (throttled; a stop after idling).
  function emitShopperTyping(on) {
    if (connected()) state.socket.emit("typing", { typing: on });
  }

  function shopperTyped() {
    if (!view.input.value.trim()) return stopShopperTyping();
    const now = Date.now();
    if (now - state.typingSentAt > TYPING_REPEAT_MS) {
      state.typingSentAt = now;
      emitShopperTyping(true);
    }
    clearTimeout(state.typingIdleTimer);
    state.typingIdleTimer = setTimeout(stopShopperTyping, TYPING_IDLE_MS);
  }

  function stopShopperTyping() {
    clearTimeout(state.typingIdleTimer);
    if (!state.typingSentAt) return;
    state.typingSentAt = 0;
    emitShopperTyping(false);
  }

  // ------------------------------------------------------------------ receiving

  function onSessionConfirm(data) {
    // Rasa sends the id as a plain string; accept {session_id} too.
    const id = typeof data === "string" ? data : data && data.session_id;
    if (!id) return;
    const first = !state.sessionId;
    state.sessionId = String(id);
    state.confirmed = true;
    storageSet(SESSION_KEY, state.sessionId);
    delivery.session(state.sessionId);
    // What waits to be sent goes out once the history shows what the gateway already has.
    state.socket.emit("history_request", { session_id: state.sessionId });
    tracker.pump();
    if (first) window.dispatchEvent(new CustomEvent("storechat:session", { detail: { sessionId: state.sessionId } }));
  }

  function onHistory(data) {
    const list = (data && Array.isArray(data.messages) && data.messages) || [];
    view.messages.textContent = "";
    list.forEach(view.renderMessage);
    // Messages not acknowledged yet stay on the screen, under the history (in which the
    // gateway's copy of one whose acknowledgement was lost replaces it).
    delivery.afterHistory(list).forEach((node) => view.messages.appendChild(node));
    const last = list[list.length - 1];
    const answers = list.filter((m) => m.author !== "shopper");
    state.lastAuthor = answers.length ? answers[answers.length - 1].author : null;
    if (!list.length) showReplies(Array.isArray(t.starter_replies) ? t.starter_replies : []);
    else if (last && last.author !== "shopper" && last.quick_replies) showReplies(last.quick_replies);
    else showReplies([]);
    view.scrollToEnd();
    delivery.historyArrived();
  }

  function onBotUttered(data) {
    // The same offer as `proactive_offer`, for plain Rasa widgets: already shown.
    if (!data || data.offer_id) return;
    view.setTyping(false);
    const known = { agent: 1, system: 1 };
    const author = known[data.author] ? data.author : "bot";
    state.lastAuthor = author;
    view.renderMessage({
      author,
      agent_name: data.agent_name,
      quick_replies: data.quick_replies,
      text: data.text,
      attachment: data.attachment,
      at: data.at || Date.now(),
    });
    showReplies(data.quick_replies);
    view.scrollToEnd();
    callback.offered(data.quick_replies);
  }

  // {offer_id, rule, text, quick_replies, target, team?}: into the chat, and a teaser
  // above the launcher while the chat is closed.
  function onProactiveOffer(offer) {
    if (!offer || typeof offer.text !== "string" || !offer.text || state.offers.has(offer.offer_id)) return;
    state.offers.add(offer.offer_id);
    state.lastAuthor = "bot";
    view.renderMessage({ author: "bot", text: offer.text, quick_replies: offer.quick_replies, at: Date.now() });
    showReplies(offer.quick_replies);
    view.scrollToEnd();
    if (!state.open) teaser.show(offer);
  }

  function onAgentTyping(data) {
    if (!data) return;
    if (data.typing) view.setTyping(true, data.agent_name ? String(data.agent_name) : "");
    else if (!view.typingLabel.hidden) view.setTyping(false); // never hide the bot's dots on a person's behalf
  }

  // A message the gateway refused (too long, or the shopper must wait long): off the screen,
  // what they typed back into the input (a tapped quick reply: its buttons back), and why.
  function takeBack(entry, refusal) {
    entry.node.remove();
    view.setTyping(false);
    if (refusal && refusal.message) {
      view.renderMessage({ author: "system", text: refusal.message });
      view.scrollToEnd();
    }
    if (entry.typed && !view.input.value.trim()) {
      view.input.value = entry.message;
      autoGrow();
    } else if (!entry.typed) {
      showReplies(entry.replies);
    }
  }

  function retryAfter(data) {
    return Math.max(1, Number(data && data.retry_after) || 1) * 1000;
  }

  function onError(data) {
    // A storefront event the gateway refused is the shop's bug, not the shopper's business.
    if (data && data.code === "invalid_event") {
      if (window.console) console.warn("storechat: storefront event refused:", data.message);
      return;
    }
    // Too many sessions asked for (reloads, tabs): ask again when the gateway says, quietly.
    if (data && data.code === "rate_limited" && data.event === "session_request") {
      setTimeout(requestSession, retryAfter(data));
      return;
    }
    // A message of the shopper's: its acknowledgement tells, on the bubble (delivery.js).
    if (data && ((data.code === "rate_limited" && data.event === "user_uttered") || MESSAGE_REFUSALS.has(data.code))
        && delivery.busy()) {
      return;
    }
    view.setTyping(false);
    if (data && data.message) {
      view.renderMessage({ author: "system", text: data.message });
      view.scrollToEnd();
    }
  }

  function requestSession() {
    if (state.socket && state.socket.connected) {
      state.socket.emit("session_request", { session_id: state.sessionId || null, locale, extensions: EXTENSIONS });
    }
  }

  function connect() {
    const socket = window.io(config.origin, {
      path: "/socket.io",
      transports: ["websocket", "polling"],
      tryAllTransports: true, // fall back to long-polling where websockets are blocked
      reconnectionDelayMax: 10000,
    });
    state.socket = socket;
    // Fires on the first connect and on every reconnect: (re)join the same session.
    socket.on("connect", () => {
      state.confirmed = false;
      view.setStatus("online");
      requestSession();
    });
    socket.on("disconnect", () => {
      state.confirmed = false;
      delivery.paused();
      state.typingSentAt = 0;
      view.setStatus("reconnecting");
    });
    socket.on("connect_error", (error) => {
      view.setStatus("reconnecting");
      // Refused for too many connections from this address: the client does not retry that by itself.
      const reason = error && error.data;
      if (reason && reason.code === "rate_limited") setTimeout(() => socket.connect(), retryAfter(reason));
    });
    socket.on("session_confirm", onSessionConfirm);
    socket.on("history", onHistory);
    socket.on("bot_uttered", onBotUttered);
    socket.on("proactive_offer", onProactiveOffer);
    socket.on("storechat_error", onError);
    socket.on("agent_typing", onAgentTyping);
  }

  // ------------------------------------------------------------------ the shopper's input

  function autoGrow() {
    const input = view.input;
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
    view.sendButton.disabled = !input.value.trim();
  }

  function submit(e) {
    e.preventDefault();
    const text = view.input.value;
    if (!text.trim()) return;
    view.input.value = "";
    autoGrow();
    send(text, undefined, true);
    view.input.focus({ preventScroll: true });
  }

  view.launcher.addEventListener("click", () => (state.open ? close() : open()));
  view.closeButton.addEventListener("click", close);
  view.panel.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      close();
    }
  });
  view.input.addEventListener("input", autoGrow);
  view.input.addEventListener("input", shopperTyped);
  view.input.addEventListener("blur", stopShopperTyping);
  view.input.addEventListener("keydown", (e) => {
    // Enter sends; Shift+Enter makes a new line; never while an IME is composing.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      view.form.requestSubmit ? view.form.requestSubmit() : submit(e);
    }
  });
  view.form.addEventListener("submit", submit);

  view.setStatus("connecting");
  delivery.restore(state.sessionId); // a reload keeps what was not sent yet
  if (storageGet(OPEN_KEY, window.sessionStorage) === "1") open();
  connect();
  const pageType = config.pageType || document.body.dataset.pageType;
  if (pageType) tracker.track({ type: "page_view", page_type: pageType });

  return {
    open,
    close,
    send: (text) => send(text),
    track: (event) => tracker.track(event),
    sessionId: () => state.sessionId,
  };
}
