"""Grafana dashboards as code: `python -m monitoring.dashboards` writes monitoring/dashboards/*.json.

Grafana itself cannot be installed here, so the JSON is generated (one place for the queries, the
same layout everywhere) and every panel's query is run against a real Prometheus after a short
load by tests/monitoring/test_dashboards.py; tests/monitoring also checks the committed JSON is
what this module generates. Import a file into Grafana (Dashboards → Import) and pick the
Prometheus data source for the `datasource` variable.

Dashboards: overview (the system at a glance), one per service (RED: rate, errors, duration, plus
its processors, outbox and processes), saga (the order funnel), kafka (consumer lag, Debezium,
replication slots, the broker), resources (CPU and memory of one part of the stack, chosen with
the `process` variable — one pod in Kubernetes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from chassis import local

OUT = Path(__file__).resolve().parent / "dashboards"
SCHEMAS = local.ROOT / "schemas"
DS = {"type": "prometheus", "uid": "${datasource}"}


def owned_topics(service: str) -> list[str]:
    """Aggregate types (schemas/<aggregate type>/) whose first part names the service."""
    return sorted(p.name for p in SCHEMAS.iterdir() if p.is_dir() and p.name.split(".")[0] == service)


def processors_of(service: str) -> list[str]:
    return [p for p in local.PROCESSORS if local.owner(p) == service]


class Board:
    def __init__(self, uid: str, title: str, tags: list[str], variables: list[dict] | None = None):
        self.uid, self.title, self.tags = uid, title, tags
        self.variables = variables or []
        self.panels: list[dict] = []
        self.x = self.y = 0

    def row(self, title: str) -> None:
        if self.x:
            self.x, self.y = 0, self.y + 8
        self.panels.append({"id": len(self.panels) + 1, "type": "row", "title": title, "collapsed": False,
                            "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}, "panels": []})
        self.y += 1

    def panel(self, title: str, targets: list[tuple[str, str]], unit: str = "short", kind: str = "timeseries",
              width: int = 12, description: str = "") -> None:
        if self.x + width > 24:
            self.x, self.y = 0, self.y + 8
        self.panels.append({
            "id": len(self.panels) + 1, "type": kind, "title": title, "description": description,
            "datasource": DS, "gridPos": {"x": self.x, "y": self.y, "w": width, "h": 8},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if kind == "timeseries" else {},
            "targets": [{"refId": chr(ord("A") + i), "datasource": DS, "expr": expr, "legendFormat": legend}
                        for i, (expr, legend) in enumerate(targets)],
        })
        self.x += width

    def json(self) -> dict:
        datasource = {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus",
                      "current": {}, "hide": 0}
        return {
            "uid": self.uid, "title": self.title, "tags": ["calories", *self.tags], "editable": True,
            "schemaVersion": 39, "version": 1, "refresh": "10s", "timezone": "browser",
            "time": {"from": "now-1h", "to": "now"},
            "templating": {"list": [datasource, *self.variables]},
            "annotations": {"list": []}, "panels": self.panels,
        }


def query_variable(name: str, metric: str, label: str | None = None) -> dict:
    query = f"label_values({metric}, {label or name})"
    return {"name": name, "type": "query", "datasource": DS, "query": {"query": query, "refId": name},
            "definition": query, "refresh": 2, "multi": False, "includeAll": False, "current": {}, "hide": 0,
            "sort": 1}


def overview() -> Board:
    b = Board("calories-overview", "Calories — system overview", ["overview"])
    b.row("Is everything up?")
    b.panel("Scrape targets down", [('count(up == 0) or vector(0)', "down")], kind="stat", width=6)
    b.panel("Stack parts not running", [('count(calories_process_up == 0) or vector(0)', "down")], kind="stat",
            width=6)
    b.panel("Alerts firing", [('count(ALERTS{alertstate="firing"}) or vector(0)', "firing")], kind="stat", width=6)
    b.panel("Kafka brokers", [("kafka_brokers", "brokers")], kind="stat", width=6)
    b.row("HTTP (all services)")
    b.panel("Requests per second", [("service:http_server_requests:rate5m", "{{service}}")], "reqps", width=8)
    b.panel("5xx ratio", [("service:http_server_error_ratio:rate5m", "{{service}}")], "percentunit", width=8)
    b.panel("p99 latency", [("service:http_server_request_duration_seconds:p99_5m", "{{service}}")], "s", width=8)
    b.row("Events")
    b.panel("Outbox rows written per second", [
        ("sum by (service) (rate(calories_outbox_rows_written_total[5m]))", "{{service}}")], "ops", width=8)
    b.panel("Events applied per second by processor", [
        ('sum by (processor) (rate(calories_stream_events_total{outcome="applied"}[5m]))', "{{processor}}")],
        "ops", width=8)
    b.panel("Consumer lag by group", [("sum by (consumergroup) (kafka_consumergroup_lag)", "{{consumergroup}}")],
            width=8)
    b.panel("Oldest uncaptured outbox row", [("calories_outbox_oldest_uncaptured_age_seconds", "{{service}}")],
            "s", width=12)
    b.panel("Dead letters (last hour)", [
        ('sum(increase(calories_stream_events_total{outcome="dead_lettered"}[1h])) or vector(0)', "dead letters")],
        kind="stat", width=12)
    b.row("Resources")
    b.panel("CPU by part (cores)", [("process:calories_process_cpu:rate1m", "{{process}}")], width=12)
    b.panel("Resident memory by part", [("calories_process_resident_memory_bytes", "{{process}}")], "bytes",
            width=12)
    return b


def service_board(service: str) -> Board:
    sel = f'service="{service}"'
    b = Board(f"calories-service-{service}", f"Calories — {service}", ["service", service])
    b.row(f"{service}: requests (RED)")
    b.panel("Rate by route", [(f"service_route:http_server_requests:rate5m{{{sel}}}", "{{method}} {{route}}")],
            "reqps", width=8)
    b.panel("Errors: 5xx ratio by route", [
        (f"service_route:http_server_error_ratio:rate5m{{{sel}}}", "{{method}} {{route}}")], "percentunit", width=8)
    b.panel("Duration: p99 by route", [
        (f"service_route:http_server_request_duration_seconds:p99_5m{{{sel}}}", "{{method}} {{route}}")],
        "s", width=8)
    b.panel("Answers by status", [
        (f"sum by (status) (rate(http_server_request_duration_seconds_count{{{sel}}}[5m]))", "{{status}}")],
        "reqps", width=12)
    b.panel("Duration: p50 / p99 (all routes)", [
        (f"histogram_quantile(0.5, sum by (le) (rate(http_server_request_duration_seconds_bucket{{{sel}}}[5m])))",
         "p50"),
        (f"service:http_server_request_duration_seconds:p99_5m{{{sel}}}", "p99")], "s", width=12)
    if owned_topics(service):
        b.row(f"{service}: events it publishes ({', '.join(owned_topics(service))})")
        b.panel("Outbox rows written by event type", [
            (f"sum by (event_type) (rate(calories_outbox_rows_written_total{{{sel}}}[5m]))", "{{event_type}}")],
            "ops", width=12)
    b.panel("Outbox: oldest uncaptured row", [(f"calories_outbox_oldest_uncaptured_age_seconds{{{sel}}}",
                                               "age")], "s", width=6)
    b.panel("Outbox: slot lag", [(f"calories_outbox_slot_lag_bytes{{{sel}}}", "WAL held")], "bytes", width=6)
    procs = processors_of(service)
    if procs:
        psel = 'processor=~"{}"'.format("|".join(procs))
        b.row(f"{service}: its processors ({', '.join(procs)})")
        b.panel("Events by outcome", [
            (f"sum by (processor, outcome) (rate(calories_stream_events_total{{{psel}}}[5m]))",
             "{{processor}} {{outcome}}")], "ops", width=12)
        b.panel("Apply p99 (one batch, one transaction)", [
            (f"processor_topic:calories_stream_apply_seconds:p99_5m{{{psel}}}", "{{processor}} {{topic}}")],
            "s", width=12)
        groups = "|".join(f"{local.TOPIC_PREFIX}-{p}" for p in procs)
        lag = f'sum by (consumergroup, topic) (kafka_consumergroup_lag{{consumergroup=~"{groups}"}})'
        b.panel("Consumer lag", [(lag, "{{consumergroup}} {{topic}}")], width=12)
        b.panel("Retries", [(f"sum by (processor) (rate(calories_stream_retries_total{{{psel}}}[5m])) or "
                             f"sum by (processor) (rate(calories_stream_events_total{{{psel}}}[5m])) * 0",
                             "{{processor}}")], "ops", width=12)
    b.row(f"{service}: processes")
    b.panel("CPU (cores)", [(f"process:calories_process_cpu:rate1m{{{sel}}}", "{{process}}")], width=12)
    b.panel("Resident memory", [(f"calories_process_resident_memory_bytes{{{sel}}}", "{{process}}")], "bytes",
            width=12)
    return b


def saga() -> Board:
    b = Board("calories-saga", "Calories — order saga funnel", ["saga", "orders"])
    b.row("Funnel")
    b.panel("Orders placed (total)", [("calories_sagas_started_total", "placed")], kind="stat", width=6)
    b.panel("Outcomes (total)", [("sum by (outcome) (calories_sagas_finished_total)", "{{outcome}}")],
            kind="bargauge", width=12)
    b.panel("Compensated (total)", [("calories_saga_compensations_total", "compensated")], kind="stat", width=6)
    b.panel("In flight by status", [("calories_sagas_in_flight", "{{status}}")], width=12)
    b.panel("Oldest open order vs payment deadline", [
        ("calories_saga_oldest_open_age_seconds", "oldest PENDING/AWAITING_PAYMENT"),
        ("calories:order_payment_deadline_seconds", "deadline")], "s", width=12)
    b.row("Rates")
    b.panel("Placed and finished per second", [
        ("calories:sagas_started:rate5m", "placed"), ("outcome:calories_sagas_finished:rate5m", "{{outcome}}")],
        "ops", width=12)
    b.panel("Saga events applied by orders_saga", [
        ('sum by (event_type) (rate(calories_stream_events_total{processor="orders_saga",outcome="applied"}[5m]))',
         "{{event_type}}")], "ops", width=12)
    b.panel("Saga steps published (outbox)", [
        ('sum by (service, event_type) (rate(calories_outbox_rows_written_total{service=~"orders|restaurants|'
         'delivery|payments"}[5m]))', "{{service}} {{event_type}}")], "ops", width=24)
    return b


def kafka() -> Board:
    b = Board("calories-kafka", "Calories — Kafka lag and Debezium", ["kafka", "debezium"],
              [query_variable("consumergroup", "kafka_consumergroup_lag")])
    b.row("Consumer lag")
    b.panel("Lag by group and topic", [("consumergroup_topic:kafka_consumergroup_lag:sum",
                                        "{{consumergroup}} {{topic}}")], width=12)
    b.panel("Lag of $consumergroup per partition", [
        ('kafka_consumergroup_lag{consumergroup="$consumergroup"}', "{{topic}}[{{partition}}]")], width=12)
    b.panel("Messages in per topic (log-end offsets)", [("topic:kafka_topic_messages_in:rate5m", "{{topic}}")],
            "ops", width=12)
    b.panel("Members per group", [("kafka_consumergroup_members", "{{consumergroup}}")], width=12)
    b.row("Debezium and Kafka Connect (JMX)")
    b.panel("MilliSecondsBehindSource", [("debezium_streaming_milliseconds_behind_source", "{{database}}")],
            "ms", width=8)
    b.panel("Queue remaining capacity", [
        ("debezium_streaming_queue_remaining_capacity / debezium_streaming_queue_total_capacity", "{{database}}")],
        "percentunit", width=8)
    b.panel("Connector tasks not running", [
        ('count(kafka_connect_connector_task_status{status!="running"} == 1) or vector(0)', "not running"),
        ('count(kafka_connect_connector_task_status{status="running"} == 1)', "running")], kind="stat", width=8)
    b.panel("Records captured per second by connector", [
        ("sum by (connector) (rate(kafka_connect_source_task_records_written_total[5m]))", "{{connector}}")],
        "ops", width=12)
    b.panel("Connected to Postgres", [("debezium_streaming_connected", "{{database}}")], width=12)
    b.row("Postgres replication slots and the outbox")
    b.panel("WAL held by each slot", [("pg_replication_slots_pg_wal_lsn_diff", "{{slot_name}}")], "bytes", width=8)
    b.panel("Outbox rows not yet captured", [("calories_outbox_uncaptured_rows", "{{service}}")], width=8)
    b.panel("Oldest uncaptured outbox row", [("calories_outbox_oldest_uncaptured_age_seconds", "{{service}}")],
            "s", width=8)
    b.row("Broker (JMX)")
    b.panel("Messages in per topic (broker)", [
        ("sum by (topic) (rate(kafka_server_messages_in_total[5m]))", "{{topic}}")], "ops", width=12)
    b.panel("Partitions: total, under-replicated, offline", [
        ("kafka_server_partitions", "partitions"), ("kafka_server_under_replicated_partitions", "under-replicated"),
        ("kafka_controller_offline_partitions", "offline")], width=12)
    b.panel("Produce / fetch p99", [
        ('kafka_network_request_total_time_ms{quantile="0.99"}', "{{request}}")], "ms", width=12)
    b.panel("Broker JVM heap used", [('sum(jvm_memory_used_bytes{job="kafka-jmx",area="heap"})', "kafka"),
                                     ('sum(jvm_memory_used_bytes{job="connect-jmx",area="heap"})', "connect")],
            "bytes", width=12)
    return b


def resources() -> Board:
    b = Board("calories-resources", "Calories — resources per process", ["resources"],
              [query_variable("process", "calories_process_up")])
    b.row("$process")
    b.panel("CPU (cores)", [('process:calories_process_cpu:rate1m{process="$process"}', "{{process}}")],
            width=12)
    b.panel("Memory", [('calories_process_resident_memory_bytes{process="$process"}', "resident"),
                       ('calories_process_proportional_memory_bytes{process="$process"}', "proportional (PSS)")],
            "bytes", width=12)
    b.panel("Threads", [('calories_process_threads{process="$process"}', "threads")], width=8)
    b.panel("Child processes", [('calories_process_children{process="$process"}', "children")], width=8)
    b.panel("Up", [('calories_process_up{process="$process"}', "up")], kind="stat", width=8)
    b.row("All parts")
    b.panel("CPU by part (cores)", [("topk(10, process:calories_process_cpu:rate1m)", "{{process}}")], width=12)
    b.panel("Resident memory by part", [("topk(10, calories_process_resident_memory_bytes)", "{{process}}")],
            "bytes", width=12)
    return b


def boards() -> dict[str, dict]:
    out = {"overview.json": overview().json(), "saga.json": saga().json(), "kafka.json": kafka().json(),
           "resources.json": resources().json()}
    for service in local.SERVICES:
        out[f"service-{service}.json"] = service_board(service).json()
    return out


def render(board: dict) -> str:
    return json.dumps(board, indent=2, sort_keys=False) + "\n"


def main() -> int:
    OUT.mkdir(exist_ok=True)
    wanted = boards()
    for stale in set(p.name for p in OUT.glob("*.json")) - set(wanted):
        (OUT / stale).unlink()
    for name, board in wanted.items():
        (OUT / name).write_text(render(board))
    print(f"wrote {len(wanted)} dashboards to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
