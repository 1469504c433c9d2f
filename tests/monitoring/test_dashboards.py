"""Every panel of every dashboard (monitoring/dashboards/*.json) answers with data from a real
Prometheus scraping the running stack after a short load: a query that errors or returns nothing
fails the test, naming the dashboard and panel.

Needs `make up`. Starts its own Prometheus on a free port with a temporary data directory (and
its own exporter if none answers on CALORIES_EXPORTER_PORT), stops both at the end. The JMX
panels need Kafka and Connect started with the agent (`monitoring.local_stack.jvm_flags`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from monitoring import dashboards, local_stack
from tests.support import poll_until

ENTRY = os.environ.get("CALORIES_ENTRY", "http://127.0.0.1:8000")
PREFERRED = {"process": "orders", "consumergroup": "calories-orders_saga"}
DEADLINE = 180.0  # seconds for every panel to have data after the load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_committed_dashboards_are_the_generated_ones() -> None:
    wanted = dashboards.boards()
    committed = {p.name for p in dashboards.OUT.glob("*.json")}
    assert committed == set(wanted), "run `python -m monitoring.dashboards`"
    for name, board in wanted.items():
        assert (dashboards.OUT / name).read_text() == dashboards.render(board), \
            f"{name} is out of date: run `python -m monitoring.dashboards`"


def _spawn(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            cwd=local_stack.ROOT, env={**os.environ, **(env or {})}, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with httpx.Client(timeout=5) as c:
        try:
            up = c.get(f"{ENTRY}/healthz").status_code == 200
        except httpx.HTTPError:
            up = False
    if not up:
        pytest.fail(f"nothing answers at {ENTRY}; run `make up`")
    prom_bin, _ = local_stack.ensure_prometheus()
    tmp = tmp_path_factory.mktemp("prometheus")
    started: list[subprocess.Popen] = []
    try:
        exporter_port = local_stack.EXPORTER_PORT
        if not local_stack.exporter_ready(exporter_port):  # the stack runs none (yet): our own
            exporter_port = free_port()
            argv, env = local_stack.exporter_args(port=exporter_port)
            started.append(_spawn(argv, tmp / "exporter.log", env))
        port = free_port()
        config = local_stack.render_config(tmp / "etc", exporter_port=exporter_port, prometheus_port=port,
                                           scrape_interval="2s")
        started.append(_spawn([prom_bin, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
                               f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"], tmp / "prometheus.log"))
        poll_until(lambda: local_stack.prometheus_ready(port), 60, f"Prometheus on :{port} to be ready")
        yield f"http://127.0.0.1:{port}"
    finally:
        for proc in reversed(started):
            _stop(proc)


def short_load() -> None:
    """One pass through every service: a restaurant and its menu, a customer with a goal and a
    diary entry, an order paid to ACTIVE, a manager's plan published, notifications read."""
    from tests.e2e.helpers import client, known_to_recommendations, plan_body, staff
    from tests.e2e.saga_support import customer, order_body, pay, place, restaurant, unique_dates, wait_status

    with client() as api:
        rid, dishes = restaurant(api)
        me = customer(api, funds=10_000)
        assert api.patch("/users/me", headers={**me.auth, "If-Match": '"1"'},
                         json={"daily_calorie_goal": 2100}).status_code == 200
        assert api.post("/records", headers=me.auth, json={
            "eaten_at": f"{date.today().isoformat()}T12:30:00Z", "meal": "lunch", "text": "Borscht",
            "calories": 350}).status_code == 201
        [day] = unique_dates(1)
        placed = place(api, me, order_body(rid, {day: [(dishes["Borscht"]["id"], 1)]})).json()
        wait_status(api, me, placed["order_id"], "AWAITING_PAYMENT")
        assert pay(api, me, placed["order_id"], placed["total"]).json()["status"] == "succeeded"
        wait_status(api, me, placed["order_id"], "ACTIVE")
        manager = staff(api, "manager")
        ids = [d["id"] for d in dishes.values()]
        known_to_recommendations(api, manager, me, rid, ids)
        plan = api.post("/recommendations", headers=manager.auth, json=plan_body(me, rid, ids[:1])).json()
        assert api.post(f"/recommendations/{plan['id']}/publish", headers=manager.auth).status_code == 200
        for path in ("/orders", "/records", "/payments/wallet", "/notifications", "/recommendations", "/users/me"):
            api.get(path, headers=me.auth)
        api.get("/orders/does-not-exist", headers=me.auth)


def panel_queries() -> list[tuple[str, str, str, list[dict]]]:
    """(dashboard file, panel title, expression, the dashboard's variables) for every target."""
    out = []
    for path in sorted(dashboards.OUT.glob("*.json")):
        board = json.loads(path.read_text())
        variables = [v for v in board["templating"]["list"] if v["type"] == "query"]
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                out.append((path.name, panel["title"], target["expr"], variables))
    return out


def query(base: str, expr: str) -> tuple[str | None, list]:
    resp = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10)
    body = resp.json()
    if body.get("status") != "success":
        return body.get("error", resp.text), []
    return None, body["data"]["result"]


def resolve(base: str, expr: str, variables: list[dict]) -> str | None:
    """Substitute each `$var` with a value its label_values() query finds (None: none yet)."""
    for var in variables:
        if f"${var['name']}" not in expr:
            continue
        metric, label = var["query"]["query"][len("label_values("):-1].split(", ")
        url = f"{base}/api/v1/label/{label}/values?" + urllib.parse.urlencode({"match[]": metric})
        values = httpx.get(url, timeout=10).json().get("data", [])
        if not values:
            return None
        value = PREFERRED[var["name"]] if PREFERRED.get(var["name"]) in values else values[0]
        expr = expr.replace(f"${var['name']}", value)
    return expr


def test_every_panel_query_returns_data_after_a_short_load(prometheus: str) -> None:
    short_load()
    pending = panel_queries()
    assert len(pending) > 50
    deadline = time.monotonic() + DEADLINE
    failures: dict[tuple[str, str, str], str] = {}
    while pending and time.monotonic() < deadline:
        failures.clear()
        still = []
        for item in pending:
            board, title, expr, variables = item
            concrete = resolve(prometheus, expr, variables)
            if concrete is None:
                failures[(board, title, expr)] = "its variable has no values"
                still.append(item)
                continue
            error, result = query(prometheus, concrete)
            if error or not result:
                failures[(board, title, expr)] = f"error: {error}" if error else "no data"
                still.append(item)
        pending = still
        if pending:
            time.sleep(3)
    if failures:
        lines = [f"  {board} / {title}: {why}\n      {expr}" for (board, title, expr), why in sorted(failures.items())]
        hint = ""
        if any("jmx" in e or "debezium" in e or "kafka_server" in e or "kafka_connect" in e for _, _, e in failures):
            hint = ("\n(JMX series missing: Kafka and Connect must run with the JMX exporter agent, "
                    "monitoring.local_stack.jvm_flags('kafka'/'connect'))")
        pytest.fail(f"{len(failures)} panel queries without data after {DEADLINE:.0f}s:\n" + "\n".join(lines) + hint)


if __name__ == "__main__":  # pragma: no cover - a hand check: print each query's series count
    base = sys.argv[1]
    for board, title, expr, variables in panel_queries():
        concrete = resolve(base, expr, variables)
        print(board, title, query(base, concrete)[1].__len__() if concrete else "no variable values")
