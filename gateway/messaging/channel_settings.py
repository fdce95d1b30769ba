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
from typing import Self

from pydantic import Field, model_validator

from channels import meta
from channels.base import ChannelAdapter
from channels.messenger import Messenger, MessengerSettings
from channels.sms import DEFAULT_API_BASE, TwilioSettings, TwilioSms
from channels.whatsapp import WhatsApp, WhatsAppSettings
from core.types import Channel
from gateway.environment import ConfigError, EnvironmentSettings, HttpAddress

# Each channel's secrets, by field name: all set (on), none (off), some (an error).
TWILIO_SECRETS = ("twilio_account_sid", "twilio_auth_token")
MESSENGER_SECRETS = ("messenger_app_secret", "messenger_verify_token", "messenger_page_access_token")
WHATSAPP_SECRETS = ("whatsapp_app_secret", "whatsapp_verify_token", "whatsapp_access_token", "whatsapp_phone_number_id")


class ChannelVariables(EnvironmentSettings):
    """The channels' variables as set; which channels they switch on is ChannelSettings'.

    repr=False on the secrets: settings get logged, secrets must not be.
    """

    twilio_account_sid: str | None = Field(default=None, validation_alias="TWILIO_ACCOUNT_SID", repr=False)
    twilio_auth_token: str | None = Field(default=None, validation_alias="TWILIO_AUTH_TOKEN", repr=False)
    twilio_from_number: str | None = Field(default=None, validation_alias="TWILIO_FROM_NUMBER")
    twilio_messaging_service_sid: str | None = Field(default=None, validation_alias="TWILIO_MESSAGING_SERVICE_SID")
    # Unset: {STORECHAT_PUBLIC_URL}/webhooks/sms. Kept exactly as given: Twilio signs it.
    twilio_webhook_url: str | None = Field(default=None, validation_alias="TWILIO_WEBHOOK_URL")
    twilio_api_base: HttpAddress = Field(default=DEFAULT_API_BASE, validation_alias="TWILIO_API_BASE")
    # yes: Twilio reports each message's delivery to the webhook too.
    twilio_status_callback: bool = Field(default=False, validation_alias="TWILIO_STATUS_CALLBACK")
    messenger_app_secret: str | None = Field(default=None, validation_alias="MESSENGER_APP_SECRET", repr=False)
    messenger_verify_token: str | None = Field(default=None, validation_alias="MESSENGER_VERIFY_TOKEN", repr=False)
    messenger_page_access_token: str | None = Field(default=None, validation_alias="MESSENGER_PAGE_ACCESS_TOKEN",
                                                    repr=False)
    whatsapp_app_secret: str | None = Field(default=None, validation_alias="WHATSAPP_APP_SECRET", repr=False)
    whatsapp_verify_token: str | None = Field(default=None, validation_alias="WHATSAPP_VERIFY_TOKEN", repr=False)
    whatsapp_access_token: str | None = Field(default=None, validation_alias="WHATSAPP_ACCESS_TOKEN", repr=False)
    whatsapp_phone_number_id: str | None = Field(default=None, validation_alias="WHATSAPP_PHONE_NUMBER_ID")
    # Messenger and WhatsApp both.
    meta_graph_api_base: HttpAddress = Field(default=meta.DEFAULT_GRAPH_API, validation_alias="META_GRAPH_API_BASE")
    meta_api_version: str = Field(default=meta.DEFAULT_API_VERSION, validation_alias="META_API_VERSION")

    @model_validator(mode="after")
    def _no_channel_half_configured(self) -> Self:
        # A half-configured channel is a mistake worth stopping for, not a webhook that fails later.
        variables = self.variables()
        for secrets in (TWILIO_SECRETS, MESSENGER_SECRETS, WHATSAPP_SECRETS):
            present = [name for name in secrets if getattr(self, name)]
            if 0 < len(present) < len(secrets):
                raise ValueError(f"{', '.join(variables[name] for name in present)} set but "
                                 f"{', '.join(variables[name] for name in secrets if name not in present)} missing")
        return self


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    sms: TwilioSettings | None = None
    messenger: MessengerSettings | None = None
    whatsapp: WhatsAppSettings | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], public_url: str) -> ChannelSettings:
        return cls.from_variables(ChannelVariables.from_env(env), public_url)

    @classmethod
    def from_variables(cls, given: ChannelVariables, public_url: str) -> ChannelSettings:
        sms = messenger = whatsapp = None
        # A channel's secrets are all set or none (ChannelVariables checked).
        if given.twilio_account_sid and given.twilio_auth_token:
            webhook_url = given.twilio_webhook_url or f"{public_url}/webhooks/sms"
            try:
                sms = TwilioSettings(
                    account_sid=given.twilio_account_sid, auth_token=given.twilio_auth_token,
                    webhook_url=webhook_url, from_number=given.twilio_from_number,
                    messaging_service_sid=given.twilio_messaging_service_sid, api_base=given.twilio_api_base,
                    status_callback_url=webhook_url if given.twilio_status_callback else None,
                )
            except ValueError as exc:
                raise ConfigError(f"SMS (Twilio): {exc}") from None
        if given.messenger_app_secret and given.messenger_verify_token and given.messenger_page_access_token:
            messenger = MessengerSettings(
                app_secret=given.messenger_app_secret, verify_token=given.messenger_verify_token,
                page_access_token=given.messenger_page_access_token,
                graph_api_base=given.meta_graph_api_base, api_version=given.meta_api_version,
            )
        if (given.whatsapp_app_secret and given.whatsapp_verify_token and given.whatsapp_access_token
                and given.whatsapp_phone_number_id):
            whatsapp = WhatsAppSettings(
                app_secret=given.whatsapp_app_secret, verify_token=given.whatsapp_verify_token,
                access_token=given.whatsapp_access_token, phone_number_id=given.whatsapp_phone_number_id,
                graph_api_base=given.meta_graph_api_base, api_version=given.meta_api_version,
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

