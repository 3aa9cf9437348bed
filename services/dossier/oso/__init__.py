"""The OSO export (issue 12): a completed dossier as the national transfer data set (OSO XML).
``mapping.MAPPING`` is the one table from the form and the intake fields to OSO elements;
``export.oso_document`` builds the file."""
