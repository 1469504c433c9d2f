"""The Helm chart, offline: lint, render both value sets, validate every object against its schema,
and check the chart against the code (every service and processor deployed, every API routed,
connectors identical to the local stack's, migrations as hooks on upgrade, requests and limits)."""

from __future__ import annotations

import re
import sys

import pytest
import yaml

from chassis import local
from tests.charts.render import CHART, ROOT, objects, render, run_helm, validation_errors, values_args

# The first run on a new machine builds Helm from the Go module proxy (charts/tools/helm.sh): minutes.
pytestmark = pytest.mark.timeout(3600)

VALUE_SETS = ("dev", "prod")
FULLNAME = "calories"


def component(name: str) -> str:
    return f"{FULLNAME}-{name.replace('_', '-')}"


def code_processors() -> set[str]:
    files = {p.stem for p in (ROOT / "stream_processors").glob("*.py") if p.stem != "__init__"}
    return files | set(local.PROCESSORS)


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_helm_lint(value_set):
    run_helm("lint", "--strict", str(CHART), *values_args(value_set))


@pytest.mark.parametrize("upgrade", [False, True], ids=["install", "upgrade"])
@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_object_matches_its_schema(value_set, upgrade):
    errors = [e for doc in render(value_set, upgrade) for e in validation_errors(doc)]
    assert not errors, "\n".join(errors)


def test_the_validation_catches_mistakes():
    """The schemas are strict: a misspelt field of a custom or a built-in resource is refused."""
    docs = render("dev")
    kafka = yaml.safe_load(yaml.safe_dump(next(d for d in docs if d["kind"] == "Kafka")))
    kafka["spec"]["kafka"]["listenrs"] = []
    assert validation_errors(kafka)
    deployment = yaml.safe_load(yaml.safe_dump(next(d for d in docs if d["kind"] == "Deployment")))
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    assert validation_errors(deployment)


