"""delivery's app: `uvicorn apis.delivery.app:app`."""

from __future__ import annotations

from datetime import timedelta

from apis.delivery.api import router
from apis.delivery.models import early_events
from apis.delivery.settings import DeliverySettings
from chassis.retention import Retention
from chassis.service import Service
from chassis.web import create_app

settings = DeliverySettings()
# An early event whose cause never arrives would wait forever: pruned after its retention.
app = create_app(Service("delivery", settings), [router], prefix="/delivery",
                 retention=[Retention(early_events, "recorded_at",
                                      timedelta(seconds=settings.early_event_retention_seconds))])
