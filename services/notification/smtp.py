"""A small pool of reused SMTP connections (aiosmtplib), and what an SMTP answer means for us."""
from __future__ import annotations

import asyncio
import contextlib
import email.errors
import re
import uuid
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from datetime import UTC, datetime

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

    def build(self, recipient: str, mail: Mail, delivery_id: uuid.UUID) -> EmailMessage:
        """The mail of one delivery; raises Unbuildable when it cannot be made."""
        try:
            msg = EmailMessage()
            msg["From"] = self.settings.smtp_from
            if _CONTROL.search(recipient):
                raise ValueError("het adres bevat een stuurteken")
            msg["To"] = Address(addr_spec=recipient)
            msg["Subject"] = header_text(mail.subject)
            msg["Date"] = format_datetime(datetime.now(UTC))
            msg["Message-ID"] = self.message_id(delivery_id)
            msg["Auto-Submitted"] = "auto-generated"
            msg.set_content(mail.body)
        except (ValueError, TypeError, IndexError, email.errors.MessageError) as exc:
            raise Unbuildable(str(exc)[:300]) from exc
        return msg

    async def send(self, message: EmailMessage) -> None:
        """Send over an idle connection; raises TemporaryFailure or PermanentFailure."""
        client = await self._idle.get()
        try:
            if not client.is_connected:
                await client.connect()
            await client.send_message(message)
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
