// The call-back form: the shopper's phone number and a slot the team offers, sent as
// `callback_request` (gateway/callbacks/socket.py). Opened by the header's "Call-back"
// button, by a quick reply whose payload is FORM_PAYLOAD (the bot's answer to "can someone
// call me back?", or a proactive offer's call-back choice), and shown above the composer.
// The gateway's confirmation arrives as a message in the chat; refusals (a number it cannot
// call, a slot gone meanwhile) are shown on the form, in the shopper's language.

import { el } from "./dom.js";

export const FORM_PAYLOAD = "/callback_form";

/**
 * options: {view, t (widget strings), socket() → the Socket.IO client, online() → bool,
 * locale}. Answers {open(via), handles(payload), offered(quickReplies)}.
 */
export function createCallbackForm({ view, t, socket, online }) {
  let via = "widget";
  let busy = false;

  const form = el("form", "sc-callback");
  form.hidden = true;
  form.noValidate = true; // the gateway says what is wrong, in the shopper's language
  form.setAttribute("aria-label", t.callback_title || "");
  const heading = el("p", "sc-callback-title", t.callback_title || "");
  const intro = el("p", "sc-callback-intro", t.callback_intro || "");

  const phoneLabel = el("label", "sc-callback-label", t.callback_phone_label || "");
  const phone = el("input", "sc-callback-phone");
  phone.type = "tel";
  phone.name = "phone";
  phone.autocomplete = "tel";
  phone.maxLength = 32;
  phone.placeholder = t.callback_phone_placeholder || "";
  phone.id = "sc-callback-phone";
  phoneLabel.htmlFor = phone.id;

  const slotLabel = el("label", "sc-callback-label", t.callback_slot_label || "");
  const slot = el("select", "sc-callback-slot");
  slot.name = "slot";
  slot.id = "sc-callback-slot";
  slotLabel.htmlFor = slot.id;

  const error = el("p", "sc-callback-error");
  error.setAttribute("role", "alert");
  error.hidden = true;

  const actions = el("div", "sc-callback-actions");
  const cancel = el("button", "sc-callback-cancel", t.callback_cancel || "");
  cancel.type = "button";
  const submit = el("button", "sc-callback-submit", t.callback_submit || "");
  submit.type = "submit";
  actions.append(cancel, submit);
  form.append(heading, intro, phoneLabel, phone, slotLabel, slot, error, actions);
  view.form.before(form);

  // The header's button: a call-back whenever the shopper prefers one.
  const headerButton = el("button", "sc-callback-open", t.callback_button || "");
  headerButton.type = "button";
  view.closeButton.before(headerButton);

  function showError(text) {
    error.textContent = text || "";
    error.hidden = !text;
  }

  function fillSlots(slots) {
    slot.textContent = "";
    (slots || []).forEach((offered) => {
      const option = el("option", "", offered.label);
      option.value = String(offered.at);
      slot.appendChild(option);
    });
    submit.disabled = !slot.options.length;
    if (!slot.options.length) showError(t.callback_no_slots || "");
  }

  function loadSlots() {
    slot.textContent = "";
    slot.appendChild(el("option", "", t.callback_loading || "…"));
    submit.disabled = true;
    if (!online()) return;
    socket().emit("callback_slots", {}, (answer) => {
      if (answer && answer.status === "ok") fillSlots(answer.slots);
      else showError((answer && answer.message) || t.callback_failed || "");
    });
  }

  function open(how) {
    via = how || "widget";
    showError("");
    form.hidden = false;
    view.setOpen(true);
    loadSlots();
    phone.focus({ preventScroll: true });
    view.scrollToEnd();
  }

  function close() {
    form.hidden = true;
    showError("");
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (busy) return;
    if (!online()) {
      showError(t.status_reconnecting || t.callback_failed || "");
      return;
    }
    busy = true;
    submit.disabled = true;
    showError("");
    const request = { phone: phone.value, slot: Number(slot.value), via };
    socket().emit("callback_request", request, (answer) => {
      busy = false;
      submit.disabled = false;
      if (answer && answer.status === "scheduled") {
        close(); // the confirmation is the gateway's message in the chat
        return;
      }
      showError((answer && answer.message) || t.callback_failed || "");
      if (answer && answer.field === "slot") loadSlots();
      else phone.focus({ preventScroll: true });
    });
  });
  cancel.addEventListener("click", close);
  headerButton.addEventListener("click", () => open("widget"));

  return {
    open,
    handles: (payload) => payload === FORM_PAYLOAD,
    // A live message that offers the form opens it: the shopper asked for a call.
    offered: (replies) => {
      if (Array.isArray(replies) && replies.some((reply) => reply && reply.payload === FORM_PAYLOAD)) open("bot");
    },
  };
}
