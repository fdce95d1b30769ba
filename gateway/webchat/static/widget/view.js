// The widget's screen: launcher, panel, messages, quick replies, typing dots, status.
// Knows nothing about the protocol; chat.js drives it.

import { ICON_CHAT, ICON_CLOSE, ICON_SEND, appendText, button, el, format, icon, replyParts, safeImageUrl } from "./dom.js";

const TYPING_TIMEOUT_MS = 15000;
// A message not acknowledged within this long says "sending …".
const SENDING_SHOWN_AFTER_MS = 600;

function timeLabel(at, locale) {
  if (!at) return "";
  try {
    return new Date(at).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  } catch (e) {
    return "";
  }
}

function buildLauncher(t) {
  const launcher = button("sc-launcher", t.launcher_open || "Chat");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "sc-panel");
  const chatIcon = icon(ICON_CHAT, 28);
  chatIcon.setAttribute("class", "sc-icon-chat");
  const closeIcon = icon(ICON_CLOSE, 26);
  closeIcon.setAttribute("class", "sc-icon-close");
  launcher.append(chatIcon, closeIcon);
  return launcher;
}

function buildHeader(t, title) {
  const header = el("header", "sc-header");
  const avatar = el("div", "sc-avatar", (title || "?").trim().charAt(0).toUpperCase());
  avatar.setAttribute("aria-hidden", "true");
  const heading = el("div", "sc-heading");
  const status = el("p", "sc-status");
  const dot = el("span", "sc-dot");
  dot.setAttribute("aria-hidden", "true");
  const statusText = el("span", "sc-status-text", t.status_connecting);
  status.append(dot, statusText);
  status.setAttribute("role", "status");
  heading.append(el("h2", "sc-title", title), status);
  const close = button("sc-close", t.close || "Close");
  close.appendChild(icon(ICON_CLOSE, 22));
  header.append(avatar, heading, close);
  return { header, status, statusText, close };
}

function buildComposer(t) {
  const form = el("form", "sc-composer");
  const input = el("textarea", "sc-input");
  input.rows = 1;
  input.maxLength = 2000;
  input.placeholder = t.input_placeholder || "";
  input.setAttribute("aria-label", t.input_label || "Message");
  input.setAttribute("enterkeyhint", "send");
  const send = el("button", "sc-send");
  send.type = "submit";
  send.disabled = true;
  send.setAttribute("aria-label", t.send || "Send");
  send.appendChild(icon(ICON_SEND, 20));
  form.append(input, send);
  return { form, input, send };
}

/**
 * Builds the widget into a shadow root on the page. options: {t, origin, locale, title,
 * onReply(payload, title)}; the answer's methods redraw parts of it.
 */
