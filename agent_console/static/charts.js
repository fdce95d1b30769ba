// Charts for the reports: Chart.js (npm, served by the gateway at /console/vendor/, never a
// CDN), loaded only when a supervisor first opens a report; and the weekday × hour
// heatmaps, drawn as tables of coloured cells so every number stays readable as text.

import { h } from "./dom.js";

const CHART_JS = "/console/vendor/chart.umd.min.js";
// One colour per series, the console's teal first; readable on white, distinct in print.
export const PALETTE = ["#1f6f68", "#3a7bd5", "#e08a1e", "#8e5cc2", "#c2415a", "#5b8c2a", "#6b7785"];
export const CHANNEL_COLOURS = { web: "#1f6f68", sms: "#e08a1e", messenger: "#3a7bd5", whatsapp: "#5b8c2a", email: "#7a4fa0" };
const HEAT_LEVELS = 6; // heat-0 (nothing) … heat-5 (the busiest hour), console.css/reports.css
// Steps a duration axis may take (seconds): its ticks read "30 min", "2 h", not "2 h 46 min".
const DURATION_STEPS = [1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800];
const DURATION_TICKS = 6;

/** The first step that puts the largest of `values` (seconds) under about six ticks. */
export function durationStep(values) {
  const max = Math.max(0, ...values.filter((v) => Number.isFinite(v)));
  return DURATION_STEPS.find((step) => max / step <= DURATION_TICKS) || DURATION_STEPS[DURATION_STEPS.length - 1];
}

/** Resolves with window.Chart once the library has loaded (a script element: CSP 'self'). */
export function loadChartJs() {
  if (window.Chart) return Promise.resolve(window.Chart);
  const existing = document.querySelector(`script[src="${CHART_JS}"]`);
  return new Promise((resolve, reject) => {
    const script = existing || h("script", { attrs: { src: CHART_JS } });
    script.addEventListener("load", () => resolve(window.Chart));
    script.addEventListener("error", () => reject(new Error("the charting library did not load")));
    if (!existing) document.head.appendChild(script);
  });
}

/** Keeps the charts of one view, so a reload replaces them instead of stacking canvases. */
export class Charts {
  constructor(i18n) {
    this.i18n = i18n;
    this.live = new Set();
  }

  destroyAll() {
    for (const chart of this.live) chart.destroy();
    this.live.clear();
  }

  /** A canvas in a sized box, described for screen readers; the chart is drawn into it. */
  box(label, make) {
    const canvas = h("canvas", { attrs: { role: "img", "aria-label": label } });
    const box = h("div", { className: "chart-box" }, canvas);
    if (!window.Chart) {
      box.appendChild(h("p", { className: "empty", text: this.i18n.t("reports.no_charts") }));
      return box;
    }
    const chart = new window.Chart(canvas, make());
    this.live.add(chart);
    box.dataset.chart = chart.config.type;
    return box;
  }

