"""Refresh charts/crd-schemas/: the openAPIV3Schema of every custom resource kind the chart renders,
taken from the pinned operator versions' own packages, so the chart test validates offline.

    python charts/tools/crds.py            # needs Maven, Go and a Java >= 21 (Strimzi 1.x's generator)

- Strimzi publishes no CRD YAML in a package, but its CRDs are generated from the `io.strimzi:api`
  classes by `io.strimzi:crd-generator` (both on Maven Central): we run that generator, as Strimzi's
  own build does, on the pinned version.
- CloudNativePG and the Prometheus operator keep their CRD YAML in their Go modules
  (`config/crd/bases/`, `example/prometheus-operator-crd/`), fetched with `go mod download`.

Only the schemas are kept, without their descriptions (they do not take part in validation).
Standard library plus PyYAML; downloads are cached by Maven and Go themselves.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parents[1] / "crd-schemas"

STRIMZI = "1.2.0"
CNPG = "v1.28.0"
PROMETHEUS_OPERATOR = "v0.85.0"

STRIMZI_KINDS = {
    "kafka.Kafka": "kafkas",
    "nodepool.KafkaNodePool": "kafkanodepools",
    "connect.KafkaConnect": "kafkaconnects",
    "connector.KafkaConnector": "kafkaconnectors",
    "topic.KafkaTopic": "kafkatopics",
}
CNPG_FILES = ["postgresql.cnpg.io_clusters.yaml", "postgresql.cnpg.io_databases.yaml"]
PROMETHEUS_FILES = ["monitoring.coreos.com_servicemonitors.yaml", "monitoring.coreos.com_podmonitors.yaml",
                    "monitoring.coreos.com_prometheusrules.yaml"]


def strip_descriptions(node):
    if isinstance(node, dict):
        return {k: strip_descriptions(v) for k, v in node.items() if not (k == "description" and isinstance(v, str))}
    if isinstance(node, list):
        return [strip_descriptions(v) for v in node]
    return node


def write_schemas(crd: dict, source: str) -> None:
    spec = crd["spec"]
    record = {
        "source": source,
        "group": spec["group"],
        "kind": spec["names"]["kind"],
        "versions": {v["name"]: strip_descriptions(v["schema"]["openAPIV3Schema"])
                     for v in spec["versions"] if v.get("served", True)},
    }
    path = OUT / f"{spec['names']['plural']}.{spec['group']}.json"
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    print(f"[crds] {path.name} ({source})")


def java21() -> str:
    for candidate in [os.environ.get("JAVA21", ""), "java", *sorted(map(str, Path("/usr/lib/jvm").glob("*/bin/java")),
                                                                    reverse=True)]:
        if not candidate or not shutil.which(candidate):
            continue
        out = subprocess.run([candidate, "-version"], capture_output=True, text=True).stderr
        version = out.split('"')[1] if '"' in out else "0"
        if int(version.split(".")[0]) >= 21:
            return candidate
    sys.exit("[crds] Strimzi's CRD generator needs Java 21 or newer (set JAVA21 to its bin/java)")


def strimzi(work: Path) -> None:
    jars = []
    for artifact in ("api", "crd-generator", "crd-annotations"):
        subprocess.run(["mvn", "-q", "dependency:copy", f"-Dartifact=io.strimzi:{artifact}:{STRIMZI}",
                        f"-DoutputDirectory={work}"], check=True, cwd=work)
        jars.append(str(work / f"{artifact}-{STRIMZI}.jar"))
    args = [f"io.strimzi.api.kafka.model.{cls}={work / (plural + '.yaml')}" for cls, plural in STRIMZI_KINDS.items()]
    subprocess.run([java21(), "-cp", os.pathsep.join(jars), "io.strimzi.crdgenerator.CrdGenerator", "--yaml",
                    "--crd-api-version", "v1", "--api-versions", "v1", "--storage-version", "v1", *args],
                   check=True, cwd=work)
    for plural in STRIMZI_KINDS.values():
        write_schemas(yaml.safe_load((work / f"{plural}.yaml").read_text()), f"io.strimzi:api:{STRIMZI}")


def go_module_dir(module: str, version: str, work: Path) -> Path:
    out = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"], check=True, cwd=work,
                         capture_output=True, text=True, env={**os.environ, "GOFLAGS": "-mod=mod"}).stdout
    return Path(json.loads(out)["Dir"])


def go_crds(module: str, version: str, folder: str, files: list[str], work: Path) -> None:
    base = go_module_dir(module, version, work) / folder
    for name in files:
        write_schemas(yaml.safe_load((base / name).read_text()), f"{module}@{version}")


def main() -> int:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        strimzi(work)
        go_crds("github.com/cloudnative-pg/cloudnative-pg", CNPG, "config/crd/bases", CNPG_FILES, work)
        go_crds("github.com/prometheus-operator/prometheus-operator", PROMETHEUS_OPERATOR,
                "example/prometheus-operator-crd", PROMETHEUS_FILES, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
