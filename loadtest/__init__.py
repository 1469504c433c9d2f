"""Load tests and benchmarks. They drive the local stack `make up` starts, so they run as its
development environment unless told otherwise (the chassis refuses to start without one)."""

import os

os.environ.setdefault("CALORIES_ENVIRONMENT", "development")