  base(yTick) {
    const number = (value) => this.i18n.number(value);
    const tick = yTick || number;
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false, // reports are read, not watched; and screenshots come out the same
      locale: this.i18n.locale,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${tick(item.raw)}` } },
      },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 8 } },
        y: { beginAtZero: true, ticks: { callback: (value) => tick(value), precision: 0 } },
      },
    };
  }

  /** Stacked bars: labels along x, one dataset per {label, data, colour}. */
  stackedBars(label, labels, series) {
    return this.box(label, () => {
      const options = this.base();
      options.scales.x.stacked = true;
      options.scales.y.stacked = true;
      return {
        type: "bar",
        data: { labels, datasets: series.map((s, n) => ({
          label: s.label, data: s.data, backgroundColor: s.colour || PALETTE[n % PALETTE.length], borderWidth: 0,
        })) },
        options,
      };
    });
  }

  /** Plain bars (one dataset, or several side by side). */
  bars(label, labels, series, { yTick, horizontal = false } = {}) {
    return this.box(label, () => {
      const options = this.base(yTick);
      if (horizontal) {
        options.indexAxis = "y";
        options.scales = {
          x: { beginAtZero: true, ticks: { callback: (value) => (yTick || ((v) => this.i18n.number(v)))(value) } },
          y: { grid: { display: false } },
        };
      }
      if (series.length === 1) options.plugins.legend.display = false;
      return {
        type: "bar",
        data: { labels, datasets: series.map((s, n) => ({
          label: s.label, data: s.data, backgroundColor: s.colour || PALETTE[n % PALETTE.length], borderWidth: 0,
        })) },
        options,
      };
    });
  }

  /**
   * Lines by day. series: [{label, data, colour, axis: "y"|"y2"}]; yTick/y2Tick format each axis
   * (durations, percents). Gaps (null) stay gaps: a day without a sample has no median.
   */
  lines(label, labels, series, { yTick, y2Tick, yMax, durations = false } = {}) {
    return this.box(label, () => {
      const options = this.base(yTick);
      if (yMax !== undefined) options.scales.y.max = yMax;
      const onAxis = (axis) => series.filter((s) => (s.axis || "y") === axis).flatMap((s) => s.data);
      const tickOf = { y: yTick || ((v) => this.i18n.number(v)), y2: y2Tick || ((v) => this.i18n.number(v)) };
      if (series.some((s) => s.axis === "y2")) {
        options.scales.y2 = { position: "right", beginAtZero: true, grid: { display: false },
          ticks: { callback: (value) => tickOf.y2(value) } };
      }
      if (durations) {
        for (const axis of Object.keys(tickOf)) {
          if (options.scales[axis]) options.scales[axis].ticks.stepSize = durationStep(onAxis(axis));
        }
      }
      options.plugins.tooltip.callbacks.label = (item) =>
        `${item.dataset.label}: ${tickOf[item.dataset.yAxisID || "y"](item.raw)}`;
      if (series.length === 1) options.plugins.legend.display = false;
      return {
        type: "line",
        data: { labels, datasets: series.map((s, n) => ({
          label: s.label, data: s.data, yAxisID: s.axis || "y", spanGaps: false, pointRadius: 2,
          tension: 0, // straight from day to day: a curve would show values nobody measured
          borderColor: s.colour || PALETTE[n % PALETTE.length], backgroundColor: s.colour || PALETTE[n % PALETTE.length],
        })) },
        options,
      };
    });
  }
}

/** The level (0 … HEAT_LEVELS-1) of `value` against the busiest cell. */
function level(value, max) {
  if (!value || !max) return 0;
  return Math.max(1, Math.ceil((value / max) * (HEAT_LEVELS - 1)));
}

/**
 * A weekday × hour table (row 0 = Monday, column = the shop-local hour) of coloured cells.
 * matrix: 7 rows of 24 numbers; format(n) writes a cell; caption names it.
 */
export function heatmap(i18n, caption, matrix, format = (n) => i18n.number(n)) {
  const rows = Array.isArray(matrix) ? matrix : [];
  const max = Math.max(0, ...rows.flat().map((n) => Number(n) || 0));
  const weekdays = i18n.weekdays();
  const hours = Array.from({ length: 24 }, (_, hour) => hour);
  return h("table", { className: "heatmap", dataset: { max } },
    h("caption", { text: caption }),
    h("thead", {}, h("tr", {}, h("th", { attrs: { scope: "col" } }),
      hours.map((hour) => h("th", { text: String(hour), attrs: { scope: "col", title: `${hour}:00–${hour + 1}:00` } })))),
    h("tbody", {}, weekdays.map((weekday, row) => h("tr", {},
      h("th", { text: weekday, attrs: { scope: "row" } }),
      hours.map((hour) => {
        const value = Number((rows[row] || [])[hour]) || 0;
        return h("td", {
          className: `heat heat-${level(value, max)}`,
          text: value ? format(value) : "",
          attrs: { title: `${weekday} ${hour}:00–${hour + 1}:00: ${format(value)}` },
          dataset: { value },
        });
      })))));
}

/** A bar inside a table cell for a rate 0 … 1 (deflection per topic, CSAT per team). */
export function rateBar(i18n, rate) {
  const share = Number(rate);
  const known = rate !== null && rate !== undefined && Number.isFinite(share);
  return h("span", { className: "rate" },
    h("meter", { className: "rate-bar", attrs: { min: 0, max: 1, value: known ? Math.min(1, Math.max(0, share)) : 0,
      "aria-hidden": "true" } }),
    h("span", { className: "rate-value", text: i18n.percent(rate) }));
}

/**
 * A day-by-day row of tiny bars in a table cell (a cluster's trend): the numbers stay in the
 * title and the accessible name. Heights go through CSSOM (style-src 'self' allows that).
 */
export function sparkline(i18n, points) {
  const list = Array.isArray(points) ? points : [];
  const max = Math.max(0, ...list.map((p) => Number(p.count) || 0));
  const total = list.reduce((sum, p) => sum + (Number(p.count) || 0), 0);
  const words = list.map((p) => `${i18n.shortDay(p.day)}: ${i18n.number(p.count || 0)}`).join(", ");
  return h("span", { className: "sparkline", attrs: { role: "img", "aria-label": words, title: words },
    dataset: { total } },
  list.map((p) => {
    const bar = h("span", { className: `spark${p.count ? "" : " spark--zero"}` });
    bar.style.height = `${max ? Math.max(8, Math.round((100 * (Number(p.count) || 0)) / max)) : 8}%`;
    return bar;
  }));
}
