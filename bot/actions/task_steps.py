"""What an order task still needs from the shopper once the order is proven.

The order lookup form asks for these after the order number and the proof: which items
and why (return), the new address (address change), a yes/no (cancellation). Each step
is asked only when the order's status allows the task; otherwise the task action
explains why not. Pure functions: no Rasa, no HTTP.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from .gateway_api import Order

RETURN_ITEMS = "return_items"
RETURN_REASON = "return_reason"
NEW_ADDRESS = "new_address"
CANCEL_CONFIRMED = "cancel_confirmed"
TASK_SLOTS = (RETURN_ITEMS, RETURN_REASON, NEW_ADDRESS, CANCEL_CONFIRMED)

CANCELLABLE = frozenset({"placed", "confirmed"})  # until packed
ADDRESS_CHANGEABLE = frozenset({"placed", "confirmed", "packed"})  # until shipped
RETURNABLE = frozenset({"delivered"})


def steps_for(task: Optional[str], order: Order) -> tuple[str, ...]:
    """The slots `task` needs for `order`, in the order they are asked."""
    status = order.get("status")
    if task == "start_return" and status in RETURNABLE:
        # One item needs no choosing: the return is for that item.
        return (RETURN_ITEMS, RETURN_REASON) if len(items_of(order)) > 1 else (RETURN_REASON,)
    if task == "cancel_order" and status in CANCELLABLE:
        return (CANCEL_CONFIRMED,)
    if task == "change_address" and status in ADDRESS_CHANGEABLE:
        return (NEW_ADDRESS,)
    return ()


def items_of(order: Order) -> list[dict[str, Any]]:
    return [item for item in order.get("items") or [] if isinstance(item, dict) and item.get("sku")]


def chosen_items(text: str, order: Order, all_items_words: tuple[str, ...]) -> Optional[list[str]]:
    """SKUs the shopper picked (by SKU, by name, or "all"); None if none recognised."""
    items = items_of(order)
    folded = (text or "").casefold().strip()
    words = set(re.findall(r"\w+", folded))
    if folded in {w.casefold() for w in all_items_words} or words & {w.casefold() for w in all_items_words}:
        return [str(item["sku"]) for item in items]
    picked = [
        str(item["sku"])
        for item in items
        if str(item["sku"]).casefold() in folded or (item.get("name") and str(item["name"]).casefold() in folded)
    ]
    return picked or None


def confirmation(intent: Optional[str]) -> Optional[bool]:
    return {"affirm": True, "deny": False}.get(intent or "")


# The shop's delivery countries (MISSION.md), as shoppers write them → ISO 3166 codes.
COUNTRIES = {
    "de": "DE", "deutschland": "DE", "germany": "DE",
    "at": "AT", "österreich": "AT", "oesterreich": "AT", "austria": "AT",
    "ch": "CH", "schweiz": "CH", "switzerland": "CH",
    "nl": "NL", "niederlande": "NL", "netherlands": "NL", "holland": "NL",
    "be": "BE", "belgien": "BE", "belgium": "BE",
    "fr": "FR", "frankreich": "FR", "france": "FR",
    "dk": "DK", "dänemark": "DK", "daenemark": "DK", "denmark": "DK",
}


def country_code(text: str) -> Optional[str]:
    """ "Deutschland" / "germany" / "de" → "DE"; None for a country the shop does not ship to."""
    return COUNTRIES.get(text.strip().casefold())


def parse_address(text: str, fallback_name: str = "", fallback_country: str = "") -> Optional[dict[str, str]]:
    """ "Anna Berg, Hauptstraße 5, 10115 Berlin[, DE]" (commas or lines) → address; None if unreadable.

    Without a country line the order's country (else Germany) is kept; a country the
    shop does not deliver to makes the address unreadable, so the shopper is asked again.
    """
    parts = [part.strip() for part in re.split(r"[\n,;]+", text or "") if part.strip()]
    for index, part in enumerate(parts):
        match = re.fullmatch(r"(?:[A-Za-z]{1,2}-)?(\d{4}\s?[A-Za-z]{2}|\d{4,5})\s+(.+)", part)
        if match is None or index == 0:
            continue
        street = parts[index - 1]
        if not re.search(r"\d", street):
            continue  # a street line has a house number
        name = ", ".join(parts[: index - 1]) or fallback_name
        written = ", ".join(parts[index + 1:])
        country = country_code(written) if written else (country_code(fallback_country) or "DE")
        if country is None:
            return None
        return {
            "name": name,
            "street": street,
            "postal_code": match.group(1).upper(),
            "city": match.group(2),
            "country": country,
        }
    return None


def one_line(address: dict[str, str]) -> str:
    city = f"{address.get('postal_code', '')} {address.get('city', '')}".strip()
    parts = [address.get("name"), address.get("street"), city, address.get("country")]
    return ", ".join(part for part in parts if part)
