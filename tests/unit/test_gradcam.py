"""Grad-CAM on tiny 2D and 3D models whose decision depends on a known region.

Each input carries two channels: the image, and an indicator of the known region R. A 1x1 convolution makes two
feature maps: f0 = image inside R, f1 = image outside R. The head scores mean(f0) - mean(f1). An image with one bright
blob inside R and one outside must give a positive-class map that peaks inside R and a negative-class map that peaks
outside it. A map computed from the wrong layer, the wrong sign, or the probability instead of the logit fails.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from medai_core.errors import ModelError
from medai_core.explain import make_grad_cam

BIG = 10.0


def _region_model(rank: int, head: str, gain: float = 1.0) -> Any:
    import keras

    size = (12,) * rank
    conv_cls = keras.layers.Conv2D if rank == 2 else keras.layers.Conv3D
    pool_cls = keras.layers.GlobalAveragePooling2D if rank == 2 else keras.layers.GlobalAveragePooling3D
    inputs = keras.Input((*size, 2))
    conv = conv_cls(2, 1, activation="relu", name="features")
    features = conv(inputs)
    pooled = pool_cls()(features)
    units = 1 if head == "sigmoid" else 2
    dense = keras.layers.Dense(units, activation=head, name="head")
    outputs = dense(pooled)
    model = keras.Model(inputs, outputs)
    # f0 = relu(image + BIG*region - BIG): the image inside R; f1 = relu(image - BIG*region): the image outside R.
    kernel = np.zeros((*([1] * rank), 2, 2), dtype=np.float32)
    kernel[..., 0, 0], kernel[..., 1, 0] = 1.0, BIG
    kernel[..., 0, 1], kernel[..., 1, 1] = 1.0, -BIG
    conv.set_weights([kernel, np.array([-BIG, 0.0], dtype=np.float32)])
    if head == "sigmoid":
        dense.set_weights([np.array([[gain], [-gain]], dtype=np.float32), np.zeros(1, dtype=np.float32)])
    else:
        dense.set_weights([np.array([[-gain, gain], [gain, -gain]], dtype=np.float32), np.zeros(2, dtype=np.float32)])
    return model


def _case(rank: int) -> tuple[np.ndarray, tuple[slice, ...], tuple[slice, ...]]:
    size = (12,) * rank
    image = np.zeros(size, dtype=np.float32)
    region = np.zeros(size, dtype=np.float32)
    inside = tuple(slice(1, 5) for _ in range(rank))
    outside = tuple(slice(7, 11) for _ in range(rank))
    region[inside] = 1.0
    image[inside] = 2.0  # brighter inside, so the positive class wins
    image[outside] = 1.0
    return np.stack([image, region], axis=-1), inside, outside


def _peak_in(heatmap: np.ndarray, where: tuple[slice, ...]) -> bool:
    peak = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
    return all(s.start <= p < s.stop for p, s in zip(peak, where, strict=True))


@pytest.mark.parametrize("rank", [2, 3])
@pytest.mark.parametrize("head", ["sigmoid", "softmax"])
def test_heatmap_peaks_in_the_region_that_decides(rank: int, head: str) -> None:
    model = _region_model(rank, head)
    x, inside, outside = _case(rank)
    weights_before = [w.copy() for w in model.get_weights()]
    output_before = model.predict(x[None], verbose=0)
    n_layers = len(model.layers)

    cam = make_grad_cam(model)
    positive = cam(x, "positive")
    negative = cam(x, "negative")

    assert positive.shape == x.shape[:-1] and positive.dtype == np.float32
    assert positive.min() >= 0.0 and positive.max() == pytest.approx(1.0)
    assert _peak_in(positive, inside)
    assert _peak_in(negative, outside)
    assert positive[outside].max() < 0.5 and negative[inside].max() < 0.5
    for before, after in zip(weights_before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(output_before, model.predict(x[None], verbose=0))
    assert len(model.layers) == n_layers


def test_saturated_sigmoid_still_explained_through_the_logit() -> None:
    model = _region_model(2, "sigmoid", gain=2000.0)
    x, inside, _ = _case(2)
    assert float(model.predict(x[None], verbose=0)[0, 0]) == 1.0  # the probability's gradient is exactly zero
    heatmap = make_grad_cam(model)(x, "positive")
    assert heatmap.max() == pytest.approx(1.0)
    assert _peak_in(heatmap, inside)


def test_softmax_class_index_and_bad_targets() -> None:
    model = _region_model(2, "softmax")
    x, inside, outside = _case(2)
    cam = make_grad_cam(model)
    assert _peak_in(cam(x, 1), inside)
    assert _peak_in(cam(x, 0), outside)
    with pytest.raises(ModelError, match="class index"):
        cam(x, 5)
    with pytest.raises(ModelError, match="axes"):
        cam(x[..., 0], 1)


def test_model_without_convolution_is_refused() -> None:
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
    with pytest.raises(ModelError, match="no 2D/3D convolution"):
        make_grad_cam(model)
