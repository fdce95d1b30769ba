"""HTTP plumbing of the /api/v1 API: bearer tokens, bounded JSON bodies, JSON errors.

Kept apart from the routes so each route reads as what it does for the shop or
the bot. Every error is ``{"error": code, "message": text}`` plus, where useful,
a field or two the caller can act on.
"""

from __future__ import annotations

import hmac
import json
import math
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, TypeVar

from aiohttp import web

from gateway.json_input import Body, InvalidInput, parse
from gateway.limits.clients import Network, rate_client, request_address
from gateway.limits.limiter import LIMITER, Decision
from gateway.settings import Settings

MAX_BODY_BYTES = 64 * 1024
# Path parameters that cannot hold just anything: conversation ids (Rasa's sender ids)
# and return ids have no slashes and no ":", so an id can never name another Redis key
# (`<id>:events` is a conversation's stream, not a conversation). Shop, bot and agent routes alike.
PATH_PATTERNS = {"cid": r"[A-Za-z0-9._@+-]{1,128}", "return_id": r"[A-Za-z0-9_-]{16,64}",
                 "request_id": r"[A-Za-z0-9_-]{16,64}"}
_PLACEHOLDERS = {"{" + name + "}": "{" + name + ":" + pattern + "}" for name, pattern in PATH_PATTERNS.items()}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Model = TypeVar("Model", bound=Body)


class Role(StrEnum):
    """Who holds a token: the shop's systems or the bot's action server."""

    SHOP = "shop"
    BOT = "bot"


TOKEN_VARIABLES = {Role.SHOP: Settings.variables()["shop_token"], Role.BOT: Settings.variables()["bot_token"]}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *,
                 extra: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        return web.json_response({"error": self.code, "message": self.message, **self.extra},
                                 status=self.status, headers=self.headers)


def constrained_path(path: str) -> str:
    """A route's path as in the OpenAPI document, its placeholders given their PATH_PATTERNS
    for aiohttp: an id that does not match is a JSON 404 before any handler runs."""
    for placeholder, constrained in _PLACEHOLDERS.items():
        path = path.replace(placeholder, constrained)
    return path


def too_many_requests(retry_after: float) -> ApiError:
    """The 429 of every rate rule: when to try again, in the header and in the body."""
    seconds = max(1, math.ceil(retry_after))
    return ApiError(429, "rate_limited", f"too many requests: try again in {seconds} s",
                    extra={"retry_after": seconds}, headers={"Retry-After": str(seconds)})


def caller(request: web.Request, proxies: Sequence[Network]) -> str:
    """Whom an address's rules count: the client's address (via trusted proxies only)."""
    return rate_client(request_address(request, proxies))


async def limit(request: web.Request, rule: str, client: str) -> None:
    """Count one request of `client` against `rule`; the 429 ApiError when it is over."""
    limiter = request.config_dict.get(LIMITER)
    decision: Decision = await limiter.hit(rule, client) if limiter is not None else Decision(True, 0.0)
    if not decision.allowed:
        raise too_many_requests(decision.retry_after)


def _unauthorised(code: str, message: str, challenge: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": challenge})


def authorise(header: str | None, role: Role, tokens: Mapping[Role, str | None]) -> None:
    """Raise the ApiError the caller deserves unless `header` carries the token of `role`.

    The other role's token gets a 403 (authenticated, wrong door) rather than a 401,
    which tells an operator at once that two tokens were swapped.
    """
    wanted = tokens[role]
    if wanted is None:
        raise ApiError(503, "api_disabled", f"this endpoint is off: {TOKEN_VARIABLES[role]} is not set")
    scheme, _, presented = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise _unauthorised("unauthorized", "send Authorization: Bearer <token>", 'Bearer realm="storechat"')
    # aiohttp hands over non-UTF-8 header bytes as surrogate escapes: compare the raw bytes.
    token = presented.strip().encode("utf-8", "surrogateescape")
    if hmac.compare_digest(token, wanted.encode("utf-8")):
        return
    for other, other_token in tokens.items():
        if other is not role and other_token and hmac.compare_digest(token, other_token.encode("utf-8")):
            raise ApiError(403, "forbidden", f"this endpoint needs the {role.value} token, not the {other.value} token")
    raise _unauthorised("invalid_token", "the bearer token is not valid",
                        'Bearer realm="storechat", error="invalid_token"')


async def read_json(request: web.Request) -> object:
    """The parsed body, read no further than MAX_BODY_BYTES (chunked bodies included)."""
    too_large = ApiError(413, "body_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    try:
        return json.loads(body)
    # ValueError: bad UTF-8, bad syntax, or a number beyond Python's 4300-digit limit;
    # RecursionError: arrays or objects nested deeper than the parser goes.
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None


async def read_body(request: web.Request, model: type[Model], error_code: str, *,
                    context: Mapping[str, Any] | None = None) -> Model:
    """The body read as `model` (413 or 400 as read_json), or a 422 `error_code` naming the field."""
    body = await read_json(request)
    with invalid_input_as(error_code):
        return parse(model, body, context=context)


def answer(model: type[Body], data: object, status: int = 200) -> web.Response:
    """`data` (a domain object, or a dict of them) as `model` writes it: the body the
    OpenAPI document gives for this answer, built by the same model."""
    return web.json_response(model.model_validate(data).model_dump(mode="json"), status=status)


@contextmanager
def invalid_input_as(code: str) -> Iterator[None]:
    """Turn a validation error into a 422 whose message names the field."""
    try:
        yield
    except InvalidInput as exc:
        raise ApiError(422, code, str(exc)) from None


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure under /api/v1 answers in the one error shape, never as HTML."""
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = "not_found" if exc.status == 404 else "method_not_allowed" if exc.status == 405 else "http_error"
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return ApiError(exc.status, code, exc.reason, headers=headers).response()
