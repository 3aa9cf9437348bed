"""Print jobs: a batch of activation letters becomes one PDF (one letter per page, class then
name order), its state and progress are visible to the requester only, identical batches are
rendered once, a job that keeps failing is given up and can be retried, files expire."""
from __future__ import annotations

import asyncio
import io
import uuid

import pytest
from pypdf import PdfReader

from services.document.app import WORKER, make_app
from services.document.files import remove_expired
from services.document.settings import DocumentSettings
from shared.app import CONSUMER, DB
from tests.integration.document.letters import (assert_letters_in_order, envelope, expected_order, job_of_batch,
                                                letters_batch, pdf_pages, wait_for_state)
from tests.support.apps import serve, settings
from tests.support.auth import token_issuer


def _settings(unique: str, issuer, **overrides) -> DocumentSettings:
    values = dict(auth_jwks_url=issuer.jwks_url, render_processes=1, letters_chunk_size=7,
                  print_job_poll_seconds=0.2, public_base_url="https://portaal.example.nl")
    values.update(overrides)
    return settings(DocumentSettings, f"doc_{unique}", **values)


async def _outbox(app, event_type: str) -> list[dict]:
    async with app[DB].acquire() as conn:
        rows = await conn.fetch("SELECT envelope FROM outbox WHERE event_type = $1 ORDER BY id", event_type)
    return [r["envelope"] for r in rows]


async def test_a_batch_becomes_one_pdf_with_one_letter_per_page_in_class_and_name_order(unique):
    async with token_issuer() as issuer:
        app = make_app(_settings(unique, issuer))
        async with serve(app) as client:
            counsellor, school = uuid.uuid4(), uuid.uuid4()
            headers = issuer.headers("counsellor", account_id=counsellor, school_id=school)
            data = letters_batch(30, school_id=school, requested_by=counsellor, email=f"decaan-{unique}@example.nl")
            assert await app[CONSUMER].process(envelope(data)) is True
            job = await job_of_batch(client, "", headers, data.batch_id)
            assert job["pages_total"] == 30 and job["kind"] == "activation_letters"
            job = await wait_for_state(client, "", headers, job["id"])
            assert job["state"] == "done" and job["state_label"] == "Klaar"
            assert job["progress"] == 100 and job["pages_done"] == 30
            assert job["download_path"] == f"/v1/print-jobs/{job['id']}/pdf"

            r = await client.get(job["download_path"], headers=headers)
            assert r.status == 200 and r.content_type == "application/pdf"
            assert "no-store" in r.headers["Cache-Control"]
            assert_letters_in_order(pdf_pages(await r.read()), data)

            [completed] = await _outbox(app, "document.print_job_completed")
            event = completed["data"]
            assert event["job_id"] == job["id"] and event["batch_id"] == str(data.batch_id) and event["pages"] == 30
            assert event["requested_by_email"] == f"decaan-{unique}@example.nl"
            assert event["download_url"] == f"https://portaal.example.nl/afdrukopdrachten/{job['id']}"
            assert not any(l.code.reveal() in str(completed) for l in data.letters), "no codes in events"
            async with app[DB].acquire() as conn:  # the codes are gone once the PDF is made
                assert await conn.fetchval("SELECT count(*) FROM print_job_letters") == 0
                assert await conn.fetchval("SELECT count(*) FROM print_job_chunks") == 0


