"""The demo loader waits for a busy or starting PostgreSQL like the services do, and says in Dutch
what to do when it never answers (it used to end with a stack trace on "too many clients")."""
from __future__ import annotations

import subprocess
import sys

from tests.support.apps import ROOT, free_port


def test_the_demo_loader_says_what_to_do_when_postgresql_does_not_answer():
    port = free_port()  # nothing listens there
    proc = subprocess.run(
        [sys.executable, "-m", "services.identity.demo"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/demo",
             "STARTUP_TIMEOUT_SECONDS": "2", "LOG_LEVEL": "WARNING"})
    assert proc.returncode == 1
    assert "De database is niet bereikbaar" in proc.stderr and "max_connections" in proc.stderr
    assert "Traceback" not in proc.stderr
