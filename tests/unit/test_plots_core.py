"""Shared figure builders: the figures hold the values they were given."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from medai_core.plots import attribution_bar, probability_chart, saliency_overlay
from medai_core.plots.core import hline_label, hline_shape, hrect_shape, vline_label, vline_shape


def test_probability_chart_values() -> None:
    fig = probability_chart(0.4, 0.3, 0.55, thresholds=((0.2, "low"), (0.6, "high")))
    trace = fig.data[0]
    assert list(trace.x) == [0.4]
    assert trace.error_x.array[0] == pytest.approx(0.15) and trace.error_x.arrayminus[0] == pytest.approx(0.1)
    assert len(fig.layout.shapes) == 2
    with pytest.raises(ValueError, match="low <= probability"):
        probability_chart(0.4, 0.5, 0.6)


def test_saliency_overlay_blends_the_map_over_the_image_and_outlines_the_mask() -> None:
    image = np.full((4, 4), 128, dtype=np.uint8)
    heat = np.zeros((4, 4), dtype=np.float32)
    heat[0, 0] = 1.0
    mask = np.zeros((4, 4), bool)
    mask[1:3, 1:3] = True
    fig = saliency_overlay(image, heat, opacity=0.5, mask=mask)
    blended, outline, key = fig.data
    rgb = np.asarray(blended.z)
    assert rgb.shape == (4, 4, 3)
    assert (rgb[1:, 1:] == 128).all()  # no saliency: the CT shows unchanged
    assert not (rgb[0, 0] == 128).all()  # full saliency: half the heat colour
    np.testing.assert_array_equal(np.asarray(outline.z), mask.astype(np.uint8))
    assert key.marker.showscale and "saliency" in key.marker.colorbar.title.text
    assert len(saliency_overlay(image, heat).data) == 2  # no mask, no outline
    with pytest.raises(ValueError, match="same 2D shape"):
        saliency_overlay(image, heat[:2])
    with pytest.raises(ValueError, match="mask"):
        saliency_overlay(image, heat, mask=mask[:2])
    with pytest.raises(ValueError, match="opacity"):
        saliency_overlay(image, heat, opacity=2)


def test_attribution_bar_orders_by_magnitude_and_colours_by_sign() -> None:
    fig = attribution_bar(["a", "b", "c"], [0.1, -0.5, 0.3], top_k=2)
    bar = fig.data[0]
    assert list(bar.y) == ["c", "b"]  # largest magnitude drawn on top (last)
    assert list(bar.x) == [0.3, -0.5]
    assert bar.marker.color[0] != bar.marker.color[1]
    assert [t.name for t in fig.data[1:]] == ["raises", "lowers"]  # the colour legend


def test_time_in_ranges_labels_sit_beside_the_bar_in_order() -> None:
    from medai_core.plots.glucose import time_in_ranges_figure

    metrics = {"tbr_lt_54": 0.5, "tbr_54_69": 1.0, "tir_70_180": 70.0, "tar_181_250": 20.0, "tar_gt_250": 8.5}
    fig = time_in_ranges_figure(metrics, "mg/dL")
    assert [list(t.y) for t in fig.data] == [[0.5], [1.0], [70.0], [20.0], [8.5]]  # very low at the bottom
    labels = fig.layout.annotations
    assert [a.text.split("</b>")[0].removeprefix("<b>") for a in labels] == [
        "Very low",
        "Low",
        "In range",
        "High",
        "Very high",
    ]
    ys = [a.ay for a in labels]  # where the texts sit (the arrows point at the segments)
    assert all(b - a >= 8.9 for a, b in itertools.pairwise(ys))  # tiny ranges do not overlap
    assert all(a.ax > 0.25 and a.xanchor == "left" for a in labels)  # right of the bar (0.5 wide around 0)
    assert "70.0 %" in labels[2].text and "70-180 mg/dL" in labels[2].text


def test_gene_attributions_are_drawn_as_survival() -> None:
    from medai_core.plots.genomics import gene_attribution_bar

    fig = gene_attribution_bar([("TMB 20 mut/Mb", -4.0), ("STK11 mutated", 3.0)], drug_class="PD-1/PD-L1")
    bar = fig.data[0]
    assert dict(zip(bar.y, bar.x, strict=True)) == {"TMB 20 mut/Mb": 4.0, "STK11 mutated": -3.0}
    assert "survival" in fig.layout.title.text and "survival" in fig.layout.xaxis.title.text


@pytest.mark.parametrize(
    ("ours", "plotly_call"),
    [
        (
            lambda: ([vline_shape(0.3, {"dash": "dash", "color": "#555"})], [vline_label(0.3, "cut-off", "top")]),
            lambda f: f.add_vline(
                x=0.3, line_dash="dash", line_color="#555", annotation_text="cut-off", annotation_position="top"
            ),
        ),
        (
            lambda: ([vline_shape(0.4, {"color": "#111", "width": 3})], [vline_label(0.4, "this nodule")]),
            lambda f: f.add_vline(x=0.4, line_color="#111", line_width=3, annotation_text="this nodule"),
        ),
        (
            lambda: ([vline_shape(0, {"color": "#555", "width": 1})], []),
            lambda f: f.add_vline(x=0, line_color="#555", line_width=1),
        ),
        (
            lambda: ([hline_shape(70, {"dash": "dash", "color": "#a00"})], [hline_label(70, "low: 70 mg/dL")]),
            lambda f: f.add_hline(y=70, line_dash="dash", line_color="#a00", annotation_text="low: 70 mg/dL"),
        ),
        (
            lambda: ([hrect_shape(70, 180, "rgba(46, 204, 113, 0.12)")], []),
            lambda f: f.add_hrect(y0=70, y1=180, fillcolor="rgba(46, 204, 113, 0.12)", line_width=0, layer="below"),
        ),
    ],
)
def test_line_and_band_entries_are_what_plotly_add_calls_make(ours, plotly_call) -> None:
    import plotly.graph_objects as go

    drawn = go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))
    plotly_call(drawn)
    shapes, annotations = ours()
    direct = go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))
    direct.update_layout(shapes=shapes, annotations=annotations)
    assert direct.to_dict() == drawn.to_dict()


def test_vertical_line_label_refuses_a_position_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="position"):
        vline_label(0.5, "x", "bottom left")