async def test_only_the_requester_and_counsellors_of_the_school_see_a_job(unique):
    async with token_issuer() as issuer:
        app = make_app(_settings(unique, issuer))
        async with serve(app) as client:
            mentor, school = uuid.uuid4(), uuid.uuid4()
            owner = issuer.headers("mentor", account_id=mentor, school_id=school)
            data = letters_batch(3, school_id=school, requested_by=mentor)
            await app[CONSUMER].process(envelope(data))
            job = await wait_for_state(client, "", owner, (await job_of_batch(client, "", owner, data.batch_id))["id"])
            paths = [f"/v1/print-jobs/{job['id']}", f"/v1/print-jobs/{job['id']}/pdf"]
            for path in paths:
                assert (await client.get(path, headers=owner)).status == 200
                same_school = issuer.headers("counsellor", school_id=school)
                assert (await client.get(path, headers=same_school)).status == 200
                for other in (issuer.headers("mentor", school_id=school),  # another mentor of the school
                              issuer.headers("counsellor", school_id=uuid.uuid4())):
                    r = await client.get(path, headers=other)
                    assert r.status == 404 and r.content_type == "application/problem+json"
                assert (await client.get(path, headers=issuer.headers("student", school_id=school))).status == 403
                assert (await client.get(path)).status == 401
                expired = {"Authorization": f"Bearer {issuer.token('mentor', account_id=mentor, ttl=-60)}"}
                assert (await client.get(path, headers=expired)).status == 401
            other_mentor = issuer.headers("mentor", school_id=school)
            assert (await (await client.get("/v1/print-jobs", headers=other_mentor)).json())["items"] == []
            assert (await client.get(f"/v1/print-jobs/{uuid.uuid4()}", headers=owner)).status == 404
            assert (await client.get("/v1/print-jobs/niet-een-id", headers=owner)).status == 404
            r = await client.get("/v1/print-jobs", params={"batch_id": "x"}, headers=owner)
            assert r.status == 422 and (await r.json())["errors"][0]["field"] == "batch_id"


async def test_state_goes_from_queued_to_rendering_with_progress_to_done(unique):
    async with token_issuer() as issuer:
        app = make_app(_settings(unique, issuer, letters_chunk_size=4, print_job_poll_seconds=60))
        async with serve(app) as client:
            worker = app[WORKER]
            worker.pause()  # drive the worker by hand
            await asyncio.sleep(0.1)
            counsellor, school = uuid.uuid4(), uuid.uuid4()
            headers = issuer.headers("counsellor", account_id=counsellor, school_id=school)
            data = letters_batch(10, school_id=school, requested_by=counsellor)
            await app[CONSUMER].process(envelope(data))
            job = await job_of_batch(client, "", headers, data.batch_id)
            assert (job["state"], job["state_label"], job["progress"]) == ("queued", "In de wachtrij", 0)
            r = await client.get(f"/v1/print-jobs/{job['id']}/pdf", headers=headers)
            assert r.status == 409 and (await r.json())["code"] == "not-ready"

            claimed = await worker.claim()
            assert str(claimed["id"]) == job["id"]
            await worker.render_piece(claimed, 0)
            job = await (await client.get(f"/v1/print-jobs/{job['id']}", headers=headers)).json()
            assert (job["state"], job["state_label"]) == ("rendering", "Bezig met maken")
            assert (job["pages_done"], job["progress"]) == (4, 40)

            await worker.process(claimed)
            job = await (await client.get(f"/v1/print-jobs/{job['id']}", headers=headers)).json()
            assert job["state"] == "done" and job["pages_done"] == 10
            async with app[DB].acquire() as conn:
                rendered = await conn.fetchval("SELECT chunks_rendered FROM print_jobs WHERE id = $1",
                                               uuid.UUID(job["id"]))
            assert rendered == 3, "the piece rendered before is not rendered again"
            r = await client.get(f"/v1/print-jobs/{job['id']}/pdf", headers=headers)
            assert_letters_in_order(pdf_pages(await r.read()), data)


