// The left column: the queues per team (own team first) and the agent's own chats.

import { clear, h, shopperText, waited, words } from "./dom.js";

function waitingTime(since) {
  return h("span", { className: "wait", text: waited(since), dataset: { since }, attrs: { title: "waiting" } });
}

function entryFacts(summary) {
  return h("span", { className: "entry-facts" },
    h("span", { className: "channel", text: summary.channel }),
    h("span", { className: "locale", text: String(summary.locale || "").toUpperCase() }),
    summary.reason ? h("span", { className: "reason", text: words(summary.reason) }) : null);
}

function preview(summary) {
  return h("span", { className: "preview", text: shopperText(summary.preview) || "—" });
}

function queueEntry(summary, handlers, isOpen) {
  const since = summary.queued_at || summary.updated_at || summary.created_at;
  return h("li", { className: `entry${isOpen ? " is-open" : ""}`, dataset: { conversationId: summary.id } },
    h("button", {
      className: "entry-open",
      attrs: { type: "button", "aria-label": `Open ${summary.channel} conversation: ${shopperText(summary.preview) || ""}` },
      on: { click: () => handlers.open(summary.id) },
    },
    h("span", { className: "entry-top" }, entryFacts(summary), waitingTime(since)),
    preview(summary)),
    h("button", {
      className: "button button--small entry-claim",
      text: "Claim",
      attrs: { type: "button" },
      on: { click: () => handlers.claim(summary.id) },
    }));
}

function mineEntry(summary, unread, handlers, isOpen) {
  return h("li", { className: `entry entry--mine${isOpen ? " is-open" : ""}`, dataset: { conversationId: summary.id } },
    h("button", {
      className: "entry-open",
      attrs: { type: "button" },
      on: { click: () => handlers.open(summary.id) },
    },
    h("span", { className: "entry-top" },
      entryFacts(summary),
      unread ? h("span", { className: "badge", text: String(unread), attrs: { title: `${unread} unread` } }) : null),
    preview(summary)));
}

/**
 * els: {queues, mine, mineCount, mineEmpty}; view: {me, teams, summaries, unread, openIds};
 * handlers: {open(id), claim(id)}.
 */
export function renderSidebar(els, view, handlers) {
  const all = [...view.summaries.values()];
  const mine = all
    .filter((s) => s.state === "assigned" && s.agent === view.me.email)
    .sort((a, b) => (a.queued_at || a.created_at) - (b.queued_at || b.created_at));
  clear(els.mine);
  mine.forEach((s) => els.mine.appendChild(mineEntry(s, view.unread.get(s.id) || 0, handlers, view.openIds.has(s.id))));
  els.mineCount.textContent = String(mine.length);
  els.mineEmpty.hidden = mine.length > 0;

  const own = view.me.team;
  const teams = [own, ...view.teams.filter((team) => team !== own)];
  clear(els.queues);
  for (const team of teams) {
    const waiting = all
      .filter((s) => s.state === "queued" && s.team === team)
      .sort((a, b) => (a.queued_at || a.updated_at) - (b.queued_at || b.updated_at));
    const list = h("ul", { className: "entries" });
    waiting.forEach((s) => list.appendChild(queueEntry(s, handlers, view.openIds.has(s.id))));
    els.queues.appendChild(h("section", { className: `queue${team === own ? " queue--own" : ""}`, dataset: { team } },
      h("h3", { className: "queue-title" },
        h("span", { text: team }),
        team === own ? h("span", { className: "muted", text: " · your team" }) : null,
        h("span", { className: "count", text: String(waiting.length) })),
      waiting.length ? list : h("p", { className: "empty", text: "Nobody waiting." })));
  }
}

/** Moves every waiting time on the page on (called every few seconds). */
export function tick(root) {
  const now = Date.now();
  root.querySelectorAll("[data-since]").forEach((node) => {
    node.textContent = waited(Number(node.dataset.since), now);
  });
}
