"""Register the outbox connector of each named database through the Kafka Connect REST API.

`python -m connectors.register auth users ...` (or `--all`) — idempotent (PUT of the whole config), then
waits until the connector and its task report RUNNING, and fails loudly with Connect's trace if not.

Two settings of `outbox-connector.json` (JSON has no comments) trade latency against idle CPU:
- `max.batch.size` 1: Debezium's queue wakes the task's `poll()` only once a full batch is queued,
  or at the end of `poll.interval.ms`; at 1 every event is handed over as soon as it is read, and
  the Kafka producer still batches (`linger.ms`). With 2048, a lone event waited for the interval.
- `poll.interval.ms` 100: how long the WAL reader sleeps after five reads that found nothing (and
  the longest a `poll()` waits). Ten connectors polling at 50 ms cost a quarter of a core doing nothing.
Together, against 50 ms and 2048: the same latency at 20 ev/s (p50 58 to 59 ms, p99 109 to 111), Connect
idle at 0.18 to 0.19 of a core instead of 0.24 to 0.27 (docs/benchmarks.md, fourth round). 50 ms with a
batch of 1 would halve the latency instead (p50 31 to 34 ms) at today's idle cost.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from chassis import local
from chassis.settings import StackSettings, stack_settings

TEMPLATE = Path(__file__).with_name("outbox-connector.json")


def connector_name(database: str) -> str:
    return f"calories-{database}-outbox"


def connector_config(database: str, settings: StackSettings, password: str | None = None) -> dict[str, str]:
    config = json.loads(TEMPLATE.read_text())
    config.update({
        "database.hostname": settings.pg_host,
        "database.port": str(settings.pg_port),
        "database.user": database,
        "database.password": password or local.db_password(database),
        "database.dbname": database,
        # Raw table topics (never written: the EventRouter reroutes) and the heartbeat topic.
        "topic.prefix": f"{settings.topic_prefix}-cdc-{database}",
        "slot.name": f"{settings.topic_prefix}_{database}_outbox",
        "publication.name": f"{settings.topic_prefix}_{database}_outbox",
        "transforms.outbox.route.topic.replacement": f"{settings.topic_prefix}.${{routedByValue}}",
    })
    return config


def register(database: str, settings: StackSettings, timeout: float = 60.0) -> None:
    name = connector_name(database)
    url = f"{settings.connect_url}/connectors/{name}"
    deadline = time.monotonic() + timeout
    while True:
        resp = requests.put(f"{url}/config", json=connector_config(database, settings), timeout=30)
        # 409: the worker is rebalancing (another connector was just added): ask again shortly.
        if resp.status_code != 409 or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    if resp.status_code >= 400:
        raise RuntimeError(f"Connect refused {name}: {resp.status_code} {resp.text}")
    # A deadline of its own: a long rebalance before the config was taken leaves the start its time.
    deadline = time.monotonic() + timeout
    while True:
        status = requests.get(f"{url}/status", timeout=10)
        if status.ok:
            body = status.json()
            states = [body["connector"]["state"], *(t["state"] for t in body.get("tasks", []))]
            if body.get("tasks") and all(s == "RUNNING" for s in states):
                print(f"[connectors] {name}: RUNNING")
                return
            if "FAILED" in states:
                traces = [t.get("trace", "") for t in body.get("tasks", [])] + [body["connector"].get("trace", "")]
                raise RuntimeError(f"{name} FAILED:\n" + "\n".join(filter(None, traces)))
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} not RUNNING {timeout:.0f}s after it was accepted: {status.text}")
        time.sleep(0.5)


def main(argv: list[str]) -> int:
    settings = stack_settings()
    if argv == ["--all"]:  # every service database that has migrations, hence an outbox
        from chassis.migrate import services_with_migrations

        argv = services_with_migrations()
    # All at once: each waits for its own connector's task, and most of that is Connect's time.
    with ThreadPoolExecutor(max(len(argv), 1)) as pool:
        for future in [pool.submit(register, database, settings) for database in argv]:
            future.result()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
