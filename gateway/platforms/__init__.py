"""Shop platform connectors (issue 18): Shopify, Shopware 6 and WooCommerce push their
orders, fulfilments and carts by their own signed webhooks.

types.py is the contract (bytes and headers in, typed order upserts, shipment updates and
cart events out); shopify.py, shopware.py and woocommerce.py read each platform's format;
routes.py is the one webhook route (and Shopware's registration handshake); intake.py
applies what they read to the one order store (gateway/shop/orders.py) and the proactive
engine (gateway/proactive/), once and never backwards.
"""
