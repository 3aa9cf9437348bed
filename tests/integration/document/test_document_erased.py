"""The retention rule in the document service: when the dossier service erases a dossier
(dossier.erased), its PDFs go at once; a PDF a request was still rendering is not kept (a tombstone),
and the cleanup deletes one stored just before; other files stay."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.document import files
from services.document.app import make_app
from services.document.settings import DocumentSettings
from shared.app import CONSUMER, DB
from shared.events.dossier_events import DossierErased
from shared.events.envelope import Envelope
from tests.support.apps import serve, settings


def erased(dossier_id: uuid.UUID) -> Envelope:
    data = DossierErased(dossier_id=dossier_id, student_id=uuid.uuid4(), school_id=uuid.uuid4(),
                         reason="completed", erased_at=datetime.now(UTC))
    return Envelope(source="/doorstroom/dossier", type="dossier.erased", subject=str(dossier_id),
                    data=data.model_dump(mode="json"))


async def test_an_erased_dossier_loses_its_pdfs_and_gets_none_again(unique):
    app = make_app(settings(DocumentSettings, f"doc_erase_{unique}", render_processes=1, print_job_poll_seconds=60))
    async with serve(app):
        gone, kept = uuid.uuid4(), uuid.uuid4()
        ttl = timedelta(days=14)
        async with app[DB].acquire() as conn:
            for n, dossier in enumerate((gone, gone, kept)):
                assert await files.store(conn, content_hash=f"dossier:{unique}:{n}", kind="dossier", pages=None,
                                         data=b"%PDF-1.7 " + dossier.bytes, ttl=ttl, dossier_id=dossier)
        assert await app[CONSUMER].process(erased(gone)) is True
        async with app[DB].acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM files WHERE dossier_id = $1", gone) == 0
            assert await conn.fetchval("SELECT count(*) FROM files WHERE dossier_id = $1", kept) == 1
            # a request that was still rendering it: nothing is kept
            assert await files.store(conn, content_hash=f"dossier:{unique}:late", kind="dossier", pages=None,
                                     data=b"%PDF-1.7 late", ttl=ttl, dossier_id=gone) is None
            # one stored just before the tombstone (the race the other way): the cleanup deletes it
            await conn.execute("""INSERT INTO files (id, content_hash, kind, size_bytes, data, expires_at, dossier_id)
                                  VALUES ($1, $2, 'dossier', 1, $3, now() + interval '1 day', $4)""",
                               uuid.uuid4(), f"dossier:{unique}:race", files.seal(b"%PDF"), gone)
        await files.remove_expired(app[DB])
        async with app[DB].acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM files WHERE dossier_id = $1", gone) == 0
            assert await conn.fetchval("SELECT count(*) FROM files") == 1
