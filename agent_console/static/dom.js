// Building the page from data. Text only ever goes in through textContent (shopper text
// is hostile); links only for http(s) URLs.

/**
 * h("li", {className: "x", dataset: {id: 1}, attrs: {title: "t"}, on: {click}}, child, "text", …)
 * Strings become text nodes; null/undefined/false children are skipped.
 */
export function h(tag, props, ...children) {
  const node = document.createElement(tag);
  const p = props || {};
  if (p.className) node.className = p.className;
  if (p.text !== undefined && p.text !== null) node.textContent = String(p.text);
  for (const [name, value] of Object.entries(p.attrs || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
  }
  for (const [name, value] of Object.entries(p.dataset || {})) node.dataset[name] = String(value);
  for (const [name, handler] of Object.entries(p.on || {})) node.addEventListener(name, handler);
  append(node, ...children);
  return node;
}

export function append(parent, ...children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function safeUrl(raw) {
  try {
    const url = new URL(String(raw), location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch (e) {
    return null;
  }
}

/** A link opening in a new tab without giving it this window; plain text if the URL is not http(s). */
export function link(raw, text) {
  const url = safeUrl(raw);
  const label = text === undefined || text === null ? String(raw) : String(text);
  if (!url) return h("span", { text: label });
  return h("a", { text: label, attrs: { href: url, target: "_blank", rel: "noopener noreferrer" } });
}

const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

/** Text with its http(s) URLs made clickable (bots send tracking links). */
export function richText(text) {
  const s = String(text === null || text === undefined ? "" : text);
  const parts = [];
  let last = 0;
  for (const match of s.matchAll(URL_IN_TEXT)) {
    if (match.index > last) parts.push(s.slice(last, match.index));
    const url = match[0];
    parts.push(link(url, url.length > 60 ? url.slice(0, 57) + "…" : url));
    last = match.index + url.length;
  }
  if (last < s.length) parts.push(s.slice(last));
  return parts;
}

/** "just now", "3 min", "1 h 05 min", "2 d 4 h" — for waiting times. */
export function waited(since, now = Date.now()) {
  const minutes = Math.max(0, Math.floor((now - since) / 60000));
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** 14:05 today, "12 Mar 14:05" on other days. */
export function clock(at) {
  if (!at) return "";
  const date = new Date(at);
  const today = new Date();
  const time = date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  if (date.toDateString() === today.toDateString()) return time;
  return `${date.toLocaleDateString("en-GB", { day: "numeric", month: "short" })} ${time}`;
}

export function day(iso) {
  if (!iso) return "";
  const date = new Date(iso.length === 10 ? iso + "T12:00:00" : iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric" });
}

const OFFER_ANSWER = /^\/offer_(accept|decline)\{/;

/** What a shopper's message says: a proactive offer's answer payload in words, else the text. */
export function shopperText(text) {
  const answer = OFFER_ANSWER.exec(String(text || ""));
  if (!answer) return text;
  return answer[1] === "accept" ? "(accepted the chat offer)" : "(declined the chat offer)";
}

/** "in_transit" → "in transit" */
export function words(code) {
  return String(code === null || code === undefined ? "" : code).replace(/_/g, " ");
}

export function money(amount, currency) {
  const value = Number(amount);
  if (!Number.isFinite(value)) return `${amount} ${currency || ""}`.trim();
  try {
    return value.toLocaleString("en-GB", { style: "currency", currency: currency || "EUR" });
  } catch (e) {
    return `${value.toFixed(2)} ${currency || ""}`.trim();
  }
}
