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
    # Failed logins slow their client address, never lock an account: after `login_free_failures` failures
    # in the window, each attempt from that address waits login_delay_base_seconds * 2 ** (failures - free)
    # after the last failure (at most login_delay_max_seconds); 429 with Retry-After until then.
    login_window_seconds: int = 900
    login_free_failures: int = 3
    login_delay_base_seconds: float = 1.0
    login_delay_max_seconds: float = 900.0
    # Registrations (an argon2 hash each) per client address in a sliding window; 429 with Retry-After beyond.
    register_window_seconds: int = 600
    register_max_per_address: int = 20
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")

    @model_validator(mode="after")
    def refuse_placeholders_outside_development(self) -> AuthSettings:
        if self.environment != "development" and self.admin_password == PLACEHOLDER_PASSWORD:
            raise ValueError("CALORIES_ADMIN_PASSWORD must be set outside development")
        return self
