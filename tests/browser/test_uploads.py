"""Real files uploaded in chromium: each page reads them and shows its result, with no exception."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, CHROMIUM, chromium_browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

LONG = 240_000


@pytest.fixture
def page(server: str) -> Iterator[Any]:
    with chromium_browser() as browser:
        tab = browser.new_page(viewport={"width": 1400, "height": 1100})
        tab.goto(server, wait_until="domcontentloaded")
        tab.get_by_text("Models run on:").first.wait_for(timeout=LONG)
        yield tab


def _settle(tab: Any) -> None:
    time.sleep(1.5)
    tab.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=LONG)


def _open(tab: Any, link: str) -> None:
    tab.get_by_role("link", name=link).first.click()
    _settle(tab)


def _upload(tab: Any, path: Path) -> None:
    tab.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    _settle(tab)


def _finish(tab: Any, name: str) -> None:
    assert tab.locator('[data-testid="stException"]').count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_ct_png_crop(page: Any) -> None:
    lidc = Path(__file__).resolve().parents[1] / "data" / "ct" / "lidc" / "images" / "malignant"
    nodule = next(p for p in sorted(lidc.glob("*/*")) if p.is_dir())  # a 64 x 64 LIDC crop (CC BY 3.0)
    _open(page, "CT nodule")
    _upload(page, nodule / "0.png")
    page.get_by_text("This is a masked nodule crop").first.wait_for(timeout=LONG)  # read as its own masked crop
    page.get_by_text("Malignancy probability").first.wait_for(timeout=LONG)
    page.get_by_text("What the model looked at").first.wait_for(timeout=LONG)
    _finish(page, "ct_png")


def test_ct_png_slice_with_typed_pixel_size(page: Any, tmp_path: Path) -> None:
    from PIL import Image

    from medai_core.ct.phantom import make_phantom
    from medai_core.ct.prepare import hu_to_training_scale

    phantom = make_phantom("solid", 12.0)
    path = tmp_path / "slice.png"
    Image.fromarray(hu_to_training_scale(phantom.study.hu[phantom.seed.slice_index])).save(path)
    _open(page, "CT nodule")
    _upload(page, path)
    page.get_by_text("carries no pixel size").first.wait_for(timeout=LONG)  # refused until it is given
    for label, value in (
        ("x (column)", phantom.seed.col),
        ("y (row)", phantom.seed.row),
        ("Pixel size (mm)", 0.7),
    ):
        field = page.get_by_label(label, exact=True).first
        field.fill(str(value))
        field.press("Enter")
        _settle(page)
    page.get_by_role("button", name="Analyse at this centre").click()
    _settle(page)
    page.get_by_text("Malignancy probability").first.wait_for(timeout=LONG)
    page.get_by_text("as given by the user").first.wait_for(timeout=LONG)
    _finish(page, "ct_png_slice")


def test_ct_dicom_slice_with_typed_centre(page: Any, tmp_path: Path) -> None:
    from medai_core.ct.demo import CT_SMALL_SEED, demo_bytes

    data, _ = demo_bytes("ct_small")
    path = tmp_path / "slice.dcm"
    path.write_bytes(data)
    _open(page, "CT nodule")
    _upload(page, path)
    page.get_by_text("de-identified header").first.wait_for(timeout=LONG)
    for label, value in (("x (column)", CT_SMALL_SEED.col), ("y (row)", CT_SMALL_SEED.row)):
        field = page.get_by_label(label, exact=True).first
        field.fill(str(value))
        field.press("Enter")
        _settle(page)
    page.get_by_role("button", name="Analyse at this centre").click()
    _settle(page)
    page.get_by_text("Malignancy probability").first.wait_for(timeout=LONG)
    _finish(page, "ct_dicom")


def test_glucose_dexcom_export(page: Any) -> None:
    _open(page, "Glucose (CGM)")
    _upload(page, Path(__file__).resolve().parents[1] / "data" / "glucose" / "dexcom_clarity_g7_mgdl.csv")
    # values only the upload has (the demo is simulated, 14 days): its source and its reading count
    page.get_by_text("dexcom clarity", exact=True).first.wait_for(timeout=LONG)
    page.get_by_text("1,140", exact=True).first.wait_for(timeout=LONG)
    page.get_by_text("Time in range").first.wait_for(timeout=LONG)
    page.get_by_text("Forecast and hypoglycaemia risk").first.wait_for(timeout=LONG)
    _finish(page, "glucose_dexcom")


def test_gene_panel_maf(page: Any) -> None:
    # A fixture of the repository whose content the demo cannot produce: 8 calls (the demo has 11), a TP53 call
    # recovered from a protein_protein_contact row, and the reader's note about it.
    fixture = Path(__file__).resolve().parents[1] / "data" / "genes" / "vep_so_terms.maf"
    _open(page, "Gene panel")
    _upload(page, fixture)
    page.get_by_text("Choose the tumour type", exact=False).first.wait_for(timeout=LONG)  # an upload needs one
    tumour = page.get_by_label("Tumour type (OncoTree; type to search, e.g. LUAD, GIST)", exact=False).first
    tumour.click()
    page.keyboard.type("Melanoma (MEL)")
    page.keyboard.press("Enter")
    _settle(page)
    page.get_by_text("Therapy options").first.wait_for(timeout=LONG)
    page.get_by_text("Overall survival on immunotherapy, by drug class").first.wait_for(timeout=LONG)
    page.get_by_text("Variants (8 calls, 5 nonsynonymous)").first.wait_for(timeout=LONG)
    page.get_by_text("protein_protein_contact", exact=False).first.wait_for(timeout=LONG)
    assert page.get_by_text("synthetic demo panel", exact=False).count() == 0
    _finish(page, "genes_maf")
