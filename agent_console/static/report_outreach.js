// Reports on what the shop says first and what shoppers complain about: Proactive offers and
// notifications (with WISMO per 100 shipped orders), and Complaints (alerts and clusters).

import { rateBar, sparkline } from "./charts.js";
import { h } from "./dom.js";
import { caseButton, dayLabels, firstOf, grid, kpis, panel, table } from "./report_parts.js";

const CLUSTERS_SHOWN = 10;

function ruleTable(ctx, rules, name) {
  const { i18n } = ctx;
  const list = Array.isArray(rules) ? rules : [];
  return table(
    [{ label: i18n.t("proactive.rule") }, { label: i18n.t("proactive.target") },
      { label: i18n.t("proactive.shown"), numeric: true }, { label: i18n.t("proactive.accepted"), numeric: true },
      { label: i18n.t("proactive.declined"), numeric: true }, { label: i18n.t("proactive.converted"), numeric: true },
      { label: i18n.t("proactive.conversion_rate") }],
    list.map((r) => [i18n.label("rule", r.rule), i18n.label("target", r.target), i18n.number(r.shown),
      i18n.number(r.accepted), i18n.number(r.declined), i18n.number(r.converted), rateBar(i18n, r.conversion_rate)]),
    { rowData: (cells, n) => ({ rule: list[n].rule, period: name }), empty: i18n.t("proactive.no_rules") });
}

/** Notifications sent: a status × channel table with totals. */
function sentTable(ctx, sent) {
  const { i18n } = ctx;
  const rows = Array.isArray(sent) ? sent : [];
  const channels = [...new Set(rows.map((row) => row.channel))];
  const statuses = [...new Set(rows.map((row) => row.status))];
  const count = (status, channel) => rows.filter((row) => row.status === status && (!channel || row.channel === channel))
    .reduce((sum, row) => sum + (Number(row.count) || 0), 0);
  return table(
    [{ label: i18n.t("notifications.status") },
      ...channels.map((channel) => ({ label: i18n.label("channel", channel), numeric: true })),
      { label: i18n.t("common.total"), numeric: true }],
    statuses.map((status) => [i18n.label("status", status), ...channels.map((channel) => i18n.number(count(status, channel))),
      i18n.number(count(status, null))]),
    { rowData: (cells, n) => ({ status: statuses[n] }), empty: i18n.t("notifications.none") });
}

function wismoFigures(ctx, name, figures) {
  const { i18n } = ctx;
  const f = figures || {};
  return {
    name: `wismo-${name}`, label: i18n.t(`notifications.wismo_${name}`), value: i18n.number(f.per_100),
    sub: i18n.t("notifications.wismo_counts", { contacts: i18n.number(f.contacts), orders: i18n.number(f.orders) }),
  };
}

/** Offers per rule (the range and today), notifications by status and channel, WISMO per 100 shipped. */
export function outreach(ctx, proactive, notifications) {
  const { i18n, charts } = ctx;
  const wismo = (notifications && notifications.wismo) || {};
  const notified = (wismo.notified || {}).per_100;
  const notNotified = (wismo.not_notified || {}).per_100;
  return h("div", {},
    grid(
      panel(i18n.t("proactive.in_range"), proactive ? ruleTable(ctx, proactive.rules, "range") : null,
        { wide: true, name: "offers" }),
      panel(i18n.t("proactive.today"), proactive ? ruleTable(ctx, proactive.today, "today") : null,
        { wide: true, name: "offers-today" }),
      panel(i18n.t("notifications.sent"), notifications ? sentTable(ctx, notifications.sent) : null, { name: "notifications" }),
      panel(i18n.t("notifications.wismo"), h("div", {},
        kpis([wismoFigures(ctx, "notified", wismo.notified), wismoFigures(ctx, "not_notified", wismo.not_notified)]),
        charts.bars(i18n.t("notifications.wismo"), [i18n.t("notifications.wismo_notified"), i18n.t("notifications.wismo_not_notified")],
          [{ label: i18n.t("notifications.per_100"), data: [notified ?? null, notNotified ?? null] }]),
        h("p", { className: "report-note", text: i18n.t("notifications.wismo_hint") })), { name: "wismo" }),
    ));
}

// ------------------------------------------------------------------ complaints

function themeOf(theme) {
  if (!theme) return null;
  return typeof theme === "string" ? { id: theme, label: theme } : theme;
}

function productName(ctx, product) {
  if (!product) return ctx.i18n.t("complaints.no_product");
  return product.name ? `${product.name} (${product.sku})` : String(product.sku);
}

/** The day-by-day complaints about the alert's product (its clusters' trends added up). */
function alertTrend(alert, clusters) {
  const sku = alert.product && alert.product.sku;
  const theme = themeOf(alert.theme);
  const mine = clusters.filter((c) => c.product && c.product.sku === sku && (!theme || !c.theme || themeOf(c.theme).id === theme.id));
  const chosen = mine.length ? mine : clusters.filter((c) => c.product && c.product.sku === sku);
  const byDay = new Map();
  chosen.forEach((c) => (c.trend || []).forEach((point) => byDay.set(point.day, (byDay.get(point.day) || 0) + (point.count || 0))));
  return [...byDay.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([day, count]) => ({ day, count }));
}

