"""Glucose figures: trace with target band, AGP percentile day, daily profiles, time in ranges, forecast fan,
attribution strip and Clarke error grid. Values come in mg/dL; ``unit`` ("mg/dL" or "mmol/L") sets what is drawn.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray
from plotly.subplots import make_subplots

from medai_core.plots.core import hline_label, hline_shape, hrect_shape, sign_legend
from medai_core.plots.theme import MALIGNANT, MUTED, TEXT, themed
from medai_core.units import BAND_KEYS, CONSENSUS, SENSOR_LIMITS, band_labels, from_mg_dl

__all__ = [
    "agp_figure",
    "attribution_strip",
    "clarke_grid_figure",
    "daily_profiles_figure",
    "forecast_fan_figure",
    "time_in_ranges_figure",
    "trace_figure",
]

_BAND_COLOUR = "rgba(46, 204, 113, 0.12)"
_MEDIAN = "#1f4e79"
_RANGE_COLOURS = {  # the AGP report's colours: orange very high, yellow high, green in range, red low, dark red
    "tar_gt_250": "#e67e22",
    "tar_181_250": "#f5c242",
    "tir_70_180": "#2e9e4f",
    "tbr_54_69": "#e74c3c",
    "tbr_lt_54": "#922b21",
}
_RANGE_NAMES = {
    "tar_gt_250": "Very high",
    "tar_181_250": "High",
    "tir_70_180": "In range",
    "tbr_54_69": "Low",
    "tbr_lt_54": "Very low",
}
_LABEL_GAP = 9.0  # minimum distance between two range labels beside the bar (percent of the bar's height)


def _axis(unit: str) -> str:
    return f"glucose ({unit})"


def _band(unit: str) -> dict[str, object]:
    """The shaded target range (70-180 mg/dL in ``unit``), a layout shape."""
    bounds = CONSENSUS[unit]
    return hrect_shape(bounds.low, bounds.high, _BAND_COLOUR)


def _y_range(unit: str, ceiling_mg_dl: float | None = None) -> list[float]:
    """The sensor's range in ``unit`` (to ``ceiling_mg_dl`` where its sensor reads above the common 400 mg/dL)."""
    low, high = (float(v) for v in SENSOR_LIMITS[unit])
    if ceiling_mg_dl is not None:
        high = max(high, float(from_mg_dl(ceiling_mg_dl, unit)))
    return [low, high]


def trace_figure(
    times: NDArray[np.datetime64],
    glucose_mg_dl: NDArray[np.floating],
    unit: str,
    *,
    ceiling_mg_dl: float | None = None,
) -> go.Figure:
    """The whole trace on the 5-minute grid (gaps stay gaps) over the 70-180 mg/dL target band, the y axis up to
    the sensor's ceiling ``ceiling_mg_dl`` (None: 400 mg/dL).

    Drawn as SVG (``Scatter``), not WebGL: a few thousand points are quick in SVG, and a WebGL plot costs the
    browser several times more to draw (far more without a GPU). Times on a regular grid are sent as the first
    time and the step (``x0``/``dx``, on a date axis), not one text timestamp per reading: the same points, a third
    of the bytes.
    """
    x = np.asarray(times)
    steps = np.diff(x)
    if x.size >= 2 and np.issubdtype(x.dtype, np.datetime64) and (steps == steps[0]).all() and steps[0] > 0:
        where: dict[str, object] = {
            "x0": np.datetime_as_string(x[0], unit="ms"),
            "dx": float(steps[0] / np.timedelta64(1, "ms")),
        }
    else:
        where = {"x": x}
    fig = go.Figure(
        go.Scatter(
            **where,
            y=from_mg_dl(glucose_mg_dl, unit),
            mode="lines",
            line={"color": _MEDIAN, "width": 1},
            connectgaps=False,
            name="glucose",
        )
    )
    fig.update_xaxes(type="date")
    fig.update_layout(
        shapes=[_band(unit)],
        title="CGM trace (target range shaded)",
        yaxis={"title": _axis(unit), "range": _y_range(unit, ceiling_mg_dl)},
        height=300,
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
        showlegend=False,
    )
    return themed(fig)


