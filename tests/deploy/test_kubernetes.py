"""deploy/kubernetes: every overlay renders with `kubectl kustomize`, the core resources are valid
against the Kubernetes API schemas (kubernetes-validate, offline), the custom resources (KEDA,
RabbitMQ Cluster Operator, CloudNativePG) have what their operators need, every setting a service
reads is given, no secret value is in a manifest, and the NetworkPolicies allow the design's flows
and nothing else.
"""
from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("dev", "production", "production-external-db")
KUBECTL = shutil.which("kubectl") or ("/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else None)
KUBERNETES_VERSION = "1.30.0"

SERVICES = {"identity": 8081, "dossier": 8082, "notification": 8083, "document": 8084, "portal": 8080}
HTTP_AUTOSCALED = ("identity", "dossier", "document", "portal")
# names the manifests use to build URLs ($(VAR)); no service reads them itself
HELPERS = {"DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT", "AMQP_USER", "AMQP_PASSWORD", "AMQP_HOST", "AMQP_PORT"}
ALWAYS = {"DATABASE_URL", "AMQP_URL", "HTTP_HOST", "HTTP_PORT", "ENVIRONMENT", "EVENT_EXCHANGE", "AUTH_JWKS_URL"}
CORE_GROUPS = ("v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1")

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed (it has kustomize built in)")


@lru_cache(maxsize=None)
def render(overlay: str) -> tuple[dict, ...]:
    result = subprocess.run([KUBECTL, "kustomize", str(K8S / "overlays" / overlay)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"kubectl kustomize overlays/{overlay}: {result.stderr}"
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d)


def of_kind(docs, kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def named(docs, kind: str, name: str) -> dict:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert found, f"no {kind} {name}"
    return found[0]


def settings_class(service: str):
    module = __import__(f"services.{service}.settings", fromlist=["x"])
    classes = [v for k, v in vars(module).items() if k.endswith("Settings") and k != "ServiceSettings"
               and isinstance(v, type) and getattr(v, "__module__", "") == module.__name__]
    assert len(classes) == 1, classes
    return classes[0]


def container_of(workload: dict) -> dict:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def environment(docs, workload: dict) -> tuple[dict[str, str], dict[str, dict]]:
    """(the container's variables with their values as the kubelet sets them, $(VAR) expanded; secret
    references by name). Secret values stand in as placeholders valid for their kind."""
    container = container_of(workload)
    values: dict[str, str] = {}
    secrets: dict[str, dict] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, "secrets come in by secretKeyRef, one key at a time"
        values.update(named(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for var in container.get("env", []):
        name = var["name"]
        if "value" in var:
            def expand(match: re.Match) -> str:
                assert match.group(1) in values, f"{workload['metadata']['name']}: $({match.group(1)}) used " \
                                                 f"in {name} before it is defined"
                return values[match.group(1)]
            values[name] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", expand, str(var["value"]))
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            secrets[name] = ref
            values[name] = placeholder(name, ref["key"])
    return values, secrets


def placeholder(name: str, key: str) -> str:
    if name.endswith("_URL") or key in SERVICES:
        return f"postgresql://u:p@db.example.nl:5432/doorstroom_{key}"
    if name.endswith("_OLD_KEYS"):
        return ""
    if name.endswith("KEY") or name.endswith("SECRET"):
        return base64.b64encode(os.urandom(32)).decode()
    return "placeholder"


# --------------------------------------------------------------------------- rendering, schemas


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_the_five_services_and_their_migration(overlay: str) -> None:
    docs = render(overlay)
    assert {d["metadata"]["name"] for d in of_kind(docs, "Deployment")} >= set(SERVICES)
    assert len({d["metadata"].get("namespace") for d in docs}) == 1, "one namespace per overlay"
    assert docs[0]["metadata"].get("namespace"), "the overlay sets the namespace"
    assert len(of_kind(docs, "Job")) == 1
    assert not of_kind(docs, "Secret"), "Secrets are made outside the manifests (secret.example.yaml)"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_core_resources_are_valid_against_the_kubernetes_schemas(overlay: str) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    core = [d for d in render(overlay) if d["apiVersion"] in CORE_GROUPS]
    assert len(core) > 30
    for doc in core:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(f"{doc['kind']} {doc['metadata']['name']}: {exc.message} at "
                                 f"{'/'.join(map(str, exc.path))}") from None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_have_what_their_operators_need(overlay: str) -> None:
    docs = render(overlay)
    config = next(d["data"] for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"].startswith("doorstroom-config"))
    # KEDA: notification on its queue
    scaled = named(docs, "ScaledObject", "notification")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == "notification"
    assert scaled["spec"]["minReplicaCount"] >= 1 and scaled["spec"]["maxReplicaCount"] > scaled["spec"]["minReplicaCount"]
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["queueName"] == f"{config['EVENT_EXCHANGE']}.notification"  # shared/bus.py
    assert trigger["metadata"]["mode"] == "QueueLength" and int(trigger["metadata"]["value"]) > 0
    auth = named(docs, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    assert auth["apiVersion"] == "keda.sh/v1alpha1"
    assert {r["parameter"] for r in auth["spec"]["secretTargetRef"]} == {"host"}
    assert "host" not in trigger["metadata"], "the broker URL holds a password: only from a Secret"

    if overlay.startswith("production"):
        (rabbit,) = of_kind(docs, "RabbitmqCluster")
        assert rabbit["apiVersion"] == "rabbitmq.com/v1beta1" and rabbit["spec"]["replicas"] == 3
        assert config["AMQP_HOST"] == rabbit["metadata"]["name"], "services must reach the cluster's Service"
        assert config["QUEUE_TYPE"] == "quorum"
        user = named(docs, "User", "doorstroom")
        assert user["spec"]["importCredentialsSecret"]["name"] == "doorstroom-broker"
        assert user["spec"]["rabbitmqClusterReference"]["name"] == rabbit["metadata"]["name"]
        permission = named(docs, "Permission", "doorstroom")
        assert permission["spec"]["userReference"]["name"] == "doorstroom"
    clusters = of_kind(docs, "Cluster")
    if overlay == "production":
        (cluster,) = clusters
        assert cluster["apiVersion"] == "postgresql.cnpg.io/v1" and cluster["spec"]["instances"] >= 3
        assert cluster["spec"]["storage"]["size"]
        initdb = cluster["spec"]["bootstrap"]["initdb"]
        assert initdb["secret"]["name"] == "doorstroom-database"
        databases = {initdb["database"]}
        for database in of_kind(docs, "Database"):
            assert database["apiVersion"] == "postgresql.cnpg.io/v1"
            assert database["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
            assert database["spec"]["owner"] == initdb["owner"]
            databases.add(database["spec"]["name"])
        assert databases == {f"doorstroom_{s}" for s in SERVICES}
        assert config["DB_HOST"] == f"{cluster['metadata']['name']}-rw", "services must reach the primary"
    else:
        assert not clusters and not of_kind(docs, "Database")
    if overlay == "dev":
        for name in ("postgres", "rabbitmq"):
            assert named(docs, "StatefulSet", name)["spec"]["replicas"] == 1
            assert named(docs, "Service", name)
        assert named(docs, "Deployment", "mailpit")


# --------------------------------------------------------------------------- the services


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_runs_the_one_image_with_probes_resources_and_a_disruption_budget(overlay: str) -> None:
    docs = render(overlay)
    images = set()
    for name, port in SERVICES.items():
        deployment = named(docs, "Deployment", name)
        container = container_of(deployment)
        images.add(container["image"])
        assert container["command"] == ["python", "-m", f"services.{name}"]
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{name}: resources.{kind}"
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        pdbs = [p for p in of_kind(docs, "PodDisruptionBudget")
                if p["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(pdbs) == 1, f"{name}: one PodDisruptionBudget"
        service = named(docs, "Service", name)
        assert service["spec"]["ports"][0]["port"] == port and service["spec"]["selector"].items() <= labels.items()
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        if name in HTTP_AUTOSCALED:
            hpa = named(docs, "HorizontalPodAutoscaler", name)
            assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["scaleTargetRef"]["name"] == name
        else:
            assert not [h for h in of_kind(docs, "HorizontalPodAutoscaler") if h["metadata"]["name"] == name], \
                "notification is scaled by KEDA, not by a second autoscaler"
    job = of_kind(docs, "Job")[0]
    images.add(container_of(job)["image"])
    assert len(images) == 1, f"one image for every service and the migration: {images}"


def test_the_image_is_the_one_compose_builds() -> None:
    text = (K8S / "base" / "kustomization.yaml").read_text(encoding="utf-8")
    assert "name: doorstroom" in text
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "docker run --rm doorstroom" in dockerfile  # the image's name in the Dockerfile's own words


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_setting_a_service_reads_is_given_and_parses(overlay: str) -> None:
    docs = render(overlay)
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    for name in SERVICES:
        cls = settings_class(name)
        values, secrets = environment(docs, named(docs, "Deployment", name))
        fields = {f.upper() for f in cls.model_fields}
        given = set(values)
        # what must be set in a cluster: the basics, and every setting whose default points at this machine
        local = {f.upper() for f, info in cls.model_fields.items()
                 if isinstance(info.default, str) and re.search(r"127\.0\.0\.1|localhost", info.default)}
        missing = (ALWAYS | local) - given
        assert not missing, f"{overlay}/{name} is not given {sorted(missing)}"
        # everything compose gives the service (compose reads the same settings)
        compose_env = compose[name].get("environment") or {}
        assert not set(compose_env) - given, f"{overlay}/{name}: compose gives {sorted(set(compose_env) - given)} too"
        # nothing given that no setting reads (a typo would be ignored by the service)
        unknown = given - fields - HELPERS - {n for n in given if n.startswith("OTEL_")}
        assert not unknown, f"{overlay}/{name} is given variables no setting reads: {sorted(unknown)}"
        assert values["HTTP_PORT"] == str(SERVICES[name])
        # the keys: from Secrets, to the services that seal, never to the portal
        if cls.seals_secrets:
            assert "EVENT_SEAL_KEY" in secrets and not secrets["EVENT_SEAL_KEY"].get("optional")
        else:
            assert "EVENT_SEAL_KEY" not in given
        if name == "identity":
            for key in ("BSN_ENCRYPTION_KEY", "BSN_HMAC_KEY", "ACTIVATION_CODE_KEY"):
                assert key in secrets and not secrets[key].get("optional"), key
        assert values["ENVIRONMENT"] == ("development" if overlay == "dev" else "production")
        # and the values parse as the service would read them
        settings = cls(**{k.lower(): v for k, v in values.items() if k in fields})
        assert settings.http_port == SERVICES[name]
        assert settings.database_url.endswith(f"/doorstroom_{name}")
        assert settings.auth_jwks_url == "http://identity:8081/.well-known/jwks.json"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_value_in_the_manifests(overlay: str) -> None:
    for doc in render(overlay):
        if doc["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            for var in container.get("env", []):
                if "value" not in var:
                    continue
                assert not re.search(r"PASSWORD|SECRET|_KEY$|_KEYS$|TOKEN", var["name"]), \
                    f"{doc['metadata']['name']}: {var['name']} has a value; take it from a Secret"
                credentials = re.search(r"://([^@/]*)@", str(var["value"]))
                if credentials:
                    assert re.fullmatch(r"\$\([A-Z_]+\):\$\([A-Z_]+\)", credentials.group(1)), \
                        f"{doc['metadata']['name']}: {var['name']} has credentials in its value"


def test_secret_example_lists_every_secret_key_the_manifests_use() -> None:
    listed: dict[str, set[str]] = {}
    for doc in yaml.safe_load_all((K8S / "base" / "secret.example.yaml").read_text(encoding="utf-8")):
        assert doc["kind"] == "Secret" and not any(doc["stringData"].values()), "an example holds no value"
        listed[doc["metadata"]["name"]] = set(doc["stringData"])
    for overlay in OVERLAYS:
        docs = render(overlay)
        for doc in docs:
            text = yaml.safe_dump(doc)
            for ref in re.findall(r"secretKeyRef:\n\s+key: (\S+)\n\s+name: (\S+)", text):
                key, secret = ref
                assert key in listed.get(secret, set()), f"{overlay}: {secret}/{key} not in secret.example.yaml"
        for auth in of_kind(docs, "TriggerAuthentication"):
            for ref in auth["spec"]["secretTargetRef"]:
                assert ref["key"] in listed.get(ref["name"], set())


# --------------------------------------------------------------------------- migrations


def _release_slug(tag: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", tag.lower()).strip("-")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_migration_job_is_named_after_the_release(overlay: str) -> None:
    docs = render(overlay)
    (job,) = of_kind(docs, "Job")
    container = container_of(job)
    tag = container["image"].rsplit(":", 1)[1]
    assert job["metadata"]["name"] == f"doorstroom-migrate-{_release_slug(tag)}", \
        "a release's migration Job carries its image tag: set both together"
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
    assert container["command"] == ["python", "-m", "shared.migrate"], "the image's own migration step"
    values, _ = environment(docs, job)
    for name in SERVICES:
        assert values[f"{name.upper()}_DATABASE_URL"].endswith(f"/doorstroom_{name}")


def test_the_migration_script_migrates_every_service_database() -> None:
    """python -m shared.migrate against the local PostgreSQL: each database made and migrated, and a second run
    (the next pod of the same release, a retry) finds nothing to do."""
    from tests.support import env

    names = {s: f"k8s_migrate_{s}" for s in SERVICES}
    variables = {**os.environ, **{f"{s.upper()}_DATABASE_URL": env.database_url(n) for s, n in names.items()}}
    try:
        first = subprocess.run([sys.executable, "-m", "shared.migrate"], env=variables, cwd=ROOT, capture_output=True,
                               text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        for service in SERVICES:
            assert re.search(rf"^{service}: [1-9]\d* migration\(s\) applied", first.stdout, re.M), first.stdout
        second = subprocess.run([sys.executable, "-m", "shared.migrate"], env=variables, cwd=ROOT, capture_output=True,
                                text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        assert second.stdout.count("0 migration(s) applied") == len(SERVICES), second.stdout
    finally:
        async def drop() -> None:
            import asyncpg

            conn = await asyncpg.connect(env.database_url("x").rsplit("/", 1)[0] + "/postgres")
            try:
                for name in names.values():
                    await conn.execute(f'DROP DATABASE IF EXISTS "{env.DB_PREFIX}{name}" WITH (FORCE)')
            finally:
                await conn.close()
        asyncio.run(drop())


# --------------------------------------------------------------------------- network policies


def _matches(selector: dict | None, labels: dict) -> bool:
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        present = expr["key"] in labels
        if expr["operator"] == "In" and not (present and labels[expr["key"]] in expr["values"]):
            return False
        if expr["operator"] == "NotIn" and present and labels[expr["key"]] in expr["values"]:
            return False
        if expr["operator"] == "Exists" and not present:
            return False
    return True


def _peer_matches(peer: dict, labels: dict, namespace: str) -> bool:
    """A peer of a rule against a pod of the overlay's own namespace."""
    if "ipBlock" in peer:
        return False  # pod-to-pod traffic in the namespace is decided by selectors
    if "namespaceSelector" in peer:
        own = {"kubernetes.io/metadata.name": namespace}
        if not _matches(peer["namespaceSelector"], own):
            return False
    return _matches(peer.get("podSelector", {}), labels)


def _port_matches(rule: dict, port: int) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    return any(p.get("port") is None or (isinstance(p["port"], int) and p["port"] <= port <= p.get("endPort", p["port"]))
               for p in ports)


def _allows(policies, direction: str, pod: dict, peer: dict, port: int, namespace: str) -> bool:
    """Whether NetworkPolicy semantics let `pod` send (Egress) to / receive (Ingress) from `peer`."""
    selecting = [p for p in policies if _matches(p["spec"]["podSelector"], pod)
                 and direction in p["spec"].get("policyTypes", ["Ingress"])]
    if not selecting:
        return True
    key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    for policy in selecting:
        for rule in policy["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if (not peers or any(_peer_matches(x, peer, namespace) for x in peers)) and _port_matches(rule, port):
                return True
    return False


def _flow(docs, source: str, target: str, port: int) -> bool:
    policies = of_kind(docs, "NetworkPolicy")
    namespace = docs[0]["metadata"]["namespace"]
    pods = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
            for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job")}
    src, dst = pods[source], pods[target]
    return (_allows(policies, "Egress", src, dst, port, namespace)
            and _allows(policies, "Ingress", dst, src, port, namespace))


ALLOWED = [("portal", "identity", 8081), ("portal", "dossier", 8082), ("portal", "document", 8084),
           ("document", "dossier", 8082), ("dossier", "identity", 8081), ("document", "identity", 8081),
           ("notification", "identity", 8081)]
DENIED = [("notification", "dossier", 8082), ("identity", "dossier", 8082), ("dossier", "document", 8084),
          ("dossier", "portal", 8080), ("identity", "portal", 8080), ("notification", "document", 8084),
          ("document", "notification", 8083), ("portal", "notification", 8083), ("dossier", "identity", 5432)]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_allow_the_design_flows(overlay: str) -> None:
    docs = render(overlay)
    policies = of_kind(docs, "NetworkPolicy")
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert deny, "a default-deny policy for the whole namespace"
    allow = [p for p in policies if p not in deny and p["spec"]["podSelector"] != {}]
    for workload in [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job")]:
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert any(_matches(p["spec"]["podSelector"], labels) for p in allow), \
            f"{workload['kind']} {workload['metadata']['name']} is selected by no allow policy"
    for source, target, port in ALLOWED:
        assert _flow(docs, source, target, port), f"{overlay}: {source} -> {target}:{port} must be allowed"
    for source, target, port in DENIED:
        assert not _flow(docs, source, target, port), f"{overlay}: {source} -> {target}:{port} must be denied"
    # people reach the portal through the ingress controller; Prometheus scrapes every service
    portal = named(docs, "Deployment", "portal")["spec"]["template"]["metadata"]["labels"]
    from_namespaces = {(peer.get("namespaceSelector") or {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                       for p in policies if _matches(p["spec"]["podSelector"], portal)
                       for rule in p["spec"].get("ingress") or [] for peer in rule.get("from") or []}
    assert "ingress-nginx" in from_namespaces
    for name, port in SERVICES.items():
        labels = named(docs, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert any(_matches(p["spec"]["podSelector"], labels) and _port_matches(rule, port)
                   and any((peer.get("namespaceSelector") or {}).get("matchLabels", {}).get(
                       "kubernetes.io/metadata.name") == "monitoring" for peer in rule.get("from") or [])
                   for p in policies for rule in p["spec"].get("ingress") or []), f"{name}: no scrape allowed"


def test_dev_lets_the_services_reach_their_backing_services_and_mailpit() -> None:
    docs = render("dev")
    for name in SERVICES:
        assert _flow(docs, name, "postgres", 5432), f"{name} -> postgres"
        assert _flow(docs, name, "rabbitmq", 5672), f"{name} -> rabbitmq"
    job = of_kind(docs, "Job")[0]["metadata"]["name"]
    assert _flow(docs, job, "postgres", 5432)
    assert _flow(docs, "notification", "mailpit", 1025)
    assert not _flow(docs, "portal", "mailpit", 1025)
    assert not _flow(docs, "postgres", "rabbitmq", 5672)
