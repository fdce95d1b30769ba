"""Which messaging channels are on, and their credentials, from the environment.

A channel is on when its secrets are set; a half-configured channel is an error at
start, not a webhook that fails later. Secrets come only from the environment.

    SMS (Twilio)   TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, and TWILIO_FROM_NUMBER or
                   TWILIO_MESSAGING_SERVICE_SID; optional TWILIO_WEBHOOK_URL (default
                   {STORECHAT_PUBLIC_URL}/webhooks/sms), TWILIO_API_BASE,
                   TWILIO_STATUS_CALLBACK (yes: {public}/webhooks/sms gets statuses)
    Messenger      MESSENGER_APP_SECRET, MESSENGER_VERIFY_TOKEN, MESSENGER_PAGE_ACCESS_TOKEN
    WhatsApp       WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN, WHATSAPP_ACCESS_TOKEN,
                   WHATSAPP_PHONE_NUMBER_ID
    Meta, both     META_GRAPH_API_BASE, META_API_VERSION
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from channels import meta
from channels.base import ChannelAdapter
from channels.messenger import Messenger, MessengerSettings
from channels.sms import DEFAULT_API_BASE, TwilioSettings, TwilioSms
from channels.whatsapp import WhatsApp, WhatsAppSettings
from core.types import Channel

TWILIO_SECRETS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
MESSENGER_SECRETS = ("MESSENGER_APP_SECRET", "MESSENGER_VERIFY_TOKEN", "MESSENGER_PAGE_ACCESS_TOKEN")
WHATSAPP_SECRETS = ("WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_ACCESS_TOKEN",
                    "WHATSAPP_PHONE_NUMBER_ID")
# Every variable a channel reads: what a service started for the gateway passes on.
VARIABLES = (*TWILIO_SECRETS, "TWILIO_FROM_NUMBER", "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_WEBHOOK_URL",
             "TWILIO_API_BASE", "TWILIO_STATUS_CALLBACK", *MESSENGER_SECRETS, *WHATSAPP_SECRETS,
             "META_GRAPH_API_BASE", "META_API_VERSION")


class ChannelConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    sms: TwilioSettings | None = None
    messenger: MessengerSettings | None = None
    whatsapp: WhatsAppSettings | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], public_url: str) -> ChannelSettings:
        graph = (env.get("META_GRAPH_API_BASE") or meta.DEFAULT_GRAPH_API).rstrip("/")
        version = env.get("META_API_VERSION") or meta.DEFAULT_API_VERSION
        sms = messenger = whatsapp = None
        if _configured(env, TWILIO_SECRETS):
            webhook_url = env.get("TWILIO_WEBHOOK_URL") or f"{public_url}/webhooks/sms"
            try:
                sms = TwilioSettings(
                    account_sid=env["TWILIO_ACCOUNT_SID"], auth_token=env["TWILIO_AUTH_TOKEN"],
                    webhook_url=webhook_url,
                    from_number=env.get("TWILIO_FROM_NUMBER") or None,
                    messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
                    api_base=(env.get("TWILIO_API_BASE") or DEFAULT_API_BASE).rstrip("/"),
                    status_callback_url=webhook_url if env.get("TWILIO_STATUS_CALLBACK") == "yes" else None,
                )
            except ValueError as exc:
                raise ChannelConfigError(f"SMS (Twilio): {exc}") from None
        if _configured(env, MESSENGER_SECRETS):
            messenger = MessengerSettings(
                app_secret=env["MESSENGER_APP_SECRET"], verify_token=env["MESSENGER_VERIFY_TOKEN"],
                page_access_token=env["MESSENGER_PAGE_ACCESS_TOKEN"], graph_api_base=graph, api_version=version,
            )
        if _configured(env, WHATSAPP_SECRETS):
            whatsapp = WhatsAppSettings(
                app_secret=env["WHATSAPP_APP_SECRET"], verify_token=env["WHATSAPP_VERIFY_TOKEN"],
                access_token=env["WHATSAPP_ACCESS_TOKEN"], phone_number_id=env["WHATSAPP_PHONE_NUMBER_ID"],
                graph_api_base=graph, api_version=version,
            )
        return cls(sms=sms, messenger=messenger, whatsapp=whatsapp)

    def adapters(self) -> dict[Channel, ChannelAdapter]:
        adapters: dict[Channel, ChannelAdapter] = {}
        if self.sms is not None:
            adapters[Channel.SMS] = TwilioSms(self.sms)
        if self.messenger is not None:
            adapters[Channel.MESSENGER] = Messenger(self.messenger)
        if self.whatsapp is not None:
            adapters[Channel.WHATSAPP] = WhatsApp(self.whatsapp)
        return adapters


def _configured(env: Mapping[str, str], names: tuple[str, ...]) -> bool:
    """All of a channel's secrets set (on), none (off); some is a mistake worth stopping for."""
    present = [name for name in names if env.get(name)]
    if present and len(present) < len(names):
        missing = ", ".join(name for name in names if not env.get(name))
        raise ChannelConfigError(f"{', '.join(present)} set but {missing} missing")
    return bool(present)
