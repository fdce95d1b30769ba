"""The console's HTTP routes: the app page (`/console`) and its static files.

The page is the same for everyone: whether the visitor is logged in is decided by
its script asking `GET /api/v1/agent/me` (the session cookie is HttpOnly), so no
agent data is ever rendered into HTML here.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from core.page_policy import PAGE_POLICY
from core.types import Channel, Team

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
# The console's texts, one JSON file per language: adding a language is adding a file.
LOCALES_DIR = PACKAGE_DIR / "locales"
DEFAULT_LANGUAGE = "en"
_LANGUAGE = r"[a-z]{2,3}"
# The supervisor's charts (Chart.js, from npm: `npm ci` puts it there). Its UMD build
# defines `window.Chart` and needs no bundler; it is served from this origin, so the
# page's Content-Security-Policy (scripts from 'self' only) holds.
CHART_JS = Path("node_modules/chart.js/dist/chart.umd.min.js")

# Flat names only: no sub-paths, so no way out of STATIC_DIR.
_STATIC_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]*\.(?:css|js|svg)"
_CONTENT_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}

# The console shows text written by shoppers: the pages' one policy (core/page_policy.py).
SECURITY_HEADERS = {
    "Content-Security-Policy": PAGE_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # Revalidation is cheap (ETag / Last-Modified) and a new console is picked up at once.
    "Cache-Control": "no-cache",
}


def templates() -> jinja2.Environment:
    """The console's template environment; autoescape is on for every template."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        enable_async=True,
    )


def languages() -> list[str]:
    """The languages the console has texts for: one per `locales/<language>.json`."""
    return sorted(path.stem for path in LOCALES_DIR.glob("*.json"))


class _Console:
    def __init__(self, root: Path) -> None:
        self._templates = templates()
        self._chart_js = root / CHART_JS

    async def page(self, request: web.Request) -> web.Response:
        template = self._templates.get_template("console.html")
        html = await template.render_async(teams=[team.value for team in Team],
                                           channels=[channel.value for channel in Channel],
                                           languages=languages(), default_language=DEFAULT_LANGUAGE)
        return web.Response(text=html, content_type="text/html", headers=SECURITY_HEADERS)

    async def locale(self, request: web.Request) -> web.FileResponse:
        path = LOCALES_DIR / f"{request.match_info['lang']}.json"
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={**SECURITY_HEADERS, "Content-Type": "application/json; charset=utf-8"})

    async def chart_js(self, request: web.Request) -> web.StreamResponse:
        if not self._chart_js.is_file():
            return web.Response(
                status=503,
                text="The console's charting library is not installed (node_modules/chart.js is missing). "
                "Run `npm ci` or `make setup` in the storechat checkout.\n",
                headers=SECURITY_HEADERS,
            )
        return web.FileResponse(self._chart_js,
                                headers={**SECURITY_HEADERS, "Content-Type": "text/javascript; charset=utf-8"})

    async def static(self, request: web.Request) -> web.FileResponse:
        path = STATIC_DIR / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        content_type = _CONTENT_TYPES[path.suffix]
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        return web.FileResponse(path, headers={**SECURITY_HEADERS, "Content-Type": content_type})


async def _to_console(request: web.Request) -> web.Response:
    raise web.HTTPFound("/console")


def add_console_routes(app: web.Application, *, root: Path = PACKAGE_DIR.parent) -> None:
    """Mount the agent console at ``/console`` (its API lives under /api/v1/agent).

    ``root`` is the repository root, where ``npm ci`` put ``node_modules``.
    """
    console = _Console(root)
    app.router.add_get("/console", console.page, name="console")
    app.router.add_get("/console/", _to_console)
    app.router.add_get("/console/static/{name:" + _STATIC_NAME + "}", console.static)
    app.router.add_get("/console/locales/{lang:" + _LANGUAGE + "}.json", console.locale)
    app.router.add_get("/console/vendor/chart.umd.min.js", console.chart_js)
