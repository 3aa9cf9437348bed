-- Nothing in a session row may let one act as the user without the cookie. The access and refresh
-- tokens and the page state (which holds the single-use link tokens of verification, password
-- reset, invitation and parent links while their page is open) are now encrypted with a key
-- derived from the cookie's random id, of which the row keeps only the hash; the CSRF token is
-- derived from the id too and no longer stored. The sessions of before cannot be converted (their
-- cookies are not here): they end, and everyone logs in once more.
DELETE FROM portal_sessions;
ALTER TABLE portal_sessions
    DROP COLUMN csrf_token,
    DROP COLUMN access_token,
    DROP COLUMN refresh_token,
    DROP COLUMN data;
ALTER TABLE portal_sessions
    ADD COLUMN tokens bytea,                          -- AES-256-GCM: {access, refresh}
    ADD COLUMN data   bytea NOT NULL;                 -- AES-256-GCM: page state (flash, link tokens, ...)
