"""The one plotly theme of every figure: fonts, text colour, grid, colourway and legend placement.

Text is #262730 on white (15:1), grid lines light grey, the colourway of distinguishable colours with at least 3:1
contrast on white (WCAG 2.1 non-text contrast). Pages draw figures with ``theme=None`` so this template, not
Streamlit's, styles them.
"""

from __future__ import annotations

# pandas is imported before plotly is used: plotly's validators look for pandas in ``sys.modules`` without importing
# it, so a figure built while another thread of the server is still importing pandas found the half-made module
# ("partially initialized module 'pandas' has no attribute 'Series'"). An import here waits for that thread.
import pandas  # noqa: F401
import plotly.graph_objects as go

__all__ = ["BENIGN", "COLOURWAY", "MALIGNANT", "MUTED", "TEMPLATE", "TEXT", "themed"]

TEXT = "#262730"
MUTED = "#5f6368"  # secondary text and reference lines: 6.1:1 on white
MALIGNANT = "#b03a2e"  # raises the risk / toward malignant: 6.0:1 on white
BENIGN = "#1f618d"  # lowers the risk / toward benign: 6.4:1 on white
COLOURWAY = ("#1f618d", "#b03a2e", "#1e8449", "#7d3c98", "#b9770e", "#5f6368")

TEMPLATE = go.layout.Template(
    layout={
        "font": {"family": '"Source Sans Pro", "Source Sans 3", Arial, sans-serif', "size": 13, "color": TEXT},
        "title": {"font": {"size": 16, "color": TEXT}, "x": 0.0, "xanchor": "left"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "colorway": list(COLOURWAY),
        "xaxis": {"gridcolor": "#e5e7eb", "linecolor": "#9ca3af", "zerolinecolor": "#9ca3af", "automargin": True},
        "yaxis": {"gridcolor": "#e5e7eb", "linecolor": "#9ca3af", "zerolinecolor": "#9ca3af", "automargin": True},
        "legend": {"bgcolor": "rgba(255,255,255,0.85)", "font": {"size": 12, "color": TEXT}},
        "hoverlabel": {"font": {"color": TEXT}, "bgcolor": "#ffffff"},
    }
)


def themed(fig: go.Figure) -> go.Figure:
    """``fig`` with the project's template (in place; returned for chaining)."""
    fig.update_layout(template=TEMPLATE)
    return fig
