"""The document service's HTTP API: the routes register here (print_jobs_http, dossier_pdfs)."""
from __future__ import annotations

from aiohttp import web

from shared.api import Api

api = Api(title="Doorstroom document")

PDF_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def pdf_response(data: bytes, filename: str, *, attachment: bool) -> web.Response:
    disposition = "attachment" if attachment else "inline"
    return web.Response(body=data, content_type="application/pdf",
                        headers={**PDF_HEADERS, "Content-Disposition": f'{disposition}; filename="{filename}"'})
