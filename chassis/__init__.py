"""The service chassis: the one place that knows about Postgres sessions, the outbox and inbox,
Kafka, the Schema Registry and Faust. Services and stream processors import from here."""
