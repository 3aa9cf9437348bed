"""deploy/observability: the Prometheus scrape config, the alert rules, the Grafana dashboard and the
compose profile that runs them.

Every metric a rule or a panel names must be one of the agreed names (shared/metrics.py's list) and
be defined in the code, so a renamed metric breaks this test instead of silently emptying a panel
or muting an alert. `promtool` (check config, check rules, and unit tests of the rules) runs when it
is installed (scripts/lib/bootstrap.sh puts it in .venv/bin); `docker compose config` when the CLI is.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "deploy" / "observability"
RULES = OBS / "alerts.yml"
PROMETHEUS = OBS / "prometheus.yml"
DASHBOARD = OBS / "grafana" / "dashboards" / "doorstroom.json"
OPERATIONS = ROOT / "docs" / "operations.md"
COMPOSE = ROOT / "docker-compose.yml"

SERVICES = {"identity": 8081, "dossier": 8082, "notification": 8083, "document": 8084, "portal": 8080}

# The names agreed with the metrics work (issue 13): the fallback while shared/metrics.py is absent.
AGREED = {
    "doorstroom_http_requests_total", "doorstroom_http_request_duration_seconds",
    "doorstroom_outbox_pending_rows", "doorstroom_outbox_oldest_pending_age_seconds",
    "doorstroom_outbox_published_total", "doorstroom_outbox_failed_total", "doorstroom_outbox_parked_total",
    "doorstroom_consumer_messages_total", "doorstroom_consumer_handling_duration_seconds",
    "doorstroom_parked_messages", "doorstroom_queue_messages_ready", "doorstroom_deliveries",
    "doorstroom_delivery_attempts_total", "doorstroom_smtp_send_duration_seconds",
    "doorstroom_print_jobs_total", "doorstroom_print_render_duration_seconds",
    "doorstroom_db_pool_connections", "doorstroom_db_pool_waiting", "doorstroom_broker_connected",
    "doorstroom_ready",
}
HISTOGRAMS = {n for n in AGREED if n.endswith("_seconds") and "age" not in n}
METRIC = re.compile(r"\b(doorstroom_[a-z0-9_]+)")


def _promtool() -> str | None:
    return shutil.which("promtool") or next((str(p) for p in [ROOT / ".venv" / "bin" / "promtool"] if p.exists()), None)


def _defined_in_code() -> set[str]:
    """Metric names as string literals in shared/ and services/ (None of the fallback: the agreed list)."""
    if not (ROOT / "shared" / "metrics.py").is_file():
        return set(AGREED)
    names: set[str] = set()
    for folder in ("shared", "services"):
        for path in (ROOT / folder).rglob("*.py"):
            names.update(re.findall(r"""["'](doorstroom_[a-z0-9_]+)["']""", path.read_text(encoding="utf-8")))
    return names


def _base_name(name: str) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in HISTOGRAMS:
            return name[: -len(suffix)]
    return name


def _rules() -> list[dict]:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"]]


def _panels() -> list[dict]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]


def _exprs_of_dashboard() -> list[str]:
    return [t["expr"] for p in _panels() for t in p.get("targets", [])]


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(markdown: str) -> set[str]:
    anchors = {_slug(m) for m in re.findall(r"^#+\s+(.*)$", markdown, re.M)}
    return anchors | set(re.findall(r'<a (?:id|name)="([^"]+)"', markdown))


# --------------------------------------------------------------------------- metric names


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_metric_named_is_agreed_and_defined_in_the_code(source: str) -> None:
    exprs = [r["expr"] for r in _rules()] if source == "rules" else _exprs_of_dashboard()
    assert exprs, f"no expressions in the {source}"
    used = {_base_name(n) for e in exprs for n in METRIC.findall(e)}
    assert used, f"the {source} name no Doorstroom metric"
    assert not used - AGREED, f"{source} use names outside the agreed list: {sorted(used - AGREED)}"
    defined = _defined_in_code()
    assert not used - defined, f"{source} use metrics no service defines: {sorted(used - defined)}"


def test_the_code_defines_every_agreed_name() -> None:
    if not (ROOT / "shared" / "metrics.py").is_file():
        pytest.skip("shared/metrics.py is not there yet")
    missing = AGREED - _defined_in_code()
    assert not missing, f"agreed metrics missing from the code: {sorted(missing)}"


def test_histograms_are_queried_by_their_buckets() -> None:
    for expr in [r["expr"] for r in _rules()] + _exprs_of_dashboard():
        for name in METRIC.findall(expr):
            if name in HISTOGRAMS:
                raise AssertionError(f"histogram {name} used without _bucket/_sum/_count in {expr!r}")
            if name.endswith("_bucket"):
                assert "histogram_quantile" in expr, expr


