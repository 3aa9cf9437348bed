"""The season bench's mailbox: every mail at the SMTP sink sorted by kind (from the subject), recipient
and, for the mentor's mails, the dossier they are about, so that thousands of simulated people can
each wait for their own mail without scanning the sink; and the tokens and codes in the mails."""
from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Self

from shared.devtools.smtp_sink import SmtpSink

KINDS = (  # subject fragment -> kind
    ("Bevestig je e-mailadres", "verification"),
    ("Uitnodiging voor", "invitation"),
    ("Je activatiecode", "code"),
    ("staat voor u klaar", "part_a_submitted"),
    ("Deel B is klaar", "part_b_sent"),
    ("Het doorstroomdossier van", "parent_review"),
    ("heeft op je doorstroomdossier gereageerd", "parent_responded"),
)
CODE = re.compile(r"\b([A-HJ-NP-Z2-9]{4}(?:-[A-HJ-NP-Z2-9]{2,6})+)\b")
TOKEN = re.compile(r"token=([^\s&]+)")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def kind_of(subject: str) -> str:
    return next((kind for part, kind in KINDS if part in subject), "other")


def body_of(message) -> str:
    part = message.get_body(("plain",)) if message.is_multipart() else message
    return part.get_content()


class Mailbox:
    """``async with Mailbox(sink):``; then ``await box.wait(kind, address, about=None)`` answers
    (received_at as a unix time, body) of that mail, waiting for it."""

    def __init__(self, sink: SmtpSink, interval: float = 0.005) -> None:
        self.sink, self.interval = sink, interval
        self.seen = 0
        self.mails: dict[tuple, tuple[float, str]] = {}
        self.waiters: dict[tuple, asyncio.Future] = {}
        self.counts: Counter[str] = Counter()
        self.duplicates = 0
        self._task: asyncio.Task | None = None

    def _take(self) -> None:
        messages = self.sink.messages
        while self.seen < len(messages):
            m = messages[self.seen]
            self.seen += 1
            kind = kind_of(str(m["subject"]))
            self.counts[kind] += 1
            body = body_of(m)
            about = None
            if kind == "part_a_submitted":
                found = UUID.search(body)
                about = found.group(0) if found else None
            key = (kind, m.envelope_to[0].lower(), about)
            if key in self.mails:
                self.duplicates += 1
                continue
            self.mails[key] = (m.received_at.timestamp(), body)
            waiter = self.waiters.pop(key, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(self.mails[key])

    async def _run(self) -> None:
        while True:
            self._take()
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._task is not None
        self._task.cancel()

    async def wait(self, kind: str, address: str, about: str | None = None, timeout: float = 120) -> tuple[float, str]:
        key = (kind, address.lower(), about)
        if key in self.mails:
            return self.mails[key]
        waiter = self.waiters.setdefault(key, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(asyncio.shield(waiter), timeout)

    @staticmethod
    def token(body: str) -> str:
        return TOKEN.search(body).group(1)

    @staticmethod
    def code(body: str) -> str:
        return CODE.search(body).group(1)
