#!/usr/bin/env bash
# Prove the GPU path in one command (under 5 minutes): bash benchmarks/gpu_check.sh [gpu_check.py options]
#
# Where nvidia-smi sees a GPU, installs the CUDA build of the TensorFlow version already installed
# (pip install "tensorflow[and-cuda]==<that version>", only when TensorFlow does not see the GPU yet), then runs
# benchmarks/gpu_check.py: device placement per model, max |GPU - CPU| on the same batch, warm latencies and batch
# throughput. Without a GPU it says so and runs the CPU half. Set GPU_CHECK_NO_INSTALL=1 to skip the install.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "GPU present:"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    sees_gpu=$("$PYTHON" -c 'import os; os.environ["TF_CPP_MIN_LOG_LEVEL"]="3"
import tensorflow as tf; print(int(bool(tf.config.list_physical_devices("GPU"))))' 2>/dev/null || echo 0)
    if [ "$sees_gpu" != "1" ] && [ -z "${GPU_CHECK_NO_INSTALL:-}" ]; then
        version=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("tensorflow"))')
        echo "Installing the CUDA build: tensorflow[and-cuda]==$version"
        timeout 240 "$PYTHON" -m pip install --quiet "tensorflow[and-cuda]==$version"
    fi
else
    echo "No GPU on this machine (nvidia-smi finds none): running the CPU half only."
fi
exec "$PYTHON" benchmarks/gpu_check.py "$@"
