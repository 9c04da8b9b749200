"""Windows, the training-scale mapping, region growing, measurements, crop, features and Lung-RADS size rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medai_core.ct.features import FEATURE_NAMES, axis_lengths_px, nodule_features
from medai_core.ct.lungrads import lung_rads_size_category
from medai_core.ct.phantom import PHANTOM_KINDS, make_phantom
from medai_core.ct.prepare import (
    LUNG_WINDOW,
    MEDIASTINUM_WINDOW,
    TRAINING_PIXEL_MM,
    Seed,
    Window,
    apply_window,
    fit_crop,
    hu_to_training_scale,
    segment_nodule,
    training_crop,
)
from medai_core.ct.readers import read_slice_folder, study_from_u8
from medai_core.errors import ImageInputError

LIDC = Path(__file__).resolve().parents[1] / "data" / "ct" / "lidc"


def test_lung_window_matches_training_scale() -> None:
    hu = np.array([-2000.0, -1350.0, -600.0, 150.0, 1000.0])
    np.testing.assert_array_equal(hu_to_training_scale(hu), [0, 0, 128, 255, 255])
    assert LUNG_WINDOW.low_hu == -1350 and LUNG_WINDOW.high_hu == 150
    np.testing.assert_array_equal(apply_window(np.array([-125.0, 50.0, 225.0]), MEDIASTINUM_WINDOW), [0, 128, 255])
    with pytest.raises(ValueError, match="positive"):
        apply_window(hu, Window(0, 0))


def test_u8_round_trip_through_hounsfield_units() -> None:
    values = np.arange(256, dtype=np.uint8)[None, None].repeat(16, axis=1).repeat(16, axis=0).reshape(1, 16, -1)
    study = study_from_u8(values[:, :, :256], "PNG")
    np.testing.assert_array_equal(hu_to_training_scale(study.hu), values[:, :, :256])


@pytest.mark.parametrize("kind", PHANTOM_KINDS)
def test_segmentation_measures_phantom_size(kind: str) -> None:
    phantom = make_phantom(kind, 12.0)  # type: ignore[arg-type]
    study = phantom.study
    threshold = -600.0 if kind == "part-solid" else -500.0
    seg = segment_nodule(
        study.hu,
        phantom.seed,
        spacing_mm=study.spacing_mm,
        slice_spacing_mm=study.slice_spacing_mm,
        threshold_hu=threshold,
    )
    assert 11.0 <= seg.long_axis_mm <= 16.5
    assert 10.5 <= seg.short_axis_mm <= 14.0
    sphere = 4 / 3 * np.pi * 6.0**3
    assert seg.volume_mm3 is not None and 0.8 * sphere <= seg.volume_mm3 <= 1.5 * sphere
    assert not seg.touches_limit


def test_crop_is_on_training_scale_and_size() -> None:
    phantom = make_phantom("solid", 10.0)
    seg = segment_nodule(phantom.study.hu, phantom.seed, spacing_mm=(0.7, 0.7), slice_spacing_mm=1.25)
    crop = training_crop(phantom.study.hu, seg.mask, (0.7, 0.7))
    assert crop.shape[1:] == (64, 64) and crop.dtype == np.uint8
    assert crop.shape[0] == int(seg.mask.any(axis=(1, 2)).sum())
    inside = crop[crop > 0]
    assert 215 <= np.median(inside) <= 245  # soft tissue (~25 HU) in the lung window
    middle = crop[crop.shape[0] // 2] > 0
    width_px = middle.any(axis=0).sum()
    assert width_px == pytest.approx(10.0 / TRAINING_PIXEL_MM, abs=2.5)  # resampled to the training pixel size
    ys, xs = np.nonzero(middle)
    assert abs(ys.mean() - 31.5) < 2.5 and abs(xs.mean() - 31.5) < 2.5


def test_seed_outside_the_image() -> None:
    phantom = make_phantom()
    for seed in (Seed(500, 10, 0), Seed(10, -1, 0), Seed(10, 10, 99)):
        with pytest.raises(ImageInputError, match="outside the image"):
            segment_nodule(phantom.study.hu, seed, spacing_mm=(0.7, 0.7), slice_spacing_mm=1.25)


def test_seed_on_air_finds_nothing() -> None:
    phantom = make_phantom()
    hu = phantom.study.hu[7]
    row, col = np.argwhere(hu[1:-1, 1:-1] < -820)[0] + 1  # a lung pixel whose neighbours are lung too
    with pytest.raises(ImageInputError, match="aerated lung"):
        segment_nodule(phantom.study.hu, Seed(int(row), int(col), 7), spacing_mm=(0.7, 0.7), slice_spacing_mm=1.25)
    hu = np.full((1, 64, 64), -1000.0, np.float32)
    with pytest.raises(ImageInputError, match="on air"):
        segment_nodule(hu, Seed(32, 32, 0), spacing_mm=None, slice_spacing_mm=None)


def test_isolated_voxel_is_not_a_nodule() -> None:
    hu = np.full((1, 64, 64), -850.0, np.float32)
    hu[0, 32, 32] = 40.0
    with pytest.raises(ImageInputError, match="found no nodule"):
        segment_nodule(hu, Seed(32, 32, 0), spacing_mm=(0.7, 0.7), slice_spacing_mm=None)


def test_mass_or_leak_wider_than_the_crop_is_refused() -> None:
    hu = np.full((3, 200, 200), -850.0, np.float32)
    hu[:, 40:160, 40:160] = 30.0  # 84 mm of soft tissue
    seg = segment_nodule(hu, Seed(100, 100, 1), spacing_mm=(0.7, 0.7), slice_spacing_mm=1.0)
    assert seg.touches_limit
    with pytest.raises(ImageInputError, match="wider than the model's 64-pixel field"):
        training_crop(hu, seg.mask, (0.7, 0.7))


def test_fit_crop_centres_and_rejects_empty() -> None:
    crop = np.zeros((2, 40, 50), np.uint8)
    crop[:, 5:15, 30:40] = 200
    fitted = fit_crop(crop)
    assert fitted.shape == (2, 64, 64)
    ys, xs = np.nonzero(fitted[0])
    assert abs(ys.mean() - 31.5) <= 1 and abs(xs.mean() - 31.5) <= 1
    with pytest.raises(ImageInputError, match="black"):
        fit_crop(np.zeros((1, 64, 64), np.uint8))


def test_axis_lengths_of_a_line_and_a_disk() -> None:
    line = np.zeros((40, 40), bool)
    line[10, 5:25] = True  # 20 x 1 pixels
    assert axis_lengths_px(line) == pytest.approx((20.0, 1.0))
    yy, xx = np.mgrid[:40, :40]
    disk = (yy - 20) ** 2 + (xx - 20) ** 2 <= 10**2
    long_axis, short_axis = axis_lengths_px(disk)
    assert long_axis == pytest.approx(21.0, abs=0.5) and short_axis == pytest.approx(21.0, abs=1.0)
    long_mm, _ = axis_lengths_px(disk, spacing=(0.5, 0.5))
    assert long_mm == pytest.approx(long_axis / 2, abs=0.01)


def test_features_of_lidc_crop() -> None:
    nodule = next(p for p in sorted((LIDC / "images" / "malignant").glob("*/*")) if p.is_dir())
    features = nodule_features(read_slice_folder(nodule))
    assert features.shape == (len(FEATURE_NAMES),) and np.isfinite(features).all()
    assert 0 < features[FEATURE_NAMES.index("mean_intensity")] <= 1


def test_calcification_raises_calcified_fraction() -> None:
    plain, calcified = (make_phantom(k, 12.0) for k in ("solid", "calcified"))
    crops = []
    for phantom in (plain, calcified):
        seg = segment_nodule(phantom.study.hu, phantom.seed, spacing_mm=(0.7, 0.7), slice_spacing_mm=1.25)
        crops.append(nodule_features(training_crop(phantom.study.hu, seg.mask, (0.7, 0.7))))
    index = FEATURE_NAMES.index("calcified_fraction")
    assert crops[1][index] > crops[0][index] + 0.05


@pytest.mark.parametrize(
    ("mm", "category"), [(4.0, "2"), (5.94, "2"), (6.0, "3"), (7.9, "3"), (8.0, "4A"), (14.9, "4A"), (15.0, "4B")]
)
def test_lung_rads_size_rules(mm: float, category: str) -> None:
    assert lung_rads_size_category(mm).category == category


def test_lung_rads_without_spacing() -> None:
    result = lung_rads_size_category(None)
    assert result.category == "n/a" and "guideline" not in result.meaning
    assert "size only" in result.source
