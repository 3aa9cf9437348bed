"""The broker link is cut while a request commits: the request succeeds, the event arrives
once the link is back, and the consumer resumes by itself."""
from __future__ import annotations

import asyncio

from services.identity.app import make_app as make_identity
from services.identity.settings import IdentitySettings
from services.notification.app import make_app as make_notification
from services.notification.settings import NotificationSettings
from shared.app import BROKER
from shared.devtools.smtp_sink import SmtpSink
from tests.support import env
from tests.support.apps import serve, settings
from tests.support.tcp_proxy import TcpProxy

BSN = "111222333"  # passes the eleven test; no account has it, so every registration gets a mail


async def _wait(predicate, timeout):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.1)


async def test_request_succeeds_during_outage_and_mail_follows_after(unique):
    proxy = await TcpProxy("127.0.0.1", 5672).start()
    via_proxy = env.AMQP_URL.replace(":5672/", f":{proxy.port}/")
    async with SmtpSink() as sink:
        identity = make_identity(settings(IdentitySettings, f"outage_id_{unique}", amqp_url=via_proxy, event_exchange=f"ex.{unique}"))
        notification = make_notification(settings(NotificationSettings, f"outage_no_{unique}",
                                                  amqp_url=via_proxy, smtp_port=sink.port,
                                                  event_exchange=f"ex.{unique}"))
        async with serve(identity) as id_client, serve(notification):
            r = await id_client.post("/v1/registrations", json={"bsn": BSN, "email": f"voor-{unique}@example.nl"})
            assert r.status == 202
            await sink.wait_for(1, timeout=15)

            proxy.cut()
            await _wait(lambda: not identity[BROKER].is_connected, 10)
            r = await id_client.post("/v1/registrations", json={"bsn": BSN, "email": f"tijdens-{unique}@example.nl"})
            assert r.status == 202, "the request must not depend on the broker"
            ready = await id_client.get("/readyz")
            assert ready.status == 503
            await asyncio.sleep(1.0)
            assert len(sink.messages) == 1

            proxy.restore()
            mails = await sink.wait_for(2, timeout=30)
            assert mails[1].envelope_to == [f"tijdens-{unique}@example.nl"]
            # and the consumer took up its work again: a fresh request flows end to end
            r = await id_client.post("/v1/registrations", json={"bsn": BSN, "email": f"na-{unique}@example.nl"})
            assert r.status == 202
            await sink.wait_for(3, timeout=15)
            assert (await id_client.get("/readyz")).status == 200
    await proxy.close()
