"""The console page and its static files over HTTP (no browser, no Redis needed)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from agent_console.views import add_console_routes, templates


async def console(aiohttp_client: AiohttpClient) -> TestClient[web.Request, web.Application]:
    app = web.Application()
    add_console_routes(app)
    return await aiohttp_client(app)


async def test_the_page_is_served_with_strict_security_headers(aiohttp_client: AiohttpClient) -> None:
    client = await console(aiohttp_client)

    response = await client.get("/console")

    assert response.status == 200
    assert response.content_type == "text/html"
    policy = dict(
        (part.split(" ", 1)[0], part.split(" ", 1)[1]) for part in response.headers["Content-Security-Policy"].split("; ")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no inline script, no eval, no other host
    assert policy["connect-src"] == "'self'"  # the API and the Socket.IO websocket, same origin only
    assert policy["frame-ancestors"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_page_loads_its_scripts_and_has_no_inline_script(aiohttp_client: AiohttpClient) -> None:
    client = await console(aiohttp_client)

    html = await (await client.get("/console")).text()

    assert '<script type="module" src="/console/static/console.js"></script>' in html
    assert '<script src="/static/socket.io.min.js" defer></script>' in html
    assert "<script>" not in html and " on" + "click=" not in html
    assert 'value="team:logistics"' in html  # the transfer targets come from core.types.Team


async def test_a_trailing_slash_leads_to_the_console(aiohttp_client: AiohttpClient) -> None:
    client = await console(aiohttp_client)

    response = await client.get("/console/", allow_redirects=False)

    assert response.status == 302 and response.headers["Location"] == "/console"


async def test_templates_escape_what_they_are_given() -> None:
    template = templates().from_string("<p title='{{ text }}'>{{ text }}</p>")

    html = await template.render_async(text="<img src=x onerror=alert(1)> ' \"")

    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&#39;" in html and "&#34;" in html


async def test_static_files_are_served_with_their_types(aiohttp_client: AiohttpClient) -> None:
    client = await console(aiohttp_client)

    for path, content_type in [
        ("/console/static/console.js", "text/javascript"),
        ("/console/static/chat.js", "text/javascript"),
        ("/console/static/console.css", "text/css"),
    ]:
        response = await client.get(path)
        assert response.status == 200, path
        assert response.content_type == content_type
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_static_route_does_not_leave_the_static_folder(aiohttp_client: AiohttpClient) -> None:
    client = await console(aiohttp_client)

    for path in [
        "/console/static/../views.py",
        "/console/static/%2e%2e/views.py",
        "/console/static/..%2fviews.py",
        "/console/static/%2e%2e%2ftemplates%2fconsole.html",
        "/console/static/.hidden.js",
        "/console/static/missing.js",
        "/console/static/views.py",
    ]:
        assert (await client.get(path)).status == 404, path
