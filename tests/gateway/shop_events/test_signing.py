"""The shop webhook's signature: what storechat sends is what the README's few lines accept,
and a changed body, another secret, a stale timestamp or a missing part is refused."""

from __future__ import annotations

import pytest

from gateway.api.openapi import document
from gateway.settings import ConfigError, Settings
from gateway.shop_events.queue import queue_from_settings
from gateway.shop_events.signing import sign, verify
from tests.gateway.shop_events.support import SECRET, signature_ok

BODY = b'{"id":"evt_1","type":"request.approved"}'
NOW = 1_796_115_600


def test_a_signed_body_passes_the_receivers_own_check_and_storechats() -> None:
    header = sign(SECRET, BODY, NOW)
    assert header.startswith(f"t={NOW},v1=")
    assert signature_ok(SECRET, BODY, header, NOW + 10)
    assert verify(SECRET, BODY, header, NOW + 10)


@pytest.mark.parametrize(("secret", "body", "now"), [
    ("another-secret", BODY, NOW),
    (SECRET, BODY.replace(b"approved", b"rejected"), NOW),
    (SECRET, BODY, NOW + 301),  # a replay after the window
])
def test_another_secret_a_changed_body_or_a_stale_timestamp_is_refused(secret: str, body: bytes, now: int) -> None:
    header = sign(secret, body, NOW)
    assert not verify(SECRET, BODY, header, now)
    assert not signature_ok(SECRET, BODY, header, now)


@pytest.mark.parametrize("header", ["", "v1=abc", f"t={NOW}", f"t=x,v1={'0' * 64}", "garbage"])
def test_a_header_without_its_parts_is_refused(header: str) -> None:
    assert not verify(SECRET, BODY, header, NOW)


async def test_a_webhook_url_without_its_secret_does_not_start(base_settings: Settings) -> None:
    settings = base_settings.replace(shop_webhook_url="https://shop.example/storechat")
    with pytest.raises(ConfigError, match="STORECHAT_SHOP_WEBHOOK_SECRET"):
        queue_from_settings(None, None, settings)  # type: ignore[arg-type]  # refused before either is used
    assert queue_from_settings(None, None, base_settings) is None  # type: ignore[arg-type]


def test_the_document_describes_each_webhook_with_its_body_and_signature_header() -> None:
    doc = document("http://x")
    hooks = doc["webhooks"]

    assert set(hooks) == {"request.approved", "request.rejected", "return.label_sent", "damaged_item.decided"}
    post = hooks["request.approved"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ShopEvent"}
    assert "Storechat-Signature" in [parameter["name"] for parameter in post["parameters"]]
    assert {"id", "type", "created_at", "request", "order"} <= set(doc["components"]["schemas"]["ShopEvent"]["required"])
    approve = doc["paths"]["/agent/conversations/{cid}/requests/{request_id}/approve"]["post"]
    assert {"200", "201", "403", "404", "409"} <= set(approve["responses"])
