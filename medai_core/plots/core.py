"""Figure builders shared by every page: values in, plotly ``go.Figure`` out, nothing else."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray

__all__ = ["attribution_bar", "probability_chart", "saliency_overlay"]

_POSITIVE = "#c0392b"
_NEGATIVE = "#2471a3"


def probability_chart(
    probability: float,
    low: float,
    high: float,
    *,
    thresholds: Sequence[tuple[float, str]] = (),
    title: str = "Predicted probability",
) -> go.Figure:
    """A horizontal 0-1 scale with the probability as a point and its interval as an error bar.

    Args:
        probability: the point estimate in [0, 1].
        low: lower end of the interval in [0, 1].
        high: upper end of the interval in [0, 1].
        thresholds: (value, label) pairs drawn as dashed vertical lines, e.g. risk-band cut-offs.
        title: the figure title.
    """
    if not 0.0 <= low <= probability <= high <= 1.0:
        raise ValueError(f"expected 0 <= low <= probability <= high <= 1, got {low}, {probability}, {high}")
    fig = go.Figure(
        go.Scatter(
            x=[probability],
            y=[""],
            mode="markers",
            marker={"size": 16, "color": _POSITIVE},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [high - probability],
                "arrayminus": [probability - low],
            },
            name="probability",
            hovertemplate=f"{probability:.2f} (interval {low:.2f}-{high:.2f})<extra></extra>",
        )
    )
    for value, label in thresholds:
        fig.add_vline(x=value, line_dash="dash", line_color="grey", annotation_text=label, annotation_position="top")
    fig.update_layout(
        title=title,
        xaxis={"range": [0, 1], "title": "probability", "tickformat": ".0%"},
        height=190,
        margin={"l": 20, "r": 20, "t": 50, "b": 40},
        showlegend=False,
    )
    return fig


def saliency_overlay(
    image: NDArray[np.floating] | NDArray[np.integer],
    heatmap: NDArray[np.floating],
    *,
    opacity: float = 0.45,
    title: str = "Grad-CAM",
) -> go.Figure:
    """A greyscale image with a heatmap drawn over it.

    Args:
        image: (H, W) greyscale, uint8 0..255 or float in [0, 1].
        heatmap: (H, W) saliency in [0, 1], same size as ``image``.
        opacity: heatmap opacity in [0, 1].
        title: the figure title.
    """
    image = np.asarray(image)
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if image.ndim != 2 or heatmap.shape != image.shape:
        raise ValueError(f"image and heatmap must be the same 2D shape, got {image.shape} and {heatmap.shape}")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    grey = image.astype(np.float32)
    if grey.max() > 1.0:
        grey = grey / 255.0
    fig = go.Figure()
    fig.add_trace(go.Heatmap(z=grey, colorscale="gray", zmin=0, zmax=1, showscale=False, hoverinfo="skip"))
    fig.add_trace(
        go.Heatmap(
            z=heatmap,
            colorscale="Jet",
            zmin=0,
            zmax=1,
            opacity=opacity,
            colorbar={"title": "saliency", "thickness": 12},
            hovertemplate="x %{x}, y %{y}: %{z:.2f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    fig.update_layout(title=title, height=380, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def attribution_bar(
    names: Sequence[str],
    values: Sequence[float] | NDArray[np.floating],
    *,
    title: str = "Attributions",
    top_k: int | None = None,
    value_label: str = "contribution",
) -> go.Figure:
    """Signed horizontal bars, largest magnitude on top; positive red, negative blue.

    Args:
        names: feature names.
        values: signed attributions, one per name.
        title: the figure title.
        top_k: keep only the ``top_k`` largest magnitudes.
        value_label: the x-axis title.
    """
    values_arr = np.asarray(values, dtype=np.float64)
    if len(names) != values_arr.shape[0] or values_arr.ndim != 1:
        raise ValueError(f"got {len(names)} names for {values_arr.shape} values")
    order = np.argsort(-np.abs(values_arr), kind="stable")
    if top_k is not None:
        order = order[:top_k]
    order = order[::-1]
    fig = go.Figure(
        go.Bar(
            x=values_arr[order],
            y=[names[i] for i in order],
            orientation="h",
            marker_color=[_POSITIVE if values_arr[i] > 0 else _NEGATIVE for i in order],
            hovertemplate="%{y}: %{x:.3g}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title=value_label,
        height=max(220, 28 * len(order) + 90),
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
    )
    return fig
