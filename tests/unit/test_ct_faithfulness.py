"""The deletion curve on a model whose evidence is known: the score is the mean of a known region."""

from __future__ import annotations

import numpy as np
import pytest

from medai_core.explain.faithfulness import deletion_curve

REGION = (slice(4, 10), slice(4, 10))


def _score(batch: np.ndarray) -> np.ndarray:
    return batch[:, 4:10, 4:10, 0].mean(axis=(1, 2)) / 255.0


def test_true_map_beats_random_and_wrong_map_does_not() -> None:
    x = np.full((16, 16, 1), 255.0, np.float32)
    right = np.zeros((16, 16))
    right[REGION] = 1.0
    good = deletion_curve(_score, x, right, steps=8, random_orders=4)
    bad = deletion_curve(_score, x, 1.0 - right, steps=8, random_orders=4)
    assert good.faithful and good.auc_salient < good.auc_random - 0.1
    assert not bad.faithful and bad.auc_salient > bad.auc_random
    assert good.salient[0] == pytest.approx(1.0) and good.salient[-1] == pytest.approx(0.0)
    assert "points at what the model used" in good.reading
    assert "do not rely on it" in bad.reading
    assert good.fractions.shape == good.salient.shape == good.random.shape == (9,)


def test_candidates_limit_what_is_removed() -> None:
    x = np.full((16, 16, 1), 255.0, np.float32)
    saliency = np.random.default_rng(0).random((16, 16))
    candidates = np.zeros((16, 16), bool)
    candidates[0:2, 0:2] = True  # outside the region: removing them never changes the score
    curve = deletion_curve(_score, x, saliency, candidates=candidates)
    np.testing.assert_allclose(curve.salient, 1.0)


def test_shape_mismatch_and_empty_candidates() -> None:
    x = np.zeros((8, 8, 1), np.float32)
    with pytest.raises(ValueError, match="does not match"):
        deletion_curve(_score, x, np.zeros((4, 4)))
    with pytest.raises(ValueError, match="no candidate"):
        deletion_curve(_score, x, np.zeros((8, 8)), candidates=np.zeros((8, 8), bool))
