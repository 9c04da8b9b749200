"""Figure builders shared by every page: values in, plotly ``go.Figure`` out, nothing else."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray
from plotly.colors import sample_colorscale

from medai_core.plots.theme import BENIGN, MALIGNANT, MUTED, themed

__all__ = [
    "attribution_bar",
    "hline_label",
    "hline_shape",
    "hrect_shape",
    "probability_chart",
    "saliency_overlay",
    "sign_legend",
    "vline_label",
    "vline_shape",
]

_POSITIVE = MALIGNANT
_NEGATIVE = BENIGN
_SALIENCY_SCALE = "Inferno"
_SALIENCY_LUT = np.asarray(
    [
        [int(c) for c in rgb[4:-1].split(",")]
        for rgb in sample_colorscale(_SALIENCY_SCALE, list(np.linspace(0, 1, 256)), colortype="rgb")
    ],
    dtype=np.float32,
)  # (256, 3) RGB 0..255
_MASK_COLOUR = "#00e5ff"  # cyan: visible on grey CT and on every saliency colour


# Lines and bands across a plot, as the layout entries ``add_vline``/``add_hline``/``add_hrect`` make: passed in one
# ``update_layout`` call instead (each ``add_*`` call copies and revalidates the whole layout: 4-12 ms a line).
# tests/unit/test_plots.py checks each against what plotly's own ``add_*`` makes.


def vline_shape(x: float, line: dict[str, object]) -> dict[str, object]:
    """A vertical line at ``x`` across the plot's height (``fig.add_vline(x=x, line=line)``'s shape)."""
    return {"type": "line", "x0": x, "x1": x, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain", "line": line}


_VLINE_LABEL = {"top right": ("left", "top"), "top": ("center", "bottom")}  # position -> (xanchor, yanchor)


def vline_label(x: float, text: str, position: str = "top right") -> dict[str, object]:
    """The label ``fig.add_vline(x=x, annotation_text=text, annotation_position=position)`` adds."""
    if position not in _VLINE_LABEL:
        raise ValueError(f"vertical line label position must be one of {sorted(_VLINE_LABEL)}, got {position!r}")
    xanchor, yanchor = _VLINE_LABEL[position]
    return {
        "text": text,
        "showarrow": False,
        "x": x,
        "xanchor": xanchor,
        "xref": "x",
        "y": 1,
        "yanchor": yanchor,
        "yref": "y domain",
    }


def hline_shape(y: float, line: dict[str, object]) -> dict[str, object]:
    """A horizontal line at ``y`` across the plot's width (``fig.add_hline(y=y, line=line)``'s shape)."""
    return {"type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": y, "y1": y, "yref": "y", "line": line}


def hline_label(y: float, text: str) -> dict[str, object]:
    """The label ``fig.add_hline(y=y, annotation_text=text)`` adds (top right of the line)."""
    return {
        "text": text,
        "showarrow": False,
        "x": 1,
        "xanchor": "right",
        "xref": "x domain",
        "y": y,
        "yanchor": "bottom",
        "yref": "y",
    }


def hrect_shape(y0: float, y1: float, fillcolor: str) -> dict[str, object]:
    """A band from ``y0`` to ``y1`` across the plot's width, behind the data and without an outline
    (``fig.add_hrect(y0=y0, y1=y1, fillcolor=fillcolor, line_width=0, layer="below")``'s shape)."""
    return {
        "type": "rect",
        "x0": 0,
        "x1": 1,
        "xref": "x domain",
        "y0": y0,
        "y1": y1,
        "yref": "y",
        "fillcolor": fillcolor,
        "layer": "below",
        "line": {"width": 0},
    }


def sign_legend(
    fig: go.Figure, positive: str, negative: str, colours: tuple[str, str] = (_POSITIVE, _NEGATIVE)
) -> None:
    """Legend entries for a signed bar chart's two colours (the bars themselves carry no legend)."""
    for name, colour in ((positive, colours[0]), (negative, colours[1])):
        fig.add_trace(
            go.Bar(
                x=[None], y=[None], name=name, marker_color=colour, orientation="h", hoverinfo="skip", showlegend=True
            )
        )


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
    fig.update_layout(
        shapes=[vline_shape(value, {"dash": "dash", "color": MUTED}) for value, _ in thresholds],
        annotations=[vline_label(value, label, "top") for value, label in thresholds],
        title=title,
        xaxis={"range": [0, 1], "title": "probability (dot) with its interval (bar)", "tickformat": ".0%"},
        height=200,
        margin={"l": 20, "r": 20, "t": 60, "b": 45},
        showlegend=False,
    )
    return themed(fig)


def saliency_overlay(
    image: NDArray[np.floating] | NDArray[np.integer],
    heatmap: NDArray[np.floating],
    *,
    opacity: float = 0.45,
    mask: NDArray[np.bool_] | None = None,
    title: str = "Grad-CAM",
) -> go.Figure:
    """A greyscale image with a saliency heatmap blended over it and the object's mask outlined.

    Each pixel's heat colour is mixed into the image in proportion to its saliency (times ``opacity``), so cold
    regions show the image unchanged and hot ones are coloured: the image stays readable under the map.

    Args:
        image: (H, W) greyscale, uint8 0..255 or float in [0, 1] (the CT in the lung window).
        heatmap: (H, W) saliency in [0, 1], same size as ``image``.
        opacity: the heat colour's weight at saliency 1, in [0, 1].
        mask: (H, W) object mask (the nodule) drawn as a contour, or None.
        title: the figure title.
    """
    image = np.asarray(image)
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if image.ndim != 2 or heatmap.shape != image.shape:
        raise ValueError(f"image and heatmap must be the same 2D shape, got {image.shape} and {heatmap.shape}")
    if mask is not None and np.asarray(mask).shape != image.shape:
        raise ValueError(f"mask must be the image's 2D shape {image.shape}, got {np.asarray(mask).shape}")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    grey = image.astype(np.float32)
    if grey.max() > 1.0:
        grey = grey / 255.0
    heat = np.clip(np.nan_to_num(heatmap), 0.0, 1.0)
    colour = _SALIENCY_LUT[np.round(heat * 255).astype(np.int64)]  # (H, W, 3)
    weight = (opacity * heat)[..., None]
    blended = (1.0 - weight) * (grey[..., None] * 255.0) + weight * colour
    fig = go.Figure()
    fig.add_trace(
        go.Image(
            z=np.clip(blended, 0, 255).astype(np.uint8),
            customdata=heat,
            hovertemplate="x %{x}, y %{y}: saliency %{customdata:.2f}<extra></extra>",
            name="CT with saliency",
        )
    )
    if mask is not None and np.asarray(mask).any():
        fig.add_trace(
            go.Contour(
                z=np.asarray(mask).astype(np.uint8),
                contours={"start": 0.5, "end": 0.5, "coloring": "lines"},
                colorscale=[[0.0, _MASK_COLOUR], [1.0, _MASK_COLOUR]],
                line={"color": _MASK_COLOUR, "width": 2},
                showscale=False,
                hoverinfo="skip",
                name="nodule mask (outline)",
                showlegend=True,
            )
        )
    fig.add_trace(  # the colour key: an invisible point carrying the saliency scale
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            marker={
                "color": [0.0, 1.0],
                "colorscale": _SALIENCY_SCALE,
                "cmin": 0,
                "cmax": 1,
                "showscale": True,
                "colorbar": {"title": {"text": "saliency"}, "thickness": 12, "tickvals": [0, 0.5, 1]},
            },
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, showgrid=False)
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_layout(
        title=title,
        height=400,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.02, "yanchor": "top"},
    )
    return themed(fig)


