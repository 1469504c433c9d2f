"""notifications' app: `uvicorn apis.notifications.app:app`."""

from __future__ import annotations

from apis.notifications.api import router
from chassis.service import Service
from chassis.web import create_app

app = create_app(Service("notifications"), [router], prefix="/notifications")
