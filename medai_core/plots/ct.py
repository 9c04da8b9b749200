"""CT figure builders: values in, plotly ``go.Figure`` out, nothing else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray

from medai_core.explain.faithfulness import DeletionCurve
from medai_core.plots.core import sign_legend, vline_label, vline_shape
from medai_core.plots.theme import BENIGN, MALIGNANT, MUTED, TEMPLATE, TEXT, themed

__all__ = [
    "CLICK_GRID_MAX",
    "contributions_figure",
    "deletion_figure",
    "reference_histogram_figure",
    "slice_figure",
]

_BENIGN = BENIGN
_MALIGNANT = MALIGNANT
CLICK_GRID_MAX = 64  # clickable points per side on the slice view (about 4096 points)


def slice_figure(
    image_u8: NDArray[np.uint8],
    *,
    outline: NDArray[np.bool_] | None = None,
    seed_xy: tuple[int, int] | None = None,
    clickable: bool = True,
    title: str = "",
) -> go.Figure:
    """One windowed CT slice, with the segmentation outline and the seed, selectable to place a seed.

    Built for the browser's cost as well as the server's: the outline is sent as the mask's bounding box (plus a
    one-pixel empty border, so the contour closes where it would on the whole mask) placed at its pixel offset, and
    the click grid draws a single (invisible) marker: plotly.js still hovers, clicks and box-selects every grid
    point from its data, but no longer builds an SVG element per point (thousands per slice: most of the time the
    browser spent drawing this view).

    Args:
        image_u8: (H, W) windowed slice, 0..255.
        outline: (H, W) segmentation mask drawn as a contour, or None.
        seed_xy: (x, y) pixel of the seed, drawn as a cross, or None.
        clickable: overlay an invisible grid of points (at most ``CLICK_GRID_MAX`` per side) so that a box
            drawn around the nodule reports the pixel coordinates of the grid points inside it.
        title: the figure title.
    """
    image = np.asarray(image_u8)
    height, width = image.shape
    traces: list[Any] = [
        go.Heatmap(
            z=image,
            colorscale="gray",
            zmin=0,
            zmax=255,
            showscale=False,
            hovertemplate="x %{x}, y %{y}<extra></extra>",
        )
    ]
    if outline is not None and outline.any():
        rows = np.flatnonzero(outline.any(axis=1))
        cols = np.flatnonzero(outline.any(axis=0))
        top, left = max(int(rows[0]) - 1, 0), max(int(cols[0]) - 1, 0)
        bottom, right = min(int(rows[-1]) + 2, height), min(int(cols[-1]) + 2, width)
        traces.append(
            go.Contour(
                z=outline[top:bottom, left:right].astype(np.uint8),
                x0=left,
                dx=1,
                y0=top,
                dy=1,
                contours={"start": 0.5, "end": 0.5, "coloring": "lines"},
                colorscale=[[0.0, "#f1c40f"], [1.0, "#f1c40f"]],
                line={"color": "#f1c40f", "width": 2},
                showscale=False,
                hoverinfo="skip",
                name="nodule outline (segmentation)",
                showlegend=True,
            )
        )
    if clickable:
        step = max(1, int(np.ceil(max(height, width) / CLICK_GRID_MAX)))
        ys, xs = np.mgrid[step // 2 : height : step, step // 2 : width : step]
        traces.append(
            go.Scatter(
                x=xs.ravel(),
                y=ys.ravel(),
                mode="markers",
                marker={"size": max(4, 400 // CLICK_GRID_MAX), "opacity": 0.0, "maxdisplayed": 1},
                hovertemplate="x %{x}, y %{y}<extra>click to seed</extra>",
                name="seed grid",
                showlegend=False,
            )
        )
    if seed_xy is not None:
        traces.append(
            go.Scatter(
                x=[seed_xy[0]],
                y=[seed_xy[1]],
                mode="markers",
                marker={"symbol": "cross-thin", "size": 16, "line": {"width": 2, "color": "#e74c3c"}},
                hoverinfo="skip",
                name="nodule centre (seed)",
                showlegend=True,
            )
        )
    return go.Figure(
        data=traces,
        layout={
            "template": TEMPLATE,
            "title": title,
            "height": 520,
            "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
            "showlegend": True,
            "legend": {"orientation": "h", "y": -0.01, "yanchor": "top"},
            "dragmode": "select",
            "clickmode": "event+select",
            "xaxis": {"range": [-0.5, width - 0.5], "showticklabels": False, "showgrid": False},
            "yaxis": {
                "autorange": "reversed",
                "scaleanchor": "x",
                "range": [height - 0.5, -0.5],
                "showticklabels": False,
                "showgrid": False,
            },
        },
    )


def reference_histogram_figure(reference: Mapping[str, Any], probability: float) -> go.Figure:
    """Validation score histograms of benign and malignant nodules with this case marked ("score in context").

    Args:
        reference: ``{"edges": [K+1], "benign": [K], "malignant": [K], "source": str}``.
        probability: this case's probability.
    """
    edges = np.asarray(reference["edges"], dtype=float)
    centres = (edges[:-1] + edges[1:]) / 2
    width = float(np.diff(edges).mean())
    fig = go.Figure()
    for name, colour in (("benign", _BENIGN), ("malignant", _MALIGNANT)):
        counts = np.asarray(reference[name], dtype=float)
        fig.add_trace(
            go.Bar(
                x=centres,
                y=counts,
                width=width,
                name=f"{name} (n={int(counts.sum())})",
                marker_color=colour,
                opacity=0.6,
                hovertemplate=f"{name}: %{{y}} nodules at %{{x:.2f}}<extra></extra>",
            )
        )
    fig.update_layout(
        shapes=[vline_shape(probability, {"color": TEXT, "width": 3})],
        annotations=[vline_label(probability, "this nodule")],
        barmode="overlay",
        title="Score in context: validation nodules with known labels",
        xaxis={"range": [0, 1], "title": "calibrated probability", "tickformat": ".0%"},
        yaxis={"title": "nodules"},
        height=320,
        margin={"l": 20, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.3},
    )
    return themed(fig)


def deletion_figure(curve: DeletionCurve, *, score_label: str = "score") -> go.Figure:
    """The deletion curve: score as the most salient pixels are removed, against random removal."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=curve.fractions,
            y=curve.salient,
            mode="lines+markers",
            name=f"most salient first (area {curve.auc_salient:.2f})",
            line={"color": _MALIGNANT},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=curve.fractions,
            y=curve.random,
            mode="lines",
            name=f"random order (area {curve.auc_random:.2f})",
            line={"color": MUTED, "dash": "dash"},
        )
    )
    fig.update_layout(
        title="Faithfulness: deletion curve",
        xaxis={"title": "fraction of nodule pixels removed", "tickformat": ".0%"},
        yaxis={"title": score_label, "range": [0, 1]},
        height=320,
        margin={"l": 20, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.45, "yanchor": "top"},
    )
    return themed(fig)


