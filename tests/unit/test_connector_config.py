"""The Debezium outbox connector config built for a database."""

from chassis.settings import StackSettings
from connectors.register import connector_config


def test_connector_routes_outbox_rows_by_aggregate_type_with_headers() -> None:
    config = connector_config("orders", StackSettings(pg_port=5999))
    assert config["database.dbname"] == "orders" and config["database.port"] == "5999"
    assert config["plugin.name"] == "pgoutput"
    assert config["publication.autocreate.mode"] == "filtered"
    assert config["transforms.outbox.route.topic.replacement"] == "calories.${routedByValue}"
    assert config["transforms.outbox.route.by.field"] == "aggregatetype"
    assert config["transforms.outbox.table.field.event.key"] == "aggregateid"
    assert "id:header:event_id" in config["transforms.outbox.table.fields.additional.placement"]
    assert config["value.converter"] == "io.debezium.converters.BinaryDataConverter"
    assert int(config["heartbeat.interval.ms"]) > 0 and "debezium_heartbeat" in config["heartbeat.action.query"]
    assert config["slot.name"] == "calories_orders_outbox"
