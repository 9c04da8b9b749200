"""Integrated gradients: completeness, exactness on linear models, baselines, sequence inputs."""

from __future__ import annotations

import numpy as np
import pytest

from medai_core.errors import ModelError
from medai_core.explain import COMPLETENESS_TOLERANCE, integrated_gradients


def _dense_model(n_outputs: int = 1):  # type: ignore[no-untyped-def]
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(16, activation="tanh")(inputs)
    hidden = keras.layers.Dense(8, activation="softplus")(hidden)
    return keras.Model(inputs, keras.layers.Dense(n_outputs, activation="sigmoid")(hidden))


def test_completeness_on_a_nonlinear_dense_model() -> None:
    model = _dense_model()
    x = np.array([1.5, -2.0, 0.3, 0.8, -0.4, 2.2], dtype=np.float32)
    result = integrated_gradients(model, x)
    f_x = float(model(x[None])[0, 0])
    f_zero = float(model(np.zeros((1, 6), dtype=np.float32))[0, 0])
    assert result.f_x == pytest.approx(f_x, abs=1e-6)
    assert result.f_baseline == pytest.approx(f_zero, abs=1e-6)
    assert abs(result.f_x - result.f_baseline) > 1e-3  # the test explains a real change
    assert result.values.sum() == pytest.approx(result.f_x - result.f_baseline, abs=1e-6 + abs(result.delta))
    assert result.relative_delta < COMPLETENESS_TOLERANCE


def test_linear_model_attributions_are_exact() -> None:
    import tensorflow as tf

    weights = np.array([2.0, -1.0, 0.5], dtype=np.float32)

    def linear(batch: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(batch * weights, axis=-1)

    x = np.array([1.0, 3.0, -2.0], dtype=np.float32)
    baseline = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    result = integrated_gradients(linear, x, baseline=baseline, steps=4)
    np.testing.assert_allclose(result.values, weights * (x - baseline), rtol=1e-6)
    assert abs(result.delta) < 1e-5


def test_scalar_baseline_and_sequence_input() -> None:
    import keras

    keras.utils.set_random_seed(5)
    inputs = keras.Input((24, 3))
    hidden = keras.layers.Conv1D(4, 3, activation="tanh")(inputs)
    hidden = keras.layers.GlobalAveragePooling1D()(hidden)
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    x = np.random.default_rng(1).normal(size=(24, 3)).astype(np.float32)
    result = integrated_gradients(model, x, baseline=0.25, output_index=1, steps=128)
    assert result.values.shape == (24, 3)
    assert result.relative_delta < COMPLETENESS_TOLERANCE
    with pytest.raises(ModelError, match="output_index"):
        integrated_gradients(model, x)


def test_bad_arguments() -> None:
    model = _dense_model()
    x = np.ones(6, dtype=np.float32)
    with pytest.raises(ValueError, match="steps"):
        integrated_gradients(model, x, steps=0)
    with pytest.raises(ValueError, match="baseline shape"):
        integrated_gradients(model, x, baseline=np.zeros(5))
