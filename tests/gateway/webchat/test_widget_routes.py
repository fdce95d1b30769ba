"""The widget's routes over HTTP (no browser needed)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from gateway.texts import Texts
from gateway.webchat.widget_routes import add_widget_routes

REPO = Path(__file__).resolve().parents[3]


def widget_app(root: Path) -> web.Application:
    app = web.Application()
    add_widget_routes(app, root=root, texts=Texts.load("de"))
    return app


async def test_widget_and_its_assets_are_served(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(widget_app(REPO))

    for path, content_type in [
        ("/widget.js", "text/javascript"),
        ("/static/widget.css", "text/css"),
        ("/static/logo.svg", "image/svg+xml"),
    ]:
        response = await client.get(path)
        assert response.status == 200, path
        assert response.content_type == content_type
        assert response.headers["Cache-Control"] == "no-cache"


async def test_static_route_does_not_leave_the_static_folder(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(widget_app(REPO))

    for path in ["/static/../widget_routes.py", "/static/%2e%2e/widget_routes.py", "/static/missing.css"]:
        assert (await client.get(path)).status == 404, path


async def test_missing_npm_dependencies_are_reported_not_hidden(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    client = await aiohttp_client(widget_app(tmp_path))

    response = await client.get("/static/socket.io.min.js")

    assert response.status == 503
    assert "npm ci" in await response.text()


async def test_widget_strings_fall_back_to_german(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(widget_app(REPO))

    english = await (await client.get("/widget/locales/en.json")).json()
    unknown = await client.get("/widget/locales/xx.json")

    assert english["lang"] == "en" and english["widget"]["send"] == "Send"
    assert english["locale"] == "en-IE"  # the widget writes message times as English in Europe does
    assert unknown.headers["Access-Control-Allow-Origin"] == "*"
    german = await (await client.get("/widget/locales/de.json")).json()
    assert await unknown.json() == {"lang": "de", "locale": "de", "widget": german["widget"]}


async def test_widget_modules_are_served_to_other_origins(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(widget_app(REPO))

    module = await client.get("/static/widget/chat.js")
    missing = await client.get("/static/widget/missing.js")
    outside = await client.get("/static/widget/..%2Fwidget.js")

    assert module.status == 200 and module.content_type == "text/javascript"
    # Imported from the shop's origin: ES modules load in CORS mode.
    assert module.headers["Access-Control-Allow-Origin"] == "*"
    assert missing.status == 404 and outside.status == 404
