"""Identity forgets what it no longer needs: the BSN in a used or expired registration link at once,
old links, sessions (with refresh tokens), login counters and mail guards after their time; what
is still current stays."""
from __future__ import annotations

from services.identity.housekeeping import sweep
from shared.app import DB
from tests.integration.identity.conftest import LOGINS

EMAIL, PASSWORD = LOGINS["counsellor"]


async def test_housekeeping_deletes_what_is_no_longer_needed_and_keeps_the_rest(w):
    old, current = await w.login(EMAIL, PASSWORD), await w.login(EMAIL, PASSWORD)
    for bsn, email in (("123456721", "oud@example.nl"), ("123456733", "nieuw@example.nl"),
                       ("123456745", "geldig@example.nl")):
        assert (await w.client.post("/v1/registrations", json={"bsn": bsn, "email": email})).status == 202
    async with w.app[DB].acquire() as conn:
        account = await conn.fetchval("SELECT id FROM accounts WHERE email = $1", EMAIL)
        sessions = [r["id"] for r in await conn.fetch(
            "SELECT id FROM sessions WHERE account_id = $1 ORDER BY created_at", account)]
        assert len(sessions) == 2
        # time passes: the first session ended 40 days ago, the first link expired long ago
        await conn.execute("UPDATE sessions SET ended_at = now() - interval '40 days' WHERE id = $1", sessions[0])
        await conn.execute("""UPDATE email_tokens SET expires_at = now() - interval '40 days'
                              WHERE email = 'oud@example.nl'""")
        await conn.execute("""UPDATE email_tokens SET expires_at = now() - interval '1 hour'
                              WHERE email = 'nieuw@example.nl'""")
        await conn.execute("""INSERT INTO throttle (scope, key, failures, window_started_at, last_failure_at)
                              VALUES ('login-account', $1, 3, now() - interval '3 days', now() - interval '2 days'),
                                     ('login-account', $2, 3, now(), now())""", b"oud", b"nu")
        await conn.execute("INSERT INTO mail_guard (key, sent_at) VALUES ($1, now() - interval '2 days'), "
                           "($2, now())", b"oud", b"nu")

        school = await conn.fetchval("SELECT school_id FROM staff WHERE email = $1", EMAIL)
        for age, state in (("40 days", "done"), ("40 days", "failed"), ("1 day", "done")):
            await conn.execute(
                """INSERT INTO roster_imports (id, school_id, requested_by, state, rows_total, finished_at)
                   VALUES (gen_random_uuid(), $1, $2, $3, 1, now() - $4::text::interval)""", school, account, state, age)
        for age in ("2 days", "1 hour"):
            await conn.execute(
                """INSERT INTO activation_batches (id, school_id, channel, scope, requested_by, fingerprint,
                                                   response, created_at)
                   VALUES (gen_random_uuid(), $1, 'email', 'class', $2, 'f', '{"issued": []}', now() - $3::text::interval)""",
                school, account, age)

        done = await sweep(conn, w.settings)
        assert done == {"bsn_in_links": 2, "links": 1, "sessions": 1, "counters": 1, "mail_guard": 1,
                        "roster_imports": 2, "roster_previews": 0, "batch_answers": 1}
        assert await conn.fetchval("SELECT count(*) FROM roster_imports") == 1
        assert await conn.fetchval("SELECT count(*) FROM activation_batches WHERE response IS NOT NULL") == 1
        assert [r["id"] for r in await conn.fetch("SELECT id FROM sessions WHERE account_id = $1", account)] \
            == [sessions[1]]
        assert not await conn.fetchval("SELECT count(*) FROM refresh_tokens WHERE session_id = $1", sessions[0])
        link = await conn.fetchrow("SELECT * FROM email_tokens WHERE email = 'nieuw@example.nl'")
        assert link is not None and link["bsn_ciphertext"] is None and link["bsn_hmac"] is None
        assert await conn.fetchval("SELECT count(*) FROM email_tokens WHERE email = 'oud@example.nl'") == 0
        assert await conn.fetchval("""SELECT bsn_ciphertext IS NOT NULL FROM email_tokens
                                      WHERE email = 'geldig@example.nl'"""), "a link still valid keeps its BSN"
        assert [bytes(r["key"]) for r in await conn.fetch(
            "SELECT key FROM throttle WHERE scope = 'login-account'")] == [b"nu"]
        assert [bytes(r["key"]) for r in await conn.fetch("SELECT key FROM mail_guard WHERE key IN ($1, $2)",
                                                         b"oud", b"nu")] == [b"nu"]
        assert await sweep(conn, w.settings) == {k: 0 for k in done}, "a second pass finds nothing"
    # the current session still works
    me = await w.client.get("/v1/me", headers={"Authorization": f"Bearer {current['access_token']}"})
    assert me.status == 200
    gone = await w.client.post("/v1/sessions/refresh", json={"refresh_token": old["refresh_token"]})
    assert gone.status == 401
