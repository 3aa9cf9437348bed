"""An SMTP sink for development and tests.

It accepts every mail on loopback, keeps it in memory (``SmtpSink.messages``) and, when a
directory is given, also stores it as an ``.eml`` file. Nothing is ever relayed.

Test behaviours are selected by the local part of a recipient address (case-insensitive):

* ``tempfail…@…`` (e.g. ``tempfail+3@example.org``): that RCPT is answered with
  ``451 4.3.0 Tijdelijke fout, probeer later opnieuw``;
* ``reject…@…``: that RCPT is answered with ``550 5.1.1 Onbekende ontvanger``.

Other recipients of the same mail are accepted as usual, so a mail with one good and one
``reject`` recipient is delivered to the good one only.

For fault tests, two switches on the sink itself: ``sink.tempfail_all = True`` answers every RCPT
with the 451 above (a mail server that is having a bad moment), and ``sink.delay = 0.3`` makes
the server wait that many seconds before it answers DATA (a slow mail server).

Use from an asyncio test (the server runs in the running event loop)::

    async with SmtpSink() as sink:
        ...  # send to 127.0.0.1:sink.port
        [message] = await sink.wait_for(1)
        assert message.envelope_to == ["leerling@example.org"]

or from the command line::

    python -m shared.devtools.smtp_sink --host 127.0.0.1 --port 1025 --dir var/mail
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
import itertools
import logging
import os
import signal
import sys
from datetime import datetime, timezone
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

__all__ = ["SmtpSink", "ReceivedMessage", "TEMPFAIL_REPLY", "REJECT_REPLY"]

TEMPFAIL_REPLY = "451 4.3.0 Tijdelijke fout, probeer later opnieuw"
REJECT_REPLY = "550 5.1.1 Onbekende ontvanger"
_TEMPFAIL_PREFIX = "tempfail"
_REJECT_PREFIX = "reject"

log = logging.getLogger(__name__)


class ReceivedMessage(EmailMessage):
    """A received mail: the parsed message plus its SMTP envelope.

    ``envelope_from`` is the MAIL FROM address, ``envelope_to`` the accepted RCPT TO addresses,
    ``received_at`` an aware UTC datetime, ``raw`` the bytes as received and ``path`` the
    ``.eml`` file (``None`` when the sink has no directory).
    """

    envelope_from: str = ""
    envelope_to: list[str]
    received_at: datetime
    raw: bytes = b""
    path: Path | None = None

    def __init__(self, policy: Any = None) -> None:
        super().__init__(policy=policy if policy is not None else email.policy.default)
        self.envelope_to = []
        self.received_at = datetime.now(timezone.utc)


_POLICY = email.policy.default.clone(message_factory=ReceivedMessage)


def _local_part(address: str) -> str:
    return address.rsplit("@", 1)[0].strip().strip("<>").lower()


class _Handler:
    """aiosmtpd handler hooks; all state lives in the sink."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        local = _local_part(address)
        if self._sink.tempfail_all or local.startswith(_TEMPFAIL_PREFIX):
            log.info("RCPT %s -> %s", address, TEMPFAIL_REPLY)
            return TEMPFAIL_REPLY
        if local.startswith(_REJECT_PREFIX):
            log.info("RCPT %s -> %s", address, REJECT_REPLY)
            return REJECT_REPLY
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self._sink.delay:
            await asyncio.sleep(self._sink.delay)
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):  # only with decode_data=True, which we do not use
            raw = raw.encode("utf-8", "surrogateescape")
        message = self._sink._store(envelope.mail_from or "", list(envelope.rcpt_tos), raw)
        return f"250 2.0.0 OK: opgeslagen als {message.path.name}" if message.path else "250 2.0.0 OK"


