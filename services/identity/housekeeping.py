"""What identity no longer needs goes, hourly (a processor keeps personal data no longer than its
purpose needs, and no table grows without bound): the BSN waiting in a registration link once the
link is used or expired; mailed links, sessions (with their refresh tokens), login counters and
finished roster imports well after they stopped mattering; the guard rows that space out notice
mails; the answer kept for a repeated code request after a day."""
from __future__ import annotations

import logging
from datetime import timedelta

import asyncpg
from aiohttp import web

from services.identity.settings import IdentitySettings
from shared.app import DB
from shared.logs import log_fields
from shared.periodic import periodic

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 3600


async def sweep(conn: asyncpg.Connection, settings: IdentitySettings) -> dict[str, int]:
    """One pass; answers how many rows each step touched."""
    keep = timedelta(days=settings.housekeeping_retention_days)
    guard = timedelta(seconds=max(settings.mail_repeat_seconds, 3600))
    steps = {
        "bsn_in_links": ("""UPDATE email_tokens SET bsn_ciphertext = NULL, bsn_hmac = NULL
                            WHERE bsn_ciphertext IS NOT NULL AND (used_at IS NOT NULL OR expires_at < now())""", ()),
        "links": ("DELETE FROM email_tokens WHERE expires_at < now() - $1::interval", (keep,)),
        "sessions": ("""DELETE FROM sessions WHERE coalesce(ended_at, expires_at) < now() - $1::interval""", (keep,)),
        "counters": ("""DELETE FROM throttle WHERE last_failure_at < now() - interval '1 day'
                        AND (blocked_until IS NULL OR blocked_until < now())""", ()),
        "mail_guard": ("DELETE FROM mail_guard WHERE sent_at < now() - $1::interval", (guard,)),
        # finished roster imports (their counts and the e-mail addresses of new mentors)
        "roster_imports": ("""DELETE FROM roster_imports WHERE state IN ('done', 'failed')
                              AND coalesce(finished_at, updated_at) < now() - $1::interval""", (keep,)),
        # roster files kept for a preview that was never confirmed (they may hold BSNs, sealed)
        "roster_previews": ("""DELETE FROM roster_imports WHERE state = 'preview'
                               AND created_at < now() - interval '1 day'""", ()),
        # the answer kept to repeat a double-clicked code request (names of students): a day is plenty
        "batch_answers": ("""UPDATE activation_batches SET response = NULL
                             WHERE response IS NOT NULL AND created_at < now() - interval '1 day'""", ()),
    }
    done = {}
    for name, (sql, args) in steps.items():
        status = await conn.execute(sql, *args)
        done[name] = int(status.split()[-1])
    return done


def housekeeping_context(settings: IdentitySettings):
    async def housekeeping(app: web.Application) -> None:
        async with app[DB].acquire(timeout=10) as conn:
            done = await sweep(conn, settings)
        if any(done.values()):
            log.info("housekeeping", extra=log_fields(**done))

    return periodic("identity-housekeeping", INTERVAL_SECONDS, housekeeping)
