"""What the e-mail tests share: the shop's SMTP relay as a real aiosmtpd server on a
loopback port that keeps what storechat sends, mail handed to the gateway's own SMTP
listener over real SMTP, and the recorded mails answering what storechat sent."""

from __future__ import annotations

import asyncio
import queue
import smtplib
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support import free_port

FIXTURES = Path(__file__).resolve().parents[2] / "channels" / "fixtures" / "email"
SHOP_ADDRESS = "service@nordlicht-home.example"
JAMIE = "jamie.doe@gmail.com"


class RelayHandler:
    """The shop's relay: takes every mail (or answers what the test queued instead)."""

    def __init__(self) -> None:
        self.mails: queue.Queue[tuple[str, list[str], EmailMessage]] = queue.Queue()
        self.answers: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.answers:
            return self.answers.pop(0)
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        mail = message_from_bytes(content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.put((str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], mail))
        return "250 2.0.0 Ok: queued"


class Relay:
    def __init__(self, handler: RelayHandler, port: int) -> None:
        self.handler = handler
        self.port = port

    async def next(self, timeout: float = 10) -> EmailMessage:
        """The next mail storechat sent (its envelope checked: from the shop, to one address)."""
        sender, recipients, mail = await asyncio.to_thread(self.handler.mails.get, True, timeout)
        assert sender == SHOP_ADDRESS and recipients == [str(mail["To"])]
        return mail

    async def none_within(self, seconds: float) -> None:
        try:
            _, _, mail = await asyncio.to_thread(self.handler.mails.get, True, seconds)
        except queue.Empty:
            return
        raise AssertionError(f"sent what it should not have: {mail['Subject']!r} to {mail['To']}: {text_of(mail)!r}")

    def answer_next(self, *answers: str) -> None:
        self.handler.answers.extend(answers)


@contextmanager
def running_relay() -> Iterator[Relay]:
    handler = RelayHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield Relay(handler, controller.port)
    finally:
        controller.stop()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def answering(raw: bytes, sent: EmailMessage, *, sender: str | None = None) -> bytes:
    """A recorded mail made the answer to `sent`: what the shopper's client does."""
    mail = message_from_bytes(raw, policy=policy.default)
    replace(mail, "In-Reply-To", str(sent["Message-ID"]))
    replace(mail, "References", f"{sent['References'] or ''} {sent['Message-ID']}".strip())
    replace(mail, "To", str(sent["Reply-To"]))
    if sender is not None:
        replace(mail, "From", sender)
    return mail.as_bytes(policy=policy.SMTP)


def replace(mail: Any, header: str, value: str) -> None:
    del mail[header]
    mail[header] = value


def text_of(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


async def deliver(port: int, raw: bytes, *, sender: str, to: str, tls: bool = False) -> None:
    """Hand a mail to the gateway's SMTP listener, as the shop's MX does (`tls`: after
    STARTTLS); a bounce or an auto-reply (sender "": MAIL FROM:<>) with the standard
    library's client, which sends that."""
    if not sender:
        await asyncio.to_thread(_null_sender, port, raw, to)
        return
    await aiosmtplib.send(raw, sender=sender, recipients=[to], hostname="127.0.0.1", port=port, start_tls=tls,
                          validate_certs=False, timeout=10)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for the listener's STARTTLS."""
    cert, key = directory / "smtp.pem", directory / "smtp.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key),
                    "-out", str(cert), "-subj", "/CN=nordlicht-home.example"], check=True, capture_output=True)
    return cert, key


def _null_sender(port: int, raw: bytes, to: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("", [to], raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
