"""A local HTTP server standing in for Twilio's and Meta's APIs.

It records every request exactly as it arrived (method, path with query, headers,
body) and answers as the provider does: Twilio's Message resource for
/2010-04-01/Accounts/{sid}/Messages.json, Meta's Send API answers for /vX/me/messages
and /vX/{phone_number_id}/messages. It runs in a thread, so one instance serves a whole
test session whichever event loop a test runs in.

Fault modes, for the delivery paths: `fail_next(n, status, retry_after=…)` answers the next
n calls with an error (500, 503, 429 with its Retry-After); `hang_next(n, seconds)` takes the
next n calls (they are recorded: the provider has them) and answers only after `seconds`,
past the gateway's read timeout; `refuse_for(seconds)` closes the port, so connections are
refused (nothing reaches the provider) until it opens again. `received` counts what came in.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
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
    at: float = 0.0

    def form(self) -> dict[str, str]:
        return {name: values[0] for name, values in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def json(self) -> object:
        return json.loads(self.body)


@dataclass(frozen=True)
class _Fault:
    status: int = 0  # 0: no error, answer (late, if `hang`)
    retry_after: str | None = None
    hang: float = 0.0


class ProviderStandIn:
    def __init__(self) -> None:
        self.requests: queue.Queue[Recorded] = queue.Queue()
        self.received = 0
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                recorded = Recorded(
                    method="POST", path=parts.path, query=parse_qs(parts.query),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length), at=time.monotonic(),
                )
                with standin._lock:
                    standin.received += 1
                    fault = standin._faults.pop(0) if standin._faults else _Fault()
                standin.requests.put(recorded)
                if fault.hang:
                    standin._stopping.wait(fault.hang)
                status, answer = (fault.status, {"error": {"message": "stand-in failure", "code": fault.status}}) \
                    if fault.status else standin._answer(parts.path)
                payload = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    if fault.retry_after is not None:
                        self.send_header("Retry-After", fault.retry_after)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up waiting (a hang past its read timeout)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._handler = Handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    # --- fault modes --------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 500, *, retry_after: str | None = None) -> None:
        with self._lock:
            self._faults.extend([_Fault(status, retry_after)] * count)

    def hang_next(self, count: int, seconds: float, *, status: int = 0) -> None:
        """The next `count` calls are taken and answered only after `seconds` (then as usual,
        or with `status`)."""
        with self._lock:
            self._faults.extend([_Fault(status, hang=seconds)] * count)

    def refuse_for(self, seconds: float) -> None:
        """Close the port now and open it again after `seconds`: connections are refused meanwhile."""
        self._stop_serving()
        timer = threading.Timer(seconds, self._serve)
        timer.daemon = True
        timer.start()

    # --- what came in -------------------------------------------------------------------

    def _answer(self, path: str) -> tuple[int, dict[str, object]]:
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

    # --- running ------------------------------------------------------------------------

    def _serve(self) -> None:
        if self._stopping.is_set():
            return
        if self._thread is not None:
            self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler)
            self.server.daemon_threads = True
        # serve_forever checks for shutdown every poll_interval: its default (0.5 s) added half
        # a second to the end of every test with a stand-in.
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="provider-standin", daemon=True)
        self._thread.start()

    def _stop_serving(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def close(self) -> None:
        self._stopping.set()
        self._stop_serving()


@contextmanager
def provider_standin() -> Iterator[ProviderStandIn]:
    standin = ProviderStandIn()
    standin._serve()
    try:
        yield standin
    finally:
        standin.close()
