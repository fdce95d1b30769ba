// Reports on how much comes in and how fast it is answered: Volume, Speed, Staffing.
// Shapes: /tmp/spec/design.md → README "Reports"; every section renders from one report's JSON.

import { CHANNEL_COLOURS, heatmap } from "./charts.js";
import { h } from "./dom.js";
import { dayLabels, grid, kpis, panel, share, table, unfilteredNote } from "./report_parts.js";

const DURATIONS = ["first_response", "resolution", "waiting", "handling"];

/** The channels anything came in on (a channel filter leaves one: the others are not news). */
function channelsOf(started, days) {
  const names = new Set(Object.keys(started.by_channel || {}));
  days.forEach((day) => Object.keys(day.by_channel || {}).forEach((name) => names.add(name)));
  const total = (name) => days.reduce((sum, day) => sum + ((day.by_channel || {})[name] || 0), 0)
    + ((started.by_channel || {})[name] || 0);
  return [...names].filter((name) => total(name) > 0);
}

/** Started conversations by channel and day, handoffs by team, and the two weekday × hour heatmaps. */
export function volume(ctx, data) {
  const { i18n, charts } = ctx;
  const started = data.started || {};
  const handoffs = data.handoffs || {};
  const days = Array.isArray(started.by_day) ? started.by_day : [];
  const channels = channelsOf(started, days);
  const byTeam = Object.entries(handoffs.by_team || {}).sort((a, b) => b[1] - a[1]);
  const heat = data.heatmap || {};
  return h("div", {},
    unfilteredNote(ctx, data),
    kpis([
      { name: "started", label: i18n.t("volume.started"), value: i18n.number(started.total) },
      ...channels.map((channel) => ({
        name: `started-${channel}`, label: i18n.label("channel", channel),
        value: i18n.number((started.by_channel || {})[channel] || 0),
      })),
      { name: "handoffs", label: i18n.t("volume.handoffs"), value: i18n.number(handoffs.total),
        sub: started.total ? share(ctx, handoffs.total || 0, started.total) : null },
    ]),
    grid(
      panel(i18n.t("volume.by_day"), charts.stackedBars(i18n.t("volume.by_day"), dayLabels(ctx, days),
        channels.map((channel) => ({
          label: i18n.label("channel", channel), colour: CHANNEL_COLOURS[channel],
          data: days.map((day) => (day.by_channel || {})[channel] || 0),
        }))), { wide: true, name: "started-by-day" }),
      panel(i18n.t("volume.handoffs_by_team"), table(
        [{ label: i18n.t("common.team") }, { label: i18n.t("volume.handoffs"), numeric: true }],
        byTeam.map(([team, n]) => [i18n.label("team", team), i18n.number(n)]),
        { rowData: (cells, n) => ({ team: byTeam[n][0] }), empty: i18n.t("reports.none") }), { name: "handoffs-by-team" }),
      panel(i18n.t("volume.heatmap_incoming"),
        heatmap(i18n, i18n.t("volume.heatmap_incoming_caption"), heat.incoming), { wide: true, name: "heatmap-incoming" }),
      panel(i18n.t("volume.heatmap_handoffs"),
        heatmap(i18n, i18n.t("volume.heatmap_handoffs_caption"), heat.handoffs), { wide: true, name: "heatmap-handoffs" }),
    ));
}

function durationRow(ctx, name, figures) {
  const { i18n } = ctx;
  const f = figures || {};
  return [i18n.t(`speed.${name}`), i18n.number(f.count), i18n.duration(f.median), i18n.duration(f.p90), i18n.duration(f.mean)];
}

