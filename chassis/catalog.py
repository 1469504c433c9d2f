"""Schema governance and topics: `python -m chassis.catalog {check|sync} [schema dirs...]`.

check: every schema file follows the envelope rules and is compatible with what the registry
       already holds for its subject (the registry's global BACKWARD rule decides).
sync:  check, then register each schema and create each aggregate's topic. Registration is
       refused by the registry (409) on an incompatible change, whatever `check` said.
"""

from __future__ import annotations

import sys

from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from chassis.avro import SchemaCatalog, SchemaFile
from chassis.settings import StackSettings, stack_settings

TOPIC_PARTITIONS = 6


class IncompatibleSchema(Exception):
    pass


def check(catalog: SchemaCatalog, client: SchemaRegistryClient, settings: StackSettings) -> list[str]:
    problems: list[str] = []
    for sf in catalog.files.values():
        problems += sf.problems()
        if not sf.problems() and not is_compatible(client, sf, settings):
            problems.append(f"{sf.path}: incompatible with the latest version of subject "
                            f"{sf.subject(settings)} under the registry's compatibility rule")
    return problems


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
            for sf in catalog.files.values():
                register(client, sf, settings)
        except IncompatibleSchema as exc:
            print(f"[catalog] {exc}", file=sys.stderr)
            return 1
        ensure_topics(catalog, settings)
        print(f"[catalog] registered {len(catalog.files)} schemas; topics ready")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
