"""CT figure builders: the values drawn are the values given."""

from __future__ import annotations

import numpy as np

from medai_core.explain.faithfulness import DeletionCurve
from medai_core.plots.ct import CLICK_GRID_MAX, deletion_figure, reference_histogram_figure, slice_figure


def test_slice_figure_layers() -> None:
    image = np.arange(200 * 300, dtype=np.uint32).reshape(200, 300) % 256
    mask = np.zeros((200, 300), bool)
    mask[90:110, 140:160] = True
    fig = slice_figure(image.astype(np.uint8), outline=mask, seed_xy=(150, 100))
    kinds = [trace.type for trace in fig.data]
    assert kinds == ["heatmap", "contour", "scatter", "scatter"]
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), image)
    grid = fig.data[2]
    assert len(grid.x) <= CLICK_GRID_MAX**2 and max(grid.x) < 300 and max(grid.y) < 200
    assert (fig.data[3].x[0], fig.data[3].y[0]) == (150, 100)
    assert [t.type for t in slice_figure(image.astype(np.uint8), clickable=False).data] == ["heatmap"]


def test_reference_histogram_marks_the_case() -> None:
    reference = {"edges": [0.0, 0.5, 1.0], "benign": [7, 1], "malignant": [2, 5], "source": "test"}
    fig = reference_histogram_figure(reference, 0.8)
    assert [list(t.y) for t in fig.data] == [[7, 1], [2, 5]]
    assert fig.data[0].name == "benign (n=8)" and fig.data[1].name == "malignant (n=7)"
    assert fig.layout.shapes[0].x0 == 0.8


def test_deletion_figure_traces() -> None:
    curve = DeletionCurve(np.linspace(0, 1, 3), np.array([0.9, 0.5, 0.1]), np.array([0.9, 0.8, 0.7]), 0.5, 0.8)
    fig = deletion_figure(curve, score_label="P(malignant)")
    assert list(fig.data[0].y) == [0.9, 0.5, 0.1] and list(fig.data[1].y) == [0.9, 0.8, 0.7]
    assert "0.50" in fig.data[0].name and "0.80" in fig.data[1].name
    assert fig.layout.yaxis.title.text == "P(malignant)"
