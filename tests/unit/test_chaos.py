"""The chaos runner's pure parts: the window of client answers, the verdict over invariants, the
table in text and markdown, and the list of failures (loadtest/chaos.py)."""

from __future__ import annotations

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
