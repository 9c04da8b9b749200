"""Out-of-distribution checks through the shipped CT model and the predict command (model tier)."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medai_core.ct.analysis import analyse_nodule, check_cli_input
from medai_core.ct.appropriateness import input_flags
from medai_core.ct.ood import OOD_FILENAME, load_ood_stats
from medai_core.ct.phantom import make_phantom
from medai_core.ct.prepare import Seed, hu_to_training_scale
from medai_core.ct.readers import read_ct, read_ct_path, study_from_u8
from medai_core.errors import ImageInputError, ModelIntegrityError
from tests.unit.test_ct_ood import LIDC, _phantom_zip, _zip


@pytest.fixture(scope="module")
def model():
    from medai_core.models import load_model

    return load_model("ct_nodule")


def _pydicom_test_file(relative: str) -> Path:
    import pydicom

    return Path(pydicom.__file__).parent / "data" / "test_files" / relative


def _png(array: np.ndarray, **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", **save)
    return buffer.getvalue()


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


# --- the out-of-distribution score -----------------------------------------------------------------------------


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
