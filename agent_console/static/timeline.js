// One conversation event → one timeline entry. Event shape: agent_console/README.md.

import { callbackEntry } from "./callbacks.js";
import { clock, h, money, richText, shopperText, words } from "./dom.js";

const AUTHOR_LABEL = { shopper: "Shopper", bot: "Bot", system: "System" };

function percent(confidence) {
  const value = Number(confidence);
  return Number.isFinite(value) ? `${Math.round(value * 100)} %` : "";
}

/** What the bot understood of the shopper's message before it answered: intent and confidence. */
function understood(data) {
  const parts = [];
  if (data.intent) parts.push(`${data.intent} ${percent(data.confidence)}`.trim());
  if (data.retrieval_intent) parts.push(`${data.retrieval_intent} ${percent(data.retrieval_confidence)}`.trim());
  if (!parts.length) return null;
  return h("p", { className: "ev-understood", text: `understood: ${parts.join(" · ")}` });
}

function timeOf(event) {
  const at = event.at ? new Date(event.at) : null;
  return h("time", { className: "ev-time", text: clock(event.at), attrs: { datetime: at ? at.toISOString() : null } });
}

function message(event, context) {
  const data = event.data || {};
  const author = event.author || "system";
  let who = AUTHOR_LABEL[author] || author;
  if (author === "agent") who = data.agent_name || context.agentName(data.agent) || "Agent";
  const channel = data.channel || context.channel;
  const shown = data.quick_reply_title || event.text || "";
  const item = h(
    "li",
    { className: `ev ev--message ev--${author}`, dataset: { eventId: event.id, author } },
    h("div", { className: "ev-head" },
      h("span", { className: "ev-author", text: who }),
      channel && author !== "system" ? h("span", { className: "ev-channel", text: channel }) : null,
      timeOf(event)),
    h("div", { className: "ev-bubble" }, richText(shown)),
  );
  if (author === "bot") {
    const line = understood(data);
    if (line) item.appendChild(line);
    const replies = Array.isArray(data.quick_replies) ? data.quick_replies : [];
    if (replies.length) {
      item.appendChild(h("p", { className: "ev-replies" }, "offered: ",
        replies.map((reply) => h("span", { className: "ev-reply", text: reply.title || reply.payload || reply }))));
    }
  }
  if (author === "shopper") mailParts(item, event, data, (key, values) => context.t(key, values));
  if (author === "shopper" && data.quick_reply_title && event.text && event.text !== data.quick_reply_title) {
    const payload = shopperText(event.text);
    item.appendChild(h("p", { className: "ev-understood", text: payload === event.text ? `tapped ${event.text}` : payload }));
  }
  return item;
}

/** A mail's subject above its words, the whole mail (quoted history included) behind a
 * toggle, and what was attached (any channel's). */
function mailParts(item, event, data, t) {
  const mail = data.email || null;
  if (mail && mail.subject) {
    item.insertBefore(h("p", { className: "ev-subject", text: t("mail.subject", { subject: mail.subject }) }), item.querySelector(".ev-bubble"));
  }
  if (mail && mail.body && mail.body.trim() !== (event.text || "").trim()) {
    item.appendChild(h("details", { className: "ev-mail" }, h("summary", { text: t("mail.whole") }),
      h("pre", { className: "ev-mail-body", text: mail.body })));
  }
  const files = Array.isArray(data.attachments) ? data.attachments : [];
  if (files.length) {
    item.appendChild(h("p", { className: "ev-attachments" }, `${t("mail.attached")} `, files.map((file) =>
      h("span", { className: "ev-attachment", text: [file.name || file.caption || file.kind, file.content_type,
        file.withheld ? t("mail.not_kept") : ""].filter(Boolean).join(" · ") }))));
  }
}

/** "queued for logistics — bot_unavailable", "assigned to Anna", "resolved". */
export function stateText(data, context) {
  const reason = data.reason ? ` — ${data.reason}` : "";
  switch (data.to) {
    case "queued":
      return `queued for ${data.team || "a team"}${reason}`;
    case "assigned": {
      const name = context.agentName(data.agent) || data.agent || "an agent";
      return `${data.from === "assigned" ? "transferred to" : "assigned to"} ${name}${reason}`;
    }
    case "resolved":
      return `resolved${reason}`;
    case "bot":
      return data.from ? `back with the bot${reason}` : "conversation started";
    default:
      return `${data.from || "?"} → ${data.to || "?"}${reason}`;
  }
}

function state(event, context) {
  return h("li", { className: "ev ev--state", dataset: { eventId: event.id } },
    h("span", { className: "ev-state-text", text: stateText(event.data || {}, context) }),
    timeOf(event));
}

function note(event, context) {
  const data = event.data || {};
  const who = data.agent_name || context.agentName(data.agent) || "Agent";
  return h("li", { className: "ev ev--note", dataset: { eventId: event.id } },
    h("div", { className: "ev-head" },
      h("span", { className: "ev-author", text: `Private note · ${who}` }), timeOf(event)),
    h("div", { className: "ev-bubble" }, richText(event.text || "")));
}

export function requestLine(request) {
  const parts = [`${words(request.kind || "request")} request`];
  if (request.order_id) parts.push(`order ${request.order_id}`);
  if (request.status) parts.push(words(request.status));
  return parts.join(" · ");
}

