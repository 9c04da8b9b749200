"""CT input appropriateness, the out-of-distribution score and Lung-RADS by the book (issue 18's CT examples).

Every example of the issue that is CT is here: scikit-image's astronaut.png was scored 96 % malignant; pydicom's
dicomdirtests CT5N (five 16 x 16 slices, 7.8 mm across) was scored 86 %; a HEAD CT was accepted without a word;
axes 6.4 x 5.52 mm gave "mean diameter 6.0 mm < 6 mm", category 2.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medai_core.ct.analysis import check_cli_input
from medai_core.ct.appropriateness import REGION_TERMS, input_flags, region_terms
from medai_core.ct.lungrads import lung_rads_size_category, round_diameter_mm
from medai_core.ct.ood import OodStats, fit_ood_stats, ood_result
from medai_core.ct.phantom import make_phantom, phantom_dicom_files
from medai_core.ct.prepare import Seed
from medai_core.ct.readers import read_ct
from medai_core.errors import ImageInputError

LIDC = Path(__file__).resolve().parents[1] / "data" / "ct" / "lidc"


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _phantom_zip(phantom, **header: object) -> bytes:
    """The phantom as a zipped DICOM series with extra header fields set."""
    import pydicom

    files = {}
    for k, data in enumerate(phantom_dicom_files(phantom)):
        ds = pydicom.dcmread(io.BytesIO(data))
        for keyword, value in header.items():
            setattr(ds, keyword, value)
        out = io.BytesIO()
        ds.save_as(out)
        files[f"series/IM{k:04d}.dcm"] = out.getvalue()
    return _zip(files)


# --- Lung-RADS by the book -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mm", "category"),
    [
        (5.94, "2"),
        (5.95, "3"),
        (6.0, "3"),
        (7.94, "3"),
        (7.95, "4A"),
        (8.0, "4A"),
        (14.94, "4A"),
        (14.95, "4B"),
        (15.0, "4B"),
    ],
)
def test_lung_rads_rounds_the_mean_diameter_to_a_tenth_first(mm: float, category: str) -> None:
    assert lung_rads_size_category(mm).category == category


def test_issue_axes_6_4_by_5_52_mm_are_category_3_and_the_rule_says_so() -> None:
    result = lung_rads_size_category((6.4 + 5.52) / 2)  # 5.96 mm: Lung-RADS v2022 measures 6.0 mm
    assert result.category == "3"
    assert "6.0 mm" in result.rule and "< 6 mm" not in result.rule


@pytest.mark.parametrize("mm", [*np.round(np.arange(4.0, 17.0, 0.05), 3).tolist(), 5.949999, 7.9500001, 14.95])
def test_rule_text_and_category_agree(mm: float) -> None:
    result = lung_rads_size_category(mm)
    shown = float(re.search(r"mean diameter (\d+\.\d) mm", result.rule).group(1))  # type: ignore[union-attr]
    assert shown == round_diameter_mm(mm)
    assert lung_rads_size_category(shown).category == result.category


def test_a_diameter_that_is_no_number_is_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        lung_rads_size_category(float("nan"))


# --- input appropriateness: refused before any score -----------------------------------------------------------


def test_camera_photograph_is_refused() -> None:
    image = Image.fromarray(np.full((128, 128), 120, dtype=np.uint8))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "EOS 5D"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    study = read_ct(buffer.getvalue(), name="photo.jpg", pixel_mm=0.7)
    assert study.camera == "Canon EOS 5D"
    with pytest.raises(ImageInputError, match="camera photograph"):
        check_cli_input(study, Seed(64, 64), "photo.jpg")


# --- flags: scored, shown greyed with the reason ---------------------------------------------------------------


def test_protocol_naming_another_region_is_flagged() -> None:
    phantom = make_phantom("solid", 12.0)
    study = read_ct(_phantom_zip(phantom, ProtocolName="ROUTINE ABDOMEN/PELVIS"), name="abd.zip")
    assert study.region_terms == (("ProtocolName", "ABDOMEN"), ("ProtocolName", "PELVIS"))
    assert any("ABDOMEN in ProtocolName" in r for r in input_flags(study))


@pytest.mark.parametrize(
    ("value", "terms"),
    [
        ("HEAD", ("HEAD",)),
        ("C-SPINE", ("SPINE", "CSPINE")),
        ("CHEST_ABDOMEN", ("CHEST", "ABDOMEN", "CHESTABDOMEN")),
        ("Thorax routine 1.25mm", ("THORAX",)),
        ("LUNG SCREENING", ("LUNG",)),
        ("", ()),
        ("HEADACHE", ()),  # words, not substrings
    ],
)
def test_region_vocabulary(value: str, terms: tuple[str, ...]) -> None:
    found = region_terms({"BodyPartExamined": value})
    assert tuple(t for _, t in found) == terms
    assert all(t in REGION_TERMS for t in terms)


def test_spacing_outside_the_training_range_is_flagged() -> None:
    thick = make_phantom("solid", 12.0, slice_mm=7.0)
    assert any("slice thickness 7 mm" in r for r in input_flags(thick.study))
    coarse = make_phantom("solid", 12.0, spacing_mm=1.2, size=64)
    assert any("pixel size 1.2 mm" in r for r in input_flags(coarse.study))
    assert input_flags(make_phantom("solid", 12.0).study) == ()


# --- the out-of-distribution score -----------------------------------------------------------------------------


def test_ood_statistics_flag_about_the_chosen_share_of_new_draws_and_far_points() -> None:
    rng = np.random.default_rng(0)
    inputs = ("a", "b", "c")

    def draw(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return rng.normal(size=(n, 3)), rng.normal(size=(n, 49)) * 3.0 + 5.0, rng.normal(size=(n, 20))

    standardised, radiomics, embedding = draw(600)
    groups = np.repeat(np.arange(200), 3)
    stats, oof = fit_ood_stats(standardised, radiomics, embedding, groups, inputs, components=4, quantile=0.98)
    assert (oof > stats.threshold).mean() == pytest.approx(0.02, abs=0.005)
    fresh = stats.distances(stats.vectors(*draw(2000)))
    assert 0.002 < (fresh > stats.threshold).mean() < 0.08
    labels = ["A", "B", "C"]
    typical = (np.zeros(3), np.full(49, 5.0), np.zeros(20))
    far = ood_result(stats, np.array([0.0, 12.0, 0.0]), *typical[1:], labels)
    assert far.flagged and far.score is not None and far.score > stats.threshold
    assert "B +1" in far.reasons[0] and "trained on" in far.reasons[0]
    near = ood_result(stats, *typical, labels, ["a header flag"])
    assert near.flagged and near.reasons == ("a header flag",)
    assert not ood_result(stats, *typical, labels).flagged
    assert ood_result(None, *typical, labels).score is None
    again = OodStats.from_dict(json.loads(json.dumps(stats.to_dict())))
    vectors = stats.vectors(standardised[:5], radiomics[:5], embedding[:5])
    assert again.distances(vectors) == pytest.approx(stats.distances(vectors), rel=1e-3)
