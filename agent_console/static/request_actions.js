// What the agent who has the case decides on a shopper's request, beside the request in the
// case panel: approve, reject with a reason, send a return's label; and on a delivered order,
// a damaged item's refund or replacement. Only the Agent API (POST …/requests/{id}/approve,
// …/reject, …/label, …/decisions); the answer's request is drawn when the case is read again.

import { ApiError } from "./api.js";
import { h } from "./dom.js";

const APPROVABLE = new Set(["return", "cancellation", "address_change"]);

export class RequestActions {
  /** app: {api, me, t(key, values), notify(text)} */
  constructor(app) {
    this.app = app;
  }

  /** Whether the agent acts on the chat's requests: it is theirs, or they are a supervisor. */
  acts(chat) {
    const s = chat.summary;
    const me = this.app.me || {};
    return me.role === "supervisor" || Boolean(s && s.state === "assigned" && s.agent === me.email);
  }

  /** The buttons for one request of the case (null when there is nothing to do). */
  forRequest(chat, request) {
    if (!this.acts(chat)) return null;
    const { t } = this.app;
    const on = `/conversations/${encodeURIComponent(chat.id)}/requests/${encodeURIComponent(request.id)}`;
    const buttons = [];
    if (request.status === "open" && APPROVABLE.has(request.kind)) {
      buttons.push(this.button(chat, "approve", t("actions.approve"), `${on}/approve`, {}));
    }
    if (request.status === "open" && request.kind === "damaged_item") {
      for (const resolution of ["refund", "replacement"]) {
        buttons.push(this.button(chat, resolution, t(`actions.${resolution}`), `/conversations/${encodeURIComponent(chat.id)}/decisions`,
          { order_id: request.order_id, resolution }));
      }
    }
    if (request.kind === "return" && request.status === "approved" && !request.label_sent_at) {
      buttons.push(this.button(chat, "label", t("actions.label"), `${on}/label`, {}));
    }
    const box = h("div", { className: "request-actions", attrs: { role: "group", "aria-label": t("actions.group") } }, buttons);
    if (request.status === "open") box.appendChild(this.rejectForm(chat, `${on}/reject`));
    return box.childElementCount ? box : null;
  }

  /** Refund or replacement for a damaged item of a delivered order (opens the case's request). */
  forOrder(chat, order) {
    if (!this.acts(chat) || order.status !== "delivered") return null;
    const { t } = this.app;
    const path = `/conversations/${encodeURIComponent(chat.id)}/decisions`;
    return h("div", { className: "request-actions order-actions", attrs: { role: "group", "aria-label": t("actions.damaged") } },
      h("span", { className: "muted", text: t("actions.damaged") }),
      ["refund", "replacement"].map((resolution) => this.button(chat, resolution, t(`actions.${resolution}`), path,
        { order_id: order.order_id, resolution })));
  }

  button(chat, name, text, path, body) {
    return h("button", {
      className: `button button--small request-${name}`, text, attrs: { type: "button" },
      on: { click: (e) => this.act(chat, name, path, body, e.currentTarget) },
    });
  }

  rejectForm(chat, path) {
    const { t } = this.app;
    const reason = h("input", {
      className: "request-reject-reason",
      attrs: { type: "text", required: true, maxlength: 1000, placeholder: t("actions.reject_reason"), "aria-label": t("actions.reject_reason") },
    });
    const form = h("form", {
      className: "request-reject-form",
      on: {
        submit: (e) => {
          e.preventDefault();
          const text = reason.value.trim();
          if (text) this.act(chat, "reject", path, { reason: text }, form.querySelector("button[type=submit]"));
        },
      },
    }, reason, h("button", { className: "button button--small request-reject", text: t("actions.reject"), attrs: { type: "submit" } }));
    form.hidden = true;
    const open = h("button", {
      className: "button button--small request-reject-open", text: t("actions.reject"), attrs: { type: "button" },
      on: { click: () => { open.hidden = true; form.hidden = false; reason.focus(); } },
    });
    return h("span", { className: "request-reject-part" }, open, form);
  }

  /** One action: buttons off while it runs (a second click sends nothing new anyway). */
  async act(chat, name, path, body, button) {
    const { api, t } = this.app;
    if (button) button.disabled = true;
    chat.alert("");
    try {
      const answer = await api.request("POST", path, body);
      const told = answer && answer.message === "not_sent" ? "not_sent" : "told";
      const key = `actions.done_${told}${answer && answer.shop_event ? "" : "_no_shop"}`;
      this.app.notify(t(key, { action: t(`actions.${name}`) }));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      chat.alert(t("actions.failed", { action: t(`actions.${name}`), error: error.message }));
      if (button) button.disabled = false;
    }
    chat.refreshCaseSoon(); // the request as it is now, with or without its buttons
  }
}
