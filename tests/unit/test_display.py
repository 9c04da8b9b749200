"""Display names, number formats, status words and the saliency-in-mask share."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from medai_core.ct.features import FEATURE_NAMES
from medai_core.ct.radiomics import RADIOMICS_NAMES
from medai_core.display import (
    CT_FEATURE_LABELS,
    Status,
    StatusLevel,
    display_name,
    format_metric,
    format_mm,
    format_mm3,
    format_percent,
    format_probability_interval,
    humanise,
    interval_width_words,
    slice_label,
)
from medai_core.explain.localisation import saliency_inside_fraction

SNAKE = re.compile(r"[a-z0-9]_[a-z0-9]")


def test_every_ct_stacker_input_has_a_clinical_name() -> None:
    for name in (*FEATURE_NAMES, "cnn_logit"):
        assert name in CT_FEATURE_LABELS
        assert not SNAKE.search(display_name(name)), display_name(name)
    assert display_name("log_area_px") == "Size: cross-section area"
    assert display_name("low_density_fraction") == "Ground-glass: share of the nodule"


def test_no_name_comes_back_in_snake_case() -> None:
    for name in (*RADIOMICS_NAMES, "log:shape_volume_mm3", "held_out_only", "rmse_30", "unknown_thing_x"):
        label = display_name(name)
        assert not SNAKE.search(label) and "_" not in label, label
    assert display_name("log:shape_volume_mm3") == "Shape: volume mm³ (log)"
    assert display_name("glcm_contrast").startswith("Texture (co-occurrence)")
    assert humanise("auc") == "AUC" and humanise("rmse_30") == "RMSE 30"


def test_number_formats_and_their_edges() -> None:
    assert format_percent(0.083) == "8 %" and format_percent(0.0834, 1) == "8.3 %"
    assert format_percent(None) == format_percent(float("nan")) == "not available"
    assert format_mm(12.04) == "12.0 mm" and format_mm(None) == "not available"
    assert format_mm3(1234.5) == "1,234 mm³" and format_mm3(float("inf")) == "not available"
    assert format_metric(0.8495) == "0.85" and format_metric(23.94) == "23.9" and format_metric(None) == "not available"
    assert format_probability_interval(0.08, 0.02, 0.22, "low") == "8 % (2-22 %), low"
    assert format_probability_interval(0.5, 0.4, 0.6) == "50 % (40-60 %)"
    assert [interval_width_words(0.1, 0.199), interval_width_words(0.1, 0.2), interval_width_words(0, 0.25)] == [
        "narrow",
        "moderate",
        "wide",
    ]


def test_slices_are_counted_from_one() -> None:
    assert slice_label(0, 15) == "slice 1 of 15" and slice_label(14, 15) == "slice 15 of 15"
    for bad in (-1, 15):
        with pytest.raises(ValueError, match="outside"):
            slice_label(bad, 15)


def test_status_words_follow_the_check() -> None:
    assert Status.from_check(True).label == "Met" and Status.from_check(True).level is StatusLevel.OK
    assert Status.from_check(False).label == "Not met" and Status.from_check(False).level is StatusLevel.PROBLEM
    assert Status.from_check(None).label == "No target"
    assert Status(StatusLevel.CAUTION, "x", "Raised").label == "Raised"


def test_saliency_share_inside_the_mask() -> None:
    mask = np.zeros((2, 4, 4), bool)
    mask[:, 1:3, 1:3] = True
    heat = np.zeros((2, 4, 4))
    heat[0, 0, 0] = 3.0  # outside, the hottest pixel
    heat[1, 1, 1] = 1.0  # inside
    located = saliency_inside_fraction(heat, mask)
    assert located.inside == pytest.approx(0.25) and not located.peak_inside and located.mostly_outside
    heat[1, 2, 2] = 5.0
    located = saliency_inside_fraction(heat, mask)
    assert located.inside == pytest.approx(6 / 9) and located.peak_inside and not located.mostly_outside
    empty = saliency_inside_fraction(np.zeros((4, 4)), mask[0])
    assert math.isnan(empty.inside) and not empty.mostly_outside
    with pytest.raises(ValueError, match="shape"):
        saliency_inside_fraction(heat, mask[0])
    with pytest.raises(ValueError, match="non-negative"):
        saliency_inside_fraction(-heat, mask)
