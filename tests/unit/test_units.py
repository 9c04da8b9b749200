"""The units module: conversion, the consensus bounds in each unit at every boundary, labels and formatting."""

from __future__ import annotations

import numpy as np
import pytest

from medai_core.units import (
    BAND_KEYS,
    CONSENSUS,
    MG_DL_PER_MMOL_L,
    SENSOR_LIMITS,
    band_counts,
    band_labels,
    check_unit,
    classify,
    format_glucose,
    from_mg_dl,
    to_mg_dl,
)


def test_conversion_round_trip() -> None:
    assert MG_DL_PER_MMOL_L == 18.016
    assert float(to_mg_dl(10.0, "mmol/L")) == pytest.approx(180.16)
    assert float(from_mg_dl(180.16, "mmol/L")) == pytest.approx(10.0)
    assert float(to_mg_dl(123.0, "mg/dL")) == 123.0
    values = np.array([2.2, 5.5, 22.2])
    np.testing.assert_allclose(from_mg_dl(to_mg_dl(values, "mmol/L"), "mmol/L"), values)


def test_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown glucose unit"):
        check_unit("mg/dl ")
    with pytest.raises(ValueError):
        to_mg_dl(5.0, "mmol")


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (39.0, "tbr_lt_54"),
        (53.0, "tbr_lt_54"),
        (53.99, "tbr_lt_54"),
        (54.0, "tbr_54_69"),
        (69.0, "tbr_54_69"),
        (69.99, "tbr_54_69"),
        (70.0, "tir_70_180"),
        (180.0, "tir_70_180"),
        (180.01, "tar_181_250"),
        (181.0, "tar_181_250"),
        (250.0, "tar_181_250"),
        (250.01, "tar_gt_250"),
        (251.0, "tar_gt_250"),
        (400.0, "tar_gt_250"),
    ],
)
def test_mg_dl_boundaries(value: float, band: str) -> None:
    assert BAND_KEYS[int(classify(np.array([value]), "mg/dL")[0])] == band


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (2.2, "tbr_lt_54"),
        (2.9, "tbr_lt_54"),
        (3.0, "tbr_54_69"),
        (3.8, "tbr_54_69"),
        (3.89, "tbr_54_69"),
        (3.9, "tir_70_180"),
        (7.0, "tir_70_180"),
        (10.0, "tir_70_180"),
        (10.01, "tar_181_250"),
        (10.1, "tar_181_250"),
        (13.9, "tar_181_250"),
        (13.91, "tar_gt_250"),
        (14.0, "tar_gt_250"),
        (22.2, "tar_gt_250"),
    ],
)
def test_mmol_l_boundaries(value: float, band: str) -> None:
    assert BAND_KEYS[int(classify(np.array([value]), "mmol/L")[0])] == band


def test_mmol_bounds_are_the_consensus_own_not_conversions() -> None:
    # 10.0 mmol/L is 180.16 mg/dL: above the mg/dL bound, yet in range in its own unit
    assert float(to_mg_dl(10.0, "mmol/L")) > CONSENSUS["mg/dL"].high
    assert band_counts(np.array([10.0]), "mmol/L")["tir_70_180"] == 1
    assert band_counts(np.array([13.9]), "mmol/L")["tar_181_250"] == 1


def test_band_counts_and_labels() -> None:
    counts = band_counts(np.array([2.5, 3.5, 7.0, 10.0, 12.0, 13.9, 20.0]), "mmol/L")
    assert counts == {"tbr_lt_54": 1, "tbr_54_69": 1, "tir_70_180": 2, "tar_181_250": 2, "tar_gt_250": 1}
    assert band_labels("mmol/L")["tir_70_180"] == "3.9-10.0 mmol/L"
    assert band_labels("mmol/L")["tar_181_250"] == "10.1-13.9 mmol/L"
    assert band_labels("mg/dL")["tbr_54_69"] == "54-69 mg/dL"


def test_sensor_limits_and_format() -> None:
    assert SENSOR_LIMITS["mg/dL"] == (40.0, 400.0)
    assert SENSOR_LIMITS["mmol/L"] == (2.2, 22.2)
    assert format_glucose(142.0, "mg/dL") == "142 mg/dL"
    assert format_glucose(142.0, "mmol/L") == "7.9 mmol/L"
    assert format_glucose(float("nan"), "mmol/L") == "-"
