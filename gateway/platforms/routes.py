"""The one webhook route of the shop platforms: /webhooks/shop/{shopify,shopware,woocommerce},
and Shopware's registration handshake beside it.

Routing, the 403 and the answers live here once; the adapters only check and read bytes,
gateway/platforms/intake.py applies what they read. A delivery is applied before it is
answered (a few Redis writes: milliseconds), so a 2xx means it is stored:
- 200 `applied`, `duplicate` (a redelivery), `stale` (older than what is stored) or `ignored`;
- 403 a forged signature, a shop not on the allow-list (STORECHAT_SHOPIFY_SHOP_DOMAIN,
  STORECHAT_SHOPWARE_SHOP_URLS) or a Shopware shop that never registered: nothing applied;
- 400 signed but not the platform's format; 422 an order number STORECHAT_ORDER_NUMBER_PATTERN
  refuses; 503 the order is busy. The platform delivers those again later, so nothing is lost
  once the pattern is fixed. (An order without an e-mail is 200 `ignored`: no retry brings one.)
Every request counts against `webhook_per_address` before its signature is checked.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from core.types import Channel, Clock
from gateway.limits.clients import Network, rate_client, request_address
from gateway.limits.limiter import Limiter
from gateway.platforms import keys, shopware, woocommerce
from gateway.platforms.intake import Intake, Observe, OrderEvents, OrderRefused
from gateway.platforms.shopify import Shopify
from gateway.platforms.shopware import Shopware
from gateway.platforms.types import Delivery, InvalidSignature, MalformedPayload, PlatformAdapter, signatures_match
from gateway.platforms.woocommerce import WooCommerce
from gateway.settings import Settings
from gateway.shop.orders import OrderChanged, OrderStore
from gateway.web.body import read_bounded

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# A registration Shopware never confirms is forgotten after this long.
PENDING_REGISTRATION_SECONDS = 3600
CONFIRM_PATH = "/webhooks/shop/shopware/confirm"


@dataclass(frozen=True, slots=True)
class ShopwareApp:
    name: str
    secret: str


@dataclass(frozen=True, slots=True)
class Platforms:
    redis: Redis
    intake: Intake
    # The platforms whose secret is set, by name, with the secret (None: Shopware's, per shop).
    adapters: Mapping[str, tuple[PlatformAdapter, str | None]]
    public_url: str
    clock: Clock
    shopware_app: ShopwareApp | None = None
    limiter: Limiter | None = None
    proxies: Sequence[Network] = ()
    # The one Shopify shop (its myshopify.com domain) and the Shopware shop URLs taken.
    shopify_shop: str | None = None
    shopware_shops: frozenset[str] = frozenset()

    @classmethod
    def build(cls, redis: Redis, intake: Intake, *, public_url: str, clock: Clock, shopify_secret: str | None,
              woocommerce_secret: str | None, shopware_app: ShopwareApp | None, limiter: Limiter | None = None,
              proxies: Sequence[Network] = (), shopify_shop: str | None = None,
              shopware_shops: Sequence[str] = ()) -> Platforms:
        adapters: dict[str, tuple[PlatformAdapter, str | None]] = {}
        if shopify_secret:
            adapters["shopify"] = (Shopify(), shopify_secret)
        if woocommerce_secret:
            adapters["woocommerce"] = (WooCommerce(), woocommerce_secret)
        if shopware_app is not None:
            adapters["shopware"] = (Shopware(), None)
        return cls(redis, intake, adapters, public_url.rstrip("/"), clock, shopware_app, limiter, proxies,
                   shopify_shop.lower() if shopify_shop else None,
                   frozenset(shopware.same_shop(url) for url in shopware_shops))

    @classmethod
    def from_settings(cls, settings: Settings, redis: Redis, orders: OrderStore, *, order_events: OrderEvents,
                      observe: Observe, limiter: Limiter, clock: Clock) -> Platforms:
        intake = Intake(redis, orders, settings.order_number_pattern, settings.default_locale,
                        notify_channel(settings.platform_notify), order_events, observe)
        app = None if not settings.shopware_app_secret else ShopwareApp(settings.shopware_app_name,
                                                                        settings.shopware_app_secret)
        return cls.build(redis, intake, public_url=settings.effective_public_url, clock=clock,
                         shopify_secret=settings.shopify_webhook_secret,
                         woocommerce_secret=settings.woocommerce_webhook_secret, shopware_app=app,
                         limiter=limiter, proxies=settings.proxies, shopify_shop=settings.shopify_shop_domain,
                         shopware_shops=settings.shopware_shop_urls or ())

    async def secret(self, adapter: PlatformAdapter, configured: str | None, delivery: Delivery) -> str | None:
        """The secret the delivery must be signed with; None: a shop not taken (refused 403)."""
        shop = adapter.shop(delivery)
        if adapter.name == "shopify":
            return configured if shop is not None and shop.strip().lower() == self.shopify_shop else None
        if configured is not None:
            return configured
        if shop is None:
            return None
        secret, url = await self.redis.hmget(keys.shopware_shop(shop), ["secret", "shop_url"])
        if secret is None or url is None or shopware.same_shop(str(url)) not in self.shopware_shops:
            return None  # never registered, or its URL was taken off STORECHAT_SHOPWARE_SHOP_URLS
        return str(secret)


PLATFORMS = web.AppKey("platforms", Platforms)


def notify_channel(setting: str) -> Channel | None:
    """STORECHAT_PLATFORM_NOTIFY: the channel a platform's order names for its news."""
    return None if setting == "none" else Channel(setting)


