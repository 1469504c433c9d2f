"""payments' app: `uvicorn apis.payments.app:app`."""

from __future__ import annotations

from apis.payments.api import router
from chassis.service import Service
from chassis.web import create_app

app = create_app(Service("payments"), [router], prefix="/payments")
