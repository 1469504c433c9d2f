"""recommendations' app: `uvicorn apis.recommendations.app:app`."""

from __future__ import annotations

from apis.recommendations.api import router
from chassis.service import Service
from chassis.web import create_app

app = create_app(Service("recommendations"), [router], prefix="/recommendations")