/**
 * The alert banner: a product complained about by more shoppers than its baseline, with its
 * cases one click away and its trend. Shown above the sections: it is the report to act on.
 */
export function alertBanner(ctx, data) {
  const { i18n, charts } = ctx;
  const alerts = Array.isArray(data.alerts) ? data.alerts : [];
  const clusters = Array.isArray(data.clusters) ? data.clusters : [];
  if (!alerts.length) return null;
  return h("div", { className: "alerts" }, alerts.map((alert) => {
    const theme = themeOf(alert.theme);
    const cases = Array.isArray(alert.cases) ? alert.cases : [];
    const trend = alertTrend(alert, clusters);
    return h("section", { className: "alert-banner", attrs: { role: "alert" },
      dataset: { sku: (alert.product && alert.product.sku) || "" } },
    h("div", { className: "alert-text" },
      h("h3", { className: "alert-title", text: i18n.t("complaints.alert_title", { product: productName(ctx, alert.product) }) }),
      h("p", { text: i18n.t("complaints.alert_body", {
        shoppers: i18n.number(alert.shoppers), days: i18n.number(alert.window_days), baseline: i18n.number(alert.baseline),
      }) }),
      h("p", { className: "muted", text: [
        alert.since ? i18n.t("complaints.since", { day: i18n.day(alert.since) }) : null,
        theme ? i18n.t("complaints.theme", { theme: theme.label || theme.id }) : null,
      ].filter(Boolean).join(" · ") }),
      h("div", { className: "alert-cases" },
        h("span", { className: "muted", text: i18n.t("complaints.cases", { n: i18n.number(cases.length) }) }),
        cases.map((cid, n) => caseButton(ctx, cid, i18n.t("complaints.case_n", { n: n + 1 }))))),
    trend.length ? h("div", { className: "alert-chart" }, charts.bars(i18n.t("complaints.trend"),
      dayLabels(ctx, trend), [{ label: i18n.t("complaints.complaints"), data: trend.map((p) => p.count), colour: "#b3261e" }]))
      : null);
  }));
}

function clusterRow(ctx, cluster) {
  const { i18n } = ctx;
  const theme = themeOf(cluster.theme) || {};
  const texts = Array.isArray(cluster.conversations) ? cluster.conversations : [];
  const trend = Array.isArray(cluster.trend) ? cluster.trend : [];
  const details = h("details", { className: "cluster-texts" },
    h("summary", { text: i18n.t("complaints.what_they_wrote", { n: i18n.number(texts.length) }) }),
    h("ul", {}, texts.map((entry) => h("li", {},
      h("span", { className: "muted", text: `${i18n.moment(entry.at)}${entry.source ? ` · ${i18n.label("source", entry.source)}` : ""}` }),
      h("q", { className: "shopper-text", text: entry.text || "" }),
      caseButton(ctx, entry.conversation_id)))));
  return [
    productName(ctx, cluster.product),
    h("span", { text: theme.label || theme.id || "—", attrs: { title: (theme.terms || []).join(", ") } }),
    i18n.number(cluster.cases), i18n.number(cluster.shoppers),
    trend.length ? sparkline(i18n, trend) : "—",
    details,
  ];
}

/** Feedback by class, and the complaint clusters by product and theme with what shoppers wrote. */
export function complaints(ctx, data) {
  const { i18n, charts } = ctx;
  const feedback = data.feedback || {};
  const clusters = Array.isArray(data.clusters) ? data.clusters : [];
  const top = clusters.slice(0, 5);
  const days = [...new Set(top.flatMap((c) => (c.trend || []).map((p) => p.day)))].sort();
  const alerts = Array.isArray(data.alerts) ? data.alerts.length : 0;
  return h("div", {},
    kpis([
      { name: "alerts", label: i18n.t("complaints.alerts"), value: i18n.number(alerts), tone: alerts ? "danger" : null },
      ...["complaint", "suggestion", "praise"].map((name) => ({
        name: `feedback-${name}`, label: i18n.label("feedback", name), value: i18n.number(feedback[name] || 0),
      })),
    ]),
    grid(
      panel(i18n.t("complaints.clusters"), clusters.length ? firstOf(ctx, clusters, CLUSTERS_SHOWN, (shown) => table(
        [{ label: i18n.t("complaints.product") }, { label: i18n.t("complaints.theme_column") },
          { label: i18n.t("complaints.cases_column"), numeric: true }, { label: i18n.t("complaints.shoppers"), numeric: true },
          { label: i18n.t("complaints.per_day") }, { label: "" }],
        shown.map((cluster) => clusterRow(ctx, cluster)),
        { rowData: (cells, n) => ({ sku: (shown[n].product || {}).sku || "", theme: (themeOf(shown[n].theme) || {}).id || "" }) }))
        : h("p", { className: "empty", text: i18n.t("complaints.no_clusters") }), { wide: true, name: "clusters" }),
      top.length ? panel(i18n.t("complaints.trend_top"), charts.lines(i18n.t("complaints.trend_top"),
        days.map((day) => i18n.shortDay(day)), top.map((cluster) => ({
          label: `${productName(ctx, cluster.product)} · ${(themeOf(cluster.theme) || {}).label || ""}`,
          data: days.map((day) => ((cluster.trend || []).find((p) => p.day === day) || {}).count || 0),
        }))), { wide: true, name: "cluster-trend" }) : null,
    ));
}
