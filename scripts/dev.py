"""Run the whole Doorstroom system on this machine for development.

Started by ``scripts/dev`` (which first makes sure the venv, PostgreSQL and RabbitMQ are there).
It starts the SMTP sink and every service as child processes, prefixes their output with their
name (and writes it to ``var/log/<name>.log``), waits until each answers ``/healthz``, then
prints where everything is. Ctrl-C or SIGTERM stops all children; if one dies, the others are
stopped too and the exit code is non-zero.

Only the standard library is used here, so this runs even when the project's own code is broken.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
LOG_DIR = VAR / "log"
MAIL_DIR = VAR / "mail"


@dataclass(frozen=True)
class Service:
    """One service of the system: started as ``python -m services.<name>``."""

    name: str
    port: int
    env: dict[str, str] = field(default_factory=dict)  # fixed extras for this service

    @property
    def module(self) -> str:
        return f"services.{self.name}"


def services_at(base: int = 8080) -> tuple[Service, ...]:
    """The services `scripts/dev` runs, in start order: the portal on ``base``, the others after it."""
    url = {name: f"http://127.0.0.1:{base + n}" for n, name in enumerate(
        ("portal", "identity", "dossier", "notification", "document"))}
    jwks = {"AUTH_JWKS_URL": url["identity"] + "/.well-known/jwks.json"}
    return (
        Service("identity", base + 1, jwks),
        Service("dossier", base + 2, jwks),
        Service("notification", base + 3, jwks),
        Service("document", base + 4, {**jwks, "DOSSIER_URL": url["dossier"]}),
        Service("portal", base, {**jwks, "IDENTITY_URL": url["identity"], "DOSSIER_URL": url["dossier"],
                                 "DOCUMENT_URL": url["document"]}),
    )


SERVICES = services_at()

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_EXCHANGE = "doorstroom.events"
STOP_GRACE_SECONDS = 10.0
SINK_NAME = "smtp-sink"

_COLORS = ("36", "33", "35", "32", "34", "91", "96", "93")


# -- output ----------------------------------------------------------------------------------


class Console:
    """Line-oriented output, each line prefixed with the name of who said it."""

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self.stream = stream
        self.color = stream.isatty() and "NO_COLOR" not in os.environ
        self.width = max(len(n) for n in [s.name for s in SERVICES] + [SINK_NAME, "dev", "demo"])
        self._colors: dict[str, str] = {"dev": "1"}

    def _paint(self, name: str, text: str) -> str:
        if not self.color:
            return text
        code = self._colors.setdefault(name, _COLORS[(len(self._colors) - 1) % len(_COLORS)])
        return f"\033[{code}m{text}\033[0m"

    def line(self, name: str, text: str) -> None:
        prefix = self._paint(name, f"{name:>{self.width}} |")
        try:
            self.stream.write(f"{prefix} {text}\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass

    def say(self, text: str) -> None:
        for part in text.splitlines() or [""]:
            self.line("dev", part)

    def raw(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass


# -- child processes -------------------------------------------------------------------------


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux: children get SIGTERM when this process dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return preexec


class Child:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], console: Console) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.console = console
        self.log_path = LOG_DIR / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None
        self._log: TextIO | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.returncode

    async def start(self) -> None:
        self._log = self.log_path.open("w", encoding="utf-8", buffering=1)
        self._log.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(self.argv)}\n")
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=ROOT,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop the children in order
            preexec_fn=_parent_death_signal(),
            limit=1 << 20,
        )
        self._pump = asyncio.create_task(self._pump_output(), name=f"pump-{self.name}")

    async def _pump_output(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        reader = self.proc.stdout
        while True:
            try:
                raw = await reader.readline()
            except ValueError:  # a line longer than the limit: take what is there
                raw = await reader.read(1 << 20)
            if not raw:
                break
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.console.line(self.name, text)
            if self._log is not None:
                self._log.write(text + "\n")

    async def wait(self) -> int:
        """Wait until the process has exited and its output is fully read."""
        assert self.proc is not None
        code = await self.proc.wait()
        if self._pump is not None:
            # a grandchild may still hold the pipe; don't wait for it forever
            done, _ = await asyncio.wait({self._pump}, timeout=2)
            if not done:
                self._pump.cancel()
        if self._log is not None and not self._log.closed:
            self._log.close()
        return code

    def _signal_group(self, sig: signal.Signals) -> bool:
        try:
            os.killpg(self.pid, sig)  # start_new_session: the group id is the child's pid
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def _group_alive(self) -> bool:
        return self._signal_group(0)  # type: ignore[arg-type]

    async def stop(self, force: asyncio.Event) -> None:
        """SIGTERM, up to STOP_GRACE_SECONDS for it (and its workers) to go, then SIGKILL."""
        if self.proc is None:
            return
        if self.proc.returncode is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_GRACE_SECONDS
        exited = asyncio.ensure_future(self.wait())
        forced = asyncio.ensure_future(force.wait())
        try:
            await asyncio.wait({exited, forced}, timeout=STOP_GRACE_SECONDS,
                               return_when=asyncio.FIRST_COMPLETED)
            # worker processes of a multi-process service belong to the same group
            while self._group_alive() and loop.time() < deadline and not force.is_set():
                await asyncio.sleep(0.1)
            if self._group_alive():
                if not force.is_set():
                    self.console.say(
                        f"{self.name} stopt niet binnen {STOP_GRACE_SECONDS:.0f} s: SIGKILL")
                self._signal_group(signal.SIGKILL)
            await exited
        finally:
            forced.cancel()


# -- probes ----------------------------------------------------------------------------------


async def http_status(host: str, port: int, path: str, timeout: float = 2.0) -> int | None:
    """The HTTP status of GET path, or None when nothing answers."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return None
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
                     .encode("ascii"))
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout)
        parts = status_line.split()
        return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
    except (OSError, asyncio.TimeoutError, ValueError):
        return None
    finally:
        writer.close()


