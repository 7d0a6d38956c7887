# The web and worker image (not the sandbox image: see sandbox/image/).
FROM python:3.11-slim
# Extra pip options, e.g. --extra-index-url of a CPU-only PyTorch wheel index (PyPI's torch is a CUDA build).
ARG PIP_EXTRA=""
WORKDIR /app
COPY pyproject.toml ./
COPY server ./server
COPY grader ./grader
COPY sandbox ./sandbox
COPY assignments ./assignments
COPY manage.py ./
RUN pip install --no-cache-dir "torch==2.13.0" $PIP_EXTRA \
    && pip install --no-cache-dir -e ".[postgres]"
