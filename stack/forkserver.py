"""A fork server for the Python apps: one process imports the libraries they all use, then forks a
child per app, so nineteen apps do not each spend a second or two of CPU importing the same
FastAPI, SQLAlchemy, Faust and Kafka modules (on two cores that was most of a `make up`).

Only third-party modules are imported before the fork: the project's own read their settings
from the environment at import (chassis/local.py), and each app has its own. The server starts no
thread and no event loop, so a fork is safe. A child starts a session of its own (the stack
signals its process group), takes its log file as stdout and stderr, its environment and working
folder from the request, and runs its module as `python -m` would. The server reaps its children.

Protocol: one JSON request per connection on a Unix socket,
`{"argv": ["uvicorn", ...], "env": {...}, "cwd": "...", "log": "..."}` (argv[0] is the module);
the answer is `{"pid": N}` or `{"error": "..."}`.

Run: python -m stack.forkserver <socket path>   (stack/apps.py starts it and stops it)
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import runpy
import signal
import socket
import sys
import traceback

# What the apps import (measured with -X importtime over every app and processor); a module
# missing here is simply imported by the child.
PRELOAD = (
    "fastapi", "fastapi.routing", "fastapi.openapi.models", "fastapi.responses", "starlette.middleware",
    "pydantic", "pydantic_settings", "sqlalchemy", "sqlalchemy.orm", "sqlalchemy.dialects.postgresql",
    "sqlalchemy.dialects.postgresql.psycopg", "psycopg", "uvicorn.main", "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl", "uvloop", "httpx", "confluent_kafka", "confluent_kafka.admin",
    "confluent_kafka.schema_registry", "fastavro", "faust", "faust.cli", "faust.transport.drivers.aiokafka",
    "faust.tables", "faust.web.drivers.aiohttp", "aiokafka", "aiohttp", "prometheus_client", "argon2",
    "jwt", "croniter",
)


def preload() -> None:
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def child(request: dict, log: int, *inherited: socket.socket) -> None:
    """In the forked child: become the app. Never returns."""
    code = 1
    try:
        for sock in inherited:  # the server's sockets are not the app's to keep open
            sock.close()
        for sig in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # What PYTHONPATH and `python -m` would have put first on the path.
        extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:0] = [request["cwd"], *extra]
        sys.argv = list(request["argv"])
        module = request["argv"][0]
        if hasattr(sys.modules.get(module), "__path__"):
            # A preloaded package runs its __main__, as `python -m package` does. (Asking runpy for
            # the package itself fails for faust, whose module object is rebuilt without a __spec__.)
            module += ".__main__"
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def reap(*_: object) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def serve(path: str) -> None:
    preload()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, reap)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"forkserver: {len(sys.modules)} modules loaded, listening on {path}", flush=True)
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        with conn:
            conn.settimeout(10)  # a caller that never sends its line must not hold up every later spawn
            try:
                line = conn.makefile("rb").readline()
            except OSError:  # timed out or reset: nothing was asked
                continue
            if not line:  # a probe: the caller only checks that the server answers
                continue
            try:
                request = json.loads(line)
                os.stat(request["cwd"])  # a bad folder or log is the caller's to hear about, not the child's
                log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                try:
                    pid = os.fork()
                    if pid == 0:
                        child(request, log, listener, conn)
                finally:
                    os.close(log)
                answer: dict = {"pid": pid}
            except Exception as exc:  # a bad request must not stop the server
                answer = {"error": repr(exc)}
            with contextlib.suppress(OSError):  # the caller gave up: nothing to tell it, serve on
                conn.sendall(json.dumps(answer).encode() + b"\n")


def spawn(path: str, argv: list[str], env: dict[str, str], cwd: str, log: str, timeout: float = 60.0) -> int:
    """Ask the server at `path` to start `argv` (argv[0] is a module); the child's pid."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(path)
        conn.sendall(json.dumps({"argv": argv, "env": env, "cwd": cwd, "log": log}).encode() + b"\n")
        answer = json.loads(conn.makefile("rb").readline())
    if "pid" not in answer:
        raise RuntimeError(f"the fork server could not start {argv[0]}: {answer.get('error')}")
    return int(answer["pid"])


if __name__ == "__main__":
    serve(sys.argv[1])
