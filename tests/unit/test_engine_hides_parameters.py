"""Defect: database errors logged row values (engines without `hide_parameters`): a failing insert
put a user's phone and address into the log and into a dead letter's `error` header."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import exc, text

from chassis.db import make_engine


def test_a_failing_statement_error_text_carries_no_parameter_values(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")  # the chassis' engine options, no server
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE people (phone TEXT NOT NULL CHECK (length(phone) < 5))"))
        with pytest.raises(exc.IntegrityError) as raised, engine.begin() as conn:
            conn.execute(text("INSERT INTO people (phone) VALUES (:phone)"), {"phone": "+44 20 7946 0958"})
        message = str(raised.value)
        assert "INSERT INTO people" in message  # the statement is still named
        assert "7946" not in message and "parameters hidden" in message
    finally:
        engine.dispose()
