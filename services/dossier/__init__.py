"""The dossier service: part A, part B, the agreement, completion, the overviews, the MBO inbox and
the parent links (manual chapters 2-4).

* ``domain/``: pure logic: the workflow (state machine), parent-link tokens, names, step progress;
* ``routes/``: the HTTP API, one module per area (dossiers, part_a, part_b, agreement, parent,
  overviews, mbo, me, forms), sharing ``routes/common.py`` (versions, paging, audit purpose);
* ``store.py`` (loading with access rules, changes with history and audit), ``views.py`` (the
  dossier as each reader may see it), ``queries.py`` (the "mijn leerlingen" search),
  ``catalogue.py`` (the follow-up choice against the MBO catalogue), ``readmodel.py`` (identity's
  roster from its events), ``reminders.py`` (agreement reminders, once a day by one process).
"""
