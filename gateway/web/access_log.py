"""The access log, without what would let a reader of the log in: a return id in any
path (a label link's only key), any token or secret in a query (Meta's
`hub.verify_token`, Socket.IO's `sid`), and personal data in a query (`email`, `phone`)
are written as "…".

One line per request: client, method, path, status, bytes, milliseconds, user agent.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

REDACTED = "…"
# A return id is its label page's credential (gateway/api/return_label.py), in any route.
_SECRET_PATHS = (re.compile(r"(/returns/)[^/]+"),)
_SECRET_QUERY = re.compile(r"token|secret|signature|password|key|^sid$|^session|^email$|^phone$", re.IGNORECASE)


def redacted_target(path: str, query_string: str) -> str:
    """`path?query` with the secrets in either replaced by REDACTED."""
    for secret in _SECRET_PATHS:
        path = secret.sub(rf"\g<1>{REDACTED}", path)
    if not query_string:
        return path
    pairs = parse_qsl(query_string, keep_blank_values=True)
    query = "&".join(f"{quote(name, safe='.')}={REDACTED if _SECRET_QUERY.search(name) else quote(value, safe='')}"
                     for name, value in pairs)
    return f"{path}?{query}"


class RedactingAccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %d %d %.1fms "%s"',
            request.remote or "-", request.method, redacted_target(request.path, request.query_string),
            response.status, response.body_length, time * 1000, request.headers.get("User-Agent", "-"),
        )
