"""Render the Helm chart offline and validate what it renders: built-in kinds against the Kubernetes
JSON schemas shipped by `kubernetes-validate`, custom resources against the openAPIV3Schema of the
pinned operators' CRDs (charts/crd-schemas/, refreshed by charts/tools/crds.py)."""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "calories"
CRD_SCHEMAS = ROOT / "charts" / "crd-schemas"
KUBE_VERSION = "1.33.0"
VALUE_SETS = ("dev", "prod")


@cache
def helm() -> str:
    out = subprocess.run(["bash", str(ROOT / "charts" / "tools" / "helm.sh")], check=True, capture_output=True,
                         text=True, timeout=3600)
    return out.stdout.strip().splitlines()[-1]


def run_helm(*args: str) -> str:
    proc = subprocess.run([helm(), *args], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def values_args(value_set: str) -> list[str]:
    return ["-f", str(CHART / f"values-{value_set}.yaml"), "--kube-version", KUBE_VERSION]


@cache
def render(value_set: str, upgrade: bool = False) -> tuple[dict, ...]:
    args = ["template", "calories", str(CHART), "--namespace", "calories", *values_args(value_set)]
    if upgrade:
        args.append("--is-upgrade")
    return tuple(doc for doc in yaml.safe_load_all(run_helm(*args)) if doc)


# Built-in kinds: the schemas kubernetes-validate ships, loaded once per kind.


@cache
def _kubernetes_schemas() -> tuple[Path, object]:
    import kubernetes_validate
    from referencing import Registry, Resource

    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    major_minor = ".".join(KUBE_VERSION.split(".")[:2])
    folder = next(p for p in sorted(base.iterdir()) if p.name.startswith(f"v{major_minor}.") and
                  p.name.endswith("-local-strict"))
    definitions = Resource.from_contents(json.loads((folder / "_definitions.json").read_text()))
    return folder, definitions @ Registry()


@cache
def _builtin_validator(kind: str, api_version: str) -> jsonschema.Validator | None:
    folder, registry = _kubernetes_schemas()
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = folder / f"{kind.lower()}-{group_version}.json"
    if not path.exists():
        return None
    return jsonschema.Draft202012Validator(json.loads(path.read_text()), registry=registry)


# Custom resources: the CRDs' structural schemas, made strict (an unknown field is an error, as
# kubeconform's strict mode has it; the API server would silently drop it).


def _strict(schema: object) -> object:
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: (_strict(v) if k not in ("enum", "default", "example") else v) for k, v in schema.items()}
    if "properties" in out:
        out["properties"] = {k: _strict(v) for k, v in schema["properties"].items()}
        if "additionalProperties" not in out and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


@cache
def _crd_schemas() -> dict[tuple[str, str], dict]:
    found = {}
    for path in CRD_SCHEMAS.glob("*.json"):
        crd = json.loads(path.read_text())
        for version, schema in crd["versions"].items():
            found[(f"{crd['group']}/{version}", crd["kind"])] = schema
    return found


@cache
def _crd_validator(api_version: str, kind: str) -> jsonschema.Validator | None:
    schema = _crd_schemas().get((api_version, kind))
    if schema is None:
        return None
    schema = _strict(schema)
    # metadata is the ObjectMeta every object has; the CRD leaves it open.
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def is_custom(doc: dict) -> bool:
    group = doc["apiVersion"].split("/")[0] if "/" in doc["apiVersion"] else ""
    return "." in group and not group.endswith(".k8s.io")


def validation_errors(doc: dict) -> list[str]:
    """What is wrong with one rendered object; an unknown kind is itself an error."""
    api_version, kind = doc["apiVersion"], doc["kind"]
    validator = _crd_validator(api_version, kind) if is_custom(doc) else _builtin_validator(kind, api_version)
    name = f"{kind}/{doc.get('metadata', {}).get('name')}"
    if validator is None:
        return [f"{name}: no schema for {api_version} {kind}"]
    return [f"{name}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in validator.iter_errors(doc)]


def objects(docs: tuple[dict, ...], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}
