"""Identity's SQL, one module per thing it keeps: the single-use links in mails
(``email_links``), the guard that spaces out mails (``mail_guard``), counters of tries
(``throttle``), ending sessions and announcing it (``sessions``), the BSN an account claims and
its release (``bsn_claims``), what a token says about an account (``principals``), schools and
their catalogue (``schools``), staff and invitations (``staff``), classes with their mentors
(``classes``), students as staff read them (``students``), what a roster file does (``roster``),
roster import jobs (``roster_imports``) and word searches (``search``)."""
