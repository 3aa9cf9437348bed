"""docker-compose.yml and the Dockerfile describe the system of the design.

There is no Docker engine where the tests run, so the compose file is checked as YAML; when a
`docker compose` CLI is available, its own validation (`config -q`, no engine needed) runs too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

# The services of the design with their HTTP port; True = published on the host.
APP_SERVICES = {
    "identity": (8081, True),
    "dossier": (8082, True),
    "notification": (8083, False),
    "document": (8084, True),
    "portal": (8080, True),
}
BACKING_SERVICES = ("postgres", "rabbitmq", "mailpit")


@pytest.fixture(scope="module")
def compose() -> dict:
    assert COMPOSE_FILE.is_file(), "docker-compose.yml ontbreekt in de root van het project"
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _command(service: dict) -> str:
    command = service.get("command")
    return " ".join(command) if isinstance(command, list) else str(command or "")


def _published_host_ports(service: dict) -> list[str]:
    """Host ports of the `ports` entries (short and long syntax); '' means 'any free port'."""
    host_ports = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            host_ports.append(str(entry.get("published", "")))
            continue
        spec = str(entry).split("/", 1)[0]  # strip /tcp
        parts = spec.split(":")
        # "8080", "8080:80", "127.0.0.1:8080:80", "127.0.0.1::80"
        host_ports.append(parts[-2] if len(parts) >= 2 else "")
    return host_ports


def _interpolate(value: str) -> str:
    """Compose's ${VAR:-default} / ${VAR-default} with the defaults (no variables set)."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}", lambda m: m.group(1) or "", value)


