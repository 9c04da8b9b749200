"""Forecaster architectures that share one output layout (see :mod:`medai_core.glucose.forecast`).

Every candidate maps a window float32 (INPUT_STEPS, INPUT_CHANNELS) to float32 (OUTPUT_SIZE,) =
``[p10 (12), p50 (12), p90 (12), hypoglycaemia logits (3)]`` through the same quantile heads
(:func:`quantile_heads`: a linear skip from the flattened window to the median plus a learned correction, softplus
widths below and above it, so p10 <= p50 <= p90 by construction). They differ only in the trunk:

- ``mlp``: three dense layers over the flattened window (the 1.0.0 forecaster);
- ``tcn``: a temporal convolutional network (Bai, Kolter & Koltun 2018): causal dilated 1-D convolutions
  (dilations 1, 2, 4, 8; receptive field 61 steps > the 36-step window) with residual connections, read at
  the last step and pooled over time;
- an ensemble (:func:`average_models`): the mean of the members' raw outputs, saved as one Keras model.

Only standard Keras layers are used, so the saved ``model.keras`` loads without custom objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from medai_core.domains import GLUCOSE
from medai_core.glucose.forecast import HYPO_KEYS
from medai_core.glucose.prepare import HORIZON_STEPS, INPUT_CHANNELS, INPUT_STEPS

if TYPE_CHECKING:
    import keras

__all__ = ["ARCHITECTURES", "average_models", "build_mlp", "build_tcn", "quantile_heads"]


def quantile_heads(flat: Any, hidden: Any, prefix: str = "") -> Any:
    """The shared heads: ordered p10/p50/p90 of the change from the last reading and 3 hypoglycaemia logits.

    Args:
        flat: (batch, INPUT_STEPS * INPUT_CHANNELS) flattened window (the linear skip to the median).
        hidden: (batch, H) trunk features.
        prefix: layer-name prefix (unique names inside an ensemble).

    Returns:
        (batch, OUTPUT_SIZE) tensor ``[p10, p50, p90, logits]``.
    """
    from keras import layers

    median = layers.Add(name=f"{prefix}median")(
        [
            layers.Dense(HORIZON_STEPS, name=f"{prefix}median_linear")(flat),
            layers.Dense(HORIZON_STEPS, name=f"{prefix}median_mlp")(hidden),
        ]
    )
    lower_width = layers.Dense(HORIZON_STEPS, activation="softplus", name=f"{prefix}lower_width")(hidden)
    upper_width = layers.Dense(HORIZON_STEPS, activation="softplus", name=f"{prefix}upper_width")(hidden)
    p10 = layers.Subtract(name=f"{prefix}p10")([median, lower_width])
    p90 = layers.Add(name=f"{prefix}p90")([median, upper_width])
    hypo = layers.Dense(len(HYPO_KEYS), name=f"{prefix}hypo_logits")(hidden)
    return layers.Concatenate(name=f"{prefix}forecast")([p10, median, p90, hypo])


def build_mlp(hidden: int = 256, name: str = GLUCOSE.model_id) -> keras.Model:
    """The 1.0.0 forecaster: an MLP over the flattened window (about 150k parameters)."""
    import keras
    from keras import layers

    inputs = keras.Input((INPUT_STEPS, INPUT_CHANNELS), name="window")
    flat = layers.Flatten(name="flatten")(inputs)
    h = layers.Dense(hidden, activation="relu", name="dense_1")(flat)
    h = layers.Dense(hidden, activation="relu", name="dense_2")(h)
    h = layers.Dense(hidden // 2, activation="relu", name="dense_3")(h)
    return keras.Model(inputs, quantile_heads(flat, h), name=name)


def build_tcn(
    filters: int = 24, dilations: Sequence[int] = (1, 2, 4, 8), kernel: int = 3, name: str = "tcn"
) -> keras.Model:
    """A small temporal convolutional network with the shared heads (about 40k parameters).

    Each residual block: two causal dilated Conv1D (ReLU) and a 1x1 projection of the block's input when the
    widths differ. Features: the last time step and the mean over time, concatenated, then one dense layer.
    """
    import keras
    from keras import layers

    inputs = keras.Input((INPUT_STEPS, INPUT_CHANNELS), name="window")
    flat = layers.Flatten(name="flatten")(inputs)
    h = inputs
    for i, d in enumerate(dilations):
        y = layers.Conv1D(filters, kernel, padding="causal", dilation_rate=d, activation="relu", name=f"conv{i}a")(h)
        y = layers.Conv1D(filters, kernel, padding="causal", dilation_rate=d, activation="relu", name=f"conv{i}b")(y)
        skip = h if i > 0 else layers.Conv1D(filters, 1, name="project")(h)
        h = layers.Add(name=f"residual{i}")([skip, y])
    last = layers.Cropping1D((INPUT_STEPS - 1, 0), name="last_step")(h)
    features = layers.Concatenate(name="features")(
        [layers.Flatten(name="last_flat")(last), layers.GlobalAveragePooling1D(name="mean_over_time")(h)]
    )
    hidden = layers.Dense(128, activation="relu", name="dense_tcn")(features)
    return keras.Model(inputs, quantile_heads(flat, hidden), name=name)


def average_models(members: Sequence[keras.Model], name: str = GLUCOSE.model_id) -> keras.Model:
    """One Keras model whose output is the mean of the members' raw outputs (same layout, ordered quantiles)."""
    import keras
    from keras import layers

    inputs = keras.Input((INPUT_STEPS, INPUT_CHANNELS), name="window")
    outputs = [m(inputs) for m in members]
    return keras.Model(inputs, layers.Average(name="ensemble_mean")(outputs), name=name)


ARCHITECTURES: dict[str, Callable[..., keras.Model]] = {"mlp": build_mlp, "tcn": build_tcn}
"""Trunk builders by candidate name."""