class _TrackingSMTP(SMTP):
    """aiosmtpd's protocol, remembering open connections so ``stop()`` can close them."""

    def __init__(self, sink: SmtpSink, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sink = sink

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._sink._connections.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._sink._connections.discard(self)
        super().connection_lost(error)


class SmtpSink:
    """An in-process SMTP server that keeps what it receives.

    ``port=0`` picks a free port; read the actual one from ``.port`` after ``start()``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        directory: Path | str | None = None,
        *,
        hostname: str = "smtp-sink.doorstroom.test",
        parse: bool = True,
    ) -> None:
        self.host = host
        # parse=False: keep the envelope, the time and the raw bytes only (a benchmark counting
        # mails at hundreds per second; parsing each would cost the machine's cores it measures)
        self.parse = parse
        self.port = port
        self.directory = Path(directory) if directory is not None else None
        self.hostname = hostname
        self.messages: list[ReceivedMessage] = []
        self.tempfail_all = False
        self.delay = 0.0
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[_TrackingSMTP] = set()
        self._arrived = asyncio.Event()
        self._counter = itertools.count(1)
        self._handler = _Handler(self)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> SmtpSink:
        if self._server is not None:
            raise RuntimeError("SmtpSink is already started")
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()  # bound to the loop the sink runs in
        self._server = await loop.create_server(
            lambda: _TrackingSMTP(
                self,
                self._handler,
                hostname=self.hostname,
                ident="Doorstroom SMTP-sink",
                enable_SMTPUTF8=True,
                loop=loop,
            ),
            host=self.host,
            port=self.port,
            reuse_address=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        # Clients such as a pooled SMTP sender keep connections open; close them, otherwise
        # wait_closed() (Python 3.12+) would wait for them forever.
        for protocol in list(self._connections):
            if protocol.transport is not None:
                protocol.transport.close()
        await server.wait_closed()
        self._connections.clear()

    async def __aenter__(self) -> SmtpSink:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # -- inspection --------------------------------------------------------------------------

    async def wait_for(self, count: int, timeout: float = 10) -> list[ReceivedMessage]:
        """Wait until at least ``count`` messages have arrived in total; return them all.

        Raises ``TimeoutError`` (with what did arrive) when they do not come in time.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.messages) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"expected {count} message(s) within {timeout} s, received "
                    f"{len(self.messages)}: {[m['Subject'] for m in self.messages]!r}"
                )
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                pass
        return list(self.messages)

    def messages_to(self, address: str) -> list[ReceivedMessage]:
        """Messages whose envelope includes ``address`` (case-insensitive)."""
        wanted = address.lower()
        return [m for m in self.messages if wanted in (a.lower() for a in m.envelope_to)]

    def clear(self) -> None:
        """Forget the messages in memory (files on disk stay)."""
        self.messages.clear()

    # -- internals ---------------------------------------------------------------------------

    def _store(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> ReceivedMessage:
        if self.parse:
            message: ReceivedMessage = BytesParser(policy=_POLICY).parsebytes(raw)  # type: ignore[assignment]
        else:
            message = ReceivedMessage()
        message.envelope_from = mail_from
        message.envelope_to = rcpt_tos
        message.raw = raw
        if self.directory is not None:
            message.path = self._write(message, raw)
        self.messages.append(message)
        self._arrived.set()
        return message

    def _write(self, message: ReceivedMessage, raw: bytes) -> Path:
        assert self.directory is not None
        stamp = message.received_at.strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{os.getpid()}-{next(self._counter):06d}.eml"
        # The envelope goes in front as headers, so a developer opening the file sees it.
        envelope = (
            f"X-Envelope-From: <{_bare(message.envelope_from)}>\r\n"
            f"X-Envelope-To: {', '.join(f'<{a}>' for a in message.envelope_to)}\r\n"
        ).encode("utf-8")
        path = self.directory / name
        tmp = path.with_suffix(".eml.tmp")
        tmp.write_bytes(envelope + raw)
        tmp.replace(path)  # atomic: watchers never see half a mail
        return path


def _bare(address: str) -> str:
    """The address without angle brackets; empty for the null sender."""
    return address.strip().strip("<>")


# -- command line ----------------------------------------------------------------------------


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m shared.devtools.smtp_sink",
        description="SMTP-sink voor ontwikkeling: ontvangt alle mail en bewaart die lokaal.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="adres om op te luisteren (127.0.0.1)")
    parser.add_argument("--port", type=int, default=1025, help="poort (1025; 0 = vrije poort)")
    parser.add_argument("--dir", type=Path, default=None, help="map voor .eml-bestanden")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    sink = SmtpSink(args.host, args.port, args.dir)
    try:
        await sink.start()
    except OSError as exc:
        print(f"SMTP-sink kan niet luisteren op {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    where = f"mails in {sink.directory.resolve()}" if sink.directory else "mails worden niet bewaard"
    print(f"SMTP-sink luistert op {sink.host}:{sink.port} ({where}); "
          f"adressen tempfail…@ geven 451, reject…@ geven 550", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    try:
        while not stop.is_set():
            waiter = asyncio.ensure_future(sink._arrived.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()
            sink._arrived.clear()
            for message in sink.messages:
                target = f" -> {message.path}" if message.path else ""
                print(f"ontvangen van <{message.envelope_from}> aan "
                      f"{', '.join(message.envelope_to)}: {message['Subject']!s}{target}", flush=True)
            sink.clear()  # long runs keep nothing in memory; the files are the record
    finally:
        await sink.stop()
        print("SMTP-sink gestopt", flush=True)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command chatter
    asyncio.run(_serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
