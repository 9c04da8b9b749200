"""Shared figure builders: the figures hold the values they were given."""

from __future__ import annotations

import numpy as np
import pytest

from medai_core.plots import attribution_bar, probability_chart, saliency_overlay


def test_probability_chart_values() -> None:
    fig = probability_chart(0.4, 0.3, 0.55, thresholds=((0.2, "low"), (0.6, "high")))
    trace = fig.data[0]
    assert list(trace.x) == [0.4]
    assert trace.error_x.array[0] == pytest.approx(0.15) and trace.error_x.arrayminus[0] == pytest.approx(0.1)
    assert len(fig.layout.shapes) == 2
    with pytest.raises(ValueError, match="low <= probability"):
        probability_chart(0.4, 0.5, 0.6)


def test_saliency_overlay_layers() -> None:
    image = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
    heat = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    fig = saliency_overlay(image, heat, opacity=0.3)
    grey, overlay = fig.data
    assert np.asarray(grey.z).max() <= 1.0
    np.testing.assert_allclose(np.asarray(overlay.z), heat)
    assert overlay.opacity == 0.3
    with pytest.raises(ValueError, match="same 2D shape"):
        saliency_overlay(image, heat[:2])
    with pytest.raises(ValueError, match="opacity"):
        saliency_overlay(image, heat, opacity=2)


def test_attribution_bar_orders_by_magnitude_and_colours_by_sign() -> None:
    fig = attribution_bar(["a", "b", "c"], [0.1, -0.5, 0.3], top_k=2)
    bar = fig.data[0]
    assert list(bar.y) == ["c", "b"]  # largest magnitude drawn on top (last)
    assert list(bar.x) == [0.3, -0.5]
    assert bar.marker.color[0] != bar.marker.color[1]
