"""Schools in SQL: VO schools and receiving schools (mbo, havo, vmbo) with their locations and
programme catalogue.

Every change publishes identity.school_changed with the whole catalogue (``publish_school``,
inside the change's transaction).
"""
from __future__ import annotations

import uuid

import asyncpg

from services.identity.context import today
from services.identity.schemas import (RECEIVING_KINDS, LocationIn, LocationOut, ProgrammeIn, ProgrammeOut, SchoolIn,
                                       SchoolOut)
from shared.events.identity_events import Location, Programme, SchoolChanged
from shared.forms.model import school_year_on
from shared.outbox import Outbox
from shared.problems import Problem

NO_SCHOOL = "Deze school bestaat niet."


def _programme(p: asyncpg.Record, locations: dict[uuid.UUID, asyncpg.Record]) -> ProgrammeOut:
    loc = locations.get(p["location_id"]) if p["location_id"] else None
    where = ", ".join(x for x in (loc["address"] or loc["name"], loc["city"]) if x) if loc else None
    short = (loc["address"] or loc["name"]) if loc else None
    profile = p["profile"] or None
    details = [str(x) for x in (p["level"], p["pathway"], short, p["crebo"]) if x]
    label = " – ".join(x for x in (p["name"], profile) if x) + (f" ({' - '.join(details)})" if details else "")
    return ProgrammeOut(programme_id=p["id"], name=p["name"], crebo=p["crebo"], level=p["level"],
                        pathway=p["pathway"], profile=profile, location_id=p["location_id"], location=where,
                        label=label, active=p["active"])


async def load_schools(conn: asyncpg.Connection, ids: list[uuid.UUID], *,
                       include_inactive: bool = False) -> list[SchoolOut]:
    schools = await conn.fetch("SELECT * FROM schools WHERE id = ANY($1::uuid[]) ORDER BY name", ids)
    locs = await conn.fetch("SELECT * FROM locations WHERE school_id = ANY($1::uuid[]) ORDER BY name", ids)
    progs = await conn.fetch(
        """SELECT * FROM programmes WHERE school_id = ANY($1::uuid[]) AND (active OR $2)
           ORDER BY name, profile, level DESC, pathway""", ids, include_inactive)
    loc_by_id = {r["id"]: r for r in locs}
    out = []
    for s in schools:
        out.append(SchoolOut(
            school_id=s["id"], kind=s["kind"], name=s["name"], brin=s["brin"], city=s["city"],
            participates=s["participates"], parent_rule=s["parent_rule"], retention_years=s["retention_years"],
            school_year=(s["roster_school_year"] or school_year_on(today())) if s["kind"] == "vo" else None,
            locations=[LocationOut(location_id=r["id"], name=r["name"], address=r["address"], city=r["city"])
                       for r in locs if r["school_id"] == s["id"]],
            programmes=[_programme(p, loc_by_id) for p in progs if p["school_id"] == s["id"]]))
    return out


async def load_school(conn: asyncpg.Connection, school_id: uuid.UUID, **kw) -> SchoolOut:
    found = await load_schools(conn, [school_id], **kw)
    if not found:
        raise Problem(404, NO_SCHOOL)
    return found[0]


async def publish_school(conn: asyncpg.Connection, outbox: Outbox, school_id: uuid.UUID) -> SchoolOut:
    """identity.school_changed with the whole (active) catalogue; call inside the change's transaction."""
    school = await load_school(conn, school_id)
    await outbox.add(conn, SchoolChanged(
        school_id=school.school_id, kind=school.kind, name=school.name, brin=school.brin, city=school.city,
        participates=school.participates, parent_rule=school.parent_rule, retention_years=school.retention_years,
        locations=[Location(location_id=loc.location_id, name=loc.name, address=loc.address, city=loc.city)
                   for loc in school.locations],
        programmes=[Programme(programme_id=p.programme_id, name=p.name, crebo=p.crebo, level=p.level,
                              pathway=p.pathway, profile=p.profile, location_id=p.location_id)
                    for p in school.programmes]),
        subject=str(school_id))
    return school


# --- changes (used by the API and by the demo data) --------------------------------------------


