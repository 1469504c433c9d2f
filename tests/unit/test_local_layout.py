"""chassis/local.py is the one list of services and processors: the code and it agree."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from chassis import local

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "stream_processors").glob("*.py") if not p.stem.startswith("_"))


def test_every_service_package_is_listed() -> None:
    assert sorted(p.parent.name for p in (ROOT / "apis").glob("*/app.py")) == sorted(local.SERVICES)


def test_every_processor_module_is_listed() -> None:
    assert sorted(local.PROCESSORS) == MODULES


def test_ports_are_unique() -> None:
    ports = [*local.SERVICES.values(), *local.PROCESSORS.values(), local.GATEWAY_PORT, local.PG_PORT,
             local.KAFKA_PORT, local.KAFKA_CONTROLLER_PORT, local.CONNECT_PORT, local.REGISTRY_PORT,
             local.REGISTRY_MANAGEMENT_PORT, local.KAFKA_PROXIED_PORT, local.KAFKA_PROXY_PORT, local.KAFKA_JMX_PORT,
             local.CONNECT_JMX_PORT, local.PROMETHEUS_PORT, local.EXPORTER_PORT, local.PG_PORT + 1]  # + 1: chaos proxy
    assert len(ports) == len(set(ports))


@pytest.mark.parametrize("name", MODULES)
def test_a_processor_has_one_name_and_writes_its_owners_database(name: str) -> None:
    module = importlib.import_module(f"stream_processors.{name}")
    processor = module.processor
    assert processor.name == name
    assert processor.app.conf.id.endswith(f"-{name}")  # the Faust app, hence the consumer group
    assert processor.service.name == local.owner(name)
    assert local.owner(name) in local.SERVICES
    assert processor.subscriptions, f"{name} reads nothing"
    assert module.app is processor.app
