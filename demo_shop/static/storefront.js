/*
 * Nordlicht Home demo shop: a cart kept in localStorage, the cart and checkout pages, and
 * the storefront events a real shop would send the chat widget (StorechatWidget.track):
 * the cart whenever it is shown or changes, checkout_started on the checkout page and
 * order_placed when the order is placed. The page view itself the widget reports from
 * <body data-page-type>.
 */
(function () {
  "use strict";

  var CART_KEY = "nordlicht.cart";
  var FREE_SHIPPING_CENTS = 5000; // free standard shipping from 50 EUR, otherwise 4.95 EUR
  var SHIPPING_CENTS = 495;
  var body = document.body;
  var lang = body.dataset.lang || "de";
  // The page names how its language writes prices (demo_shop/shop.yml `locale`), as the
  // server-side prices do (core/formatting.py).
  var money = new Intl.NumberFormat(body.dataset.locale || lang, { style: "currency", currency: "EUR" });
  var $ = function (selector) {
    return document.querySelector(selector);
  };

  var products = {};
  JSON.parse($("#catalogue").textContent).forEach(function (p) {
    products[p.id] = p;
  });

  function widget() {
    return window.StorechatWidget || null; // the shop works without the chat
  }

  function track(event) {
    if (widget()) widget().track(event);
  }

  // ------------------------------------------------------------------ the cart

  function readCart() {
    try {
      var cart = JSON.parse(localStorage.getItem(CART_KEY) || "{}");
      return cart && typeof cart === "object" ? cart : {};
    } catch (e) {
      return {};
    }
  }

  /** [{product, quantity, cents}] of the known products in the cart. */
  function lines(cart) {
    return Object.keys(cart)
      .filter(function (id) {
        return products[id] && cart[id] > 0;
      })
      .map(function (id) {
        return { product: products[id], quantity: cart[id], cents: cart[id] * products[id].price_cents };
      });
  }

  function subtotal(cart) {
    return lines(cart).reduce(function (sum, line) {
      return sum + line.cents;
    }, 0);
  }

  function report(cart) {
    track({
      type: "cart",
      items: lines(cart).map(function (line) {
        return { sku: line.product.id, name: line.product.name, quantity: line.quantity, price: line.product.amount };
      }),
      value: (subtotal(cart) / 100).toFixed(2),
      currency: "EUR",
    });
  }

  function writeCart(cart) {
    try {
      localStorage.setItem(CART_KEY, JSON.stringify(cart));
    } catch (e) {
      /* storage disabled: the cart lives for this page view only */
    }
    render(cart);
    report(cart);
  }

  function change(id, delta) {
    var cart = readCart();
    cart[id] = Math.max(0, (cart[id] || 0) + delta);
    if (!cart[id]) delete cart[id];
    writeCart(cart);
  }

  // ------------------------------------------------------------------ rendering

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function simpleLine(line) {
    var li = el("li");
    li.appendChild(el("span", "", line.quantity + " × " + line.product.name));
    li.appendChild(el("span", "", money.format(line.cents / 100)));
    return li;
  }

  function stepper(label, text, onClick) {
    var b = el("button", "qty-button", text);
    b.type = "button";
    b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    return b;
  }

  function cartPageLine(line, list) {
    var id = line.product.id;
    var li = el("li", "cart-page-line");
    li.dataset.productId = id;
    var img = el("img");
    img.src = "/shop/static/" + line.product.image;
    img.alt = "";
    img.width = 72;
    img.height = 72;
    var name = el("a", "cart-page-name", line.product.name);
    name.href = "/p/" + encodeURIComponent(id) + "?lang=" + lang;
    var qty = el("div", "qty");
    qty.appendChild(stepper(list.dataset.less + ": " + line.product.name, "−", function () {
      change(id, -1);
    }));
    qty.appendChild(el("span", "qty-value", String(line.quantity)));
    qty.appendChild(stepper(list.dataset.more + ": " + line.product.name, "+", function () {
      change(id, 1);
    }));
    var remove = el("button", "link-button cart-remove", list.dataset.remove);
    remove.type = "button";
    remove.addEventListener("click", function () {
      change(id, -line.quantity);
    });
    li.append(img, name, qty, el("span", "price", money.format(line.cents / 100)), remove);
    return li;
  }

  function renderSums(cart) {
    var sub = subtotal(cart);
    var shipping = sub >= FREE_SHIPPING_CENTS || sub === 0 ? 0 : SHIPPING_CENTS;
    document.querySelectorAll("[data-subtotal]").forEach(function (node) {
      node.textContent = money.format(sub / 100);
    });
    document.querySelectorAll("[data-shipping]").forEach(function (node) {
      node.textContent = shipping ? money.format(shipping / 100) : node.dataset.free;
    });
    document.querySelectorAll("[data-grand-total]").forEach(function (node) {
      node.textContent = money.format((sub + shipping) / 100);
    });
  }

  function render(cart) {
    var all = lines(cart);
    var count = all.reduce(function (sum, line) {
      return sum + line.quantity;
    }, 0);
    var header = $("[data-cart-lines]");
    header.textContent = "";
    all.forEach(function (line) {
      header.appendChild(simpleLine(line));
    });
    $("[data-cart-count]").textContent = String(count);
    $("[data-cart-total]").textContent = money.format(subtotal(cart) / 100);
    $("[data-cart-empty]").hidden = count > 0;
    $("[data-cart-total-row]").hidden = count === 0;
    $("[data-cart-note]").hidden = count === 0;
    $("[data-cart-actions]").hidden = count === 0;
    body.classList.toggle("has-cart", count > 0);

    var pageEmpty = $("[data-cart-page-empty]");
    if (pageEmpty && !body.classList.contains("order-placed")) pageEmpty.hidden = count > 0;
    var pageLines = $("[data-cart-page-lines]");
    if (pageLines) {
      $("[data-cart-page]").hidden = count === 0;
      pageLines.textContent = "";
      all.forEach(function (line) {
        pageLines.appendChild(cartPageLine(line, pageLines));
      });
    }
    var summary = $("[data-summary-lines]");
    if (summary) {
      $("[data-checkout]").hidden = count === 0;
      summary.textContent = "";
      all.forEach(function (line) {
        summary.appendChild(simpleLine(line));
      });
    }
    renderSums(cart);
  }

  // ------------------------------------------------------------------ checkout

  function placeOrder(e) {
    e.preventDefault();
    var cart = readCart();
    var value = (subtotal(cart) / 100).toFixed(2);
    var orderId = String(100000 + Math.floor(Math.random() * 900000)); // a demo number, never stored
    body.classList.add("order-placed");
    track({ type: "order_placed", order_id: orderId, value: value });
    writeCart({});
    $("[data-checkout]").hidden = true;
    $("[data-cart-page-empty]").hidden = true;
    $("[data-order-number]").textContent = orderId;
    $("[data-order-done]").hidden = false;
  }

  // ------------------------------------------------------------------ wiring

  document.querySelectorAll("[data-add-to-cart]").forEach(function (button) {
    button.addEventListener("click", function () {
      change(button.closest("[data-product-id]").dataset.productId, 1);
      button.textContent = body.dataset.added;
      button.classList.add("is-added");
      setTimeout(function () {
        button.textContent = body.dataset.add;
        button.classList.remove("is-added");
      }, 1400);
    });
  });

  $("[data-cart-clear]").addEventListener("click", function () {
    writeCart({});
  });

  document.querySelectorAll("[data-open-chat]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (widget()) widget().open();
    });
  });

  var checkoutForm = $("[data-checkout-form]");
  if (checkoutForm) checkoutForm.addEventListener("submit", placeOrder);

  // Another tab changed the cart.
  window.addEventListener("storage", function (e) {
    if (e.key === CART_KEY) render(readCart());
  });

  var cart = readCart();
  render(cart);
  report(cart); // the widget sends it only if the gateway does not have this cart yet
  if (checkoutForm && lines(cart).length) track({ type: "checkout_started" });
})();
