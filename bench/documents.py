"""Documents benchmark: activation letters and dossier PDFs through the document service, next to
the raw library (Typst) rendering the same content in the same run.

* letters: identity's event published on the broker -> the document service (a real process)
  records the job, renders it piece by piece in its process pool, merges, stores the PDF and
  publishes document.print_job_completed (the moment measured). Raw: the same letters rendered
  by Typst in one go in this process.
* dossier: ``GET /v1/dossiers/{id}/pdf?part=all`` (the service asks a stand-in dossier API on
  loopback, renders, stores) with a new answer each time, so every request renders; and the same
  request again when the content is unchanged (the stored file is reused). Raw: the same dossier
  rendered by Typst in this process.

    .venv/bin/python -m bench.documents [--letters 1000] [--dossiers 20] [--render-processes 2]

Runs against the local PostgreSQL and RabbitMQ with an exchange and databases of its own, removed after.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, date, datetime

import aiohttp

from services.document.rendering.dossier_layout import render_dossier_pdf
from services.document.rendering.letters import print_order, render_letters
from tests.integration.document.dossier_stub import dossier_stub
from tests.integration.document.letters import envelope, letters_batch
from tests.support import env
from tests.support.apps import ServiceProcess
from tests.support.auth import token_issuer
from tests.support.events import Probe, broker
from tests.unit.document.sample_dossier import sample_dossier


def raw_letters(data) -> float:
    letters = print_order([l.model_dump(mode="json") for l in data.letters])
    started = time.perf_counter()
    render_letters(school_name=data.school_name, register_url=data.register_url, expires_on=data.expires_at,
                   letters=letters, printed_on=date.today())
    return time.perf_counter() - started


def raw_dossier(n: int) -> list[float]:
    times = []
    for i in range(n + 1):
        dossier = sample_dossier()
        dossier["part_a"]["motivation"]["motivation"] = f"Antwoord {i}"
        started = time.perf_counter()
        render_dossier_pdf(dossier, "all", rendered_at=datetime.now(UTC))
        times.append(time.perf_counter() - started)
    return times[1:]  # the first one loads the fonts


async def through_service(n_letters: int, n_dossiers: int, processes: int) -> dict:
    run = uuid.uuid4().hex[:6]
    results: dict = {}
    async with token_issuer() as issuer, dossier_stub(issuer.jwks_url) as stub, \
            broker(env.EXCHANGE) as bus:
        probe = await Probe.bind(bus, "document.print_job_completed")
        service = await ServiceProcess("document", db=f"bench_doc_{run}", auth_jwks_url=issuer.jwks_url,
                                       dossier_url=stub.url, render_processes=processes,
                                       log_level="WARNING").start()
        try:
            counsellor = uuid.uuid4()
            headers = issuer.headers("counsellor", account_id=counsellor)
            data = letters_batch(n_letters, requested_by=counsellor, seed=3)
            results["letters_data"] = data
            message = envelope(data)
            started = time.perf_counter()
            await bus.publish(message.type, message.model_dump_json().encode(), message_id=str(message.id))
            [done] = await probe.wait_for(1, timeout=600)
            results["letters_s"] = time.perf_counter() - started
            async with aiohttp.ClientSession() as http:
                started = time.perf_counter()
                async with http.get(f"{service.url}/v1/print-jobs/{done['data']['job_id']}/pdf", headers=headers) as r:
                    assert r.status == 200, await r.text()
                    results["letters_bytes"] = len(await r.read())
                results["download_s"] = time.perf_counter() - started

                school, student = uuid.uuid4(), uuid.uuid4()
                dossier_id = stub.add(sample_dossier(), student_id=student, school_id=school)
                student_headers = issuer.headers("student", student_id=student, school_id=school)
                url = f"{service.url}/v1/dossiers/{dossier_id}/pdf"
                rendered, reused = [], []
                for i in range(n_dossiers + 1):
                    stub.dossiers[dossier_id].body["part_a"]["motivation"]["motivation"] = f"Antwoord {i}"
                    for bucket in (rendered, reused):  # new content: renders; the same again: reuses
                        started = time.perf_counter()
                        async with http.get(url, params={"part": "all"}, headers=student_headers) as r:
                            assert r.status == 200, await r.text()
                            await r.read()
                        if i:  # the first round warms up connections and the render process
                            bucket.append(time.perf_counter() - started)
                results["dossier_rendered"], results["dossier_reused"] = rendered, reused
        finally:
            await service.stop()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--dossiers", type=int, default=20)
    parser.add_argument("--render-processes", type=int, default=2)
    args = parser.parse_args()
    try:
        svc = await through_service(args.letters, args.dossiers, args.render_processes)
    finally:
        await env.delete_run_queues()
        await env.drop_databases()
    raw_s = raw_letters(svc["letters_data"])
    raw_d = raw_dossier(args.dossiers)
    ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    print(f"\n{args.letters} activation letters, {args.render_processes} render process(es), "
          "2 cores shared by everything")
    print(f"{'raw typst, one document, in process':<52} {args.letters / raw_s:>8.0f} pages/s  ({raw_s:.2f} s)")
    print(f"{'service: event in -> PDF stored -> event out':<52} {args.letters / svc['letters_s']:>8.0f} pages/s  "
          f"({svc['letters_s']:.2f} s; download {svc['download_s'] * 1000:.0f} ms, "
          f"{svc['letters_bytes'] / 1e6:.1f} MB)")
    print(f"ratio service/raw throughput: {raw_s / svc['letters_s']:.2f}")
    print(f"\none whole dossier PDF (part=all), median of {args.dossiers}")
    print(f"{'raw typst, in process':<52} {ms(raw_d):>8.1f} ms")
    print(f"{'service, new content (dossier API + render + store)':<52} {ms(svc['dossier_rendered']):>8.1f} ms")
    print(f"{'service, same content (dossier API + stored file)':<52} {ms(svc['dossier_reused']):>8.1f} ms")
    print(f"ratio service/raw time: {ms(svc['dossier_rendered']) / ms(raw_d):.1f}x rendering, "
          f"{ms(svc['dossier_reused']) / ms(raw_d):.1f}x reused")


if __name__ == "__main__":
    import uvloop
    uvloop.install()
    asyncio.run(main())
