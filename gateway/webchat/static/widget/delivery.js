// The shopper's messages until the gateway acknowledged them (channels/webchat.py):
// each has a message_id, goes out with a Socket.IO acknowledgement and a timeout, one at a
// time and in order, and is kept in localStorage (per session) until the gateway says it
// is stored, so neither a dropped connection nor a reload loses it. A resend of a message
// the gateway did store (its acknowledgement was lost) is recognised by its id there.

import { storageGet, storageSet } from "./dom.js";

const PENDING_KEY = "storechat.pending.";
// How long one try waits for its acknowledgement (a stored message is acknowledged before
// the bot answers, so this is about the network, not the bot).
const ACK_TIMEOUT_MS = 8000;
const RETRY_PAUSE_MS = 1000;
// After this many tries, or this long, the shopper is told it was not sent and may retry.
const MAX_TRIES = 3;
const GIVE_UP_MS = 30000;
// What a client may call a message (the gateway refuses anything else).
const MESSAGE_ID = /^[A-Za-z0-9_-]{8,64}$/;

export function newMessageId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  // Pages served over plain http (no secure context) have no randomUUID.
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * hooks: {socket() → the Socket.IO socket, online() → whether it may send now (connected and
 * the session confirmed), payload(entry) → the user_uttered payload, render(entry) → the bubble's
 * node, mark(entry) → show entry.state on it ("sending", "sent", "failed", with entry.reason),
 * takeBack(entry, ack) → a message refused for a long while: off the screen, back to the shopper}.
 * An entry: {message_id, message, shown, at, typed, replies, node, state, tries, since, reason}.
 */
export function createDelivery(hooks) {
  let queue = [];
  let sessionId = null;
  let busy = false; // a try is waiting for its acknowledgement
  let attempt = 0; // which try that is: one cut off by a disconnect answers nothing any more
  let ready = false; // the history arrived since the last (re)connect
  let waitTimer = null; // a rate-limited message waits for the gateway's retry_after
  const settled = new Set(); // ids this tab saw stored, or gave back to the shopper

  // Another tab of the same session keeps its pending messages under the same key: those
  // stay (unless this tab saw them settled), so a reload of either tab finds them.
  function persist() {
    if (!sessionId) return; // before the first session_confirm: kept in memory, saved then
    const mine = new Set(queue.map((e) => e.message_id));
    const others = stored(sessionId).filter((e) => !mine.has(e.message_id) && !settled.has(e.message_id));
    const kept = queue.map((e) => ({ message_id: e.message_id, message: e.message, shown: e.shown, at: e.at,
                                     typed: e.typed }));
    storageSet(PENDING_KEY + sessionId, JSON.stringify(others.concat(kept)));
  }

  function settle(entry) {
    settled.add(entry.message_id);
    queue = queue.filter((e) => e !== entry);
    persist();
  }

  function stored(id) {
    try {
      const list = JSON.parse(storageGet(PENDING_KEY + id) || "[]");
      return Array.isArray(list) ? list.filter((e) => e && MESSAGE_ID.test(e.message_id) && e.message) : [];
    } catch (e) {
      return [];
    }
  }

  function sending(entry) {
    entry.state = "sending";
    entry.tries = 0;
    entry.since = Date.now();
    entry.reason = "";
    hooks.mark(entry);
  }

  function fail(entry, reason) {
    entry.state = "failed";
    entry.reason = reason || "";
    hooks.mark(entry);
  }

  function done(entry) {
    settle(entry);
    entry.state = "sent";
    hooks.mark(entry);
  }

  // The session's pending messages of an earlier page view: on the screen as sending again.
  function restore(id) {
    sessionId = id;
    if (!id) return;
    stored(id).forEach((saved) => {
      const entry = { ...saved, replies: [] };
      entry.node = hooks.render(entry);
      sending(entry);
      queue.push(entry);
    });
  }

  // The gateway confirmed `id`: a new one (the old session ended) takes the pending messages along.
  function session(id) {
    if (sessionId && sessionId !== id) storageSet(PENDING_KEY + sessionId, "[]");
    sessionId = id;
    persist();
  }

  function add(entry) {
    entry.message_id = newMessageId();
    queue.push(entry);
    sending(entry);
    persist();
    pump();
  }

  function retry(entry) {
    if (entry.state !== "failed") return;
    // After what was waiting: the conversation reads in the order things were sent.
    queue = queue.filter((e) => e !== entry).concat([entry]);
    sending(entry);
    persist();
    pump();
  }

  // The history redrew the screen: what it holds was stored (only the acknowledgement was
  // lost); the rest goes back under it, and out again, in order.
  function afterHistory(messages) {
    const known = new Set(messages.map((m) => m && m.message_id).filter(Boolean));
    queue.filter((e) => known.has(e.message_id)).forEach(done);
    return queue.map((e) => e.node);
  }

  function historyArrived() {
    ready = true;
    pump();
  }

  // Disconnected: the acknowledgement of what was on its way is lost with the connection, so it
  // goes out again after the next history (which shows whether the gateway has it already).
  function paused() {
    ready = false;
    busy = false;
    attempt += 1;
  }

  // Marks what waited too long as not sent (also while offline: the shopper is never left guessing).
  function expire() {
    const now = Date.now();
    queue.forEach((e) => {
      if (e.state === "sending" && now - e.since > GIVE_UP_MS && !(busy && e === queue.find(isSending))) fail(e);
    });
  }

  function isSending(e) {
    return e.state === "sending";
  }

  function pump() {
    expire();
    if (busy || waitTimer || !ready || !hooks.online()) return;
    const entry = queue.find(isSending);
    if (!entry) return;
    busy = true;
    entry.tries += 1;
    const mine = ++attempt;
    hooks.socket().timeout(ACK_TIMEOUT_MS).emit("user_uttered", hooks.payload(entry), (err, ack) => {
      if (mine !== attempt) return;
      busy = false;
      if (entry.state !== "sending" || queue.indexOf(entry) === -1) return pump();
      if (err || !ack || typeof ack !== "object") return notAcknowledged(entry);
      acknowledged(entry, ack);
    });
  }

  function notAcknowledged(entry) {
    if (entry.tries >= MAX_TRIES || Date.now() - entry.since > GIVE_UP_MS) fail(entry);
    setTimeout(pump, RETRY_PAUSE_MS);
  }

  function acknowledged(entry, ack) {
    if (ack.status === "stored" || ack.status === "ignored") {
      done(entry);
    } else if (ack.code === "rate_limited") {
      const wait = Math.max(1, Number(ack.retry_after) || 1) * 1000;
      if (Date.now() + wait - entry.since > GIVE_UP_MS) {
        // Not soon: the shopper gets it back (and is told why) rather than a long "sending".
        settle(entry);
        hooks.takeBack(entry, ack);
      } else {
        waitTimer = setTimeout(() => {
          waitTimer = null;
          pump();
        }, wait);
        return;
      }
    } else if (ack.code === "message_too_long") {
      settle(entry);
      hooks.takeBack(entry, ack); // the shopper shortens it in the input
    } else {
      fail(entry, ack.message);
    }
    pump();
  }

  setInterval(expire, 2000);

  return {
    restore,
    session,
    add,
    retry,
    afterHistory,
    historyArrived,
    paused,
    pump,
    busy: () => busy,
  };
}
