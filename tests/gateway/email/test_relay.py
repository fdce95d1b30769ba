"""The SMTP relay client on its own: what each answer of the shop's relay comes to."""

from __future__ import annotations

from channels.email import EmailChannel, MailSettings, Thread
from core.types import OutgoingMessage
from gateway.email.delivery import RelaySettings, SmtpRelay
from gateway.messaging.delivery import Accepted, Refused, RetryLater
from tests.gateway.email.support import JAMIE, running_relay
from tests.support import free_port

SHOP = MailSettings(address="service@nordlicht-home.example", name="Nordlicht Home", reply_domain="nordlicht-home.example")
MAIL = EmailChannel(SHOP).request(JAMIE, OutgoingMessage("Hallo"), Thread("<one@nordlicht-home.example>", "Re: x", "de"),
                                  signature="Nordlicht Home")


async def test_no_relay_listening_is_tried_again_later() -> None:
    outcome = await SmtpRelay(RelaySettings(host="127.0.0.1", port=free_port(), starttls=False, timeout=2)).call(MAIL)
    assert isinstance(outcome, RetryLater) and "could not connect" in outcome.reason


async def test_the_relay_takes_the_mail_or_says_why_not() -> None:
    with running_relay() as relay:
        client = SmtpRelay(RelaySettings(host="127.0.0.1", port=relay.port, starttls=False, timeout=5))
        relay.answer_next("452 4.3.1 Insufficient system storage", "550 5.7.1 Relaying denied")
        later, refused, accepted = await client.call(MAIL), await client.call(MAIL), await client.call(MAIL)
        assert isinstance(later, RetryLater) and later.reason.startswith("SMTP 452")
        assert isinstance(refused, Refused) and refused.reason == "SMTP 550: 5.7.1 Relaying denied"
        assert accepted == Accepted(b"<one@nordlicht-home.example>")
        assert (await relay.next())["Message-ID"] == "<one@nordlicht-home.example>"