# --------------------------------------------------------------------------- alert rules

REQUIRED_ALERTS = {
    # what issue 13 asks for: a metric the alert must watch, and a test of its expression
    "OutboxBehind": ("doorstroom_outbox_oldest_pending_age_seconds", r">\s*60\b"),
    "MessagesParked": ("doorstroom_parked_messages", r">\s*0\b"),
    "DeliveriesFailing": ("doorstroom_delivery_attempts_total", r'outcome="failed"'),
    "NotificationQueueGrowing": ("doorstroom_queue_messages_ready", r'service="notification"'),
    "ServiceNotReady": ("doorstroom_ready", r"\bup\b"),
}


def test_the_required_alerts_are_there() -> None:
    rules = {r.get("alert"): r for r in _rules()}
    for name, (metric, pattern) in REQUIRED_ALERTS.items():
        assert name in rules, f"alert {name} missing"
        assert metric in rules[name]["expr"], f"{name} does not watch {metric}"
        assert re.search(pattern, rules[name]["expr"]), f"{name}: {pattern} not in {rules[name]['expr']!r}"
    assert rules["NotificationQueueGrowing"].get("for") == "10m"


def test_every_alert_has_severity_summary_and_a_runbook_that_exists() -> None:
    anchors = _anchors(OPERATIONS.read_text(encoding="utf-8")) if OPERATIONS.is_file() else set()
    for rule in _rules():
        name = rule.get("alert")
        assert name, f"recording rules are not expected here: {rule}"
        assert rule.get("labels", {}).get("severity") in ("warning", "critical"), name
        notes = rule.get("annotations", {})
        assert notes.get("summary") and notes.get("description"), name
        anchor = f"alert-{name.lower()}"
        assert f"docs/operations.md#{anchor}" in notes["description"], f"{name}: description must point to the runbook"
        assert notes.get("runbook_url", "").endswith(f"#{anchor}"), name
        assert anchor in anchors, f"docs/operations.md has no section #{anchor} for {name}"


def test_promtool_checks_config_and_rules() -> None:
    promtool = _promtool()
    if promtool is None:
        pytest.skip("promtool not installed (scripts/lib/bootstrap.sh ensure_promtool puts it in .venv/bin)")
    rules = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = subprocess.run([promtool, "check", "config", str(PROMETHEUS)],
                            capture_output=True, text=True, timeout=60)
    assert config.returncode == 0, config.stdout + config.stderr


RULE_TESTS = """
rule_files: [{rules}]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'doorstroom_outbox_oldest_pending_age_seconds{{service="dossier"}}'
        values: '0+15x20'          # an outbox row that stays: 0, 15, 30, ... seconds old
      - series: 'doorstroom_outbox_oldest_pending_age_seconds{{service="identity"}}'
        values: '0x20'
      - series: 'doorstroom_parked_messages{{service="notification"}}'
        values: '0x4 1x10'
      - series: 'doorstroom_ready{{service="document"}}'
        values: '1x4 0x12'
      - series: 'up{{job="portal"}}'
        values: '1x4 0x12'
      - series: 'up{{job="identity"}}'
        values: '1x16'
      - series: 'doorstroom_ready{{service="identity"}}'
        values: '1x16'
    alert_rule_test:
      - eval_time: 1m
        alertname: OutboxBehind
        exp_alerts: []
      - eval_time: 3m
        alertname: OutboxBehind
        exp_alerts:
          - exp_labels: {{severity: warning, service: dossier}}
      - eval_time: 3m
        alertname: MessagesParked
        exp_alerts:
          - exp_labels: {{severity: warning, service: notification}}
      - eval_time: 4m
        alertname: ServiceNotReady
        exp_alerts:
          - exp_labels: {{severity: critical, service: document}}
          - exp_labels: {{severity: critical, service: portal}}
  - interval: 1m
    input_series:
      - series: 'doorstroom_queue_messages_ready{{service="notification", queue="doorstroom.events.notification"}}'
        values: '100+50x30'        # 50 more each minute
      - series: 'doorstroom_queue_messages_ready{{service="notification", queue="doorstroom.events.notification.parked"}}'
        values: '0x30'
      - series: 'doorstroom_delivery_attempts_total{{outcome="sent"}}'
        values: '0+10x30'
      - series: 'doorstroom_delivery_attempts_total{{outcome="failed"}}'
        values: '0x10 1+1x20'
    alert_rule_test:
      - eval_time: 8m
        alertname: NotificationQueueGrowing
        exp_alerts: []
      - eval_time: 20m
        alertname: NotificationQueueGrowing
        exp_alerts:
          - exp_labels: {{severity: warning}}
      - eval_time: 5m
        alertname: DeliveriesFailing
        exp_alerts: []
      - eval_time: 15m
        alertname: DeliveriesFailing
        exp_alerts:
          - exp_labels: {{severity: critical}}
"""