def agp_figure(bin_minutes: NDArray[np.floating], percentiles_mg_dl: NDArray[np.floating], unit: str) -> go.Figure:
    """The AGP percentile day: 5-95 and 25-75 % bands and the median by time of day.

    Args:
        bin_minutes: (B,) bin starts in minutes after midnight.
        percentiles_mg_dl: (5, B) 5/25/50/75/95th percentiles in mg/dL.
        unit: display unit.
    """
    hours = np.asarray(bin_minutes, dtype=np.float64) / 60.0
    p = from_mg_dl(percentiles_mg_dl, unit)
    fig = go.Figure()
    for lo, hi, colour, name in (
        (0, 4, "rgba(31, 78, 121, 0.15)", "5-95 %"),
        (1, 3, "rgba(31, 78, 121, 0.35)", "25-75 %"),
    ):
        fig.add_trace(go.Scatter(x=hours, y=p[hi], mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"))
        fig.add_trace(
            go.Scatter(x=hours, y=p[lo], mode="lines", line={"width": 0}, fill="tonexty", fillcolor=colour, name=name)
        )
    fig.add_trace(go.Scatter(x=hours, y=p[2], mode="lines", line={"color": _MEDIAN, "width": 2.5}, name="median"))
    fig.update_layout(
        shapes=[_band(unit)],
        title="Ambulatory glucose profile (percentiles by time of day)",
        xaxis={"title": "time of day (h)", "range": [0, 24], "dtick": 3},
        yaxis={"title": _axis(unit), "range": _y_range(unit)},
        height=360,
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
    )
    return themed(fig)


@functools.lru_cache(maxsize=16)
def _day_grid(n: int) -> str:
    """The layout (JSON) of ``make_subplots`` for ``n`` day panels, 7 per row, y axes shared along each row, each
    panel titled (titles to be filled in): the same for every figure with ``n`` days, so made once."""
    rows = max(1, -(-n // 7))
    grid = make_subplots(
        rows=rows,
        cols=7,
        subplot_titles=[" "] * n,  # placeholders (plotly leaves out empty titles), replaced by the dates
        shared_yaxes=True,
        horizontal_spacing=0.01,
        vertical_spacing=0.12,
    )
    return json.dumps(grid.to_plotly_json()["layout"])


def daily_profiles_figure(
    day_labels: Sequence[str], daily_mg_dl: NDArray[np.floating], unit: str, *, max_days: int = 14
) -> go.Figure:
    """Daily profiles: one small panel per day (the last ``max_days`` days), 7 per row, target band shaded."""
    labels = list(day_labels)[-max_days:]
    daily = from_mg_dl(np.asarray(daily_mg_dl)[-max_days:], unit)
    n = len(labels)
    rows = max(1, -(-n // 7))
    hours = np.arange(daily.shape[1] if n else 288) * 5 / 60.0
    low, high = CONSENSUS[unit].low, CONSENSUS[unit].high
    y_range = _y_range(unit)
    # The figure is assembled as one layout and one list of traces: the same figure as make_subplots with
    # add_trace(row=, col=), add_hrect(row=, col=) and update_xaxes/yaxes/annotations per day, in a seventh of the
    # time (plotly validates every property each time one is set). Day i sits on axes x<i+1>/y<i+1>.
    layout = json.loads(_day_grid(n))
    for title, label in zip(layout.get("annotations", []), labels, strict=True):
        title.update(text=label, font={"size": 10})
    for name, axis_layout in layout.items():  # every panel of the grid, a day's or an empty one
        if name.startswith("xaxis"):
            axis_layout.update(range=[0, 24], showticklabels=False)
        elif name.startswith("yaxis"):
            axis_layout["range"] = list(y_range)
    traces, bands = [], []
    for i in range(n):
        axis = "" if i == 0 else str(i + 1)
        traces.append(
            {
                "type": "scatter",
                "x": hours,
                "y": daily[i],
                "mode": "lines",
                "line": {"color": _MEDIAN, "width": 1},
                "showlegend": False,
                "xaxis": f"x{axis}",
                "yaxis": f"y{axis}",
            }
        )
        bands.append(
            {
                "type": "rect",
                "xref": f"x{axis} domain",
                "x0": 0,
                "x1": 1,
                "yref": f"y{axis}",
                "y0": low,
                "y1": high,
                "fillcolor": _BAND_COLOUR,
                "line": {"width": 0},
                "layer": "below",
            }
        )
    layout.update(
        shapes=bands, title="Daily profiles", height=170 * rows + 60, margin={"l": 40, "r": 10, "t": 60, "b": 20}
    )
    return themed(go.Figure(data=traces, layout=layout))


def _spread(centres: Sequence[float], gap: float, low: float = 0.0, high: float = 100.0) -> list[float]:
    """Label positions near ``centres`` (ascending) at least ``gap`` apart, kept within [low, high]."""
    out = [max(low, float(c)) for c in centres]
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1] + gap)
    if out and out[-1] > high:
        out[-1] = high
        for i in range(len(out) - 2, -1, -1):
            out[i] = min(out[i], out[i + 1] - gap)
    return out


def time_in_ranges_figure(metrics: Mapping[str, float], unit: str) -> go.Figure:
    """The AGP report's time-in-ranges bar: one stacked bar of the five consensus ranges (percent of readings),
    very low at the bottom, each range labelled beside the bar (name, bounds in ``unit``, percent), never over it."""
    bounds = band_labels(unit)
    values = [float(metrics.get(key, float("nan"))) for key in BAND_KEYS]
    fig = go.Figure()
    for key, value in zip(BAND_KEYS, values, strict=True):
        fig.add_trace(
            go.Bar(
                x=[0],
                y=[value if np.isfinite(value) else 0.0],
                width=0.5,
                name=_RANGE_NAMES[key],
                marker={"color": _RANGE_COLOURS[key], "line": {"color": "#ffffff", "width": 1}},
                hovertemplate=f"{_RANGE_NAMES[key]} ({bounds[key]}): {value:.1f} %<extra></extra>",
                showlegend=False,
            )
        )
    finite = [v if np.isfinite(v) else 0.0 for v in values]
    tops = np.cumsum(finite)
    centres = tops - np.asarray(finite) / 2
    scale = float(tops[-1]) if tops[-1] > 0 else 100.0
    positions = _spread([100.0 * c / scale for c in centres], _LABEL_GAP, 3.0, 97.0)
    for key, value, centre, position in zip(BAND_KEYS, values, centres, positions, strict=True):
        shown = "not available" if not np.isfinite(value) else f"{value:.1f} %"
        fig.add_annotation(  # the text sits at the arrow's tail (ax, ay), the head points at the segment
            x=0.26,
            y=float(centre),
            ax=0.34,
            ay=position * scale / 100.0,
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            text=f"<b>{_RANGE_NAMES[key]}</b> {bounds[key]}: <b>{shown}</b>",
            showarrow=True,
            arrowhead=0,
            arrowwidth=1,
            arrowcolor=MUTED,
            xanchor="left",
            align="left",
            font={"size": 12, "color": TEXT},
        )
    fig.update_layout(
        barmode="stack",
        title="Time in ranges",
        xaxis={"range": [-0.3, 2.6], "visible": False},
        yaxis={"range": [0, scale], "visible": False},
        height=360,
        margin={"l": 10, "r": 10, "t": 50, "b": 20},
        showlegend=False,
    )
    return themed(fig)


def forecast_fan_figure(
    window_times: Sequence[str],
    window_mg_dl: NDArray[np.floating],
    origin_time: str,
    minutes: NDArray[np.integer],
    p10: NDArray[np.floating],
    p50: NDArray[np.floating],
    p90: NDArray[np.floating],
    unit: str,
    *,
    linear_mg_dl: NDArray[np.floating] | None = None,
    not_adapted_mg_dl: NDArray[np.floating] | None = None,
    ceiling_mg_dl: float | None = None,
) -> go.Figure:
    """The last 3 hours and the 60-minute forecast: median line, 80 % band, optional linear baseline.

    ``not_adapted_mg_dl`` (12,): the shipped model's median when the forecast shown was adapted to the patient.
    ``ceiling_mg_dl``: the sensor's ceiling, the top of the y axis (None: 400 mg/dL).
    """
    origin = np.datetime64(origin_time)
    future = origin + np.asarray(minutes).astype("timedelta64[m]")
    fx = np.concatenate([[origin], future])
    last = float(np.asarray(window_mg_dl)[-1])
    conv = lambda v: from_mg_dl(np.concatenate([[last], np.asarray(v, dtype=np.float64)]), unit)  # noqa: E731
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=np.asarray(window_times, dtype="datetime64[s]"),
            y=from_mg_dl(window_mg_dl, unit),
            mode="lines+markers",
            marker={"size": 4},
            line={"color": "black"},
            name="readings",
        )
    )
    fig.add_trace(go.Scatter(x=fx, y=conv(p90), mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"))
    fig.add_trace(
        go.Scatter(
            x=fx,
            y=conv(p10),
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(31, 78, 121, 0.25)",
            name="80 % interval",
        )
    )
    fig.add_trace(
        go.Scatter(x=fx, y=conv(p50), mode="lines", line={"color": _MEDIAN, "width": 3}, name="forecast (median)")
    )
    if linear_mg_dl is not None:
        fig.add_trace(
            go.Scatter(
                x=fx, y=conv(linear_mg_dl), mode="lines", line={"color": "grey", "dash": "dot"}, name="linear baseline"
            )
        )
    if not_adapted_mg_dl is not None:
        fig.add_trace(
            go.Scatter(
                x=fx,
                y=conv(not_adapted_mg_dl),
                mode="lines",
                line={"color": _MEDIAN, "dash": "dash", "width": 1},
                name="median before adaptation",
            )
        )
    hypo = CONSENSUS[unit].low
    fig.update_layout(
        shapes=[_band(unit), hline_shape(hypo, {"dash": "dash", "color": MALIGNANT})],
        annotations=[hline_label(hypo, f"low: {hypo:g} {unit}")],
        title="Forecast for the next 60 minutes from the last reading",
        yaxis={"title": _axis(unit), "range": _y_range(unit, ceiling_mg_dl)},
        height=360,
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
    )
    return themed(fig)


def attribution_strip(window_times: Sequence[str], attributions_mg_dl: NDArray[np.floating], unit: str) -> go.Figure:
    """Integrated-gradients attributions per input reading as a bar strip (red raises, blue lowers the forecast)."""
    values = np.asarray(attributions_mg_dl, dtype=np.float64)
    shown = from_mg_dl(values, unit)
    colours = np.where(shown >= 0, MALIGNANT, "#1f618d")
    fig = go.Figure(
        go.Bar(
            x=np.asarray(window_times, dtype="datetime64[s]"),
            y=shown,
            marker_color=colours,
            name="attribution",
            showlegend=False,
        )
    )
    sign_legend(fig, "raised the forecast", "lowered the forecast")
    fig.update_layout(
        title="What moved the 30-minute forecast (vs a flat trace at the last reading)",
        yaxis={"title": f"contribution ({unit})"},
        height=250,
        margin={"l": 40, "r": 20, "t": 60, "b": 30},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0, "xanchor": "right"},
    )
    return themed(fig)


def clarke_grid_figure(
    reference_mg_dl: NDArray[np.floating], predicted_mg_dl: NDArray[np.floating], unit: str
) -> go.Figure:
    """Clarke error grid (Clarke et al. 1987) of 30-minute forecasts against what was measured."""
    ref = from_mg_dl(reference_mg_dl, unit)
    pred = from_mg_dl(predicted_mg_dl, unit)
    s = float(from_mg_dl(1.0, unit))
    fig = go.Figure(  # SVG, not WebGL: some hundred points draw several times faster so (see trace_figure)
        go.Scatter(
            x=ref, y=pred, mode="markers", marker={"size": 4, "color": _MEDIAN, "opacity": 0.5}, name="forecasts"
        )
    )
    lines = [
        ((0, 0), (400, 400), "dot"),
        ((0, 70), (175 / 3, 70), "solid"),
        ((175 / 3, 70), (400 / 1.2, 400), "solid"),
        ((70, 84), (70, 400), "solid"),
        ((0, 180), (70, 180), "solid"),
        ((70, 180), (290, 400), "solid"),
        ((70, 0), (70, 56), "solid"),
        ((70, 56), (400, 320), "solid"),
        ((180, 0), (180, 70), "solid"),
        ((180, 70), (400, 70), "solid"),
        ((240, 70), (240, 180), "solid"),
        ((240, 180), (400, 180), "solid"),
        ((130, 0), (180, 70), "solid"),
    ]
    zones = (
        ("A", 30, 15),
        ("B", 370, 260),
        ("B", 280, 370),
        ("C", 160, 370),
        ("C", 160, 15),
        ("D", 30, 140),
        ("D", 370, 120),
        ("E", 30, 370),
        ("E", 370, 15),
    )
    top = 400 * s
    fig.update_layout(  # zone lines and letters set at once (add_shape/add_annotation each revalidate the layout)
        shapes=[
            {
                "type": "line",
                "x0": x0 * s,
                "y0": y0 * s,
                "x1": x1 * s,
                "y1": y1 * s,
                "line": {"color": "grey", "width": 1, "dash": dash},
            }
            for (x0, y0), (x1, y1), dash in lines
        ],
        annotations=[
            {"x": x * s, "y": y * s, "text": label, "showarrow": False, "font": {"size": 14, "color": MUTED}}
            for label, x, y in zones
        ],
        title="Clarke error grid (30-minute forecasts)",
        xaxis={"title": f"measured ({unit})", "range": [0, top]},
        yaxis={"title": f"forecast ({unit})", "range": [0, top]},
        height=460,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        showlegend=False,
    )
    return themed(fig)
