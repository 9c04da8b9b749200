"""Figures of the gene-panel page: survival curves per drug class with the ensemble band, and the attribution bar."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray

from medai_core.plots.core import attribution_bar, vline_label, vline_shape
from medai_core.plots.theme import BENIGN, MALIGNANT, MUTED, themed

__all__ = ["gene_attribution_bar", "survival_curves"]

_Values = NDArray[np.floating] | Sequence[float]
_COLOURS = ("#1f618d", "#b03a2e", "#1e8449", "#7d3c98")


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def survival_curves(
    months: NDArray[np.floating] | Sequence[float],
    curves: Sequence[tuple[str, _Values, _Values, _Values]],
    *,
    baseline: tuple[str, float] | None = None,
    title: str = "Predicted overall survival on immunotherapy",
) -> go.Figure:
    """Step curves of survival probability from month 0, one per drug class, each with its interval band.

    Args:
        months: (K,) months at which the probabilities are given (bin ends).
        curves: (label, probability, low, high), each (K,) in [0, 1].
        baseline: optional (label, 24-month survival) drawn as a marker at 24 months.
        title: figure title.
    """
    x = np.r_[0.0, np.asarray(months, dtype=np.float64)]
    fig = go.Figure()
    for i, (label, prob, low, high) in enumerate(curves):
        colour = _COLOURS[i % len(_COLOURS)]
        lo, hi, p = (np.r_[1.0, np.asarray(v, dtype=np.float64)] for v in (low, high, prob))
        fig.add_trace(
            go.Scatter(x=x, y=hi, mode="lines", line={"width": 0, "shape": "hv"}, showlegend=False, hoverinfo="skip")
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=lo,
                mode="lines",
                line={"width": 0, "shape": "hv"},
                fill="tonexty",
                fillcolor=_rgba(colour, 0.15),
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=p,
                mode="lines",
                name=label,
                line={"color": colour, "shape": "hv", "width": 2},
                hovertemplate=f"{label}<br>%{{x:.0f}} months: %{{y:.0%}}<extra></extra>",
            )
        )
    if baseline is not None:
        fig.add_trace(
            go.Scatter(
                x=[24.0],
                y=[baseline[1]],
                mode="markers",
                name=baseline[0],
                marker={"symbol": "diamond", "size": 11, "color": MUTED},
            )
        )
    fig.update_layout(
        shapes=[vline_shape(t, {"color": MUTED, "dash": "dot"}) for t in (12, 24)],
        annotations=[vline_label(t, f"{t} months") for t in (12, 24)],
        title=title,
        xaxis_title="months since start of immunotherapy",
        yaxis_title="probability alive",
        yaxis_range=[0, 1.02],
        height=420,
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return themed(fig)


def gene_attribution_bar(features: Sequence[tuple[str, float]], *, drug_class: str, top_k: int = 15) -> go.Figure:
    """What moved the predicted 24-month survival, in the headline's direction (survival, not risk of death).

    Args:
        features: ``(name, contribution to the 24-month risk of death in percentage points)`` as the analysis gives
            them; drawn negated, as contributions to 24-month survival (survival = 1 - risk, so exactly opposite).
        drug_class: the drug class explained.
        top_k: how many bars.
    """
    names = [f for f, _ in features] or ["(no model feature differs from the reference)"]
    values = [-v for _, v in features] or [0.0]
    return attribution_bar(
        names,
        values,
        title=f"What moved the predicted 24-month survival on {drug_class}",
        top_k=top_k,
        value_label="contribution to 24-month survival (percentage points)",
        legend=("raises survival", "lowers survival"),
        colours=(BENIGN, MALIGNANT),
    )
