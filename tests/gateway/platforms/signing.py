"""How each platform signs and sends its webhooks, written from the platforms' own docs (not
from gateway/platforms/): what a forged delivery lacks is exactly what these produce."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"

SHOPIFY_SECRET = "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"
WOOCOMMERCE_SECRET = "wc-webhook-secret-J8q!x2Lr"
SHOPWARE_APP_NAME = "StorechatConnector"
SHOPWARE_APP_SECRET = "shopware-app-secret-Rk2v9Qw"
SHOP_DOMAIN = "nordlicht-home.myshopify.com"
SHOPWARE_SHOP_URL = "https://www.nordlicht-home.example"
WOO_SOURCE = "https://www.nordlicht-home.example/"


def fixture(platform: str, name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / platform / f"{name}.json").read_text(encoding="utf-8")))


def body_of(payload: dict[str, Any]) -> bytes:
    # As the platforms send it: compact JSON, UTF-8, non-ASCII unescaped.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def shopify(topic: str, body: bytes, *, webhook_id: str, triggered_at: str,
            secret: str = SHOPIFY_SECRET, shop: str = SHOP_DOMAIN) -> dict[str, str]:
    """Shopify's headers: the HMAC is base64 of the raw body's HMAC-SHA256 with the app's secret."""
    digest = base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": f"evt-{webhook_id}",
        "X-Shopify-Triggered-At": triggered_at,
    }


def woocommerce(topic: str, body: bytes, *, delivery_id: str, secret: str = WOOCOMMERCE_SECRET) -> dict[str, str]:
    """WooCommerce's headers (WC_Webhook::deliver): base64 of HMAC-SHA256 of the payload."""
    resource, event = topic.split(".")
    return {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
        "X-WC-Webhook-Source": WOO_SOURCE,
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode(),
        "X-WC-Webhook-ID": "12",
        "X-WC-Webhook-Delivery-ID": delivery_id,
    }


def shopware_hex(secret: str, data: bytes) -> str:
    """Shopware's app system signs with hash_hmac('sha256', data, secret): lower-case hex."""
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def shopware(body: bytes, shop_secret: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "shopware-shop-signature": shopware_hex(shop_secret, body)}
