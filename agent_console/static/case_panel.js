// The case beside a chat: verified orders, requests, CSAT, cart and page trail, earlier
// conversations. Whole case shape: agent_console/README.md.

import { append, clear, clock, day, h, link, money, waited, words } from "./dom.js";
import { cartSummary, csatText, requestLine } from "./timeline.js";

function row(label, ...value) {
  return h("div", { className: "kv" }, h("dt", { text: label }), h("dd", {}, ...value));
}

export function orderCard(order) {
  const items = Array.isArray(order.items) ? order.items : [];
  const tracking = order.tracking_number
    ? (order.tracking_url ? link(order.tracking_url, order.tracking_number) : h("span", { text: order.tracking_number }))
    : h("span", { className: "muted", text: "—" });
  const address = order.shipping_address;
  return h("article", { className: "order-card", dataset: { orderId: order.order_id } },
    h("header", { className: "order-head" },
      h("span", { className: "order-id", text: `Order ${order.order_id}` }),
      h("span", { className: `status status--${order.status}`, text: words(order.status) })),
    h("dl", { className: "order-facts" },
      order.customer_name ? row("Customer", order.customer_name) : null,
      row("Carrier", order.carrier || "—"),
      row("Tracking", tracking),
      row("ETA", order.estimated_delivery ? day(order.estimated_delivery) : "—"),
      row("Placed", order.placed_at ? day(order.placed_at) : "—"),
      address ? row("Ship to", `${address.name}, ${address.street}, ${address.postal_code} ${address.city}, ${address.country}`) : null,
      order.email ? row("Email", order.email) : null),
    h("ul", { className: "order-items" },
      items.map((item) => h("li", {},
        h("span", { className: "qty", text: `${item.quantity}×` }),
        h("span", { className: "item-name", text: item.name }),
        h("span", { className: "price", text: money(item.price, order.currency) })))),
    order.total ? h("p", { className: "order-total", text: `Total ${money(order.total, order.currency)}` }) : null,
    order.invoice_url ? h("p", { className: "order-link" }, link(order.invoice_url, "Invoice")) : null);
}

function requestItem(request, handlers) {
  const detail = [request.reason, request.note].filter(Boolean).join(" — ");
  return h("li", { className: "request", dataset: { requestId: request.id, status: request.status } },
    h("span", { className: "request-line", text: requestLine(request) }),
    detail ? h("span", { className: "request-detail", text: detail }) : null,
    request.label_url ? link(request.label_url, "return label") : null,
    handlers.requestActions ? handlers.requestActions(request) : null); // request_actions.js
}

function cartBlock(cart) {
  const items = Array.isArray(cart.items) ? cart.items : [];
  const updated = cart.updated_at ? ` · ${clock(cart.updated_at)}` : "";
  if (!items.length) return h("p", { className: "cart cart-title", text: `Cart empty${updated}` });
  return h("div", { className: "cart" },
    h("p", { className: "cart-title", text: `Cart · ${cartSummary(cart)}${updated}` }),
    h("ul", { className: "cart-items" },
      items.map((item) => h("li", {},
        h("span", { className: "qty", text: `${item.quantity || 1}×` }),
        h("span", { className: "item-name", text: item.name || item.sku || "item" }),
        item.price !== undefined ? h("span", { className: "price", text: money(item.price, cart.currency) }) : null))));
}

/** The pages the visitor saw, newest first: time, page type, title linking to the page. */
function trailList(trail) {
  return h("div", { className: "trail-part" },
    h("p", { className: "cart-title", text: "Pages, newest first" }),
    h("ol", { className: "trail" },
      trail.slice(-12).reverse().map((page) => h("li", { dataset: { pageType: page.page_type || "other" } },
        h("time", { className: "muted", text: clock(page.at) }),
        " ",
        page.page_type ? h("span", { className: "page-type", text: words(page.page_type) }) : null,
        " ",
        page.url ? link(page.url, page.title || page.url) : h("span", { text: page.title || "" })))));
}

function renderStorefront(box, whole) {
  // `visitor` since the storefront events; top-level cart/trail from older gateways.
  const visitor = whole.visitor || { cart: whole.cart, trail: whole.trail };
  const trail = Array.isArray(visitor.trail) ? visitor.trail : [];
  clear(box);
  if (visitor.cart) box.appendChild(cartBlock(visitor.cart));
  if (trail.length) box.appendChild(trailList(trail));
  if (!visitor.cart && !trail.length) box.appendChild(h("p", { className: "empty", text: "No storefront activity recorded." }));
}

/** Renders the case parts of one chat column. handlers.openConversation(id) opens an earlier case. */
export function renderCase(root, whole, handlers) {
  const orders = Array.isArray(whole.orders) ? whole.orders : [];
  const ordersBox = clear(root.querySelector(".case-orders"));
  if (orders.length) orders.forEach((order) => ordersBox.appendChild(append(orderCard(order), handlers.orderActions ? handlers.orderActions(order) : null)));
  else ordersBox.appendChild(h("p", { className: "empty", text: "No order proven in this conversation." }));

  const requests = Array.isArray(whole.requests) ? whole.requests : [];
  root.querySelector(".case-requests-part").hidden = !requests.length;
  const requestList = clear(root.querySelector(".case-requests"));
  requests.forEach((request) => requestList.appendChild(requestItem(request, handlers)));

  root.querySelector(".case-csat-part").hidden = !whole.csat;
  root.querySelector(".case-csat").textContent = whole.csat ? csatText(whole.csat) : "";

  renderStorefront(root.querySelector(".case-storefront"), whole);

  const earlier = Array.isArray(whole.earlier) ? whole.earlier : [];
  const earlierList = clear(root.querySelector(".case-earlier"));
  if (!earlier.length) earlierList.appendChild(h("li", { className: "empty", text: "None — first contact." }));
  earlier.forEach((summary) => {
    const button = h("button", {
      className: "link-button",
      attrs: { type: "button" },
      on: { click: () => handlers.openConversation(summary.id) },
    },
    h("span", { className: "channel", text: summary.channel }),
    ` ${clock(summary.created_at)} · ${words(summary.state)}${summary.team ? ` · ${summary.team}` : ""}`,
    summary.preview ? h("span", { className: "preview", text: summary.preview }) : null);
    earlierList.appendChild(h("li", { attrs: { title: `${waited(summary.created_at)} ago` } }, button));
  });
}
