"""The printable return label behind a return request's `label_url`.

The page needs no login — the shopper opens it from the chat — so the return id
in its URL is the only key: it is random and long (see shopper_requests), the page
says `noindex`, and everything the shopper or the shop wrote is escaped.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import jinja2
from aiohttp import web

from gateway.api.http import PATH_PATTERNS
from gateway.api.shop import SHOP_API
from gateway.conversations.store import ConversationStore
from gateway.shop.orders import Order
from gateway.shop.shopper_requests import RequestKind, ShopperRequest
from gateway.texts import Texts

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# Shopper data on the page: never cached by a proxy, never shown in another site's frame.
PRIVATE = {"Cache-Control": "private, no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


def _hashes(template: str, tag: str) -> str:
    """CSP sources for the template's inline <style> or <script> blocks (fixed text, no
    template variables): the page is one file, and nothing else may run or style it."""
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", template, re.DOTALL)
    return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()}'"
                    for block in blocks) or "'none'"


def page_policy(template: str) -> str:
    return "; ".join([
        "default-src 'none'", f"style-src {_hashes(template, 'style')}", f"script-src {_hashes(template, 'script')}",
        "img-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ])


def _sender(order: Order) -> list[str]:
    address = order.shipping_address
    if address is None:
        return [order.customer_name or order.email]
    return [address.name, address.street, f"{address.postal_code} {address.city}", address.country]


class _ReturnLabel:
    def __init__(self, texts: Texts) -> None:
        self._texts = texts
        self._templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
            enable_async=True,
        )
        source = (TEMPLATES_DIR / "return_label.html").read_text(encoding="utf-8")
        self._headers = {**PRIVATE, "Content-Security-Policy": page_policy(source)}

    async def _language(self, request: web.Request, shopper_request: ShopperRequest) -> str:
        """?lang= if asked for, else the language the shopper chatted in."""
        if request.query.get("lang") in self._texts.languages:
            return str(request.query["lang"])
        api = request.app[SHOP_API]
        conversation = await ConversationStore(api.orders.redis).find(shopper_request.conversation_id)
        return self._texts.locale(conversation.locale if conversation else None)

    async def page(self, request: web.Request) -> web.Response:
        api = request.app[SHOP_API]
        found = await api.requests.get(request.match_info["return_id"])
        order = await api.orders.get(found.order_id) if found else None
        if found is None or found.kind is not RequestKind.RETURN or order is None:
            lang = self._texts.locale(request.query.get("lang"))
            raise web.HTTPNotFound(text=self._texts.section(lang, "returns")["not_found"], headers=PRIVATE)
        lang = await self._language(request, found)
        texts = self._texts.section(lang, "returns")
        html = await self._templates.get_template("return_label.html").render_async(
            lang=lang,
            t=texts,
            request=found,
            status=texts[f"status_{found.status.value}"],
            sender=_sender(order),
            items=[item for item in order.items if item.sku in found.items],
        )
        return web.Response(text=html, content_type="text/html", headers=self._headers)


def add_return_label_route(app: web.Application, texts: Texts) -> None:
    """Mount ``GET /returns/{return_id}/label``; the app must provide SHOP_API."""
    app.router.add_get("/returns/{return_id:" + PATH_PATTERNS["return_id"] + "}/label", _ReturnLabel(texts).page)
