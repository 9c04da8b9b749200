# MedAI Dashboard image (research use only): one image for both roles of compose.yaml,
#   - the Streamlit app (default command), N replicas behind the proxy, and
#   - the Ray head running `python -m medai_core serve` (Ray Serve deployments of the shipped models).
# Build: docker build -t medai-dashboard .      GPU hosts: see "Beyond one machine" in README.md.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=3 \
    XDG_DATA_HOME=/data \
    MEDAI_AUDIT_DB=/data/audit.sqlite

# libgomp1: OpenMP runtime of the TensorFlow and scipy wheels; curl: container health checks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt requirements-scale.txt ./
RUN pip install -r requirements.txt -r requirements-scale.txt

# The repository sits at the same path (/app) in every container, so Ray workers on any node import medai_core
# from the same place (scale_commands.init_ray puts it on PYTHONPATH).
COPY . .
RUN useradd --create-home --uid 10001 medai && mkdir -p /data && chown medai /data
USER medai
VOLUME ["/data"]

EXPOSE 8501 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD curl -fsS http://127.0.0.1:8501/_stcore/health || exit 1
CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true", \
     "--browser.gatherUsageStats=false"]
