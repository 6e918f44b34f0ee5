# levelforge: one image for both roles, `levelforge orchestrator` (the default command) and
# `levelforge worker` (the stack's Worker task definition overrides the command).
#   docker build -t levelforge:0.1.0 .
#   docker run --rm -p 8000:8000 levelforge:0.1.0                  # Orchestrator
#   docker run --rm levelforge:0.1.0 worker --concurrency 2         # Worker
# See docs/aws.md for the stack that runs it on ECS Fargate.

# --- build: compilers for any compiled part of the package, the virtualenv to ship ---------
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/levelforge
WORKDIR /src
COPY . .
RUN /opt/levelforge/bin/pip install '.[aws]'

# --- runtime: the same slim Python, the built virtualenv, no compilers, not root --------------
FROM python:3.11-slim AS runtime
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin levelforge
COPY --from=build /opt/levelforge /opt/levelforge
COPY deploy/docker/healthcheck.py /app/healthcheck.py
ENV PATH=/opt/levelforge/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["python", "/app/healthcheck.py"]
ENTRYPOINT ["levelforge"]
CMD ["orchestrator", "--host", "0.0.0.0", "--port", "8000"]
