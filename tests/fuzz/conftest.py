"""API fuzzing through the single HTTP entry (`make up` must have run): one fresh account per
role, made once per test session (per xdist worker)."""

from __future__ import annotations

import pytest

# The e2e tests' client of the HTTP entry, for the regression tests here.
from tests.e2e.conftest import api  # noqa: F401
from tests.e2e.helpers import ENTRY, client
from tests.fuzz import harness


@pytest.fixture(scope="session")
def identities() -> dict[str, harness.Identity]:
    with client() as entry:
        if entry.get("/healthz").status_code != 200:
            pytest.fail(f"nothing answers at {ENTRY}; run `make up`")
    return harness.make_identities()
