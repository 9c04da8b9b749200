"""Forecast decoding, evaluation metrics, the Clarke grid, the analysis with attributions, training end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medai_core.errors import ModelCardError
from medai_core.glucose.evaluation import clarke_zones, forecast_scores, hypo_scores, spaced_origins
from medai_core.glucose.forecast import (
    OUTPUT_SIZE,
    ForecastParams,
    decode_outputs,
    hypo_labels,
    params_from_artifacts,
)
from medai_core.glucose.prepare import HORIZON_STEPS, INPUT_STEPS
from medai_core.models import read_card


def _params() -> ForecastParams:
    coef = np.zeros((INPUT_STEPS, HORIZON_STEPS))
    coef[-1, :] = 1.0  # the linear baseline carries the last value forward
    return ForecastParams(
        margins_mg_dl=np.full(HORIZON_STEPS, 5.0),
        platt=np.tile([1.0, 0.0], (3, 1)),
        linear_coef=coef,
        linear_intercept=np.zeros(HORIZON_STEPS),
        hypo_baseline=np.tile([-0.05, 4.0], (3, 1)),
    )


@pytest.mark.parametrize(
    ("ref", "pred", "zone"),
    [
        (100, 100, "A"),
        (100, 119, "A"),
        (50, 65, "A"),
        (200, 50, "E"),
        (50, 200, "E"),
        (100, 250, "C"),
        (150, 25, "C"),
        (300, 150, "D"),
        (50, 120, "D"),
        (100, 150, "B"),
        (300, 200, "B"),
    ],
)
def test_clarke_zones(ref: float, pred: float, zone: str) -> None:
    assert clarke_zones(np.array([ref]), np.array([pred]))[0] == zone


def test_forecast_scores() -> None:
    y = np.tile(np.arange(100.0, 112.0), (4, 1))
    perfect = forecast_scores(y, y, y - 1, y + 1)
    assert perfect["rmse_avg"] == 0.0 and perfect["coverage_80"] == 1.0 and perfect["clarke_ab_percent"] == 100.0
    off = forecast_scores(y, y + 10.0)
    assert off["rmse_30"] == pytest.approx(10.0) and off["mae_60"] == pytest.approx(10.0)
    assert np.isnan(off["coverage_80"])


def test_hypo_labels_and_scores() -> None:
    y = np.full((3, 12), 120.0)
    y[0, 3] = 65.0  # < 70 within 30 min
    y[1, 10] = 50.0  # < 54 at 55 min
    labels = hypo_labels(y)
    np.testing.assert_array_equal(labels, [[1, 1, 0], [0, 1, 1], [0, 0, 0]])
    scores = hypo_scores(labels, labels * 0.9 + 0.05)
    assert scores["lt70_60min"]["auroc"] == 1.0
    assert scores["lt70_60min"]["brier"] == pytest.approx(0.0025)


def test_decode_orders_and_calibrates() -> None:
    raw = np.zeros((2, OUTPUT_SIZE), dtype=np.float32)
    raw[:, :12] = -0.4
    raw[:, 24:36] = 0.4
    raw[1, 36:] = 3.0
    batch = decode_outputs(raw, np.array([100.0, 200.0]), _params())
    np.testing.assert_allclose(batch.p50[:, 0], [100.0, 200.0])
    np.testing.assert_allclose(batch.p10[0], 100.0 - 10.0 - 5.0)
    np.testing.assert_allclose(batch.p90[1], 200.0 + 10.0 + 5.0)
    assert np.all(batch.p10 <= batch.p50) and np.all(batch.p50 <= batch.p90)
    assert batch.hypo[1, 0] == pytest.approx(1 / (1 + np.exp(-3.0)))


def test_params_round_trip_and_bad_artifacts() -> None:
    params = _params()
    back = params_from_artifacts(params.to_artifacts())
    np.testing.assert_allclose(back.linear_coef, params.linear_coef)
    with pytest.raises(ModelCardError, match="incomplete"):
        params_from_artifacts({})
    broken = params.to_artifacts() | {"conformal_margins_mg_dl": [1.0, 2.0]}
    with pytest.raises(ModelCardError, match="shape"):
        params_from_artifacts(broken)


def test_spaced_origins() -> None:
    assert spaced_origins(np.array([0, 1, 5, 6, 7, 13, 14])).tolist() == [0, 6, 13]


def test_shipped_card_beats_linear_baseline_held_out(repo_root: Path) -> None:
    card = read_card(repo_root / "models" / "glucose_forecast")
    assert card.headline.value < card.headline.baseline_value
    assert card.metrics["model"]["rmse_avg"] < card.metrics["linear_regression"]["rmse_avg"]
    assert card.metrics["model"]["rmse_avg"] < 25.0
    assert set(card.artifacts["split"]["test_patient_ids"]).isdisjoint(
        card.artifacts["split"]["validation_patient_ids"]
    )
