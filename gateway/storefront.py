"""The demo shop "Nordlicht Home" and the web chat widget's HTTP routes.

`make run` should show a working product, so the gateway serves a small storefront
that embeds the widget exactly as a real shop would: one ``<script>`` tag pointing at
``/widget.js``. The widget then loads everything else (Socket.IO client, stylesheet,
UI strings) from the gateway origin it was loaded from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
LOCALES_DIR = PACKAGE_DIR / "locales"

DEFAULT_LANG = "de"
SOCKET_IO_CLIENT = Path("node_modules/socket.io-client/dist/socket.io.min.js")

# Served while nobody has a release pipeline for the widget; revalidation is cheap
# (ETag / Last-Modified from FileResponse) and a changed widget is picked up at once.
NO_CACHE = {"Cache-Control": "no-cache"}

# Static file names are flat and boring on purpose: no sub-paths, so no traversal.
_STATIC_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*\.(?:css|js|svg|png|ico)"
_LANG = re.compile(r"^[a-z]{2}$")

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


# The demo catalogue. Shop content, not UI chrome: a real shop renders its own pages.
CATALOGUE: tuple[Product, ...] = (
    Product(
        id="fjord-throw",
        image="product-throw.svg",
        price=Decimal("89.00"),
        name={"de": "Fjord Wolldecke", "en": "Fjord wool throw"},
        blurb={
            "de": "Merinowolle, 130 × 180 cm, in Portugal gewebt.",
            "en": "Merino wool, 130 × 180 cm, woven in Portugal.",
        },
    ),
    Product(
        id="skagen-mugs",
        image="product-mugs.svg",
        price=Decimal("24.90"),
        name={"de": "Skagen Becher, 2er-Set", "en": "Skagen mugs, set of 2"},
        blurb={
            "de": "Steinzeug, handglasiert, 350 ml, spülmaschinenfest.",
            "en": "Hand-glazed stoneware, 350 ml, dishwasher safe.",
        },
    ),
    Product(
        id="polar-lamp",
        image="product-lamp.svg",
        price=Decimal("119.00"),
        name={"de": "Polar Tischleuchte", "en": "Polar table lamp"},
        blurb={
            "de": "Opalglas auf Eichenfuß, dimmbar, warmweiß.",
            "en": "Opal glass on an oak base, dimmable, warm white.",
        },
    ),
    Product(
        id="dune-vase",
        image="product-vase.svg",
        price=Decimal("39.90"),
        name={"de": "Düne Vase", "en": "Dune vase"},
        blurb={
            "de": "Matte Keramik in Sandtönen, 28 cm hoch.",
            "en": "Matte ceramic in sand tones, 28 cm tall.",
        },
    ),
    Product(
        id="linen-cushion",
        image="product-cushion.svg",
        price=Decimal("29.90"),
        name={"de": "Leinen-Kissenhülle", "en": "Linen cushion cover"},
        blurb={
            "de": "Stonewashed Leinen, 50 × 50 cm, mit Reißverschluss.",
            "en": "Stonewashed linen, 50 × 50 cm, with zip.",
        },
    ),
    Product(
        id="oak-candle",
        image="product-candle.svg",
        price=Decimal("34.50"),
        name={"de": "Eichen-Kerzenhalter", "en": "Oak candle holder"},
        blurb={
            "de": "Massive Eiche, geölt, für drei Stabkerzen.",
            "en": "Solid oiled oak, holds three dinner candles.",
        },
    ),
)

# Page chrome of the demo shop, per language.
PAGE_TEXT: dict[str, dict[str, str]] = {
    "de": {
        "title": "Nordlicht Home – Wohnen mit skandinavischer Ruhe",
        "tagline": "Wohnaccessoires aus Deutschland verschickt",
        "nav_new": "Neuheiten",
        "nav_living": "Wohnen",
        "nav_kitchen": "Küche",
        "nav_help": "Hilfe & Kontakt",
        "hero_kicker": "Herbstkollektion",
        "hero_title": "Warmes Licht, weiche Stoffe, ruhige Formen.",
        "hero_text": "Ausgewählte Stücke für ein Zuhause, in dem man gern bleibt. "
        "Kostenloser Versand ab 50 € – 30 Tage Rückgaberecht.",
        "hero_cta": "Kollektion ansehen",
        "hero_chat": "Fragen? Schreiben Sie uns",
        "products_title": "Beliebt diese Woche",
        "add_to_cart": "In den Warenkorb",
        "added": "Hinzugefügt",
        "cart": "Warenkorb",
        "cart_empty": "Ihr Warenkorb ist leer",
        "cart_total": "Summe",
        "cart_clear": "Leeren",
        "vat_note": "inkl. MwSt., zzgl. Versand",
        "usp_shipping": "Kostenloser Versand ab 50 €",
        "usp_returns": "30 Tage kostenlose Rücksendung",
        "usp_service": "Persönlicher Service Mo–Sa",
        "footer_note": "Nordlicht Home ist ein Demo-Shop von storechat. Es wird nichts verkauft.",
        "language": "Sprache",
    },
    "en": {
        "title": "Nordlicht Home – Scandinavian calm for your home",
        "tagline": "Home goods shipped from Germany",
        "nav_new": "New in",
        "nav_living": "Living",
        "nav_kitchen": "Kitchen",
        "nav_help": "Help & contact",
        "hero_kicker": "Autumn collection",
        "hero_title": "Warm light, soft fabrics, quiet shapes.",
        "hero_text": "Chosen pieces for a home you want to stay in. "
        "Free shipping from €50 – 30-day returns.",
        "hero_cta": "Shop the collection",
        "hero_chat": "Questions? Chat with us",
        "products_title": "Popular this week",
        "add_to_cart": "Add to cart",
        "added": "Added",
        "cart": "Cart",
        "cart_empty": "Your cart is empty",
        "cart_total": "Total",
        "cart_clear": "Clear",
        "vat_note": "incl. VAT, plus shipping",
        "usp_shipping": "Free shipping from €50",
        "usp_returns": "30-day free returns",
        "usp_service": "Personal service Mon–Sat",
        "footer_note": "Nordlicht Home is a storechat demo shop. Nothing is for sale.",
        "language": "Language",
    },
}


def format_price(amount: Decimal, lang: str) -> str:
    """EUR the way each language writes it: ``89,00 €`` / ``€89.00``."""
    plain = f"{amount:,.2f}"
    if lang == "de":
        return plain.replace(",", "\u2009").replace(".", ",") + "\u00a0€"
    return "€" + plain


def widget_strings(lang: str, locales_dir: Path = LOCALES_DIR) -> dict[str, Any]:
    """The ``"widget"`` section for ``lang``, with German filling any missing key.

    Adding a language is a data change: drop ``xx.json`` into ``gateway/locales``.
    """
    strings = _read_widget_section(locales_dir / f"{DEFAULT_LANG}.json")
    if lang != DEFAULT_LANG:
        strings.update(_read_widget_section(locales_dir / f"{lang}.json"))
    return strings


def _read_widget_section(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    section = data.get("widget", {}) if isinstance(data, dict) else {}
    return dict(section) if isinstance(section, dict) else {}


def _page_lang(request: web.Request) -> str:
    lang = request.query.get("lang", DEFAULT_LANG).lower()
    return lang if lang in PAGE_TEXT else DEFAULT_LANG


class _Storefront:
    """Handlers sharing the template environment and the repository root."""

    def __init__(self, root: Path) -> None:
        self._socket_io_client = root / SOCKET_IO_CLIENT
        self._templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
            enable_async=True,
        )

    async def shop(self, request: web.Request) -> web.Response:
        lang = _page_lang(request)
        products = [
            {
                "id": p.id,
                "image": p.image,
                "name": p.name[lang],
                "blurb": p.blurb[lang],
                "price": format_price(p.price, lang),
                "price_cents": int(p.price * 100),
            }
            for p in CATALOGUE
        ]
        template = self._templates.get_template("storefront.html")
        html = await template.render_async(
            lang=lang,
            languages=sorted(PAGE_TEXT),
            t=PAGE_TEXT[lang],
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
        if not _LANG.match(lang) or not (LOCALES_DIR / f"{lang}.json").is_file():
            lang = DEFAULT_LANG
        strings = widget_strings(lang)
        return web.json_response(
            {"lang": lang, "widget": strings},
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
