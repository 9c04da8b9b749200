"""Hostile CT inputs (issue 10): every trigger found by fuzzing, rebuilt as a minimal file in memory, gives a result
or a clear ImageInputError; none raises anything else, and no bad header value reaches preparation.

Minimal inputs: a 32 x 32 CT slice written by pydicom with one header field changed; PNGs whose header claims a
huge size; zips with a corrupt member. A seeded mutation sweep checks the reader boundary as a whole.
"""

from __future__ import annotations

import io
import pickle
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom import config as pydicom_config
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    generate_uid,
)

from medai_core.config import CT_MAX_VOXELS
from medai_core.ct.dicom_checks import TAG_RANGES
from medai_core.ct.prepare import Seed, segment_nodule, training_crop
from medai_core.ct.readers import CTStudy, read_ct
from medai_core.errors import ImageInputError, InputError
from medai_core.untrusted import MAX_ZIP_MEMBERS

SIDE = 32


@contextmanager
def _lenient_writing() -> Iterator[None]:
    """Let pydicom write invalid values (the point of these files)."""
    before = pydicom_config.settings.writing_validation_mode
    pydicom_config.settings.writing_validation_mode = pydicom_config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns while building the invalid values on purpose
            yield
    finally:
        pydicom_config.settings.writing_validation_mode = before


