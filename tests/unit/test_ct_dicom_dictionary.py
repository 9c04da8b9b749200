"""DICOM headers checked against PS3.6 (VR and value multiplicity), stored values against BitsStored and CT physics
(byte order), and one floor for every slice spacing: the cases a structure-aware generator found read with exit 0
and a wrong answer (issue 21). Each file is the synthetic phantom stored right, then changed in one way."""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom import config as pydicom_config
from pydicom.data import get_testdata_file
from pydicom.datadict import dictionary_VM, dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset, FileDataset
from pydicom.sequence import Sequence
from pydicom.uid import EnhancedCTImageStorage, ImplicitVRLittleEndian

from medai_core.ct.dicom_checks import SLICE_SPACING_MM, TAG_CODES, TAG_RANGES, implausible_hu
from medai_core.ct.dicom_dictionary import ATTRIBUTES, vm_text
from medai_core.ct.phantom import make_phantom, phantom_dicom_files
from medai_core.ct.readers import read_ct
from medai_core.errors import ImageInputError

PHANTOM = make_phantom("solid", 10.6, size=64, slices=7)


@contextmanager
def _lenient() -> Iterator[None]:
    before = pydicom_config.settings.writing_validation_mode
    pydicom_config.settings.writing_validation_mode = pydicom_config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        pydicom_config.settings.writing_validation_mode = before


