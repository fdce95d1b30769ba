// The building blocks every report section is made of: figures, tables, panels. Text from
// shoppers (not-understood messages, CSAT comments, complaint texts) only ever goes in
// as text (dom.js h()).

import { h } from "./dom.js";

/** Figures in a row: [{name, label, value, hint?}] → <dl class="kpis">. */
export function kpis(items) {
  return h("dl", { className: "kpis" }, items.filter(Boolean).map((item) =>
    h("div", { className: `kpi${item.tone ? ` kpi--${item.tone}` : ""}`, dataset: { kpi: item.name },
      attrs: { title: item.hint || null } },
    h("dt", { text: item.label }),
    h("dd", { text: item.value }),
    item.sub ? h("p", { className: "kpi-sub", text: item.sub }) : null)));
}

/**
 * A table: columns [{label, numeric?}], rows [[cell, …], …] where a cell is text or a Node;
 * rowData(row, index) → dataset for the row (e.g. {topic}).
 */
export function table(columns, rows, { caption, rowData, empty } = {}) {
  if (!rows.length && empty) return h("p", { className: "empty", text: empty });
  return h("table", { className: "report-table" },
    caption ? h("caption", { text: caption }) : null,
    h("thead", {}, h("tr", {}, columns.map((column) =>
      h("th", { className: column.numeric ? "num" : null, text: column.label, attrs: { scope: "col" } })))),
    h("tbody", {}, rows.map((cells, index) => h("tr", { dataset: rowData ? rowData(cells, index) : {} },
      cells.map((cell, n) => h("td", { className: columns[n] && columns[n].numeric ? "num" : null },
        cell instanceof Node ? cell : String(cell ?? "—")))))));
}

/** A titled part of a section (a chart, a table). `wide` spans the section's full width. */
export function panel(title, content, { wide = false, name } = {}) {
  return h("div", { className: `report-panel${wide ? " report-panel--wide" : ""}`, dataset: name ? { panel: name } : {} },
    h("h3", { className: "report-panel-title", text: title }),
    content);
}

export function empty(text) {
  return h("p", { className: "empty", text });
}

/**
 * A link opening a case (#/conversations/{id}: a chat column, the case beside it); `label`
 * says which. A real link, so it also opens in a new tab and can be copied.
 */
export function caseButton(ctx, cid, label) {
  return h("a", {
    className: "button button--small case-link",
    text: label || ctx.i18n.t("reports.open_case"),
    attrs: { href: `#/conversations/${encodeURIComponent(cid)}`, title: ctx.i18n.t("reports.open_case") },
    dataset: { conversationId: cid },
    on: {
      click: (event) => {
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return; // a new tab
        event.preventDefault();
        ctx.open(cid); // also when the address names this case already
      },
    },
  });
}

/**
 * The figures a team or agent filter does not narrow (they have no team), said in a note,
 * e.g. "Shown for all teams: conversations started, deflection".
 */
export function unfilteredNote(ctx, report) {
  const range = report.range || {};
  const figures = Array.isArray(report.unfiltered) ? report.unfiltered : [];
  if (!figures.length || (!range.team && !range.agent)) return null;
  const names = figures.map((figure) => ctx.i18n.label("figure", figure)).join(", ");
  return h("p", { className: "report-note", text: ctx.i18n.t("reports.unfiltered", { figures: names }) });
}

/** The days of a by_day list as the charts' x labels. */
export function dayLabels(ctx, byDay) {
  return byDay.map((entry) => ctx.i18n.shortDay(entry.day));
}

/** The grid a section's panels sit in. */
export function grid(...panels) {
  return h("div", { className: "report-grid" }, ...panels);
}

/** An agent's name when the console knows it, else the email. */
export function agentLabel(ctx, email) {
  return (email && ctx.agentName(email)) || email || "—";
}

/** "1,234 of 2,000 (61.7 %)" */
export function share(ctx, part, whole) {
  const rate = whole ? part / whole : null;
  return ctx.i18n.t("reports.share", {
    part: ctx.i18n.number(part), whole: ctx.i18n.number(whole), rate: ctx.i18n.percent(rate),
  });
}

/**
 * The first `n` of a long list drawn by make(items), and the rest behind "Show all (N)"
 * (a <details>, so they are in the page, only folded away).
 */
export function firstOf(ctx, items, n, make) {
  if (items.length <= n) return make(items);
  return h("div", { className: "first-of" }, make(items.slice(0, n)),
    h("details", { className: "show-all" },
      h("summary", { text: ctx.i18n.t("reports.show_all", { n: ctx.i18n.number(items.length) }) }),
      make(items.slice(n))));
}