def test_every_service_of_the_design_is_present(services: dict) -> None:
    missing = [name for name in (*APP_SERVICES, *BACKING_SERVICES) if name not in services]
    assert not missing, f"services missing from docker-compose.yml: {missing}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_is_built_from_the_one_dockerfile(services: dict, name: str) -> None:
    service = services[name]
    build = service.get("build")
    context = build.get("context", ".") if isinstance(build, dict) else build
    assert context in (".", "./"), f"{name}: build must be the project root, got {build!r}"
    if isinstance(build, dict):
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    assert _command(service).split() == ["python", "-m", f"services.{name}"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_waits_for_healthy_backing_services(services: dict, name: str) -> None:
    depends_on = services[name].get("depends_on")
    assert isinstance(depends_on, dict), f"{name}: depends_on needs the long form with conditions"
    required = ["postgres", "rabbitmq"] + (["mailpit"] if name == "notification" else [])
    for dependency in required:
        assert dependency in depends_on, f"{name} does not depend on {dependency}"
        assert (depends_on[dependency] or {}).get("condition") == "service_healthy", (
            f"{name} must wait until {dependency} is healthy"
        )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_environment_points_at_compose_hosts(services: dict, name: str) -> None:
    env = _environment(services[name])
    port, _ = APP_SERVICES[name]

    assert "DATABASE_URL" in env, f"{name}: DATABASE_URL missing"
    database = urlsplit(_interpolate(env["DATABASE_URL"]))
    assert database.scheme in ("postgresql", "postgres")
    assert database.hostname == "postgres"
    assert database.path == f"/doorstroom_{name}", f"{name} must own database doorstroom_{name}"

    assert "AMQP_URL" in env, f"{name}: AMQP_URL missing"
    amqp = urlsplit(_interpolate(env["AMQP_URL"]))
    assert amqp.scheme == "amqp" and amqp.hostname == "rabbitmq"

    assert env.get("HTTP_HOST") == "0.0.0.0", f"{name} must listen on all interfaces in a container"
    assert env.get("HTTP_PORT", str(port)) == str(port)


def test_database_credentials_match_postgres(services: dict) -> None:
    pg_env = _environment(services["postgres"])
    trust = pg_env.get("POSTGRES_HOST_AUTH_METHOD") == "trust"
    user = _interpolate(pg_env.get("POSTGRES_USER", "postgres")) or "postgres"
    password = _interpolate(pg_env.get("POSTGRES_PASSWORD", ""))
    assert trust or password, "postgres needs POSTGRES_PASSWORD or POSTGRES_HOST_AUTH_METHOD=trust"
    for name in APP_SERVICES:
        url = urlsplit(_interpolate(_environment(services[name])["DATABASE_URL"]))
        assert url.username == user, f"{name}: DATABASE_URL user differs from POSTGRES_USER"
        if not trust:
            assert url.password == password, f"{name}: DATABASE_URL password differs"


def test_notification_sends_to_mailpit(services: dict) -> None:
    env = _environment(services["notification"])
    assert env.get("SMTP_HOST") == "mailpit"
    assert env.get("SMTP_PORT") == "1025"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_has_a_healthz_healthcheck(services: dict, name: str) -> None:
    healthcheck = services[name].get("healthcheck") or {}
    test = healthcheck.get("test")
    text = " ".join(test) if isinstance(test, list) else str(test or "")
    assert "/healthz" in text, f"{name}: healthcheck must probe /healthz"
    assert "curl" not in text and "wget" not in text, "python:3.11-slim has neither curl nor wget"


@pytest.mark.parametrize("name", BACKING_SERVICES)
def test_backing_service_has_a_healthcheck(services: dict, name: str) -> None:
    healthcheck = services[name].get("healthcheck") or {}
    assert healthcheck.get("test"), f"{name} needs a healthcheck for depends_on service_healthy"
    assert not healthcheck.get("disable")


def test_backing_service_images_and_checks(services: dict) -> None:
    assert str(services["postgres"].get("image", "")).startswith("postgres:15")
    assert "pg_isready" in str(services["postgres"]["healthcheck"]["test"])
    assert str(services["rabbitmq"].get("image", "")).startswith("rabbitmq:3.13-management")
    assert "rabbitmq-diagnostics" in str(services["rabbitmq"]["healthcheck"]["test"])
    assert str(services["mailpit"].get("image", "")).startswith("axllent/mailpit")


def test_postgres_data_lives_in_a_named_volume(compose: dict, services: dict) -> None:
    volumes = services["postgres"].get("volumes") or []
    named = [str(v).split(":", 1)[0] for v in volumes if isinstance(v, str)]
    named += [v.get("source") for v in volumes if isinstance(v, dict)]
    assert any(n in (compose.get("volumes") or {}) for n in named)


def test_mailpit_publishes_its_web_ui(services: dict) -> None:
    assert "8025" in _published_host_ports(services["mailpit"])


@pytest.mark.parametrize("name", [n for n, (_, published) in APP_SERVICES.items() if published])
def test_public_service_ports_are_published(services: dict, name: str) -> None:
    port, _ = APP_SERVICES[name]
    assert str(port) in _published_host_ports(services[name])


def test_notification_can_be_scaled(services: dict) -> None:
    notification = services["notification"]
    fixed = [p for p in _published_host_ports(notification) if p]
    assert not fixed, f"notification publishes fixed host port(s) {fixed}; --scale would clash"
    assert "container_name" not in notification
    assert "deploy" not in notification or "replicas" not in (notification["deploy"] or {})


def test_no_service_has_a_container_name(services: dict) -> None:
    named = [name for name, service in services.items() if "container_name" in service]
    assert not named, f"container_name prevents scaling and parallel projects: {named}"


def test_dockerfile_builds_one_non_root_image() -> None:
    assert DOCKERFILE.is_file(), "Dockerfile ontbreekt in de root van het project"
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM\s+python:3\.11-slim\b", text, re.M)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0"), "the image must run as a non-root user"
    assert re.search(r"^ENV\b.*HTTP_HOST=0\.0\.0\.0", text, re.M | re.S)
    for source in ("pyproject.toml", "shared", "services"):
        assert re.search(rf"^COPY\s+.*\b{re.escape(source)}\b", text, re.M), f"{source} not copied"
    assert re.search(r"^CMD\s", text, re.M)
    assert (ROOT / ".dockerignore").is_file()


@pytest.mark.parametrize("name", APP_SERVICES)
def test_service_module_is_runnable(name: str) -> None:
    assert (ROOT / "services" / name / "__main__.py").is_file(), (
        f"services/{name}/__main__.py is missing: `python -m services.{name}` would fail"
    )


def test_docker_compose_config_is_valid() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker CLI not installed")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("docker compose plugin not installed")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_portal_reaches_the_other_services_by_their_compose_names(services: dict) -> None:
    env = _environment(services["portal"])
    assert urlsplit(env["IDENTITY_URL"]).hostname == "identity"
    assert urlsplit(env["DOSSIER_URL"]).hostname == "dossier"
    assert urlsplit(env["DOCUMENT_URL"]).hostname == "document"
    assert _interpolate(env.get("PUBLIC_BASE_URL", "")) == "http://localhost:8080"
    assert (services["portal"]["depends_on"].get("identity") or {}).get("condition") == "service_healthy"


def test_demo_data_is_loaded_once_after_identity_is_up(services: dict) -> None:
    demo = services["demo-data"]
    assert _command(demo).split() == ["python", "-m", "services.identity.demo"]
    assert str(demo.get("restart", "no")) == "no", "a one-shot step must not be restarted"
    assert (demo["depends_on"].get("identity") or {}).get("condition") == "service_healthy"
    assert urlsplit(_interpolate(_environment(demo)["DATABASE_URL"])).path == "/doorstroom_identity"
    assert not demo.get("ports")
    assert (ROOT / "services" / "identity" / "demo.py").is_file()
