"""A completed dossier as an OSO file (XML, ``OSO_gegevensset.xsd`` 2019.1, VO-MBO), for the
receiving institution's MBO staff and its machine clients (issue 12), beside the MBO dossier page
and its PDF. The same access check as the MBO routes (``mbo.require_mbo_reader``, then
``mbo.load_for_mbo``: nothing of another institution, nothing unfinished: 404); the download is a
view of the dossier and is in its view log. The mapping: ``services/dossier/oso/mapping.py``,
rendered in docs/oso.md."""
from __future__ import annotations

from aiohttp import web

from services.dossier import store
from services.dossier.oso.export import NotExportable, oso_document
from services.dossier.routes.common import PURPOSE_HEADER, Actor, api, purpose_of, uuid_param
from services.dossier.routes.mbo import load_for_mbo, require_mbo_reader
from services.dossier.schemas import PurposeQuery
from shared.app import DB
from shared.problems import Problem

MEDIA_TYPE = "application/xml"
AUDIT_WHAT = "dossier:oso"


@api.route("GET", "/v1/mbo/dossiers/{dossier_id}/oso",
           summary="Een afgerond dossier als OSO-bestand (XML volgens OSO-gegevensset 2019.1, VO-MBO; zie "
                   "docs/oso.md); wordt vastgelegd in de inzagelog. MBO-medewerker of koppeling (dossiers:read)",
           description="Het bestand volgt OSO_gegevensset.xsd 2019.1 (namespace "
                       "http://www.edustandaard.nl/oso_gegevensset/2019/dossier), met de categorieën van een "
                       "overstap vo-mbo; welk veld van het formulier in welk element staat (en welke velden OSO niet "
                       "kent en dus ontbreken) staat in docs/oso.md. 404: een dossier van een andere instelling of "
                       "een dossier dat nog niet is afgerond. 409: de BRIN-code van de school van herkomst ontbreekt.",
           tags=("mbo",), auth=True, query=PurposeQuery, headers=(PURPOSE_HEADER,), produces=MEDIA_TYPE,
           statuses=(409,))
async def oso(request: web.Request) -> web.Response:
    principal = await require_mbo_reader(request)
    dossier_id = uuid_param(request, "dossier_id")
    purpose = purpose_of(request)
    async with request.app[DB].acquire(timeout=10) as conn:
        row = await load_for_mbo(conn, principal, dossier_id)
        try:
            body = await oso_document(conn, row)
        except NotExportable as exc:
            raise Problem(409, "Dit dossier kan niet als OSO-bestand worden gemaakt: " + ", ".join(exc.missing)
                          + " ontbreekt. De beheerder van Doorstroom kan dit bij de school aanvullen; het dossier "
                          "als pdf is er wel.",
                          code="oso-incomplete") from None
        await store.audit(conn, Actor.of(principal), "view", AUDIT_WHAT, dossier_id=dossier_id,
                          student_id=row["student_id"], purpose=purpose)
    return web.Response(body=body, content_type=MEDIA_TYPE, charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="doorstroomdossier-{dossier_id}.xml"',
        "ETag": f'"{row["version"]}"', "Cache-Control": "no-store"})
