"""The bounded API fuzz of `make test`: every service's OpenAPI document, through the HTTP entry,
as every role (tests/fuzz/harness.py). Fails on any 5xx and on any answer its document does not
describe (status, content type, body schema, headers). CALORIES_FUZZ_EXAMPLES=200 makes it long;
`python -m tests.fuzz.run` prints the same run as a table."""

from __future__ import annotations

import pytest

from tests.fuzz import harness


def _params() -> list:
    return [pytest.param(service, role, id=f"{service}-{role}",
                         marks=harness.pending_marks(service))
            for service in harness.SERVICES for role in harness.ROLES]


@pytest.mark.parametrize(("service", "role"), _params())
def test_api_fuzz(service: str, role: str, identities: dict[str, harness.Identity]) -> None:
    run = harness.fuzz_service(service, identities[role])
    assert run.requests > 0, f"nothing was fuzzed on {service} as {role}"
    assert not run.failures, (f"{len(run.failures)} distinct failures in {run.requests} requests to {service} "
                              f"as {role}:\n\n" + "\n\n".join(map(str, run.failures.values())))
