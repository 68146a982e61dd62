# syntax=docker/dockerfile:1.7
# sagemaker-llm-operator image: the wheel is built in a builder stage and installed
# into a slim runtime stage that has no build tools, no pip and runs as UID 65532.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
WORKDIR /src
RUN pip install --no-cache-dir build==1.6.1
COPY pyproject.toml README.md ./
COPY operator/ operator/
RUN python -m build --wheel --outdir /dist

FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="sagemaker-llm-operator" \
      org.opencontainers.image.description="Kubernetes operator reconciling LLMEndpoint resources into Amazon SageMaker endpoints and inference components" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/sagemaker-llm-operator/sagemaker-llm-operator" \
      org.opencontainers.image.url="https://github.com/sagemaker-llm-operator/sagemaker-llm-operator" \
      org.opencontainers.image.vendor="sagemaker-llm-operator" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11.14-slim-bookworm"

# Install the locked runtime dependencies (every version pinned and hash-checked:
# requirements/runtime.txt, refreshed by `make lock`), then the wheel alone on top
# of them (bytecode compiled now: the root filesystem is read-only at run time),
# check the set is complete, and remove pip, setuptools and wheel so the image has
# no installer left.
RUN --mount=type=bind,source=requirements/runtime.txt,target=/tmp/runtime.txt \
    --mount=type=bind,from=builder,source=/dist,target=/wheels \
    pip install --no-cache-dir --compile --require-hashes -r /tmp/runtime.txt \
    && pip install --no-cache-dir --compile --no-deps /wheels/*.whl \
    && pip check \
    && pip uninstall --yes pip setuptools wheel \
    && groupadd --system --gid 65532 llmop \
    && useradd --system --uid 65532 --gid 65532 --home-dir /tmp --no-create-home \
       --shell /usr/sbin/nologin llmop

# Bytecode was compiled at install time; at run time nothing is written next to it.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp

USER 65532:65532
WORKDIR /tmp
EXPOSE 8080 9090
ENTRYPOINT ["llm-operator", "run"]
