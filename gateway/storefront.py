"""The demo shop "Nordlicht Home" and the web chat widget's HTTP routes.

`make run` should show a working product, so the gateway serves a small storefront
that embeds the widget exactly as a real shop would: one ``<script>`` tag pointing at
``/widget.js``. The widget then loads everything else (Socket.IO client, stylesheet,
UI strings) from the gateway origin it was loaded from.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import jinja2
import yaml
from aiohttp import web

from gateway.texts import Texts

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


DEMO_SHOP_FILE = PACKAGE_DIR / "demo_shop.yml"


@dataclass(frozen=True, slots=True)
class DemoShop:
    products: tuple[Product, ...]
    # Page chrome of the demo shop, per language.
    page_text: dict[str, dict[str, str]]

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


class _Storefront:
    """Handlers sharing the template environment and the repository root."""

    def __init__(self, root: Path) -> None:
        self._socket_io_client = root / SOCKET_IO_CLIENT
        self._shop = DemoShop.load()
        self._texts = Texts.load(DEFAULT_LANG)
        self._templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
            enable_async=True,
        )

    async def shop(self, request: web.Request) -> web.Response:
        lang = request.query.get("lang", DEFAULT_LANG).lower()
        if lang not in self._shop.page_text:
            lang = DEFAULT_LANG
        products = [
            {
                "id": p.id,
                "image": p.image,
                "name": p.name[lang],
                "blurb": p.blurb[lang],
                "price": format_price(p.price, lang),
                "price_cents": int(p.price * 100),
            }
            for p in self._shop.products
        ]
        template = self._templates.get_template("storefront.html")
        html = await template.render_async(
            lang=lang,
            languages=sorted(self._shop.page_text),
            t=self._shop.page_text[lang],
            products=products,
        )
        return web.Response(text=html, content_type="text/html", headers=NO_CACHE)

    async def widget_js(self, request: web.Request) -> web.FileResponse:
        return _file(STATIC_DIR / "widget.js")

    async def static(self, request: web.Request) -> web.StreamResponse:
        path = STATIC_DIR / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        return _file(path)

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
            headers={**NO_CACHE, "Access-Control-Allow-Origin": "*"},
        )


def _file(path: Path) -> web.FileResponse:
    content_type = _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    return web.FileResponse(path, headers={**NO_CACHE, "Content-Type": content_type})


def add_storefront_routes(app: web.Application, *, root: Path) -> None:
    """Mount the demo shop (``/``), the widget and its assets on ``app``.

    ``root`` is the repository root, where ``npm ci`` put ``node_modules``.
    """
    views = _Storefront(root)
    app.router.add_get("/", views.shop, name="storefront")
    app.router.add_get("/widget.js", views.widget_js, name="widget_js")
    # Registered before the generic static route so it wins the match.
    app.router.add_get("/static/socket.io.min.js", views.socket_io_client)
    app.router.add_get("/static/{name:" + _STATIC_NAME + "}", views.static)
    app.router.add_get("/widget/locales/{lang}.json", views.widget_locale)