/** First response, resolution, waiting and handling times: median, p90, mean; over target; by day. */
export function speed(ctx, data) {
  const { i18n, charts } = ctx;
  const first = data.first_response || {};
  const sameDay = data.email_same_day;
  const days = Array.isArray(data.by_day) ? data.by_day : [];
  const present = DURATIONS.filter((name) => data[name]);
  return h("div", {},
    kpis([
      { name: "first-response-median", label: i18n.t("speed.first_response_median"), value: i18n.duration(first.median) },
      { name: "first-response-p90", label: i18n.t("speed.p90"), value: i18n.duration(first.p90) },
      { name: "over-target", label: i18n.t("speed.over_target", { target: i18n.duration(data.target_seconds) }),
        value: i18n.number(first.over_target), tone: first.over_target ? "warn" : null,
        sub: first.count ? share(ctx, first.over_target || 0, first.count) : null },
      { name: "unanswered", label: i18n.t("speed.unanswered"), value: i18n.number(first.unanswered),
        hint: i18n.t("speed.unanswered_hint") },
      { name: "resolution-median", label: i18n.t("speed.resolution_median"),
        value: i18n.duration((data.resolution || {}).median) },
      { name: "waiting-median", label: i18n.t("speed.waiting_median"), value: i18n.duration((data.waiting || {}).median) },
      // The e-mail target: a person's first answer the same day (null with another channel's filter).
      sameDay ? { name: "email-same-day", label: i18n.t("speed.email_same_day"), value: i18n.percent(sameDay.rate),
        tone: sameDay.rate !== null && sameDay.rate < 1 ? "warn" : null, hint: i18n.t("speed.email_same_day_hint"),
        sub: sameDay.answered ? share(ctx, sameDay.within_24h, sameDay.answered) : null } : null,
    ]),
    grid(
      panel(i18n.t("speed.table"), table(
        [{ label: "" }, { label: i18n.t("speed.count"), numeric: true }, { label: i18n.t("speed.median"), numeric: true },
          { label: i18n.t("speed.p90"), numeric: true }, { label: i18n.t("speed.mean"), numeric: true }],
        present.map((name) => durationRow(ctx, name, data[name])),
        { rowData: (cells, n) => ({ figure: present[n] }) }), { name: "durations" }),
      panel(i18n.t("speed.trend"), charts.lines(i18n.t("speed.trend"), dayLabels(ctx, days), [
        { label: i18n.t("speed.first_response_median"), axis: "y",
          data: days.map((day) => (day.first_response || {}).median ?? null) },
        { label: i18n.t("speed.resolution_median"), axis: "y",
          data: days.map((day) => (day.resolution || {}).median ?? null) },
      ], { yTick: (s) => i18n.duration(s), durations: true }), { name: "speed-trend" }),
    ));
}

/** Agents needed per weekday × hour for the service level, and next week's forecast. */
export function staffing(ctx, data) {
  const { i18n } = ctx;
  const forecast = data.forecast || {};
  const people = (n) => i18n.number(n);
  return h("div", {},
    kpis([
      { name: "service-level", label: i18n.t("staffing.service_level"), value: i18n.percent(data.service_level),
        sub: i18n.t("staffing.service_level_value", { within: i18n.duration(data.answer_within_seconds) }) },
      { name: "concurrency", label: i18n.t("staffing.concurrency"), value: i18n.number(data.concurrency) },
      { name: "handling", label: i18n.t("staffing.handling"), value: i18n.duration(data.handling_seconds),
        sub: data.handling_measured === false ? i18n.t("staffing.handling_assumed") : null },
      { name: "peak", label: i18n.t("staffing.peak"),
        value: i18n.number(Math.max(0, ...(Array.isArray(data.needed) ? data.needed.flat() : [0]))) },
    ]),
    grid(
      panel(i18n.t("staffing.needed"), heatmap(i18n, i18n.t("staffing.needed_caption"), data.needed, people),
        { wide: true, name: "staffing-needed" }),
      panel(i18n.t("staffing.forecast", { week: forecast.week_of ? i18n.day(forecast.week_of) : "—" }),
        data.forecast ? heatmap(i18n, i18n.t("staffing.forecast_caption"), forecast.needed, people)
          : h("p", { className: "empty", text: i18n.t("staffing.no_forecast") }), { wide: true, name: "staffing-forecast" }),
    ));
}
