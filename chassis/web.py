"""The FastAPI side of the chassis: app factory, correlation ids, request metrics, health."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis.events import correlation_id_var
from chassis.inputs import ControlCharacterGuard
from chassis.logs import configure_logging
from chassis.problems import install_problem_handlers, problem_response
from chassis.retention import Retention, chassis_retention, prune_database
from chassis.security import JwksKeySource, KeySource, TokenVerifier
from chassis.service import Service, ServiceSettings

CORRELATION_HEADER = "X-Correlation-ID"
CORRELATION_HEADER_RAW = CORRELATION_HEADER.lower().encode()  # as ASGI carries header names

# OpenTelemetry's semantic-convention name, so dashboards work across stacks.
REQUEST_DURATION = Histogram(
    "http_server_request_duration_seconds", "Duration of HTTP requests served.",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

log = logging.getLogger("calories.http")


async def current_service(request: Request) -> Service[Any]:
    # async: FastAPI runs a sync dependency in its thread pool, a hop and back for an attribute read.
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


class CorrelateAndMeasure:
    """Correlation id in (taken from the request or made) and out (on the response), the request's
    duration by route template, and one log line. A pure ASGI middleware: Starlette's
    `@app.middleware("http")` (BaseHTTPMiddleware) runs every request in a task of its own and
    copies the response body through a stream, which cost a tenth of the diary's write path."""

    def __init__(self, app: ASGIApp, service_name: str, prefix: str) -> None:
        self.app = app
        self.service_name = service_name
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == CORRELATION_HEADER_RAW), None)
        correlation_id = incoming.decode("latin-1") if incoming else str(uuid.uuid4())
        token = correlation_id_var.set(correlation_id)
        started = time.perf_counter()
        status = 500
        answered = False

        async def send_correlated(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                message["headers"] = [*message.get("headers", ()),
                                      (CORRELATION_HEADER_RAW, correlation_id.encode("latin-1"))]
            await send(message)

        try:
            try:
                await self.app(scope, receive, send_correlated)
            except Exception:  # reaches here only if a handler bypassed the problem handlers
                log.exception("request failed")
                if answered:
                    raise
                response = problem_response(Request(scope), 500, "An unexpected error occurred; it has been logged.")
                await response(scope, receive, send_correlated)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_label(scope, self.prefix, status)
            method = scope["method"]
            REQUEST_DURATION.labels(self.service_name, method, route, str(status)).observe(elapsed)
            if route not in ("/healthz", "/readyz", "/metrics"):  # probes and scrapes would drown the log
                log.info("%s %s %s", method, route, status,
                         extra={"fields": {"method": method, "route": route, "status": status,
                                           "duration_ms": round(elapsed * 1000, 1)}})
            correlation_id_var.reset(token)


async def database_unavailable(request: Request, exc: Exception) -> Response:
    """The database away (restarting, unreachable, out of connections) or a transaction that lost
    a race (serialization failure, deadlock): nothing was written, and the same request may
    succeed in a moment. 503 with Retry-After, never 500. The broken connection is already
    invalidated, and with it every pooled connection older than it (SQLAlchemy does that on a
    disconnect), so the next request opens fresh ones."""
    log.warning("database unavailable: %s", exc.__class__.__name__)
    return problem_response(request, 503, f"The database is not available right now ({exc.__class__.__name__}); "
                                          "nothing was changed: retry shortly.", headers={"Retry-After": "1"})


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
        # Sync routes run in anyio's thread pool (40 threads by default): as many as the database
        # pool has connections, so a thread never waits for one (chassis/settings.py db_pool_size).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.db_pool_size
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
    for unavailable in (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError):
        app.add_exception_handler(unavailable, database_unavailable)
    # Control characters in any text a client sends: 422 before a route sees it (chassis/inputs.py).
    # Added before the middleware below, so it runs inside it: refusals are measured and correlated.
    app.add_middleware(ControlCharacterGuard)

    # Outermost of the two (added last): every answer, refusals included, is measured and correlated.
    app.add_middleware(CorrelateAndMeasure, service_name=service.name, prefix=prefix)

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
