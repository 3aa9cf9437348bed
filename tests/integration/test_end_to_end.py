"""Identity and notification as real processes: one HTTP request, exactly one mail."""
from __future__ import annotations

import asyncio

import aiohttp

from shared.devtools.smtp_sink import SmtpSink
from tests.support.apps import ServiceProcess


async def test_one_request_leads_to_exactly_one_mail(unique):
    async with SmtpSink() as sink:
        exchange = f"ex.{unique}"  # events of other tests in this run must not reach this sink
        identity = await ServiceProcess("identity", db=f"e2e_id_{unique}", event_exchange=exchange).start()
        notification = await ServiceProcess("notification", db=f"e2e_no_{unique}", smtp_port=sink.port, log_level="INFO", event_exchange=exchange,
                                            workers=2).start()
        try:
            async with aiohttp.ClientSession() as http:
                async with http.post(identity.url + "/v1/registrations",
                                     json={"bsn": "111222333", "email": f"Roos.{unique}@Example.nl"},
                                     headers={"X-Request-ID": f"req-{unique}"}) as r:
                    assert r.status == 202
                    assert r.headers["X-Request-ID"] == f"req-{unique}"
            [mail] = await sink.wait_for(1, timeout=20)
            assert mail.envelope_to == [f"roos.{unique}@example.nl"]
            assert "/account/verifieren?token=" in mail.get_body().get_content()
            await asyncio.sleep(1.5)
            assert len(sink.messages) == 1
        finally:
            codes = [await notification.stop(), await identity.stop()]
        assert codes == [0, 0], "SIGTERM stops the services cleanly"
        # the request id travelled from the HTTP request into the notification's logs
        assert f"req-{unique}" in notification.log_path.read_text()
