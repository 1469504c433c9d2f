"""restaurants' app: `uvicorn apis.restaurants.app:app`."""

from __future__ import annotations

from datetime import timedelta

from apis.restaurants.api import router
from apis.restaurants.models import early_releases
from chassis.retention import Retention
from chassis.service import Service
from chassis.web import create_app

svc = Service("restaurants")
# A release whose reservation never arrives would wait forever: pruned after its retention.
app = create_app(svc, [router], prefix="/restaurants", retention=[
    Retention(early_releases, "recorded_at", timedelta(seconds=svc.settings.early_event_retention_seconds))])
