"""Background work that must end when the app ends, and the one retry helper.

Why `stop` does more than `task.cancel(); await task`: a task blocked in a Redis
pub/sub read can swallow its cancellation (on Python 3.11 a cancel that races the
client's read timeout comes out as a TimeoutError, which the client retries), and
awaiting it then hangs the shutdown for ever. `stop` cancels again until the task
ends, and gives up after a deadline with a warning instead of hanging.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

_RECANCEL_SECONDS = 0.2


async def stop(tasks: Iterable[asyncio.Future[Any]], *, timeout: float = 5.0,
               unblock: Callable[[], Awaitable[None]] | None = None) -> None:
    """Cancel `tasks` and wait until they have ended, at most `timeout` seconds.

    `unblock`, if given, is awaited once after the first cancel: it closes whatever
    the tasks may be stuck reading from (a pub/sub connection).
    """
    pending = {task for task in tasks if not task.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    first = True
    while pending and loop.time() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=_RECANCEL_SECONDS)
        if pending and first and unblock is not None:
            try:
                await asyncio.wait_for(unblock(), timeout=1.0)
            except Exception as exc:  # already broken is as good as closed here
                log.debug("unblocking %s: %r", pending, exc)
        first = False
    for task in pending:
        log.warning("background task %s did not stop within %.0f s; left behind", task.get_name()
                    if isinstance(task, asyncio.Task) else task, timeout)


def backoff_delays(*, base: float, cap: float, attempts: int) -> list[float]:
    """Capped exponential backoff with full jitter: the waits between `attempts` tries."""
    return [random.uniform(0, min(cap, base * 2**n)) for n in range(attempts - 1)]


async def retry(call: Callable[[], Awaitable[T]], *, retry_on: tuple[type[BaseException], ...],
                attempts: int, base: float = 0.5, cap: float = 8.0,
                on_retry: Callable[[int, BaseException], None] | None = None) -> T:
    """`call()`, tried up to `attempts` times while it raises one of `retry_on`."""
    delays = backoff_delays(base=base, cap=cap, attempts=attempts)
    for attempt, delay in enumerate([*delays, None], start=1):
        try:
            return await call()
        except retry_on as exc:
            if delay is None:
                raise
            if on_retry is not None:
                on_retry(attempt, exc)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")
