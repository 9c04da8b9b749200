"""What a page sends for a figure or table kept per result: the same as Streamlit would send for the original."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io
import plotly.tools
import pytest

from medai_core.ui.components import FigureDict, arrow_table


def _sent(figure: object) -> str:
    """The spec JSON ``st.plotly_chart`` builds for ``figure`` (its two steps, as Streamlit 1.67 calls them)."""
    return str(plotly.io.to_json(plotly.tools.return_figure_from_figure_or_data(figure, True), validate=False))


def _figure() -> go.Figure:
    x = np.arange("2025-03-01T00:00", "2025-03-02T00:00", np.timedelta64(5, "m"), dtype="datetime64[m]")
    fig = go.Figure(go.Scatter(x=x, y=np.linspace(40.0, 400.0, x.size), mode="lines", name="glucose"))
    fig.add_hrect(y0=70, y1=180, fillcolor="rgba(46, 204, 113, 0.12)", line_width=0)
    fig.update_layout(title="trace", height=300)
    return fig


def test_figure_dict_sends_the_figures_own_json() -> None:
    fig = _figure()
    held = FigureDict(fig)
    assert _sent(held) == _sent(fig)
    assert _sent(held) == _sent(held)  # sending it does not change what is held
    assert held.to_dict() is held.to_dict()  # one dict, made once


def test_figure_dict_is_not_a_figure_to_change() -> None:
    held = FigureDict(_figure())
    with pytest.raises(AttributeError):
        held.update_layout(height=200)


def test_arrow_table_keeps_columns_and_shows_mixed_cells_as_text() -> None:
    table = arrow_table([{"metric": "AUC", "value": 0.897}, {"metric": "n", "value": "12"}])
    assert table.column_names[:2] == ["metric", "value"]
    assert table.column("value").to_pylist() == ["0.897", "12"]
    assert arrow_table([{"a": 1}, {"a": 2}]).column("a").to_pylist() == [1, 2]


def test_card_section_with_counts_and_sizes_in_one_column_converts_without_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The gene card's ``tmb_scale``: patients per panel (int) beside panel sizes (float, shown as text) in the
    same columns; Streamlit's conversion must not fail, log a traceback and retry with its automatic fixes."""
    from streamlit import dataframe_util

    from medai_core.ui.components import _section_items

    def no_fallback(df: object) -> object:
        raise AssertionError("the table needed Streamlit's automatic column fixes")

    monkeypatch.setattr(dataframe_util, "fix_arrow_incompatible_column_types", no_fallback)
    section = {
        "cohort_patients_by_panel": {"IMPACT341": 185, "IMPACT410": 690},
        "panel_sizes_mb": {"IMPACT341": 0.897, "IMPACT410": 1.016},
        "note": "sizes",
    }
    tables = [value for kind, value in _section_items(section) if kind == "table"]
    assert len(tables) == 1
    assert tables[0].column("IMPACT341").to_pylist() == ["185", "0.897"]
