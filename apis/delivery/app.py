"""delivery's app: `uvicorn apis.delivery.app:app`."""

from __future__ import annotations

from apis.delivery.api import router
from apis.delivery.settings import DeliverySettings
from chassis.service import Service
from chassis.web import create_app

app = create_app(Service("delivery", DeliverySettings()), [router], prefix="/delivery")
