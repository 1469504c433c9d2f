"""The chaos runner's pure parts: the window of client answers, the verdict over invariants, the
table in text and markdown, and the list of failures (loadtest/chaos.py)."""

from __future__ import annotations

from chassis import local
from loadtest import chaos
from loadtest.chaos import Row, error_codes, failures, format_markdown, format_text, lag_drained, verdict, window
from loadtest.chaos_checks import Check, check_dead_letters

HOLD = [Check("terminal", True, "10 orders"), Check("money", True, "3 wallets")]
BROKEN = [Check("terminal", True, "10 orders"), Check("holdings", False, "1 of 9 orders hold the wrong amount")]


def test_window_counts_answers_inside_it_and_only_errors_by_code() -> None:
    statuses = [(9.0, 200), (10.0, 200), (11.0, 502), (12.0, 0), (13.0, 404), (14.0, 500), (21.0, 500)]
    rps, codes = window(statuses, 10.0, 20.0)
    assert rps == 5 / 10
    assert codes == {502: 1, 0: 1, 404: 1, 500: 1}


def test_error_codes_are_shown_by_range_with_no_answer_as_conn() -> None:
    codes = {0: 2, 502: 12, 503: 3, 409: 1}
    assert error_codes(codes, 0, 599) == "connx2 409x1 502x12 503x3"
    assert error_codes(codes, 400, 499) == "409x1"
    assert error_codes({}, 400, 499) == "-"


def test_verdict_names_what_failed_and_counts_what_held() -> None:
    assert verdict(HOLD) == "2/2 hold"
    assert verdict(BROKEN) == "FAIL holdings (1/2 hold)"
    assert verdict([]) == "not checked"


def test_failures_are_listed_once_with_every_fault_that_saw_them() -> None:
    rows = [Row("baseline (no fault)", checks=HOLD), Row("kill -9 orders", checks=BROKEN),
            Row("kill -9 kafka", checks=BROKEN)]
    assert failures(rows) == ["holdings: 1 of 9 orders hold the wrong amount — after kill -9 orders, kill -9 kafka"]
    assert failures(rows[:1]) == []


def test_tables_have_one_line_per_fault_and_escape_pipes_in_markdown() -> None:
    rows = [Row("baseline (no fault)", 30, 4.94, {409: 2}, 24, None, HOLD),
            Row("kill -9 a|b", 31, 3.7, {502: 18, 500: 1}, 44, 30.4, BROKEN),
            Row("kill -9 registry", 180, 1.0, {}, None, None, HOLD),
            Row("kill -9 connect", note="skipped: budget")]
    text = format_text(rows).splitlines()
    assert len(text) == 2 + len(rows)
    assert text[2].split()[:6] == ["baseline", "(no", "fault)", "30", "4.9", "-"]
    md = format_markdown(rows).splitlines()
    assert md[1] == "|" + "---|" * 9
    assert md[3] == "| kill -9 a\\|b | 31 | 3.7 | 500x1 502x18 | 1 | - | 44 | 30 s | FAIL holdings (1/2 hold) |"
    assert "NOT recovered" in md[4]
    assert md[5].endswith("| - | - | skipped: budget |")


def test_lag_counts_as_drained_only_when_read_and_every_group_is_under_the_limit() -> None:
    assert lag_drained({"a": 3, "b": 20}, 20)
    assert not lag_drained({"a": 3, "b": 21}, 20)
    assert not lag_drained({}, 20)  # no reading (Kafka away) is not a drained lag


def test_dead_letters_count_only_records_added_during_the_run() -> None:
    assert check_dead_letters({"orders_saga": 4}, {"orders_saga": 4, "records_totals": 0}).ok
    grown = check_dead_letters({"orders_saga": 4}, {"orders_saga": 6, "records_totals": 1})
    assert not grown.ok and grown.detail == "new: orders_saga +2, records_totals +1"


def test_network_fault_keys_name_their_link() -> None:
    assert chaos.net_fault_link("net:cut") == "postgres"
    assert chaos.net_fault_link("net:latency") == "postgres"
    assert chaos.net_fault_link("net:broker-cut") == "broker"
    assert chaos.net_fault_link("kill:orders") is None


def test_every_link_has_latency_loss_and_a_cut_and_the_broker_link_takes_every_processor() -> None:
    import argparse

    args = argparse.Namespace(pg_down=10.0, pause=15.0, net_seconds=20.0)
    runner = chaos.Chaos.__new__(chaos.Chaos)  # the catalogue needs only the arguments
    runner.args = args
    catalogue = runner.catalogue()
    for link in chaos.LINKS.values():
        keys = [k for k in catalogue if chaos.net_fault_link(k) == link.name]
        assert sorted(k.rsplit("-", 1)[-1].removeprefix("net:") for k in keys) == ["cut", "latency", "loss"]
    broker = chaos.LINKS["broker"]
    assert set(broker.parts) == set(local.PROCESSORS)
    # The proxy forwards to the listener that advertises the proxy, never to the plain one.
    assert broker.upstream == local.KAFKA_PROXIED_PORT != broker.plain == local.KAFKA_PORT
    assert broker.listen == local.KAFKA_PROXY_PORT
    assert set(chaos.Chaos.all_faults(runner)) <= set(catalogue)


def test_the_broker_advertises_the_proxy_on_its_proxied_listener() -> None:
    from stack import engines, parts

    lines = parts.fill("kafka.properties", **engines.engine_settings()["kafka.properties"]).splitlines()
    listeners = next(line for line in lines if line.startswith("listeners="))
    advertised = next(line for line in lines if line.startswith("advertised.listeners="))
    assert f"PROXIED://127.0.0.1:{local.KAFKA_PROXIED_PORT}" in listeners
    assert f"PROXIED://127.0.0.1:{local.KAFKA_PROXY_PORT}" in advertised
