"""Locust for `loadtest.bench_write`: POST one diary entry per request, no pauses. `WRITE_PATH` is the
path, `WRITE_TOKEN` an access token (records needs one; the bare endpoint ignores it)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from locust import FastHttpUser, task

PATH = os.environ.get("WRITE_PATH", "/entries")
HEADERS = {"Authorization": f"Bearer {os.environ['WRITE_TOKEN']}"} if os.environ.get("WRITE_TOKEN") else {}


class Writer(FastHttpUser):
    @task
    def write(self) -> None:
        body = {"eaten_at": datetime.now(UTC).isoformat(), "meal": "lunch", "text": "Bench soup", "calories": 1}
        self.client.post(PATH, json=body, headers=HEADERS, name=f"POST {PATH}")
