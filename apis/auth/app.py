"""auth's app: `uvicorn apis.auth.app:app`."""

from __future__ import annotations

from fastapi import FastAPI

from apis.auth import service
from apis.auth.api import router
from apis.auth.keys import LocalKeys, SigningKey
from apis.auth.settings import AuthSettings
from chassis.service import Service
from chassis.web import create_app


def build() -> FastAPI:
    settings = AuthSettings()
    svc = Service("auth", settings)
    key = SigningKey.load_or_create(settings.auth_signing_key_file, create=settings.environment == "development")
    app = create_app(svc, [router], prefix="/auth", keys=LocalKeys(key),
                     on_startup=lambda: service.ensure_admin(uow=svc.uow(), settings=settings))
    app.state.signing_key = key
    return app


app = build()
