// A proactive offer while the chat is closed: a small bubble above the launcher with the
// offer's text, its quick replies and a close button. The offer is in the chat as well.

import { ICON_CLOSE, button, el, format, icon, replyParts } from "./dom.js";

/** handlers: {reply(payload, title), open()} — a tapped quick reply, a tap on the text. */
export function createTeaser(shell, t, shopTitle, handlers) {
  const box = el("aside", "sc-teaser");
  box.hidden = true;
  box.setAttribute("aria-label", format(t.offer_label || "{shop}", { shop: shopTitle }));
  box.setAttribute("aria-live", "polite");
  const close = button("sc-teaser-close", t.offer_close || t.close || "Close");
  close.appendChild(icon(ICON_CLOSE, 16));
  const text = el("p", "sc-teaser-text");
  const replies = el("div", "sc-teaser-replies");
  box.append(close, text, replies);
  shell.appendChild(box);

  function hide() {
    box.hidden = true;
    shell.classList.remove("sc-has-teaser");
  }

  close.addEventListener("click", hide);
  text.addEventListener("click", () => {
    hide();
    handlers.open();
  });

  /** offer: {text, quick_replies: [{title, payload}]} */
  function show(offer) {
    text.textContent = String(offer.text || "");
    replies.textContent = "";
    (Array.isArray(offer.quick_replies) ? offer.quick_replies : []).map(replyParts).filter(Boolean)
      .forEach((reply) => {
        const b = el("button", "sc-reply", reply.title);
        b.type = "button";
        b.addEventListener("click", () => {
          hide();
          handlers.reply(reply.payload, reply.title);
        });
        replies.appendChild(b);
      });
    box.hidden = false;
    shell.classList.add("sc-has-teaser");
  }

  return { show, hide, get shown() { return !box.hidden; } };
}
