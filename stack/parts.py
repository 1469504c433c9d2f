"""What every part of the stack shares: the state folder, templates, spawning, health, and starting
or stopping many parts at once."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template

from chassis import local

ROOT = local.ROOT
STATE = Path(os.environ.get("CALORIES_STACK_DIR", ROOT / ".stack")).resolve()
LOGS, RUN, DATA, ETC = STATE / "logs", STATE / "run", STATE / "data", STATE / "etc"
DOWNLOADS, LIB, PLUGINS = STATE / "downloads", STATE / "lib", STATE / "plugins"
TEMPLATES = ROOT / "stack" / "etc"


def log(msg: str) -> None:
    print(f"[stack] {msg}", flush=True)


def fail(msg: str, fix: str) -> None:
    print(f"[stack] FAILED: {msg}\n[stack] how to fix: {fix}", file=sys.stderr, flush=True)
    sys.exit(1)


def fill(template: str, **values: object) -> str:
    """stack/etc/<template>.tmpl filled with `values` (string.Template: `$name`, `$$` for a `$`)."""
    defaults = {"run": RUN, "logs": LOGS, "data": DATA, "plugins": PLUGINS}
    return Template((TEMPLATES / f"{template}.tmpl").read_text()).substitute({**defaults, **values})


def render(template: str, **values: object) -> Path:
    """The filled template written to the state's etc/<template>, which the part then reads."""
    path = ETC / template
    path.write_text(fill(template, **values))
    return path


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError):
        return False


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def spawn(name: str, cmd: list[str], env: dict[str, str] | None = None, cwd: Path = STATE) -> None:
    """Start a process in a session (process group) of its own, its output in logs/<name>.log."""
    with open(LOGS / f"{name}.log", "ab") as logfile:
        proc = subprocess.Popen(cmd, stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=cwd, env={**os.environ, **(env or {})}, start_new_session=True)
    (RUN / f"{name}.pid").write_text(str(proc.pid))


def zombie(pid: int) -> bool:
    """Exited, but not yet reaped by its parent (here: the machine's init, which takes its time)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


@dataclass
class Part:
    name: str
    start: Callable[[], None]
    check: Callable[[], bool] | None  # None: alive is all that can be checked
    ports: tuple[int, ...] = ()
    timeout: float = 120.0
    after: tuple[str, ...] = ()  # parts that must be healthy before this one starts
    stop_signal: int = signal.SIGTERM
    grace: float = 20.0  # seconds from the stop signal to SIGKILL
    group: bool = True  # signal the whole process group (False: the pid only, e.g. the postmaster)

    @property
    def pidfile(self) -> Path:
        return RUN / f"{self.name}.pid"

    @property
    def logfile(self) -> Path:
        return LOGS / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text())
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it if this process started it
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        return None if zombie(pid) else pid

    def healthy(self) -> bool:
        return self.check() if self.check else self.pid() is not None

    def signal(self, sig: int) -> None:
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, sig) if self.group else os.kill(pid, sig)
