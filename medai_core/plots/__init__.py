"""Pure figure builders: values in, plotly figures out. Domain builders live in ``plots/<domain>.py``."""

from __future__ import annotations

from medai_core.plots.core import attribution_bar, probability_chart, saliency_overlay

__all__ = ["attribution_bar", "probability_chart", "saliency_overlay"]
