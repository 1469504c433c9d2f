# One image for every Calories process; the command chooses which (charts/calories, docs/deploy.md):
#   uvicorn apis.<service>.app:app --host 0.0.0.0 --port 8080
#   faust -A stream_processors.<name> worker -l info       (CALORIES_FAUST_WEB_PORT, CALORIES_FAUST_DATA_DIR)
#   python -m chassis.migrate <service>  |  python -m chassis.catalog sync
ARG PYTHON_IMAGE=python:3.11.14-slim-trixie

# Build stage: the pinned dependencies of pyproject.toml into a virtualenv (compilers stay here).
FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml ./
# Only the runtime dependencies (not the dev extra): this layer changes when they do.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > requirements.txt \
 && pip install -r requirements.txt

# Runtime stage: no compilers, no package manager caches, a non-root user.
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 calories \
 && useradd --system --uid 10001 --gid calories --home-dir /app --shell /usr/sbin/nologin calories \
 && mkdir -p /var/lib/calories/faust && chown -R 10001:10001 /var/lib/calories
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CALORIES_FAUST_DATA_DIR=/var/lib/calories/faust
WORKDIR /app
COPY --chown=10001:10001 chassis ./chassis
COPY --chown=10001:10001 apis ./apis
COPY --chown=10001:10001 stream_processors ./stream_processors
COPY --chown=10001:10001 connectors ./connectors
COPY --chown=10001:10001 schemas ./schemas
# The chart's init-container waits (database reachable, migrated to head, Kafka, registry).
COPY --chown=10001:10001 charts/calories/files/scripts/wait.py /opt/calories/scripts/wait.py
USER 10001
EXPOSE 8080 6066
CMD ["uvicorn", "apis.auth.app:app", "--host", "0.0.0.0", "--port", "8080"]
