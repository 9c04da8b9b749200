"""Where the models run: device detection, GPU memory growth, mixed precision on GPU only.

TensorFlow is imported here, lazily, so that importing :mod:`medai_core` stays fast.
"""

from __future__ import annotations

import contextlib
import os
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
    import keras
    import tensorflow as tf

    policy = policy or get_settings().device_policy
    gpus = tf.config.list_physical_devices("GPU")
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
