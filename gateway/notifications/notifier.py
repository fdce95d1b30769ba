"""Order-status notifications: a shipment event the shop posts becomes a message to the
customer on the channel their order names (`notify`), in their language.

Every notification goes through one sorted set (keys.NOTIFICATIONS_DUE), due now or at
the end of the quiet hours, and a ticker in every gateway process sends what is due: a
Lua script moves the entry to the in-flight set (with a deadline) and takes its status in
one step, so exactly one process wins it. A process that posted an event due now wakes its
own ticker, so the message goes at once. A newer event of the same order replaces the one
still waiting: after a night the customer reads the latest news once, not the whole night's.

At least once, and once: a notification leaves the in-flight set only when it is on the
case and the outbound queue; one whose claimer failed or died is due again after
`INFLIGHT_SECONDS`, and its message carries a dedupe key per order event, so taking it
up again never sends it twice.

The message goes on the conversation at that channel address like any bot message (the
agent's case shows it, the web widget's history replays it), the order counts as proven
there (a reply goes on with it, no proof asked), and the channel's rules hold: nothing to
an opted-out number, and on WhatsApp outside the 24-hour window the approved template.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, date, datetime

from redis.asyncio import Redis

from core.types import Clock, OutgoingMessage, Template
from gateway import keys
from gateway.conversations.outbox import Outbox
from gateway.conversations.store import ConversationStore
from gateway.notifications.compose import notification_text, template_parameters
from gateway.notifications.config import NotificationConfig
from gateway.shop.orders import Order, OrderEvent, OrderStatus, OrderStore
from gateway.shop.verification import Verifier
from gateway.texts import Texts

log = logging.getLogger(__name__)

# How often each process looks for notifications due (one ZRANGEBYSCORE a second is cheap).
TICK_SECONDS = 1.0
BATCH = 50
# A repeated event is recognised this long after the first.
TAKEN_SECONDS = 30 * 24 * 3600

# A claimed notification not on the case after this long is due again, this many times at
# most (a notification that fails every time is given up on, loudly, not tried for ever).
INFLIGHT_SECONDS = 60.0
TAKE_UPS = 5

# The atomic claim: only the process whose ZREM removes a due entry sends it; it stays in
# flight (`<order id>\n<status>:<event ms>`) until sent. KEYS: due set, pending hash, in-flight
# set; ARGV: order id, now, deadline. The pending `<status>:<event ms>`, or false.
_CLAIM = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) > tonumber(ARGV[2]) then return false end
redis.call('ZREM', KEYS[1], ARGV[1])
local item = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if item then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1] .. '\\n' .. item) end
return item
"""

# An in-flight notification past its deadline is due again, unless a newer event of its
# order waits already (that one replaces it). KEYS: in-flight set, due set, pending hash;
# ARGV: the in-flight member, its order id, its item, now.
_REDUE = """
local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not deadline or tonumber(deadline) > tonumber(ARGV[4]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('HSETNX', KEYS[3], ARGV[2], ARGV[3]) == 1 then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2]) end
return 1
"""


