"""The CT nodule page in Streamlit's AppTest: demos, uploads of every kind, and the error paths."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from streamlit.testing.v1 import AppTest

from medai_core.audit import AuditLog
from medai_core.ct.phantom import make_phantom, phantom_dicom_zip
from tests.app.headlines import headlines

REPO = Path(__file__).resolve().parents[2]
PHANTOM_DEMO = "Demo: synthetic nodule phantom (SYNTHETIC)"
REAL_DEMO = "Demo: real CT slice (pydicom CT_small)"
LUNG_RADS = "Guideline: Lung-RADS (size only)"


@pytest.fixture
def page() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("pages/ct_nodule.py")
    at.run()
    assert not at.exception
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return headlines(at)


def _upload(at: AppTest, name: str, data: bytes, mime: str) -> None:
    at.file_uploader(key="ct.upload").set_value((name, data, mime))
    at.run()


def test_page_without_input_asks_for_one(page: AppTest) -> None:
    assert any("Upload a CT image" in i.value for i in page.info)


def test_phantom_demo_shows_every_result(page: AppTest) -> None:
    page.radio(key="ct.source").set_value(PHANTOM_DEMO).run()
    assert not page.exception and not page.error
    metrics = _metrics(page)
    probability, band = metrics["Malignancy probability (model)"].split(" | ")
    assert re.fullmatch(r"\d+ % \(\d+-\d+ %\)", probability)  # the answer with its interval
    # a synthetic phantom is no LIDC nodule: greyed, the badge and the card say so, with the reason
    assert band == "outside what this model was trained on"
    assert any("far from every nodule it was trained on" in m.value for m in page.markdown)
    assert metrics[LUNG_RADS] == "4A"  # the default 12 mm phantom
    assert any("What this means:" in m.value and "What it does not mean:" in m.value for m in page.markdown)
    assert any("SYNTHETIC" in w.value for w in page.warning)
    assert any("Check:" in m.value for m in page.markdown)
    assert len(page.get("plotly_chart")) >= 6  # incl. the radiomics contributions beside Grad-CAM
    assert any("coefficient x (value - training mean)" in c.value for c in page.caption)
    assert any(c.value.startswith("Interval ") and "bootstrap" in c.value for c in page.caption)
    assert any("saliency" in t.value for t in [*page.caption, *page.warning])  # its share inside the nodule
    rows = AuditLog().rows()
    assert [r.page for r in rows] == ["ct_nodule"] and rows[0].model_id == "ct_nodule"
    page.slider(key="ct.opacity").set_value(0.8).run()
    assert not page.exception
    assert len(AuditLog().rows()) == 1  # a rerun of the same analysis adds no audit row


def test_real_dicom_demo_and_seed_errors(page: AppTest) -> None:
    page.radio(key="ct.source").set_value(REAL_DEMO).run()
    assert not page.exception and not page.error
    assert _metrics(page)[LUNG_RADS] == "2"
    page.number_input(key="ct.seed_x").set_value(500).run()
    assert not page.exception
    assert any("outside the image" in e.value for e in page.error)
    page.number_input(key="ct.seed_x").set_value(3).run()  # aerated lung in the top-left corner
    page.number_input(key="ct.seed_y").set_value(3).run()
    assert not page.exception
    assert any("lung" in e.value or "air" in e.value for e in page.error)


def test_upload_series_zip_with_typed_seed(page: AppTest) -> None:
    phantom = make_phantom("calcified", 9.0)
    _upload(page, "series.zip", phantom_dicom_zip(phantom), "application/zip")
    page.number_input(key="ct.seed_x").set_value(phantom.seed.col).run()
    page.number_input(key="ct.seed_y").set_value(phantom.seed.row).run()
    page.slider(key="ct.slice_number").set_value(phantom.seed.slice_index + 1).run()  # shown 1-based
    assert any("Mark the nodule" in i.value for i in page.info)  # the default centre is not analysed
    page.button(key="ct.use_seed").click().run()
    assert not page.exception and not page.error
    assert _metrics(page)[LUNG_RADS] == "4A"


def test_upload_dicom_and_png_crop(page: AppTest) -> None:
    _upload(page, "CT_small.dcm", Path(str(get_testdata_file("CT_small.dcm"))).read_bytes(), "application/dicom")
    assert not page.exception and not page.error
    assert any("Mark the nodule" in i.value for i in page.info)  # no analysis until the nodule is marked
    page.number_input(key="ct.seed_x").set_value(5).run()
    page.number_input(key="ct.seed_y").set_value(24).run()
    assert not page.exception and not page.error
    assert _metrics(page)[LUNG_RADS] == "2"
    crop = np.zeros((64, 64), np.uint8)
    yy, xx = np.mgrid[:64, :64]
    crop[(yy - 32) ** 2 + (xx - 32) ** 2 <= 81] = 225
    buffer = io.BytesIO()
    Image.fromarray(crop).save(buffer, format="PNG")
    _upload(page, "crop.png", buffer.getvalue(), "image/png")
    assert not page.exception and not page.error
    assert any("no seed needed" in s.value for s in page.success)
    assert _metrics(page)[LUNG_RADS] == "not available"  # a masked crop has no size in mm


def test_whole_png_slice_asks_for_the_pixel_size(page: AppTest) -> None:
    from medai_core.ct.prepare import hu_to_training_scale

    phantom = make_phantom("solid", 12.0)
    seed = phantom.seed
    buffer = io.BytesIO()
    Image.fromarray(hu_to_training_scale(phantom.study.hu[seed.slice_index])).save(buffer, format="PNG")
    _upload(page, "slice.png", buffer.getvalue(), "image/png")
    assert not page.exception and not page.error
    assert any("probability depends on it" in c.value for c in page.caption)
    page.number_input(key="ct.seed_x").set_value(seed.col).run()
    page.number_input(key="ct.seed_y").set_value(seed.row).run()
    page.button(key="ct.use_seed").click().run()
    assert any("carries no pixel size" in i.value for i in page.info)  # refused until the pixel size is given
    assert not _metrics(page)
    page.number_input(key="ct.pixel_mm").set_value(0.7).run()
    assert not page.exception and not page.error
    metrics = _metrics(page)
    assert metrics["Size"].endswith(" mm") and abs(float(metrics["Size"].split()[0]) - 12.0) <= 2.0
    assert any("as given by the user" in c.value for c in page.caption)


def test_upload_that_is_not_an_image(page: AppTest) -> None:
    _upload(page, "notes.txt", b"patient notes, not an image", "text/plain")
    assert not page.exception
    assert any("not an image" in e.value for e in page.error)


def test_colour_photo_is_refused_before_the_pixel_size_is_asked(page: AppTest) -> None:
    import skimage

    photo = (Path(skimage.__file__).parent / "data" / "astronaut.png").read_bytes()
    _upload(page, "astronaut.png", photo, "image/png")
    assert not page.exception
    assert any("colour image" in e.value for e in page.error)
    assert not _metrics(page) and not any("carries no pixel size" in i.value for i in page.info)
