"""users' app: `uvicorn apis.users.app:app`."""

from __future__ import annotations

from apis.users.api import router
from chassis.service import Service
from chassis.web import create_app

app = create_app(Service("users"), [router], prefix="/users")
