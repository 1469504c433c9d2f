"""RFC 9457 problem details: every error any service returns, validation errors included."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"

# What each error status means wherever the chassis answers it; a route may say more (`described`).
PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be read: a body that is not JSON, or a value this API never handed out "
         "(a cursor) or cannot serve (a date range)",
    401: "Not signed in, or the access token is not valid (expired, another issuer, another key)",
    403: "Signed in, but this account's role (or restaurant) may not do this",
    404: "No such resource among those this account may see",
    409: "The resource's current state does not allow this",
    412: "The If-Match version is stale: read again, then retry",
    422: "The request is not valid: `errors` names each bad field (control characters included)",
    428: "If-Match is required: send the ETag of the last read",
    429: "Too many requests: wait Retry-After seconds",
    503: "Not available right now (the database or the token key set unreachable); nothing was changed: retry",
}


def problem_schema(status: int) -> dict[str, Any]:
    """The JSON schema of a problem+json body (RFC 9457) as `problem_response` writes it, for one
    status (the body's `status` equals the HTTP status). Inline, not a component: FastAPI registers
    components only for response models, and a model would be documented as application/json."""
    return {
        "title": f"Problem{status}",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "description": "a URI naming the kind of problem; about:blank when "
                                                      "the status says it all"},
            "title": {"type": "string"},
            "status": {"type": "integer", "enum": [status]},
            "detail": {"type": "string", "description": "what went wrong, for a person"},
            "instance": {"type": "string", "description": "the request's path"},
            "errors": {"type": "array", "description": "each invalid field (422 only)",
                       "items": {"type": "object", "required": ["field", "message"],
                                 "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
        },
        # Some problems carry more members (RFC 9457 extensions), e.g. a task's current_status.
        "additionalProperties": True,
    }


def problem_responses(*statuses: int, described: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: each status documented as the problem+json it answers
    (FastAPI documents its validation error as JSON of another shape; declaring 422 here replaces it)."""
    described = described or {}
    return {status: {"description": described.get(status, PROBLEM_DESCRIPTIONS.get(status, HTTPStatus(status).phrase)),
                     "content": {PROBLEM_JSON: {"schema": problem_schema(status)}}}
            for status in sorted({*statuses, *described})}


class Problem(Exception):
    """Raise from anywhere in a request: becomes a problem+json response."""

    def __init__(self, status: int, detail: str, *, title: str | None = None, type_: str = "about:blank",
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.type = type_
        self.headers = headers
        self.extra = extra


def problem_response(request: Request, status: int, detail: str, *, title: str | None = None,
                     type_: str = "about:blank", headers: Mapping[str, str] | None = None,
                     **extra: Any) -> JSONResponse:
    body = {"type": type_, "title": title or HTTPStatus(status).phrase, "status": status, "detail": detail,
            "instance": request.url.path, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _location(loc: tuple[Any, ...]) -> str:
    # ("body", "days", 0, "date") -> "body.days[0].date": names the bad field the way a client sees it
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.status, exc.detail, title=exc.title, type_=exc.type,
                                headers=exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _location(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(request, 422, detail, title="Invalid request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(request, exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, "An unexpected error occurred; it has been logged.")
