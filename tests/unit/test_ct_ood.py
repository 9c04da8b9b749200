"""CT input appropriateness, the out-of-distribution score and Lung-RADS by the book (issue 18's CT examples).

Every example of the issue that is CT is here: scikit-image's astronaut.png was scored 96 % malignant; pydicom's
dicomdirtests CT5N (five 16 x 16 slices, 7.8 mm across) was scored 86 %; a HEAD CT was accepted without a word;
axes 6.4 x 5.52 mm gave "mean diameter 6.0 mm < 6 mm", category 2.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medai_core.ct.analysis import analyse_nodule, check_cli_input
from medai_core.ct.appropriateness import REGION_TERMS, input_flags, region_terms
from medai_core.ct.lungrads import lung_rads_size_category, round_diameter_mm
from medai_core.ct.ood import OOD_FILENAME, OodStats, fit_ood_stats, load_ood_stats, ood_result
from medai_core.ct.phantom import make_phantom, phantom_dicom_files
from medai_core.ct.prepare import Seed, hu_to_training_scale
from medai_core.ct.readers import read_ct, read_ct_path, study_from_u8
from medai_core.errors import ImageInputError, ModelIntegrityError

LIDC = Path(__file__).resolve().parents[1] / "data" / "ct" / "lidc"


@pytest.fixture(scope="module")
def model():
    from medai_core.models import load_model

    return load_model("ct_nodule")


def _pydicom_test_file(relative: str) -> Path:
    import pydicom

    return Path(pydicom.__file__).parent / "data" / "test_files" / relative


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


def _png(array: np.ndarray, **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", **save)
    return buffer.getvalue()


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


def test_issue_astronaut_photo_is_refused_not_scored(model) -> None:
    import skimage

    data = (Path(skimage.__file__).parent / "data" / "astronaut.png").read_bytes()
    study = read_ct(data, name="astronaut.png", pixel_mm=0.7)
    with pytest.raises(ImageInputError, match="colour image"):
        analyse_nodule(model, None, study, Seed(row=256, col=256), explain="none")
    with pytest.raises(ImageInputError, match="colour image"):
        check_cli_input(study, Seed(row=256, col=256), "astronaut.png")
    without_size = read_ct(data, name="astronaut.png")  # refused as a photo before the pixel size is asked for
    with pytest.raises(ImageInputError, match="colour image"):
        check_cli_input(without_size, Seed(row=256, col=256), "astronaut.png")


def test_a_few_coloured_annotation_pixels_are_still_scored(model) -> None:
    phantom = make_phantom("solid", 12.0, slices=1)
    grey = hu_to_training_scale(phantom.study.hu[0])
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    rgb[5:9, 5:25] = (255, 0, 0)  # a red label of 80 pixels, 0.9 % of the image
    study = read_ct(_png(rgb), name="annotated.png", pixel_mm=0.7)
    assert study.coloured_pixels == 80
    result = analyse_nodule(model, None, study, Seed(phantom.seed.row, phantom.seed.col), explain="none")
    assert 0.0 <= result.probability <= 1.0


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


def test_issue_ct5n_tiny_field_of_view_is_refused(model) -> None:
    folder = _pydicom_test_file("dicomdirtests/98892001/CT5N")
    series = _zip({p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()})
    study = read_ct(series, name="CT5N.zip")
    assert study.shape == (5, 16, 16)
    with pytest.raises(ImageInputError, match=r"field of view is 7\.8 x 7\.8 mm"):
        analyse_nodule(model, None, study, Seed(8, 8, 2), explain="none")
    one = read_ct(next(p for p in sorted(folder.iterdir()) if p.is_file()).read_bytes(), name="one.dcm")
    with pytest.raises(ImageInputError, match="field of view"):
        check_cli_input(one, Seed(8, 8, 0), "one.dcm")


def test_mr_intensities_stored_as_ct_are_refused(model) -> None:
    phantom = make_phantom("solid", 12.0)
    no_air = dataclasses.replace(phantom.study, hu=phantom.study.hu + 1100.0)  # e.g. an MR exported as CT
    with pytest.raises(ImageInputError, match="not those of a lung CT"):
        analyse_nodule(model, None, no_air, phantom.seed, explain="none")


def test_segmentation_reaching_the_image_border_is_refused_with_advice(model) -> None:
    phantom = make_phantom("solid", 12.0)
    wall = Seed(row=phantom.seed.row, col=phantom.study.shape[2] - 3, slice_index=phantom.seed.slice_index)
    with pytest.raises(ImageInputError, match="border of the image") as info:
        analyse_nodule(model, None, phantom.study, wall, explain="none")
    assert "seed" in str(info.value) and "threshold" in str(info.value)


def test_masked_crop_cut_by_its_border_is_refused(model) -> None:
    crop = np.zeros((1, 64, 64), dtype=np.uint8)
    crop[0, 20:40, 0:18] = 200  # the nodule runs into the crop's left edge
    with pytest.raises(ImageInputError, match="border of the uploaded crop"):
        analyse_nodule(model, None, study_from_u8(crop, "PNG"), None, explain="none")


# --- flags: scored, shown greyed with the reason ---------------------------------------------------------------


def test_issue_head_ct_is_flagged_with_the_reason(model) -> None:
    phantom = make_phantom("solid", 12.0)
    head = read_ct(_phantom_zip(phantom, BodyPartExamined="HEAD"), name="head.zip")
    result = analyse_nodule(model, None, head, phantom.seed, explain="none")
    assert result.ood.flagged
    assert any("HEAD in BodyPartExamined" in r for r in result.ood.reasons)
    doc = result.summary()["ood"]
    assert doc["flagged"] is True and any("HEAD" in r for r in doc["reasons"])
    chest = read_ct(_phantom_zip(phantom, BodyPartExamined="CHEST", ProtocolName="HEAD AND CHEST"), name="chest.zip")
    assert not any("region" in r for r in input_flags(chest))


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


def test_shipped_statistics_are_checked_by_sha256(model, tmp_path: Path) -> None:
    assert load_ood_stats(model) is not None
    folder = model.path.parent
    for name in (model.path.name, "model_card.json"):
        shutil.copy(folder / name, tmp_path / name)
    original = (folder / OOD_FILENAME).read_text()
    text = original.replace('"threshold":', '"threshold":1')
    assert text != original
    (tmp_path / OOD_FILENAME).write_text(text)
    changed = dataclasses.replace(model, path=tmp_path / model.path.name)
    with pytest.raises(ModelIntegrityError, match="sha256"):
        load_ood_stats(changed)


def test_real_held_out_nodules_are_not_flagged_and_json_carries_ood(model) -> None:
    held_out = set(model.card.artifacts["held_out_exam_ids"])
    folders = [p for p in sorted((LIDC / "images").glob("*/*/*")) if p.is_dir() and p.parts[-2] in held_out]
    assert folders
    for folder in folders:
        result = analyse_nodule(model, None, read_ct_path(folder), None, explain="none")
        doc = result.summary()["ood"]
        assert set(doc) == {"score", "threshold", "flagged", "reasons"}
        assert doc["score"] is not None and doc["score"] <= doc["threshold"], folder
        assert doc["flagged"] is False and doc["reasons"] == []


def test_probabilities_are_unchanged_by_the_checks(model) -> None:
    """The demo cases score as before the checks were added (the model and its stacker are untouched; 1e-4 allows
    for the float differences of TensorFlow kernels chosen by earlier batch shapes in the same process). The
    synthetic phantoms are flagged: they are not LIDC nodules."""
    before = {"solid": (12.0, 0.8674063), "spiculated": (16.0, 0.9588514), "part-solid": (14.0, 0.9741250)}
    for kind, (mm, probability) in before.items():
        phantom = make_phantom(kind, mm)  # type: ignore[arg-type]
        result = analyse_nodule(model, None, phantom.study, phantom.seed, explain="none")
        assert result.probability == pytest.approx(probability, abs=1e-4)
        assert result.ood.flagged and "far from every nodule" in result.ood.reasons[0]


# --- the command line: predict JSON and batch rows carry ood; refusals exit 2 ---------------------------------------


def test_predict_json_and_batch_rows_carry_ood(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd
    import skimage

    from medai_core.batch import BatchOptions, run_batch
    from medai_core.cli import main

    card_path = Path(__file__).resolve().parents[2] / "models" / "ct_nodule" / "model_card.json"
    held_out_ids = set(json.loads(card_path.read_text())["artifacts"]["held_out_exam_ids"])
    nodule = next(p for p in sorted((LIDC / "images").glob("*/*/*")) if p.is_dir() and p.parts[-2] in held_out_ids)
    assert main(["predict", "ct", str(nodule), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["ood"]) == {"score", "threshold", "flagged", "reasons"} and doc["ood"]["flagged"] is False

    photo = tmp_path / "inputs" / "astronaut.png"
    photo.parent.mkdir()
    shutil.copy(Path(skimage.__file__).parent / "data" / "astronaut.png", photo)
    assert main(["predict", "ct", str(photo), "--pixel-mm", "0.7", "--center", "256,256", "--json"]) == 2
    assert "colour image" in capsys.readouterr().err

    shutil.copytree(nodule, tmp_path / "inputs" / "nodule")
    out = tmp_path / "rows.parquet"
    options = BatchOptions(center="256,256", pixel_mm=0.7)
    run_batch("ct", [str(tmp_path / "inputs")], out, options, progress=False)  # an archive: each entry one input
    rows = pd.read_parquet(out).set_index("input")
    crop_row = rows.loc[str(tmp_path / "inputs" / "nodule")]
    assert not bool(crop_row["ood.flagged"]) and crop_row["ood.score"] <= crop_row["ood.threshold"]
    assert json.loads(crop_row["ood.reasons"]) == []
    assert "colour image" in rows.loc[str(photo), "error"]
