"""The system webhook_ingest measures: a bare aiohttp app (the anchor) and a stand-in for
Twilio's Messages API, each run from this file in a process of its own; `system()`, which
starts them beside an empty embedded Redis and one `storechat serve` with the SMS channel on;
and how far the gateway's inbox worker has got through the SMS inbox stream.

    python benchmarks/webhook_system.py bare|twilio PORT    # one stand-in (system() starts them)
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

# Run as a script (a stand-in's own process): make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from benchmarks.stack import BENCH_DIR, Stack, free_port, unlimited_limits  # noqa: E402
from benchmarks.webhook_load import ACCOUNT_SID, SHOP_NUMBER  # noqa: E402
from core.types import Channel  # noqa: E402
from gateway import keys  # noqa: E402
from gateway.run import processes  # noqa: E402
from gateway.settings import REPO_ROOT, Settings  # noqa: E402

KINDS = ("bare", "twilio")
INBOX = keys.inbox(Channel.SMS.value)


# --- the stand-ins: a bare aiohttp handler and Twilio's Messages API ------------------

@dataclass
class Sent:
    messages: int = 0


SENT = web.AppKey("sent", Sent)


async def _ok(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"ok": True})


async def _twilio_message(request: web.Request) -> web.Response:
    await request.read()
    request.app[SENT].messages += 1
    return web.json_response({"sid": f"SM{uuid.uuid4().hex}", "status": "queued"}, status=201)


async def _twilio_count(request: web.Request) -> web.Response:
    return web.json_response(asdict(request.app[SENT]))


def serve(kind: str, port: int) -> None:
    app = web.Application()
    app.router.add_get("/", _ok)
    if kind == "bare":
        app.router.add_post("/{tail:.*}", _ok)
    else:
        app[SENT] = Sent()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", _twilio_message)
        app.router.add_get("/count", _twilio_count)
    # No access log, as in the public benchmarks the anchor comes from.
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def _stand_in(kind: str, port: int) -> processes.ProcessSpec:
    return processes.ProcessSpec(kind, (sys.executable, str(Path(__file__).resolve()), kind, str(port)), REPO_ROOT)


# --- the processes under test -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class System:
    stack: Stack
    redis_url: str
    gateway: str  # storechat's base URL, also its public URL
    bare: str
    twilio: str
    auth_token: str

    @property
    def signed_url(self) -> str:
        return f"{self.gateway}/webhooks/sms"


def _answers(url: str, status: int) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == status)
        except urllib.error.HTTPError as exc:
            return exc.code == status
        except (urllib.error.URLError, OSError):
            return False

    return probe


@contextmanager
def system() -> Iterator[System]:
    redis_port, gateway_port, bare_port, twilio_port = free_port(), free_port(), free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    gateway, twilio = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{twilio_port}"
    # Nothing listens on rasa_url: every first message of a conversation takes the bot-unavailable path.
    settings = Settings(port=gateway_port, redis_url=redis_url, rasa_url=f"http://127.0.0.1:{free_port()}",
                        data_dir=BENCH_DIR / "webhooks", root=REPO_ROOT)
    token = secrets.token_hex(16)
    channel = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": token, "TWILIO_FROM_NUMBER": SHOP_NUMBER,
               "TWILIO_API_BASE": twilio, "STORECHAT_PUBLIC_URL": gateway,
               # Every sender from one address, thousands a second: the rate rules would refuse most.
               "STORECHAT_LIMITS": str(unlimited_limits())}
    with ExitStack() as exits:
        stack = Stack(exits)
        stack.start_empty_redis(redis_url, BENCH_DIR / "webhooks" / "redis")
        stack.start(_stand_in("twilio", twilio_port), processes.http_ok(f"{twilio}/"), wait=False)
        stack.start(_stand_in("bare", bare_port), processes.http_ok(f"http://127.0.0.1:{bare_port}/"), wait=False)
        # /healthz is 503 without Rasa; GET /webhooks/sms answers 405 once the route and the SMS channel are up.
        stack.start(processes.gateway(settings, env=channel), _answers(f"{gateway}/webhooks/sms", 405), wait=False)
        stack.wait()
        yield System(stack, redis_url, gateway, f"http://127.0.0.1:{bare_port}", twilio, token)


# --- the inbox stream -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class InboxState:
    length: int
    last_added: str
    last_delivered: str  # the last entry an inbox worker has read
    pending: int  # read but not yet acknowledged

    @property
    def drained(self) -> bool:
        return self.last_delivered == self.last_added and self.pending == 0


async def inbox_state(redis: Redis) -> InboxState:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xinfo_stream(INBOX)
        pipe.xinfo_groups(INBOX)
        stream, groups = await pipe.execute()
    group = next(g for g in groups if g["name"] == keys.INBOX_GROUP)
    return InboxState(int(stream["length"]), str(stream["last-generated-id"]), str(group["last-delivered-id"]),
                      int(group["pending"]))


async def backlog(redis: Redis, state: InboxState) -> int:
    """Entries not yet processed at `state`: never read (counted page by page) plus pending."""
    unread, after = 0, state.last_delivered
    while page := await redis.xrange(INBOX, min=f"({after}", max=state.last_added, count=10_000):
        unread += len(page)
        after = str(page[-1][0])
        if after == state.last_added:
            break
    return unread + state.pending


async def wait_drained(redis: Redis, timeout: float) -> float | None:
    """Seconds until every entry is processed, None if not within `timeout`."""
    started = time.perf_counter()
    while not (await inbox_state(redis)).drained:
        if time.perf_counter() - started > timeout:
            return None
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS or not sys.argv[2].isdigit():
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(KINDS)} PORT")
    serve(sys.argv[1], int(sys.argv[2]))
