"""notifications' settings (CALORIES_* environment variables)."""

from __future__ import annotations

from chassis.service import ServiceSettings


class NotificationsSettings(ServiceSettings):
    # Live streams (GET /notifications/stream) of one process: all share one LISTEN connection, and
    # these caps bound what a user, or everyone together, can hold open; over either cap: 429.
    stream_max_per_user: int = 5
    stream_max_total: int = 500