async def test_the_same_batch_is_one_job_and_identical_letters_are_rendered_once(unique):
    async with token_issuer() as issuer:
        app = make_app(_settings(unique, issuer))
        async with serve(app) as client:
            counsellor, school = uuid.uuid4(), uuid.uuid4()
            headers = issuer.headers("counsellor", account_id=counsellor, school_id=school)
            data = letters_batch(12, school_id=school, requested_by=counsellor)
            env = envelope(data)
            assert await app[CONSUMER].process(env) is True
            assert await app[CONSUMER].process(env) is False  # redelivered
            assert await app[CONSUMER].process(envelope(data)) is True  # published twice: still one job
            first = await wait_for_state(client, "", headers, (await job_of_batch(client, "", headers, data.batch_id))["id"])

            again = data.model_copy(update={"batch_id": uuid.uuid4()})  # the same letters, another batch
            await app[CONSUMER].process(envelope(again))
            second = await wait_for_state(client, "", headers, (await job_of_batch(client, "", headers, again.batch_id))["id"])
            assert second["state"] == "done" and second["id"] != first["id"]
            async with app[DB].acquire() as conn:
                jobs = await conn.fetch("SELECT file_id, reused_file, chunks_rendered FROM print_jobs ORDER BY created_at")
                assert len(jobs) == 2
                assert jobs[0]["file_id"] == jobs[1]["file_id"] and jobs[1]["reused_file"] is True
                assert jobs[1]["chunks_rendered"] == 0
                assert await conn.fetchval("SELECT count(*) FROM files") == 1
            pdfs = [await (await client.get(j["download_path"], headers=headers)).read() for j in (first, second)]
            assert pdfs[0] == pdfs[1]
            assert len(await _outbox(app, "document.print_job_completed")) == 2


async def test_a_job_that_keeps_failing_is_given_up_with_an_event_and_can_be_retried(unique):
    async with token_issuer() as issuer:
        app = make_app(_settings(unique, issuer, print_job_max_attempts=2, print_job_poll_seconds=60))
        async with serve(app) as client:
            worker = app[WORKER]
            worker.pause()
            await asyncio.sleep(0.1)
            mentor, school = uuid.uuid4(), uuid.uuid4()
            headers = issuer.headers("mentor", account_id=mentor, school_id=school)
            data = letters_batch(5, school_id=school, requested_by=mentor, email=f"mentor-{unique}@example.nl")
            await app[CONSUMER].process(envelope(data))
            job = await job_of_batch(client, "", headers, data.batch_id)
            r = await client.post(f"/v1/print-jobs/{job['id']}/retry", headers=headers)
            assert r.status == 409 and (await r.json())["code"] == "not-failed"
            async with app[DB].acquire() as conn:  # as if two workers died rendering it
                await conn.execute("UPDATE print_jobs SET attempts = 2 WHERE id = $1", uuid.UUID(job["id"]))
            assert await worker.run_once() is True
            job = await (await client.get(f"/v1/print-jobs/{job['id']}", headers=headers)).json()
            assert job["state"] == "failed" and job["state_label"] == "Mislukt" and "niet gelukt" in job["error"]
            [failed] = await _outbox(app, "document.print_job_failed")
            assert failed["data"]["requested_by_email"] == f"mentor-{unique}@example.nl"
            assert failed["data"]["page_url"].endswith(f"/afdrukopdrachten/{job['id']}")

            r = await client.post(f"/v1/print-jobs/{job['id']}/retry", headers=headers)
            assert r.status == 202 and (await r.json())["state"] == "queued"
            assert await worker.run_once() is True
            r = await client.get(f"/v1/print-jobs/{job['id']}/pdf", headers=headers)
            assert r.status == 200
            assert_letters_in_order(pdf_pages(await r.read()), data)


async def test_an_empty_batch_fails_at_once(unique):
    async with token_issuer() as issuer:
        app = make_app(_settings(unique, issuer))
        async with serve(app) as client:
            mentor = uuid.uuid4()
            headers = issuer.headers("mentor", account_id=mentor)
            data = letters_batch(0, requested_by=mentor)
            await app[CONSUMER].process(envelope(data))
            job = await job_of_batch(client, "", headers, data.batch_id)
            assert job["state"] == "failed" and "geen leerlingen" in job["error"]
            assert len(await _outbox(app, "document.print_job_failed")) == 1