def _dataset(rows: int = SIDE, columns: int = SIDE, frames: int = 1, syntax: str = ExplicitVRLittleEndian) -> Any:
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = syntax
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.Modality = "CT"
    ds.SOPClassUID = CTImageStorage
    ds.SeriesInstanceUID = "1.2.3.4"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.RescaleSlope, ds.RescaleIntercept = "1", "-1024"
    ds.PixelSpacing = ["0.7", "0.7"]
    pixels = np.full((frames, rows, columns), 200, np.int16)  # -824 HU: lung
    pixels[:, rows // 4 : rows // 2, columns // 4 : columns // 2] = 1024  # 0 HU: a nodule
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = pixels.tobytes()
    return ds


def _write(ds: Any) -> bytes:
    buffer = io.BytesIO()
    with _lenient_writing():
        pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _with(keyword: str, value: Any, vr: str = "DS", **kw: Any) -> bytes:
    """The minimal slice with ``keyword`` set to ``value`` (None: removed). Values pydicom cannot hold (text in
    a number field) are written as a same-length number and replaced in the bytes."""
    ds = _dataset(**kw)
    text = "\\".join(value) if isinstance(value, list) else value
    placeholder = None
    if isinstance(text, str) and "abc" in text:
        placeholder, text = text, text.replace("abc", "7.5")
    with _lenient_writing():
        if value is None:
            del ds[keyword]
        else:
            ds.add_new(pydicom.datadict.tag_for_keyword(keyword), vr, text)
    data = _write(ds)
    if placeholder is not None:
        assert data.count(text.encode()) == 1
        data = data.replace(text.encode(), placeholder.encode())
    return data


def test_the_minimal_slice_reads_and_pickles() -> None:
    study = read_ct(_write(_dataset()), name="slice.dcm")
    assert study.shape == (1, SIDE, SIDE) and study.spacing_mm == (0.7, 0.7)
    assert study.hu.min() == pytest.approx(-824.0) and study.hu.max() == pytest.approx(0.0)
    again = pickle.loads(pickle.dumps(study))  # the reader's result can cross a process boundary
    assert isinstance(again, CTStudy) and np.array_equal(again.hu, study.hu)


# --- numeric tags: each bad value refused with the field named ---

BAD_SCALARS = ["", "nan", "NaN", "inf", "-inf", "abc", "1e308"]


@pytest.mark.parametrize("value", [*BAD_SCALARS, "0", "-1", "-0.5", "1e-9"])
def test_bad_rescale_slope(value: str) -> None:
    with pytest.raises(ImageInputError, match=r"rescale slope .*\(RescaleSlope\)"):
        read_ct(_with("RescaleSlope", value), name="slice.dcm")


@pytest.mark.parametrize("value", [*BAD_SCALARS, "-1e9"])
def test_bad_rescale_intercept(value: str) -> None:
    with pytest.raises(ImageInputError, match=r"rescale intercept .*\(RescaleIntercept\)"):
        read_ct(_with("RescaleIntercept", value), name="slice.dcm")


def test_missing_rescale_on_stored_values_without_air_is_refused() -> None:
    """Stored 200 (lung with the usual intercept -1024) without a rescale would be read as +200 HU."""
    ds = _dataset()
    del ds.RescaleSlope
    del ds.RescaleIntercept
    with pytest.raises(ImageInputError, match="no air or lung"):
        read_ct(_write(ds), name="slice.dcm")


def test_rescale_beyond_any_ct_is_refused() -> None:
    with pytest.raises(ImageInputError, match="beyond any CT"):
        read_ct(_with("RescaleSlope", "999"), name="slice.dcm")
    with pytest.raises(ImageInputError, match="beyond any CT"):
        read_ct(_with("RescaleIntercept", "-90000"), name="slice.dcm")


def test_padding_below_the_hu_floor_is_set_to_it_with_a_note() -> None:
    ds = _dataset()
    pixels = np.frombuffer(ds.PixelData, np.int16).reshape(SIDE, SIDE).copy()
    pixels[0, :4] = -32768  # padding stored at the int16 floor, intercept -1024: below -32768 HU
    ds.PixelData = pixels.tobytes()
    study = read_ct(_write(ds), name="padded.dcm")
    assert study.hu.min() == -32768 and any("4 padding value(s)" in n for n in study.notes)


@pytest.mark.parametrize(
    "value",
    [
        "",
        ["nan", "0.7"],
        ["inf", "0.7"],
        ["-0.7", "0.7"],
        ["0.7", "-0.7"],
        ["1e308", "1e308"],
        ["0", "0"],
        "0.7",  # one value where two are needed
        ["abc", "0.7"],
    ],
)
def test_bad_pixel_spacing(value: Any) -> None:
    with pytest.raises(ImageInputError, match=r"pixel spacing \(mm, row and column\) \(PixelSpacing\)"):
        read_ct(_with("PixelSpacing", value), name="slice.dcm")


def test_missing_pixel_spacing_is_unknown_not_assumed() -> None:
    study = read_ct(_with("PixelSpacing", None), name="slice.dcm")
    assert study.spacing_mm is None and study.needs_pixel_size


def _series(mutate: Any) -> bytes:
    """A zip of 3 slices 1.25 mm apart; ``mutate(index, ds)`` changes a slice before it is written."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for k in range(3):
            ds = _dataset()
            ds.ImagePositionPatient = ["0", "0", f"{k * 1.25}"]
            ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
            ds.InstanceNumber = str(k + 1)
            with _lenient_writing():
                mutate(k, ds)
            archive.writestr(f"s{k}.dcm", _write(ds))
    return buffer.getvalue()


def test_series_reads() -> None:
    study = read_ct(_series(lambda k, ds: None), name="series.zip")
    assert study.shape == (3, SIDE, SIDE) and study.slice_spacing_mm == pytest.approx(1.25)


@pytest.mark.parametrize(
    ("keyword", "value", "fragment"),
    [
        ("ImagePositionPatient", "", r"image position \(x, y, z in mm\) \(ImagePositionPatient\) is empty"),
        ("ImagePositionPatient", ["0", "0"], r"\(ImagePositionPatient\) holds 2 value"),
        ("ImagePositionPatient", ["0", "0", "nan"], "ImagePositionPatient"),
        ("ImagePositionPatient", ["0", "0", "1e300"], "ImagePositionPatient"),
        ("ImageOrientationPatient", "", r"\(ImageOrientationPatient\) is empty"),
        ("ImageOrientationPatient", ["1", "0", "0"], r"\(ImageOrientationPatient\) holds 3 value"),
        ("ImageOrientationPatient", ["1", "0", "0", "1", "0", "0"], "parallel"),
        ("ImageOrientationPatient", ["0.1", "0", "0", "0", "1", "0"], "unit vectors"),
        ("ImageOrientationPatient", ["1", "0", "0", "0", "inf", "0"], "ImageOrientationPatient"),
    ],
)
def test_bad_position_or_orientation_in_a_series(keyword: str, value: Any, fragment: str) -> None:
    def mutate(k: int, ds: Any) -> None:
        ds.add_new(pydicom.datadict.tag_for_keyword(keyword), "DS", value)

    with pytest.raises(ImageInputError, match=fragment):
        read_ct(_series(mutate), name="series.zip")


def test_slices_a_kilometre_apart_are_not_a_series() -> None:
    def mutate(k: int, ds: Any) -> None:
        ds.ImagePositionPatient = ["0", "0", str(k * 1e5)]

    with pytest.raises(ImageInputError, match="mm apart"):
        read_ct(_series(mutate), name="series.zip")


def test_empty_slice_thickness_means_unknown() -> None:
    study = read_ct(_with("SliceThickness", "", frames=2), name="volume.dcm")  # type 2: empty is allowed, unknown
    assert study.slice_spacing_mm is None


@pytest.mark.parametrize("value", ["nan", "0", "-2", "1e308", "abc"])
def test_bad_slice_thickness_in_a_multiframe(value: str) -> None:
    data = _with("SliceThickness", value, frames=2)
    with pytest.raises(ImageInputError, match=r"slice thickness \(mm\) \(SliceThickness\)"):
        read_ct(data, name="volume.dcm")


def test_good_slice_thickness_in_a_multiframe() -> None:
    study = read_ct(_with("SliceThickness", "2.5", frames=2), name="volume.dcm")
    assert study.shape[0] == 2 and study.slice_spacing_mm == 2.5


# --- shapes: the header must match the pixel data; size checked before decoding ---


def test_rows_smaller_than_the_pixel_data_is_refused() -> None:
    ds = _dataset()
    ds.Rows = SIDE // 2  # 32 x 32 pixels of data: formerly read as a 2-slice volume of 16 x 32
    with pytest.raises(ImageInputError, match="does not match the image"):
        read_ct(_write(ds), name="slice.dcm")


@pytest.mark.parametrize(("keyword", "value"), [("Rows", 64), ("Columns", 33), ("NumberOfFrames", "2")])
def test_header_larger_than_the_pixel_data_is_refused(keyword: str, value: Any) -> None:
    ds = _dataset()
    setattr(ds, keyword, value)
    with pytest.raises(ImageInputError, match="does not match the image"):
        read_ct(_write(ds), name="slice.dcm")


def test_size_is_checked_before_decoding() -> None:
    ds = _dataset()
    ds.Rows = ds.Columns = 4096
    ds.NumberOfFrames = "64"  # 1.07e9 voxels declared, 2 KiB of pixel data
    assert CT_MAX_VOXELS < 4096 * 4096 * 64
    with pytest.raises(ImageInputError, match="voxel limit"):
        read_ct(_write(ds), name="huge.dcm")


@pytest.mark.parametrize(("keyword", "value"), [("Rows", 0), ("Columns", 65535), ("NumberOfFrames", "0")])
def test_implausible_dimensions_are_refused(keyword: str, value: Any) -> None:
    ds = _dataset()
    setattr(ds, keyword, value)
    with pytest.raises(ImageInputError, match=keyword):
        read_ct(_write(ds), name="slice.dcm")


def test_colour_pixel_data_is_refused() -> None:
    ds = _dataset()
    ds.SamplesPerPixel = 3
    with pytest.raises(ImageInputError, match="colour"):
        read_ct(_write(ds), name="slice.dcm")


def test_deflated_dicom_bomb_is_refused_before_inflating(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAI_MAX_UPLOAD_MB", "1")
    ds = _dataset(rows=1024, columns=1024, syntax=DeflatedExplicitVRLittleEndian)  # 2 MiB inflated
    ds.PixelData = bytes(1024 * 1024 * 2)
    data = _write(ds)
    assert len(data) < 64 * 1024
    with pytest.raises(ImageInputError, match="unpacks to more than 1 MiB"):
        read_ct(data, name="bomb.dcm")


def test_deflated_dicom_within_the_limit_reads() -> None:
    study = read_ct(_write(_dataset(syntax=DeflatedExplicitVRLittleEndian)), name="deflated.dcm")
    assert study.shape == (1, SIDE, SIDE)


def test_compressed_pixel_data_without_a_codec_is_a_clear_message() -> None:
    ds = _dataset(syntax=JPEG2000Lossless)
    ds.PixelData = pydicom.encaps.encapsulate([b"\xff\x4f\xff\x51" + bytes(60)])
    with pytest.raises(ImageInputError, match="cannot be decoded"):
        read_ct(_write(ds), name="j2k.dcm")


def test_truncated_and_corrupt_headers_never_escape_the_boundary() -> None:
    data = _write(_dataset())
    rejected = 0
    for cut in range(132, len(data), 9):
        try:
            study = read_ct(data[:cut], name="cut.dcm")
        except InputError:
            rejected += 1
        else:
            assert np.isfinite(study.hu).all()
    assert rejected >= (len(data) - 132) // 9 - 1  # every prefix short of the whole file is refused


def test_seeded_byte_mutations_give_a_result_or_an_image_input_error() -> None:
    rng = np.random.default_rng(20240601)
    seeds = [_write(_dataset()), _write(_dataset(frames=2)), _series(lambda k, ds: None)]
    outcomes = {"result": 0, "rejected": 0}
    for case in range(300):
        data = bytearray(seeds[case % len(seeds)])
        for _ in range(int(rng.integers(1, 6))):
            at = int(rng.integers(0, len(data)))
            data[at] = int(rng.integers(0, 256))
        try:
            study = read_ct(bytes(data), name="mutated")
        except InputError:
            outcomes["rejected"] += 1
            continue
        outcomes["result"] += 1
        assert np.isfinite(study.hu).all() and study.hu.min() >= -32768 and study.hu.max() <= 32767
        if study.spacing_mm is not None:
            assert all(np.isfinite(v) and 0 < v <= 5 for v in study.spacing_mm)
        if study.slice_spacing_mm is not None:
            assert np.isfinite(study.slice_spacing_mm) and 0 < study.slice_spacing_mm <= 50
    assert outcomes["result"] > 0 and outcomes["rejected"] > 0


# --- images: PIL's bomb check and every PIL error ---


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [20000, 9000])
def test_png_claiming_a_huge_size_is_refused(side: int) -> None:
    data = _png_header(side, side)
    assert len(data) < 80
    with pytest.raises(ImageInputError, match="far larger than any CT image"):
        read_ct(data, name="bomb.png")


def test_corrupt_png_is_an_image_input_error() -> None:
    buffer = io.BytesIO()
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 256, (40, 40)).astype(np.uint8)  # incompressible: data to cut
    Image.fromarray(noise).save(buffer, "PNG")
    good = buffer.getvalue()
    for cut in (20, 40, len(good) // 2, len(good) - 40):
        with pytest.raises(ImageInputError):
            read_ct(good[:cut], name="cut.png")
    assert read_ct(good, name="ok.png").shape == (1, 40, 40)


def test_broken_png_chunk_is_an_image_input_error() -> None:
    data = bytearray(_png_header(40, 40))
    data[-8:-4] = b"\0\0\0\0"  # the chunk after the short IDAT zeroed: PIL raises SyntaxError("broken PNG file")
    with pytest.raises(ImageInputError, match="not a readable image"):
        read_ct(bytes(data), name="broken.png")


# --- zips: corrupt archives, corrupt members, too many members, bombs ---


def test_not_a_zip_after_the_signature() -> None:
    with pytest.raises(ImageInputError, match="not a readable zip"):
        read_ct(b"PK\x03\x04" + bytes(200), name="broken.zip")


def test_corrupt_zip_member() -> None:
    data = bytearray(_series(lambda k, ds: None))
    first = data.index(b"s0.dcm") + len(b"s0.dcm")  # the first member's compressed bytes follow its name
    for at in range(first + 20, first + 60):
        data[at] ^= 0xFF
    with pytest.raises(ImageInputError):
        read_ct(bytes(data), name="corrupt.zip")


def test_zip_with_too_many_members() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for k in range(MAX_ZIP_MEMBERS + 1):
            archive.writestr(f"{k}.txt", b"")
    with pytest.raises(ImageInputError, match="more than the"):
        read_ct(buffer.getvalue(), name="many.zip")


def test_zip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAI_MAX_UPLOAD_MB", "1")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.dcm", bytes(4 * 2**20))
    assert len(buffer.getvalue()) < 64 * 1024
    with pytest.raises(InputError, match="MiB"):
        read_ct(buffer.getvalue(), name="bomb.zip")


# --- no bad spacing reaches preparation; no infinite volume ---


@pytest.mark.parametrize(
    ("spacing", "slice_mm"),
    [((float("nan"), 0.7), 1.0), ((-0.7, 0.7), 1.0), ((1e308, 1e308), 1.0), ((0.0, 0.7), 1.0), ((0.7, 0.7), 1e308)],
)
def test_preparation_refuses_impossible_spacings(spacing: tuple[float, float], slice_mm: float) -> None:
    hu = np.full((3, 32, 32), -850.0, np.float32)
    hu[:, 12:20, 12:20] = 0.0
    with pytest.raises(ImageInputError, match="spacing"):
        segment_nodule(hu, Seed(16, 16, 1), spacing_mm=spacing, slice_spacing_mm=slice_mm)
    mask = hu > -500
    with pytest.raises(ImageInputError, match="spacing"):
        training_crop(hu, mask, spacing if slice_mm == 1.0 else (float("inf"), 1.0))


def test_segmentation_volume_is_finite() -> None:
    hu = np.full((3, 32, 32), -850.0, np.float32)
    hu[:, 12:20, 12:20] = 0.0
    result = segment_nodule(hu, Seed(16, 16, 1), spacing_mm=(5.0, 5.0), slice_spacing_mm=50.0)
    assert result.volume_mm3 is not None and np.isfinite(result.volume_mm3)


def test_tag_table_edges() -> None:
    """Every range in the one table is finite, ordered, and its edges are accepted."""
    for keyword, rule in TAG_RANGES.items():
        assert np.isfinite(rule.low) and np.isfinite(rule.high) and rule.low < rule.high, keyword
    for value in ("0.05", "5"):
        study = read_ct(_with("PixelSpacing", [value, value]), name="edge.dcm")
        assert study.spacing_mm == (float(value), float(value))
    for value in ("0.049", "5.01"):
        with pytest.raises(ImageInputError, match="PixelSpacing"):
            read_ct(_with("PixelSpacing", [value, value]), name="edge.dcm")
