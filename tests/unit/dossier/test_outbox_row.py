"""``store.outbox_row`` builds the outbox row ``Outbox.add`` writes (the event written in the
change's own statement must be the same envelope), apart from its new id."""
from __future__ import annotations

import uuid

from services.dossier import store
from shared.events.dossier_events import PartBStarted
from shared.logs import request_id_var
from shared.outbox import Outbox


class _Conn:
    def __init__(self) -> None:
        self.args: tuple = ()

    def is_in_transaction(self) -> bool:
        return True

    async def execute(self, sql: str, *args) -> None:
        self.args = args


async def test_the_row_is_the_one_outbox_add_writes() -> None:
    outbox = Outbox("dossier")
    payload = PartBStarted(dossier_id=uuid.uuid4(), student_id=uuid.uuid4(), by_staff_id=uuid.uuid4())
    token = request_id_var.set("req-1")
    try:
        conn = _Conn()
        await outbox.add(conn, payload, subject="s-1")
        event_id, event_type, envelope = store.outbox_row(outbox, payload, subject="s-1")
    finally:
        request_id_var.reset(token)
    added_id, added_type, added = conn.args
    assert event_type == added_type == "dossier.part_b_started"
    assert isinstance(event_id, uuid.UUID) and event_id != added_id and envelope["id"] == str(event_id)
    assert envelope["requestid"] == "req-1"
    ignore = {"id", "time"}
    assert {k: v for k, v in envelope.items() if k not in ignore} == {k: v for k, v in added.items() if k not in ignore}
