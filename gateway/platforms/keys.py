"""The shop platforms room's own Redis keys, built on gateway/keys/'s prefix. Each is
bounded: by a TTL (intake.py sets it), or, for a registered Shopware shop, by the shops
that hold our app secret."""

from gateway.keys import PREFIX


def delivery_seen(platform: str, delivery_id: str) -> str:
    """Set once a platform's delivery was applied: its redelivery is acknowledged and skipped."""
    return f"{PREFIX}:platforms:{platform}:seen:{delivery_id}"


def platform_order(platform: str, platform_order_id: str) -> str:
    """Hash of a platform's order: `order_id` (storechat's, the customer's number) and
    `updated_ms` (the newest platform time applied: an older delivery is stale)."""
    return f"{PREFIX}:platforms:{platform}:order:{platform_order_id}"


def order_lock(platform: str, platform_order_id: str) -> str:
    """Held (a token, with a TTL) while one delivery of the order is applied."""
    return f"{PREFIX}:platforms:{platform}:order-lock:{platform_order_id}"


def cart_session(platform: str, cart_token: str) -> str:
    """The widget's session id a storefront cart was tied to (by its checkout's attributes)."""
    return f"{PREFIX}:platforms:{platform}:cart:{cart_token}"


def shopware_shop(shop_id: str) -> str:
    """Hash of a Shopware shop that registered the app: `shop_url`, `secret` (confirmed),
    `pending` (issued, awaiting the confirmation)."""
    return f"{PREFIX}:platforms:shopware:shop:{shop_id}"


def shopware_registration(signature: str) -> str:
    """Set (with a TTL as long as a registration request is good) once a signed one was used."""
    return f"{PREFIX}:platforms:shopware:registration:{signature}"
