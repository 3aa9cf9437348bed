"""The development SMTP sink keeps every mail with its envelope; parse=False keeps the raw bytes
only (for benchmarks), the default parses the message for the tests that read it."""
from __future__ import annotations

import aiosmtplib

from shared.devtools.smtp_sink import SmtpSink

RAW = b"From: a@example.nl\r\nTo: b@example.nl\r\nSubject: Hallo\r\n\r\nDag Roos.\r\n"


async def test_a_parsing_sink_and_a_counting_sink_keep_the_envelope_and_the_bytes():
    for parse in (True, False):
        async with SmtpSink(parse=parse) as sink:
            async with aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port) as client:
                await client.sendmail("a@example.nl", ["b@example.nl"], RAW)
            [mail] = await sink.wait_for(1)
            assert mail.envelope_to == ["b@example.nl"] and mail.envelope_from == "a@example.nl"
            assert mail.raw.replace(b"\r\n", b"\n") == RAW.replace(b"\r\n", b"\n")
            assert mail.received_at.tzinfo is not None
            assert mail["Subject"] == ("Hallo" if parse else None)
