"""API fuzzing with schemathesis, through the single HTTP entry, as every role.

For one service and one role: load `<entry>/<service>/openapi.json`, and for every operation send
`examples` positive cases (valid by the document) and `examples` negative ones (invalid by it),
each as the role's account, then check every answer: no 5xx, a documented status code, the
documented content type, a body that matches the documented schema, the documented headers.

Failures are collected (deduplicated by operation, check and status), never raised inside
Hypothesis: a bounded run then reports every distinct defect it met instead of the first one, and
no time goes to shrinking. Each failure keeps a curl command that replays it.

Used by tests/fuzz/test_api_fuzz.py (the bounded run of `make test`) and tests/fuzz/run.py (the
table of `make fuzz`). CALORIES_FUZZ_EXAMPLES raises the examples per operation and mode.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure as CheckFailure
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chassis import local
from tests.e2e.helpers import ENTRY, admin, client, login, register, staff

SERVICES: tuple[str, ...] = tuple(local.SERVICES)
# `anonymous` sends no token: every signed-in route must answer its documented 401, not a 5xx.
ROLES: tuple[str, ...] = ("anonymous", "user", "manager", "restaurant", "courier", "admin")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
SIGNED_IN = frozenset(ROLES) - {"anonymous"}
# Access tokens live 15 min (auth's access_token_ttl_seconds); a long run signs in again before that.
TOKEN_REFRESH_SECONDS = 600
# Restaurants the fuzzer creates get names that sort after every seeded one: stack/seed.py finds
# the seeded restaurants by name in the first page of GET /restaurants (ordered by name), so
# fuzz restaurants named "0" or "A" would push them out of it and make the seed create them twice.
FUZZ_NAME_PREFIX = "zz fuzz "


def examples_per_operation() -> int:
    """Examples per operation and generation mode: few for `make test`, many for a long run."""
    return int(os.environ.get("CALORIES_FUZZ_EXAMPLES", "2"))


@dataclass(frozen=True)
class Exclusion:
    method: str
    path: str
    roles: frozenset[str]
    why: str


# What is never fuzzed, and why. Everything else is, as every role. (Accounts are all fresh, made
# for the run, so nothing here protects the seeded logins: the fuzzer never signs in as them.)
EXCLUDED: tuple[Exclusion, ...] = (
    Exclusion("GET", "/notifications/stream", SIGNED_IN,
              "an endless Server-Sent Events stream: a signed-in request holds its connection, and one "
              "of the user's few live-stream slots, until the token expires (anonymous gets its 401 at once)"),
)


# The only operations anyone may call without signing in; any other answering 2xx to an anonymous
# request is a failure (an endpoint that forgot its authentication).
PUBLIC: frozenset[str] = frozenset({"POST /auth/register", "POST /auth/login", "POST /auth/refresh",
                                    "GET /auth/.well-known/jwks.json"})


def excluded(method: str, path: str, role: str) -> Exclusion | None:
    return next((e for e in EXCLUDED if e.method == method.upper() and e.path == path and role in e.roles), None)


# Services whose documents are known not to declare their errors yet, with why: their fuzz and
# document tests still run and report (xfail, not skip). Remove an entry once its fix is in.
PENDING: dict[str, str] = {}


def pending_marks(service: str) -> list[Any]:
    return [pytest.mark.xfail(reason=PENDING[service], strict=False)] if service in PENDING else []


@dataclass
class Identity:
    """One role's fresh account; signs in again before its access token expires."""

    role: str
    email: str | None = None
    password: str | None = None
    restaurant_id: str | None = None  # the restaurant a `restaurant` account works for
    token: str | None = None
    signed_in_at: float = 0.0

    def headers(self) -> dict[str, str]:
        if self.email is None or self.password is None:
            return {}
        if self.token is None or time.monotonic() - self.signed_in_at > TOKEN_REFRESH_SECONDS:
            with client() as api:
                self.token = login(api, self.email, self.password)["access_token"]
            self.signed_in_at = time.monotonic()
        return {"Authorization": f"Bearer {self.token}"}


def make_identities() -> dict[str, Identity]:
    """A fresh account per role (the admin's made by the seeded admin with POST /auth/staff), so the
    fuzzer never changes a profile, wallet or diary that another test or person relies on."""
    with client() as api:
        boss = admin(api)
        made = api.post("/restaurants", headers=boss.auth, json={
            "name": f"{FUZZ_NAME_PREFIX}kitchen {uuid.uuid4().hex[:8]}", "address": "1 Fuzz Street",
            "daily_capacity": 50, "active": False})  # its staff edit its menu; nobody lists or orders from it
        assert made.status_code == 201, made.text
        restaurant_id = made.json()["id"]
        dish = api.post(f"/restaurants/{restaurant_id}/dishes", headers=boss.auth,
                        json={"text": "Fuzz soup", "calories": 200, "kind": "soup", "price": 300})
        assert dish.status_code == 201, dish.text
        identities = {"anonymous": Identity("anonymous")}
        user = register(api)
        identities["user"] = Identity("user", user.email, user.password)
        for role in ("manager", "courier", "admin"):
            account = staff(api, role)
            identities[role] = Identity(role, account.email, account.password)
        kitchen = staff(api, "restaurant", restaurant_id=restaurant_id)
        identities["restaurant"] = Identity("restaurant", kitchen.email, kitchen.password, restaurant_id)
    return identities


@dataclass
class FoundFailure:
    service: str
    role: str
    operation: str
    check: str
    status: int | None
    detail: str

    def __str__(self) -> str:
        return f"[{self.service} as {self.role}] {self.operation}: {self.check} (HTTP {self.status})\n{self.detail}"


