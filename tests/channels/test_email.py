"""channels/email.py against recorded real-format mails: what the bot and the agent read
of a reply, which mails are machines talking, and the mail storechat writes back."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from channels.base import MalformedPayload
from channels.email import EmailChannel, MailSettings, Thread, parse, reply_subject, reply_text
from core.types import Author, OutgoingMessage, QuickReply

FIXTURES = Path(__file__).parent / "fixtures" / "email"
SHOP = MailSettings(address="service@nordlicht-home.example", name="Nordlicht Home Kundenservice",
                    reply_domain="nordlicht-home.example")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_a_gmail_reply_is_read_without_its_quoted_history_which_the_case_keeps() -> None:
    mail = parse(fixture("gmail_reply.eml"), envelope_from="jamie.doe@gmail.com")

    assert mail.text == ("Thanks! The tracking says delivered, but there is nothing here. Can I talk\n"
                         "to a person please?\n\nJamie")
    assert "> Your order 104215 was shipped with DHL on Monday." in mail.body
    assert mail.sender == "jamie.doe@gmail.com" and mail.sender_name == "Jamie Doe"
    assert mail.in_reply_to == "<176475313100.20311.4410931867162733005@nordlicht-home.example>"
    assert mail.references[0] == "<CAF7kPq3xZ0y9u2m1vJ0hN6qk8wq3Yf1n4t5_vL8tQ2RZs9kYw@mail.gmail.com>"
    assert mail.automatic is None


def test_a_german_outlook_reply_loses_the_von_gesendet_block_and_keeps_its_photo() -> None:
    mail = parse(fixture("outlook_reply_de.eml"), envelope_from="sabine.mueller@outlook.de")

    assert mail.text == ("Guten Tag,\n\nanbei das Foto vom beschädigten Kissen. Bitte schicken Sie mir ein "
                         "Rücksendeetikett.\n\nMit freundlichen Grüßen\nSabine Müller")
    assert "Gesendet: Mittwoch, 2. Dezember 2026 16:05" in mail.body
    assert mail.subject == "AW: Ihre Rücksendung"
    [photo] = mail.attachments
    assert (photo.filename, photo.content_type, photo.size) == ("IMG_2041.jpg", "image/jpeg", 2075)
    assert photo.data.startswith(b"\xff\xd8\xff\xe0")


@pytest.mark.parametrize(("text", "read"), [
    ("Passt, danke!\n\nAm Mi., 2. Dez. 2026 um 16:05 Uhr schrieb Nordlicht Home <service@x.example>:\n> Hallo",
     "Passt, danke!"),
    ("Yes please.\n\n-----Original Message-----\nFrom: Nordlicht Home\nSent: Wednesday\n\nHello", "Yes please."),
    ("Ja.\n\nVon: Nordlicht Home <service@x.example>\nGesendet: Mittwoch, 2. Dezember 2026\nAn: ich", "Ja."),
    ("Die 2 bitte\n-- \nMax Mustermann\nMusterstraße 1", "Die 2 bitte"),
    ("Ok\n\nVon meinem iPhone gesendet", "Ok"),
    ("From: the top of my head, the blue one.", "From: the top of my head, the blue one."),
])
def test_quoted_history_and_signatures_are_cut_from_what_the_bot_reads(text: str, read: str) -> None:
    assert reply_text(text) == read


def test_an_out_of_office_reply_and_a_bounce_are_machines_and_the_bounce_names_its_mail() -> None:
    away = parse(fixture("out_of_office_exchange_de.eml"), envelope_from="")
    bounce = parse(fixture("bounce_dsn.eml"), envelope_from="")
    first = parse(fixture("first_mail_gmail.eml"), envelope_from="jamie.doe@gmail.com")

    assert away.automatic == "Auto-Submitted: auto-generated" and not away.bounce
    assert bounce.automatic is not None and bounce.bounce
    # The bounced mail's Message-ID, from the returned headers: how the case is found.
    assert "<176475313100.20311.4410931867162733005@nordlicht-home.example>" in bounce.references
    assert first.automatic is None


@pytest.mark.parametrize("header", [
    "Auto-Submitted: auto-replied", "X-Autoreply: yes", "X-Autorespond: vacation", "Precedence: bulk",
    "Precedence: list", "List-Id: <offers.shop.example>", "Subject: Abwesenheitsnotiz: Ihre Anfrage",
    "Subject: Out of Office: Where is my order?",
])
def test_each_mark_of_an_automatic_mail_is_recognised(header: str) -> None:
    raw = fixture("first_mail_gmail.eml")
    if header.startswith("Subject:"):
        raw = raw.replace(b"Subject: Where is my order?", header.encode())
    else:
        raw = raw.replace(b"MIME-Version: 1.0", f"{header}\nMIME-Version: 1.0".encode())
    assert parse(raw, envelope_from="jamie.doe@gmail.com").automatic is not None
    assert parse(raw.replace(header.encode(), b"X-Nothing: 1"), envelope_from="jamie.doe@gmail.com").automatic \
        is None


def test_a_mail_without_a_sender_is_refused() -> None:
    raw = fixture("first_mail_gmail.eml").replace(b"From: Jamie Doe <jamie.doe@gmail.com>\n", b"")
    with pytest.raises(MalformedPayload):
        parse(raw, envelope_from=None)


def _sent(message: OutgoingMessage, thread: Thread) -> EmailMessage:
    request = EmailChannel(SHOP).request("jamie.doe@gmail.com", message, thread,
                                         signature="Ihr Kundenservice\nNordlicht Home")
    assert request.headers["rcpt-to"] == "jamie.doe@gmail.com"
    mail = message_from_bytes(request.body, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def test_the_answer_is_a_threaded_multipart_mail_with_escaped_html_and_the_signature() -> None:
    thread = Thread(message_id="<new.1@nordlicht-home.example>", subject=reply_subject("AW: Re: Ihre Rücksendung"),
                    locale="de", in_reply_to="<theirs@mail.gmail.com>", references=("<root@mail.gmail.com>",),
                    reply_token="k3nWq0Zb7Yx2LpVtR9sA1c4E")
    mail = _sent(OutgoingMessage("Größe <M> oder L?", quick_replies=(QuickReply("M", "/m"), QuickReply("L", "/l"))),
                 thread)

    assert mail["Subject"] == "Re: Ihre Rücksendung"
    assert mail["Message-ID"] == "<new.1@nordlicht-home.example>"
    assert mail["In-Reply-To"] == "<theirs@mail.gmail.com>"
    assert mail["References"] == "<root@mail.gmail.com> <theirs@mail.gmail.com>"
    assert mail["Reply-To"] == "reply+k3nWq0Zb7Yx2LpVtR9sA1c4E@nordlicht-home.example"
    assert mail["From"] == "Nordlicht Home Kundenservice <service@nordlicht-home.example>"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(preferencelist=("plain",))
    markup = mail.get_body(preferencelist=("html",))
    assert text is not None and markup is not None
    plain = text.get_content().replace("\r\n", "\n")
    assert "Größe <M> oder L?" in plain and "1) M\n2) L" in plain and "\n-- \nIhr Kundenservice\nNordlicht Home" in plain
    assert "Größe &lt;M&gt; oder L?" in markup.get_content() and "<M>" not in markup.get_content()


def test_an_agents_mail_is_not_marked_automatic() -> None:
    thread = Thread(message_id="<new.2@nordlicht-home.example>", subject="Re: Hallo", locale="de")
    mail = _sent(OutgoingMessage("Ich kümmere mich darum.", author=Author.AGENT, agent_name="Anna"), thread)
    assert mail["Auto-Submitted"] is None and mail["In-Reply-To"] is None


def test_only_a_reply_address_of_ours_names_a_token() -> None:
    assert SHOP.token_of("reply+k3nWq0Zb7Yx2LpVtR9sA1c4E@nordlicht-home.example") == "k3nWq0Zb7Yx2LpVtR9sA1c4E"
    assert SHOP.token_of("<Reply+k3nWq0Zb7Yx2LpVtR9sA1c4E@Nordlicht-Home.example>") == "k3nWq0Zb7Yx2LpVtR9sA1c4E"
    assert SHOP.token_of("reply+k3nWq0Zb7Yx2LpVtR9sA1c4E@elsewhere.example") is None
    assert SHOP.token_of("reply+short@nordlicht-home.example") is None
    assert SHOP.token_of("service@nordlicht-home.example") is None


def test_an_html_only_mail_is_read_as_text_without_its_quoted_blockquote() -> None:
    raw = (b"From: Kim <kim@example.org>\nTo: service@nordlicht-home.example\nSubject: Frage\n"
           b"Message-ID: <html-1@example.org>\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n"
           b"<html><head><style>p{color:red}</style></head><body><p>Gibt es das Kissen auch in <b>Blau</b>?</p>"
           b"<p>Danke &amp; Gru&szlig;</p><blockquote><p>Ihre Bestellung 104215 wurde verschickt.</p></blockquote>"
           b"</body></html>\n")
    mail = parse(raw, envelope_from="kim@example.org")
    assert mail.text == "Gibt es das Kissen auch in Blau?\n\nDanke & Gruß"
    assert "color:red" not in mail.body


def test_a_mail_without_a_message_id_gets_one_its_redelivery_shares() -> None:
    raw = fixture("first_mail_gmail.eml").replace(
        b"Message-ID: <CAF7kPq3xZ0y9u2m1vJ0hN6qk8wq3Yf1n4t5_vL8tQ2RZs9kYw@mail.gmail.com>\n", b"")
    first, again = parse(raw), parse(raw)
    assert first.message_id == again.message_id and first.message_id.endswith("@storechat.invalid>")