def contributions_figure(contributions: Sequence[tuple[str, float, float]], *, top: int = 8) -> go.Figure:
    """Horizontal bars of the largest stacker contributions (log-odds), toward malignant to the right.

    Args:
        contributions: ``(display name, standardised value, contribution)`` sorted by absolute contribution.
        top: how many to show.
    """
    rows = list(contributions)[:top][::-1]
    fig = go.Figure(
        go.Bar(
            x=[c for _, _, c in rows],
            y=[n for n, _, _ in rows],
            orientation="h",
            marker_color=[_MALIGNANT if c > 0 else _BENIGN for _, _, c in rows],
            customdata=[[z] for _, z, _ in rows],
            hovertemplate="%{y}<br>%{customdata[0]:+.2f} SD from the training mean<br>"
            "contribution %{x:+.2f} log-odds<extra></extra>",
            showlegend=False,
        )
    )
    sign_legend(fig, "toward malignant", "toward benign")
    fig.update_layout(
        shapes=[vline_shape(0, {"color": TEXT, "width": 1})],
        title="What moved the probability: largest contributions",
        xaxis={"title": "contribution (log-odds): toward benign (left) / toward malignant (right)"},
        height=110 + 28 * max(len(rows), 1),
        margin={"l": 20, "r": 20, "t": 70, "b": 40},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0, "xanchor": "right"},
    )
    return themed(fig)
