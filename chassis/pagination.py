"""Keyset pagination: opaque cursors over (position, id), so pages stay stable under inserts."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, or_

from chassis.problems import Problem

T = TypeVar("T")


def encode_cursor(position: date, row_id: uuid.UUID) -> str:
    """`position` is the sort value (a date or datetime) of the last row handed out."""
    return base64.urlsafe_b64encode(f"{position.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str, parse: Callable[[str], T]) -> tuple[T, uuid.UUID]:
    try:
        position, _, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return parse(position), uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "The cursor is not one this API handed out; start again without it.") from None


def after(cursor: str, position_col: Any, id_col: Any, parse: Callable[[str], Any],
          descending: bool = False) -> ColumnElement[bool]:
    """The rows that come after the cursor in (position, id) order (or in reverse order)."""
    position, row_id = decode_cursor(cursor, parse)
    if descending:
        return or_(position_col < position, and_(position_col == position, id_col < row_id))
    return or_(position_col > position, and_(position_col == position, id_col > row_id))


def page(rows: Sequence[Any], limit: int, position: Callable[[Any], date]) -> tuple[Sequence[Any], str | None]:
    """Rows fetched with `limit + 1`: the page, and the cursor of the next one if there is one."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(position(last), last.id)
