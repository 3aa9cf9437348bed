"""The identity service: schools and the MBO catalogue, staff, classes, the roster (students),
accounts, passwords, activation codes, logins and the keys that sign access tokens (manual
chapter 1).

* ``domain/``: pure rules: BSN, passwords, activation codes, tokens, names, throttle limits, the
  roster CSV;
* ``routes/``: the HTTP API, one module per resource (accounts, sessions, me, jwks,
  password_change, privacy, activation_codes, schools, institutions, staff, classes, students,
  roster_imports), registering on ``context.api``;
* ``store/``: the SQL, one module per thing kept (see ``store/__init__.py``); ``schemas.py``: the
  bodies and answers that more than one module uses;
* ``access.py`` (who may see what), ``vault.py`` (encryption and keyed hashes), ``hasher.py``
  (Argon2id off the event loop), ``signing.py`` (the token-signing keys), ``housekeeping.py``
  (hourly deletion of what is no longer needed), ``roster_import_worker.py`` (roster import jobs in
  the background);
* the rule of registration: a BSN typed at registration is only a *claim* of the account made for
  the address; the account is bound to a roster student by redeeming that student's activation
  code (with the roster's BSN matching the claim), one account per student, and the other claims
  on that BSN are released then (``routes/accounts.py`` says it in full);
* operator commands: ``python -m services.identity.demo``, ``python -m services.identity.admin``,
  ``python -m services.identity.rotate_keys``, ``python -m services.identity.signing rotate``.
"""
