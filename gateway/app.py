"""The gateway application: one aiohttp app with Socket.IO attached.

Every long-lived client (Redis, the HTTP session to Rasa, the Socket.IO Redis
manager) is opened and closed in `cleanup_ctx`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import socketio
from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agent_console.views import add_console_routes
from core.types import Channel, Clock
from demo_shop import storefront
from demo_shop.storefront import HelpTopic, add_storefront_routes
from gateway import background, keys
from gateway.api import agent_socket, health
from gateway.api.agent import AGENT_API, AgentApi, add_agent_routes
from gateway.api.agent_socket import AgentSockets
from gateway.api.callbacks import add_callback_routes
from gateway.api.privacy import add_privacy_routes
from gateway.api.reports import add_report_routes
from gateway.api.return_label import add_return_label_route
from gateway.api.shop import SHOP_API, ShopApi, api_app
from gateway.api.supervisor import add_supervisor_routes
from gateway.bot.faq import load_languages, load_topics
from gateway.callbacks.report import CallbacksProjection
from gateway.callbacks.service import CALLBACKS, Callbacks
from gateway.callbacks.socket import CallbackSocket
from gateway.callbacks.store import CallbackStore
from gateway.bot.rasa_client import RasaClient
from gateway.conversations.csat import Survey
from gateway.conversations.loop import ConversationLoop
from gateway.conversations.outbox import Outbox
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import AgentStore, LoginLimiter, SessionStore
from gateway.desk.assignment import Roster, Router
from gateway.desk.business_hours import BusinessHours
from gateway.desk.canned import CannedAnswers
from gateway.desk.case import Cases
from gateway.desk.desk import Desk
from gateway.desk.reach import Reach
from gateway.desk.request_actions import RequestActions
from gateway.email.service import EmailService
from gateway.messaging.delivery import ChannelDelivery, ProviderClient
from gateway.messaging.outbound import Outbound
from gateway.complaints.projection import ComplaintsProjection
from gateway.complaints.report import COMPLAINTS, ComplaintReports
from gateway.desk.directory import DirectoryProjection
from gateway.limits.limiter import LIMITER, Limiter
from gateway.limits.rules import Limits
from gateway.messaging.inbound import ChannelInbound
from gateway.messaging.inbox import Handler, InboxWorker
from gateway.messaging.webhooks import WEBHOOKS, Webhooks, add_webhook_routes
from gateway.notifications import NotificationConfig, Notifier
from gateway.platforms.routes import PLATFORMS, Platforms, add_platform_routes
from gateway.privacy.policy import RetentionPolicy
from gateway.privacy.service import PRIVACY, Privacy
from gateway.proactive.rules import Rules
from gateway.proactive.service import PROACTIVE, Proactive, socketio_emit
from gateway.reports.orders import OrdersProjection
from gateway.reports.service import REPORTS, Reports
from gateway.settings import Settings
from gateway.shop_events.queue import queue_from_settings
from gateway.texts import Texts
from gateway.webchat.redis_manager import RedisManager
from gateway.webchat.socket_server import WebChatServer
from gateway.web.headers import add_security_headers
from gateway.webchat.widget_routes import add_static_files, add_widget_routes

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
RASA = web.AppKey("rasa", RasaClient)
STORE = web.AppKey("store", ConversationStore)
LOOP = web.AppKey("loop", ConversationLoop)
SIO = web.AppKey("sio", socketio.AsyncServer)
# The conversations' clock (and so of everything timed by it); tests pass one they control.
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
# How often the proactive and notification tickers look for due work (None: their own
# second); tests that move the clock shorten it, so "nothing was sent" takes a few ticks.
TICK: web.AppKey[float | None] = web.AppKey("tick")
# The gateway's texts, read once: the routes and the conversation loop share them.
TEXTS = web.AppKey("texts", Texts)


# Connections one process keeps to Redis, and how long a command waits for a free one. A
# burst (fifty shoppers saying hello at once) queues for a connection instead of failing
# with "Too many connections"; the bound keeps a flood from opening thousands.
REDIS_CONNECTIONS = 100
REDIS_POOL_WAIT_SECONDS = 10.0


def connect_redis(url: str) -> Redis:
    # Retries with capped backoff ride out a Redis restart instead of failing the turn.
    return Redis.from_pool(BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_CONNECTIONS,
        timeout=REDIS_POOL_WAIT_SECONDS,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=5),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    ))


async def _clients(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    redis = connect_redis(settings.effective_redis_url)
    http = aiohttp.ClientSession()
    rasa = RasaClient(http, settings.rasa_url, settings.rasa_timeout, settings.rasa_token)
    texts = app[TEXTS]
    store = ConversationStore(redis, app[CLOCK])
    limiter = app[LIMITER] = Limiter(redis, await asyncio.to_thread(Limits.load, settings.limits_file))
    shop = ShopApi.build(redis, settings, limiter)
    agents = AgentStore(redis)
    outbox = Outbox(store)
    survey = Survey(store, outbox, texts)
    roster = Roster(redis, agents, store.clock)
    hours = BusinessHours.load(settings.business_hours_file)
    desk = Desk(store, agents, Router(redis, roster, store.clock, settings.agent_max_chats), outbox, survey, texts,
                hours)
    complaints = await asyncio.to_thread(ComplaintsProjection.load, settings.root / "faq_data")
    reports = app[REPORTS] = build_reports(redis, settings, hours, store.clock, complaints)
    app[COMPLAINTS] = ComplaintReports(redis, complaints.lexicon, settings.complaint_alert_shoppers,
                                       settings.complaint_alert_days, store.clock)
    rules = await asyncio.to_thread(Rules.load, settings.proactive_rules_file, languages=texts.languages,
                                    default_locale=texts.default)
    retention = await asyncio.to_thread(RetentionPolicy.load, settings.retention_file)
    proactive = Proactive.build(rules=rules, store=store, agents=desk.router, outbox=outbox, desk=desk,
                                emit=socketio_emit(app[SIO]), visitor_ttl_seconds=retention.visitor_seconds)
    proactive.attach(app[SIO], limiter)
    app[PROACTIVE] = proactive
    loop = ConversationLoop(store, rasa, texts, outbox, desk, survey, offers=proactive)
    cases = Cases(store, agents, shop.verifier, shop.requests, survey, settings.effective_public_url,
                  Reach(store, everyone=settings.agent_reach == "all"), visitors=proactive.visitors)
    privacy = app[PRIVACY] = Privacy.build(cases, reports, retention, store.clock)
    sessions = SessionStore(redis, agents, settings.agent_session_ms)
    adapters = settings.channels.adapters()
    provider = ProviderClient(http, read_timeout=settings.provider_read_timeout)
    deliveries = {channel: ChannelDelivery(adapter, provider, store) for channel, adapter in adapters.items()}
    # E-mail: in at the SMTP listener, out through the shop's relay, on the same queues.
    email = EmailService.build(settings, redis, store, texts, limiter)
    if email is not None:
        deliveries[Channel.EMAIL] = email.delivery
    # Messages to SMS, Messenger, WhatsApp and e-mail go through the durable outbound queue.
    outbound = Outbound(store, deliveries, sends=settings.outbound_worker, lease_ms=settings.outbound_lease_ms,
                        heartbeat_seconds=settings.outbound_lease_ms / 3000)
    for channel in deliveries:
        outbox.register_channel(channel, outbound.channel(channel))
    notifications = await asyncio.to_thread(NotificationConfig.load, settings.notifications_file,
                                            languages=texts.languages)
    notifier = Notifier(notifications,
                        orders=shop.orders, store=store, verifier=shop.verifier, outbox=outbox,
                        texts=texts, clock=store.clock)
    shop = dataclasses.replace(shop, order_events=notifier.order_event)
    app[PLATFORMS] = Platforms.from_settings(settings, redis, shop.orders, order_events=notifier.order_event,
                                             observe=proactive.observe, limiter=limiter, clock=store.clock)
    sockets = AgentSockets.attach(app[SIO], sessions, roster, desk, cases, deliveries)
    app[REDIS], app[RASA], app[STORE], app[LOOP], app[SHOP_API] = redis, rasa, store, loop, shop
    # Agents' actions on shopper requests, and the shop's webhook that tells of them (gateway/shop_events/).
    shop_events = queue_from_settings(redis, http, settings)
    actions = RequestActions(store, shop.requests, shop.orders, shop.verifier, outbox, texts, shop_events)
    app[AGENT_API] = AgentApi(
        agents=agents, sessions=sessions, limiter=LoginLimiter(limiter), proxies=settings.proxies,
        secure_cookie=settings.effective_public_url.startswith("https://"),
        roster=roster, desk=desk, cases=cases,
        canned=await asyncio.to_thread(CannedAnswers.load, settings.root / "faq_data"),
        max_message_chars=settings.max_message_chars, announce_presence=sockets.announce_presence, actions=actions,
    )
    WebChatServer(app[SIO], store, loop, texts, max_message_chars=settings.max_message_chars,
                  shopper_typing=sockets.shopper_typing, limiter=limiter, proxies=settings.proxies,
                  offers=proactive, plain_agent_names=settings.plain_agent_names)
    # Call-backs (gateway/callbacks/): the widget's form, the console's list, SMS reminders.
    callbacks = app[CALLBACKS] = Callbacks(CallbackStore(redis, store.clock), store, desk, outbox, texts, hours,
                                           cases.reach, shop.verifier)
    CallbackSocket(app[SIO], callbacks, limiter)
    app[WEBHOOKS] = Webhooks(redis, adapters, settings.effective_public_url, limiter, settings.proxies,
                             settings.max_message_chars)
    # Only a process that has a channel takes its deliveries (the others could not answer them).
    inbound: Handler = ChannelInbound(loop)
    inboxes = list(adapters)
    if email is not None:
        inbound = email.inbound(loop, inbound)
        inboxes.append(Channel.EMAIL)
    worker = InboxWorker(redis, inboxes, inbound, claim_idle_ms=settings.inbox_claim_idle_ms)
    tasks = [asyncio.create_task(worker.run(), name="inbox")] if inboxes and settings.inbox_worker else []
    if deliveries and settings.outbound_worker:
        # Every process that sends sweeps: a lease in Redis makes each conversation's queue one process's.
        tasks.append(asyncio.create_task(outbound.sweep_forever(), name="outbound-sweeper"))
    # Every process sweeps: a lease in Redis makes each conversation's turns one process's.
    tasks.append(asyncio.create_task(loop.turns.sweep_forever(), name="turn-sweeper"))
    # Every process ticks; the offers' claim in Redis makes each due visitor one process's.
    tick = app[TICK]
    ticks = {} if tick is None else {"interval": tick}
    tasks.append(proactive.start_ticker(**ticks))
    # Every process ticks too; the claim in Redis makes each notification one process's.
    tasks.append(asyncio.create_task(notifier.run(**ticks), name="notifications"))
    tasks.append(asyncio.create_task(callbacks.run_reminders(**ticks), name="callback-reminders"))
    if shop_events is not None:  # every process delivers; a claim in Redis makes each event one process's
        tasks.append(asyncio.create_task(shop_events.run(), name="shop-webhooks"))
    # Every process sweeps too; a claim in Redis makes each tick one process's (gateway/privacy/retention.py).
    tasks.append(privacy.start_sweeper())
    if settings.report_worker:
        tasks += reports.start()
    # Every process answers reports: each keeps its own complaint themes warm.
    tasks.append(asyncio.create_task(app[COMPLAINTS].keep_warm(hours.timezone), name="complaint-themes"))
    listener = None
    try:
        if email is not None:
            listener = await email.listen()
        async with agent_socket.running(sockets, settings.effective_redis_url):
            yield
    finally:
        if listener is not None:
            listener.close()
            # Python 3.12 waits for open SMTP sessions too: a mail under way gets a moment, not a minute.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener.wait_closed(), 5.0)
        await background.stop(tasks)
        await loop.turns.stop()
        await outbound.stop()
    await _close_socketio(app[SIO])
    await http.close()
    await redis.aclose()


def build_reports(redis: Redis, settings: Settings, hours: BusinessHours, clock: Clock,
                  complaints: ComplaintsProjection | None = None) -> Reports:
    """The reports with every projection that follows the case events (the gateway, the
    `reports rebuild` and `demo-data` commands): the report rollups, the complaints, the
    supervisors' conversation directory, and the order notifications. `complaints`: one
    loaded already (loading trains the feedback classifier, under a second)."""
    complaints = complaints or ComplaintsProjection.load(settings.root / "faq_data")
    classifier = complaints.feedback
    return Reports.build(redis, hours, first_response_target=settings.first_response_target, clock=clock,
                         concurrency=settings.agent_max_chats,
                         extra=(complaints, DirectoryProjection(), OrdersProjection(hours.timezone),
                                CallbacksProjection(hours.timezone)),
                         feedback=lambda texts: [kind.value for kind in classifier.classify_many(texts)])


async def _close_socketio(sio: socketio.AsyncServer) -> None:
    """Stop Socket.IO's background work, then its Redis manager's listener and connections."""
    await sio.shutdown()
    manager = sio.manager
    if isinstance(manager, RedisManager):
        await manager.aclose()


async def _healthz(request: web.Request) -> web.Response:
    return await health.check(request.app[REDIS], request.app[RASA])


def add_demo_shop(app: web.Application, faq_dir: Path) -> None:
    """The demo shop's pages, with faq_data's topics (the one source of FAQ truth) as its
    help pages, and its pictures and stylesheets under /shop/static/."""
    topics = tuple(HelpTopic(id=entry.id, title=entry.title, answer=entry.answers)
                   for entry in load_topics(faq_dir, load_languages(faq_dir)))
    add_storefront_routes(app, help_topics=topics)
    add_static_files(app, "/shop/static", storefront.STATIC_DIR)


def create_app(settings: Settings, *, clock: Clock = time.time, tick: float | None = None) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[TICK] = tick
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=RedisManager(settings.effective_redis_url, channel=keys.SOCKETIO_CHANNEL),
        # The widget runs on the shop's own domain; sessions are bearer ids, not cookies.
        cors_allowed_origins="*",
        max_http_buffer_size=settings.max_socket_payload_bytes,
        # One event at a time per connection: a shopper's messages reach the case (and the
        # bot) in the order they were typed. Other connections are not held up.
        async_handlers=False,
    )
    sio.attach(app, socketio_path="socket.io")
    app[SIO] = sio
    app.cleanup_ctx.append(_clients)
    app.router.add_get("/healthz", _healthz)
    texts = app[TEXTS] = Texts.load(settings.default_locale)
    add_demo_shop(app, settings.root / "faq_data")
    add_widget_routes(app, root=settings.root, texts=texts)
    add_console_routes(app, root=settings.root)
    add_webhook_routes(app)
    add_platform_routes(app)  # Shopify, Shopware 6, WooCommerce: /webhooks/shop/{platform}
    # The shop and agent APIs read bodies themselves, capped at 64 KiB (413 in their JSON error shape).
    api = api_app()
    add_agent_routes(api)
    add_report_routes(api)
    add_supervisor_routes(api)  # the supervisor console: every conversation, the overview, the requests
    add_privacy_routes(api)  # the shopper's data rights: export, erasure, the audit trail
    add_callback_routes(api)  # the call-back list, outcomes and report
    app.add_subapp("/api/v1", api)
    add_return_label_route(app, texts)
    add_security_headers(app)  # nosniff on every answer, a strict CSP on every page
    return app