def _slices() -> list[FileDataset]:
    return [pydicom.dcmread(io.BytesIO(data)) for data in phantom_dicom_files(PHANTOM)]


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    with _lenient():
        pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _zip(slices: list[FileDataset]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for k, ds in enumerate(slices):
            archive.writestr(f"series/IM{k:04d}.dcm", _bytes(ds))
    return buffer.getvalue()


def _one(change: Callable[[FileDataset], Any] = lambda ds: None) -> bytes:
    ds = _slices()[3]
    with _lenient():
        change(ds)
    return _bytes(ds)


def _raw(keyword: str, vr: str, value: str) -> Callable[[FileDataset], Any]:
    return lambda ds: ds.add_new(tag_for_keyword(keyword), vr, value)


# --- the one table of attributes: PS3.6 ------------------------------------------------------------------------


def test_every_row_is_the_ps36_entry() -> None:
    """The table agrees with pydicom's copy of the PS3.6 data dictionary: tag, VR and VM of every row."""
    for keyword, row in ATTRIBUTES.items():
        tag = tag_for_keyword(keyword)
        assert tag is not None and (tag >> 16, tag & 0xFFFF) == row.tag, keyword
        assert dictionary_VR(keyword) in row.vrs and set(dictionary_VR(keyword).split(" or ")) <= set(row.vrs)
        assert dictionary_VM(keyword) == vm_text(row), keyword
        assert row.section.startswith("PS3.6")


def test_every_attribute_the_reader_checks_is_in_the_table() -> None:
    assert set(TAG_RANGES) <= set(ATTRIBUTES) and set(TAG_CODES) <= set(ATTRIBUTES)
    for keyword in TAG_RANGES:  # a numeric tag is read as exactly its PS3.6 multiplicity
        assert ATTRIBUTES[keyword].vm_min == ATTRIBUTES[keyword].vm_max, keyword


def test_the_phantom_stored_right_reads() -> None:
    study = read_ct(_zip(_slices()), name="series.zip")
    assert study.spacing_mm == (0.7, 0.7) and study.slice_spacing_mm == pytest.approx(1.25)
    assert np.allclose(study.hu, np.rint(PHANTOM.study.hu), atol=0.5)


# --- value multiplicity and VR ----------------------------------------------------------------------------------


def test_pixel_spacing_with_four_values_is_refused() -> None:
    """Formerly read as 0.35 mm from the first two values (diameter halved, probability 0.22 instead of 0.91)."""
    data = _one(_raw("PixelSpacing", "DS", "0.35\\0.35\\0.7\\0.7"))
    with pytest.raises(ImageInputError, match=r"\(PixelSpacing\) holds 4 value\(s\).*PS3\.6\) gives it 2"):
        read_ct(data, name="slice.dcm")


def test_rescale_with_two_values_each_is_refused() -> None:
    """RescaleSlope 2\\1 with RescaleIntercept -1024\\0 formerly used slope 2, intercept -1024."""

    def change(ds: FileDataset) -> None:
        ds.add_new(tag_for_keyword("RescaleSlope"), "DS", "2\\1")
        ds.add_new(tag_for_keyword("RescaleIntercept"), "DS", "-1024\\0")

    with pytest.raises(ImageInputError, match=r"\(RescaleSlope\) holds 2 value\(s\)"):
        read_ct(_one(change), name="slice.dcm")


@pytest.mark.parametrize(
    ("keyword", "vr", "value", "where"),
    [
        ("ImagePositionPatient", "DS", "0\\0\\3.75\\1", "series"),
        ("ImageOrientationPatient", "DS", "1\\0\\0\\0\\1\\0\\0", "slice"),
        ("SliceThickness", "DS", "1.25\\2.5", "volume"),
        ("PhotometricInterpretation", "CS", "MONOCHROME2\\MONOCHROME1", "slice"),
        ("RescaleType", "LO", "HU\\US", "slice"),
    ],
)
def test_more_values_than_ps36_gives_are_refused_with_the_name(keyword: str, vr: str, value: str, where: str) -> None:
    if where == "series":
        slices = _slices()
        with _lenient():
            slices[2].add_new(tag_for_keyword(keyword), vr, value)
        data = _zip(slices)
    elif where == "volume":  # a multi-frame file without frame positions: its spacing is the slice thickness
        data = _enhanced_without_positions("SpacingBetweenSlices", None, raw=(keyword, vr, value))
    else:
        data = _one(_raw(keyword, vr, value))
    with pytest.raises(ImageInputError, match=rf"{keyword}.* holds \d value\(s\), where DICOM \(PS3\.6\)"):
        read_ct(data, name="upload")


def test_rows_with_two_values_is_refused() -> None:
    ds = _slices()[3]
    ds.add_new(tag_for_keyword("Rows"), "US", [64, 64])
    with pytest.raises(ImageInputError, match=r"\(Rows\) holds 2 value"):
        read_ct(_bytes(ds), name="slice.dcm")


def test_a_value_stored_with_another_vr_is_refused() -> None:
    """PS3.6 gives RescaleSlope the VR DS (decimal text); an FD (binary double) is not what it says it is."""
    data = _one(lambda ds: ds.add_new(tag_for_keyword("RescaleSlope"), "FD", 1.0))
    with pytest.raises(ImageInputError, match=r"\(RescaleSlope\) is stored as 'FD'.*DS"):
        read_ct(data, name="slice.dcm")


def test_implicit_vr_files_still_read() -> None:
    """Implicit VR files carry no VR: pydicom takes PS3.6's, an ambiguous one (PixelPaddingValue, US or SS)
    included."""
    ds = _slices()[3]
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.add_new(tag_for_keyword("PixelPaddingValue"), "SS", -2000)
    data = _bytes(ds)
    parsed = pydicom.dcmread(io.BytesIO(data))
    assert parsed["PixelPaddingValue"].VR in ATTRIBUTES["PixelPaddingValue"].vrs
    study = read_ct(data, name="implicit.dcm")
    assert np.allclose(study.hu[0], np.rint(PHANTOM.study.hu[3]), atol=0.5)


# --- stored values: BitsStored, byte order, CT physics ------------------------------------------------------------


def test_byte_swapped_pixels_are_refused_with_that_reason() -> None:
    """Header Explicit VR Little Endian, pixel bytes big-endian: formerly lung read as -22016 HU and the nodule as
    +9220 HU, and scored."""

    def swap(ds: FileDataset) -> None:
        ds.PixelData = np.frombuffer(ds.PixelData, "<i2").astype(">i2").tobytes()

    with pytest.raises(ImageInputError, match="opposite byte order"):
        read_ct(_one(swap), name="slice.dcm")
    slices = _slices()
    for ds in slices:
        swap(ds)
    with pytest.raises(ImageInputError, match="opposite byte order"):
        read_ct(_zip(slices), name="series.zip")


def test_stored_values_beyond_bits_stored_are_refused() -> None:
    """BitsStored 12: 5000 would be masked by the decoder to 904 (HU -120 instead of +3976)."""

    def change(ds: FileDataset) -> None:
        pixels = np.frombuffer(ds.PixelData, "<i2").copy()
        pixels[:40] = 5000
        ds.PixelData = pixels.tobytes()
        ds.BitsStored, ds.HighBit = 12, 11

    with pytest.raises(ImageInputError, match=r"outside the -2048 to 2047 .*BitsStored 12"):
        read_ct(_one(change), name="slice.dcm")


def test_twelve_bit_values_and_padding_within_bits_stored_read() -> None:
    def change(ds: FileDataset) -> None:
        ds.BitsStored, ds.HighBit = 12, 11

    study = read_ct(_one(change), name="slice.dcm")
    assert np.allclose(study.hu[0], np.rint(PHANTOM.study.hu[3]), atol=0.5)


def test_padding_written_outside_bits_stored_is_still_padding() -> None:
    """Padding -3000 (below the 12-bit range) declared as PixelPaddingValue is air, not a masked other value."""

    def change(ds: FileDataset) -> None:
        pixels = np.frombuffer(ds.PixelData, "<i2").reshape(64, 64).copy()
        pixels[:3, :3] = -3000
        ds.PixelData = pixels.tobytes()
        ds.BitsStored, ds.HighBit = 12, 11
        ds.add_new(tag_for_keyword("PixelPaddingValue"), "SS", -3000)

    study = read_ct(_one(change), name="slice.dcm")
    assert np.all(study.hu[0, :3, :3] == -1024)


@pytest.mark.parametrize(
    ("fill_hu", "share", "fragment"),
    [
        (5000.0, 0.2, "above 3500 HU"),
        (-1800.0, 0.2, "below -1100 HU"),
        (-300.0, 1.0, "no air or lung"),
    ],
)
def test_values_no_ct_holds_are_refused(fill_hu: float, share: float, fragment: str) -> None:
    hu = PHANTOM.study.hu[3:4].copy()
    rows = round(share * hu.shape[1])
    hu[:, :rows] = fill_hu
    reason = implausible_hu(hu)
    assert reason is not None and fragment in reason


def test_fill_outside_the_field_of_view_is_not_a_reason() -> None:
    """Scanners write -2048 or -3024 HU outside the reconstructed circle (21 % of a square slice)."""
    hu = PHANTOM.study.hu[3:4].copy()
    r = np.hypot(*np.meshgrid(np.arange(64) - 31.5, np.arange(64) - 31.5, indexing="ij"))
    hu[0][r > 32] = -3024.0
    assert implausible_hu(hu) is None


def test_a_series_slice_without_air_reads_but_a_series_without_air_does_not() -> None:
    """A slice below the lungs may hold no air; a whole chest series without air or lung is not HU."""
    slices = _slices()

    def soft_tissue(ds: FileDataset) -> None:
        ds.PixelData = np.full((64, 64), 1064, "<i2").tobytes()  # +40 HU everywhere

    soft_tissue(slices[0])
    assert read_ct(_zip(slices), name="series.zip").shape == (7, 64, 64)
    for ds in slices:
        soft_tissue(ds)
    with pytest.raises(ImageInputError, match="no air or lung"):
        read_ct(_zip(slices), name="series.zip")


@pytest.mark.parametrize("filename", ["CT_small.dcm", "693_J2KI.dcm", "J2K_pixelrep_mismatch.dcm"])
def test_pydicom_ct_files_still_read(filename: str) -> None:
    path = get_testdata_file(filename)
    if path is None:  # pragma: no cover - pydicom bundles them
        pytest.skip(f"{filename} not bundled")
    try:
        study = read_ct(Path(path).read_bytes(), name=filename)
    except ImageInputError as exc:  # a codec this installation lacks is the only acceptable refusal
        assert "cannot be decoded" in str(exc)
        return
    assert implausible_hu(study.hu) is None


# --- one floor and ceiling for every slice spacing ----------------------------------------------------------------


def test_series_positions_two_micrometres_apart_are_refused() -> None:
    """Formerly read with 0.002 mm slices: a 10.6 mm nodule measured 0.8 mm3 instead of 529."""
    slices = _slices()
    for k, ds in enumerate(slices):
        ds.ImagePositionPatient = [0.0, 0.0, k * 0.002]
    with pytest.raises(ImageInputError, match=r"0\.002 mm apart by their positions, less than the 0\.1 mm"):
        read_ct(_zip(slices), name="series.zip")


def _enhanced(step_mm: float) -> bytes:
    slices = _slices()
    ds = slices[0]
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = EnhancedCTImageStorage
    ds.NumberOfFrames = len(slices)
    ds.PixelData = b"".join(s.PixelData for s in slices)
    del ds.ImagePositionPatient
    groups = []
    for k in range(len(slices)):
        plane = Dataset()
        plane.ImagePositionPatient = [0.0, 0.0, k * step_mm]
        group = Dataset()
        group.PlanePositionSequence = Sequence([plane])
        groups.append(group)
    ds.PerFrameFunctionalGroupsSequence = Sequence(groups)
    return _bytes(ds)


def test_enhanced_ct_frame_positions_two_micrometres_apart_are_refused() -> None:
    assert read_ct(_enhanced(1.25), name="volume.dcm").slice_spacing_mm == pytest.approx(1.25)
    with pytest.raises(ImageInputError, match=r"less than the 0\.1 mm"):
        read_ct(_enhanced(0.002), name="volume.dcm")


@pytest.mark.parametrize("keyword", ["SliceThickness", "SpacingBetweenSlices"])
def test_header_spacing_has_the_same_floor_and_ceiling(keyword: str) -> None:
    low, high = SLICE_SPACING_MM
    for value, ok in ((low, True), (high, True), (low * 0.9, False), (high * 1.01, False), (0.002, False)):
        data = _enhanced_without_positions(keyword, value)
        if ok:
            assert read_ct(data, name="volume.dcm").slice_spacing_mm == pytest.approx(value)
        else:
            with pytest.raises(ImageInputError, match=keyword):
                read_ct(data, name="volume.dcm")


def _enhanced_without_positions(keyword: str, value: float | None, raw: tuple[str, str, str] | None = None) -> bytes:
    """The phantom as one multi-frame file without frame positions, ``keyword`` set to ``value`` (None: absent),
    and a raw (keyword, VR, text) element added."""
    slices = _slices()
    ds = slices[0]
    ds.NumberOfFrames = len(slices)
    ds.PixelData = b"".join(s.PixelData for s in slices)
    del ds.ImagePositionPatient
    del ds.SliceThickness
    if value is not None:
        setattr(ds, keyword, value)
    if raw is not None:
        with _lenient():
            ds.add_new(tag_for_keyword(raw[0]), raw[1], raw[2])
    return _bytes(ds)
