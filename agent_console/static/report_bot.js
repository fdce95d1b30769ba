// Reports on what the bot and the agents achieve for the shopper: Bot (deflection, topics,
// handoffs by reason, what it did not understand) and Satisfaction (CSAT).

import { rateBar } from "./charts.js";
import { h } from "./dom.js";
import { agentLabel, caseButton, dayLabels, firstOf, grid, kpis, panel, share, table, unfilteredNote } from "./report_parts.js";

const TOPICS_SHOWN = 12;
const COMMENTS_SHOWN = 8;

/** "faq/returns" → "FAQ: returns"; order_status → "Where is my order?" (the locale's topic.* texts first). */
export function topicLabel(ctx, topic) {
  const known = ctx.i18n.texts[`topic.${topic}`];
  if (known !== undefined) return known;
  const faq = /^faq\/(.+)$/.exec(String(topic || ""));
  if (faq) return ctx.i18n.t("bot.faq_topic", { topic: faq[1].replace(/_/g, " ") });
  return ctx.i18n.label("topic", topic);
}

/** Deflection overall and per topic, handoffs by reason and team, the top not-understood messages. */
export function bot(ctx, data) {
  const { i18n } = ctx;
  const topics = Array.isArray(data.topics) ? data.topics : [];
  const reasons = Array.isArray(data.handoffs_by_reason) ? data.handoffs_by_reason : [];
  const notUnderstood = data.not_understood || {};
  const top = Array.isArray(notUnderstood.top) ? notUnderstood.top : [];
  return h("div", {},
    unfilteredNote(ctx, data),
    kpis([
      { name: "deflection", label: i18n.t("bot.deflection"), value: i18n.percent(data.deflection_rate),
        sub: share(ctx, data.deflected || 0, data.conversations || 0), hint: i18n.t("bot.deflection_hint") },
      { name: "conversations", label: i18n.t("bot.conversations"), value: i18n.number(data.conversations) },
      { name: "deflected", label: i18n.t("bot.deflected"), value: i18n.number(data.deflected) },
      { name: "not-understood", label: i18n.t("bot.not_understood_turns"), value: i18n.number(notUnderstood.turns) },
    ]),
    grid(
      panel(i18n.t("bot.topics"), topics.length ? firstOf(ctx, topics, TOPICS_SHOWN, (shown) => table(
        [{ label: i18n.t("bot.topic") }, { label: i18n.t("bot.conversations"), numeric: true },
          { label: i18n.t("bot.deflected"), numeric: true }, { label: i18n.t("bot.deflection") }],
        shown.map((t) => [topicLabel(ctx, t.topic), i18n.number(t.conversations), i18n.number(t.deflected),
          rateBar(i18n, t.deflection_rate)]),
        { rowData: (cells, n) => ({ topic: shown[n].topic }) })) : h("p", { className: "empty", text: i18n.t("reports.none") }),
      { name: "topics" }),
      panel(i18n.t("bot.handoffs_by_reason"), table(
        [{ label: i18n.t("bot.reason") }, { label: i18n.t("common.team") }, { label: i18n.t("volume.handoffs"), numeric: true }],
        reasons.map((r) => [i18n.label("reason", r.reason), i18n.label("team", r.team), i18n.number(r.handoffs)]),
        { rowData: (cells, n) => ({ reason: reasons[n].reason }), empty: i18n.t("reports.none") }), { name: "reasons" }),
      panel(i18n.t("bot.not_understood"), table(
        [{ label: i18n.t("bot.message") }, { label: i18n.t("bot.times"), numeric: true }],
        top.map((entry) => [h("q", { className: "shopper-text", text: entry.text }), i18n.number(entry.count)]),
        { empty: i18n.t("bot.all_understood") }), { wide: true, name: "not-understood" }),
    ));
}

function scoreRows(ctx, rows, name) {
  const { i18n } = ctx;
  return rows.map((row) => [
    name === "agent" ? agentLabel(ctx, row.agent) : i18n.label(name, row[name]),
    i18n.number(row.surveys), i18n.number(row.answers), rateBar(i18n, row.score),
  ]);
}

