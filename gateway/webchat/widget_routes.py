"""The web chat widget's HTTP routes: ``/widget.js`` and everything it loads.

A shop embeds the widget with one ``<script>`` tag pointing at ``/widget.js``; the widget
then loads everything else (its modules, the Socket.IO client, stylesheet, UI strings)
from the gateway origin it was loaded from.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from gateway.texts import Texts

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The widget's ES modules (gateway/webchat/static/widget/), imported by /widget.js.
WIDGET_MODULES_DIR = STATIC_DIR / "widget"
SOCKET_IO_CLIENT = Path("node_modules/socket.io-client/dist/socket.io.min.js")

# Served while nobody has a release pipeline for the widget; revalidation is cheap
# (ETag / Last-Modified from FileResponse) and a changed widget is picked up at once.
NO_CACHE = {"Cache-Control": "no-cache"}
# The widget runs on the shop's origin and fetches these from ours; modules load in CORS mode.
ANY_ORIGIN = {"Access-Control-Allow-Origin": "*"}

# Static file names are flat and boring on purpose: no sub-paths, so no traversal.
STATIC_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*\.(?:css|js|svg|png|ico)"
_MODULE_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]*\.js"

_CONTENT_TYPES = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


def file_response(path: Path, headers: dict[str, str] | None = None) -> web.FileResponse:
    """A static file with its content type, revalidated on every use."""
    content_type = _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    return web.FileResponse(path, headers={**NO_CACHE, **(headers or {}), "Content-Type": content_type})


def add_static_files(app: web.Application, prefix: str, directory: Path, *, name: str = STATIC_NAME,
                     headers: dict[str, str] | None = None) -> None:
    """Serve the files of `directory` whose names match `name` under `prefix` (flat names
    only: no sub-paths, so no traversal)."""

    async def serve(request: web.Request) -> web.StreamResponse:
        path = directory / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        return file_response(path, headers)

    app.router.add_get(f"{prefix}/{{name:{name}}}", serve)


class _Widget:
    def __init__(self, root: Path, texts: Texts) -> None:
        self._socket_io_client = root / SOCKET_IO_CLIENT
        self._texts = texts

    async def widget_js(self, request: web.Request) -> web.FileResponse:
        return file_response(STATIC_DIR / "widget.js")

    async def socket_io_client(self, request: web.Request) -> web.StreamResponse:
        if not self._socket_io_client.is_file():
            return web.Response(
                status=503,
                text="The chat widget's JavaScript dependencies are not installed "
                "(node_modules/socket.io-client is missing). Run `npm ci` or `make setup` "
                "in the storechat checkout.\n",
                headers=NO_CACHE,
            )
        return file_response(self._socket_io_client)

    async def widget_locale(self, request: web.Request) -> web.Response:
        lang = request.match_info["lang"].lower()
        if lang not in self._texts.languages:
            lang = self._texts.default
        return web.json_response(
            # `locale`: how the widget writes a message's time (Intl wants "en-IE", not "en_IE").
            {"lang": lang, "locale": self._texts.cldr_locale(lang).replace("_", "-"),
             "widget": self._texts.section(lang, "widget")},
            # The widget runs on the shop's origin and fetches this from ours.
            headers={**NO_CACHE, **ANY_ORIGIN},
        )


def add_widget_routes(app: web.Application, *, root: Path, texts: Texts) -> None:
    """Mount the widget and its assets on ``app``.

    ``root`` is the repository root, where ``npm ci`` put ``node_modules``.
    """
    views = _Widget(root, texts)
    app.router.add_get("/widget.js", views.widget_js, name="widget_js")
    add_static_files(app, "/static/widget", WIDGET_MODULES_DIR, name=_MODULE_NAME, headers=ANY_ORIGIN)
    # Registered before the generic static route so it wins the match.
    app.router.add_get("/static/socket.io.min.js", views.socket_io_client)
    add_static_files(app, "/static", STATIC_DIR)
    app.router.add_get("/widget/locales/{lang}.json", views.widget_locale)
