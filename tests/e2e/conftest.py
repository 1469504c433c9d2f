"""End-to-end tests: everything through the single HTTP entry (`make up` must have run).
The helpers live in tests/e2e/helpers.py."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.helpers import ENTRY, client


@pytest.fixture
def api() -> Iterator[httpx.Client]:
    with client() as c:
        if c.get("/healthz").status_code != 200:
            pytest.fail(f"nothing answers at {ENTRY}; run `make up`")
        yield c
