# One image for every InsureOps service; docker-compose.yml picks the process with
# `python -m services.<name>` (or `python -m shared.db.migrate <name> upgrade head`).
# Runtime dependencies only: the dev extras (embedded PostgreSQL, supervisor, pytest) are for `make`.

# The console, built once; the gateway serves its dist/ at `/`.
FROM node:20-slim AS console
WORKDIR /console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY console/ ./
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# libmagic: the documents service reads an upload's content type from its bytes (python-magic).
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libmagic1 \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, in their own layer, so a code change does not reinstall them.
# constraints.txt pins the dev packages too; as constraints they are simply not installed.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY shared/ shared/
COPY services/ services/
COPY devstack/ devstack/
COPY --from=console /console/dist/ console/dist/
ENV CONSOLE_DIR=/app/console/dist
RUN pip install -c constraints.txt . \
    && rm -rf build *.egg-info \
    && python -m compileall -q shared services devstack

# The processes run from /app (migrations are found next to the code), as an unprivileged user
# that cannot write the code.
RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home insureops \
    && mkdir -p /var/lib/insureops/audit /var/lib/insureops/documents && chown -R insureops:insureops /var/lib/insureops
USER insureops

EXPOSE 8000 8001 8002 8003 8004 8005 8006 8007 8008