function request(event, context) {
  const data = event.data || {};
  // An agent's action on it (request_actions.js), in the agent's language.
  const action = data.action ? context.t(`actions.event.${data.action}`, {
    agent: data.agent_name || data.agent || "", resolution: data.resolution ? context.t(`actions.${data.resolution}`) : "",
  }) : null;
  return h("li", { className: `ev ev--request${data.action === "shop_not_told" ? " ev--problem" : ""}`, dataset: { eventId: event.id, action: data.action || "" } },
    h("div", { className: "ev-head" },
      h("span", { className: "ev-author", text: requestLine(data) }), timeOf(event)),
    action ? h("p", { className: "ev-request-action", text: action }) : null,
    event.text ? h("p", { className: "ev-request-text", text: event.text }) : null);
}

export function csatText(csat) {
  const score = Number(csat.score);
  const stars = Number.isInteger(score) && score >= 1 && score <= 5 ? "★".repeat(score) + "☆".repeat(5 - score) : "";
  return `${stars} ${csat.score}/5${csat.comment ? ` — “${csat.comment}”` : ""}`.trim();
}

function csat(event) {
  const data = event.data || {};
  return h("li", { className: "ev ev--csat", dataset: { eventId: event.id } },
    h("div", { className: "ev-head" }, h("span", { className: "ev-author", text: "Satisfaction" }), timeOf(event)),
    h("p", { className: "ev-csat", text: data.score ? csatText(data) : event.text || "" }));
}

// How far a message to the shopper got (SMS, Messenger, WhatsApp): a later state never
// shows an earlier one again (a provider's "sent" may arrive after its "delivered").
// "unknown" then "sent": a holder that had lost its lease learnt the provider took it after all.
const DELIVERY_RANK = { queued: 0, unknown: 0.5, sent: 1, delivered: 2, read: 3, failed: 4, not_sent: 4 };
const DELIVERY_MARK = { queued: "…", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "!", unknown: "?", not_sent: "!" };

/** Whether `next` is news after `known` (either may be undefined). */
export function newerDelivery(known, next) {
  if (!(next in DELIVERY_RANK)) return false;
  return known === undefined || DELIVERY_RANK[next] > DELIVERY_RANK[known];
}

/** A delivery event that only moves its message on (shown under the message, no entry of its own). */
export function isDeliveryProgress(event) {
  const data = event.data || {};
  return event.kind === "delivery" && Boolean(data.message_id) && ["sent", "delivered", "read"].includes(data.status);
}

/** The state line under a message to the shopper: "✓✓ Delivered". t: the console's texts. */
export function showDelivery(node, state, t) {
  let line = node.querySelector(".ev-delivery");
  if (!line) {
    line = h("p", { className: "ev-delivery" });
    node.appendChild(line);
  }
  line.dataset.state = state;
  line.textContent = `${DELIVERY_MARK[state] || ""} ${t(`delivery.${state}`)}`.trim();
}

/** A message on SMS, Messenger or WhatsApp that did not reach the shopper, or an opt-out/in. */
function delivery(event, context) {
  const data = event.data || {};
  const problem = ["failed", "not_sent", "unknown"].includes(data.status);
  const state = data.status in DELIVERY_RANK ? context.t(`delivery.${data.status}`) : words(data.status || "delivery");
  const title = `${state}${problem && data.channel ? ` (${data.channel})` : ""}`;
  return h("li", { className: `ev ev--delivery${problem ? " ev--problem" : ""}`, dataset: { eventId: event.id } },
    h("div", { className: "ev-head" }, h("span", { className: "ev-author", text: title }), timeOf(event)),
    event.text ? h("p", { className: "ev-request-text", text: event.text }) : null);
}

/** "2 items · €79.80" */
export function cartSummary(cart) {
  const items = Array.isArray(cart.items) ? cart.items : [];
  const count = items.reduce((sum, item) => sum + (Number(item.quantity) || 1), 0);
  return `${count} ${count === 1 ? "item" : "items"} · ${money(cart.value, cart.currency)}`;
}

/** A proactive offer the shopper took: which rule, and the cart when they accepted. */
function offerAccepted(event) {
  const data = event.data || {};
  const parts = [`Proactive offer accepted (${data.rule || "?"})`];
  const items = data.cart && Array.isArray(data.cart.items) ? data.cart.items : [];
  if (items.length) {
    const count = items.reduce((sum, item) => sum + (Number(item.quantity) || 1), 0);
    parts.push(`cart ${count} ${count === 1 ? "item" : "items"} ${data.cart.value} ${data.cart.currency || ""}`.trim());
  }
  const trail = Array.isArray(data.trail) ? data.trail : [];
  const last = trail[trail.length - 1];
  return h("li", { className: "ev ev--context", dataset: { eventId: event.id } },
    h("div", { className: "ev-head" }, h("span", { className: "ev-author", text: parts.join(" · ") }), timeOf(event)),
    last ? h("p", { className: "ev-request-text", text: `on ${words(last.page_type)}${last.title ? `: ${last.title}` : ""}` }) : null);
}

/**
 * The entry for `event`. context: {channel, agentName(email) → name|null, t(key, values) → text}.
 */
export function renderEvent(event, context) {
  switch (event.kind) {
    case "message":
      return message(event, context);
    case "state":
      return state(event, context);
    case "note":
      return note(event, context);
    case "request":
      return request(event, context);
    case "csat":
      return csat(event);
    case "delivery":
      return delivery(event, context);
    case "context":
      return offerAccepted(event);
    case "callback":
      return callbackEntry(event, context);
    default:
      return h("li", { className: "ev ev--state", dataset: { eventId: event.id } },
        h("span", { className: "ev-state-text", text: `${event.kind}${event.text ? `: ${event.text}` : ""}` }));
  }
}
