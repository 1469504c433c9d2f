"""Kafka Connect configuration: one Debezium outbox connector per service database."""
