"""The demo loader waits for a busy or starting PostgreSQL like the services do, and says in Dutch
what to do when it never answers (it used to end with a stack trace on "too many clients"), or when
the services it drives the demo dossiers through do not answer. The living school itself:
test_demo_school.py."""
from __future__ import annotations

import subprocess
import sys

from tests.support.apps import ROOT, free_port
from tests.support.env import service_env


def test_the_demo_loader_says_what_to_do_when_postgresql_does_not_answer():
    port = free_port()  # nothing listens there
    proc = subprocess.run(
        [sys.executable, "-m", "services.identity.demo"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/demo",
             "STARTUP_TIMEOUT_SECONDS": "2", "LOG_LEVEL": "WARNING"})
    assert proc.returncode == 1
    assert "De database is niet bereikbaar" in proc.stderr and "max_connections" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_demo_loader_says_what_to_do_when_the_services_do_not_answer(unique):
    """The identity data is loaded; the living school needs identity's and dossier's APIs, and says so."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.run(
        [sys.executable, "-m", "services.identity.demo"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**service_env("identity", db=f"demo_nowhere_{unique}"), "PATH": "/usr/bin:/bin",
             "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024", "IDENTITY_URL": nowhere, "DOSSIER_URL": nowhere})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "De demoschool is niet (helemaal) gemaakt" in proc.stderr and "is niet bereikbaar" in proc.stderr
    assert "IDENTITY_URL en DOSSIER_URL" in proc.stderr and "Traceback" not in proc.stderr
