"""auth's app: `uvicorn apis.auth.app:app`."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from apis.auth import service
from apis.auth.api import router
from apis.auth.keys import LocalKeys, SigningKey
from apis.auth.models import login_failures
from apis.auth.settings import AuthSettings
from chassis.retention import Retention
from chassis.service import Service
from chassis.web import create_app


def build() -> FastAPI:
    settings = AuthSettings()
    svc = Service("auth", settings)
    key = SigningKey.load_or_create(settings.auth_signing_key_file, create=settings.environment == "development")
    # Throttling attempts count only inside their windows: pruned well after the longest one.
    attempts_kept = 2 * timedelta(seconds=max(settings.login_window_seconds, settings.register_window_seconds,
                                              settings.login_delay_max_seconds))
    app = create_app(svc, [router], prefix="/auth", keys=LocalKeys(key),
                     on_startup=lambda: service.ensure_admin(uow=svc.uow(), settings=settings),
                     retention=[Retention(login_failures, "failed_at", attempts_kept)])
    app.state.signing_key = key
    return app


app = build()
