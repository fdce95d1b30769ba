/* Nordlicht Home demo shop: a cart kept in localStorage, and buttons that open the chat. */
(function () {
  "use strict";

  var CART_KEY = "nordlicht.cart";
  var body = document.body;
  var lang = body.dataset.lang || "de";
  var money = new Intl.NumberFormat(lang === "de" ? "de-DE" : "en-IE", {
    style: "currency",
    currency: "EUR",
  });

  var products = {};
  document.querySelectorAll("[data-product-id]").forEach(function (node) {
    products[node.dataset.productId] = {
      name: node.dataset.name,
      cents: parseInt(node.dataset.priceCents, 10),
      node: node,
    };
  });

  function readCart() {
    try {
      var cart = JSON.parse(localStorage.getItem(CART_KEY) || "{}");
      return cart && typeof cart === "object" ? cart : {};
    } catch (e) {
      return {};
    }
  }

  function writeCart(cart) {
    try {
      localStorage.setItem(CART_KEY, JSON.stringify(cart));
    } catch (e) {
      /* storage disabled: the cart lives for this page view only */
    }
    render(cart);
  }

  function render(cart) {
    var lines = document.querySelector("[data-cart-lines]");
    var count = 0;
    var total = 0;
    lines.textContent = "";
    Object.keys(cart).forEach(function (id) {
      var product = products[id];
      var qty = cart[id];
      if (!product || !(qty > 0)) return;
      count += qty;
      total += qty * product.cents;
      var li = document.createElement("li");
      var name = document.createElement("span");
      name.textContent = qty + " × " + product.name;
      var price = document.createElement("span");
      price.textContent = money.format((qty * product.cents) / 100);
      li.appendChild(name);
      li.appendChild(price);
      lines.appendChild(li);
    });
    document.querySelector("[data-cart-count]").textContent = String(count);
    document.querySelector("[data-cart-total]").textContent = money.format(total / 100);
    document.querySelector("[data-cart-empty]").hidden = count > 0;
    document.querySelector("[data-cart-total-row]").hidden = count === 0;
    document.querySelector("[data-cart-note]").hidden = count === 0;
    document.querySelector("[data-cart-clear]").hidden = count === 0;
    body.classList.toggle("has-cart", count > 0);
  }

  document.querySelectorAll("[data-add-to-cart]").forEach(function (button) {
    button.addEventListener("click", function () {
      var id = button.closest("[data-product-id]").dataset.productId;
      var cart = readCart();
      cart[id] = (cart[id] || 0) + 1;
      writeCart(cart);
      button.textContent = body.dataset.added;
      button.classList.add("is-added");
      setTimeout(function () {
        button.textContent = body.dataset.add;
        button.classList.remove("is-added");
      }, 1400);
    });
  });

  document.querySelector("[data-cart-clear]").addEventListener("click", function () {
    writeCart({});
  });

  document.querySelectorAll("[data-open-chat]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (window.StorechatWidget) window.StorechatWidget.open();
    });
  });

  // Another tab changed the cart.
  window.addEventListener("storage", function (e) {
    if (e.key === CART_KEY) render(readCart());
  });

  render(readCart());
})();
