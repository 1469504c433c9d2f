"""auth's settings (CALORIES_* environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import model_validator

from chassis.service import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER_PASSWORD = "admin-password"


class AuthSettings(ServiceSettings):
    admin_email: str = "admin@calories.local"
    admin_password: str = PLACEHOLDER_PASSWORD
    auth_signing_key_file: Path = ROOT / ".stack" / "secrets" / "auth-signing-key.pem"
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_days: int = 30
    login_window_seconds: int = 900
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 50
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")

    @model_validator(mode="after")
    def refuse_placeholders_outside_development(self) -> AuthSettings:
        if self.environment != "development" and self.admin_password == PLACEHOLDER_PASSWORD:
            raise ValueError("CALORIES_ADMIN_PASSWORD must be set outside development")
        return self
