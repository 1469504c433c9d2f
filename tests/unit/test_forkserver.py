"""The fork server the stack starts the Python apps from (stack/forkserver.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from stack import forkserver
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    sock = tmp_path_factory.mktemp("forkserver") / "fs.sock"
    proc = subprocess.Popen([sys.executable, "-m", "stack.forkserver", str(sock)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL)
    poll_until(sock.exists, 60, "the fork server's socket")
    yield sock
    proc.terminate()
    proc.wait(10)


def alive(pid: int) -> bool:
    """Still in the process table: running, or exited and not yet reaped (a zombie)."""
    return Path(f"/proc/{pid}").exists()


def test_a_child_runs_its_module_with_its_own_environment_log_and_session(server: Path, tmp_path: Path) -> None:
    log = tmp_path / "probe.log"
    pid = forkserver.spawn(str(server), ["tests.forkserver_probe"], {"PROBE": "yes", "PYTHONPATH": str(ROOT)},
                           str(ROOT), str(log))
    seen = json.loads(poll_until(lambda: log.exists() and log.read_text().strip(), 30, "the probe's output"))
    assert seen == {"argv": [str(ROOT / "tests" / "forkserver_probe.py")], "cwd": str(ROOT), "probe": "yes",
                    "sid_is_pid": True, "name": "__main__", "preloaded": True}
    poll_until(lambda: not alive(pid), 30, "the finished child to be reaped by the server")


def test_a_failing_module_leaves_its_traceback_in_its_log_and_the_server_serves_on(
        server: Path, tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:  # what the stack does to see it is up
        probe.connect(str(server))
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # connects and never asks
    silent.connect(str(server))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as garbage:
        garbage.connect(str(server))
        garbage.sendall(b"not json\n")
    log = tmp_path / "bad.log"
    forkserver.spawn(str(server), ["no_such_module_here"], {}, str(ROOT), str(log))
    poll_until(lambda: log.exists() and "No module named" in log.read_text(), 30, "the child's traceback")
    with pytest.raises(RuntimeError, match="could not start x"):
        forkserver.spawn(str(server), ["x"], {}, str(ROOT), "/no/such/folder/x.log")
    with pytest.raises(RuntimeError, match="could not start x"):
        forkserver.spawn(str(server), ["x"], {}, "/no/such/folder", str(tmp_path / "x.log"))
    log2 = tmp_path / "again.log"
    pid = forkserver.spawn(str(server), ["tests.forkserver_probe", "3"], {}, str(ROOT), str(log2))
    poll_until(lambda: log2.exists() and log2.read_text().strip(), 30, "a second child's output")
    poll_until(lambda: not alive(pid), 30, "the second child to exit and be reaped")
    silent.close()


def test_the_apps_entry_points_run_as_with_python_dash_m(server: Path, tmp_path: Path) -> None:
    for entry, says in (("faust", "version Faust"), ("uvicorn", "Running uvicorn")):
        log = tmp_path / f"{entry}.log"
        forkserver.spawn(str(server), [entry, "--version"], {}, str(ROOT), str(log))
        poll_until(lambda log=log, says=says: log.exists() and says in log.read_text(), 30, f"{entry} --version")
