"""A small pool of reused SMTP connections (aiosmtplib), and what an SMTP answer means for us."""
from __future__ import annotations

import asyncio
import binascii
import contextlib
import email.errors
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

import aiosmtplib

from services.notification.settings import NotificationSettings
from services.notification.templates import Mail


class TemporaryFailure(Exception):
    """4xx, a dropped connection or a timeout: try again later."""


class PermanentFailure(Exception):
    """5xx: the server will not take this mail; record it as failed."""


class Unbuildable(Exception):
    """The mail cannot be made (an address or a header that is not valid): it never will be."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# a plain ASCII address (dot-atom local part, a host name with a dot): the mail is written as bytes
# at once; any other address (quoted, internationalised) goes through the email package
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")


@dataclass(frozen=True)
class Outgoing:
    """One mail ready to send: ``data`` (the whole message as bytes, for a plain address) or
    ``message`` (any other address: aiosmtplib asks for SMTPUTF8 where the address needs it)."""

    sender: str
    recipient: str
    data: bytes | None = None
    message: EmailMessage | None = None


def header_text(value: str) -> str:
    """A header value without control characters (a newline in a roster name, say): they can
    never reach a mail header, whatever got past the input checks."""
    return " ".join(_CONTROL.sub(" ", value).split())


def _classify(exc: Exception) -> Exception:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        if codes and all(500 <= c < 600 for c in codes):
            return PermanentFailure("; ".join(f"{r.code} {r.message}" for r in exc.recipients))
        return TemporaryFailure("; ".join(f"{r.code} {r.message}" for r in exc.recipients))
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        kind = PermanentFailure if 500 <= exc.code < 600 else TemporaryFailure
        return kind(f"{exc.code} {exc.message}")
    return TemporaryFailure(repr(exc))


class SmtpPool:
    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for _ in range(settings.smtp_connections):
            self._idle.put_nowait(self._client())
        # the From header and envelope sender, made once (a From that is not a plain address
        # sends every mail through the email package, which says what is wrong with it)
        name, address = parseaddr(settings.smtp_from)
        self._sender = address
        self._from = None
        if address and _PLAIN_ADDRESS.fullmatch(address) and not _CONTROL.search(settings.smtp_from):
            self._from = formataddr((name, address), charset="utf-8")

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, timeout=s.smtp_timeout_seconds,
                               use_tls=s.smtp_use_tls, start_tls=s.smtp_start_tls,
                               username=s.smtp_username, password=s.smtp_password)

    @property
    def size(self) -> int:
        return self.settings.smtp_connections

    @property
    def message_domain(self) -> str:
        return parseaddr(self.settings.smtp_from)[1].rpartition("@")[2] or "doorstroom.local"

    def message_id(self, delivery_id: uuid.UUID) -> str:
        """Made from the delivery alone: a mail sent again after a crash (accepted by the server,
        not yet recorded) carries the same Message-ID, so it is recognisable downstream."""
        return f"<{delivery_id}@{self.message_domain}>"

    def build(self, recipient: str, mail: Mail, delivery_id: uuid.UUID) -> Outgoing:
        """The mail of one delivery; raises Unbuildable when it cannot be made.

        For a plain address the message is written as bytes directly (the email package's header
        parsing was the largest cost of a mail); its headers are the same: From, To, Subject
        (RFC 2047 when not ASCII), Date, Message-ID, Auto-Submitted and a UTF-8 text body."""
        if _CONTROL.search(recipient):
            raise Unbuildable("het adres bevat een stuurteken")
        if self._from is not None and _PLAIN_ADDRESS.fullmatch(recipient):
            subject = header_text(mail.subject)
            if not subject.isascii() or len(subject) > 70:
                subject = Header(subject, "utf-8" if not subject.isascii() else "us-ascii",
                                 header_name="Subject").encode(linesep="\r\n")
            body = mail.body.encode("utf-8")
            if mail.body.isascii() and all(len(line) <= 76 for line in mail.body.splitlines()):
                encoding = b"7bit"
            else:
                encoding, body = b"quoted-printable", binascii.b2a_qp(body, istext=True)
            head = (f"From: {self._from}\r\nTo: {recipient}\r\nSubject: {subject}\r\n"
                    f"Date: {format_datetime(datetime.now(UTC))}\r\nMessage-ID: {self.message_id(delivery_id)}\r\n"
                    "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
                    'Content-Type: text/plain; charset="utf-8"\r\n').encode("ascii")
            data = head + b"Content-Transfer-Encoding: " + encoding + b"\r\n\r\n" + body.replace(b"\r\n", b"\n") \
                .replace(b"\n", b"\r\n")
            return Outgoing(self._sender, recipient, data=data)
        return Outgoing(self._sender, recipient, message=self._build_message(recipient, mail, delivery_id))

    def _build_message(self, recipient: str, mail: Mail, delivery_id: uuid.UUID) -> EmailMessage:
        try:
            msg = EmailMessage()
            msg["From"] = self.settings.smtp_from
            msg["To"] = Address(addr_spec=recipient)
            msg["Subject"] = header_text(mail.subject)
            msg["Date"] = format_datetime(datetime.now(UTC))
            msg["Message-ID"] = self.message_id(delivery_id)
            msg["Auto-Submitted"] = "auto-generated"
            msg.set_content(mail.body)
        except (ValueError, TypeError, IndexError, email.errors.MessageError) as exc:
            raise Unbuildable(str(exc)[:300]) from exc
        return msg

    async def send(self, mail: Outgoing) -> None:
        """Send over an idle connection; raises TemporaryFailure or PermanentFailure."""
        client = await self._idle.get()
        try:
            if not client.is_connected:
                await client.connect()
            if mail.data is not None:
                await client.sendmail(mail.sender, [mail.recipient], mail.data)
            else:
                await client.send_message(mail.message)
        except Exception as exc:
            if not isinstance(exc, aiosmtplib.SMTPResponseException) or isinstance(
                    exc, aiosmtplib.SMTPServerDisconnected):
                with contextlib.suppress(Exception):
                    client.close()
            raise _classify(exc) from exc
        finally:
            self._idle.put_nowait(client)

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.quit(), 2)