export function createView({ t, origin, locale, title, onReply }) {
  const host = el("div");
  host.id = "storechat-widget";
  const root = host.attachShadow({ mode: "open" });

  const css = el("link");
  css.rel = "stylesheet";
  css.href = origin + "/static/widget.css";
  root.appendChild(css);

  const shell = el("div", "sc-shell");
  shell.hidden = true; // shown once the stylesheet is in, so nothing flashes unstyled
  const reveal = () => {
    shell.hidden = false;
  };
  css.addEventListener("load", reveal);
  css.addEventListener("error", reveal);
  root.appendChild(shell);

  const launcher = buildLauncher(t);
  shell.appendChild(launcher);

  const panel = el("section", "sc-panel");
  panel.id = "sc-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", format(t.dialog_label || "{shop}", { shop: title }));
  panel.hidden = true;
  const head = buildHeader(t, title);

  const log = el("div", "sc-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", t.messages_label || "Messages");
  log.tabIndex = 0;
  const greeting = el("div", "sc-intro");
  const messages = el("ol", "sc-messages");
  const typing = el("div", "sc-typing");
  typing.hidden = true;
  typing.setAttribute("aria-label", t.typing || "…");
  for (let i = 0; i < 3; i++) typing.appendChild(el("span", "sc-typing-dot"));
  const typingLabel = el("span", "sc-typing-label"); // "Anna is typing …" when a person types
  typingLabel.hidden = true;
  typing.appendChild(typingLabel);
  const replies = el("div", "sc-replies");
  replies.setAttribute("role", "group");
  replies.setAttribute("aria-label", t.quick_replies_label || "");
  log.append(greeting, messages, typing, replies);

  const composer = buildComposer(t);
  panel.append(head.header, log, composer.form, el("p", "sc-footer", t.powered_by || ""));
  shell.appendChild(panel);
  document.body.appendChild(host);

  let typingTimer = null;

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function bubble(text) {
    const node = el("div", "sc-bubble");
    appendText(node, text);
    return node;
  }

  function renderGreeting() {
    greeting.textContent = "";
    if (!t.greeting) return;
    const item = el("div", "sc-msg sc-msg--bot");
    item.appendChild(bubble(t.greeting));
    greeting.appendChild(item);
  }

  // message: {author, text, quick_replies?, attachment?, agent_name?, at?}
  function renderMessage(message) {
    const author = message.author || "bot";
    // A system notice that asks something (the satisfaction question) reads as a message.
    const asks = Array.isArray(message.quick_replies) && message.quick_replies.length > 0;
    if (author === "system" && !asks) {
      const notice = el("li", "sc-notice");
      appendText(notice, message.text);
      messages.appendChild(notice);
      return notice;
    }
    const kind = author === "shopper" || author === "agent" ? author : "bot";
    const item = el("li", "sc-msg sc-msg--" + kind);
    if (author === "agent") {
      const who = el("div", "sc-author");
      who.appendChild(el("span", "sc-author-name", message.agent_name || t.agent_role || ""));
      if (message.agent_name && t.agent_role) who.appendChild(el("span", "sc-author-role", t.agent_role));
      item.appendChild(who);
    }
    if (message.text) item.appendChild(bubble(message.text));
    const attachment = message.attachment;
    const src = attachment && attachment.type === "image" && attachment.payload
      ? safeImageUrl(attachment.payload.src, origin) : null;
    if (src) {
      const img = el("img", "sc-image");
      img.src = src;
      img.alt = t.image_alt || "";
      img.loading = "lazy";
      img.addEventListener("load", scrollToEnd);
      item.appendChild(img);
    }
    const at = message.at || Date.now();
    const when = timeLabel(at, locale);
    if (when) {
      const meta = el("time", "sc-time", when);
      meta.dateTime = new Date(at).toISOString();
      item.appendChild(meta);
    }
    messages.appendChild(item);
    return item;
  }

  // A shopper's message until the gateway has it: "sending …" (only if that takes a moment,
  // so a message acknowledged at once does not flicker), then nothing more; one that could
  // not be sent says so (and why, when the gateway said) on a button that sends it again.
  const sendingTimers = new WeakMap();
  function markDelivery(node, state, reason, onRetry) {
    clearTimeout(sendingTimers.get(node));
    node.classList.toggle("sc-msg--sending", state === "sending");
    node.classList.toggle("sc-msg--failed", state === "failed");
    const old = node.querySelector(".sc-delivery");
    if (old) old.remove();
    if (state === "sent") return;
    const status = el("div", "sc-delivery");
    if (state === "sending") {
      status.appendChild(el("span", "sc-delivery-sending", t.sending || "…"));
      sendingTimers.set(node, setTimeout(() => node.appendChild(status), SENDING_SHOWN_AFTER_MS));
      return;
    }
    if (reason) status.appendChild(el("span", "sc-delivery-reason", reason));
    const retry = el("button", "sc-retry", t.not_sent || "!");
    retry.type = "button";
    retry.addEventListener("click", onRetry);
    status.appendChild(retry);
    node.appendChild(status);
  }

  // Quick replies belong to the newest bot message only; answering removes them.
  function showQuickReplies(list) {
    replies.textContent = "";
    (list || []).map(replyParts).filter(Boolean).forEach((reply) => {
      const b = el("button", "sc-reply", reply.title);
      b.type = "button";
      b.addEventListener("click", () => onReply(reply.payload, reply.title));
      replies.appendChild(b);
    });
  }

  // agentName: a person in the console types (named); without it the bot is thinking.
  function setTyping(on, agentName) {
    clearTimeout(typingTimer);
    typing.hidden = !on;
    const label = on && agentName !== undefined
      ? format(t.agent_typing || "{name} …", { name: agentName || t.agent_role || "" }) : "";
    typingLabel.textContent = label;
    typingLabel.hidden = !label;
    typing.classList.toggle("sc-typing--agent", Boolean(label));
    typing.setAttribute("aria-label", label || t.typing || "…");
    if (on) {
      typingTimer = setTimeout(() => {
        typing.hidden = true;
      }, TYPING_TIMEOUT_MS);
    }
    scrollToEnd();
  }

  function setStatus(kind) {
    head.status.dataset.state = kind;
    const texts = {
      online: t.subtitle || t.status_online,
      reconnecting: t.status_reconnecting,
      connecting: t.status_connecting,
    };
    head.statusText.textContent = texts[kind] || "";
  }

  function setOpen(open) {
    panel.hidden = !open;
    shell.classList.toggle("sc-is-open", open);
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? t.launcher_close || t.close || "" : t.launcher_open || "");
    if (open) {
      scrollToEnd();
      composer.input.focus({ preventScroll: true });
    } else {
      launcher.focus({ preventScroll: true });
    }
  }

  renderGreeting();
  return {
    shell,
    launcher,
    panel,
    closeButton: head.close,
    messages,
    replies,
    typingLabel,
    form: composer.form,
    input: composer.input,
    sendButton: composer.send,
    renderMessage,
    markDelivery,
    showQuickReplies,
    clearQuickReplies: () => {
      replies.textContent = "";
    },
    setTyping,
    setStatus,
    setOpen,
    scrollToEnd,
  };
}
