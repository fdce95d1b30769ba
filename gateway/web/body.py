"""A request's body, read no further than a limit (a chunked body has no Content-Length to trust)."""

from __future__ import annotations

from aiohttp import web


async def read_bounded(request: web.Request, limit: int) -> bytes:
    """The raw body; HTTP 413 as soon as it is longer than `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(limit, request.content_length)
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise web.HTTPRequestEntityTooLarge(limit, len(body))
    return bytes(body)
