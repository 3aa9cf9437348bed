"""The first platform admin: ``python -m services.identity.admin EMAIL "NAAM"``.

Makes the admin's staff record and account and sends the invitation mail (through the outbox, so
the identity service must run for it to leave). Later admins are made by an admin via the API.
"""
from __future__ import annotations

import asyncio
import sys

from services.identity.settings import IdentitySettings
from services.identity.store.staff import create_staff, invite
from shared import db
from shared.outbox import Outbox
from shared.problems import Problem
from shared.text import single_line_problem


async def create_admin(email: str, name: str) -> None:
    settings = IdentitySettings()
    dsn = settings.effective_database_url()
    await db.ensure_database(dsn)
    pool = await db.create_pool(dsn, min_size=1, max_size=2)
    try:
        await db.migrate(pool, [("shared", "shared.migrations"), ("identity", "services.identity.migrations")])
        outbox = Outbox("identity")
        async with pool.acquire() as conn, conn.transaction():
            staff_id = await create_staff(conn, outbox, role="admin", name=name, email=email, school_id=None)
            await invite(conn, outbox, settings, staff_id)
    finally:
        await pool.close()


def main(argv: list[str]) -> None:
    if len(argv) != 2 or "@" not in argv[0]:
        print('gebruik: python -m services.identity.admin EMAIL "NAAM"', file=sys.stderr)
        raise SystemExit(2)
    if problem := single_line_problem(argv[0].strip()) or single_line_problem(argv[1].strip()):
        print(problem, file=sys.stderr)
        raise SystemExit(2)
    try:
        asyncio.run(create_admin(argv[0].strip().lower(), argv[1].strip()))
    except Problem as exc:
        print(exc.detail, file=sys.stderr)
        raise SystemExit(1) from None
    print(f"Beheerder {argv[1]} <{argv[0]}> aangemaakt; de uitnodiging gaat per e-mail zodra identity draait.")


if __name__ == "__main__":
    main(sys.argv[1:])