async def smtp_ready(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return False
    try:
        banner = await asyncio.wait_for(reader.readline(), timeout)
        writer.write(b"QUIT\r\n")
        return banner.startswith(b"220")
    except (OSError, asyncio.TimeoutError):
        return False
    finally:
        writer.close()


def port_in_use(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


# -- the run ---------------------------------------------------------------------------------


def mask_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def probe_host(http_host: str) -> str:
    return "127.0.0.1" if http_host in ("", "0.0.0.0", "::") else http_host


class Runner:
    def __init__(self, args: argparse.Namespace, console: Console) -> None:
        self.args = args
        self.console = console
        self.services = services_at(args.port_base)
        self.python = sys.executable
        self.children: list[Child] = []
        self.stopping = asyncio.Event()  # set on Ctrl-C/SIGTERM or when a child dies
        self.force = asyncio.Event()     # a second Ctrl-C: kill at once
        self.failure: str | None = None
        self.http_host = os.environ.get("HTTP_HOST", "127.0.0.1")
        self.amqp_url = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
        self.postgres_url = args.postgres.rstrip("/")

    # environment ------------------------------------------------------------------------

    def base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        for per_service in ("DATABASE_URL", "HTTP_PORT", "WORKERS"):
            env.pop(per_service, None)
        env.update(
            PYTHONUNBUFFERED="1",
            AMQP_URL=self.amqp_url,
            EVENT_EXCHANGE=os.environ.get("EVENT_EXCHANGE", DEFAULT_EXCHANGE),
            HTTP_HOST=self.http_host,
            LOG_LEVEL=os.environ.get("LOG_LEVEL", "INFO"),
            PUBLIC_BASE_URL=os.environ.get("PUBLIC_BASE_URL", f"http://localhost:{self.args.port_base}"),
        )
        return env

    def service_env(self, service: Service) -> dict[str, str]:
        env = self.base_env()
        env["DATABASE_URL"] = f"{self.postgres_url}/{self.args.db_prefix}_{service.name}"
        env["HTTP_PORT"] = str(service.port)
        env["WORKERS"] = "1"
        if service.name == "notification":
            env["WORKERS"] = str(self.args.workers)
            env["SMTP_HOST"] = "127.0.0.1"
            env["SMTP_PORT"] = str(self.args.smtp_port)
        env.update(service.env)
        return env

    # lifecycle --------------------------------------------------------------------------

    def on_signal(self) -> None:
        if self.stopping.is_set():
            self.console.say("nogmaals onderbroken: alles wordt direct gestopt")
            self.force.set()
        else:
            self.console.say("stoppen…")
        self.stopping.set()

    async def spawn(self, name: str, argv: list[str], env: dict[str, str], *, one_shot: bool = False) -> Child:
        """Start a child; one that should keep running stops everything when it exits (a one-shot
        task, such as loading the demo data, is awaited by its caller instead)."""
        child = Child(name, argv, env, self.console)
        await child.start()
        self.children.append(child)
        if not one_shot:
            asyncio.create_task(self._watch(child), name=f"watch-{name}")
        return child

    async def _watch(self, child: Child) -> None:
        code = await child.wait()
        if self.stopping.is_set():
            return
        how = f"exitcode {code}" if code >= 0 else f"signaal {signal.Signals(-code).name}"
        self.failure = (f"{child.name} is onverwacht gestopt ({how}); "
                        f"zie {child.log_path.relative_to(ROOT)}")
        self.console.say(self.failure)
        self.console.say("de andere onderdelen worden gestopt")
        self.stopping.set()

    async def until_stopping(self, awaitable: asyncio.Future | asyncio.Task) -> bool:
        """Await something unless a stop comes first; True when it completed."""
        stopper = asyncio.ensure_future(self.stopping.wait())
        try:
            done, _ = await asyncio.wait({awaitable, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if awaitable in done:
            return True
        awaitable.cancel()
        return False

    async def wait_smtp(self) -> bool:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if await smtp_ready("127.0.0.1", self.args.smtp_port):
                return True
            await asyncio.sleep(0.2)
        return False

    async def wait_healthy(self, service: Service) -> tuple[Service, bool]:
        host = probe_host(self.http_host)
        deadline = time.monotonic() + self.args.timeout
        last_status: int | None = None
        while time.monotonic() < deadline:
            last_status = await http_status(host, service.port, "/healthz")
            if last_status == 200:
                self.console.say(f"{service.name} is gezond (http://{host}:{service.port}/healthz)")
                return service, True
            await asyncio.sleep(0.3)
        detail = f"laatste antwoord HTTP {last_status}" if last_status else "geen antwoord"
        self.console.say(f"{service.name} is niet gezond binnen {self.args.timeout:.0f} s ({detail})")
        return service, False

    def preflight(self) -> list[str]:
        problems = []
        host = probe_host(self.http_host)
        wanted = [(SINK_NAME, "127.0.0.1", self.args.smtp_port)]
        wanted += [(s.name, host, s.port) for s in self.services]
        for name, h, port in wanted:
            if port_in_use(h, port):
                problems.append(f"poort {port} ({name}) is al in gebruik: draait er nog een "
                                f"oude instantie? Stop die eerst.")
        return problems

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.on_signal)

        problems = self.preflight()
        if problems:
            for problem in problems:
                self.console.say(problem)
            return 2
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.args.mail_dir.mkdir(parents=True, exist_ok=True)

        try:
            await self.spawn(SINK_NAME, [
                self.python, "-m", "shared.devtools.smtp_sink", "--host", "127.0.0.1",
                "--port", str(self.args.smtp_port), "--dir", str(self.args.mail_dir),
            ], self.base_env())
            ready = asyncio.ensure_future(self.wait_smtp())
            if not await self.until_stopping(ready):
                return await self.shutdown()
            if not ready.result():
                self.failure = "de SMTP-sink komt niet op"
                self.console.say(self.failure)
                return await self.shutdown()

            for service in self.services:
                self.console.say(f"start {service.name} op poort {service.port}")
                await self.spawn(service.name, [self.python, "-m", service.module],
                                 self.service_env(service))

            health = asyncio.ensure_future(
                asyncio.gather(*(self.wait_healthy(s) for s in self.services)))
            if not await self.until_stopping(health):
                return await self.shutdown()
            unhealthy = [s.name for s, ok in health.result() if not ok]
            if unhealthy:
                self.failure = f"niet gezond: {', '.join(unhealthy)}"
                return await self.shutdown()

            if not self.args.no_demo:
                await self.load_demo()
            self.print_overview()
            await self.stopping.wait()
            return await self.shutdown()
        except BaseException:
            await self.shutdown()
            raise

    async def load_demo(self) -> None:
        """Demo data once the services run (idempotent): a school, MBO institutions, staff and students
        with dossiers in every state, with the demo logins in the output (and var/log/demo.log)."""
        identity = next(s for s in self.services if s.name == "identity")
        # the loader drives the demo dossiers through identity's and dossier's APIs: the portal's addresses
        portal = next(s for s in self.services if s.name == "portal")
        env = {**self.service_env(identity),
               **{k: v for k, v in portal.env.items() if k in ("IDENTITY_URL", "DOSSIER_URL")}}
        child = await self.spawn("demo", [self.python, "-m", "services.identity.demo"], env, one_shot=True)
        code = await child.wait()
        self.children.remove(child)
        if code != 0:
            self.console.say(f"demodata laden mislukt (code {code}); zie {child.log_path}")

    async def shutdown(self) -> int:
        self.stopping.set()
        services = [c for c in self.children if c.name != SINK_NAME]
        sink = [c for c in self.children if c.name == SINK_NAME]
        # the services first (notification may still hand mail to the sink), the sink last
        for group in (services, sink):
            if group:
                await asyncio.gather(*(c.stop(self.force) for c in reversed(group)))
        self.children.clear()
        if self.failure:
            self.console.say(f"gestopt met fout: {self.failure}")
            return 1
        self.console.say("alles is gestopt")
        return 0

    # overview ---------------------------------------------------------------------------

    def print_overview(self) -> None:
        host = probe_host(self.http_host)
        rows: list[tuple[str, str, str]] = []
        for service in self.services:
            base = f"http://{host}:{service.port}"
            note = f"{base}/openapi.json"
            if service.name == "notification" and self.args.workers > 1:
                note += f"  ({self.args.workers} workers)"
            rows.append((service.name, base, note))
        rows.append(("SMTP-sink", f"smtp://127.0.0.1:{self.args.smtp_port}",
                     f"mails in {self.args.mail_dir}"))
        databases = ", ".join(f"{self.args.db_prefix}_{s.name}" for s in self.services)
        rows.append(("PostgreSQL", mask_password(self.postgres_url), databases))
        exchange = os.environ.get("EVENT_EXCHANGE", DEFAULT_EXCHANGE)
        rows.append(("RabbitMQ", mask_password(self.amqp_url), f"exchange {exchange}"))
        amqp_host = urlsplit(self.amqp_url).hostname or "127.0.0.1"
        if port_in_use(amqp_host, 15672):
            rows.append(("RabbitMQ-beheer", f"http://{amqp_host}:15672/", ""))
        else:
            rows.append(("RabbitMQ-beheer", "niet actief",
                         "rabbitmq-plugins enable rabbitmq_management"))
        rows.append(("logs", str(LOG_DIR / "<naam>.log"), ""))

        w1 = max(len(r[0]) for r in rows)
        w2 = max(len(r[1]) for r in rows)
        lines = ["", "Doorstroom draait. Ctrl-C stopt alles.", ""]
        lines += [f"  {a:<{w1}}  {b:<{w2}}  {c}".rstrip() for a, b, c in rows]
        lines.append("")
        self.console.raw("\n".join(lines) + "\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/dev",
        description="Start Doorstroom lokaal: SMTP-sink en alle diensten, met hun uitvoer "
                    "in de terminal en in var/log/. Ctrl-C stopt alles.",
    )
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="aantal processen voor notification (WORKERS, standaard 1)")
    parser.add_argument("--smtp-port", type=int, default=1025, metavar="POORT",
                        help="poort van de SMTP-sink (standaard 1025)")
    parser.add_argument("--mail-dir", type=Path, default=MAIL_DIR, metavar="MAP",
                        help="map voor ontvangen mails als .eml (standaard var/mail)")
    parser.add_argument("--postgres", default=os.environ.get("POSTGRES_URL", DEFAULT_POSTGRES_URL),
                        metavar="URL",
                        help="PostgreSQL-server zonder databasenaam; elke dienst krijgt "
                             "<URL>/doorstroom_<naam> (standaard $POSTGRES_URL of "
                             f"{DEFAULT_POSTGRES_URL})")
    parser.add_argument("--port-base", type=int, default=8080, metavar="POORT",
                        help="poort van het portaal; identity, dossier, notification en document krijgen "
                             "de vier poorten daarna (standaard 8080)")
    parser.add_argument("--db-prefix", default="doorstroom", metavar="NAAM",
                        help="databases heten <NAAM>_<dienst> (standaard doorstroom)")
    parser.add_argument("--timeout", type=float, default=90, metavar="S",
                        help="seconden dat elke dienst krijgt om gezond te worden (standaard 90)")
    parser.add_argument("--no-demo", action="store_true",
                        help="laad geen demodata (standaard: demoschool, mbo's en inloggegevens)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers moet minstens 1 zijn")
    args.mail_dir = (ROOT / args.mail_dir).resolve() if not args.mail_dir.is_absolute() \
        else args.mail_dir
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    if "DATABASE_URL" in os.environ:
        console.say("let op: DATABASE_URL uit de omgeving wordt genegeerd; elke dienst krijgt "
                    "zijn eigen database (gebruik --postgres of POSTGRES_URL)")
    return asyncio.run(Runner(args, console).run())


if __name__ == "__main__":
    sys.exit(main())
