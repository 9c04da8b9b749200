"""The ensemble model's structure, save/load round trip, the calibration stacker and the binary metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medai_core.ct.evaluation import (
    binary_metrics,
    expected_calibration_error,
    reliability_table,
    sensitivity_at_specificity,
)
from medai_core.ct.features import FEATURE_NAMES
from medai_core.ct.scoring import Stacker, member_logits_for, scored_slices


@pytest.fixture(scope="module")
def tiny_members() -> list:
    import keras

    from medai_core.ct.train import build_member

    keras.utils.set_random_seed(3)
    members = [build_member(i) for i in range(3)]
    for member in members:  # non-trivial head weights so that members differ
        kernel, bias = member.get_layer(member.layers[-1].name).get_weights()
        member.layers[-1].set_weights([np.random.default_rng(len(kernel)).normal(size=kernel.shape), bias + 0.3])
    return members


def test_ensemble_reproduces_members_and_their_mean(tiny_members: list, tmp_path: Path) -> None:
    import keras

    from medai_core.ct.train import build_ensemble

    ensemble = build_ensemble(tiny_members)
    x = np.random.default_rng(0).uniform(0, 255, (4, 64, 64, 3)).astype(np.float32)
    out = np.asarray(ensemble(x, training=False))
    members = np.concatenate([np.asarray(m(x, training=False)) for m in tiny_members], axis=1)
    assert out.shape == (4, 4)
    np.testing.assert_allclose(out[:, 1:], members, atol=1e-4)
    np.testing.assert_allclose(out[:, 0], members.mean(axis=1), atol=1e-4)
    ensemble.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False, safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), out, atol=1e-6)


def test_ensemble_grad_cam_runs_on_the_concatenated_layer(tiny_members: list) -> None:
    from medai_core.ct.analysis import GRAD_CAM_HEAD, GRAD_CAM_LAYER
    from medai_core.ct.train import build_ensemble
    from medai_core.explain import make_grad_cam

    cam = make_grad_cam(build_ensemble(tiny_members), layer_name=GRAD_CAM_LAYER, head_name=GRAD_CAM_HEAD)
    heat = cam(np.random.default_rng(1).uniform(0, 255, (64, 64, 3)).astype(np.float32))
    assert heat.shape == (64, 64) and heat.min() >= 0.0 and heat.max() <= 1.0
    assert cam.output_kind == "linear"


def test_stacker_interval_brackets_the_probability() -> None:
    inputs = ("cnn_logit", FEATURE_NAMES[0])
    stacker = Stacker(inputs, (0.0, 1.0), (1.0, 2.0), (1.5, -0.5), 0.2)
    logits = np.array([[-1.0, 0.0, 2.0], [0.5, 0.5, 0.5]])
    features = np.zeros((2, len(FEATURE_NAMES)))
    p, low, high = stacker.with_interval(logits, features)
    assert np.all(low <= p) and np.all(p <= high)
    assert high[1] - low[1] == pytest.approx(0.0)  # identical members: no spread
    expected = 1 / (1 + np.exp(-(1.5 * 1 / 3 - 0.5 * (0 - 1) / 2 + 0.2)))
    assert p[0] == pytest.approx(expected)
    assert Stacker.from_artifact(stacker.to_artifact()) == stacker


def test_member_logits_average_scored_slices() -> None:
    volume = np.zeros((4, 64, 64), np.uint8)
    volume[0, 30:32, 30:32] = 200  # a thin cap: not scored
    volume[1:3, 24:40, 24:40] = 200
    volume[3, 28:36, 28:36] = 200  # area 64 < half of 256: not scored
    assert scored_slices(volume) == [1, 2]
    calls = []

    def predict(batch: np.ndarray) -> np.ndarray:
        calls.append(len(batch))
        return np.stack([batch[:, 32, 32, 1], -batch[:, 32, 32, 1]], axis=1)

    logits = member_logits_for([volume, volume[1:2]], predict)
    assert calls == [3]  # one batched call for all nodules
    np.testing.assert_allclose(logits, [[200, -200], [200, -200]])


def test_binary_metrics_known_values() -> None:
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    perfect = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    metrics = binary_metrics(labels, perfect)
    assert metrics["auc"] == 1.0 and metrics["sensitivity_at_90_specificity"] == 1.0
    assert metrics["n"] == 8
    assert metrics["brier"] == pytest.approx(np.mean((perfect - labels) ** 2), abs=1e-4)
    constant = np.full(8, 0.5)
    assert expected_calibration_error(labels, constant) == pytest.approx(0.0)
    assert expected_calibration_error(labels, np.full(8, 0.9)) == pytest.approx(0.4)
    table = reliability_table(labels, perfect)
    assert sum(row["n"] for row in table) == 8
    assert sensitivity_at_specificity(labels, 1 - perfect) == 0.0
    with pytest.raises(ValueError, match="at least one benign and one malignant"):
        binary_metrics(np.zeros(3), np.zeros(3))
