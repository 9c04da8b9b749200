"""IBSI-style radiomics: definitions on shapes with known answers, error paths, and the same features from an upload
as from training for the same crop (the committed LIDC fixture crops)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from medai_core.ct.data import load_nodules
from medai_core.ct.prepare import hu_to_training_scale
from medai_core.ct.radiomics import (
    CROP_SLICE_MM,
    RADIOMICS_NAMES,
    crop_radiomics,
    crop_to_hu,
    estimate_slice_mm,
    radiomics,
    radiomics_matrix,
)
from medai_core.ct.readers import read_ct, read_ct_path
from medai_core.ct.scoring import STACKER_FEATURE_NAMES, Stacker, features_for, nodule_feature_vector

LIDC = Path(__file__).resolve().parents[1] / "data" / "ct" / "lidc"


def _ball(radius: float, size: int = 31) -> np.ndarray:
    z, y, x = np.mgrid[:size, :size, :size] - size // 2
    return (z**2 + y**2 + x**2) <= radius**2


def test_sphere_shape_matches_geometry() -> None:
    mask = _ball(10.0)
    f = radiomics(np.zeros(mask.shape), mask, (1.0, 1.0, 1.0))
    assert f["shape_volume_mm3"] == pytest.approx(4 / 3 * np.pi * 10**3, rel=0.03)
    # a voxelised sphere's mesh is staircased: its area is ~9% above the smooth sphere's (as in IBSI's phantoms)
    assert f["shape_surface_area_mm2"] == pytest.approx(4 * np.pi * 10**2 * 1.09, rel=0.03)
    assert 0.88 < f["shape_sphericity"] <= 1.0
    assert f["shape_compactness2"] == pytest.approx(f["shape_sphericity"] ** 3)
    assert f["shape_spherical_disproportion"] == pytest.approx(1 / f["shape_sphericity"])
    assert f["shape_max_3d_diameter_mm"] == pytest.approx(20.0, rel=0.05)
    assert f["shape_elongation"] == pytest.approx(1.0, abs=0.02)
    assert f["shape_flatness"] == pytest.approx(1.0, abs=0.02)
    # PCA axis length 4 sqrt(lambda) of a solid ball of radius r is 4 r / sqrt(5)
    assert f["shape_major_axis_mm"] == pytest.approx(4 * 10 / np.sqrt(5), rel=0.05)


def test_spacing_scales_volume_and_flattens() -> None:
    mask = _ball(6.0, 17)
    iso = radiomics(np.zeros(mask.shape), mask, (1.0, 1.0, 1.0))
    thick = radiomics(np.zeros(mask.shape), mask, (2.0, 1.0, 1.0))
    assert thick["shape_volume_mm3"] == pytest.approx(2 * iso["shape_volume_mm3"], rel=1e-6)
    assert thick["shape_elongation"] == pytest.approx(0.5, abs=0.02)  # a 2:1:1 ellipsoid
    assert thick["shape_flatness"] == pytest.approx(0.5, abs=0.02)


def test_first_order_statistics_match_definitions() -> None:
    rng = np.random.default_rng(0)
    image = rng.normal(-100, 80, size=(4, 12, 12))
    mask = np.zeros(image.shape, bool)
    mask[1:3, 2:10, 3:11] = True
    f = radiomics(image, mask, (1.0, 1.0, 1.0))
    v = image[mask]
    assert f["fo_mean"] == pytest.approx(v.mean())
    assert f["fo_sd"] == pytest.approx(v.std())
    assert f["fo_skewness"] == pytest.approx(stats.skew(v))
    assert f["fo_kurtosis"] == pytest.approx(stats.kurtosis(v))  # excess kurtosis
    assert f["fo_p90"] == pytest.approx(np.percentile(v, 90))
    assert f["fo_energy"] == pytest.approx((v**2).sum())
    bins = np.floor((v + 1350) / 25).astype(int)
    _, counts = np.unique(bins, return_counts=True)
    p = counts / counts.sum()
    assert f["fo_entropy"] == pytest.approx(-(p * np.log2(p)).sum())
    assert f["fo_uniformity"] == pytest.approx((p**2).sum())


def test_constant_region_has_degenerate_texture() -> None:
    mask = np.zeros((3, 6, 6), bool)
    mask[:, 1:5, 1:5] = True
    f = radiomics(np.full(mask.shape, 20.0), mask, (1.0, 1.0, 1.0))
    assert f["fo_sd"] == 0 and f["fo_entropy"] == 0 and f["fo_uniformity"] == 1
    assert f["glcm_joint_energy"] == 1 and f["glcm_contrast"] == 0 and f["glcm_homogeneity"] == 1
    assert f["glcm_joint_entropy"] == 0
    assert f["glrlm_gln_norm"] == 1


def test_two_voxel_glcm_by_hand() -> None:
    # two neighbours along x in bins 1 and 2: one direction has a pair, symmetric matrix [[0, 1], [1, 0]] / 2
    image = np.array([[[-1350.0, -1325.0]]])
    f = radiomics(image, np.ones_like(image, bool), (1.0, 1.0, 1.0))
    assert f["glcm_contrast"] == pytest.approx(1.0)
    assert f["glcm_joint_energy"] == pytest.approx(0.5)
    assert f["glcm_joint_entropy"] == pytest.approx(1.0)
    assert f["glcm_dissimilarity"] == pytest.approx(1.0)
    assert f["glcm_joint_average"] == pytest.approx(1.5)


def test_line_run_lengths_by_hand() -> None:
    # a constant line of 5 voxels along x: one run of 5 along x, five runs of 1 in each of the 12 other directions
    image = np.zeros((1, 1, 5))
    f = radiomics(image, np.ones_like(image, bool), (1.0, 1.0, 1.0))
    assert f["glrlm_sre"] == pytest.approx((1 / 25 + 12) / 13)
    assert f["glrlm_lre"] == pytest.approx((25 + 12) / 13)
    assert f["glrlm_run_percentage"] == pytest.approx((0.2 + 12) / 13)


def _runs_by_walking(levels: np.ndarray, d: tuple[int, int, int]) -> list[tuple[int, int]]:
    """Every maximal run along ``d`` found by stepping voxel by voxel (the definition, no vectorisation)."""
    out = []
    shape = levels.shape
    for start in zip(*np.nonzero(levels), strict=True):
        before = tuple(int(c) - k for c, k in zip(start, d, strict=True))
        inside = all(0 <= c < n for c, n in zip(before, shape, strict=True))
        if inside and levels[before] == levels[start]:
            continue  # not the first voxel of its run
        length, here = 1, tuple(int(c) for c in start)
        while True:
            after = tuple(c + k for c, k in zip(here, d, strict=True))
            if not all(0 <= c < n for c, n in zip(after, shape, strict=True)) or levels[after] != levels[start]:
                break
            length, here = length + 1, after
        out.append((int(levels[start]), length))
    return sorted(out)


def test_run_lengths_in_every_direction_equal_walking_the_runs() -> None:
    from medai_core.ct.radiomics import _DIRECTIONS, _runs

    rng = np.random.default_rng(7)
    for _ in range(40):
        shape = tuple(int(n) for n in rng.integers(1, 7, 3))
        levels = rng.integers(1, 4, shape).astype(np.int64)
        levels[rng.random(shape) < 0.3] = 0  # outside the mask: level 0, holes and edges included
        roi = levels > 0
        for d in _DIRECTIONS:
            grey, length = _runs(levels, roi, d)
            assert sorted(zip(grey.tolist(), length.tolist(), strict=True)) == _runs_by_walking(levels, d)


@pytest.mark.parametrize(
    ("image", "mask", "spacing", "match"),
    [
        (np.zeros((2, 3, 3)), np.zeros((2, 3, 3), bool), (1.0, 1.0, 1.0), "empty"),
        (np.zeros((2, 3, 3)), np.ones((2, 3, 4), bool), (1.0, 1.0, 1.0), "same 3D shape"),
        (np.zeros((2, 3, 3)), np.ones((2, 3, 3), bool), (0.0, 1.0, 1.0), "positive"),
        (np.zeros((2, 3, 3)), np.ones((2, 3, 3), bool), (float("nan"), 1.0, 1.0), "positive"),
    ],
)
def test_refuses_what_it_cannot_measure(image, mask, spacing, match) -> None:
    with pytest.raises(ValueError, match=match):
        radiomics(image, mask, spacing)


def test_crop_scale_round_trip() -> None:
    hu = np.array([-1350.0, -600.0, 0.0, 150.0])
    assert np.abs(crop_to_hu(hu_to_training_scale(hu)) - hu).max() <= 1500 / 255 / 2 + 1e-9


def test_fixture_crops_are_finite_and_named() -> None:
    data = load_nodules(LIDC)
    matrix = radiomics_matrix(data.volumes)
    assert matrix.shape == (6, len(RADIOMICS_NAMES)) and np.isfinite(matrix).all()
    assert list(crop_radiomics(data.volumes[0]).values()) == matrix[0].tolist()
    assert 0.5 < estimate_slice_mm(data.volumes) < 3.0 and 0.5 < CROP_SLICE_MM < 3.0
    assert STACKER_FEATURE_NAMES[-len(RADIOMICS_NAMES) :] == RADIOMICS_NAMES
    # the larger malignant crops are larger by volume too
    volume = matrix[:, RADIOMICS_NAMES.index("shape_volume_mm3")]
    assert volume[data.labels == 1].mean() > volume[data.labels == 0].mean()


def test_upload_features_equal_training_features() -> None:
    from medai_core.ct.analysis import prepare_nodule

    data = load_nodules(LIDC)
    training = features_for(data.volumes)
    for i, (exam, nodule, label) in enumerate(zip(data.exam_ids, data.nodule_ids, data.labels, strict=True)):
        folder = LIDC / "images" / ("malignant" if label else "benign") / exam / nodule
        # the crop folder, as `predict ct` reads it; the upload path re-centres the crop on its mask, so the voxels
        # are the same ones, possibly shifted, and the features (translation invariant) must be the same
        prepared = prepare_nodule(read_ct_path(folder), None)
        assert prepared.crop_u8.shape == data.volumes[i].shape
        np.testing.assert_array_equal(np.sort(prepared.crop_u8, axis=None), np.sort(data.volumes[i], axis=None))
        np.testing.assert_allclose(nodule_feature_vector(prepared.crop_u8), training[i], rtol=1e-9, atol=1e-9)
        # one slice uploaded as a PNG on the page: the same features as that slice's crop in training
        k = int(np.argmax((data.volumes[i] > 0).sum(axis=(1, 2))))
        upload = read_ct((folder / f"{k}.png").read_bytes(), name="crop.png")
        single = prepare_nodule(upload, None).crop_u8  # re-centred on its own mask: features do not move
        expected = nodule_feature_vector(data.volumes[i][k : k + 1])
        np.testing.assert_allclose(nodule_feature_vector(single), expected, rtol=1e-9, atol=1e-9)


def test_stacker_contributions_sum_to_the_logit_and_bootstrap_interval() -> None:
    data = load_nodules(LIDC)
    x = features_for(data.volumes)
    inputs = ("cnn_logit", "log:shape_volume_mm3", "fo_mean")
    refits = ((0.1, 1.0, 0.5, -0.2), (-0.3, 0.8, 0.7, 0.0), (0.0, 1.2, 0.4, 0.1), (0.2, 0.9, 0.6, -0.1))
    stacker = Stacker(inputs, (0.0, 4.0, -300.0), (1.0, 1.5, 100.0), (1.0, 0.6, -0.1), -0.5, refits, 0.5)
    logits = np.linspace(-2, 2, len(x))
    share = stacker.contributions(logits, x)
    p = stacker.probability(logits, x)
    np.testing.assert_allclose(1 / (1 + np.exp(-(share.sum(1) - 0.5))), p)
    column = x[:, STACKER_FEATURE_NAMES.index("shape_volume_mm3")]
    np.testing.assert_allclose(stacker.design(logits, x)[:, 1], np.log(column))
    prob, low, high = stacker.with_interval(np.stack([logits, logits], 1), x)
    spread = stacker.bootstrap_probabilities(logits, x)
    np.testing.assert_allclose(low, np.minimum(np.percentile(spread, 25, axis=1), prob))
    np.testing.assert_allclose(high, np.maximum(np.percentile(spread, 75, axis=1), prob))
    assert Stacker.from_artifact(stacker.to_artifact()) == stacker


def test_radiomics_are_skipped_only_for_a_stacker_that_reads_none() -> None:
    data = load_nodules(LIDC)
    full, lean = features_for(data.volumes), features_for(data.volumes, radiomics=False)
    n = len(STACKER_FEATURE_NAMES) - len(RADIOMICS_NAMES)
    np.testing.assert_array_equal(full[:, :n], lean[:, :n])
    assert np.isnan(lean[:, n:]).all() and np.isfinite(full).all()
    project = Stacker(("cnn_logit", STACKER_FEATURE_NAMES[0]), (0.0, 4.0), (1.0, 1.0), (1.0, 0.5), 0.0)
    fused = Stacker(("cnn_logit", "log:shape_volume_mm3"), (0.0, 4.0), (1.0, 1.0), (1.0, 0.5), 0.0)
    assert not project.reads_radiomics and fused.reads_radiomics
    logits = np.zeros(len(full))
    np.testing.assert_array_equal(project.probability(logits, full), project.probability(logits, lean))
