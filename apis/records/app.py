"""records' app: `uvicorn apis.records.app:app`."""

from __future__ import annotations

from apis.records.api import router
from chassis.service import Service
from chassis.web import create_app

app = create_app(Service("records"), [router], prefix="/records")