class Notifier:
    def __init__(self, config: NotificationConfig, *, orders: OrderStore, store: ConversationStore,
                 verifier: Verifier, outbox: Outbox, texts: Texts,
                 clock: Clock = time.time) -> None:
        known = texts.section(texts.default, "gateway")
        missing = [status.value for status in config.statuses if f"notification_{status.value}" not in known]
        if missing:
            raise ValueError(f"no text for a notification of status {missing[0]!r} (gateway/locales, "
                             f"notification_{missing[0]})")
        self.config = config
        self.orders = orders
        self.store = store
        self.verifier = verifier
        self.outbox = outbox
        self.texts = texts
        self.clock = clock
        self._claim = self.redis.register_script(_CLAIM)
        self._redue = self.redis.register_script(_REDUE)
        self._wake = asyncio.Event()

    @property
    def redis(self) -> Redis:
        return self.store.redis

    async def order_event(self, order: Order, event: OrderEvent) -> None:
        """A shipment event was stored (`order` is the order after it): schedule its notification.

        An event tells once: the same order, status and event time posted again is skipped.
        """
        if order.notify is None or event.status not in self.config.statuses:
            return
        event_ms = str(round(event.at.timestamp() * 1000))
        taken = keys.notification_taken(order.order_id, event.status.value, event_ms)
        if not await self.redis.set(taken, "1", nx=True, ex=TAKEN_SECONDS):
            log.info("order %s: %s event of %s notified already", order.order_id, event.status, event.at)
            return
        now = datetime.fromtimestamp(self.clock(), UTC)
        quiet_end = self.config.quiet_hours.end_after(now) if self.config.quiet_hours else None
        due = quiet_end or now
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.NOTIFICATIONS_PENDING, order.order_id, f"{event.status.value}:{event_ms}")
            pipe.zadd(keys.NOTIFICATIONS_DUE, {order.order_id: due.timestamp()})
            await pipe.execute()
        if quiet_end is None:
            self._wake.set()
        else:
            log.info("order %s: %s notification waits for the end of the quiet hours (%s)",
                     order.order_id, event.status, quiet_end.isoformat())

    async def run(self, interval: float = TICK_SECONDS) -> None:
        """The ticker: what is due, every `interval` seconds, and at once when an event is due now."""
        while True:
            try:
                await self.send_due()
            except Exception:  # Redis away for a moment, say: the next tick tries again
                log.exception("sending the notifications due failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()

    async def send_due(self) -> int:
        """Claim and send every notification due now; how many this process sent."""
        await self._redue_overdue()
        sent = 0
        while True:
            now = self.clock()
            due = await self.redis.zrangebyscore(keys.NOTIFICATIONS_DUE, "-inf", now, start=0, num=BATCH)
            for order_id in map(str, due):
                item = await self._claim(keys=[keys.NOTIFICATIONS_DUE, keys.NOTIFICATIONS_PENDING,
                                               keys.NOTIFICATIONS_INFLIGHT],
                                         args=[order_id, now, now + INFLIGHT_SECONDS])
                if item is None:
                    continue  # another process won it
                status, event_ms, _ = _fields(str(item))
                try:
                    await self._send(order_id, OrderStatus(status), event_ms)
                except Exception:
                    # Still in flight: due again after INFLIGHT_SECONDS. The others still go.
                    log.exception("notification of order %s (%s) failed; it is tried again later", order_id, status)
                    continue
                await self.redis.zrem(keys.NOTIFICATIONS_INFLIGHT, f"{order_id}\n{item}")
                sent += 1
            if len(due) < BATCH:
                return sent

    async def _redue_overdue(self) -> None:
        """The notifications whose claimer failed or died, due again."""
        now = self.clock()
        overdue = await self.redis.zrangebyscore(keys.NOTIFICATIONS_INFLIGHT, "-inf", now, start=0, num=BATCH)
        for member in map(str, overdue):
            order_id, _, item = member.partition("\n")
            status, event_ms, taken_up = _fields(item)
            if taken_up >= TAKE_UPS:
                if await self.redis.zrem(keys.NOTIFICATIONS_INFLIGHT, member):
                    log.error("notification of order %s (%s) given up after %d tries", order_id, status, taken_up + 1)
                continue
            again = f"{status}:{event_ms}:{taken_up + 1}"
            if await self._redue(keys=[keys.NOTIFICATIONS_INFLIGHT, keys.NOTIFICATIONS_DUE,
                                       keys.NOTIFICATIONS_PENDING], args=[member, order_id, again, now]):
                log.warning("notification of order %s (%s) was not sent by its claimer: due again", order_id, item)

    async def _send(self, order_id: str, status: OrderStatus, event_ms: str) -> None:
        # Read now, not at the event: the shop may have changed the address, or the date, since.
        order = await self.orders.get(order_id)
        if order is None or order.notify is None or status not in self.config.statuses:
            log.info("notification of order %s (%s) dropped: nobody to tell any more", order_id, status)
            return
        notify = order.notify
        if not self.outbox.delivers_to(notify.channel):
            log.warning("notification of order %s (%s) not sent: the %s channel is not configured",
                        order_id, status, notify.channel)
            return
        locale = self.texts.locale(notify.locale)
        today = datetime.fromtimestamp(self.clock(), self.config.timezone).date()
        message = OutgoingMessage(notification_text(order, status, self.texts, locale, today),
                                  template=self._template(order, status, locale, today))
        conversation = await self.store.open(notify.channel, notify.address, locale)
        await self.verifier.vouch(conversation.id, order)
        # One order event, one message: taken up again after its claimer stopped, it is not sent twice.
        once = f"notification:{order_id}:{status.value}:{event_ms}"
        event = await self.outbox.send_once(conversation, message, once,
                                            notification={"order_id": order.order_id, "status": status.value})
        if event is None:
            log.info("order %s: %s notification was on its way already", order_id, status)
            return
        log.info("order %s: %s notification sent to conversation %s", order_id, status, conversation.id)

    def _template(self, order: Order, status: OrderStatus, locale: str, today: date) -> Template | None:
        whatsapp = self.config.statuses[status].whatsapp
        if whatsapp is None or locale not in whatsapp.names:
            return None
        return Template(whatsapp.names[locale], locale,
                        template_parameters(order, whatsapp, self.texts, locale, today))


def _fields(item: str) -> tuple[str, str, int]:
    """(status, event ms, times taken up again) of a pending or in-flight `<status>:<event ms>[:<n>]`."""
    status, _, rest = item.partition(":")
    event_ms, _, taken_up = rest.partition(":")
    return status, event_ms, int(taken_up) if taken_up.isdigit() else 0
