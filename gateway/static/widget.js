/*
 * storechat web chat widget.
 *
 * Embedded by one tag:  <script src="https://GATEWAY/widget.js" data-locale="de" defer></script>
 * Optional attributes:  data-shop-name="Nordlicht Home"
 *                       data-customer-token="…"  (a logged-in shopper: the shop's signed
 *                       token, bot/README.md; or later StorechatWidget.setCustomerToken())
 *
 * Speaks the Rasa Socket.IO protocol (session_request / session_confirm / user_uttered /
 * bot_uttered) plus storechat's extensions (history_request / history, storechat_error,
 * agent_typing from a person in the console, typing while the shopper types).
 * Everything lives in a shadow root so the shop's CSS cannot restyle the widget and ours
 * cannot leak into the shop. Text is only ever rendered with textContent.
 */
(function () {
  "use strict";

  if (window.StorechatWidget) return; // embedded twice: keep the first one

  var SESSION_KEY = "storechat.session";
  var OPEN_KEY = "storechat.open";
  var TYPING_TIMEOUT_MS = 15000;
  // While the shopper types, the agent is told at most this often; no key for
  // TYPING_IDLE_MS means they stopped.
  var TYPING_REPEAT_MS = 2500;
  var TYPING_IDLE_MS = 3000;
  var SVG_NS = "http://www.w3.org/2000/svg";

  var script =
    document.currentScript ||
    document.querySelector('script[src$="/widget.js"], script[src*="/widget.js?"]');
  var origin = new URL(script ? script.src : "/widget.js", location.href).origin;
  var locale = (
    (script && script.dataset.locale) ||
    document.documentElement.lang ||
    navigator.language ||
    "de"
  )
    .slice(0, 2)
    .toLowerCase();
  var shopName = (script && script.dataset.shopName) || "";
  // Proves to the bot which customer is logged in, so their orders need no other proof.
  var customerToken = (script && script.dataset.customerToken) || null;

  // ---------------------------------------------------------------- small helpers

  function storageGet(key, store) {
    try {
      return (store || window.localStorage).getItem(key);
    } catch (e) {
      return null; // storage disabled (privacy mode): the chat still works per page view
    }
  }

  function storageSet(key, value, store) {
    try {
      (store || window.localStorage).setItem(key, value);
    } catch (e) {
      /* see storageGet */
    }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function icon(paths, size) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", String(size || 24));
    svg.setAttribute("height", String(size || 24));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    paths.forEach(function (d) {
      var path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", d);
      svg.appendChild(path);
    });
    return svg;
  }

  var ICON_CHAT = [
    "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6c-.5.4-1.3.1-1.3-.6V16h0A2.5 2.5 0 0 1 4 13.5z",
  ];
  var ICON_CLOSE = ["M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12 19 6.4 17.6 5 12 10.6z"];
  var ICON_SEND = ["M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z"];

  function format(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : m;
    });
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      if (window.io) return resolve();
      var tag = document.createElement("script");
      tag.src = src;
      tag.async = true;
      tag.onload = function () {
        resolve();
      };
      tag.onerror = function () {
        reject(new Error("could not load " + src));
      };
      document.head.appendChild(tag);
    });
  }

  function loadStrings() {
    return fetch(origin + "/widget/locales/" + encodeURIComponent(locale) + ".json", {
      credentials: "omit",
    })
      .then(function (r) {
        if (!r.ok) throw new Error("locale " + r.status);
        return r.json();
      })
      .then(function (body) {
        return body.widget || {};
      });
  }

  // Plain text with http(s) links made clickable — order tracking URLs are common.
  var URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

  function appendText(parent, text) {
    var s = String(text == null ? "" : text);
    var last = 0;
    s.replace(URL_RE, function (url, index) {
      if (index > last) parent.appendChild(document.createTextNode(s.slice(last, index)));
      // Tracking links are long; show a readable start, keep the whole URL as the target.
      var a = el("a", "sc-link", url.length > 48 ? url.slice(0, 45) + "…" : url);
      a.title = url;
      a.href = url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      parent.appendChild(a);
      last = index + url.length;
      return url;
    });
    if (last < s.length) parent.appendChild(document.createTextNode(s.slice(last)));
  }

  function safeImageUrl(src) {
    try {
      var url = new URL(String(src), origin);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  // ---------------------------------------------------------------- public API (queued until ready)

  var pending = []; // calls made before the widget finished loading
  var api = null;
  var readyResolve;
  var ready = new Promise(function (resolve) {
    readyResolve = resolve;
  });

  function defer(name) {
    return function () {
      var args = Array.prototype.slice.call(arguments);
      if (api) return api[name].apply(null, args);
      pending.push([name, args]);
    };
  }

  window.StorechatWidget = {
    open: defer("open"),
    close: defer("close"),
    send: defer("send"),
    ready: ready,
    // For shops that log in without a page load; null logs out.
    setCustomerToken: function (token) {
      customerToken = token ? String(token) : null;
    },
    get sessionId() {
      return storageGet(SESSION_KEY);
    },
  };

  // ---------------------------------------------------------------- the widget

  function start(t) {
    var title = shopName || t.default_title || "";
    var state = {
      open: false,
      sessionId: storageGet(SESSION_KEY),
      confirmed: false,
      outbox: [], // {payload, node} of messages waiting for session_confirm
      inFlight: [], // sent from the outbox just before history_request: keep them visible
      typingTimer: null,
      lastAuthor: null, // who wrote the newest message the shopper got: the bot is silent after an agent
      typingSentAt: 0, // when the shopper's "typing" last went out (0: not typing)
      typingIdleTimer: null,
      socket: null,
    };

    var host = el("div");
    host.id = "storechat-widget";
    var root = host.attachShadow({ mode: "open" });

    var css = el("link");
    css.rel = "stylesheet";
    css.href = origin + "/static/widget.css";
    root.appendChild(css);

    var shell = el("div", "sc-shell");
    shell.hidden = true; // shown once the stylesheet is in, so nothing flashes unstyled
    css.addEventListener("load", function () {
      shell.hidden = false;
    });
    css.addEventListener("error", function () {
      shell.hidden = false;
    });
    root.appendChild(shell);

    // Launcher
    var launcher = el("button", "sc-launcher");
    launcher.type = "button";
    launcher.setAttribute("aria-label", t.launcher_open || "Chat");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "sc-panel");
    var chatIcon = icon(ICON_CHAT, 28);
    chatIcon.setAttribute("class", "sc-icon-chat");
    var closeIcon = icon(ICON_CLOSE, 26);
    closeIcon.setAttribute("class", "sc-icon-close");
    launcher.appendChild(chatIcon);
    launcher.appendChild(closeIcon);
    shell.appendChild(launcher);

    // Panel
    var panel = el("section", "sc-panel");
    panel.id = "sc-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", format(t.dialog_label || "{shop}", { shop: title }));
    panel.hidden = true;

    var header = el("header", "sc-header");
    var avatar = el("div", "sc-avatar", (title || "?").trim().charAt(0).toUpperCase());
    avatar.setAttribute("aria-hidden", "true");
    var heading = el("div", "sc-heading");
    var titleEl = el("h2", "sc-title", title);
    var statusEl = el("p", "sc-status");
    var statusDot = el("span", "sc-dot");
    statusDot.setAttribute("aria-hidden", "true");
    var statusText = el("span", "sc-status-text", t.status_connecting);
    statusEl.appendChild(statusDot);
    statusEl.appendChild(statusText);
    statusEl.setAttribute("role", "status");
    heading.appendChild(titleEl);
    heading.appendChild(statusEl);
    var closeBtn = el("button", "sc-close");
    closeBtn.type = "button";
    closeBtn.setAttribute("aria-label", t.close || "Close");
    closeBtn.appendChild(icon(ICON_CLOSE, 22));
    header.appendChild(avatar);
    header.appendChild(heading);
    header.appendChild(closeBtn);

    var log = el("div", "sc-log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-label", t.messages_label || "Messages");
    log.tabIndex = 0;
    var greeting = el("div", "sc-intro");
    var messages = el("ol", "sc-messages");
    var typing = el("div", "sc-typing");
    typing.hidden = true;
    typing.setAttribute("aria-label", t.typing || "…");
    for (var i = 0; i < 3; i++) typing.appendChild(el("span", "sc-typing-dot"));
    var typingLabel = el("span", "sc-typing-label"); // "Anna is typing …" when a person types
    typingLabel.hidden = true;
    typing.appendChild(typingLabel);
    var replies = el("div", "sc-replies");
    replies.setAttribute("role", "group");
    replies.setAttribute("aria-label", t.quick_replies_label || "");
    log.appendChild(greeting);
    log.appendChild(messages);
    log.appendChild(typing);
    log.appendChild(replies);

    var form = el("form", "sc-composer");
    var input = el("textarea", "sc-input");
    input.rows = 1;
    input.maxLength = 2000;
    input.placeholder = t.input_placeholder || "";
    input.setAttribute("aria-label", t.input_label || "Message");
    input.setAttribute("enterkeyhint", "send");
    var sendBtn = el("button", "sc-send");
    sendBtn.type = "submit";
    sendBtn.disabled = true;
    sendBtn.setAttribute("aria-label", t.send || "Send");
    sendBtn.appendChild(icon(ICON_SEND, 20));
    form.appendChild(input);
    form.appendChild(sendBtn);

    var footer = el("p", "sc-footer", t.powered_by || "");

    panel.appendChild(header);
    panel.appendChild(log);
    panel.appendChild(form);
    panel.appendChild(footer);
    shell.appendChild(panel);
    document.body.appendChild(host);

    // -------------------------------------------------------------- rendering

    function renderGreeting() {
      greeting.textContent = "";
      if (!t.greeting) return;
      var item = el("div", "sc-msg sc-msg--bot");
      var bubble = el("div", "sc-bubble");
      appendText(bubble, t.greeting);
      item.appendChild(bubble);
      greeting.appendChild(item);
    }

    function scrollToEnd() {
      log.scrollTop = log.scrollHeight;
    }

    function timeLabel(at) {
      if (!at) return "";
      try {
        return new Date(at).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
      } catch (e) {
        return "";
      }
    }

    // message: {author, text, quick_replies?, attachment?, agent_name?, at?}
    function renderMessage(message) {
      var author = message.author || "bot";
      // A system notice that asks something (the satisfaction question) reads as a message.
      var asks = Array.isArray(message.quick_replies) && message.quick_replies.length > 0;
      if (author === "system" && !asks) {
        var notice = el("li", "sc-notice");
        appendText(notice, message.text);
        messages.appendChild(notice);
        return notice;
      }
      var kind = author === "shopper" || author === "agent" ? author : "bot";
      var item = el("li", "sc-msg sc-msg--" + kind);
      if (author === "agent") {
        var who = el("div", "sc-author");
        who.appendChild(el("span", "sc-author-name", message.agent_name || t.agent_role || ""));
        if (message.agent_name && t.agent_role) who.appendChild(el("span", "sc-author-role", t.agent_role));
        item.appendChild(who);
      }
      if (message.text) {
        var bubble = el("div", "sc-bubble");
        appendText(bubble, message.text);
        item.appendChild(bubble);
      }
      var attachment = message.attachment;
      if (attachment && attachment.type === "image" && attachment.payload) {
        var src = safeImageUrl(attachment.payload.src);
        if (src) {
          var img = el("img", "sc-image");
          img.src = src;
          img.alt = t.image_alt || "";
          img.loading = "lazy";
          img.addEventListener("load", scrollToEnd);
          item.appendChild(img);
        }
      }
      var when = timeLabel(message.at || Date.now());
      if (when) {
        var meta = el("time", "sc-time", when);
        meta.dateTime = new Date(message.at || Date.now()).toISOString();
        item.appendChild(meta);
      }
      messages.appendChild(item);
      return item;
    }

    // Quick replies belong to the newest bot message only; answering removes them.
    function showQuickReplies(list) {
      replies.textContent = "";
      (list || []).forEach(function (reply) {
        var title = typeof reply === "string" ? reply : reply.title;
        var payload = typeof reply === "string" ? reply : reply.payload || reply.title;
        if (!title) return;
        var b = el("button", "sc-reply", title);
        b.type = "button";
        b.addEventListener("click", function () {
          send(payload, title);
        });
        replies.appendChild(b);
      });
    }

    function showStarterReplies() {
      showQuickReplies(Array.isArray(t.starter_replies) ? t.starter_replies : []);
    }

    // agentName: a person in the console types (named); without it the bot is thinking.
    function setTyping(on, agentName) {
      clearTimeout(state.typingTimer);
      typing.hidden = !on;
      var label = on && agentName !== undefined ? format(t.agent_typing || "{name} …", { name: agentName || t.agent_role || "" }) : "";
      typingLabel.textContent = label;
      typingLabel.hidden = !label;
      typing.classList.toggle("sc-typing--agent", Boolean(label));
      typing.setAttribute("aria-label", label || t.typing || "…");
      if (on) {
        state.typingTimer = setTimeout(function () {
          typing.hidden = true;
        }, TYPING_TIMEOUT_MS);
      }
      scrollToEnd();
    }

    function setStatus(kind) {
      statusEl.dataset.state = kind;
      var texts = {
        online: t.subtitle || t.status_online,
        reconnecting: t.status_reconnecting,
        connecting: t.status_connecting,
      };
      statusText.textContent = texts[kind] || "";
    }

    // -------------------------------------------------------------- open / close

    function open() {
      if (state.open) return;
      state.open = true;
      panel.hidden = false;
      shell.classList.add("sc-is-open");
      launcher.setAttribute("aria-expanded", "true");
      launcher.setAttribute("aria-label", t.launcher_close || t.close || "");
      storageSet(OPEN_KEY, "1", window.sessionStorage);
      scrollToEnd();
      input.focus({ preventScroll: true });
    }

    function close() {
      if (!state.open) return;
      state.open = false;
      panel.hidden = true;
      shell.classList.remove("sc-is-open");
      launcher.setAttribute("aria-expanded", "false");
      launcher.setAttribute("aria-label", t.launcher_open || "");
      storageSet(OPEN_KEY, "0", window.sessionStorage);
      launcher.focus({ preventScroll: true });
    }

    // -------------------------------------------------------------- protocol

    function emitUtterance(payload, node) {
      if (state.confirmed && state.socket && state.socket.connected) {
        state.socket.emit("user_uttered", payload);
      } else {
        state.outbox.push({ payload: payload, node: node }); // sent after the next session_confirm
      }
    }

    // `message` goes to the bot; `shown` is what the shopper sees (a quick reply's title).
    function send(message, shown) {
      var text = String(message == null ? "" : message).trim();
      if (!text) return;
      var node = renderMessage({ author: "shopper", text: shown || text, at: Date.now() });
      replies.textContent = "";
      stopShopperTyping();
      // While a person has (or is about to take) the conversation the bot stays silent:
      // no dots promising an answer then.
      if (state.lastAuthor !== "agent" && state.lastAuthor !== "system") setTyping(true);
      var metadata = { locale: locale };
      if (customerToken) metadata.customer_token = customerToken;
      emitUtterance({ message: text, session_id: state.sessionId, metadata: metadata }, node);
    }

    function onSessionConfirm(data) {
      // Rasa sends the id as a plain string; accept {session_id} too.
      var id = typeof data === "string" ? data : data && data.session_id;
      if (!id) return;
      state.sessionId = String(id);
      state.confirmed = true;
      storageSet(SESSION_KEY, state.sessionId);
      state.socket.emit("history_request", { session_id: state.sessionId });
      state.inFlight = state.outbox.splice(0);
      state.inFlight.forEach(function (entry) {
        entry.payload.session_id = state.sessionId;
        state.socket.emit("user_uttered", entry.payload);
      });
    }

    function onHistory(data) {
      var list = (data && Array.isArray(data.messages) && data.messages) || [];
      messages.textContent = "";
      list.forEach(renderMessage);
      // Messages written while offline went out after history_request; the history may
      // not hold them yet, and they must not vanish from the shopper's screen.
      var recent = list.slice(-20).map(function (m) {
        return m.author === "shopper" ? m.text : null;
      });
      state.inFlight.forEach(function (entry) {
        if (recent.indexOf(entry.payload.message) === -1) messages.appendChild(entry.node);
      });
      state.inFlight = [];
      var last = list[list.length - 1];
      var answers = list.filter(function (m) {
        return m.author !== "shopper";
      });
      state.lastAuthor = answers.length ? answers[answers.length - 1].author : null;
      if (!list.length) showStarterReplies();
      else if (last && last.author !== "shopper" && last.quick_replies) showQuickReplies(last.quick_replies);
      else replies.textContent = "";
      scrollToEnd();
    }

    function onBotUttered(data) {
      if (!data) return;
      setTyping(false);
      var known = { agent: 1, system: 1 };
      state.lastAuthor = known[data.author] ? data.author : "bot";
      renderMessage({
        author: known[data.author] ? data.author : "bot",
        agent_name: data.agent_name,
        quick_replies: data.quick_replies,
        text: data.text,
        attachment: data.attachment,
        at: data.at || Date.now(),
      });
      showQuickReplies(data.quick_replies);
      scrollToEnd();
    }

    function onAgentTyping(data) {
      if (!data) return;
      if (data.typing) setTyping(true, data.agent_name ? String(data.agent_name) : "");
      else if (!typingLabel.hidden) setTyping(false); // never hide the bot's dots on a person's behalf
    }

    // The shopper's own typing goes to the agent's console (throttled; a stop after idling).
    function emitShopperTyping(on) {
      if (state.confirmed && state.socket && state.socket.connected) {
        state.socket.emit("typing", { typing: on });
      }
    }

    function shopperTyped() {
      if (!input.value.trim()) return stopShopperTyping();
      var now = Date.now();
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

    function onError(data) {
      setTyping(false);
      if (data && data.message) {
        renderMessage({ author: "system", text: data.message });
        scrollToEnd();
      }
    }

    function connect() {
      var socket = window.io(origin, {
        path: "/socket.io",
        transports: ["websocket", "polling"],
        tryAllTransports: true, // fall back to long-polling where websockets are blocked
        reconnectionDelayMax: 10000,
      });
      state.socket = socket;
      // Fires on the first connect and on every reconnect: (re)join the same session.
      socket.on("connect", function () {
        state.confirmed = false;
        setStatus("online");
        socket.emit("session_request", { session_id: state.sessionId || null, locale: locale });
      });
      socket.on("disconnect", function () {
        state.confirmed = false;
        state.typingSentAt = 0;
        setStatus("reconnecting");
      });
      socket.on("connect_error", function () {
        setStatus("reconnecting");
      });
      socket.on("session_confirm", onSessionConfirm);
      socket.on("history", onHistory);
      socket.on("bot_uttered", onBotUttered);
      socket.on("storechat_error", onError);
      socket.on("agent_typing", onAgentTyping);
    }

    // -------------------------------------------------------------- events

    launcher.addEventListener("click", function () {
      state.open ? close() : open();
    });
    closeBtn.addEventListener("click", close);
    panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape") {
        e.preventDefault();
        close();
      }
    });
    function autoGrow() {
      input.style.height = "auto";
      input.style.height = Math.min(input.scrollHeight, 120) + "px";
      sendBtn.disabled = !input.value.trim();
    }
    input.addEventListener("input", autoGrow);
    input.addEventListener("input", shopperTyped);
    input.addEventListener("blur", stopShopperTyping);
    input.addEventListener("keydown", function (e) {
      // Enter sends; Shift+Enter makes a new line; never while an IME is composing.
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit ? form.requestSubmit() : submit(e);
      }
    });
    function submit(e) {
      e.preventDefault();
      var text = input.value;
      if (!text.trim()) return;
      input.value = "";
      autoGrow();
      send(text);
      input.focus({ preventScroll: true });
    }
    form.addEventListener("submit", submit);

    renderGreeting();
    setStatus("connecting");
    if (storageGet(OPEN_KEY, window.sessionStorage) === "1") open();
    connect();

    api = {
      open: open,
      close: close,
      send: function (text) {
        send(text);
      },
    };
    return api;
  }

  function boot() {
    Promise.all([loadStrings(), loadScript(origin + "/static/socket.io.min.js")])
      .then(function (results) {
        var widget = start(results[0]);
        pending.splice(0).forEach(function (call) {
          widget[call[0]].apply(null, call[1]);
        });
        readyResolve(window.StorechatWidget);
        window.dispatchEvent(new CustomEvent("storechat:ready"));
      })
      .catch(function (err) {
        // The shop page must never break because the chat could not load.
        if (window.console) console.warn("storechat widget unavailable:", err);
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", boot);
  } else {
    boot();
  }
})();
