# One image recipe, two targets: `api` (the web process and the email worker, no torch) and `worker` (the
# engine worker: Celery + the ML engine).
# Build with docker compose (see docker-compose.yml). The repository is installed editable so that
# migrations/ and frontend/ are read from /srv/rtbf exactly as in a checkout.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
WORKDIR /srv/rtbf
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md alembic.ini ./
COPY app app
COPY workers workers
COPY modelfiles modelfiles
COPY bench bench
COPY migrations migrations
COPY frontend frontend

FROM base AS api
RUN pip install -e .
EXPOSE 8000
CMD ["sh", "-c", "rtbf db upgrade && rtbf serve --host 0.0.0.0 --port 8000"]

FROM base AS worker
# PyPI's Linux torch wheel is the CUDA build; pin it before the extra so pip never picks another.
ARG TORCH_SPEC="torch==2.13.0"
RUN pip install "$TORCH_SPEC" && pip install -e '.[worker,ner]'
# The engine worker; emails have their own worker (`rtbf worker --queues default`, the email-worker service).
CMD ["rtbf", "worker", "--queues", "gpu", "--pool", "prefork", "--concurrency", "1", "--max-tasks-per-child", "1"]
