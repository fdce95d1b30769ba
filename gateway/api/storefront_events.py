"""The shop backend's way in: `POST /api/v1/storefront/events` (shop token).

For what only the shop's server knows (an order placed through a payment provider's
redirect, a cart changed in another device's session): the same events as the widget
sends, for the widget's session id (`StorechatWidget.sessionId()` on the shop's page).
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field

from gateway.api.http import answer, read_body
from gateway.api.shop_contract import Accepted
from gateway.json_input import Body, Text
from gateway.proactive.events import StorefrontEvent
from gateway.proactive.service import PROACTIVE

# As the widget's session ids (channels/webchat.py): unguessable, nothing a Redis key would mind.
SESSION_ID = r"[A-Za-z0-9_-]{20,64}"


class StorefrontEventInput(Body):
    session_id: Annotated[str, Text(max_length=64, pattern=SESSION_ID),
                          Field(description="the widget's session id (StorechatWidget.sessionId())")]
    event: StorefrontEvent


async def post_storefront_event(request: web.Request) -> web.Response:
    sent = await read_body(request, StorefrontEventInput, "invalid_event")
    await request.config_dict[PROACTIVE].observe(sent.session_id, sent.event)
    return answer(Accepted, {"accepted": True}, 202)