def test_the_alerts_fire_when_they_should(tmp_path: Path) -> None:
    """promtool's unit tests of the rules: each alert fires on the series it is about, not before."""
    promtool = _promtool()
    if promtool is None:
        pytest.skip("promtool not installed (scripts/lib/bootstrap.sh ensure_promtool puts it in .venv/bin)")
    # the expressions, labels and `for` as they are; the annotations left out (the test compares them)
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in data["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    rules = tmp_path / "alerts.yml"
    rules.write_text(yaml.safe_dump(data), encoding="utf-8")
    spec = tmp_path / "alerts_test.yml"
    spec.write_text(textwrap.dedent(RULE_TESTS.format(rules=json.dumps(str(rules)))), encoding="utf-8")
    result = subprocess.run([promtool, "test", "rules", str(spec)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- scrape config, dashboard


def test_prometheus_scrapes_every_service_by_dns_on_its_port() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    assert config["rule_files"] and Path(config["rule_files"][0]).name == RULES.name
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name, port in SERVICES.items():
        assert name in jobs, f"no scrape job for {name}"
        assert jobs[name].get("metrics_path", "/metrics") == "/metrics"
        sd = jobs[name]["dns_sd_configs"]
        assert sd[0]["names"] == [name] and sd[0]["type"] == "A" and sd[0]["port"] == port, name


def test_the_dashboard_has_one_row_per_service() -> None:
    panels = _panels()
    rows = [p for p in panels if p["type"] == "row"]
    assert [r["title"] for r in rows] == list(("identity", "dossier", "document", "notification", "portal"))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    current = None
    count: dict[str, int] = {}
    for panel in sorted(panels, key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"])):
        if panel["type"] == "row":
            current = panel["title"]
            continue
        assert current is not None, f"panel {panel['title']!r} above the first row"
        count[current] = count.get(current, 0) + 1
        for target in panel["targets"]:
            for service in re.findall(r'service="([a-z]+)"', target["expr"]):
                assert service == current, f"{panel['title']!r} in row {current} shows {service}"
    assert all(count.get(s, 0) >= 6 for s in SERVICES), count


def test_grafana_is_provisioned_with_the_datasource_the_dashboard_uses() -> None:
    sources = yaml.safe_load((OBS / "grafana/provisioning/datasources/prometheus.yml").read_text(encoding="utf-8"))
    uids = {s["uid"] for s in sources["datasources"]}
    assert any(s["url"] == "http://prometheus:9090" for s in sources["datasources"])
    used = {p["datasource"]["uid"] for p in _panels() if p.get("datasource")}
    assert used and used <= uids
    providers = yaml.safe_load((OBS / "grafana/provisioning/dashboards/doorstroom.yml").read_text(encoding="utf-8"))
    assert providers["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"


# --------------------------------------------------------------------------- compose profile


def test_compose_runs_prometheus_and_grafana_in_the_observability_profile() -> None:
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    for name, image in (("prometheus", "prom/prometheus:"), ("grafana", "grafana/grafana:")):
        service = services[name]
        assert service.get("profiles") == ["observability"], f"{name} must only run with --profile observability"
        assert str(service["image"]).startswith(image)
        tag = str(service["image"]).split(":", 1)[1]
        assert tag and tag != "latest", f"{name}: pin the image tag"
        assert all(str(p).startswith("127.0.0.1:") for p in service.get("ports", [])), f"{name}: loopback only"
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
    mounts = " ".join(map(str, services["prometheus"]["volumes"]))
    assert "deploy/observability/prometheus.yml" in mounts and "deploy/observability/alerts.yml" in mounts
    assert "deploy/observability/grafana/provisioning" in " ".join(map(str, services["grafana"]["volumes"]))
    for name in SERVICES:  # the application services stay outside the profile
        assert "profiles" not in services[name]


def test_docker_compose_config_with_the_observability_profile() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("docker compose not installed")
    result = subprocess.run([docker, "compose", "-f", str(COMPOSE), "--profile", "observability", "config", "-q"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
