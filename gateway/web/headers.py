"""Headers on every answer: `X-Content-Type-Options: nosniff`, and a strict
Content-Security-Policy on every HTML page that does not bring its own.

Set in `on_response_prepare`, not a middleware: it also reaches static files, error
pages aiohttp writes itself, sub-applications and the WebSocket handshake, just before
their headers go out. The pages are the demo storefront (its own scripts and the
widget's, from this origin), the console (agent_console/views.py, a policy of its own)
and the return label (gateway/api/return_label.py, its inline style by hash).
"""

from __future__ import annotations

from aiohttp import web

from core.page_policy import PAGE_POLICY

__all__ = ["PAGE_POLICY", "add_security_headers"]


async def _secure(request: web.Request, response: web.StreamResponse) -> None:
    # A JSON answer or an uploaded-looking file is never run as a script or page.
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)


def add_security_headers(app: web.Application) -> None:
    app.on_response_prepare.append(_secure)
