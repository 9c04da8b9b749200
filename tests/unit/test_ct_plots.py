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


def _contour_on_full_grid(trace: object, shape: tuple[int, int]) -> np.ndarray:
    """The contour trace's z put back at its pixel offset on an empty image of ``shape``."""
    z = np.asarray(trace.z)  # type: ignore[attr-defined]
    full = np.zeros(shape, dtype=z.dtype)
    top, left = int(trace.y0), int(trace.x0)  # type: ignore[attr-defined]
    assert trace.dx == 1 and trace.dy == 1  # type: ignore[attr-defined]
    full[top : top + z.shape[0], left : left + z.shape[1]] = z
    return full


def test_slice_outline_is_the_mask_at_its_pixels_with_an_empty_border() -> None:
    image = np.zeros((96, 128), np.uint8)
    for region in ((slice(40, 52), slice(60, 70)), (slice(0, 4), slice(0, 3)), (slice(90, 96), slice(120, 128))):
        mask = np.zeros(image.shape, bool)
        mask[region] = True
        mask[45, 75] = True  # a second, separate piece
        contour = slice_figure(image, outline=mask).data[1]
        np.testing.assert_array_equal(_contour_on_full_grid(contour, image.shape), mask.astype(np.uint8))
        z = np.asarray(contour.z)
        top, left = int(contour.y0), int(contour.x0)
        # an empty row/column closes the contour inside the image, as it would on the whole mask
        assert top == 0 or not z[0].any()
        assert left == 0 or not z[:, 0].any()
        assert top + z.shape[0] == image.shape[0] or not z[-1].any()
        assert left + z.shape[1] == image.shape[1] or not z[:, -1].any()


def test_slice_click_grid_keeps_every_point_but_draws_one() -> None:
    image = np.zeros((128, 128), np.uint8)
    grid = slice_figure(image).data[1]
    assert grid.name == "seed grid" and grid.marker.opacity == 0
    assert len(grid.x) == CLICK_GRID_MAX**2  # every grid point selectable (2 px apart on a 128 px slice)
    assert sorted(set(grid.x)) == list(range(1, 128, 2)) and sorted(set(grid.y)) == list(range(1, 128, 2))
    assert grid.marker.maxdisplayed == 1  # plotly.js draws one SVG marker, not 4096


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
