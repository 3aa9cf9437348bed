"""Activation codes at rest in the document service (issue 10): the letters of a waiting job keep
their codes sealed, the rendered pieces and the finished PDF are sealed in the database, the job's
content hash gives nothing to guess a code with, and the requester still downloads the letters.
Files and codes kept in clear by an earlier version are sealed by the cleanup."""
from __future__ import annotations

import uuid

from services.document import files
from services.document.app import WORKER, make_app
from services.document.rendering.letters import content_hash, print_order
from services.document.settings import DocumentSettings
from shared.app import CONSUMER, DB
from shared.sealing import is_sealed_bytes
from tests.integration.document.letters import (assert_letters_in_order, envelope, job_of_batch, letters_batch,
                                                pdf_pages, wait_for_state)
from tests.support.apps import serve, settings
from tests.support.auth import token_issuer


async def test_codes_pieces_and_letters_rest_sealed_and_the_download_still_works(unique):
    async with token_issuer() as issuer:
        app = make_app(settings(DocumentSettings, f"doc_seal_{unique}", auth_jwks_url=issuer.jwks_url,
                                render_processes=1, letters_chunk_size=4, print_job_poll_seconds=60,
                                public_base_url="https://portaal.example.nl"))
        async with serve(app) as client:
            worker = app[WORKER]
            worker.pause()
            counsellor, school = uuid.uuid4(), uuid.uuid4()
            headers = issuer.headers("counsellor", account_id=counsellor, school_id=school)
            data = letters_batch(9, school_id=school, requested_by=counsellor)
            codes = [letter.code.reveal() for letter in data.letters]
            assert await app[CONSUMER].process(envelope(data)) is True
            job = await job_of_batch(client, "", headers, data.batch_id)
            async with app[DB].acquire() as conn:
                stored = [r["code"] for r in await conn.fetch("SELECT code FROM print_job_letters")]
                digest = await conn.fetchval("SELECT content_hash FROM print_jobs")
            assert len(stored) == 9 and all(c.startswith("sealed:v1:") for c in stored)
            assert not set(codes) & set(stored)
            plain_hash = content_hash(school_name=data.school_name, register_url=data.register_url,
                                      expires_on=data.expires_at,
                                      letters=print_order([{**l.model_dump(mode="json"), "code": l.code.reveal()}
                                                           for l in data.letters]))
            assert digest.startswith("letters:") and digest != plain_hash, "a keyed hash: no code can be tried against it"

            claimed = await worker.claim()  # one piece rendered, then the worker is stopped, say
            await worker.render_piece(claimed, 0)
            async with app[DB].acquire() as conn:
                piece = await conn.fetchval("SELECT pdf FROM print_job_chunks")
            assert is_sealed_bytes(piece) and not piece.startswith(b"%PDF")
            text = "".join(pdf_pages(files.unseal(piece, files.CHUNK_PURPOSE)))
            assert sum(code in text for code in codes) == 4

            await worker.process(claimed)
            job = await wait_for_state(client, "", headers, job["id"])
            assert job["state"] == "done"
            async with app[DB].acquire() as conn:
                stored_file = await conn.fetchrow("SELECT data, size_bytes FROM files")
            assert is_sealed_bytes(stored_file["data"]) and b"%PDF" not in stored_file["data"]
            r = await client.get(job["download_path"], headers=headers)
            assert r.status == 200
            pdf = await r.read()
            assert pdf.startswith(b"%PDF") and len(pdf) == stored_file["size_bytes"]
            assert_letters_in_order(pdf_pages(pdf), data)


async def test_files_and_codes_kept_in_clear_before_are_sealed_by_the_cleanup(unique):
    async with token_issuer() as issuer:
        app = make_app(settings(DocumentSettings, f"doc_legacy_{unique}", auth_jwks_url=issuer.jwks_url,
                                render_processes=1, print_job_poll_seconds=60))
        async with serve(app) as client:
            app[WORKER].pause()
            counsellor, school = uuid.uuid4(), uuid.uuid4()
            headers = issuer.headers("counsellor", account_id=counsellor, school_id=school)
            data = letters_batch(2, school_id=school, requested_by=counsellor)
            await app[CONSUMER].process(envelope(data))
            job = await job_of_batch(client, "", headers, data.batch_id)
            legacy_pdf = b"%PDF-1.7\n% een brief van vroeger met de code ABCD-EFGH-JK\n%%EOF\n"
            async with app[DB].acquire() as conn:  # as an earlier version left them
                await conn.execute("UPDATE print_job_letters SET code = 'ABCD-EFGH-JK' WHERE seq = 0")
                file_id = uuid.uuid4()
                await conn.execute(
                    """INSERT INTO files (id, content_hash, kind, pages, size_bytes, data, expires_at)
                       VALUES ($1, 'oud', 'activation_letters', 1, $2, $3, now() + interval '1 day')""",
                    file_id, len(legacy_pdf), legacy_pdf)
                await conn.execute("UPDATE print_jobs SET state = 'done', file_id = $2 WHERE id = $1",
                                   uuid.UUID(job["id"]), file_id)
                assert await files.read(conn, file_id) == legacy_pdf, "read as it is until sealed"
                assert await files.seal_plain(conn) == 2
                assert await files.seal_plain(conn) == 0
                stored = await conn.fetchval("SELECT data FROM files WHERE id = $1", file_id)
                code = await conn.fetchval("SELECT code FROM print_job_letters WHERE seq = 0")
            assert is_sealed_bytes(stored) and code.startswith("sealed:v1:")
            r = await client.get(f"/v1/print-jobs/{job['id']}/pdf", headers=headers)
            assert r.status == 200 and await r.read() == legacy_pdf
