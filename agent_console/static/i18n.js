// The console's texts and number formats in the agent's language. The texts are data
// (agent_console/locales/<lang>.json, one file per language): the page lists the
// languages there are files for, the browser's preferred languages choose among them,
// and a text missing in a language reads in the default one.

/** The first of the browser's languages the console has texts for, else the default. */
export function chooseLanguage(available, preferred, fallback) {
  for (const tag of preferred || []) {
    const language = String(tag).toLowerCase().split("-")[0];
    if (available.includes(language)) return language;
  }
  return fallback;
}

async function fetchTexts(language) {
  const response = await fetch(`/console/locales/${encodeURIComponent(language)}.json`, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`no texts for ${language} (HTTP ${response.status})`);
  return response.json();
}

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;
const WEEK = 604800;

export class I18n {
  constructor(language, catalog, fallback) {
    this.language = language;
    this.texts = { ...(fallback.texts || {}), ...(catalog.texts || {}) };
    // Intl wants a BCP 47 tag: "en-GB" writes 24-hour times and "1,234.5", "de" writes "1.234,5".
    this.locale = (catalog.formats && catalog.formats.locale) || language;
    this.numbers = new Intl.NumberFormat(this.locale, { maximumFractionDigits: 1 });
    this.percents = new Intl.NumberFormat(this.locale, { style: "percent", maximumFractionDigits: 1 });
  }

  /** The texts of the page's language (body data-languages, data-default-language). */
  static async load(body, preferred) {
    const available = (body.dataset.languages || "").split(" ").filter(Boolean);
    const fallbackLanguage = body.dataset.defaultLanguage || "en";
    const language = chooseLanguage(available, preferred, fallbackLanguage);
    let fallback = {};
    let catalog = {};
    try {
      fallback = await fetchTexts(fallbackLanguage);
      catalog = language === fallbackLanguage ? fallback : await fetchTexts(language);
    } catch (e) {
      /* the keys themselves show; the console still works */
    }
    return new I18n(language, catalog, fallback);
  }

  /** t("key", {n: 3}) → the text with {n} filled in; the key itself if there is no text. */
  t(key, values) {
    const template = this.texts[key];
    if (template === undefined) return key;
    return String(template).replace(/\{(\w+)\}/g, (match, name) =>
      values && values[name] !== undefined && values[name] !== null ? String(values[name]) : match);
  }

  /** A text for a code if there is one ("topic.order_status"), else the code in words. */
  label(prefix, code) {
    const key = `${prefix}.${code}`;
    return this.texts[key] !== undefined ? this.texts[key] : String(code ?? "").replace(/_/g, " ");
  }

  /** Fills the page's static texts: data-t (text), data-t-placeholder, data-t-label (aria-label), data-t-title. */
  apply(root) {
    root.querySelectorAll("[data-t]").forEach((node) => { node.textContent = this.t(node.dataset.t); });
    root.querySelectorAll("[data-t-placeholder]").forEach((node) => { node.placeholder = this.t(node.dataset.tPlaceholder); });
    root.querySelectorAll("[data-t-label]").forEach((node) => node.setAttribute("aria-label", this.t(node.dataset.tLabel)));
    root.querySelectorAll("[data-t-title]").forEach((node) => { node.title = this.t(node.dataset.tTitle); });
  }

  number(value) {
    const n = Number(value);
    return value === null || value === undefined || !Number.isFinite(n) ? "—" : this.numbers.format(n);
  }

  percent(rate) {
    const n = Number(rate);
    return rate === null || rate === undefined || !Number.isFinite(n) ? "—" : this.percents.format(n);
  }

  /** Seconds in words: "45 s", "1 min 20 s", "2 h 5 min", "3 d 4 h" ("1 Min. 20 s" in German). */
  duration(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return "—";
    const s = Math.max(0, Math.round(Number(seconds)));
    if (s >= WEEK) return this.t("duration.week_or_more");
    const unit = (name, n) => `${this.numbers.format(n)} ${this.t(`duration.${name}`)}`;
    const pair = (big, bigName, small, smallName) =>
      small ? `${unit(bigName, big)} ${unit(smallName, small)}` : unit(bigName, big);
    if (s < MINUTE) return unit("s", s);
    if (s < HOUR) return pair(Math.floor(s / MINUTE), "min", s % MINUTE, "s");
    if (s < DAY) return pair(Math.floor(s / HOUR), "h", Math.floor((s % HOUR) / MINUTE), "min");
    return pair(Math.floor(s / DAY), "d", Math.floor((s % DAY) / HOUR), "h");
  }

  /** "YYYY-MM-DD" (a shop-local day), or epoch milliseconds → "Mo., 3. Nov." / "Mon 3 Nov". */
  day(iso, options = { weekday: "short", day: "numeric", month: "short" }) {
    if (iso === null || iso === undefined || iso === "") return "";
    const date = typeof iso === "number" ? new Date(iso) : new Date(`${String(iso).slice(0, 10)}T12:00:00`);
    return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleDateString(this.locale, options);
  }

  /** A day for a chart's axis: "3 Nov" / "3. Nov.". */
  shortDay(iso) {
    return this.day(iso, { day: "numeric", month: "short" });
  }

  /** A moment (epoch milliseconds, or an ISO string) as date and time. */
  moment(at) {
    if (at === null || at === undefined || at === "") return "";
    const date = new Date(typeof at === "number" ? at : String(at));
    if (Number.isNaN(date.getTime())) return String(at);
    return date.toLocaleString(this.locale, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  /** The weekdays' short names, Monday first (the reports' rows). */
  weekdays() {
    const monday = new Date(2024, 0, 1, 12); // a Monday
    return Array.from({ length: 7 }, (_, n) =>
      new Date(monday.getTime() + n * DAY * 1000).toLocaleDateString(this.locale, { weekday: "short" }));
  }
}
