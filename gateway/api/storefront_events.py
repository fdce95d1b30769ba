"""The shop backend's way in: `POST /api/v1/storefront/events` (shop token).

For what only the shop's server knows (an order placed through a payment provider's
redirect, a cart changed in another device's session): the same events as the widget
sends, for the widget's session id (`StorechatWidget.sessionId()` on the shop's page).
"""

from __future__ import annotations

from aiohttp import web

from gateway.api.http import invalid_input_as, read_json
from gateway.json_input import Reader
from gateway.proactive.events import SESSION_ID, parse_event
from gateway.proactive.service import PROACTIVE


async def post_storefront_event(request: web.Request) -> web.Response:
    body = await read_json(request)
    with invalid_input_as("invalid_event"):
        reader = Reader.of(body)
        session_id = reader.text("session_id", max_length=64, pattern=SESSION_ID)
        event = parse_event(reader.nested("event").data, "event")
    await request.config_dict[PROACTIVE].observe(session_id, event)
    return web.json_response({"accepted": True}, status=202)
