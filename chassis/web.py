"""The FastAPI side of the chassis: app factory, correlation ids, request metrics, health."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from sqlalchemy import text

from chassis.events import correlation_id_var
from chassis.inputs import ControlCharacterGuard
from chassis.logs import configure_logging
from chassis.problems import install_problem_handlers, problem_response
from chassis.retention import Retention, chassis_retention, prune_database
from chassis.security import JwksKeySource, KeySource, TokenVerifier
from chassis.service import Service, ServiceSettings

CORRELATION_HEADER = "X-Correlation-ID"

# OpenTelemetry's semantic-convention name, so dashboards work across stacks.
REQUEST_DURATION = Histogram(
    "http_server_request_duration_seconds", "Duration of HTTP requests served.",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

log = logging.getLogger("calories.http")


def current_service(request: Request) -> Service[Any]:
    return request.app.state.service


# The running service (its settings, database and units of work), for route handlers. A service with
# settings of its own declares `Annotated[Service[OrderSettings], Depends(current_service)]` instead.
ServiceDep = Annotated[Service[ServiceSettings], Depends(current_service)]


def _route_label(scope: MutableMapping[str, Any], prefix: str, status: int) -> str:
    """The route template (bounded cardinality), e.g. /users/{user_id}, never the raw path."""
    path = getattr(scope.get("route"), "path", None)
    if path and scope.get("fastapi", {}).get("included_router") is not None:
        return f"{prefix}{path}"  # routes of included routers carry their path without the prefix
    if path:
        return path
    # Starlette's own routes (OpenAPI document, docs) are fixed paths; anything else is a 404.
    return scope["path"] if status < 400 else "unmatched"


def create_app(service: Service[ServiceSettings], routers: list[APIRouter], *, prefix: str,
               keys: KeySource | None = None,
               on_startup: Callable[[], None] | None = None,
               retention: Sequence[Retention] = ()) -> FastAPI:
    """One service app: its routers under `prefix` (the gateway's path prefix), the chassis
    endpoints at the root (`/healthz`, `/readyz`, `/metrics`), and the OpenAPI document at
    `<prefix>/openapi.json` so it is reachable through the single HTTP entry. Every
    `prune_interval_seconds` the process prunes its database's outbox and inbox and the service's
    own `retention` tables (chassis/retention.py)."""
    configure_logging(service.name)
    settings = service.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if on_startup:
            on_startup()
        pruner = asyncio.create_task(prune_periodically())
        yield
        pruner.cancel()
        service.engine.dispose()

    rules = [*chassis_retention(settings), *retention]

    async def prune_periodically() -> None:
        while True:
            await asyncio.sleep(settings.prune_interval_seconds)
            try:
                await asyncio.to_thread(prune_database, service.name, service.engine, rules)
            except Exception as exc:  # the database away: the next pass will do it
                log.warning("pruning failed: %r", exc)

    app = FastAPI(title=f"Calories {service.name}", lifespan=lifespan, openapi_url=f"{prefix}/openapi.json",
                  docs_url=f"{prefix}/docs", redoc_url=None)
    app.state.service = service
    app.state.token_verifier = TokenVerifier(keys or JwksKeySource(settings.auth_jwks_url),
                                             settings.token_issuer, settings.token_audience)
    install_problem_handlers(app)
    # Control characters in any text a client sends: 422 before a route sees it (chassis/inputs.py).
    # Added before the middleware below, so it runs inside it: refusals are measured and correlated.
    app.add_middleware(ControlCharacterGuard)

    @app.middleware("http")
    async def correlate_and_measure(request: Request, call_next):
        correlation_id = request.headers.get(CORRELATION_HEADER) or str(uuid.uuid4())
        token = correlation_id_var.set(correlation_id)
        started = time.perf_counter()
        status = 500
        try:
            try:
                response = await call_next(request)
            except Exception:  # reaches here only if a handler bypassed the problem handlers
                log.exception("request failed")
                response = problem_response(request, 500, "An unexpected error occurred; it has been logged.")
            status = response.status_code
            response.headers[CORRELATION_HEADER] = correlation_id
            return response
        finally:
            elapsed = time.perf_counter() - started
            route = _route_label(request.scope, prefix, status)
            REQUEST_DURATION.labels(service.name, request.method, route, str(status)).observe(elapsed)
            if route not in ("/healthz", "/readyz", "/metrics"):  # probes and scrapes would drown the log
                log.info("%s %s %s", request.method, route, status,
                         extra={"fields": {"method": request.method, "route": route, "status": status,
                                           "duration_ms": round(elapsed * 1000, 1)}})
            correlation_id_var.reset(token)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> Response:
        try:
            with service.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            return problem_response(request, 503, f"database not reachable: {exc.__class__.__name__}")
        return Response('{"status":"ready"}', media_type="application/json")

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router, prefix=prefix)
    return app
