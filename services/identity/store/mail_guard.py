"""The guard rows that space out mails: no mail bombing through identity's forms."""
from __future__ import annotations

from services.identity.vault import Vault


async def mail_allowed(conn, vault: Vault, kind: str, email: str, interval_seconds: float) -> bool:
    """At most one mail of ``kind`` per address per interval (no mail bombing through our forms)."""
    if interval_seconds <= 0:
        return True
    key = vault.lookup_hash(f"{kind}:{email}", purpose="mail-guard")
    return bool(await conn.fetchval(
        """INSERT INTO mail_guard AS g (key, sent_at) VALUES ($1, now())
           ON CONFLICT (key) DO UPDATE SET sent_at = now()
               WHERE g.sent_at < now() - make_interval(secs => $2)
           RETURNING true""", key, interval_seconds))
