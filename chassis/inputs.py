"""Every string a client sends is checked once, here, before any route sees it.

Control characters (C0: U+0000-U+001F, except tab, line feed and carriage return) have no place in
a name, a phone number or a note; NUL above all, which Postgres' text type refuses, so an event
carrying one could never be applied by its consumers. `ControlCharacterGuard` is a pure ASGI
middleware that refuses them with 422 problem+json naming the field, on every endpoint: in JSON
bodies (every string value and key), in the query string and in the path.

Fast path: a JSON body is parsed only when its raw bytes contain a `\\u00`/`\\u001` escape or a raw
control byte, so an ordinary request costs one scan of its bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis.problems import PROBLEM_JSON

ALLOWED = {"\t", "\n", "\r"}
# A control character in text: C0 except tab, LF, CR.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# What may announce one in raw JSON bytes: an escape \u0000-\u001f, or the byte itself.
SUSPECT = re.compile(rb"\\u00[01]|[\x00-\x08\x0b\x0c\x0e-\x1f]", re.IGNORECASE)


def control_character(text: str) -> str | None:
    """The first forbidden control character in `text` as `U+00XX`, or None."""
    m = CONTROL.search(text)
    return f"U+{ord(m.group()):04X}" if m else None


def _walk(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """(field, code point) for each string in a JSON value holding a control character."""
    if isinstance(value, str):
        bad = control_character(value)
        if bad:
            yield where, bad
    elif isinstance(value, dict):
        for key, item in value.items():
            field = f"{where}.{key}"
            bad = control_character(key)
            if bad:
                yield field, bad
            yield from _walk(item, field)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{where}[{i}]")


def json_problems(body: bytes) -> list[tuple[str, str]]:
    """(field, code point) of each control character in a JSON body; [] when there is none or the
    body is not JSON at all (FastAPI then answers 422 for that, as it always did)."""
    if not SUSPECT.search(body):
        return []
    try:
        # strict=False: a raw control byte inside a string is read, so that it can be named.
        value = json.loads(body, strict=False)
    except (ValueError, UnicodeDecodeError):
        return []
    return list(_walk(value, "body"))


def query_problems(query_string: bytes) -> list[tuple[str, str]]:
    out = []
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, encoding="utf-8",
                                errors="replace"):
        for text in (key, value):
            bad = control_character(text)
            if bad:
                out.append((f"query.{CONTROL.sub('?', key)}", bad))
                break
    return out


def path_problems(path: str) -> list[tuple[str, str]]:
    bad = control_character(path)  # Starlette's scope["path"] is already percent-decoded
    return [("path", bad)] if bad else []


def _is_json(scope: Scope) -> bool:
    """As FastAPI decides: a JSON media type, or no content type at all (FastAPI reads it as JSON)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            ctype = value.split(b";", 1)[0].strip().lower()
            return ctype == b"application/json" or ctype.endswith(b"+json")
    return True


class ControlCharacterGuard:
    """ASGI middleware: 422 for a control character anywhere a client put text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problems = path_problems(scope.get("path", "")) + query_problems(scope.get("query_string", b""))
        if not problems and _is_json(scope) and scope.get("method") in ("POST", "PUT", "PATCH", "DELETE"):
            messages: list[Message] = []
            body = b""
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    break
            problems = json_problems(body)
            if not problems:
                replay = iter(messages)

                async def replayed() -> Message:
                    try:
                        return next(replay)
                    except StopIteration:
                        return await receive()

                await self.app(scope, replayed, send)
                return
        if not problems:
            await self.app(scope, receive, send)
            return
        await self._refuse(scope, send, problems)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, problems: list[tuple[str, str]]) -> None:
        errors = [{"field": field, "message": f"control character {cp} is not allowed"} for field, cp in problems]
        body = json.dumps({
            "type": "about:blank", "title": "Invalid request", "status": 422,
            "detail": "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            "instance": scope.get("path", ""), "errors": errors,
        }).encode()
        await send({"type": "http.response.start", "status": 422,
                    "headers": [(b"content-type", PROBLEM_JSON.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
