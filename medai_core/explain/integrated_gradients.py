"""Integrated gradients (Sundararajan, Taly & Yan, ICML 2017) for dense and sequence inputs.

Attributions ``a_i = (x_i - x'_i) * mean_k dF/dx_i (x' + alpha_k (x - x'))`` over ``steps`` points of the straight
path from the baseline ``x'`` to ``x``, integrated with the trapezoid rule. Completeness says
``sum(a) = F(x) - F(x')``; the returned ``delta`` is the difference, which shrinks as ``steps`` grows
(with the default 64 steps it is below ``COMPLETENESS_TOLERANCE`` of ``|F(x) - F(x')|`` for smooth models).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from medai_core.errors import ModelError

__all__ = [
    "Attribution",
    "COMPLETENESS_TOLERANCE",
    "DEFAULT_IG_STEPS",
    "integrated_gradients",
]

DEFAULT_IG_STEPS = 64
COMPLETENESS_TOLERANCE = 0.05
"""Relative completeness error accepted at the default step count: ``|delta| <= 0.05 * max(|F(x)-F(x')|, 1e-3)``."""


@dataclass(frozen=True)
class Attribution:
    """Integrated-gradients attributions of one input.

    Attributes:
        values: float32 attributions, same shape as the input.
        f_x: the explained output at the input.
        f_baseline: the explained output at the baseline.
        delta: ``values.sum() - (f_x - f_baseline)``, the completeness error.
        steps: number of path points used.
    """

    values: NDArray[np.float32]
    f_x: float
    f_baseline: float
    delta: float
    steps: int

    @property
    def relative_delta(self) -> float:
        """``|delta|`` relative to ``|f_x - f_baseline|`` (floored at 1e-3)."""
        return abs(self.delta) / max(abs(self.f_x - self.f_baseline), 1e-3)


def integrated_gradients(
    model: Callable[[Any], Any],
    x: NDArray[Any],
    *,
    baseline: NDArray[Any] | float | None = None,
    steps: int = DEFAULT_IG_STEPS,
    output_index: int | None = None,
) -> Attribution:
    """Integrated gradients of one scalar model output with respect to one input.

    Args:
        model: a Keras model or any TensorFlow-differentiable callable mapping a batch ``(B, *x.shape)`` to
            ``(B,)`` or ``(B, K)``.
        x: one input without batch axis, e.g. ``(F,)`` features or ``(T, F)`` a sequence window.
        baseline: the reference input: an array of ``x``'s shape, a scalar filled in, or None for zeros.
        steps: number of path intervals (>= 1); more steps, smaller completeness error.
        output_index: which of the K outputs to explain; required when K > 1.

    Returns:
        the attributions with their completeness error.

    Raises:
        ModelError: the output is not a scalar per example and no valid ``output_index`` is given.
    """
    import tensorflow as tf

    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    x = np.asarray(x, dtype=np.float32)
    if baseline is None:
        base = np.zeros_like(x)
    elif np.isscalar(baseline):
        base = np.full_like(x, float(baseline))  # type: ignore[arg-type]
    else:
        base = np.asarray(baseline, dtype=np.float32)
        if base.shape != x.shape:
            raise ValueError(f"baseline shape {base.shape} differs from input shape {x.shape}")
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32).reshape((-1,) + (1,) * x.ndim)
    path = tf.constant(base[None] + alphas * (x - base)[None])

    def scalar(outputs: Any) -> tf.Tensor:
        out = tf.cast(outputs, tf.float32)
        if out.shape.rank == 1:
            return out
        if out.shape.rank == 2 and out.shape[-1] == 1 and output_index in (None, 0):
            return out[:, 0]
        if output_index is None or not 0 <= output_index < int(out.shape[-1]):
            raise ModelError(f"model output has shape {tuple(out.shape)}; give output_index to pick one value")
        return out[:, output_index]

    with tf.GradientTape() as tape:
        tape.watch(path)
        values = scalar(model(path))
    grads = tape.gradient(values, path).numpy()
    trapezoid = (grads[:-1] + grads[1:]) / 2.0
    attributions = ((x - base) * trapezoid.mean(axis=0)).astype(np.float32)
    f = values.numpy()
    f_x, f_base = float(f[-1]), float(f[0])
    delta = float(attributions.sum()) - (f_x - f_base)
    return Attribution(attributions, f_x, f_base, delta, steps)
