"""Write the chart's files that come from the code, so the chart and the local stack never drift apart.

    .venv/bin/python charts/tools/generate.py          # rewrite them
    .venv/bin/python charts/tools/generate.py --check  # exit 1 if a committed file is stale (the test does this)

- files/connectors.json: one Debezium outbox connector per service database, built by
  `connectors.register.connector_config` from `connectors/outbox-connector.json` (the very function
  `make up` registers with), with Helm template expressions where the cluster's values go (the
  database host, the topic prefix, and the password through Strimzi's Kubernetes Secret config provider).
  The chart renders each with `tpl` into a KafkaConnector.
- files/topics.json: the aggregate topics (one per folder of schemas/) and their partition count,
  rendered into KafkaTopic resources so production gets replicated topics.
- files/rules/*.yml and files/dashboards/*.json: copies of monitoring/prometheus/rules/ and
  monitoring/dashboards/ (the monitoring of the local stack), loaded into a PrometheusRule and into
  Grafana dashboard ConfigMaps; pod-resources.json is the chart's own (per-pod, kube-state-metrics).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "charts" / "calories" / "files"

# What the cluster fills in, as template expressions evaluated by `tpl` in templates/connectors.yaml.
FULLNAME = '{{ include "calories.fullname" . }}'
TOPIC_PREFIX = "{{ .Values.topicPrefix }}"


def connectors() -> dict[str, dict[str, str]]:
    from chassis.migrate import services_with_migrations
    from chassis.settings import StackSettings
    from connectors.register import connector_config

    out = {}
    for database in services_with_migrations():
        settings = StackSettings(pg_host=f"{FULLNAME}-pg-{database}-rw", pg_port=5432, topic_prefix=TOPIC_PREFIX)
        password = f"${{secrets:{{{{ .Release.Namespace }}}}/{FULLNAME}-db-{database}:password}}"
        out[database] = connector_config(database, settings, password=password)
    return out


def topics() -> dict[str, object]:
    from chassis.avro import SchemaCatalog
    from chassis.catalog import TOPIC_PARTITIONS

    return {"partitions": TOPIC_PARTITIONS,
            "aggregates": sorted(SchemaCatalog([ROOT / "schemas"]).aggregate_types())}


def monitoring_copies() -> dict[Path, str]:
    rules = sorted((ROOT / "monitoring" / "prometheus" / "rules").glob("*.yml"))
    dashboards = sorted((ROOT / "monitoring" / "dashboards").glob("*.json"))
    return {**{FILES / "rules" / p.name: p.read_text() for p in rules},
            **{FILES / "dashboards" / p.name: p.read_text() for p in dashboards}}


def rendered() -> dict[Path, str]:
    return {FILES / "connectors.json": json.dumps(connectors(), indent=2, sort_keys=True) + "\n",
            FILES / "topics.json": json.dumps(topics(), indent=2, sort_keys=True) + "\n",
            **monitoring_copies()}


def orphans() -> list[Path]:
    """Copies whose original is gone."""
    wanted = set(rendered())
    copies = [*(FILES / "rules").glob("*.yml"), *(FILES / "dashboards").glob("*.json")]
    return [p for p in copies if p not in wanted and p.name != "pod-resources.json"]


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    stale = []
    for path, text in rendered().items():
        if path.exists() and path.read_text() == text:
            continue
        if "--check" in argv:
            stale.append(path.relative_to(ROOT))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"[charts] wrote {path.relative_to(ROOT)}")
    for path in orphans():
        if "--check" in argv:
            stale.append(path.relative_to(ROOT))
        else:
            path.unlink()
            print(f"[charts] removed {path.relative_to(ROOT)}")
    if stale:
        print("stale (run .venv/bin/python charts/tools/generate.py): " + ", ".join(map(str, stale)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
