"""orders' app: `uvicorn apis.orders.app:app`."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily

from apis.orders import domain, service
from apis.orders.api import router
from apis.orders.models import history
from apis.orders.settings import OrderSettings
from chassis.retention import Retention
from chassis.service import Service
from chassis.web import create_app

svc = Service("orders", OrderSettings())


class SagaCollector:
    """Saga figures read from the orders table at scrape time: they stay right whatever process
    (API or saga worker) moved an order, and after any restart."""

    def collect(self):
        figures = service.saga_figures(uow=svc.uow())
        started = CounterMetricFamily("calories_sagas_started", "Orders accepted (sagas started).")
        started.add_metric([], sum(figures["by_status"].values()))
        finished = CounterMetricFamily("calories_sagas_finished", "Sagas ended, by outcome.", labels=["outcome"])
        for status in sorted(domain.TERMINAL):
            finished.add_metric([status], figures["by_status"].get(status, 0))
        in_flight = GaugeMetricFamily("calories_sagas_in_flight", "Orders not yet in a terminal state.",
                                      labels=["status"])
        for status in (domain.PENDING, domain.AWAITING_PAYMENT, domain.ACTIVE):
            in_flight.add_metric([status], figures["by_status"].get(status, 0))
        oldest = GaugeMetricFamily("calories_saga_oldest_open_age_seconds",
                                   "Age of the oldest PENDING or AWAITING_PAYMENT order.")
        oldest.add_metric([], figures["oldest_open_seconds"])
        compensated = CounterMetricFamily("calories_saga_compensations", "Sagas whose reservations were released.")
        compensated.add_metric([], figures["compensated"])
        return [started, finished, in_flight, oldest, compensated]


REGISTRY.register(SagaCollector())
# The saga view an order shows (its steps) is kept for a long time, then pruned like any history.
app = create_app(svc, [router], prefix="/orders", retention=[
    Retention(history, "at", timedelta(days=svc.settings.order_history_retention_days))])
