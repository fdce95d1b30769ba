"""Configuration, parsed once from the environment into a typed, frozen object.

Each field named after a variable (its validation alias) is one row of the README's
Configuration table, which tests/gateway/test_settings.py holds to this class; its default
is written here once. How the variables are read and their errors worded: gateway/environment.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from gateway.limits.clients import LOOPBACK, Network, parse_networks
from gateway.environment import AtLeastOne, ConfigError, EnvironmentSettings, HttpAddress, Positive, Regex
from gateway.messaging.channel_settings import ChannelSettings

REPO_ROOT = Path(__file__).resolve().parent.parent

__all__ = ["REPO_ROOT", "ConfigError", "RedisAddress", "Settings"]


@dataclass(frozen=True, slots=True)
class RedisAddress:
    host: str
    port: int
    db: int
    password: str

    @classmethod
    def from_url(cls, url: str) -> RedisAddress:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ConfigError(f"REDIS_URL must start with redis://, got {url!r}")
        db = parts.path.lstrip("/") or "0"
        if not db.isdigit():
            raise ConfigError(f"REDIS_URL database must be a number, got {db!r}")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=int(db),
            password=parts.password or "",
        )


def _redis_url(url: str) -> str:
    RedisAddress.from_url(url)  # fail at start, not on first use
    return url


RedisUrl = Annotated[str, AfterValidator(_redis_url)]


def _networks(raw: object) -> object:
    return parse_networks(raw) if isinstance(raw, str) else raw


TrustedProxies = Annotated[tuple[Network, ...], BeforeValidator(_networks)]


def _comma_list(raw: object) -> object:
    return tuple(part.strip() for part in raw.split(",") if part.strip()) if isinstance(raw, str) else raw


# What Shopify names a shop by in X-Shopify-Shop-Domain, whatever domain its storefront uses.
MYSHOPIFY_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com", re.ASCII)


def _myshopify(domain: str) -> str:
    found = domain.strip().lower()
    if not MYSHOPIFY_DOMAIN.fullmatch(found):
        raise ValueError(f"must be the shop's myshopify.com domain (as in X-Shopify-Shop-Domain), got {domain!r}")
    return found


CommaList = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]
ShopifyDomain = Annotated[str, AfterValidator(_myshopify)]


def reachable(bind_host: str) -> str:
    """The host, as a URL writes it, that reaches a server bound to `bind_host` (a
    wildcard bind is reached on loopback)."""
    host = "127.0.0.1" if bind_host in ("", "0.0.0.0", "::") else bind_host
    return f"[{host}]" if ":" in host else host


class Settings(EnvironmentSettings):
    host: str = Field(default="127.0.0.1", validation_alias="STORECHAT_HOST")
    port: int = Field(default=8080, validation_alias="STORECHAT_PORT")
    # Where the internal services (Rasa, its action server) listen: loopback unless they run
    # on other machines; only the gateway is ever public. The embedded Redis has no password
    # and so always listens on 127.0.0.1 (gateway/run/processes.py).
    internal_host: str = Field(default="127.0.0.1", validation_alias="STORECHAT_INTERNAL_HOST")
    # None: `storechat run` starts an embedded Redis persisting under data_dir.
    redis_url: RedisUrl | None = Field(default=None, validation_alias="REDIS_URL")
    embedded_redis_port: int = Field(default=6390, validation_alias="STORECHAT_REDIS_PORT")
    rasa_port: int = Field(default=5005, validation_alias="RASA_PORT")
    # Unset: the Rasa server `storechat run` starts, on rasa_port.
    rasa_url: HttpAddress = Field(
        default_factory=lambda given: f"http://{reachable(given['internal_host'])}:{given['rasa_port']}",
        validation_alias="RASA_URL")
    action_server_port: int = Field(default=5055, validation_alias="ACTION_SERVER_PORT")
    # A turn that takes longer than this is answered with the "bot unavailable" text.
    rasa_timeout: Positive = Field(default=8.0, validation_alias="RASA_TIMEOUT")
    # Rasa server worker processes (Sanic workers sharing the port and the Redis
    # tracker and lock stores); a turn is CPU-bound, so one per core.
    rasa_workers: AtLeastOne = Field(default=2, validation_alias="RASA_WORKERS")
    max_message_chars: AtLeastOne = Field(default=2000, validation_alias="STORECHAT_MAX_MESSAGE_CHARS")
    # A plain Rasa widget shows no author: an agent's message to it starts with the agent's name.
    plain_agent_names: bool = Field(default=True, validation_alias="STORECHAT_PLAIN_AGENT_NAMES")
    # Socket.IO packets above this size are refused by the transport itself.
    max_socket_payload_bytes: AtLeastOne = 64 * 1024
    default_locale: str = Field(default="de", validation_alias="STORECHAT_DEFAULT_LOCALE")
    data_dir: Path = Field(default=REPO_ROOT / "var", validation_alias="STORECHAT_DATA_DIR")
    root: Path = REPO_ROOT
    # Bearer tokens of the shop API; unset → those endpoints answer 503 api_disabled.
    # (`storechat run` generates them: gateway/run/dev_secrets.py.) repr=False: settings get
    # logged, secrets must not be.
    shop_token: str | None = Field(default=None, validation_alias="STORECHAT_SHOP_TOKEN", repr=False)
    bot_token: str | None = Field(default=None, validation_alias="STORECHAT_BOT_TOKEN", repr=False)
    # Key the storefront signs customer tokens with; unset → such proofs are refused.
    customer_token_secret: str | None = Field(default=None, validation_alias="STORECHAT_CUSTOMER_TOKEN_SECRET",
                                              repr=False)
    # Shared secrets of the internal hops: the gateway → Rasa's storechat connector, and
    # Rasa → the action server. Each refuses every call without its secret.
    rasa_token: str | None = Field(default=None, validation_alias="STORECHAT_RASA_TOKEN", repr=False)
    actions_token: str | None = Field(default=None, validation_alias="STORECHAT_ACTIONS_TOKEN", repr=False)
    # Where shoppers reach the gateway (return-label links); None → effective_public_url.
    public_url: HttpAddress | None = Field(default=None, validation_alias="STORECHAT_PUBLIC_URL")
    # An order id must match this in full; the shop decides its own numbering.
    order_number_pattern: Regex = Field(default=re.compile(r"[0-9]{6}", re.ASCII),
                                        validation_alias="STORECHAT_ORDER_NUMBER_PATTERN")
    # An agent's console session ends after this long without a request.
    agent_session_hours: Positive = Field(default=8.0, validation_alias="STORECHAT_AGENT_SESSION_HOURS")
    # Concurrent chats auto-assignment gives one agent (a manual claim may go beyond).
    agent_max_chats: AtLeastOne = Field(default=3, validation_alias="STORECHAT_AGENT_MAX_CHATS")
    # Which conversations an agent reaches (gateway/desk/reach.py): "team", their team's and their
    # own; "all", every one, as a supervisor does (a small shop whose agents answer every queue).
    agent_reach: Literal["team", "all"] = Field(default="team", validation_alias="STORECHAT_AGENT_REACH")
    # When the teams answer (a YAML file; the demo shop's hours by default).
    business_hours_file: Path = Field(default=REPO_ROOT / "config" / "business_hours.yml",
                                      validation_alias="STORECHAT_BUSINESS_HOURS")
    # When a chat is offered by itself (a YAML file; gateway/proactive/rules.py).
    proactive_rules_file: Path = Field(default=REPO_ROOT / "config" / "proactive_rules.yml",
                                       validation_alias="STORECHAT_PROACTIVE_RULES")
    # Which shipment events the customer is told of, quiet hours, WhatsApp templates (a YAML file).
    notifications_file: Path = Field(default=REPO_ROOT / "config" / "notifications.yml",
                                     validation_alias="STORECHAT_NOTIFICATIONS")
    # Shop platforms (gateway/platforms/): each one's webhooks are accepted once its secret is set.
    # Shopify: the app's client secret (or the one shown beside the shop's own webhooks);
    # WooCommerce: the webhook's secret; Shopware 6: the app's name and secret from its manifest.
    shopify_webhook_secret: str | None = Field(default=None, validation_alias="STORECHAT_SHOPIFY_WEBHOOK_SECRET",
                                               repr=False)
    woocommerce_webhook_secret: str | None = Field(default=None, validation_alias="STORECHAT_WOOCOMMERCE_WEBHOOK_SECRET",
                                                   repr=False)
    shopware_app_name: str = Field(default="StorechatConnector", validation_alias="STORECHAT_SHOPWARE_APP_NAME")
    shopware_app_secret: str | None = Field(default=None, validation_alias="STORECHAT_SHOPWARE_APP_SECRET", repr=False)
    # The shops whose webhooks are taken (required with the secrets): a public app's secret is
    # the same for every shop that installs it, and all write into the one order store.
    # Shopify: the shop's myshopify.com domain; Shopware: the shop URLs that may register.
    shopify_shop_domain: ShopifyDomain | None = Field(default=None, validation_alias="STORECHAT_SHOPIFY_SHOP_DOMAIN")
    shopware_shop_urls: CommaList | None = Field(default=None, validation_alias="STORECHAT_SHOPWARE_SHOP_URLS")
    # Where a platform's order sends its shipment news: to the customer's phone by SMS or
    # WhatsApp (config/notifications.yml says which statuses), or nowhere ("none").
    platform_notify: Literal["none", "sms", "whatsapp"] = Field(default="none",
                                                                validation_alias="STORECHAT_PLATFORM_NOTIFY")
    # SMS, Messenger and WhatsApp: on when their secrets are set (their own variables,
    # gateway/messaging/channel_settings.py; from_env reads them).
    channels: ChannelSettings = Field(default_factory=ChannelSettings)
    # The e-mail channel (gateway/email/): on when the shop's address is set. Mail for it (and
    # for reply+<token>@ the reply domain) comes in at the SMTP listener; answers go out
    # through the shop's SMTP relay.
    email_address: str | None = Field(default=None, validation_alias="STORECHAT_EMAIL_ADDRESS")
    email_name: str = Field(default="Kundenservice", validation_alias="STORECHAT_EMAIL_NAME")
    # Unset: the domain of email_address.
    email_reply_domain: str | None = Field(default=None, validation_alias="STORECHAT_EMAIL_REPLY_DOMAIN")
    smtp_listen_host: str = Field(default="127.0.0.1", validation_alias="STORECHAT_SMTP_LISTEN_HOST")
    # 0: no listener in this process (another process on the host takes the mail).
    smtp_listen_port: int = Field(default=2525, ge=0, validation_alias="STORECHAT_SMTP_LISTEN_PORT")
    # The listener offers STARTTLS with this certificate (PEM chain) and key; unset: plain SMTP.
    smtp_tls_cert: Path | None = Field(default=None, validation_alias="STORECHAT_SMTP_TLS_CERT")
    smtp_tls_key: Path | None = Field(default=None, validation_alias="STORECHAT_SMTP_TLS_KEY")
    # A mail over this size is refused by the listener (552), attachments included.
    smtp_max_bytes: AtLeastOne = Field(default=10 * 1024 * 1024, validation_alias="STORECHAT_SMTP_MAX_BYTES")
    # Attachment bytes of inbound mail kept in Redis per UTC day; beyond: named on the case, not kept.
    email_attachment_bytes_per_day: int = Field(default=200 * 1000 * 1000, ge=0,
                                                validation_alias="STORECHAT_EMAIL_ATTACHMENT_BYTES_PER_DAY")
    smtp_host: str | None = Field(default=None, validation_alias="STORECHAT_SMTP_HOST")
    smtp_port: int = Field(default=587, validation_alias="STORECHAT_SMTP_PORT")
    smtp_user: str | None = Field(default=None, validation_alias="STORECHAT_SMTP_USER", repr=False)
    smtp_password: str | None = Field(default=None, validation_alias="STORECHAT_SMTP_PASSWORD", repr=False)
    smtp_starttls: bool = Field(default=True, validation_alias="STORECHAT_SMTP_STARTTLS")
    # A webhook delivery a gateway process read but did not finish (it died) is taken
    # over by another process after this long.
    inbox_claim_idle_ms: AtLeastOne = Field(default=60_000, validation_alias="STORECHAT_INBOX_CLAIM_IDLE_MS")
    # Whether this process also processes webhook deliveries (off: it only accepts them,
    # for intake processes scaled apart from the ones that answer).
    inbox_worker: bool = Field(default=True, validation_alias="STORECHAT_INBOX_WORKER")
    # Whether this process also sends the outbound queue's messages to SMS, Messenger and
    # WhatsApp (off: it only queues them; the processes with it on send them).
    outbound_worker: bool = Field(default=True, validation_alias="STORECHAT_OUTBOUND_WORKER")
    # A process that stopped while sending a conversation's messages leaves them to another
    # after this long (its lease on the conversation's queue runs out).
    outbound_lease_ms: AtLeastOne = Field(default=6_000, validation_alias="STORECHAT_OUTBOUND_LEASE_MS")
    # How long a provider's API may take to answer a message once it is sent; after that the
    # message is `unknown` (the provider may have sent it) and never sent again by itself.
    provider_read_timeout: Positive = Field(default=10.0, validation_alias="STORECHAT_PROVIDER_READ_TIMEOUT")
    # Agents' actions on shopper requests are POSTed here, signed with the secret (README: "The
    # shop webhook"); unset: the shop is not told (the actions still happen, on the case).
    shop_webhook_url: HttpAddress | None = Field(default=None, validation_alias="STORECHAT_SHOP_WEBHOOK_URL")
    shop_webhook_secret: str | None = Field(default=None, validation_alias="STORECHAT_SHOP_WEBHOOK_SECRET",
                                            repr=False)
    # Tries per event (connection errors, timeouts, 429, 5xx) before it is failed on the case.
    shop_webhook_attempts: AtLeastOne = Field(default=8, validation_alias="STORECHAT_SHOP_WEBHOOK_ATTEMPTS")
    # The first retry's wait; each further one doubles (with jitter), at most five minutes.
    shop_webhook_retry_seconds: Positive = Field(default=2.0, validation_alias="STORECHAT_SHOP_WEBHOOK_RETRY_SECONDS")
    # The first-response time a handoff should be answered within (reports: "over target").
    first_response_target: AtLeastOne = Field(default=120, validation_alias="STORECHAT_FIRST_RESPONSE_TARGET")
    # Whether this process folds case events into the reports (gateway/conversations/feed.py).
    report_worker: bool = Field(default=True, validation_alias="STORECHAT_REPORT_WORKER")
    # A product alerts when this many distinct shoppers complained about it within the last
    # complaint_alert_days days, and more than twice as many as usual (gateway/complaints/alerts.py).
    complaint_alert_shoppers: AtLeastOne = Field(default=3, validation_alias="STORECHAT_COMPLAINT_ALERT_SHOPPERS")
    # At most 28: the window and its 8-week baseline must fit the 120 days of counts kept.
    complaint_alert_days: Annotated[int, Field(ge=1, le=28)] = Field(default=7, validation_alias="STORECHAT_COMPLAINT_ALERT_DAYS")
    # How often one client may do each thing (gateway/limits/rules.py names the rules).
    limits_file: Path = Field(default=REPO_ROOT / "config" / "limits.yml", validation_alias="STORECHAT_LIMITS")
    # How long cases, visitor trails and Rasa's trackers are kept (gateway/privacy/retention.py).
    retention_file: Path = Field(default=REPO_ROOT / "config" / "retention.yml", validation_alias="STORECHAT_RETENTION")
    # Load balancers whose X-Forwarded-For is believed (gateway/limits/clients.py); by default
    # loopback: what reaches a gateway bound to 127.0.0.1 is a reverse proxy on the same host.
    trusted_proxies: TrustedProxies | None = Field(default=parse_networks(LOOPBACK),
                                                   validation_alias="STORECHAT_TRUSTED_PROXIES")

    @model_validator(mode="after")
    def _settings_fit_together(self) -> Self:
        # A channel that takes mail it can never answer, or a platform secret any shop could
        # use, is a mistake worth stopping for.
        if self.email_address and not self.smtp_host:
            raise ValueError("STORECHAT_EMAIL_ADDRESS is set but STORECHAT_SMTP_HOST is missing: the e-mail "
                             "channel would take mail it can never answer")
        if (self.smtp_tls_cert is None) != (self.smtp_tls_key is None):
            raise ValueError("STORECHAT_SMTP_TLS_CERT and STORECHAT_SMTP_TLS_KEY go together: set both or neither")
        if self.email_address and "@" not in self.email_address:
            raise ValueError(f"STORECHAT_EMAIL_ADDRESS must be an e-mail address, got {self.email_address!r}")
        if self.shopify_webhook_secret and not self.shopify_shop_domain:
            raise ValueError("STORECHAT_SHOPIFY_WEBHOOK_SECRET is set but STORECHAT_SHOPIFY_SHOP_DOMAIN is missing: "
                             "any shop with the app's secret could write orders")
        if self.shopware_app_secret and not self.shopware_shop_urls:
            raise ValueError("STORECHAT_SHOPWARE_APP_SECRET is set but STORECHAT_SHOPWARE_SHOP_URLS is missing: "
                             "any shop that installs the app could write orders")
        return self

    @property
    def proxies(self) -> tuple[Network, ...]:
        """The trusted proxies' networks (loopback by default)."""
        return self.trusted_proxies or ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        env = os.environ if env is None else env
        settings = super().from_env(env)
        return settings.replace(channels=ChannelSettings.from_env(env, settings.effective_public_url))

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"redis://127.0.0.1:{self.embedded_redis_port}/0"

    @property
    def effective_email_reply_domain(self) -> str | None:
        return self.email_reply_domain or (self.email_address.rpartition("@")[2] if self.email_address else None)

    @property
    def agent_session_ms(self) -> int:
        return max(1, round(self.agent_session_hours * 3_600_000))

    @property
    def effective_public_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def action_server_url(self) -> str:
        """Where Rasa (and a readiness probe) reaches the action server."""
        return f"http://{reachable(self.internal_host)}:{self.action_server_port}"

    @property
    def api_url(self) -> str:
        """Where the action server, started beside the gateway, reaches its API."""
        return f"http://{self.host}:{self.port}"
