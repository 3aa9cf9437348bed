"""Restore benchmark: how long does restoring a season's data take on this machine?

    .venv/bin/python -m bench.restore [--students 90000] [--dossiers 180000] [--sections 9] [--jobs 1]

What it does:

1. creates a scratch database with the dossier service's real schema (its migrations and the shared
   ones, applied by ``shared.db.migrate`` as the service does at start);
2. fills it with a season: ``--students`` students in the read model and ``--dossiers`` dossiers over
   the states (``bench.dossier.load``, INSERT ... SELECT FROM generate_series), ``--sections`` part A
   sections with answers per dossier, and a history row per section save, then ANALYZE;
3. ``pg_dump -Fc`` of it (the per-service backup of docs/operations.md), timed, with the dump's size;
4. ``pg_restore`` of that dump into a new, empty database (``--jobs`` parallel jobs), timed: the
   answer to "how long does a restore take", plus a row count to show the restore is whole;
5. drops both scratch databases and removes the dump, whatever happened.

The dossier database is the largest of a season (every dossier with its answers and history); the
figures printed are its own. The other databases restore in parallel with it, one pg_restore each.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from urllib.parse import urlsplit

import asyncpg

from bench.dossier import load
from shared import db

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")


def _dsn(name: str) -> str:
    return f"{PG}/{name}"


def _pg_args(dsn: str) -> list[str]:
    parts = urlsplit(dsn)
    return ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_dsn("postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fill(dsn: str, students: int, dossiers: int, sections: int) -> float:
    started = time.perf_counter()
    await db.ensure_database(dsn)
    pool = await db.create_pool(dsn, min_size=1, max_size=2)
    try:
        await db.migrate(pool, [("shared", "shared.migrations"), ("dossier", "services.dossier.migrations")])
    finally:
        await pool.close()
    await load(dsn, students, dossiers, 0)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET synchronous_commit = off")
        # part A answers: a realistic size per section (a few short texts and choices)
        await conn.execute(f"""
            INSERT INTO dossier_sections (dossier_id, section_id, part, answers, progress, version, updated_at)
            SELECT d.id, 'section' || s, 'part_a',
                   jsonb_build_object('motivatie', repeat('Ik wil graag deze opleiding doen. ', 4),
                                      'hobby', 'sport en muziek', 'keuze', s % 3, 'akkoord', true),
                   CASE WHEN d.state = 'part_a' THEN (s * 11) % 101 ELSE 100 END, 1 + s % 3, d.updated_at
            FROM dossiers d CROSS JOIN generate_series(1, {sections}) s""")
        await conn.execute("""
            INSERT INTO history (dossier_id, at, action, actor_role, actor_account_id, actor_name, from_state, to_state)
            SELECT dossier_id, updated_at, 'section_saved', 'student', NULL, 'Leerling', NULL, NULL
            FROM dossier_sections""")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def counts(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}")
                for t in ("students", "dossiers", "dossier_sections", "history")}
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=90_000)
    parser.add_argument("--dossiers", type=int, default=180_000)
    parser.add_argument("--sections", type=int, default=9, help="part A sections with answers per dossier")
    parser.add_argument("--jobs", type=int, default=1, help="pg_restore --jobs")
    args = parser.parse_args()
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    run = uuid.uuid4().hex[:6]
    source, target = f"bench_restore_src_{run}", f"bench_restore_dst_{run}"
    folder = tempfile.mkdtemp(prefix="doorstroom-restore-")
    dump = os.path.join(folder, "doorstroom_dossier.dump")
    try:
        filled = await fill(_dsn(source), args.students, args.dossiers, args.sections)
        rows = await counts(_dsn(source))
        conn = await asyncpg.connect(_dsn(source))
        try:
            db_bytes = await conn.fetchval("SELECT pg_database_size(current_database())")
        finally:
            await conn.close()
        print(f"\nseason data: {rows['students']:,} students, {rows['dossiers']:,} dossiers, "
              f"{rows['dossier_sections']:,} part A sections, {rows['history']:,} history rows "
              f"(made in {filled:.1f} s); database size {db_bytes / 1024 ** 2:,.0f} MiB")

        started = time.perf_counter()
        subprocess.run(["pg_dump", *_pg_args(_dsn(source)), "-Fc", "-f", dump, source], check=True)
        dumped = time.perf_counter() - started
        size = os.path.getsize(dump)
        print(f"pg_dump -Fc: {dumped:.1f} s, dump {size / 1024 ** 2:,.1f} MiB")

        await _admin(f'CREATE DATABASE "{target}"')
        started = time.perf_counter()
        subprocess.run(["pg_restore", *_pg_args(_dsn(target)), "--no-owner", "-j", str(args.jobs),
                        "-d", target, dump], check=True)
        restored = time.perf_counter() - started
        after = await counts(_dsn(target))
        whole = "whole" if after == rows else f"DIFFERS: {after}"
        print(f"pg_restore -j {args.jobs} into an empty database: {restored:.1f} s "
              f"({db_bytes / 1024 ** 2 / restored:,.0f} MiB/s of database); restored rows {whole}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for name in (source, target):
            try:
                await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # say so: a scratch database must not stay behind
                print(f"could not drop {name}: {exc}")


if __name__ == "__main__":
    asyncio.run(main())