def attribution_bar(
    names: Sequence[str],
    values: Sequence[float] | NDArray[np.floating],
    *,
    title: str = "Attributions",
    top_k: int | None = None,
    value_label: str = "contribution",
    legend: tuple[str, str] = ("raises", "lowers"),
    colours: tuple[str, str] = (_POSITIVE, _NEGATIVE),
) -> go.Figure:
    """Signed horizontal bars, largest magnitude on top; positive red, negative blue.

    Args:
        names: feature names.
        values: signed attributions, one per name.
        title: the figure title.
        top_k: keep only the ``top_k`` largest magnitudes.
        value_label: the x-axis title.
        legend: what a positive and a negative bar mean, shown as the colour legend.
        colours: (positive, negative) bar colours; red for what raises a risk by default.
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
            marker_color=[colours[0] if values_arr[i] > 0 else colours[1] for i in order],
            hovertemplate="%{y}: %{x:.3g}<extra></extra>",
            showlegend=False,
        )
    )
    sign_legend(fig, *legend, colours=colours)
    fig.update_layout(
        shapes=[vline_shape(0, {"color": MUTED, "width": 1})],
        title=title,
        xaxis_title=value_label,
        height=max(240, 28 * len(order) + 120),
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0, "xanchor": "right"},
    )
    return themed(fig)
