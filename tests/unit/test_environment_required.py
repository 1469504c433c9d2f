"""Defect: an unset environment silently meant "development" (auth then generated its own signing
key and created the admin with the placeholder password). Now it is a required setting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from chassis.settings import ServiceSettings


def test_unset_environment_refuses_to_start_naming_calories_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALORIES_ENVIRONMENT", raising=False)
    with pytest.raises(ValidationError, match="CALORIES_ENVIRONMENT is not set"):
        ServiceSettings()
    monkeypatch.setenv("CALORIES_ENVIRONMENT", " ")
    with pytest.raises(ValidationError, match="CALORIES_ENVIRONMENT is not set"):
        ServiceSettings()


def test_environment_is_read_from_calories_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALORIES_ENVIRONMENT", "production")
    assert ServiceSettings().environment == "production"
    assert ServiceSettings(environment="test").environment == "test"


def test_a_processor_refuses_to_start_without_it() -> None:
    env = {k: v for k, v in os.environ.items() if k != "CALORIES_ENVIRONMENT"}
    done = subprocess.run([sys.executable, "-c", "import stream_processors.users_profiles"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode != 0
    assert "CALORIES_ENVIRONMENT is not set" in done.stderr
