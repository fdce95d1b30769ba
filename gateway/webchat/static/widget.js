/*
 * storechat web chat widget — the one file a shop embeds.
 *
 *   <script src="https://GATEWAY/widget.js" data-locale="de" defer></script>
 *
 * Optional attributes:  data-shop-name="Nordlicht Home"
 *                       data-customer-token="…"  (a logged-in shopper: the shop's signed
 *                       token, bot/README.md; or later StorechatWidget.setCustomerToken())
 *                       data-page-type="product|category|cart|checkout|help|other"
 *                       (or on <body>): the page view is reported by itself
 *
 * window.StorechatWidget: open(), close(), send(text), track(event), sessionId(),
 * setCustomerToken(token), ready (a promise). track() takes the storefront events of the
 * proactive offers: {type: "page_view", page_type, url?, title?}, {type: "cart", items:
 * [{sku, name, quantity, price}], value?, currency?}, {type: "checkout_started"},
 * {type: "order_placed", order_id?, value?}. Calls made before the widget loaded wait.
 *
 * This file only defines that API and loads the rest: the widget itself is the ES modules
 * under /static/widget/ (chat.js first), its strings /widget/locales/<lang>.json and the
 * Socket.IO client, all from the gateway origin this script came from. It lives in a
 * shadow root so the shop's CSS cannot restyle it; text is only ever set as textContent.
 */
(function () {
  "use strict";

  if (window.StorechatWidget) return; // embedded twice: keep the first one

  var SESSION_KEY = "storechat.session";

  var script =
    document.currentScript ||
    document.querySelector('script[src$="/widget.js"], script[src*="/widget.js?"]');
  var origin = new URL(script ? script.src : "/widget.js", location.href).origin;
  var data = (script && script.dataset) || {};
  var locale = (data.locale || document.documentElement.lang || navigator.language || "de").slice(0, 2).toLowerCase();
  // Proves to the bot which customer is logged in, so their orders need no other proof.
  var customerToken = data.customerToken || null;

  var pending = []; // calls made before the widget finished loading
  var widget = null;
  var readyResolve;
  var ready = new Promise(function (resolve) {
    readyResolve = resolve;
  });

  function defer(name) {
    return function () {
      var args = Array.prototype.slice.call(arguments);
      if (widget) return widget[name].apply(null, args);
      pending.push([name, args]);
    };
  }

  window.StorechatWidget = {
    open: defer("open"),
    close: defer("close"),
    send: defer("send"),
    track: defer("track"),
    ready: ready,
    // The web session id (the checkout page hands it to the shop for order news);
    // null until the gateway confirmed the first session.
    sessionId: function () {
      if (widget) return widget.sessionId();
      try {
        return window.localStorage.getItem(SESSION_KEY);
      } catch (e) {
        return null;
      }
    },
    // For shops that log in without a page load; null logs out.
    setCustomerToken: function (token) {
      customerToken = token ? String(token) : null;
    },
  };

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      if (window.io) return resolve();
      var tag = document.createElement("script");
      tag.src = src;
      tag.async = true;
      tag.onload = function () {
        resolve();
      };
      tag.onerror = function () {
        reject(new Error("could not load " + src));
      };
      document.head.appendChild(tag);
    });
  }

  function loadStrings() {
    return fetch(origin + "/widget/locales/" + encodeURIComponent(locale) + ".json", { credentials: "omit" })
      .then(function (r) {
        if (!r.ok) throw new Error("locale " + r.status);
        return r.json();
      })
      .then(function (body) {
        return { strings: body.widget || {}, formatLocale: body.locale || locale };
      });
  }

  function boot() {
    Promise.all([
      loadStrings(),
      import(origin + "/static/widget/chat.js"),
      loadScript(origin + "/static/socket.io.min.js"),
    ])
      .then(function (loaded) {
        widget = loaded[1].start(
          {
            origin: origin,
            locale: locale,
            formatLocale: loaded[0].formatLocale,
            shopName: data.shopName || "",
            pageType: data.pageType || "",
            customerToken: function () {
              return customerToken;
            },
          },
          loaded[0].strings
        );
        pending.splice(0).forEach(function (call) {
          widget[call[0]].apply(null, call[1]);
        });
        readyResolve(window.StorechatWidget);
        window.dispatchEvent(new CustomEvent("storechat:ready"));
      })
      .catch(function (err) {
        // The shop page must never break because the chat could not load.
        if (window.console) console.warn("storechat widget unavailable:", err);
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", boot);
  } else {
    boot();
  }
})();
