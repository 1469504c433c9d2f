"""Locust against a bare endpoint (`loadtest/bare_app.py`): the same client as the journeys, no pauses.
`BARE_PATH` is `GET /ping` or `POST /items`."""

from __future__ import annotations

import os

from locust import FastHttpUser, task

METHOD, PATH = os.environ.get("BARE_PATH", "GET /ping").split()


class Hammer(FastHttpUser):
    @task
    def hit(self) -> None:
        self.client.request(METHOD, PATH, name=f"{METHOD} {PATH}")
