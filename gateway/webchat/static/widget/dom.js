// Small DOM helpers of the widget. Text only ever goes in through textContent.

const SVG_NS = "http://www.w3.org/2000/svg";

export const ICON_CHAT = [
  "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6c-.5.4-1.3.1-1.3-.6V16h0A2.5 2.5 0 0 1 4 13.5z",
];
export const ICON_CLOSE = ["M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12 19 6.4 17.6 5 12 10.6z"];
export const ICON_SEND = ["M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z"];

export function storageGet(key, store) {
  try {
    return (store || window.localStorage).getItem(key);
  } catch (e) {
    return null; // storage disabled (privacy mode): the chat still works per page view
  }
}

export function storageSet(key, value, store) {
  try {
    (store || window.localStorage).setItem(key, value);
  } catch (e) {
    /* see storageGet */
  }
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function button(className, label) {
  const node = el("button", className);
  node.type = "button";
  if (label) node.setAttribute("aria-label", label);
  return node;
}

export function icon(paths, size) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size || 24));
  svg.setAttribute("height", String(size || 24));
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  paths.forEach((d) => {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
  });
  return svg;
}

export function format(template, values) {
  return String(template).replace(/\{(\w+)\}/g, (m, name) =>
    Object.prototype.hasOwnProperty.call(values, name) ? values[name] : m);
}

// Plain text with http(s) links made clickable — order tracking URLs are common.
const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

export function appendText(parent, text) {
  const s = String(text == null ? "" : text);
  let last = 0;
  for (const match of s.matchAll(URL_RE)) {
    const url = match[0];
    if (match.index > last) parent.appendChild(document.createTextNode(s.slice(last, match.index)));
    // Tracking links are long; show a readable start, keep the whole URL as the target.
    const a = el("a", "sc-link", url.length > 48 ? url.slice(0, 45) + "…" : url);
    a.title = url;
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    parent.appendChild(a);
    last = match.index + url.length;
  }
  if (last < s.length) parent.appendChild(document.createTextNode(s.slice(last)));
}

export function safeImageUrl(src, origin) {
  try {
    const url = new URL(String(src), origin);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch (e) {
    return null;
  }
}

/** Quick replies come as strings or {title, payload}: always {title, payload}. */
export function replyParts(reply) {
  if (typeof reply === "string") return { title: reply, payload: reply };
  if (!reply || !reply.title) return null;
  return { title: String(reply.title), payload: String(reply.payload || reply.title) };
}
