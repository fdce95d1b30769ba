"""The demo shop's pages over HTTP (no browser needed)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from gateway.app import add_demo_shop

REPO = Path(__file__).resolve().parents[2]


def storefront_app() -> web.Application:
    app = web.Application()
    add_demo_shop(app, REPO / "faq_data")
    return app


async def test_shop_page_is_german_by_default_and_english_on_request(
    aiohttp_client: AiohttpClient,
) -> None:
    client = await aiohttp_client(storefront_app())

    german = await client.get("/")
    english = await client.get("/?lang=en")

    assert german.status == 200 and '<html lang="de">' in await german.text()
    assert "In den Warenkorb" in await german.text()
    assert "Add to cart" in await english.text()
    assert 'src="/widget.js" data-locale="en"' in await english.text()


async def test_prices_are_written_as_each_language_writes_them(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(storefront_app())

    german = await (await client.get("/p/fjord-throw")).text()
    english = await (await client.get("/p/fjord-throw?lang=en")).text()

    assert "89,00\xa0€" in german and 'data-locale="de"' in german
    # The cart's script writes its sums in the same locale (demo_shop/shop.yml `locale`).
    assert "€89.00" in english and 'data-locale="en-IE"' in english


async def test_shop_assets_are_served_and_stay_in_their_folder(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(storefront_app())

    css = await client.get("/shop/static/storefront.css")
    picture = await client.get("/shop/static/product-vase.svg")

    assert css.status == 200 and css.content_type == "text/css"
    assert picture.status == 200 and picture.content_type == "image/svg+xml"
    for path in ["/shop/static/../storefront.py", "/shop/static/%2e%2e/storefront.py", "/shop/static/missing.css"]:
        assert (await client.get(path)).status == 404, path


async def test_every_page_type_of_the_shop_says_its_type(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(storefront_app())

    for path, page_type, text in [
        ("/", "category", "Beliebt diese Woche"),
        ("/p/dune-vase", "product", "Matte Keramik in Sandtönen"),
        ("/cart", "cart", "Ihr Warenkorb"),
        ("/checkout?lang=en", "checkout", "Place order"),
        ("/help", "help", "Rücksendung"),
        ("/help/returns?lang=en", "help", "30 days"),
    ]:
        response = await client.get(path)
        html = await response.text()
        assert response.status == 200, path
        assert f'data-page-type="{page_type}"' in html, path
        assert text in html, path
    for path in ["/p/no-such-product", "/help/no-such-topic"]:
        assert (await client.get(path)).status == 404, path