async def upsert_school(conn: asyncpg.Connection, outbox: Outbox, school_id: uuid.UUID, data: SchoolIn) -> bool:
    """Create or update a school with a known id; publishes only when something changed."""
    changed = await conn.fetchval(
        """INSERT INTO schools AS s (id, kind, name, brin, city, participates, parent_rule, retention_years)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, brin = EXCLUDED.brin,
               city = EXCLUDED.city, participates = EXCLUDED.participates, parent_rule = EXCLUDED.parent_rule,
               retention_years = EXCLUDED.retention_years, updated_at = now()
           WHERE (s.kind, s.name, s.brin, s.city, s.participates, s.parent_rule, s.retention_years) IS DISTINCT FROM
                 (EXCLUDED.kind, EXCLUDED.name, EXCLUDED.brin, EXCLUDED.city, EXCLUDED.participates,
                  EXCLUDED.parent_rule, EXCLUDED.retention_years)
           RETURNING true""", school_id, data.kind, data.name, data.brin, data.city, data.participates,
        data.parent_rule, data.retention_years)
    return bool(changed)


async def upsert_location(conn: asyncpg.Connection, school_id: uuid.UUID, data: LocationIn,
                          location_id: uuid.UUID | None = None) -> tuple[uuid.UUID, bool]:
    row = await conn.fetchrow(
        """INSERT INTO locations AS l (id, school_id, name, address, city) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (school_id, name) DO UPDATE SET address = EXCLUDED.address, city = EXCLUDED.city
           WHERE (l.address, l.city) IS DISTINCT FROM (EXCLUDED.address, EXCLUDED.city)
           RETURNING id""", location_id or uuid.uuid4(), school_id, data.name, data.address, data.city)
    if row:
        return row["id"], True
    return await conn.fetchval("SELECT id FROM locations WHERE school_id = $1 AND name = $2",
                               school_id, data.name), False


async def check_location(conn: asyncpg.Connection, location_id: uuid.UUID | None, school_id: uuid.UUID) -> None:
    """A programme's location (when it has one) must be one of its institution's: 422 otherwise."""
    if location_id and not await conn.fetchval(
            "SELECT true FROM locations WHERE id = $1 AND school_id = $2", location_id, school_id):
        raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input",
                      errors=[{"field": "location_id", "message": "Deze locatie hoort niet bij deze instelling."}])


async def upsert_programme(conn: asyncpg.Connection, school_id: uuid.UUID, data: ProgrammeIn,
                           programme_id: uuid.UUID | None = None) -> tuple[uuid.UUID, bool]:
    """An MBO programme is one per CREBO, pathway and location; a HAVO/VMBO one per name, profile and
    location (the caller checked that the fields fit the school's kind: ``ProgrammeIn.problems_for``)."""
    await check_location(conn, data.location_id, school_id)
    if data.crebo is None:
        row = await conn.fetchrow(
            """INSERT INTO programmes AS p (id, school_id, name, profile, location_id) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (school_id, name, profile, location_id) WHERE crebo IS NULL DO UPDATE SET active = true
               WHERE NOT p.active
               RETURNING id""", programme_id or uuid.uuid4(), school_id, data.name, data.profile or "",
            data.location_id)
        if row:
            return row["id"], True
        return await conn.fetchval(
            """SELECT id FROM programmes WHERE school_id = $1 AND crebo IS NULL AND name = $2 AND profile = $3
               AND location_id IS NOT DISTINCT FROM $4""", school_id, data.name, data.profile or "",
            data.location_id), False
    row = await conn.fetchrow(
        """INSERT INTO programmes AS p (id, school_id, name, crebo, level, pathway, location_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (school_id, crebo, pathway, location_id) WHERE crebo IS NOT NULL DO UPDATE
               SET name = EXCLUDED.name, level = EXCLUDED.level, active = true
           WHERE (p.name, p.level, p.active) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.level, true)
           RETURNING id""", programme_id or uuid.uuid4(), school_id, data.name, data.crebo, data.level,
        data.pathway, data.location_id)
    if row:
        return row["id"], True
    return await conn.fetchval(
        """SELECT id FROM programmes WHERE school_id = $1 AND crebo = $2 AND pathway = $3
           AND location_id IS NOT DISTINCT FROM $4""", school_id, data.crebo, data.pathway, data.location_id), False


async def receiving_for_change(conn: asyncpg.Connection, school_id: uuid.UUID) -> str:
    """Lock a school for a change of its catalogue: 404 when it does not exist, 409 when it is no
    receiving school (mbo, havo, vmbo); its kind otherwise."""
    kind = await conn.fetchval("SELECT kind FROM schools WHERE id = $1 FOR UPDATE", school_id)
    if kind is None:
        raise Problem(404, NO_SCHOOL)
    if kind not in RECEIVING_KINDS:
        raise Problem(409, "Alleen een ontvangende school (mbo, havo of vmbo) heeft locaties en opleidingen.",
                      code="not-receiving")
    return kind

