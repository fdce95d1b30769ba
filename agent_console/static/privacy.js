// The shopper's data rights, for supervisors: from a case's contact, "Export data" (downloads
// everything storechat holds about the contact as JSON) and "Erase data" (asks for a reason and
// a confirmation), and the audit trail of both in the sidebar. Routes: /agent/contacts/{id}/export,
// /erase and /agent/privacy/audit (gateway/api/privacy.py). Text only through textContent.

import { ApiError } from "./api.js";
import { clear, h } from "./dom.js";

const AUDIT_SHOWN = 10;

export class PrivacyControls {
  /** app: {api, i18n, notify(text)} */
  constructor(app) {
    this.app = app;
    this.parts = new WeakMap(); // chat → its contact part
    this.audit = this.buildAudit();
    this.loadAudit();
  }

  /** The sidebar's audit trail: the newest exports and erasures. */
  buildAudit() {
    const { i18n } = this.app;
    this.auditList = h("ol", { className: "privacy-audit-list" });
    const section = h("section", { className: "sidebar-section privacy-audit", attrs: { "aria-label": i18n.t("privacy.audit") } },
      h("h2", { className: "sidebar-title", text: i18n.t("privacy.audit") },
        h("button", { className: "button button--small privacy-audit-refresh", text: i18n.t("common.refresh"),
          attrs: { type: "button" }, on: { click: () => this.loadAudit() } })),
      this.auditList);
    document.querySelector(".sidebar").appendChild(section);
    return section;
  }

  async loadAudit() {
    const { api, i18n } = this.app;
    let entries = [];
    try {
      entries = (await api.request("GET", `/privacy/audit?limit=${AUDIT_SHOWN}`)).entries || [];
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) {
        clear(this.auditList).appendChild(h("li", { className: "empty", text: i18n.t("privacy.failed", { error: error.message }) }));
      }
      return;
    }
    clear(this.auditList);
    if (!entries.length) this.auditList.appendChild(h("li", { className: "empty", text: i18n.t("privacy.audit_empty") }));
    entries.forEach((entry) => this.auditList.appendChild(h("li", { className: "privacy-audit-entry", dataset: { action: entry.action } },
      h("span", { className: "privacy-audit-head", text: i18n.t("privacy.audit_line", {
        at: i18n.moment(entry.at), action: i18n.t(`privacy.action_${entry.action}`), agent: entry.agent,
        contact: String(entry.contact_id).slice(0, 8),
      }) }),
      h("span", { className: "privacy-audit-reason muted", text: entry.reason }))));
  }

  destroy() {
    this.audit.remove();
  }

  /** Called with a ChatView each time its head is drawn: the contact part in its case. */
  decorate(chat) {
    const parts = this.parts.get(chat) || this.build(chat);
    const contact = chat.summary ? chat.summary.contact_id : null;
    parts.id.textContent = contact || "—";
    parts.box.hidden = !contact;
  }

  build(chat) {
    const { i18n } = this.app;
    const reason = h("input", { className: "privacy-reason", attrs: {
      type: "text", maxlength: "500", required: true, "aria-label": i18n.t("privacy.reason"), placeholder: i18n.t("privacy.reason_placeholder"),
    } });
    const confirm = h("input", { className: "privacy-confirm", attrs: { type: "checkbox" } });
    const confirmLabel = h("label", { className: "privacy-confirm-label" }, confirm, " ", i18n.t("privacy.confirm_erase"));
    const go = h("button", { className: "button button--small button--primary privacy-go", attrs: { type: "submit" } });
    const form = h("form", { className: "privacy-form", on: { submit: (e) => { e.preventDefault(); this.submit(chat, parts); } } },
      reason, confirmLabel, go,
      h("button", { className: "button button--small privacy-cancel", text: i18n.t("common.cancel"), attrs: { type: "button" },
        on: { click: () => { form.hidden = true; } } }));
    form.hidden = true;
    const parts = {
      form, reason, confirm, confirmLabel, go, mode: null, id: h("code", { className: "privacy-contact-id" }),
    };
    const open = (mode) => {
      parts.mode = mode;
      go.textContent = i18n.t(mode === "erase" ? "privacy.erase_for_good" : "privacy.download");
      confirmLabel.hidden = mode !== "erase";
      confirm.checked = false;
      form.hidden = false;
      reason.focus();
    };
    parts.box = h("section", { className: "case-part privacy-contact" },
      h("h3", { className: "case-title", text: i18n.t("privacy.contact") }),
      h("p", { className: "muted" }, parts.id),
      h("div", { className: "privacy-actions" },
        h("button", { className: "button button--small privacy-export", text: i18n.t("privacy.export"), attrs: { type: "button" },
          on: { click: () => open("export") } }),
        h("button", { className: "button button--small privacy-erase", text: i18n.t("privacy.erase"), attrs: { type: "button" },
          on: { click: () => open("erase") } })),
      form);
    chat.root.querySelector(".case-body").appendChild(parts.box);
    this.parts.set(chat, parts);
    return parts;
  }

  async submit(chat, parts) {
    const { api, i18n, notify } = this.app;
    const contact = chat.summary && chat.summary.contact_id;
    const reason = parts.reason.value.trim();
    chat.alert("");
    if (!contact) return;
    if (!reason) {
      chat.alert(i18n.t("privacy.need_reason"));
      return;
    }
    if (parts.mode === "erase" && !parts.confirm.checked) {
      chat.alert(i18n.t("privacy.need_confirmation"));
      return;
    }
    const path = `/contacts/${encodeURIComponent(contact)}/${parts.mode === "erase" ? "erase" : "export"}`;
    parts.go.disabled = true;
    try {
      const answer = await api.request("POST", path, { reason });
      parts.form.hidden = true;
      parts.reason.value = "";
      if (parts.mode === "erase") {
        notify(i18n.t("privacy.erased", { n: answer.covered.conversations }));
        chat.app.onClose(chat.id); // the case is gone
      } else {
        download(`storechat-contact-${contact}.json`, answer);
        notify(i18n.t("privacy.exported"));
      }
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) chat.alert(i18n.t("privacy.failed", { error: error.message }));
    } finally {
      parts.go.disabled = false;
      this.loadAudit();
    }
  }
}

/** Saves `data` as a JSON file (a download, never a page). */
function download(name, data) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
  const link = h("a", { attrs: { href: url, download: name }, className: "visually-hidden" });
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
