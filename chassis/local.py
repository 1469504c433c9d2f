"""The local stack's layout in one place: which services and processors exist, their ports, where
the engines listen, and the local-only credential convention.

Standard library only: `stack/` imports it before any virtualenv exists. `chassis.settings` takes
its defaults from here; every value can be moved with its `CALORIES_*` environment variable.
Adding a service or a stream processor starts with a line here (a unit test checks that every
`apis/<service>/app.py` and every `stream_processors/<name>.py` has one).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _port(name: str, default: int) -> int:
    return int(os.environ.get(f"CALORIES_{name}_PORT", str(default)))


# Engines.
PG_HOST = os.environ.get("CALORIES_PG_HOST", "127.0.0.1")
PG_PORT = _port("PG", 55432)
KAFKA_PORT = _port("KAFKA", 9092)
KAFKA_CONTROLLER_PORT = _port("KAFKA_CONTROLLER", 9093)
# A second broker listener for the chaos runner's network faults (loadtest/chaos.py): it advertises
# KAFKA_PROXY_PORT, where Toxiproxy listens and forwards to KAFKA_PROXIED_PORT, so that a client
# bootstrapped through the proxy is sent back through it for every partition leader (on the plain
# listener the metadata would route it around the proxy). Unused, and free, when no proxy runs.
KAFKA_PROXIED_PORT = _port("KAFKA_PROXIED", 9094)
KAFKA_PROXY_PORT = _port("KAFKA_PROXY", 9095)
CONNECT_PORT = _port("CONNECT", 8083)
REGISTRY_PORT = _port("REGISTRY", 8081)
REGISTRY_MANAGEMENT_PORT = _port("REGISTRY_MANAGEMENT", 8084)
GATEWAY_PORT = _port("GATEWAY", 8000)

# Monitoring (monitoring/local_stack.py): Prometheus, the project's exporter (monitoring/exporter.py)
# and the JMX exporter agents inside Kafka and Kafka Connect.
PROMETHEUS_PORT = _port("PROMETHEUS", 9090)
EXPORTER_PORT = _port("EXPORTER", 9310)
KAFKA_JMX_PORT = _port("KAFKA_JMX", 9404)
CONNECT_JMX_PORT = _port("CONNECT_JMX", 9405)

# The HTTP services, each with its own port behind the gateway (which routes /<service>/...).
SERVICES: dict[str, int] = {
    "auth": 8101,
    "users": 8102,
    "records": 8103,
    "restaurants": 8104,
    "recommendations": 8105,
    "orders": 8106,
    "payments": 8107,
    "delivery": 8108,
    "notifications": 8109,
}

# The stream processors: `<owning service>_<role>` is the module in stream_processors/, the Faust
# app, the inbox consumer, the log file and the stack part. The port serves /metrics and /readyz.
PROCESSORS: dict[str, int] = {
    "users_profiles": 8201,
    "records_totals": 8202,
    "records_from_orders": 8203,
    "restaurants_reservations": 8204,
    "recommendations_copies": 8205,
    "orders_saga": 8206,
    "orders_copies": 8207,
    "payments_orders": 8208,
    "delivery_bookings": 8209,
    "notifications_feed": 8210,
}

# Databases: one per service, plus the registry's storage and the stack tests' scratch database.
DATABASES: tuple[str, ...] = (*SERVICES, "registry", "stacktest")

TOPIC_PREFIX = os.environ.get("CALORIES_TOPIC_PREFIX", "calories")


def service_port(name: str) -> int:
    return _port(name.upper(), SERVICES[name])


def processor_port(name: str) -> int:
    return _port(name.upper(), PROCESSORS[name])


def owner(processor: str) -> str:
    """The service whose database a processor writes: the first part of its name."""
    return processor.split("_", 1)[0]


def db_password(database: str) -> str:
    """Local-only credentials (role and database named after the service); the Helm chart takes
    real ones from Kubernetes Secrets through `CALORIES_<SERVICE>_DATABASE_URL`."""
    return f"{database}-local"


def database_url(database: str, host: str = PG_HOST, port: int = PG_PORT) -> str:
    return f"postgresql+psycopg://{database}:{db_password(database)}@{host}:{port}/{database}"
