"""The demo shop "Nordlicht Home" and the web chat widget's HTTP routes.

`make run` should show a working product, so the gateway serves a small storefront
that embeds the widget exactly as a real shop would: one ``<script>`` tag pointing at
``/widget.js``. The widget then loads everything else (its modules, the Socket.IO
client, stylesheet, UI strings) from the gateway origin it was loaded from.

The shop has the page types a real one has, so the proactive offers have something to
watch: the catalogue (``/``), product pages (``/p/{id}``), the cart (``/cart``), the
checkout (``/checkout``) and the help pages (``/help``, ``/help/{topic}``: faq_data's
answers, the same the bot gives). Each page says its type on ``<body data-page-type>``,
which the widget reports; the page's script reports the cart, the checkout and the order
through ``StorechatWidget.track`` (gateway/static/storefront.js).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import yaml
from aiohttp import web

from gateway.settings import REPO_ROOT
from gateway.texts import Texts
from gateway.training import load_languages, load_topics

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
TEMPLATES_DIR = PACKAGE_DIR / "templates"

DEFAULT_LANG = "de"
SOCKET_IO_CLIENT = Path("node_modules/socket.io-client/dist/socket.io.min.js")

# Served while nobody has a release pipeline for the widget; revalidation is cheap
# (ETag / Last-Modified from FileResponse) and a changed widget is picked up at once.
NO_CACHE = {"Cache-Control": "no-cache"}

# Static file names are flat and boring on purpose: no sub-paths, so no traversal.
_STATIC_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*\.(?:css|js|svg|png|ico)"
# The widget's ES modules (gateway/static/widget/), imported by /widget.js.
WIDGET_MODULES_DIR = STATIC_DIR / "widget"
_MODULE_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]*\.js"
# The widget runs on the shop's origin and fetches these from ours; modules load in CORS mode.
ANY_ORIGIN = {"Access-Control-Allow-Origin": "*"}
FAQ_DIR = REPO_ROOT / "faq_data"

_CONTENT_TYPES = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


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


DEMO_SHOP_FILE = PACKAGE_DIR / "demo_shop.yml"


@dataclass(frozen=True, slots=True)
class DemoShop:
    products: tuple[Product, ...]
    # Page chrome of the demo shop, per language.
    page_text: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, path: Path = DEMO_SHOP_FILE) -> DemoShop:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        products = tuple(
            Product(id=p["id"], image=p["image"], price=Decimal(p["price"]), name=p["name"], blurb=p["blurb"])
            for p in raw["products"]
        )
        return cls(products=products, page_text=raw["page"])


def format_price(amount: Decimal, lang: str) -> str:
    """EUR the way each language writes it: ``89,00 €`` / ``€89.00``."""
    plain = f"{amount:,.2f}"
    if lang == "de":
        return plain.replace(",", "\u2009").replace(".", ",") + "\u00a0€"
    return "€" + plain


def load_help_topics(faq_dir: Path = FAQ_DIR) -> tuple[HelpTopic, ...]:
    """faq_data's topics, the one source of FAQ truth, as the help pages show them."""
    languages = load_languages(faq_dir)
    return tuple(HelpTopic(id=entry.id, title=entry.title, answer=entry.answers)
                 for entry in load_topics(faq_dir, languages))


class _Storefront:
    """Handlers sharing the template environment and the repository root."""

    def __init__(self, root: Path) -> None:
        self._socket_io_client = root / SOCKET_IO_CLIENT
        self._shop = DemoShop.load()
        self._help = load_help_topics()
        self._texts = Texts.load(DEFAULT_LANG)
        self._templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
            enable_async=True,
        )

    def _lang(self, request: web.Request) -> str:
        lang = request.query.get("lang", DEFAULT_LANG).lower()
        return lang if lang in self._shop.page_text else DEFAULT_LANG

    def _product(self, product: Product, lang: str) -> dict[str, object]:
        return {
            "id": product.id,
            "image": product.image,
            "name": product.name[lang],
            "blurb": product.blurb[lang],
            "price": format_price(product.price, lang),
            # The cart's unit price as the storefront events carry it: "39.90".
            "amount": f"{product.price:.2f}",
            "price_cents": int(product.price * 100),
        }

    async def _page(self, request: web.Request, template: str, page_type: str, **context: object) -> web.Response:
        lang = self._lang(request)
        html = await self._templates.get_template(template).render_async(
            lang=lang,
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

    async def widget_js(self, request: web.Request) -> web.FileResponse:
        return _file(STATIC_DIR / "widget.js")

    async def static(self, request: web.Request) -> web.StreamResponse:
        path = STATIC_DIR / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        return _file(path)

    async def widget_module(self, request: web.Request) -> web.StreamResponse:
        path = WIDGET_MODULES_DIR / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        return _file(path, ANY_ORIGIN)

    async def socket_io_client(self, request: web.Request) -> web.StreamResponse:
        if not self._socket_io_client.is_file():
            return web.Response(
                status=503,
                text="The chat widget's JavaScript dependencies are not installed "
                "(node_modules/socket.io-client is missing). Run `npm ci` or `make setup` "
                "in the storechat checkout.\n",
                headers=NO_CACHE,
            )
        return _file(self._socket_io_client)

    async def widget_locale(self, request: web.Request) -> web.Response:
        lang = request.match_info["lang"].lower()
        if lang not in self._texts.languages:
            lang = DEFAULT_LANG
        return web.json_response(
            {"lang": lang, "widget": self._texts.section(lang, "widget")},
            # The widget runs on the shop's origin and fetches this from ours.
            headers={**NO_CACHE, **ANY_ORIGIN},
        )


def _file(path: Path, headers: dict[str, str] | None = None) -> web.FileResponse:
    content_type = _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    return web.FileResponse(path, headers={**NO_CACHE, **(headers or {}), "Content-Type": content_type})


def add_storefront_routes(app: web.Application, *, root: Path) -> None:
    """Mount the demo shop (``/``, ``/p/{id}``, ``/cart``, ``/checkout``, ``/help``), the
    widget and its assets on ``app``.

    ``root`` is the repository root, where ``npm ci`` put ``node_modules``.
    """
    views = _Storefront(root)
    app.router.add_get("/", views.shop, name="storefront")
    app.router.add_get("/p/{product_id}", views.product, name="storefront_product")
    app.router.add_get("/cart", views.cart, name="storefront_cart")
    app.router.add_get("/checkout", views.checkout, name="storefront_checkout")
    app.router.add_get("/help", views.help, name="storefront_help")
    app.router.add_get("/help/{topic}", views.help_topic, name="storefront_help_topic")
    app.router.add_get("/widget.js", views.widget_js, name="widget_js")
    app.router.add_get("/static/widget/{name:" + _MODULE_NAME + "}", views.widget_module)
    # Registered before the generic static route so it wins the match.
    app.router.add_get("/static/socket.io.min.js", views.socket_io_client)
    app.router.add_get("/static/{name:" + _STATIC_NAME + "}", views.static)
    app.router.add_get("/widget/locales/{lang}.json", views.widget_locale)
