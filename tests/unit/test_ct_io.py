"""CT readers: every accepted format, every bad-input path, HU conversion, spacing and de-identification."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from medai_core.ct.phantom import make_phantom, phantom_dicom_files, phantom_dicom_zip
from medai_core.ct.readers import MIN_IMAGE_SIDE, deidentify, read_ct, read_ct_path, read_dicom_zip, read_slice_folder
from medai_core.errors import ImageInputError, UploadTooLargeError

CT_SMALL = Path(str(get_testdata_file("CT_small.dcm")))

LIDC = Path(__file__).resolve().parents[1] / "data" / "ct" / "lidc"


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def phantom_slices() -> list[bytes]:
    return phantom_dicom_files(make_phantom("solid", 10.0, slices=7))


def test_ct_small_hounsfield_units_and_spacing() -> None:
    ds = pydicom.dcmread(CT_SMALL)
    study = read_ct(CT_SMALL.read_bytes(), name="CT_small.dcm")
    expected = ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert study.shape == (1, 128, 128)
    np.testing.assert_array_equal(study.hu[0], expected)
    assert study.spacing_mm == pytest.approx((0.661468, 0.661468))
    assert not study.is_masked_crop


def test_deidentified_metadata_holds_no_identifier() -> None:
    study = read_ct(CT_SMALL.read_bytes(), name="CT_small.dcm")
    text = repr(dict(study.metadata))
    for secret in ("CompressedSamples", "1CT1", "JFK IMAGING", "CT01_OC0", "20040119", "19970430", "ABCD1234"):
        assert secret not in text
    assert study.metadata["PatientIdentityRemoved"] == "YES"
    assert study.metadata["Modality"] == "CT"


def test_deidentify_removes_profile_attributes_and_private_tags() -> None:
    ds = pydicom.dcmread(CT_SMALL)
    clean = deidentify(ds)
    assert str(clean.PatientName) == "" and clean.PatientID == "" and clean.StudyDate == ""
    for keyword in ("InstitutionName", "StationName", "OtherPatientIDsSequence", "PatientAge", "SeriesDate"):
        assert keyword not in clean
    assert clean.SOPInstanceUID != ds.SOPInstanceUID
    assert not any(elem.tag.is_private for elem in clean)
    assert str(ds.PatientName) == "CompressedSamples^CT1"  # the original is untouched


def test_series_zip_is_ordered_by_position_whatever_the_member_order(phantom_slices: list[bytes]) -> None:
    shuffled = {f"s/{name}.dcm": phantom_slices[k] for name, k in zip("gcaebfd", range(7), strict=True)}
    study = read_ct(_zip(shuffled), name="series.zip")
    truth = make_phantom("solid", 10.0, slices=7).study.hu
    assert study.shape == (7, 96, 96)
    assert np.abs(study.hu - truth).max() <= 0.501  # rounding to integer stored values
    assert study.slice_spacing_mm == pytest.approx(1.25)
    assert "SYNTHETIC" not in repr(dict(study.metadata)).upper().replace("PS3.15", "")


def test_multiframe_dicom_reads_every_frame(phantom_slices: list[bytes]) -> None:
    first = pydicom.dcmread(io.BytesIO(phantom_slices[0]))
    frames = [pydicom.dcmread(io.BytesIO(b)).pixel_array for b in phantom_slices]
    first.NumberOfFrames = len(frames)
    first.PixelData = np.stack(frames).astype("<i2").tobytes()
    buffer = io.BytesIO()
    first.save_as(buffer)
    study = read_ct(buffer.getvalue(), name="multi.dcm")
    assert study.shape == (7, 96, 96)
    assert study.source_format == "DICOM multi-frame"
    assert study.slice_spacing_mm == pytest.approx(1.25)


def test_png_crop_and_whole_slice() -> None:
    crop = np.zeros((64, 64), np.uint8)
    crop[28:36, 28:36] = 220
    study = read_ct(_png(crop), name="crop.png")
    assert study.is_masked_crop and study.spacing_mm is None
    slice_like = np.full((200, 200), 60, np.uint8)
    assert not read_ct(_png(slice_like), name="slice.png").is_masked_crop


def test_lidc_folder_reader() -> None:
    nodule = next(p for p in sorted((LIDC / "images" / "benign").glob("*/*")) if p.is_dir())
    volume = read_slice_folder(nodule)
    assert volume.ndim == 3 and volume.shape[1:] == (64, 64) and volume.dtype == np.uint8
    assert read_ct_path(nodule).is_masked_crop


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"name,value\n1,2\n", "not an image"),
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "not a readable image"),
        (b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI", "truncated or corrupt"),
    ],
)
def test_bad_bytes_are_rejected_clearly(data: bytes, fragment: str) -> None:
    with pytest.raises(ImageInputError, match=fragment):
        read_ct(data, name="upload")


def test_truncated_dicom_pixel_data(phantom_slices: list[bytes]) -> None:
    with pytest.raises(ImageInputError, match=r"truncated|corrupt|cannot be decoded"):
        read_ct(phantom_slices[0][:-3000], name="cut.dcm")


@pytest.mark.parametrize("modality", ["MR", "SEG"])
def test_non_ct_modality_is_rejected(modality: str) -> None:
    data = phantom_dicom_files(make_phantom(slices=1), modality=modality)[0]
    with pytest.raises(ImageInputError, match=f"DICOM {modality} file, not CT"):
        read_ct(data, name="x.dcm")


def test_dicom_without_pixel_data(phantom_slices: list[bytes]) -> None:
    ds = pydicom.dcmread(io.BytesIO(phantom_slices[0]))
    del ds.PixelData
    buffer = io.BytesIO()
    ds.save_as(buffer)
    with pytest.raises(ImageInputError, match="no pixel data"):
        read_ct(buffer.getvalue(), name="header.dcm")


def test_image_too_small() -> None:
    tiny = np.full((MIN_IMAGE_SIDE - 4, 40), 200, np.uint8)
    with pytest.raises(ImageInputError, match="too small to hold a nodule"):
        read_ct(_png(tiny), name="tiny.png")


def test_zip_without_dicom() -> None:
    with pytest.raises(ImageInputError, match="holds no DICOM"):
        read_ct(_zip({"notes.txt": b"hello", "a.png": b"\x89PNG"}), name="x.zip")


@pytest.mark.parametrize("member", ["../evil.dcm", "/etc/evil.dcm", "a/../../evil.dcm", "C:/evil.dcm"])
def test_zip_path_traversal_is_refused(member: str, phantom_slices: list[bytes]) -> None:
    with pytest.raises(ImageInputError, match="unsafe file names"):
        read_ct(_zip({"ok/1.dcm": phantom_slices[0], member: phantom_slices[1]}), name="x.zip")


def test_zip_above_uncompressed_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAI_MAX_UPLOAD_MB", "1")
    bomb = _zip({"big.bin": b"\0" * (2 * 1024 * 1024)})
    assert len(bomb) < 100_000
    with pytest.raises(UploadTooLargeError, match="above the 1 MiB limit"):
        read_ct(bomb, name="bomb.zip")
    with pytest.raises(UploadTooLargeError):
        read_dicom_zip(bomb, name="bomb.zip", max_bytes=1000)


def test_mixed_series(phantom_slices: list[bytes]) -> None:
    other = phantom_dicom_files(make_phantom("calcified", 8.0, slices=3), series_uid="1.2.3.4.5")
    members = {f"a/{k}.dcm": b for k, b in enumerate(phantom_slices)} | {f"b/{k}.dcm": b for k, b in enumerate(other)}
    with pytest.raises(ImageInputError, match="mixes 2 DICOM series"):
        read_ct(_zip(members), name="mixed.zip")


def test_duplicate_slices(phantom_slices: list[bytes]) -> None:
    members = {f"s/{k}.dcm": b for k, b in enumerate(phantom_slices)} | {"s/copy.dcm": phantom_slices[3]}
    with pytest.raises(ImageInputError, match="duplicate slice"):
        read_ct(_zip(members), name="dup.zip")


def test_missing_slices(phantom_slices: list[bytes]) -> None:
    members = {f"s/{k}.dcm": b for k, b in enumerate(phantom_slices) if k not in (3, 4)}
    with pytest.raises(ImageInputError, match="gap"):
        read_ct(_zip(members), name="gap.zip")


def test_missing_path() -> None:
    with pytest.raises(ImageInputError, match="does not exist"):
        read_ct_path(Path("/nonexistent/nodule.png"))


def test_phantom_zip_round_trip() -> None:
    phantom = make_phantom("part-solid", 14.0)
    study = read_ct(phantom_dicom_zip(phantom), name="p.zip")
    assert study.shape == phantom.study.shape
    assert study.spacing_mm == pytest.approx(phantom.study.spacing_mm)
