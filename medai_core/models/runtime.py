"""Where the models run: device detection, GPU memory growth, mixed precision on GPU only.

TensorFlow is imported here, lazily, so that importing :mod:`medai_core` stays fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from medai_core.config import DevicePolicy, get_settings

__all__ = ["DeviceInfo", "configure_runtime"]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass(frozen=True)
class DeviceInfo:
    """The device the models run on.

    Attributes:
        kind: ``"GPU"`` or ``"CPU"``.
        name: the GPU's name (e.g. ``"NVIDIA H200"``) or ``"CPU"``.
        tensorflow_version: the TensorFlow version in use.
        keras_version: the Keras version in use.
        mixed_precision: whether new models are built with ``mixed_float16`` (GPU only).
    """

    kind: str
    name: str
    tensorflow_version: str
    keras_version: str
    mixed_precision: bool

    @property
    def label(self) -> str:
        """One line for the sidebar, e.g. ``"GPU: NVIDIA H200"`` or ``"CPU"``."""
        return f"GPU: {self.name}" if self.kind == "GPU" else "CPU"


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Silence file descriptor 2 while TensorFlow's native code starts.

    Its C++ start-up lines ("Could not find cuda drivers", "failed call to cuInit") are written before its own log
    level applies; on a CPU host they are noise in front of the one-line messages the CLI promises. Python
    exceptions are unaffected: they are raised, not printed, inside this block.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@lru_cache(maxsize=4)
def configure_runtime(policy: DevicePolicy | None = None, *, mixed_precision: bool = False) -> DeviceInfo:
    """Configure TensorFlow once per process and report the device.

    Args:
        policy: ``auto`` (GPU when present), ``cpu`` (hide GPUs) or ``gpu`` (require one); defaults to
            ``MEDAI_DEVICE``.
        mixed_precision: set the global ``mixed_float16`` policy for models built afterwards (training);
            honoured only on a GPU, since it slows CPUs down.

    Raises:
        RuntimeError: ``policy="gpu"`` and TensorFlow sees no GPU.
    """
    with _native_stderr_silenced():
        import keras
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
    policy = policy or get_settings().device_policy
    if policy == "cpu" and gpus:
        with contextlib.suppress(RuntimeError):  # devices already initialised: keep what is visible
            tf.config.set_visible_devices([], "GPU")
        gpus = tf.config.get_visible_devices("GPU")
    if policy == "gpu" and not gpus:
        raise RuntimeError("MEDAI_DEVICE=gpu but TensorFlow sees no GPU (install tensorflow[and-cuda] on a CUDA host)")
    for gpu in gpus:
        with contextlib.suppress(RuntimeError):  # already initialised; growth must be set before first use
            tf.config.experimental.set_memory_growth(gpu, True)
    use_mixed = bool(gpus) and mixed_precision
    if use_mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return DeviceInfo(
            "GPU", str(details.get("device_name", gpus[0].name)), tf.__version__, keras.__version__, use_mixed
        )
    return DeviceInfo("CPU", "CPU", tf.__version__, keras.__version__, False)