async def _refused_for_now(request: web.Request, platforms: Platforms) -> web.Response | None:
    if platforms.limiter is None:
        return None
    address = request_address(request, platforms.proxies)
    decision = await platforms.limiter.hit("webhook_per_address", rate_client(address))
    if decision.allowed:
        return None
    seconds = max(1, math.ceil(decision.retry_after))
    log.warning("shop platform webhook refused (429) from %s: webhook_per_address", address)
    return web.Response(status=429, text=f"too many requests: retry in {seconds} s",
                        headers={"Retry-After": str(seconds)})


async def _delivery(request: web.Request) -> Delivery:
    return Delivery(headers={name.lower(): value for name, value in request.headers.items()},
                    body=await read_bounded(request, MAX_BODY_BYTES))


def _platforms(request: web.Request) -> Platforms:
    return request.app[PLATFORMS]


async def receive(request: web.Request) -> web.Response:
    platforms, name = _platforms(request), request.match_info["platform"]
    if name not in platforms.adapters:
        raise web.HTTPNotFound(text="no such shop platform, or its secret is not set")
    if (refusal := await _refused_for_now(request, platforms)) is not None:
        return refusal
    adapter, configured = platforms.adapters[name]
    delivery = await _delivery(request)
    if name == "woocommerce" and woocommerce.is_ping(delivery):
        return web.json_response({"outcome": "ping"})  # the check when the webhook is saved: nothing in it
    secret = await platforms.secret(adapter, configured, delivery)
    try:
        if secret is None:
            raise InvalidSignature(f"shop {adapter.shop(delivery)!r} is not taken (not registered, or not on "
                                   "STORECHAT_SHOPIFY_SHOP_DOMAIN / STORECHAT_SHOPWARE_SHOP_URLS)")
        adapter.verify(delivery, secret)
    except InvalidSignature as exc:
        log.warning("%s webhook refused (403) from %s: %s", name, request.remote, exc)
        return web.Response(status=403, text="invalid signature")
    try:
        parsed = adapter.parse(delivery)
        outcome = await platforms.intake.apply(name, parsed)
    except MalformedPayload as exc:
        log.warning("%s webhook refused (400): %s", name, exc)
        return web.Response(status=400, text=f"malformed payload: {exc}")
    except OrderRefused as exc:
        # Only what the operator can fix (the pattern): the platform's retry then succeeds.
        log.error("%s webhook refused (422), the platform will deliver it again: %s", name, exc)
        return web.Response(status=422, text=str(exc))
    except (TimeoutError, OrderChanged):
        return web.Response(status=503, text="the order is busy: deliver again", headers={"Retry-After": "5"})
    if name == "shopware" and parsed.topic == shopware.APP_DELETED and (shop := adapter.shop(delivery)):
        await platforms.redis.delete(keys.shopware_shop(shop))  # uninstalled: its secret signs nothing more
        log.info("Shopware shop %s uninstalled the app", shop)
    log.info("%s webhook %s (%s): %s", name, parsed.topic, parsed.delivery_id, outcome)
    return web.json_response({"outcome": outcome.value})


