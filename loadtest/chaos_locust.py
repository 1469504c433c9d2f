"""The load of `loadtest.chaos`: the journeys of `loadtest/locustfile.py`, unchanged, plus one TSV of
every response's status code (`statuses.tsv` in `LOADTEST_RUN_DIR`).

locust's own statistics count a request that the journey marked as fine (a 404 while the profile
is being made, a 409 while payments has not heard of the order) as a success and lose the code;
the chaos table needs the codes clients actually saw during each fault (a 503 is an answer, a 500
a defect, a 502 the gateway finding no service), so they are recorded here as they happen.

    .venv/bin/locust -f loadtest/chaos_locust.py --headless --host http://127.0.0.1:8000
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from locust import events

# The journeys and the shape, re-exported so that locust finds them in this locustfile.
from loadtest.locustfile import Courier, DayShape, Eater, Kitchen, Manager

__all__ = ["Courier", "DayShape", "Eater", "Kitchen", "Manager"]

_RUN_DIR = os.environ.get("LOADTEST_RUN_DIR")
# Line-buffered: the runner reads the file while locust is still writing it.
_STATUSES = (Path(_RUN_DIR) / "statuses.tsv").open("a", buffering=1) if _RUN_DIR else None


@events.request.add_listener
def _status(request_type: str, name: str, response_time: float, response: Any = None, **_: Any) -> None:
    if _STATUSES is None:
        return
    # 0: no HTTP answer at all (connection refused or reset, timeout).
    code = getattr(response, "status_code", 0) or 0
    # Tabs: some request names carry commas ("/orders [place, retried key]").
    _STATUSES.write(f"{time.time():.3f}\t{request_type}\t{name}\t{code}\t{response_time:.0f}\n")
