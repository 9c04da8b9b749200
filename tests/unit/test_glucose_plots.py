"""Glucose figures: the daily-profile grid, the trace's time axis, the Clarke grid's zones."""

from __future__ import annotations

import numpy as np
import pytest

from medai_core.plots.glucose import clarke_grid_figure, daily_profiles_figure, trace_figure
from medai_core.units import CONSENSUS


@pytest.mark.parametrize("days", [1, 7, 9, 14, 20])
def test_daily_profiles_one_titled_panel_with_band_per_day(days: int) -> None:
    labels = [f"2025-03-{i + 1:02d}" for i in range(days)]
    daily = np.random.default_rng(days).uniform(50, 300, (days, 288))
    fig = daily_profiles_figure(labels, daily, "mmol/L")
    shown = min(days, 14)
    assert [a.text for a in fig.layout.annotations] == labels[-shown:]
    assert len(fig.data) == shown and len(fig.layout.shapes) == shown
    rows = -(-shown // 7)
    assert fig.layout.height == 170 * rows + 60
    for i, (trace, band) in enumerate(zip(fig.data, fig.layout.shapes, strict=True)):
        suffix = "" if i == 0 else str(i + 1)
        assert (trace.xaxis, trace.yaxis) == (f"x{suffix}", f"y{suffix}")
        np.testing.assert_allclose(trace.y, daily[-shown:][i] / 18.016, rtol=1e-3)
        assert band.yref == f"y{suffix}" and (band.y0, band.y1) == (CONSENSUS["mmol/L"].low, CONSENSUS["mmol/L"].high)
    for name in fig.layout:  # every panel of the grid, empty ones too: the day's hours, the sensor's range
        if name.startswith("xaxis"):
            assert tuple(fig.layout[name].range) == (0, 24)
        elif name.startswith("yaxis"):
            assert fig.layout[name].range[0] < CONSENSUS["mmol/L"].low


def test_trace_on_a_regular_grid_is_sent_as_start_and_step() -> None:
    times = np.arange("2025-03-02T23:59:59", "2025-03-04T00:00", np.timedelta64(5, "m"), dtype="datetime64[s]")
    values = np.linspace(60.0, 250.0, times.size)
    values[10:20] = np.nan
    trace = trace_figure(times.astype("datetime64[ns]"), values, "mg/dL").data[0]
    assert trace.x is None and trace.type == "scatter"
    starts = np.datetime64(trace.x0) + np.arange(times.size) * np.timedelta64(int(trace.dx), "ms")
    assert (starts == times).all()
    np.testing.assert_array_equal(trace.y, values)


def test_trace_with_irregular_times_keeps_every_timestamp() -> None:
    times = np.array(["2025-03-03T00:00", "2025-03-03T00:05", "2025-03-03T00:15"], dtype="datetime64[ns]")
    trace = trace_figure(times, np.array([100.0, 110.0, 120.0]), "mg/dL").data[0]
    assert trace.x0 is None and len(trace.x) == 3


def test_clarke_grid_lines_and_zone_letters() -> None:
    fig = clarke_grid_figure(np.array([100.0, 200.0]), np.array([110.0, 150.0]), "mmol/L")
    assert len(fig.layout.shapes) == 13 and [a.text for a in fig.layout.annotations] == list("ABBCCDDEE")
    assert fig.data[0].type == "scatter" and fig.data[0].mode == "markers"
