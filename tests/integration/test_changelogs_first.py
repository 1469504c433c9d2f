"""Defect (CI, records_totals): on a fresh broker the consumer group's first assignment ran on
metadata that did not list a table's changelog topic Faust had just created; its partitions were
never assigned and every table write crashed the agent (PartitionsMismatch). A processor now
creates its tables' changelog topics before any of its services start."""

from __future__ import annotations

import asyncio
import uuid

from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from chassis.service import Service, ServiceSettings
from chassis.settings import stack_settings
from chassis.streams import Processor


def test_a_processor_creates_its_tables_changelogs_before_it_starts(tmp_path) -> None:
    name = f"changelogs_{uuid.uuid4().hex[:8]}"
    settings = ServiceSettings(faust_web_port=8298, faust_data_dir=str(tmp_path))
    processor = Processor(name, Service("stacktest", settings))
    processor.app.Table("totals", default=int)
    changelog = f"{settings.topic_prefix}-{name}-totals-changelog"
    admin = AdminClient({"bootstrap.servers": stack_settings().kafka_bootstrap})
    try:
        asyncio.run(processor.app.on_first_start())  # what the worker runs before its tables start
        topic = admin.list_topics(changelog, timeout=10).topics[changelog]
        assert topic.error is None and len(topic.partitions) == processor.app.conf.topic_partitions
        # Compacted, as a changelog must be: not a topic the broker auto-created on our metadata request.
        [configs] = admin.describe_configs([ConfigResource(ResourceType.TOPIC, changelog)]).values()
        assert configs.result()["cleanup.policy"].value == "compact"
        asyncio.run(processor.app.on_first_start())  # a restart: the topic exists, nothing fails
    finally:
        for f in admin.delete_topics([changelog]).values():
            f.result()
