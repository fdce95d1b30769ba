"""A third language is a data change: French added to copies of the data files (never the
repository's) gets its texts, its dates, its prices and its notifications, with no code.

The gateway reads a locale directory, the notifications their YAML, the bot's actions
faq_data/; each is copied into tmp_path and given French.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.actions import languages as action_languages
from bot.actions import order_answers
from bot.actions import texts as action_texts
from core.formatting import format_money, format_number
from gateway.desk.business_hours import describe_opening
from gateway.notifications import NotificationConfig
from gateway.notifications.compose import notification_text, template_parameters
from gateway.settings import REPO_ROOT
from gateway.shop.orders import Carrier, Order, OrderStatus
from gateway.texts import LOCALES_DIR, Texts, languages_in

BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY = date(2026, 11, 27)
# A French file as a translator writes it: the texts only. No "formats" section, so its
# dates and prices are French by its name.
FRENCH = {
    "gateway": {
        "message_too_long": "Ce message est trop long. Merci de rester sous {limit} caractères.",
        "notification_shipped": "Votre commande {order_id} a été expédiée.",
        "notification_carrier_tracking": "Transporteur : {carrier}, numéro de suivi {tracking_number}.",
        "notification_tracking": "Suivre votre colis : {tracking_url}",
        "notification_eta": "Livraison prévue : {date}.",
        "notification_reply": "Des questions ? Répondez simplement à ce message.",
        "opening_today": "aujourd’hui à {time}",
        "opening_tomorrow": "demain à {time}",
        "opening_later": "le {day} à {time}",
    },
}


@pytest.fixture
def locales(tmp_path: Path) -> Path:
    directory = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, directory)
    (directory / "fr.json").write_text(json.dumps(FRENCH, ensure_ascii=False), encoding="utf-8")
    return directory


def _order() -> Order:
    return Order(order_id="104233", email="anna@example.com", items=(), total="89.00", currency="EUR",
                 status=OrderStatus.SHIPPED, placed_at=datetime(2026, 11, 24, 10, 15, tzinfo=BERLIN),
                 carrier=Carrier.DHL, tracking_number="00340434161234567890",
                 tracking_url="https://www.dhl.de/track?id=00340434161234567890", estimated_delivery=FRIDAY)


def test_a_locale_file_adds_a_language_to_the_gateway_with_its_dates_and_numbers(locales: Path) -> None:
    texts = Texts.load("de", locales)

    assert texts.languages == {"de", "en", "fr"} and languages_in(locales) == ("de", "en", "fr")
    assert texts.locale("fr-FR") == "fr"
    limit = format_number(2000, texts.cldr_locale("fr"))
    assert texts.get("fr", "message_too_long", limit=limit) == (
        "Ce message est trop long. Merci de rester sous 2\u202f000 caractères.")
    assert texts.cldr_locale("fr") == "fr" and texts.cldr_locale("en") == "en_IE"
    # A text the translator has not written yet reads in the default language.
    assert texts.get("fr", "queue_next").startswith("Gleich ist eine Kollegin")
    now = datetime(2026, 11, 24, 20, 0, tzinfo=BERLIN)
    assert describe_opening(datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN), now, "fr", texts) == "demain à 09:00"
    monday = datetime(2026, 11, 30, 8, 0, tzinfo=BERLIN)
    assert describe_opening(monday, now, "fr", texts) == "le lundi 30 novembre à 08:00"


def test_a_locale_babel_does_not_know_is_refused_at_start_up(locales: Path) -> None:
    (locales / "fr.json").write_text(json.dumps({**FRENCH, "formats": {"locale": "fr_XX"}}), encoding="utf-8")

    with pytest.raises(ValueError, match=r"fr\.json: formats\.locale: 'fr_XX' is not a locale"):
        Texts.load("de", locales)


def test_a_notification_is_composed_in_the_new_language(locales: Path, tmp_path: Path) -> None:
    texts = Texts.load("de", locales)
    order = _order()

    assert notification_text(order, OrderStatus.SHIPPED, texts, "fr", date(2026, 11, 24)).split("\n") == [
        "Votre commande 104233 a été expédiée.",
        "Transporteur : DHL, numéro de suivi 00340434161234567890.",
        "Suivre votre colis : https://www.dhl.de/track?id=00340434161234567890",
        "Livraison prévue : vendredi 27 novembre.",
        "Des questions ? Répondez simplement à ce message.",
    ]

    # The notifications ask for a WhatsApp template in every language of the texts: the new
    # one too, named in the (copied) YAML, not in code.
    shipped = REPO_ROOT / "config" / "notifications.yml"
    with pytest.raises(ValueError, match="no template for 'fr'"):
        NotificationConfig.load(shipped, languages=texts.languages)
    raw = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    for rule in raw["statuses"].values():
        rule["whatsapp"]["template"]["fr"] = rule["whatsapp"]["template"]["en"] + "_fr"
    copied = tmp_path / "notifications.yml"
    copied.write_text(yaml.safe_dump(raw), encoding="utf-8")
    config = NotificationConfig.load(copied, languages=texts.languages)
    whatsapp = config.statuses[OrderStatus.SHIPPED].whatsapp
    assert whatsapp is not None and whatsapp.names["fr"] == "order_shipped_fr"
    assert template_parameters(order, whatsapp, texts, "fr", date(2026, 11, 24))[-1] == "vendredi 27 novembre"


@pytest.fixture
def faq_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the bot's language list and action texts, with French; the actions read it
    through STORECHAT_FAQ_DATA, as the action server would."""
    directory = tmp_path / "faq_data"
    shutil.copytree(REPO_ROOT / "faq_data" / "messages", directory / "messages")
    languages = yaml.safe_load((REPO_ROOT / "faq_data" / "languages.yml").read_text(encoding="utf-8"))
    languages["languages"].append("fr")
    (directory / "languages.yml").write_text(yaml.safe_dump(languages), encoding="utf-8")
    english = yaml.safe_load((directory / "messages" / "en.yml").read_text(encoding="utf-8"))
    del english["locale"]  # French dates by the file's name
    french = {**english,
              "status_in_transit": "Votre commande {order_id} est en route.",
              "estimated_delivery": "Livraison prévue : {date}.",
              "order_history_intro": "Vos commandes :",
              "order_history_line": "• {order_id} du {date} : {status}, {total}",
              "status_name_in_transit": "en route"}
    (directory / "messages" / "fr.yml").write_text(yaml.safe_dump(french, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("STORECHAT_FAQ_DATA", str(directory))
    # The actions read faq_data once per process: read it again, here and after the test.
    action_languages.languages.cache_clear()
    action_texts._messages.cache_clear()
    yield directory
    action_languages.languages.cache_clear()
    action_texts._messages.cache_clear()


def test_the_bots_answers_speak_the_new_language_with_its_dates_and_prices(faq_data: Path) -> None:
    french = action_texts.texts("fr")

    assert french.language == "fr"
    assert french.long_date(FRIDAY) == "vendredi 27 novembre"
    assert french.money("89", "EUR") == "89,00\xa0€" == format_money(Decimal("89.00"), "EUR", "fr")
    order = {"order_id": "104233", "status": "in_transit", "estimated_delivery": "2026-11-27",
             "placed_at": "2026-11-20T10:15:00+01:00", "total": "1249.5", "currency": "EUR"}
    assert order_answers.status_answer(order, french, date(2026, 11, 24)) == [
        "Votre commande 104233 est en route.", "Livraison prévue : vendredi 27 novembre."]
    assert order_answers.history_answer([order], french) == [
        "Vos commandes :\n• 104233 du 20 novembre 2026 : en route, 1\u202f249,50\xa0€"]


def test_the_repositorys_own_data_is_untouched() -> None:
    assert languages_in() == ("de", "en")
    assert action_languages.languages() == ("de", ("de", "en"))