function scoreTable(ctx, name, rows) {
  const { i18n } = ctx;
  const list = Array.isArray(rows) ? rows : [];
  return panel(i18n.t(`satisfaction.by_${name}`), table(
    [{ label: i18n.t(`common.${name}`) }, { label: i18n.t("satisfaction.surveys"), numeric: true },
      { label: i18n.t("satisfaction.answers"), numeric: true }, { label: i18n.t("satisfaction.score") }],
    scoreRows(ctx, list, name),
    { rowData: (cells, n) => ({ [name]: list[n][name] ?? "" }), empty: i18n.t("reports.none") }), { name: `csat-by-${name}` });
}

function stars(score) {
  const n = Number(score);
  return Number.isInteger(n) && n >= 1 && n <= 5 ? "★".repeat(n) + "☆".repeat(5 - n) : "";
}

/** One comment: its score, its feedback class, the text (as text), where it came from, the case. */
function comment(ctx, entry) {
  const { i18n } = ctx;
  const facts = [i18n.moment(entry.at), i18n.label("channel", entry.channel),
    entry.team ? i18n.label("team", entry.team) : null, entry.agent ? agentLabel(ctx, entry.agent) : null].filter(Boolean);
  return h("li", { className: "comment", dataset: { feedback: entry.feedback || "none", conversationId: entry.conversation_id } },
    h("div", { className: "comment-head" },
      h("span", { className: "comment-stars", text: stars(entry.score), attrs: { title: `${entry.score}/5` } }),
      entry.feedback ? h("span", { className: `feedback feedback--${entry.feedback}`, text: i18n.label("feedback", entry.feedback) }) : null,
      h("span", { className: "muted", text: facts.join(" · ") }),
      caseButton(ctx, entry.conversation_id)),
    h("p", { className: "comment-text shopper-text", text: entry.comment || "" }));
}

/** CSAT: score (share of 4–5), response rate, distribution, trend, per team/agent/channel, the comments. */
export function satisfaction(ctx, data) {
  const { i18n, charts } = ctx;
  const days = Array.isArray(data.by_day) ? data.by_day : [];
  const distribution = data.distribution || {};
  const comments = Array.isArray(data.comments) ? data.comments : [];
  const scores = ["1", "2", "3", "4", "5"];
  return h("div", {},
    kpis([
      { name: "score", label: i18n.t("satisfaction.score"), value: i18n.percent(data.score), hint: i18n.t("satisfaction.score_hint") },
      { name: "response-rate", label: i18n.t("satisfaction.response_rate"), value: i18n.percent(data.response_rate),
        sub: share(ctx, data.answers || 0, data.surveys || 0) },
      { name: "surveys", label: i18n.t("satisfaction.surveys"), value: i18n.number(data.surveys) },
      { name: "answers", label: i18n.t("satisfaction.answers"), value: i18n.number(data.answers) },
    ]),
    grid(
      panel(i18n.t("satisfaction.distribution"), charts.bars(i18n.t("satisfaction.distribution"),
        scores.map((s) => `${s} ★`), [{ label: i18n.t("satisfaction.answers"), data: scores.map((s) => distribution[s] || 0) }]),
        { name: "distribution" }),
      panel(i18n.t("satisfaction.trend"), charts.lines(i18n.t("satisfaction.trend"), dayLabels(ctx, days), [
        { label: i18n.t("satisfaction.score"), data: days.map((day) => day.score ?? null) },
      ], { yTick: (v) => i18n.percent(v), yMax: 1 }), { name: "csat-trend" }),
      scoreTable(ctx, "team", data.by_team),
      scoreTable(ctx, "agent", data.by_agent),
      scoreTable(ctx, "channel", data.by_channel),
      panel(i18n.t("satisfaction.comments"), comments.length
        ? firstOf(ctx, comments, COMMENTS_SHOWN, (shown) => h("ul", { className: "comments" }, shown.map((entry) => comment(ctx, entry))))
        : h("p", { className: "empty", text: i18n.t("satisfaction.no_comments") }), { wide: true, name: "comments" }),
    ));
}
