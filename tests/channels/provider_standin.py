"""A local HTTP server standing in for Twilio's and Meta's APIs.

It records every request exactly as it arrived (method, path with query, headers,
body) and answers as the provider does: Twilio's Message resource for
/2010-04-01/Accounts/{sid}/Messages.json, Meta's Send API answers for /vX/me/messages
and /vX/{phone_number_id}/messages. `fail_next(n, status)` makes the next n calls fail,
for the retry paths. It runs in a thread, so one instance serves a whole test session
whichever event loop a test runs in.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {name: values[0] for name, values in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def json(self) -> object:
        return json.loads(self.body)


class ProviderStandIn:
    def __init__(self) -> None:
        self.requests: queue.Queue[Recorded] = queue.Queue()
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                standin.requests.put(Recorded(
                    method="POST", path=parts.path, query=parse_qs(parts.query),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length),
                ))
                status, answer = standin._answer(parts.path)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def _answer(self, path: str) -> tuple[int, dict[str, object]]:
        with self._lock:
            if self._failures:
                return self._failures.pop(0), {"error": {"message": "stand-in failure"}}
        n = next(self._ids)
        if "/Accounts/" in path:
            return 201, {"sid": f"SM{n:032x}", "status": "queued"}
        if path.endswith("/me/messages"):
            return 200, {"recipient_id": "0", "message_id": f"m_standin{n}"}
        return 200, {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.standin{n}"}]}

    def drain(self) -> None:
        while not self.requests.empty():
            self.requests.get_nowait()

    def next(self, timeout: float = 20) -> Recorded:
        return self.requests.get(timeout=timeout)

    def none_within(self, seconds: float) -> None:
        try:
            extra = self.requests.get(timeout=seconds)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected request to the provider: {extra.path} {extra.body[:200]!r}")


@contextmanager
def provider_standin() -> Iterator[ProviderStandIn]:
    standin = ProviderStandIn()
    # serve_forever checks for shutdown every poll_interval: its default (0.5 s) added half
    # a second to the end of every test with a stand-in.
    thread = threading.Thread(target=standin.server.serve_forever, kwargs={"poll_interval": 0.02},
                              name="provider-standin", daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        standin.server.shutdown()
        standin.server.server_close()
