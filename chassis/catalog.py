"""Schema governance and topics: `python -m chassis.catalog {check|sync} [schema dirs...]`.

check: every schema file follows the envelope rules and is compatible with what the registry
       already holds for its subject (the registry's global BACKWARD rule decides).
sync:  check, then register each schema and create each aggregate's topic. Registration is
       refused by the registry (409) on an incompatible change, whatever `check` said.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from chassis.avro import SchemaCatalog, SchemaFile
from chassis.settings import StackSettings, stack_settings

TOPIC_PARTITIONS = 6


class IncompatibleSchema(Exception):
    pass


# Schemas are checked and registered this many at a time: each is a round trip to a registry
# that has often only just started (one at a time, the 34 took about 4 s of `make up`).
PARALLEL = 8


def check(catalog: SchemaCatalog, client: SchemaRegistryClient, settings: StackSettings) -> list[str]:
    def problems_of(sf: SchemaFile) -> list[str]:
        if found := sf.problems():
            return found
        if not is_compatible(client, sf, settings):
            return [f"{sf.path}: incompatible with the latest version of subject "
                    f"{sf.subject(settings)} under the registry's compatibility rule"]
        return []

    with ThreadPoolExecutor(PARALLEL) as pool:
        return [p for found in pool.map(problems_of, catalog.files.values()) for p in found]


def register_all(client: SchemaRegistryClient, files: Iterable[SchemaFile], settings: StackSettings) -> None:
    """Every file registered; the files of one subject in their catalog order, subjects side by side."""
    by_subject: dict[str, list[SchemaFile]] = {}
    for sf in files:
        by_subject.setdefault(sf.subject(settings), []).append(sf)

    def one_subject(subject_files: list[SchemaFile]) -> None:
        for sf in subject_files:
            register(client, sf, settings)

    with ThreadPoolExecutor(PARALLEL) as pool:
        for future in [pool.submit(one_subject, fs) for fs in by_subject.values()]:
            future.result()


def is_compatible(client: SchemaRegistryClient, sf: SchemaFile, settings: StackSettings) -> bool:
    try:
        return client.test_compatibility(sf.subject(settings), Schema(sf.text, "AVRO"))
    except SchemaRegistryError as exc:
        if exc.http_status_code == 404:  # a new subject: nothing to be compatible with
            return True
        raise


def register(client: SchemaRegistryClient, sf: SchemaFile, settings: StackSettings) -> int:
    try:
        return client.register_schema(sf.subject(settings), Schema(sf.text, "AVRO"))
    except SchemaRegistryError as exc:
        if exc.http_status_code == 409:
            raise IncompatibleSchema(f"{sf.path}: refused by the registry: {exc.error_message}") from exc
        raise


def ensure_topics(catalog: SchemaCatalog, settings: StackSettings) -> None:
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [settings.topic(a) for a in sorted(catalog.aggregate_types())]
    new = [NewTopic(t, num_partitions=TOPIC_PARTITIONS, replication_factor=1) for t in wanted if t not in existing]
    for topic, future in admin.create_topics(new).items() if new else ():
        try:
            future.result()
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
        print(f"[catalog] created topic {topic}")


def main(argv: list[str]) -> int:
    cmd, dirs = (argv[0] if argv else "check"), argv[1:]
    settings = stack_settings()
    catalog = SchemaCatalog(dirs or settings.schema_dirs)
    client = SchemaRegistryClient({"url": settings.registry_url})
    problems = check(catalog, client, settings)
    for p in problems:
        print(f"[catalog] {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"[catalog] {len(catalog.files)} schemas follow the rules and are compatible")
    if cmd == "sync":
        try:
            register_all(client, catalog.files.values(), settings)
        except IncompatibleSchema as exc:
            print(f"[catalog] {exc}", file=sys.stderr)
            return 1
        ensure_topics(catalog, settings)
        print(f"[catalog] registered {len(catalog.files)} schemas; topics ready")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