# --- Shopware's registration ---------------------------------------------------------------


def _shopware_app(request: web.Request) -> ShopwareApp:
    app = _platforms(request).shopware_app
    if app is None:
        raise web.HTTPNotFound(text="the Shopware app is not configured (STORECHAT_SHOPWARE_APP_SECRET)")
    return app


async def shopware_register(request: web.Request) -> web.Response:
    platforms, app = _platforms(request), _shopware_app(request)
    if (refusal := await _refused_for_now(request, platforms)) is not None:
        return refusal
    try:
        shop = shopware.registration(request.rel_url.raw_query_string,
                                     request.headers.get("shopware-app-signature"), app.secret, platforms.clock())
    except InvalidSignature as exc:
        log.warning("Shopware registration refused (403) from %s: %s", request.remote, exc)
        return web.Response(status=403, text="invalid signature")
    except MalformedPayload as exc:
        return web.Response(status=400, text=str(exc))
    if shopware.same_shop(shop.shop_url) not in platforms.shopware_shops:
        log.warning("Shopware registration of shop %s refused (403): %s is not on STORECHAT_SHOPWARE_SHOP_URLS",
                    shop.shop_id, shop.shop_url)
        return web.Response(status=403, text="this shop may not register")
    # Each signed request is good once: a replayed one would hand its sender a pending secret.
    # Remembered as long as its timestamp is accepted (600 s either side of it: clocks differ).
    first = await platforms.redis.set(keys.shopware_registration(shop.signature), "1", nx=True,
                                      ex=2 * shopware.REGISTRATION_MAX_AGE_SECONDS)
    if not first:
        log.warning("Shopware registration of shop %s refused (403): a replayed request", shop.shop_id)
        return web.Response(status=403, text="this registration request was used already")
    shop_secret = secrets.token_urlsafe(32)
    key = keys.shopware_shop(shop.shop_id)
    registered = await platforms.redis.hexists(key, "secret")
    async with platforms.redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"pending": shop_secret, "pending_url": shop.shop_url})
        if not registered:  # a shop registered before keeps its secret until the new one is confirmed
            pipe.expire(key, PENDING_REGISTRATION_SECONDS)
        await pipe.execute()
    log.info("Shopware shop %s (%s) registering", shop.shop_id, shop.shop_url)
    return web.json_response({"proof": shopware.proof(shop, app.name, app.secret), "secret": shop_secret,
                              "confirmation_url": platforms.public_url + CONFIRM_PATH})


async def shopware_confirm(request: web.Request) -> web.Response:
    platforms = _platforms(request)
    _shopware_app(request)
    if (refusal := await _refused_for_now(request, platforms)) is not None:
        return refusal
    body = await read_bounded(request, MAX_BODY_BYTES)
    try:
        shop_id, shop_url = shopware.confirmation(body)
    except MalformedPayload as exc:
        return web.Response(status=400, text=str(exc))
    key = keys.shopware_shop(shop_id)
    record = {str(name): str(value) for name, value in (await platforms.redis.hgetall(key)).items()}
    pending = record.get("pending")
    signature = request.headers.get("shopware-shop-signature")
    if pending is None or record.get("pending_url") != shop_url or not signatures_match(
            shopware.hex_hmac(pending, body), signature):
        log.warning("Shopware confirmation of shop %s refused (403)", shop_id)
        return web.Response(status=403, text="invalid signature")
    # The shop's API credentials are not kept: storechat only receives (nothing here calls the shop).
    async with platforms.redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"secret": pending, "shop_url": shop_url})
        pipe.hdel(key, "pending", "pending_url")
        pipe.persist(key)
        await pipe.execute()
    log.info("Shopware shop %s (%s) registered", shop_id, shop_url)
    return web.json_response({"registered": True})


def add_platform_routes(app: web.Application) -> None:
    app.router.add_get("/webhooks/shop/shopware/register", shopware_register)
    app.router.add_post(CONFIRM_PATH, shopware_confirm)
    app.router.add_post("/webhooks/shop/{platform}", receive)