def test_generated_chart_files_are_current():
    sys.path.insert(0, str(ROOT / "charts" / "tools"))
    import generate

    assert generate.main(["--check"]) == 0, "run .venv/bin/python charts/tools/generate.py and commit"


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_service_has_a_deployment_a_service_and_an_ingress_path(value_set):
    docs = render(value_set)
    deployments, services = objects(docs, "Deployment"), objects(docs, "Service")
    [ingress] = objects(docs, "Ingress").values()
    [rule] = ingress["spec"]["rules"]
    routes = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    for service in local.SERVICES:
        deployment = deployments.get(component(service))
        assert deployment, f"no Deployment for the {service} API"
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["command"][:2] == ["uvicorn", f"apis.{service}.app:app"]
        assert component(service) in services, f"no Service for the {service} API"
        assert routes.get(f"/{service}") == component(service), f"no ingress path /{service}"
    assert rule["host"] == "arch.homework"
    assert set(routes) == {f"/{s}" for s in local.SERVICES}


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_processor_has_a_deployment(value_set):
    deployments = objects(render(value_set), "Deployment")
    for processor in code_processors():
        deployment = deployments.get(component(processor))
        assert deployment, f"no Deployment for the stream processor {processor}"
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["faust", "-A", f"stream_processors.{processor}", "worker", "-l", "info"]
        env = {e["name"]: e for e in container["env"]}
        assert f"CALORIES_{local.owner(processor).upper()}_DATABASE_URL" in env
        assert "CALORIES_FAUST_WEB_PORT" in env


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_container_requests_and_limits_resources(value_set):
    docs = render(value_set, upgrade=True) + render(value_set)
    missing = []
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        spec = doc["spec"]["template"]["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(part, {})):
                    missing.append(f"{doc['kind']}/{doc['metadata']['name']} {container['name']}: {part}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_pods_get_no_service_links(value_set):
    """Kubernetes' CALORIES_AUTH_PORT=tcp://... would break chassis/local.py's port settings."""
    for doc in render(value_set):
        if doc["kind"] in ("Deployment", "Job"):
            assert doc["spec"]["template"]["spec"].get("enableServiceLinks") is False, doc["metadata"]["name"]


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_apis_scale_and_every_workload_has_a_disruption_budget(value_set):
    docs = render(value_set)
    hpas = {h["spec"]["scaleTargetRef"]["name"] for h in objects(docs, "HorizontalPodAutoscaler").values()}
    pdbs = set(objects(docs, "PodDisruptionBudget"))
    assert {component(s) for s in local.SERVICES} <= hpas
    assert {component(n) for n in [*local.SERVICES, *local.PROCESSORS]} <= pdbs


def test_migrations_are_jobs_per_database_hooked_on_upgrade():
    from chassis.migrate import services_with_migrations

    for upgrade in (False, True):
        jobs = objects(render("prod", upgrade), "Job")
        for service in services_with_migrations():
            [job] = [j for n, j in jobs.items() if n.startswith(f"{FULLNAME}-migrate-{service}-")]
            [container] = job["spec"]["template"]["spec"]["containers"]
            assert container["command"] == ["python", "-m", "chassis.migrate", service]
            hook = job["metadata"].get("annotations", {}).get("helm.sh/hook", "")
            assert ("pre-upgrade" in hook) == upgrade, (service, upgrade, hook)
        [sync] = [j for n, j in jobs.items() if n.startswith(f"{FULLNAME}-catalog-sync-")]
        assert sync["spec"]["template"]["spec"]["containers"][0]["command"][-2:] == ["chassis.catalog", "sync"]


def test_connectors_are_the_local_stacks_connectors():
    """One KafkaConnector per service database, its config exactly what connectors/register.py
    builds for the cluster's database host, topic prefix and password."""
    from chassis.migrate import services_with_migrations
    from chassis.settings import StackSettings
    from connectors.register import connector_config

    connectors = objects(render("prod"), "KafkaConnector")
    assert set(connectors) == {f"{FULLNAME}-{db}-outbox" for db in services_with_migrations()}
    for db in services_with_migrations():
        spec = connectors[f"{FULLNAME}-{db}-outbox"]["spec"]
        settings = StackSettings(pg_host=f"{FULLNAME}-pg-{db}-rw", pg_port=5432, topic_prefix="calories")
        expected = connector_config(db, settings, password=f"${{secrets:calories/{FULLNAME}-db-{db}:password}}")
        actual = {**spec["config"], "connector.class": spec["class"], "tasks.max": str(spec["tasksMax"])}
        assert actual == expected


def test_each_database_has_its_postgres_cluster_with_logical_replication():
    clusters = objects(render("prod"), "Cluster")
    for db in [*local.SERVICES, "registry"]:
        cluster = clusters[f"{FULLNAME}-pg-{db}"]["spec"]
        assert cluster["postgresql"]["parameters"]["wal_level"] == "logical"
        assert cluster["bootstrap"]["initdb"]["owner"] == db
        assert cluster["instances"] == 3


def secret_looking_keys(node, where: str = "") -> list[str]:
    if not isinstance(node, dict):
        return []
    found = []
    for key, value in node.items():
        if any(word in str(key).lower() for word in ("password", "secretkey", "privatekey", "token")):
            found.append(f"{where}{key}")
        found += secret_looking_keys(value, f"{where}{key}.")
    return found


def test_no_secret_in_values_files():
    for path in CHART.glob("values*.yaml"):
        text = path.read_text()
        assert "BEGIN" not in text, path
        assert not secret_looking_keys(yaml.safe_load(text) or {}), path


def test_prometheus_rules_and_dashboards_are_the_monitorings():
    """The PrometheusRule holds every rule of monitoring/prometheus/rules/; every dashboard of
    monitoring/dashboards/ and the per-pod one are ConfigMaps for Grafana's sidecar."""
    docs = render("prod")
    [rule] = objects(docs, "PrometheusRule").values()
    names = {r.get("alert") or r.get("record") for g in rule["spec"]["groups"] for r in g["rules"]}
    expected = {r.get("alert") or r.get("record")
                for path in (ROOT / "monitoring" / "prometheus" / "rules").glob("*.yml")
                for g in (yaml.safe_load(path.read_text()) or {}).get("groups", []) for r in g["rules"]}
    assert names == expected
    loaded = {key for c in objects(docs, "ConfigMap").values()
              if c["metadata"]["labels"].get("grafana_dashboard") for key in c["data"]}
    assert {p.name for p in (ROOT / "monitoring" / "dashboards").glob("*.json")} | {"pod-resources.json"} == loaded


def test_dockerfile_runs_every_command_as_non_root_from_a_pinned_base():
    text = (ROOT / "Dockerfile").read_text()
    args = dict(line[4:].split("=", 1) for line in text.splitlines() if line.startswith("ARG ") and "=" in line)
    froms = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    bases = [args.get(f.strip("${}"), f) for f in froms]
    assert bases and all(re.search(r":\d+\.\d+\.\d+-", b) for b in bases), bases  # an exact version
    assert "USER 10001" in text
    for folder in ("chassis", "apis", "stream_processors", "connectors", "schemas"):
        assert f"COPY --chown=10001:10001 {folder}" in text or f" {folder} " in text, folder
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".stack" in ignored
