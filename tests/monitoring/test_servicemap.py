"""The committed service map (docs/service-map.md and .dot, drawn from the code) is up to date."""

from __future__ import annotations

from monitoring import servicemap


def test_committed_service_map_matches_the_code() -> None:
    model = servicemap.read_model()
    assert servicemap.MD.read_text() == servicemap.markdown(model), \
        "docs/service-map.md is out of date: run `python -m monitoring.servicemap`"
    assert servicemap.DOT.read_text() == servicemap.dot_map(model), \
        "docs/service-map.dot is out of date: run `python -m monitoring.servicemap`"
    assert servicemap.PNG.exists() and servicemap.PNG.stat().st_size > 10_000


def test_the_map_reads_what_the_code_says() -> None:
    model = servicemap.read_model()
    assert "OrderCreated" in model.publishes["orders"]
    assert {"DayPickedUp", "DayDelivered"} <= model.publishes["delivery"]  # class passed as an argument
    assert "OrderCreated" in model.consumes["restaurants_reservations"]["orders.order"]
    assert ("orders", "auth", "JWKS") in model.http
    assert ("AWAITING_PAYMENT", "OrderPaid", "ACTIVE") in model.transitions
    published = {e for events in model.publishes.values() for e in events}
    consumed = {e for topics in model.consumes.values() for events in topics.values() for e in events}
    assert consumed <= published, f"consumed but never published: {consumed - published}"
