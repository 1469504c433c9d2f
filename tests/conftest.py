"""For every tier: the processes the tests build settings in (and the workers they start, which
inherit the environment) run in the development environment unless told otherwise; outside the
tests an unset CALORIES_ENVIRONMENT refuses to start (chassis/settings.py)."""

from __future__ import annotations

import os

os.environ.setdefault("CALORIES_ENVIRONMENT", "development")
