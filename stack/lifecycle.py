"""Starting and stopping many parts at once: each starts as soon as what it comes after is healthy;
stopping signals every part together, waits, and SIGKILLs stragglers after a bounded time."""

from __future__ import annotations

import signal
import threading
import time

from stack.parts import LOGS, STATE, Part, fail, log, port_open


def start_one(part: Part) -> str | None:
    """Start `part` and wait until it is healthy; an error message, or None."""
    t0 = time.monotonic()
    if (pid := part.pid()) and part.healthy():
        log(f"{part.name}: already running (pid {pid})")
        return None
    if pid:  # ours and alive, still starting: wait for it, never start a second copy
        log(f"{part.name}: running (pid {pid}), not healthy yet: waiting")
    elif foreign := [p for p in part.ports if port_open(p)]:
        return (f"{part.name}: something not started from {STATE} already answers on port {foreign[0]}; "
                "stop it or move ours with the CALORIES_*_PORT variables")
    else:
        log(f"{part.name}: starting")
        part.start()
    while not part.healthy():
        if part.pid() is None:
            return f"{part.name} exited during start-up; read {part.logfile}"
        if time.monotonic() - t0 > part.timeout:
            return f"{part.name} not healthy after {part.timeout:.0f}s; read {part.logfile}"
        time.sleep(0.25)
    log(f"{part.name}: healthy in {time.monotonic() - t0:.1f}s")
    return None


def start_all(parts: list[Part]) -> None:
    """Start every part at once, each as soon as the parts it comes `after` are healthy."""
    done = {p.name: threading.Event() for p in parts}
    errors: dict[str, str] = {}

    def run(part: Part) -> None:
        try:
            for dep in part.after:
                if dep in done:
                    done[dep].wait()
            failed = [d for d in part.after if d in errors]
            errors.update({part.name: f"{part.name}: not started, {failed[0]} failed"} if failed else {})
            if not failed and (error := start_one(part)):
                errors[part.name] = error
        except Exception as exc:
            errors[part.name] = f"{part.name}: {exc!r}"
        finally:
            done[part.name].set()

    threads = [threading.Thread(target=run, args=(p,), daemon=True) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        fail("; ".join(errors.values()), f"each message says what to look at (logs in {LOGS})")


def wait_healthy(parts: list[Part]) -> None:
    """Wait until every part is healthy, whoever starts it (`make up` runs the schemas' sync while
    `stack.py up` is still starting Connect and Prometheus); fail after a part's own timeout."""
    t0 = time.monotonic()
    while waiting := [p for p in parts if not p.healthy()]:
        if late := [p.name for p in waiting if time.monotonic() - t0 > p.timeout]:
            fail(f"not healthy in time: {', '.join(late)}", f"read their logs in {LOGS}")
        time.sleep(0.25)


def stop_all(parts: list[Part], sig: int | None = None) -> None:
    """Signal every running part at once (its `stop_signal`, or `sig`), wait for all, and SIGKILL
    each one still alive after its `grace` seconds."""
    running = [p for p in parts if p.pid() is not None]
    t0 = time.monotonic()
    for part in running:
        part.signal(sig or part.stop_signal)
    took: dict[str, float] = {}
    killed: set[str] = set()
    while waiting := [p for p in running if p.name not in took]:
        elapsed = time.monotonic() - t0
        for part in waiting:
            if part.pid() is None:
                took[part.name] = elapsed
            elif elapsed > part.grace + 5:  # not even SIGKILL helps (not ours?): give up on it
                took[part.name] = float("nan")
            elif elapsed > part.grace and part.name not in killed:
                log(f"{part.name}: still running {part.grace:.0f}s after the signal, SIGKILL")
                part.signal(signal.SIGKILL)
                killed.add(part.name)
        time.sleep(0.1)
    for part in parts:
        part.pidfile.unlink(missing_ok=True)
    if running:
        log(f"stopped in {time.monotonic() - t0:.1f}s: " + ", ".join(f"{n} {t:.1f}s" for n, t in took.items()))
