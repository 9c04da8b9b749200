"""Analysis with the shipped ct_nodule model: crops, phantoms, the real DICOM demo, and every seed error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medai_core.ct.analysis import analyse_nodule, make_ensemble_grad_cam, risk_band
from medai_core.ct.demo import CT_SMALL_SEED, demo_bytes, demo_seed
from medai_core.ct.phantom import make_phantom
from medai_core.ct.prepare import Seed
from medai_core.ct.readers import read_ct, read_ct_path
from medai_core.ct.report import audit_outputs, build_report, report_payload
from medai_core.errors import ImageInputError
from medai_core.reports import render_html, render_json

LIDC = Path(__file__).resolve().parents[1] / "data" / "ct" / "lidc"


@pytest.fixture(scope="module")
def model():
    from medai_core.models import load_model

    return load_model("ct_nodule")


@pytest.fixture(scope="module")
def grad_cam(model):
    return make_ensemble_grad_cam(model)


def test_phantom_analysis_is_complete_and_consistent(model, grad_cam) -> None:
    phantom = make_phantom("spiculated", 16.0)
    result = analyse_nodule(model, grad_cam, phantom.study, phantom.seed)
    assert 0.0 <= result.low <= result.probability <= result.high <= 1.0
    assert len(result.member_probabilities) == model.card.artifacts["members"]
    assert result.risk_band == risk_band(result.probability, result.thresholds)
    assert result.long_axis_mm is not None and 14.0 <= result.long_axis_mm <= 21.0
    assert result.lung_rads.category == "4B"
    depth = result.crop_u8.shape[0]
    assert result.grad_cam.shape == (depth, 64, 64)
    assert all(result.grad_cam[d].max() > 0 for d in result.scored_slices)  # every scored slice is explained
    assert result.deletion is not None and result.deletion.salient.shape == (9,)
    assert "SYNTHETIC" in " ".join(result.notes)
    summary = result.summary()
    assert summary["weights_sha256"] == model.card.weights_sha256


def test_explain_levels(model, grad_cam) -> None:
    phantom = make_phantom("solid", 10.0)
    key = analyse_nodule(model, grad_cam, phantom.study, phantom.seed, explain="key")
    none = analyse_nodule(model, None, phantom.study, phantom.seed, explain="none")
    assert key.probability == pytest.approx(none.probability)
    assert key.deletion is None and key.grad_cam[key.explained_slice].max() > 0
    assert not none.grad_cam.any()


def test_lidc_crop_needs_no_seed(model) -> None:
    nodule = next(p for p in sorted((LIDC / "images" / "malignant").glob("*/*")) if p.is_dir())
    result = analyse_nodule(model, None, read_ct_path(nodule), None, explain="none")
    assert 0.0 <= result.probability <= 1.0
    assert result.long_axis_mm is None and result.lung_rads.category == "n/a"


def test_real_dicom_demo(model, grad_cam) -> None:
    data, name = demo_bytes("ct_small")
    assert demo_seed("ct_small") == CT_SMALL_SEED
    result = analyse_nodule(model, grad_cam, read_ct(data, name=name), CT_SMALL_SEED)
    assert result.long_axis_mm is not None and result.long_axis_mm < 6.0
    report = build_report(result, model.card, data)
    html = render_html(report)
    assert "CompressedSamples" not in html and "JFK" not in html
    assert "Lung-RADS" in html
    assert "CompressedSamples" not in render_json(report, report_payload(result))
    assert set(audit_outputs(result)) == {"probability", "interval", "risk_band", "lung_rads"}


def test_whole_slice_without_seed(model) -> None:
    data, name = demo_bytes("ct_small")
    with pytest.raises(ImageInputError, match="give the nodule's centre"):
        analyse_nodule(model, None, read_ct(data, name=name), None)


@pytest.mark.parametrize(
    ("seed", "fragment"), [(Seed(200, 5, 0), "outside the image"), (Seed(64, 20, 0), "aerated lung|air")]
)
def test_bad_seeds(model, seed: Seed, fragment: str) -> None:
    data, name = demo_bytes("ct_small")
    study = read_ct(data, name=name)
    hu = study.hu[0]
    if "lung" in fragment:
        row, col = np.argwhere(hu[1:-1, 1:-1] < -800)[0] + 1
        seed = Seed(int(row), int(col), 0)
    with pytest.raises(ImageInputError, match=fragment):
        analyse_nodule(model, None, study, seed, explain="none")


def test_worker_warm_up_leaves_no_tracing_for_the_first_users() -> None:
    """An analysis worker's warm-up (``load_models``) analyses two crop depths, so a first upload of a third depth
    traces none of the model's functions again (a retrace costs about 0.3 s of that user's wait)."""
    from medai_core import workers
    from medai_core.ct.ood import _EMBEDDERS
    from medai_core.domains import CT

    workers.load_models(((CT.model_id, "warm-up test"),))
    loaded = workers._model(CT.model_id, "warm-up test")
    functions = (loaded._infer, _EMBEDDERS[loaded.keras_model], workers._ct_grad_cam(CT.model_id, "warm-up test")._step)

    def tracings() -> list[int]:
        return [f.experimental_get_tracing_count() for f in functions]

    before = tracings()
    case = "phantom:part-solid:14"
    data, name = demo_bytes(case)
    seed = demo_seed(case)
    workers.ct_job(CT.model_id, "warm-up test", data, name, (seed.row, seed.col, seed.slice_index), -500.0, None)
    assert tracings() == before


def test_the_page_sends_the_study_it_read_and_the_analysis_is_the_same_as_from_the_bytes() -> None:
    """The page's analysis job takes the study the isolated reader already made of the upload (not the bytes to read
    again): the result is the same, bit for bit."""
    import pickle

    from medai_core import workers
    from medai_core.domains import CT

    case = "phantom:spiculated:11"
    data, name = demo_bytes(case)
    seed = demo_seed(case)
    point = (seed.row, seed.col, seed.slice_index)
    from_bytes = workers.ct_job(CT.model_id, "same-study test", data, name, point, -500.0, None)
    study = read_ct(data, name=name)
    from_study = workers.ct_job(CT.model_id, "same-study test", study, name, point, -500.0, None)
    assert pickle.dumps(from_study) == pickle.dumps(from_bytes)
