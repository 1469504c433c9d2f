"""Prometheus' configuration and rules are valid, and every alert has a unit test that fires it and
one that keeps it silent (`promtool test rules`). No stack needed: promtool only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from monitoring import local_stack

PROM = local_stack.PROMETHEUS_DIR
RULES = sorted((PROM / "rules").glob("*.yml"))
ALERT_TESTS = PROM / "tests" / "alerts_test.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    try:
        _, tool = local_stack.ensure_prometheus()  # Debian's `prometheus` package when missing (as root)
    except (SystemExit, subprocess.CalledProcessError) as exc:
        pytest.fail(f"promtool is needed and could not be installed: {exc}")
    if not Path(tool).exists():
        pytest.fail(f"promtool not found at {tool}; install Debian's `prometheus` package")
    return tool


def run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_rendered_config_is_valid(promtool: str, tmp_path: Path) -> None:
    config = local_stack.render_config(tmp_path)
    out = run(promtool, "check", "config", str(config))
    assert f"{len(RULES)} rule files found" in out
    text = config.read_text()
    for port in [*range(8101, 8110), *range(8201, 8211)]:
        assert f"127.0.0.1:{port}" in text, f"no scrape target on port {port}"


def test_every_target_is_labelled_with_its_part_and_service(tmp_path: Path) -> None:
    config = yaml.safe_load(local_stack.render_config(tmp_path).read_text())
    seen = {}
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            assert set(static["labels"]) >= {"process", "service"}, job["job_name"]
            seen[static["labels"]["process"]] = static["labels"]["service"]
    assert seen["orders"] == "orders"
    assert seen["orders_saga"] == "orders"
    assert seen["notifications_feed"] == "notifications"
    assert {"kafka", "connect", "exporter", "prometheus"} <= set(seen)


def test_rules_are_valid(promtool: str) -> None:
    run(promtool, "check", "rules", *map(str, RULES))


def test_alert_unit_tests_pass(promtool: str) -> None:
    out = run(promtool, "test", "rules", str(ALERT_TESTS))
    assert "SUCCESS" in out


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    alerts = {rule["alert"] for path in RULES for group in yaml.safe_load(path.read_text())["groups"]
              for rule in group["rules"] if "alert" in rule}
    assert len(alerts) >= 10
    fired, silent = set(), set()
    for case in yaml.safe_load(ALERT_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    assert alerts - fired == set(), "alerts never shown to fire"
    assert alerts - silent == set(), "alerts never shown to stay silent"


def test_deadline_rule_follows_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALORIES_ORDER_PAYMENT_DEADLINE_SECONDS", "60")
    local_stack.render_config(tmp_path)
    assert "vector(60)" in (tmp_path / "rules" / "settings.yml").read_text()
