"""The one form definition of part A and part B, versioned per school year: it drives validation
and progress (dossier), the web pages (portal) and the PDF layout (document)."""
