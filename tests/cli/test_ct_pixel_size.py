"""Pixel size of inputs that carry none: a training-format crop is used as is, anything else needs ``--pixel-mm``
(page: a number input), and with the right pixel size the same nodule at 1x/2x/3x gives the same probability.

Regression (issue 9): a phantom slice saved at 1x/2x/3x without a pixel size used to be scored as if its pixels
were 0.64 mm, giving 0.85/0.98/0.996 for the same nodule (0.77/0.97/0.995 in the issue's phantom)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medai_core.cli import main
from medai_core.ct.analysis import analyse_nodule, prepare_nodule
from medai_core.ct.phantom import make_phantom, phantom_dicom_files
from medai_core.ct.prepare import Seed, hu_to_training_scale, resample_crop
from medai_core.ct.readers import PIXEL_MM_RANGE, check_pixel_mm, read_ct, read_ct_path, with_pixel_size
from medai_core.errors import ImageInputError

LIDC = Path(__file__).resolve().parents[1] / "data" / "ct" / "lidc"
SCALES = (1, 2, 3)


@pytest.fixture(scope="module")
def model():
    from medai_core.models import load_model

    return load_model("ct_nodule")


def _png(u8: np.ndarray, scale: int, resample: int = Image.Resampling.BILINEAR) -> bytes:
    image = Image.fromarray(u8).resize((u8.shape[1] * scale, u8.shape[0] * scale), resample)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _phantom_slice() -> tuple[np.ndarray, Seed, float]:
    phantom = make_phantom("solid", 12.0)
    assert phantom.study.spacing_mm is not None
    return hu_to_training_scale(phantom.study.hu[phantom.seed.slice_index]), phantom.seed, phantom.study.spacing_mm[0]


def _lidc_nodule() -> Path:
    return next(p for p in sorted((LIDC / "images" / "malignant").glob("*/*")) if p.is_dir())


# --- the reader: which images need a pixel size ---


def test_training_format_crop_needs_no_pixel_size() -> None:
    study = read_ct_path(_lidc_nodule())
    assert study.is_masked_crop and study.is_training_format_crop and not study.needs_pixel_size
    assert any("training format" in n and "pixel size" in n for n in study.notes)


def test_whole_slice_without_spacing_needs_pixel_size() -> None:
    u8, seed, _ = _phantom_slice()
    study = read_ct(_png(u8, 1), name="slice.png")
    assert study.spacing_mm is None and not study.is_masked_crop and study.needs_pixel_size
    with pytest.raises(ImageInputError, match="pixel size"):
        prepare_nodule(study, Seed(seed.row, seed.col, 0))


def test_enlarged_masked_crop_needs_pixel_size() -> None:
    crop = read_ct_path(_lidc_nodule())
    u8 = hu_to_training_scale(crop.hu[crop.hu.shape[0] // 2])
    study = read_ct(_png(u8, 2, Image.Resampling.NEAREST), name="crop2x.png")
    assert study.is_masked_crop and not study.is_training_format_crop and study.needs_pixel_size
    with pytest.raises(ImageInputError, match="--pixel-mm"):
        prepare_nodule(study, None)


@pytest.mark.parametrize("bad", [0.0, -0.7, float("nan"), float("inf"), 1e308, 100.0, 0.001, "abc"])
def test_implausible_pixel_sizes_are_refused(bad: object) -> None:
    with pytest.raises(ImageInputError, match="pixel size must be"):
        check_pixel_mm(bad)  # type: ignore[arg-type]


def test_pixel_size_range_edges_accepted() -> None:
    assert check_pixel_mm(PIXEL_MM_RANGE[0]) == PIXEL_MM_RANGE[0]
    assert check_pixel_mm(PIXEL_MM_RANGE[1]) == PIXEL_MM_RANGE[1]


def test_typed_pixel_size_sets_spacing_with_a_note() -> None:
    u8, _, _ = _phantom_slice()
    study = read_ct(_png(u8, 1), name="slice.png", pixel_mm=0.7)
    assert study.spacing_mm == (0.7, 0.7) and not study.needs_pixel_size
    assert any("0.7 mm as given by the user" in n for n in study.notes)
    assert not any("pixel size unknown" in n for n in study.notes)


def test_header_spacing_wins_over_typed_pixel_size() -> None:
    phantom = make_phantom("solid", 10.0, slices=3)
    data = phantom_dicom_files(phantom)[1]
    study = read_ct(data, name="slice.dcm", pixel_mm=2.0)
    assert study.spacing_mm == pytest.approx((0.7, 0.7))
    assert any("was not used" in n for n in study.notes)
    assert with_pixel_size(study, None) is study


def test_resample_crop_keeps_the_mask() -> None:
    crop = np.zeros((1, 20, 20), dtype=np.uint8)
    crop[0, 5:15, 5:15] = 120
    small = resample_crop(crop, 0.32, 0.64)
    assert small.shape == (1, 10, 10) and set(np.unique(small)) <= {0, 120}
    assert (small > 0).sum() == pytest.approx(25, abs=6)
    assert resample_crop(crop, 0.64, 0.64) is not None


# --- the CLI: exit 2 without the pixel size ---


def test_cli_refuses_a_whole_slice_without_pixel_mm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    u8, seed, _ = _phantom_slice()
    path = tmp_path / "slice.png"
    path.write_bytes(_png(u8, 1))
    code = main(["predict", "ct", str(path), "--center", f"{seed.col},{seed.row}", "--json"])
    err = capsys.readouterr().err
    assert code == 2 and "--pixel-mm" in err and "pixel size" in err and err.count("\n") == 1


def test_cli_refuses_an_implausible_pixel_mm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    u8, seed, _ = _phantom_slice()
    path = tmp_path / "slice.png"
    path.write_bytes(_png(u8, 1))
    code = main(["predict", "ct", str(path), "--center", f"{seed.col},{seed.row}", "--pixel-mm", "-1"])
    assert code == 2 and "pixel size must be" in capsys.readouterr().err


# --- the same nodule at 1x/2x/3x: the same probability ---


def test_phantom_slice_at_three_scales_agrees(model, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    u8, seed, pixel_mm = _phantom_slice()
    probabilities = []
    diameters = []
    for scale in SCALES:
        path = tmp_path / f"slice_{scale}x.png"
        path.write_bytes(_png(u8, scale))
        center = f"{seed.col * scale},{seed.row * scale}"
        args = ["predict", "ct", str(path), "--center", center, "--pixel-mm", f"{pixel_mm / scale:.6f}", "--json"]
        assert main(args) == 0
        doc = json.loads(capsys.readouterr().out)
        probabilities.append(doc["probability"])
        diameters.append(doc["diameter_mm"])
    assert max(probabilities) - min(probabilities) <= 0.05, probabilities
    assert max(diameters) - min(diameters) <= 1.0, diameters
    assert all(d == pytest.approx(12.0, abs=2.0) for d in diameters)
    # the DICOM of the same phantom, with its real spacing, agrees too
    phantom = make_phantom("solid", 12.0)
    reference = analyse_nodule(model, None, phantom.study, phantom.seed, explain="none").probability
    assert abs(np.mean(probabilities) - reference) <= 0.05


def test_lidc_crop_at_three_scales_agrees(model) -> None:
    crop = read_ct_path(_lidc_nodule())
    volume = hu_to_training_scale(crop.hu)
    probabilities = []
    for scale in SCALES:
        slices = [np.asarray(Image.open(io.BytesIO(_png(s, scale, Image.Resampling.NEAREST)))) for s in volume]
        from medai_core.ct.readers import study_from_u8

        study = with_pixel_size(study_from_u8(np.stack(slices), "PNG folder"), 0.64 / scale)
        probabilities.append(analyse_nodule(model, None, study, None, explain="none").probability)
    assert max(probabilities) - min(probabilities) <= 0.05, probabilities


def test_resample_crop_keeps_non_square_pixels_apart() -> None:
    # a 10 x 10 pixel nodule of 0.32 mm rows and 0.64 mm columns is 3.2 mm tall and 6.4 mm wide
    crop = np.zeros((1, 64, 64), dtype=np.uint8)
    crop[0, 27:37, 27:37] = 200
    out = resample_crop(crop, (0.32, 0.64), 0.64)
    rows, columns = np.nonzero(out[0])
    assert out.shape == (1, 32, 64)
    assert rows.max() - rows.min() + 1 == 5 and columns.max() - columns.min() + 1 == 10
