"""Which product a complaint is about: the proven order's item, the one the text mentions, or the
product it names — in German and English, through inflections and typos."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from gateway.complaints import store
from gateway.complaints.lexicon import Lexicon
from gateway.complaints.products import Catalogue
from gateway.complaints.projection import ComplaintsProjection
from tests.gateway.complaints.support import DAY, START, Clock, fold, open_case, put_order

# The demo shop's products, each sold under its German and its English name.
NAMES = {
    "NL-1001": ["Leinen-Kissenhülle", "Linen cushion cover"],
    "NL-1120": ["Fjord Wolldecke", "Fjord wool throw"],
    "NL-2040": ["Eichen-Kerzenhalter", "Oak candle holder"],
    "NL-3007": ["Skagen Becher, 2er-Set", "Skagen mugs, set of 2"],
    "NL-4410": ["Düne Vase", "Dune vase"],
    "NL-5002": ["Polar Tischleuchte", "Polar table lamp"],
}


@pytest.fixture
def catalogue(lexicon: Lexicon) -> Catalogue:
    return Catalogue(NAMES, lexicon)


@pytest.mark.parametrize(("text", "sku"), [
    ("Die Naht meiner Kissenhülle geht auf", "NL-1001"),
    ("the seams of my linen cushion cover are coming apart", "NL-1001"),
    ("Die Kissenhüllen sind eingelaufen", "NL-1001"),          # plural
    ("Mein Kissenbzug ist gerissen", "NL-1001"),               # a typo, and another word for it
    ("Die Fjord Decke riecht komisch", "NL-1120"),
    ("my wool throw sheds everywhere", "NL-1120"),
    ("Die Tischleuchten flackern beide", "NL-5002"),
    ("the Polar lamp flickers", "NL-5002"),
    ("Der Becher hat einen Sprung", "NL-3007"),
    ("both mugs are chipped", "NL-3007"),
    ("die Vase ist undicht", "NL-4410"),
    ("the candle holder wobbles", "NL-2040"),
])
def test_a_product_named_in_german_or_english_is_found(catalogue: Catalogue, text: str, sku: str) -> None:
    assert catalogue.match(text) == sku


@pytest.mark.parametrize("text", [
    "Wo bleibt meine Lieferung?",
    "I am very unhappy with the service",
    "Der Tisch ist zerkratzt",  # a table: not a product of this shop
])
def test_a_text_naming_no_product_has_none(catalogue: Catalogue, text: str) -> None:
    assert catalogue.match(text) is None


def test_among_an_orders_items_the_mentioned_one_wins_and_a_vague_text_names_none(catalogue: Catalogue) -> None:
    order = ["NL-1001", "NL-2040"]
    assert catalogue.match("Der Kerzenhalter kam zerkratzt an", among=order) == "NL-2040"
    assert catalogue.match("the cover came apart", among=order) == "NL-1001"
    assert catalogue.match("Alles kaputt!", among=order) is None


def test_two_products_named_alike_are_not_guessed_between(lexicon: Lexicon) -> None:
    catalogue = Catalogue({"L-1": ["Polar Tischleuchte"], "L-2": ["Nord Tischleuchte"]}, lexicon)
    assert catalogue.match("Die Tischleuchte flackert") is None
    assert catalogue.match("Die Nord Leuchte flackert") == "L-2"


async def test_a_complaint_without_a_proof_finds_the_product_it_names_among_the_shops_orders(
        redis: Redis, projection: ComplaintsProjection) -> None:
    clock = Clock()
    # Sold to other shoppers, in both languages: the shop's orders are where the names come from.
    await put_order(redis, clock, "200001", [("NL-1120", "Fjord Wolldecke")])
    await put_order(redis, clock, "200002", [("NL-1120", "Fjord wool throw"), ("NL-4410", "Dune vase")])
    german = await open_case(redis, clock)
    await german.complain("Der Saum meiner Wolldecke franst aus")
    english = await open_case(redis, clock, locale="en")
    await english.complain("the hem of my throw is fraying", intent="complain")

    await fold(redis, projection)

    documents = await store.documents_between(redis, 0, START + DAY, limit=10)
    assert [(d.conversation_id, d.product) for d in documents] == [(german.id, "NL-1120"), (english.id, "NL-1120")]


async def test_with_several_items_proven_the_one_the_text_mentions_is_the_product(
        redis: Redis, projection: ComplaintsProjection) -> None:
    clock = Clock()
    await put_order(redis, clock, "104233", [("NL-1001", "Leinen-Kissenhülle"), ("NL-2040", "Eichen-Kerzenhalter")])
    mentioned = await open_case(redis, clock)
    await mentioned.prove("104233")
    await mentioned.complain("Der Kerzenhalter hat einen Riss im Holz")
    vague = await open_case(redis, clock)
    await vague.prove("104233")
    await vague.complain("Es ist leider kaputt angekommen")

    await fold(redis, projection)

    documents = await store.documents_between(redis, 0, START + DAY, limit=10)
    assert [(d.conversation_id, d.product) for d in documents] == [(mentioned.id, "NL-2040"), (vague.id, None)]
