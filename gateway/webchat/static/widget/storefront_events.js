// Storefront events for the gateway's proactive offers: page views, the cart, checkout,
// orders (the contract: `storefront_event` in README.md "Storefront events"). Events wait
// until the session is confirmed and a cart the gateway already has is not sent again.
// The gateway drops what a socket sends beyond a burst of five and five per second (the
// shipped web_storefront_per_socket rule, config/limits.yml), so
// a page load's few events go out at once and a shop script's loop is slowed down here.

import { storageGet, storageSet } from "./dom.js";

const PAGE_TYPES = ["product", "category", "cart", "checkout", "help", "other"];
const BURST = 4; // one below the gateway's budget: a little slack for clock differences
const PER_SECOND = 4;
const MAX_QUEUED = 40;
const CART_KEY = "storechat.cart"; // sessionStorage: {session, cart} last sent
// A browsing session ends after 30 minutes without events; a cart older than this is sent again.
const CART_TRUSTED_MS = 20 * 60 * 1000;
const EMPTY_CART = JSON.stringify({ items: [], value: "0.00", currency: "EUR" });

function text(value, max) {
  return value === undefined || value === null ? undefined : String(value).slice(0, max);
}

function amount(value) {
  const number = Number(value);
  if (value === undefined || value === null || value === "" || !Number.isFinite(number) || number < 0) {
    throw new Error(`not an amount: ${value}`);
  }
  return number.toFixed(2);
}

function cartItem(item) {
  if (!item || (!item.sku && !item.id)) throw new Error("a cart item needs a sku");
  const quantity = Number(item.quantity === undefined ? 1 : item.quantity);
  if (!Number.isInteger(quantity) || quantity < 1) throw new Error(`bad quantity: ${item.quantity}`);
  return {
    sku: text(item.sku || item.id, 64),
    name: text(item.name || item.sku || item.id, 300),
    quantity,
    price: amount(item.price),
  };
}

function cart(event) {
  const items = (Array.isArray(event.items) ? event.items : []).map(cartItem);
  const total = items.reduce((sum, item) => sum + Number(item.price) * item.quantity, 0);
  const currency = String(event.currency || "EUR").toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) throw new Error(`not a currency: ${event.currency}`);
  return { type: "cart", items, value: amount(event.value === undefined ? total : event.value), currency };
}

/** The event as the gateway wants it; throws on what it would refuse. */
export function normalise(event) {
  if (!event || typeof event !== "object") throw new Error("an event is an object with a type");
  switch (event.type) {
    case "page_view": {
      const pageType = PAGE_TYPES.includes(event.page_type) ? event.page_type : "other";
      const url = text(event.url, 2000) || location.href.split("#")[0].slice(0, 2000);
      const title = text(event.title, 300) || document.title.slice(0, 300);
      const view = { type: "page_view", page_type: pageType };
      if (title) view.title = title;
      if (/^https?:/.test(url)) view.url = url; // the gateway takes http(s) links only
      return view;
    }
    case "cart":
      return cart(event);
    case "checkout_started":
      return { type: "checkout_started" };
    case "order_placed": {
      const placed = { type: "order_placed" };
      if (event.order_id) placed.order_id = text(event.order_id, 64);
      if (event.value !== undefined && event.value !== null) placed.value = amount(event.value);
      return placed;
    }
    default:
      throw new Error(`unknown event type: ${event.type}`);
  }
}

/**
 * link: {ready() → bool (session confirmed and connected), sessionId() → id, emit(event)}.
 * track(event) queues; pump() sends what waits (call it when the session is confirmed).
 */
export function createTracker(link) {
  const queue = [];
  let timer = null;
  let tokens = BURST;
  let tokensAt = Date.now();

  function takeToken() {
    const now = Date.now();
    tokens = Math.min(BURST, tokens + ((now - tokensAt) / 1000) * PER_SECOND);
    tokensAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  function cartJson(event) {
    return JSON.stringify({ items: event.items, value: event.value, currency: event.currency });
  }

  // Nothing sent in this session (or long ago, the gateway may have forgotten it): the
  // gateway knows no cart, which is an empty one.
  function cartKnown(event) {
    let last = null;
    try {
      last = JSON.parse(storageGet(CART_KEY, window.sessionStorage) || "null");
    } catch (e) {
      last = null;
    }
    const fresh = last && last.session === link.sessionId() && Date.now() - last.at < CART_TRUSTED_MS;
    return (fresh ? last.cart : EMPTY_CART) === cartJson(event);
  }

  function rememberCart(event) {
    const entry = { session: link.sessionId(), cart: cartJson(event), at: Date.now() };
    storageSet(CART_KEY, JSON.stringify(entry), window.sessionStorage);
  }

  function pump() {
    while (!timer && queue.length && link.ready()) {
      const event = queue[0];
      if (event.type === "cart" && cartKnown(event)) {
        queue.shift();
        continue;
      }
      if (!takeToken()) {
        timer = setTimeout(() => {
          timer = null;
          pump();
        }, Math.ceil(1000 / PER_SECOND));
        return;
      }
      queue.shift();
      if (event.type === "cart") rememberCart(event);
      link.emit(event);
    }
  }

  function track(raw) {
    let event;
    try {
      event = normalise(raw);
    } catch (error) {
      if (window.console) console.warn("storechat: storefront event ignored:", error.message, raw);
      return false;
    }
    // Only the newest cart matters: it replaces one still waiting.
    const waiting = event.type === "cart" ? queue.findIndex((e) => e.type === "cart") : -1;
    if (waiting >= 0) queue[waiting] = event;
    else queue.push(event);
    if (queue.length > MAX_QUEUED) queue.shift();
    pump();
    return true;
  }

  return { track, pump };
}
