"""The shops a platform's secret is taken from: required with the secret, or the gateway does not start."""

from __future__ import annotations

import pytest

from gateway.settings import ConfigError, Settings


@pytest.mark.parametrize(("env", "message"), [
    ({"STORECHAT_SHOPIFY_WEBHOOK_SECRET": "s"},
     "STORECHAT_SHOPIFY_WEBHOOK_SECRET is set but STORECHAT_SHOPIFY_SHOP_DOMAIN is missing"),
    ({"STORECHAT_SHOPIFY_WEBHOOK_SECRET": "s", "STORECHAT_SHOPIFY_SHOP_DOMAIN": "www.nordlicht-home.example"},
     "STORECHAT_SHOPIFY_SHOP_DOMAIN"),
    ({"STORECHAT_SHOPWARE_APP_SECRET": "s"},
     "STORECHAT_SHOPWARE_APP_SECRET is set but STORECHAT_SHOPWARE_SHOP_URLS is missing"),
    ({"STORECHAT_SHOPWARE_APP_SECRET": "s", "STORECHAT_SHOPWARE_SHOP_URLS": " , "},
     "STORECHAT_SHOPWARE_APP_SECRET is set but STORECHAT_SHOPWARE_SHOP_URLS is missing"),
])  # fmt: skip
def test_a_platform_secret_without_its_shops_is_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)
    assert message in str(refused.value)


def test_the_shops_are_read_as_given() -> None:
    settings = Settings.from_env({
        "STORECHAT_SHOPIFY_WEBHOOK_SECRET": "s", "STORECHAT_SHOPIFY_SHOP_DOMAIN": " Nordlicht-Home.myshopify.com",
        "STORECHAT_SHOPWARE_APP_SECRET": "s",
        "STORECHAT_SHOPWARE_SHOP_URLS": "https://www.nordlicht-home.example, https://b2b.nordlicht-home.example/",
    })  # fmt: skip
    assert settings.shopify_shop_domain == "nordlicht-home.myshopify.com"
    assert settings.shopware_shop_urls == ("https://www.nordlicht-home.example", "https://b2b.nordlicht-home.example/")
