"""The demo shop's pages, embedding the widget exactly as a real shop would.

The shop has the page types a real one has, so the proactive offers have something to
watch: the catalogue (``/``), product pages (``/p/{id}``), the cart (``/cart``), the
checkout (``/checkout``) and the help pages (``/help``, ``/help/{topic}``: faq_data's
answers, the same the bot gives, handed in by the gateway). Each page says its type on
``<body data-page-type>``, which the widget reports; the page's script reports the cart,
the checkout and the order through ``StorechatWidget.track`` (demo_shop/static/storefront.js).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import yaml
from aiohttp import web

from core.formatting import format_money
from demo_shop import DEMO_SHOP_DIR

STATIC_DIR = DEMO_SHOP_DIR / "static"
TEMPLATES_DIR = DEMO_SHOP_DIR / "templates"
SHOP_FILE = DEMO_SHOP_DIR / "shop.yml"
DEFAULT_LANG = "de"
NO_CACHE = {"Cache-Control": "no-cache"}


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    image: str
    price: Decimal
    name: dict[str, str]
    blurb: dict[str, str]


@dataclass(frozen=True, slots=True)
class HelpTopic:
    id: str
    title: dict[str, str]
    answer: dict[str, str]


@dataclass(frozen=True, slots=True)
class DemoShop:
    products: tuple[Product, ...]
    # Page chrome of the demo shop, per language.
    page_text: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, path: Path = SHOP_FILE) -> DemoShop:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        products = tuple(
            Product(id=p["id"], image=p["image"], price=Decimal(p["price"]), name=p["name"], blurb=p["blurb"])
            for p in raw["products"]
        )
        return cls(products=products, page_text=raw["page"])


class _Storefront:
    def __init__(self, help_topics: Sequence[HelpTopic]) -> None:
        self._shop = DemoShop.load()
        self._help = tuple(help_topics)
        self._templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
            enable_async=True,
        )

    def _lang(self, request: web.Request) -> str:
        lang = request.query.get("lang", DEFAULT_LANG).lower()
        return lang if lang in self._shop.page_text else DEFAULT_LANG

    def _locale(self, lang: str) -> str:
        """How `lang` writes prices: its page texts' `locale`, else the language itself."""
        return str(self._shop.page_text[lang].get("locale", lang))

    def _product(self, product: Product, lang: str) -> dict[str, object]:
        return {
            "id": product.id,
            "image": product.image,
            "name": product.name[lang],
            "blurb": product.blurb[lang],
            "price": format_money(product.price, "EUR", self._locale(lang)),
            # The cart's unit price as the storefront events carry it: "39.90".
            "amount": f"{product.price:.2f}",
            "price_cents": int(product.price * 100),
        }

    async def _page(self, request: web.Request, template: str, page_type: str, **context: object) -> web.Response:
        lang = self._lang(request)
        html = await self._templates.get_template(template).render_async(
            lang=lang,
            # The page's script formats the cart's prices with it (Intl wants "en-IE").
            locale=self._locale(lang).replace("_", "-"),
            languages=sorted(self._shop.page_text),
            t=self._shop.page_text[lang],
            page_type=page_type,
            path=request.path,
            catalogue=[self._product(p, lang) for p in self._shop.products],
            **context,
        )
        return web.Response(text=html, content_type="text/html", headers=NO_CACHE)

    async def shop(self, request: web.Request) -> web.Response:
        return await self._page(request, "storefront_home.html", "category")

    async def product(self, request: web.Request) -> web.Response:
        found = next((p for p in self._shop.products if p.id == request.match_info["product_id"]), None)
        if found is None:
            raise web.HTTPNotFound()
        return await self._page(request, "storefront_product.html", "product",
                                product=self._product(found, self._lang(request)))

    async def cart(self, request: web.Request) -> web.Response:
        return await self._page(request, "storefront_cart.html", "cart")

    async def checkout(self, request: web.Request) -> web.Response:
        return await self._page(request, "storefront_checkout.html", "checkout")

    async def help(self, request: web.Request) -> web.Response:
        lang = self._lang(request)
        topics = [{"id": topic.id, "title": topic.title[lang]} for topic in self._help]
        return await self._page(request, "storefront_help.html", "help", topics=topics, topic=None)

    async def help_topic(self, request: web.Request) -> web.Response:
        lang = self._lang(request)
        found = next((t for t in self._help if t.id == request.match_info["topic"]), None)
        if found is None:
            raise web.HTTPNotFound()
        topics = [{"id": topic.id, "title": topic.title[lang]} for topic in self._help]
        topic = {"id": found.id, "title": found.title[lang], "answer": found.answer[lang]}
        return await self._page(request, "storefront_help.html", "help", topics=topics, topic=topic)


def add_storefront_routes(app: web.Application, *, help_topics: Sequence[HelpTopic]) -> None:
    """Mount the demo shop's pages (``/``, ``/p/{id}``, ``/cart``, ``/checkout``, ``/help``);
    the gateway serves its STATIC_DIR under ``/shop/static/``, as it serves the widget's files."""
    views = _Storefront(help_topics)
    app.router.add_get("/", views.shop, name="storefront")
    app.router.add_get("/p/{product_id}", views.product, name="storefront_product")
    app.router.add_get("/cart", views.cart, name="storefront_cart")
    app.router.add_get("/checkout", views.checkout, name="storefront_checkout")
    app.router.add_get("/help", views.help, name="storefront_help")
    app.router.add_get("/help/{topic}", views.help_topic, name="storefront_help_topic")