@dataclass
class ServiceRun:
    service: str
    role: str
    operations: int = 0
    skipped: list[str] = field(default_factory=list)
    requests: int = 0
    failures: dict[tuple[str, str, int | None], FoundFailure] = field(default_factory=dict)

    def add(self, failure: FoundFailure) -> None:
        self.failures.setdefault((failure.operation, failure.check, failure.status), failure)


def load_schema(service: str) -> Any:
    """The document the running service publishes; with CALORIES_FUZZ_SCHEMA=worktree, the one the
    work tree's code would publish (checks a documentation change against the running behaviour
    before the services are restarted; requests still go to the HTTP entry)."""
    if os.environ.get("CALORIES_FUZZ_SCHEMA") == "worktree":
        app = importlib.import_module(f"apis.{service}.app").app
        return schemathesis.openapi.from_dict(app.openapi())
    return schemathesis.openapi.from_url(f"{ENTRY}/{service}/openapi.json", timeout=30)


def _fake_address() -> str:
    # auth throttles logins and registrations per client address (it trusts the gateway's
    # X-Forwarded-For): each fuzz request looks like its own client, so the fuzzer neither
    # throttles itself into nothing but 429s nor shares a throttle with another test's client.
    return f"203.0.{random.randint(0, 255)}.{random.randint(1, 254)}"


def _pinned_path(operation: Any, identity: Identity) -> dict[str, Any] | None:
    # Restaurant staff fuzz their own restaurant's menu and kitchen (random ids would only ever
    # meet the 403 for another restaurant's); everyone else gets random ids.
    names = {p.name for p in operation.path_parameters}
    if identity.restaurant_id and "restaurant_id" in names:
        return {"restaurant_id": identity.restaurant_id}
    return None


def _prepare(operation: Any, case: Any) -> None:
    # A valid name (1-200 characters) stays valid and an invalid one invalid: only the sort order changes.
    if operation.method.upper() == "POST" and operation.path == "/restaurants" and isinstance(case.body, dict):
        name = case.body.get("name")
        if isinstance(name, str) and 1 <= len(name) <= 200:
            case.body["name"] = (FUZZ_NAME_PREFIX + name)[:200]


def _after(operation: Any, response: requests.Response, created_restaurants: list[str]) -> None:
    if operation.method.upper() == "POST" and operation.path == "/restaurants" and response.status_code == 201:
        created_restaurants.append(response.json()["id"])


def _failures_of(group: BaseException) -> list[CheckFailure]:
    if isinstance(group, FailureGroup):
        return list(group.exceptions)
    if isinstance(group, CheckFailure):
        return [group]
    raise group


def fuzz_operation(run: ServiceRun, operation: Any, identity: Identity, mode: GenerationMode, examples: int,
                   http: requests.Session, created_restaurants: list[str]) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=_pinned_path(operation, identity))

    # Generation only: no shrinking (nothing is raised), no example database (runs share nothing).
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case: Any) -> None:
        _prepare(operation, case)
        headers = {**identity.headers(), "X-Forwarded-For": _fake_address()}
        run.requests += 1
        try:
            response = case.call(base_url=ENTRY, session=http, headers=headers, timeout=30)
        except requests.RequestException as exc:
            run.add(FoundFailure(run.service, run.role, label, "request failed", None,
                                 f"{exc!r}\n{case.as_curl_command(headers=headers, base_url=ENTRY)}"))
            return
        _after(operation, response, created_restaurants)
        if identity.role == "anonymous" and response.status_code < 300 and label not in PUBLIC:
            run.add(FoundFailure(run.service, run.role, label, "answered an anonymous request", response.status_code,
                                 case.as_curl_command(headers=headers, base_url=ENTRY)))
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (FailureGroup, CheckFailure) as group:
            for failure in _failures_of(group):
                run.add(FoundFailure(run.service, run.role, label, failure.title, response.status_code,
                                     f"{failure.message}\nbody: {response.text[:500]}\n"
                                     f"{case.as_curl_command(headers=headers, base_url=ENTRY)}"))

    fixed_seed = os.environ.get("CALORIES_FUZZ_SEED")
    # Unsatisfiable: no negative case exists (an operation without parameters or body).
    with contextlib.suppress(Unsatisfiable):
        (seed(int(fixed_seed))(check) if fixed_seed else check)()


def fuzz_service(service: str, identity: Identity, examples: int | None = None,
                 progress: Callable[[str], None] | None = None) -> ServiceRun:
    """Fuzz every operation of one service as one identity; the restaurants it made, deactivated."""
    examples = examples_per_operation() if examples is None else examples
    run = ServiceRun(service, identity.role)
    schema = load_schema(service)
    created_restaurants: list[str] = []
    with requests.Session() as http:
        for result in schema.get_all_operations():
            operation = result.ok()
            skip = excluded(operation.method, operation.path, identity.role)
            if skip:
                run.skipped.append(f"{operation.method.upper()} {operation.path}: {skip.why}")
                continue
            run.operations += 1
            if progress:
                progress(f"{service} as {identity.role}: {operation.method.upper()} {operation.path}")
            for mode in MODES:
                fuzz_operation(run, operation, identity, mode, examples, http, created_restaurants)
    _deactivate(created_restaurants, identity)
    return run


def _deactivate(restaurant_ids: list[str], identity: Identity) -> None:
    # A fuzz restaurant stays in the database (the events about it are out), but nobody but an
    # admin lists an inactive restaurant and nobody can order from it.
    if not restaurant_ids:
        return
    with httpx.Client(base_url=ENTRY, timeout=30) as api:
        for rid in restaurant_ids:
            api.patch(f"/restaurants/{rid}", headers=identity.headers(), json={"active": False})