async def test_expired_files_are_removed_and_no_longer_served(unique):
    async with token_issuer() as issuer:
        app = make_app(_settings(unique, issuer))
        async with serve(app) as client:
            mentor = uuid.uuid4()
            headers = issuer.headers("mentor", account_id=mentor)
            data = letters_batch(2, requested_by=mentor)
            await app[CONSUMER].process(envelope(data))
            job = await wait_for_state(client, "", headers, (await job_of_batch(client, "", headers, data.batch_id))["id"])
            async with app[DB].acquire() as conn:
                await conn.execute("UPDATE files SET expires_at = now() - interval '1 second'")
            r = await client.get(job["download_path"], headers=headers)
            assert r.status == 410 and (await r.json())["code"] == "expired"
            async with app[DB].acquire() as conn:
                await conn.execute("UPDATE print_jobs SET expires_at = now() - interval '1 second'")
            assert await remove_expired(app[DB]) == (1, 1)
            assert (await client.get(f"/v1/print-jobs/{job['id']}", headers=headers)).status == 404


@pytest.mark.slow
async def test_health_answers_while_a_2000_letter_batch_renders(unique):
    async with token_issuer() as issuer:
        app = make_app(_settings(unique, issuer, render_processes=2, letters_chunk_size=50))
        async with serve(app) as client:
            counsellor = uuid.uuid4()
            headers = issuer.headers("counsellor", account_id=counsellor)
            data = letters_batch(2000, requested_by=counsellor)
            await app[CONSUMER].process(envelope(data))
            job = await job_of_batch(client, "", headers, data.batch_id)
            answered_while_rendering = 0
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 120
            while loop.time() < deadline:
                before = (await (await client.get(f"/v1/print-jobs/{job['id']}", headers=headers)).json())["state"]
                health = await client.get("/healthz")
                assert health.status == 200
                after = await (await client.get(f"/v1/print-jobs/{job['id']}", headers=headers)).json()
                if before == after["state"] == "rendering":
                    answered_while_rendering += 1
                if after["state"] in ("done", "failed"):
                    break
            assert after["state"] == "done"
            assert answered_while_rendering > 0, "the health check was answered while the batch was rendering"
            pdf = await (await client.get(after["download_path"], headers=headers)).read()
            reader = PdfReader(io.BytesIO(pdf))
            assert len(reader.pages) == 2000
            ordered = expected_order(data)
            for n in (0, 999, 1999):  # reading back all 2,000 pages is the other tests' job (smaller batches)
                assert ordered[n].code.reveal() in reader.pages[n].extract_text()


class _BrokenPool:
    """A render pool whose every render process dies."""

    processes = 1

    async def run(self, *args, **kwargs):
        from services.document.render_pool import RenderUnavailable
        raise RenderUnavailable("Een renderproces is gestopt.")


async def test_a_failed_render_is_retried_later_and_then_completes(unique):
    async with token_issuer() as issuer:
        app = make_app(_settings(unique, issuer, print_job_poll_seconds=60))
        async with serve(app) as client:
            worker = app[WORKER]
            worker.pause()
            await asyncio.sleep(0.1)
            mentor = uuid.uuid4()
            headers = issuer.headers("mentor", account_id=mentor)
            data = letters_batch(9, requested_by=mentor)
            await app[CONSUMER].process(envelope(data))
            job = await job_of_batch(client, "", headers, data.batch_id)
            real_pool, worker.render = worker.render, _BrokenPool()
            assert await worker.run_once() is True
            job = await (await client.get(f"/v1/print-jobs/{job['id']}", headers=headers)).json()
            assert job["state"] == "queued" and "opnieuw" in job["error"]
            assert await worker.run_once() is False, "not at once: after a pause"
            worker.render = real_pool
            async with app[DB].acquire() as conn:  # time passes
                await conn.execute("UPDATE print_jobs SET next_attempt_at = now()")
            assert await worker.run_once() is True
            job = await (await client.get(f"/v1/print-jobs/{job['id']}", headers=headers)).json()
            assert job["state"] == "done" and job["error"] is None
            r = await client.get(job["download_path"], headers=headers)
            assert_letters_in_order(pdf_pages(await r.read()), data)
