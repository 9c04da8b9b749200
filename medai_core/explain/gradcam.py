"""Grad-CAM for 2D and 3D convolutional models (Selvaraju et al., ICCV 2017).

The explained score is a *logit*, not a probability, so saturated sigmoids still give a map: for a single sigmoid
output the score is the pre-activation of the last Dense layer (its negative for the "negative"/benign class); for a
softmax output it is the pre-softmax logit of the chosen class. The model is never modified: a separate gradient
model is built from its layers once, and reused for every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from medai_core.errors import ModelError

if TYPE_CHECKING:
    import keras

__all__ = ["GradCam", "Target", "make_grad_cam"]

Target = Literal["positive", "negative"] | int


def _last_conv_layer(model: keras.Model) -> keras.layers.Layer:
    import keras

    conv_types = (keras.layers.Conv2D, keras.layers.Conv3D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D)
    for layer in reversed(model.layers):
        if isinstance(layer, conv_types):
            return layer
    raise ModelError(f"model {model.name!r} has no 2D/3D convolution layer, so Grad-CAM cannot explain it")


@dataclass(frozen=True, eq=False)
class GradCam:
    """A Grad-CAM explainer bound to one model.

    Attributes:
        layer_name: the convolution layer whose activations are weighted.
        output_kind: ``"sigmoid"`` (one unit), ``"softmax"`` or ``"linear"``.
        spatial_rank: 2 or 3.
    """

    layer_name: str
    output_kind: str
    spatial_rank: int
    _gradient_model: Any
    _head_kernel: Any
    _head_bias: Any
    _step: Any

    def __call__(self, x: NDArray[Any], target: Target = "positive") -> NDArray[np.float32]:
        """Heatmap for one example.

        Args:
            x: one input without batch axis, (H, W, C) for 2D or (D, H, W, C) for 3D models.
            target: ``"positive"`` (the single sigmoid unit's logit, or class 1 of a softmax), ``"negative"``
                (the negated logit, or class 0), or a class index for softmax outputs.

        Returns:
            float32 heatmap in [0, 1] at input resolution: (H, W) or (D, H, W). All zeros when no location
            raises the score (ReLU of the weighted map is empty).
        """
        import tensorflow as tf

        x = np.asarray(x, dtype=np.float32)
        if x.ndim != self.spatial_rank + 1:
            raise ModelError(
                f"Grad-CAM input must have {self.spatial_rank + 1} axes (spatial + channels), got shape {x.shape}"
            )
        class_index, sign = self._resolve_target(target)
        cam = self._step(tf.constant(x[None]), tf.constant(class_index), tf.constant(sign, dtype=tf.float32))
        cam = np.asarray(cam, dtype=np.float32)[0]
        return _resize_to(cam, x.shape[:-1])

    def _resolve_target(self, target: Target) -> tuple[int, float]:
        if self.output_kind == "sigmoid" or self.output_kind == "linear":
            if target == "positive":
                return 0, 1.0
            if target == "negative":
                return 0, -1.0
            if isinstance(target, int) and target in (0, 1):
                return 0, 1.0 if target == 1 else -1.0
            raise ModelError(f"a single-output model takes target 'positive' or 'negative', got {target!r}")
        units = int(self._head_kernel.shape[-1])
        index = {"positive": 1, "negative": 0}.get(target, target) if isinstance(target, str) else target
        if not isinstance(index, int) or not 0 <= index < units:
            raise ModelError(f"class index must be in 0..{units - 1}, got {target!r}")
        return index, 1.0


def _resize_to(cam: NDArray[np.float32], shape: tuple[int, ...]) -> NDArray[np.float32]:
    from scipy.ndimage import zoom

    if cam.shape != shape:
        factors = [s / c for s, c in zip(shape, cam.shape, strict=True)]
        cam = zoom(cam, factors, order=1)
        cam = cam[tuple(slice(0, s) for s in shape)]
    cam = np.maximum(cam, 0.0)
    peak = float(cam.max())
    return (cam / peak).astype(np.float32) if peak > 0 else np.zeros(shape, dtype=np.float32)


def make_grad_cam(model: keras.Model, layer_name: str | None = None, head_name: str | None = None) -> GradCam:
    """Build a Grad-CAM explainer for ``model`` without modifying it.

    The head must be a Dense layer (sigmoid with one unit, softmax, or linear); its kernel and bias are read (not
    copied, not changed) to recompute the logit from the layer's input.

    Args:
        model: a functional or sequential Keras model with one image/volume input.
        layer_name: the convolution layer to explain; defaults to the last 2D/3D convolution.
        head_name: the Dense layer whose logit is explained; defaults to the model's last layer. Name one member's
            head (with that member's ``layer_name``) to explain one member of a stacked ensemble.

    Raises:
        ModelError: no convolution layer, or a head that is not a Dense layer.
    """
    import keras
    import tensorflow as tf

    conv = model.get_layer(layer_name) if layer_name else _last_conv_layer(model)
    head = model.get_layer(head_name) if head_name else model.layers[-1]
    if not isinstance(head, keras.layers.Dense):
        raise ModelError(f"Grad-CAM needs a Dense output layer to read logits from, found {type(head).__name__}")
    activation = keras.activations.serialize(head.activation)
    activation_name = activation if isinstance(activation, str) else str(activation.get("config", activation))
    units = int(head.units)
    if "sigmoid" in activation_name and units == 1:
        kind = "sigmoid"
    elif "softmax" in activation_name:
        kind = "softmax"
    elif "linear" in activation_name and units == 1:
        kind = "linear"
    else:
        raise ModelError(
            f"Grad-CAM supports a 1-unit sigmoid/linear or a softmax head, found {activation_name}/{units}"
        )
    spatial_rank = len(conv.output.shape) - 2
    gradient_model = keras.Model(inputs=model.inputs, outputs=[conv.output, head.input], name=f"{model.name}_gradcam")
    kernel, bias = head.kernel, head.bias

    @tf.function(reduce_retracing=True)
    def step(x: tf.Tensor, class_index: tf.Tensor, sign: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            activations, features = gradient_model(x, training=False)
            activations = tf.cast(activations, tf.float32)
            logits = tf.matmul(tf.cast(features, tf.float32), tf.cast(kernel, tf.float32))
            if bias is not None:
                logits = logits + tf.cast(bias, tf.float32)
            score = sign * tf.gather(logits, class_index, axis=-1)
        grads = tape.gradient(score, activations)
        axes = list(range(1, spatial_rank + 1))
        weights = tf.reduce_mean(grads, axis=axes, keepdims=True)
        return tf.nn.relu(tf.reduce_sum(weights * activations, axis=-1))

    return GradCam(conv.name, kind, spatial_rank, gradient_model, kernel, bias, step)
