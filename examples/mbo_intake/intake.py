"""An MBO's intake, fed by Doorstroom: an example to copy (see README.md next to this file).

It does four things, and each is small enough to read in one go:

1. ``Tokens``: gets an access token from Doorstroom with the OAuth 2.0 client credentials grant
   (the client id and secret the platform administrator gave you) and renews it before it expires.
2. ``Store``: your own table (SQLite here; any database will do) of imported dossiers, with the ids of
   the events already handled, so a message delivered twice imports once.
3. ``import_dossier``: fetches one completed dossier as JSON, as PDF and as OSO XML, stores the three in
   one transaction and then marks the dossier handled ("afgehandeld") in Doorstroom.
4. Two ways in, both idempotent: ``listen`` consumes ``dossier.completed`` from a durable quorum queue of
   your own, and ``catch_up`` pages through the pull API from the last cursor it stored, so what
   happened while the program was offline (or while the broker was away) is imported too.

It uses no code of Doorstroom: only aio-pika, aiohttp and the standard library.

    pip install aio-pika aiohttp
    DOORSTROOM_CLIENT_ID=... DOORSTROOM_CLIENT_SECRET=... python intake.py

Settings come from the environment (see ``Settings``).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import aio_pika
import aiohttp

log = logging.getLogger("mbo_intake")


@dataclass
class Settings:
    client_id: str
    client_secret: str
    institution_id: str  # your institution's id in Doorstroom: events of others are skipped unread
    identity_url: str = "http://localhost:8081"  # where POST /oauth/token lives
    dossier_url: str = "http://localhost:8082"  # the pull API: /v1/feed/...
    document_url: str = "http://localhost:8084"  # the PDF
    amqp_url: str = "amqp://guest:guest@localhost:5672/"
    exchange: str = "doorstroom.events"
    queue: str = "mbo-intake"  # your own durable queue; keep the name once chosen
    database: str = "intake.sqlite3"
    catch_up_seconds: float = 300.0  # also page through the feed every so often
    retry_seconds: float = 5.0  # a failed import is tried again after this
    mark_handled: bool = True

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        names = {f: f"DOORSTROOM_{f.upper()}" for f in cls.__dataclass_fields__}
        names.update(database="INTAKE_DATABASE", queue="INTAKE_QUEUE", catch_up_seconds="INTAKE_CATCH_UP_SECONDS",
                     retry_seconds="INTAKE_RETRY_SECONDS", mark_handled="INTAKE_MARK_HANDLED")
        values: dict = {}
        for name, var in names.items():
            if var in env:
                kind = cls.__dataclass_fields__[name].type
                raw = env[var]
                values[name] = (float(raw) if kind == "float" else raw.lower() in ("1", "true", "yes")
                                if kind == "bool" else raw)
        missing = [names[n] for n in ("client_id", "client_secret", "institution_id") if n not in values]
        if missing:
            raise SystemExit(f"set {', '.join(missing)}")
        return cls(**values)


class Refused(Exception):
    """Doorstroom refused for good (404: not ours, not completed, or erased): do not retry."""


# --------------------------------------------------------------------------- 1. tokens


@dataclass
class Tokens:
    settings: Settings
    http: aiohttp.ClientSession
    _token: str | None = None
    _expires: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def header(self) -> dict[str, str]:
        async with self._lock:
            if self._token is None or time.monotonic() > self._expires - 30:
                await self._fetch()
        return {"Authorization": f"Bearer {self._token}"}

    def forget(self) -> None:
        """After a 401 (the token was revoked or the keys rotated): ask for a new one next time."""
        self._token = None

    async def _fetch(self) -> None:
        auth = aiohttp.BasicAuth(self.settings.client_id, self.settings.client_secret)  # client_secret_basic
        async with self.http.post(f"{self.settings.identity_url}/oauth/token", auth=auth,
                                  data={"grant_type": "client_credentials"}) as r:
            body = await r.json(content_type=None)
            if r.status != 200:
                raise PermissionError(f"token refused: {r.status} {body.get('error')}: {body.get('error_description')}")
        self._token, self._expires = body["access_token"], time.monotonic() + float(body.get("expires_in", 300))


# --------------------------------------------------------------------------- 2. your own table


class Store:
    SCHEMA = """
        CREATE TABLE IF NOT EXISTS applications (
            dossier_id  TEXT PRIMARY KEY,
            imported_at TEXT NOT NULL,
            student     TEXT,            -- name as the intake shows it
            student_number TEXT,
            date_of_birth TEXT,
            programme   TEXT,
            dossier_json TEXT NOT NULL,  -- the whole answer of GET /v1/feed/dossiers/{id}
            pdf         BLOB NOT NULL,
            oso_xml     TEXT,
            handled_at  TEXT             -- when Doorstroom confirmed "afgehandeld"
        );
        CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY, dossier_id TEXT, seen_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS feed_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), cursor TEXT NOT NULL);
    """

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)  # explicit transactions below
        self.db.executescript(self.SCHEMA)

    def seen(self, event_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM seen_events WHERE event_id = ?", (event_id,)).fetchone() is not None

    def remember_event(self, event_id: str, dossier_id: str | None) -> None:
        self.db.execute("INSERT OR IGNORE INTO seen_events VALUES (?, ?, ?)", (event_id, dossier_id, _now()))

    def imported(self, dossier_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM applications WHERE dossier_id = ?", (dossier_id,)).fetchone() is not None

    def handled(self, dossier_id: str) -> bool:
        row = self.db.execute("SELECT handled_at FROM applications WHERE dossier_id = ?", (dossier_id,)).fetchone()
        return bool(row and row[0])

    def save(self, dossier: dict, pdf: bytes, oso_xml: str | None, event_id: str | None) -> None:
        intake = dossier.get("intake") or {}
        programme = (intake.get("programme") or {}).get("programme_name")
        self.db.execute("BEGIN")
        try:
            self.db.execute(
                """INSERT INTO applications (dossier_id, imported_at, student, student_number, date_of_birth,
                                             programme, dossier_json, pdf, oso_xml)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (dossier_id) DO NOTHING""",
                (dossier["dossier_id"], _now(), intake.get("name"), intake.get("student_number"),
                 intake.get("date_of_birth"), programme, json.dumps(dossier), pdf, oso_xml))
            if event_id:
                self.remember_event(event_id, dossier["dossier_id"])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def mark_handled(self, dossier_id: str) -> None:
        self.db.execute("UPDATE applications SET handled_at = ? WHERE dossier_id = ?", (_now(), dossier_id))

    @property
    def cursor(self) -> str:
        row = self.db.execute("SELECT cursor FROM feed_cursor WHERE id = 1").fetchone()
        return row[0] if row else "0"

    @cursor.setter
    def cursor(self, value: str) -> None:
        self.db.execute("INSERT INTO feed_cursor VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor",
                        (value,))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


# --------------------------------------------------------------------------- 3. one dossier


class Intake:
    def __init__(self, settings: Settings, http: aiohttp.ClientSession, store: Store) -> None:
        self.settings, self.http, self.store = settings, http, store
        self.tokens = Tokens(settings, http)

    async def _get(self, url: str, accept: str) -> bytes:
        for attempt in (1, 2):
            headers = {**await self.tokens.header(), "Accept": accept,
                       "X-Purpose": "intake"}  # recorded in the dossier's view log
            async with self.http.get(url, headers=headers) as r:
                if r.status == 401 and attempt == 1:
                    self.tokens.forget()
                    continue
                if r.status == 404:
                    raise Refused(f"{url}: 404")
                r.raise_for_status()
                return await r.read()
        raise PermissionError(f"{url}: 401 twice: is the client revoked?")

    async def import_dossier(self, dossier_id: str, event_id: str | None = None) -> bool:
        """Import one dossier (JSON, PDF, OSO XML) and mark it handled; True when it is in the table.
        Safe to call again for the same dossier: nothing is fetched twice once it is handled."""
        s = self.settings
        if not self.store.imported(dossier_id):
            dossier = json.loads(await self._get(f"{s.dossier_url}/v1/feed/dossiers/{dossier_id}", "application/json"))
            pdf = await self._get(f"{s.document_url}{dossier['pdf_href']}", "application/pdf")
            oso = (await self._get(f"{s.dossier_url}{dossier['oso_href']}", "application/xml")).decode()
            self.store.save(dossier, pdf, oso, event_id)
            log.info("imported dossier %s", dossier_id)
        elif event_id:
            self.store.remember_event(event_id, dossier_id)
        if s.mark_handled and not self.store.handled(dossier_id):
            headers = await self.tokens.header()
            async with self.http.post(f"{s.dossier_url}/v1/feed/dossiers/{dossier_id}/handled", headers=headers) as r:
                if r.status == 401:
                    self.tokens.forget()
                r.raise_for_status()
            self.store.mark_handled(dossier_id)
        return True

    # ----------------------------------------------------------------------- 4a. the feed

    async def catch_up(self) -> int:
        """Page through every dossier completed for us since the stored cursor; returns how many were new."""
        new = 0
        while True:
            headers = await self.tokens.header()
            async with self.http.get(f"{self.settings.dossier_url}/v1/feed/completed",
                                     params={"after": self.store.cursor, "limit": "50"}, headers=headers) as r:
                if r.status == 401:
                    self.tokens.forget()
                r.raise_for_status()
                page = await r.json()
            for item in page["dossiers"]:
                if not self.store.handled(item["dossier_id"]):
                    await self.import_dossier(item["dossier_id"])
                    new += 1
            self.store.cursor = page["next_cursor"]  # only after the page is in the table
            if not page["has_more"]:
                return new

    # ----------------------------------------------------------------------- 4b. the events

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            event = json.loads(message.body)  # CloudEvents, structured mode: the envelope is the body
            event_id, data = event["id"], event.get("data") or {}
        except (ValueError, KeyError, TypeError):
            log.warning("not an event; dropped")
            await message.reject(requeue=False)
            return
        if event.get("type") != "dossier.completed" or self.store.seen(event_id):
            await message.ack()
            return
        if data.get("institution_id") != self.settings.institution_id:
            self.store.remember_event(event_id, None)  # for another institution: not ours to read
            await message.ack()
            return
        try:
            await self.import_dossier(data["dossier_id"], event_id)
        except Refused:
            self.store.remember_event(event_id, data.get("dossier_id"))
            await message.ack()
        except Exception as exc:  # Doorstroom or the network away: try again later, nothing lost
            log.warning("import failed (%s); again in %s s", type(exc).__name__, self.settings.retry_seconds)
            await asyncio.sleep(self.settings.retry_seconds)
            await message.nack(requeue=True)
        else:
            await message.ack()


async def run(settings: Settings, stop: asyncio.Event) -> None:
    store = Store(settings.database)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        intake = Intake(settings, http, store)
        connection = await aio_pika.connect_robust(settings.amqp_url)  # reconnects by itself
        async with connection:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=1)  # one import at a time: simple and in order
            exchange = await channel.declare_exchange(settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True,
                                                      passive=True)
            queue = await channel.declare_queue(settings.queue, durable=True,
                                                arguments={"x-queue-type": "quorum"})
            await queue.bind(exchange, "dossier.completed")
            # the queue exists from now on, so nothing completed from here is missed; what came before
            # (or while we were away) the feed brings
            await queue.consume(intake.on_message)
            while not stop.is_set():
                try:
                    new = await intake.catch_up()
                    if new:
                        log.info("caught up: %d dossier(s) from the feed", new)
                except Exception as exc:
                    log.warning("catch-up failed (%s); next time again", type(exc).__name__)
                try:
                    await asyncio.wait_for(stop.wait(), settings.catch_up_seconds)
                except asyncio.TimeoutError:
                    pass


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = Settings.from_env()
    stop = asyncio.Event()

    async def go() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(settings, stop)
    asyncio.run(go())


if __name__ == "__main__":
    main()
