"""restaurants' app: `uvicorn apis.restaurants.app:app`."""

from __future__ import annotations

from apis.restaurants.api import router
from chassis.service import Service
from chassis.web import create_app

app = create_app(Service("restaurants"), [router], prefix="/restaurants")
