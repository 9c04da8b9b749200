"""CT readers on DICOM files the project did not write: pydicom's own test files, and files generated here to mimic
what scanners and PACS exports hold at the edges (Enhanced CT functional groups, MONOCHROME1, padding, 12-bit
signed storage, detector spacing, gantry tilt, sagittal series, localizers, secondary captures, codecs).

Every generated file is built in memory by :func:`_slice` from the tags a scanner writes; the expected Hounsfield
values are worked out by hand in each test (HU = stored x RescaleSlope + RescaleIntercept).
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom import config as pydicom_config
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, EnhancedCTImageStorage, ExplicitVRLittleEndian, generate_uid

from medai_core.ct.readers import read_ct
from medai_core.errors import ImageInputError

SIDE = 32
AIR_STORED = 24  # stored value of air with intercept -1024: -1000 HU
TISSUE_STORED = 1064  # +40 HU


def _pixels(frames: int = 1) -> np.ndarray:
    """Stored values: air everywhere, a soft-tissue block in the upper left quadrant."""
    pixels = np.full((frames, SIDE, SIDE), AIR_STORED, np.int16)
    pixels[:, 4:12, 4:12] = TISSUE_STORED
    return pixels


def _slice(
    z_mm: float = 0.0,
    *,
    pixels: np.ndarray | None = None,
    orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0),
    position: tuple[float, float, float] | None = None,
    series: str = "1.2.826.0.1.3680043.8.498.1",
    instance: int | None = 1,
    sop_class: str = CTImageStorage,
) -> FileDataset:
    """One CT slice as a scanner writes it: signed 16-bit, slope 1, intercept -1024, 0.7 mm pixels."""
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.Modality = "CT"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID = series
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    if instance is not None:
        ds.InstanceNumber = instance
    ds.ImageOrientationPatient = list(orientation)
    ds.ImagePositionPatient = list(position if position is not None else (0.0, 0.0, z_mm))
    ds.PixelSpacing = [0.7, 0.7]
    ds.SliceThickness = 1.0
    stored = _pixels() if pixels is None else pixels
    ds.Rows, ds.Columns = stored.shape[-2:]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.PixelData = stored.astype("<i2").tobytes()
    return ds


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


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    with _lenient():
        pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _zip(slices: list[Dataset]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for k, ds in enumerate(slices):
            archive.writestr(f"series/IM{k:04d}.dcm", _bytes(ds))
    return buffer.getvalue()


def _enhanced(frames: int = 3, *, per_frame_rescale: bool = True, per_frame_spacing: bool = True) -> FileDataset:
    """An Enhanced CT multi-frame file whose rescale and pixel spacing sit in the per-frame functional groups (as
    several vendors write them), frames stored from head to feet."""
    ds = _slice(pixels=_pixels(frames), sop_class=EnhancedCTImageStorage)
    for keyword in ("RescaleSlope", "RescaleIntercept", "PixelSpacing", "ImagePositionPatient", "SliceThickness"):
        delattr(ds, keyword)
    del ds.ImageOrientationPatient
    ds.NumberOfFrames = frames
    shared = Dataset()
    orientation = Dataset()
    orientation.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    shared.PlaneOrientationSequence = Sequence([orientation])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    groups = []
    for k in range(frames):
        group = Dataset()
        plane = Dataset()
        plane.ImagePositionPatient = [0.0, 0.0, float(-k)]  # head first: z falls frame by frame
        group.PlanePositionSequence = Sequence([plane])
        if per_frame_rescale:
            transform = Dataset()
            transform.RescaleSlope, transform.RescaleIntercept, transform.RescaleType = 1, -1024, "HU"
            group.PixelValueTransformationSequence = Sequence([transform])
        if per_frame_spacing:
            measures = Dataset()
            measures.PixelSpacing = [0.6, 0.8]
            measures.SliceThickness = 1.0
            group.PixelMeasuresSequence = Sequence([measures])
        groups.append(group)
    ds.PerFrameFunctionalGroupsSequence = Sequence(groups)
    return ds


# --- Hounsfield conversion -------------------------------------------------------------------------------------


def test_reference_slice_reads_air_and_tissue_at_their_hounsfield_values() -> None:
    study = read_ct(_bytes(_slice()), name="slice.dcm")
    assert study.hu[0, 0, 0] == -1000 and study.hu[0, 5, 5] == 40


def test_enhanced_ct_rescale_in_per_frame_groups_is_applied() -> None:
    """Was read as stored values: air at +24 HU, soft tissue at +1064 HU."""
    study = read_ct(_bytes(_enhanced()), name="enhanced.dcm")
    assert study.hu.shape == (3, SIDE, SIDE)
    assert study.hu[:, 0, 0].tolist() == [-1000] * 3 and study.hu[:, 5, 5].tolist() == [40] * 3
    assert not any("taken as Hounsfield" in n for n in study.notes)


def test_enhanced_ct_per_frame_rescale_may_differ_by_frame() -> None:
    ds = _enhanced()
    ds.PerFrameFunctionalGroupsSequence[2].PixelValueTransformationSequence[0].RescaleIntercept = -1000
    study = read_ct(_bytes(ds), name="enhanced.dcm")
    # frames are re-ordered feet to head: the file's third frame (z = -2) comes first
    assert study.hu[:, 0, 0].tolist() == [-976, -1000, -1000]


@pytest.mark.parametrize("rescale_type", ["OD", "US", "MGML"])
def test_rescale_type_other_than_hu_is_refused(rescale_type: str) -> None:
    ds = _slice()
    ds.RescaleType = rescale_type
    with pytest.raises(ImageInputError, match=r"RescaleType.*CT image holds HU"):
        read_ct(_bytes(ds), name="slice.dcm")


def test_rescale_type_hu_is_accepted() -> None:
    ds = _slice()
    ds.RescaleType = "HU"
    assert read_ct(_bytes(ds), name="slice.dcm").hu[0, 0, 0] == -1000


def test_missing_rescale_on_unsigned_raw_values_is_refused() -> None:
    """Stored values 24 (air) without a rescale were read as +24 HU: air as soft tissue."""
    ds = _slice()
    del ds.RescaleSlope, ds.RescaleIntercept
    with pytest.raises(ImageInputError, match="no air or lung"):
        read_ct(_bytes(ds), name="slice.dcm")


def test_enhanced_ct_per_frame_rescale_missing_for_a_frame_is_not_guessed() -> None:
    ds = _enhanced()
    del ds.PerFrameFunctionalGroupsSequence[1].PixelValueTransformationSequence
    with pytest.raises(ImageInputError, match="no air or lung"):
        read_ct(_bytes(ds), name="enhanced.dcm")


def test_missing_rescale_on_values_already_in_hu_is_read_with_a_note() -> None:
    ds = _slice(pixels=_pixels() - 1024)
    del ds.RescaleSlope, ds.RescaleIntercept
    study = read_ct(_bytes(ds), name="slice.dcm")
    assert study.hu[0, 0, 0] == -1000 and any("taken as Hounsfield units" in n for n in study.notes)


def test_monochrome1_is_not_inverted() -> None:
    """MONOCHROME1 inverts the display only (PS3.3 C.7.6.3.1.2); HU come from the rescale. Air must stay at
    -1000 HU, not +1000 HU."""
    ds = _slice()
    ds.PhotometricInterpretation = "MONOCHROME1"
    study = read_ct(_bytes(ds), name="mono1.dcm")
    assert study.hu[0, 0, 0] == -1000 and study.hu[0, 5, 5] == 40
    assert any("MONOCHROME1" in n for n in study.notes)


@pytest.mark.parametrize("photometric", ["PALETTE COLOR", "YBR_FULL"])
def test_colour_models_with_one_sample_are_refused(photometric: str) -> None:
    """A palette image has one sample per pixel: its indices were read as Hounsfield units."""
    ds = _slice()
    ds.PhotometricInterpretation = photometric
    with pytest.raises(ImageInputError, match="PhotometricInterpretation"):
        read_ct(_bytes(ds), name="palette.dcm")


def test_twelve_bit_signed_storage_is_sign_extended() -> None:
    """BitsStored 12, signed: -1000 HU stored with intercept 0 as 12-bit two's complement (0xC18)."""
    stored = np.full((SIDE, SIDE), -1000, np.int16)
    stored[4:12, 4:12] = 40
    raw = (stored.astype(np.int32) & 0x0FFF).astype(np.uint16)  # high bits zero, as some scanners write
    ds = _slice(pixels=raw.view(np.int16))
    ds.BitsStored, ds.HighBit = 12, 11
    ds.RescaleIntercept = 0
    study = read_ct(_bytes(ds), name="twelve.dcm")
    assert study.hu[0, 0, 0] == -1000 and study.hu[0, 5, 5] == 40


@pytest.mark.parametrize("padding_vr", ["SS", "US"])
def test_pixel_padding_value_outside_the_field_is_set_to_air(padding_vr: str) -> None:
    """Padding -2000 stored (-3024 HU after the intercept) was kept at -3024 HU; it is air outside the scan."""
    stored = _pixels()
    stored[:, :, -4:] = -2000
    ds = _slice(pixels=stored)
    ds.add_new(0x00280120, padding_vr, -2000 if padding_vr == "SS" else 65536 - 2000)
    study = read_ct(_bytes(ds), name="padded.dcm")
    assert study.hu[0, 0, -1] == -1024 and study.hu.min() == -1024
    assert study.hu[0, 0, 0] == -1000 and study.hu[0, 5, 5] == 40
    assert any(f"{SIDE * 4} padding pixel(s)" in n for n in study.notes)


def test_pixel_padding_range_is_set_to_air() -> None:
    stored = _pixels()
    stored[:, :, -4:] = -2000
    stored[:, :, -2:] = -3000
    ds = _slice(pixels=stored)
    ds.add_new(0x00280120, "SS", -3000)
    ds.add_new(0x00280121, "SS", -2000)
    study = read_ct(_bytes(ds), name="padded.dcm")
    assert study.hu.min() == -1024 and any(f"{SIDE * 4} padding pixel(s)" in n for n in study.notes)


def test_pydicom_lossy_j2k_ct_padding_is_air() -> None:
    """pydicom's 693_J2KI.dcm: PixelPaddingValue -2000 with intercept -1024 put 21,774 pixels at -3024 HU."""
    study = read_ct(Path(str(get_testdata_file("693_J2KI.dcm"))).read_bytes(), name="693_J2KI.dcm")
    assert (study.hu == -1024).sum() >= 21_774
    assert any("padding pixel(s)" in n for n in study.notes)


# --- pixel spacing ---------------------------------------------------------------------------------------------


def test_enhanced_ct_per_frame_pixel_spacing_is_read_row_then_column() -> None:
    """Per-frame PixelMeasuresSequence was ignored: the spacing was unknown and had to be typed."""
    study = read_ct(_bytes(_enhanced()), name="enhanced.dcm")
    assert study.spacing_mm == (0.6, 0.8) and not study.needs_pixel_size


def test_enhanced_ct_frames_disagreeing_on_pixel_spacing_are_refused() -> None:
    ds = _enhanced()
    ds.PerFrameFunctionalGroupsSequence[1].PixelMeasuresSequence[0].PixelSpacing = [0.9, 0.9]
    with pytest.raises(ImageInputError, match="differ in pixel spacing"):
        read_ct(_bytes(ds), name="enhanced.dcm")


def test_imager_pixel_spacing_is_not_taken_for_the_patient_pixel_size() -> None:
    ds = _slice()
    del ds.PixelSpacing
    ds.ImagerPixelSpacing = [0.5, 0.5]
    study = read_ct(_bytes(ds), name="slice.dcm")
    assert study.spacing_mm is None and study.needs_pixel_size
    assert any("ImagerPixelSpacing" in n for n in study.notes)


def test_non_square_pixels_keep_row_and_column_order() -> None:
    ds = _slice()
    ds.PixelSpacing = [0.5, 0.9]
    assert read_ct(_bytes(ds), name="slice.dcm").spacing_mm == (0.5, 0.9)


# --- slice order and spacing -----------------------------------------------------------------------------------


def _marked_series(zs: list[float], **kw: Any) -> list[FileDataset]:
    """Slices at positions ``zs``, each marked by its position in pixel (0, 0) (stored 24 + z), instance numbers
    in reverse of position."""
    out = []
    for k, z in enumerate(zs):
        pixels = _pixels()
        pixels[0, 0, 0] = AIR_STORED + round(z)
        out.append(_slice(z, pixels=pixels, instance=len(zs) - k, **kw))
    return out


def test_series_is_ordered_by_position_not_instance_number() -> None:
    study = read_ct(_zip(_marked_series([4.0, 0.0, 2.0, 6.0])), name="series.zip")
    assert study.hu[:, 0, 0].tolist() == [-1000, -998, -996, -994] and study.slice_spacing_mm == 2.0


def test_gantry_tilt_series_spacing_is_perpendicular_with_a_note() -> None:
    """Columns tilted 20 degrees; the table moves 2 mm per slice: slices are 2 cos(20) = 1.879 mm apart."""
    tilt = np.radians(20.0)
    orientation = (1.0, 0.0, 0.0, 0.0, float(np.cos(tilt)), float(-np.sin(tilt)))
    slices = [_slice(position=(0.0, 0.0, 2.0 * k), orientation=orientation, instance=k + 1) for k in range(4)]
    study = read_ct(_zip(slices), name="tilted.zip")
    assert study.slice_spacing_mm == pytest.approx(2.0 * np.cos(tilt), abs=1e-6)
    assert any("tilted 20.0 degrees" in n for n in study.notes)


def test_pydicom_tilted_ct_slice_has_a_tilt_note() -> None:
    """pydicom's J2K_pixelrep_mismatch.dcm: GantryDetectorTilt -22, ImageOrientationPatient tilted 22 degrees."""
    study = read_ct(Path(str(get_testdata_file("J2K_pixelrep_mismatch.dcm"))).read_bytes(), name="tilted.dcm")
    assert any("tilted 22.0 degrees" in n for n in study.notes)


@pytest.mark.parametrize(
    ("orientation", "plane"), [((0, 1, 0, 0, 0, -1), "sagittal"), ((1, 0, 0, 0, 0, -1), "coronal")]
)
def test_sagittal_and_coronal_series_are_refused(orientation: tuple[float, ...], plane: str) -> None:
    slices = [_slice(position=(2.0 * k, 2.0 * k, 0.0), orientation=orientation, instance=k + 1) for k in range(3)]
    with pytest.raises(ImageInputError, match=plane):
        read_ct(_zip(slices), name="series.zip")
    with pytest.raises(ImageInputError, match=plane):
        read_ct(_bytes(slices[0]), name="slice.dcm")


def test_uneven_slice_spacing_is_refused() -> None:
    """Steps of 1.0 and 1.4 mm were measured as one 1.0 mm spacing (volumes 40 % off for the wide slices)."""
    with pytest.raises(ImageInputError, match="not evenly spaced"):
        read_ct(_zip(_marked_series([0.0, 1.0, 2.0, 3.4, 4.4, 5.4])), name="series.zip")


def test_jitter_in_positions_is_accepted() -> None:
    study = read_ct(_zip(_marked_series([0.0, 1.25, 2.5004, 3.7496])), name="series.zip")
    assert study.slice_spacing_mm == pytest.approx(1.25, abs=1e-3)


def test_duplicated_positions_are_refused() -> None:
    with pytest.raises(ImageInputError, match="duplicate"):
        read_ct(_zip(_marked_series([0.0, 2.0, 2.0, 4.0])), name="series.zip")


def test_missing_positions_order_by_instance_number_with_the_spacing_source_noted() -> None:
    slices = _marked_series([0.0, 2.0, 4.0])
    for ds in slices:
        del ds.ImagePositionPatient
    study = read_ct(_zip(slices), name="series.zip")
    assert study.hu[:, 0, 0].tolist() == [-996, -998, -1000]  # instance numbers run opposite to position
    assert study.slice_spacing_mm == 1.0 and any("slice thickness" in n for n in study.notes)


def test_neither_positions_nor_instance_numbers_is_refused() -> None:
    slices = _marked_series([0.0, 2.0, 4.0])
    for ds in slices:
        del ds.ImagePositionPatient, ds.InstanceNumber
    with pytest.raises(ImageInputError, match="order"):
        read_ct(_zip(slices), name="series.zip")


def test_multiframe_without_frame_positions_says_the_order_and_spacing_are_assumed() -> None:
    ds = _slice(pixels=_pixels(3))
    ds.NumberOfFrames = 3
    study = read_ct(_bytes(ds), name="multiframe.dcm")
    assert study.slice_spacing_mm == 1.0
    assert any("file order" in n and "slice thickness" in n for n in study.notes)


def test_localizer_in_the_series_is_left_out() -> None:
    """A scout (ImageType LOCALIZER, coronal) in the same series was sorted in as a slice."""
    slices = _marked_series([0.0, 2.0, 4.0])
    scout = _slice(position=(0.0, 200.0, 100.0), orientation=(1, 0, 0, 0, 0, -1), instance=99)
    scout.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    study = read_ct(_zip([scout, *slices]), name="series.zip")
    assert study.shape[0] == 3 and study.slice_spacing_mm == 2.0
    assert any("1 localizer" in n for n in study.notes)


def test_mixed_orientations_in_one_series_are_refused() -> None:
    slices = _marked_series([0.0, 2.0, 4.0])
    slices[1].ImageOrientationPatient = [1, 0, 0, 0, 0.94, -0.34]
    with pytest.raises(ImageInputError, match="orientation"):
        read_ct(_zip(slices), name="series.zip")


def test_mixed_pixel_spacing_in_one_series_is_refused() -> None:
    """Only the first slice's spacing was used for all."""
    slices = _marked_series([0.0, 2.0, 4.0])
    slices[2].PixelSpacing = [0.9, 0.9]
    with pytest.raises(ImageInputError, match="pixel spacing"):
        read_ct(_zip(slices), name="series.zip")


def test_mixed_series_in_one_zip_are_refused() -> None:
    slices = _marked_series([0.0, 2.0, 4.0])
    slices[0].SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    with pytest.raises(ImageInputError, match="mixes 2 DICOM series"):
        read_ct(_zip(slices), name="series.zip")


# --- what is not a CT image ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sop_class", ["1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.7.3"])
def test_secondary_capture_labelled_ct_is_refused(sop_class: str) -> None:
    ds = _slice(sop_class=sop_class)
    with pytest.raises(ImageInputError, match="secondary capture"):
        read_ct(_bytes(ds), name="screenshot.dcm")


@pytest.mark.parametrize(
    "filename", ["MR_small.dcm", "SC_rgb_small_odd.dcm", "examples_palette.dcm", "JPGExtended.dcm", "rtdose.dcm"]
)
def test_pydicom_non_ct_files_are_refused(filename: str) -> None:
    with pytest.raises(ImageInputError, match=r"not CT|secondary capture"):
        read_ct(Path(str(get_testdata_file(filename))).read_bytes(), name=filename)


@pytest.mark.parametrize("filename", ["JPEGLSNearLossless_16.dcm", "JPGExtended.dcm"])
def test_undecodable_compression_names_the_transfer_syntax(filename: str) -> None:
    """pydicom's compressed files relabelled as CT: the message says which compression cannot be decoded."""
    ds = pydicom.dcmread(get_testdata_file(filename))
    ds.Modality, ds.SOPClassUID = "CT", CTImageStorage
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    with pytest.raises(ImageInputError, match=r"JPEG.*\(1\.2\.840\.10008\.1\.2\.4\.\d+\).*uncompressed"):
        read_ct(_bytes(ds), name=filename)


def _per_frame_orientation(ds: FileDataset, orientations: list[list[float]]) -> FileDataset:
    del ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence
    for group, values in zip(ds.PerFrameFunctionalGroupsSequence, orientations, strict=True):
        item = Dataset()
        item.ImageOrientationPatient = values
        group.PlaneOrientationSequence = Sequence([item])
    return ds


def test_enhanced_ct_per_frame_sagittal_orientation_is_refused() -> None:
    """Orientation only in the per-frame groups was not read: a sagittal volume was taken for axial."""
    ds = _per_frame_orientation(_enhanced(), [[0, 1, 0, 0, 0, -1]] * 3)
    with pytest.raises(ImageInputError, match="sagittal"):
        read_ct(_bytes(ds), name="enhanced.dcm")


def test_enhanced_ct_frames_disagreeing_on_orientation_are_refused() -> None:
    ds = _per_frame_orientation(_enhanced(), [[1, 0, 0, 0, 1, 0], [1, 0, 0, 0, 1, 0], [1, 0, 0, 0, 0.94, -0.34]])
    with pytest.raises(ImageInputError, match="differ in orientation"):
        read_ct(_bytes(ds), name="enhanced.dcm")


def test_enhanced_ct_per_frame_axial_orientation_is_read() -> None:
    ds = _per_frame_orientation(_enhanced(), [[1, 0, 0, 0, 1, 0]] * 3)
    assert read_ct(_bytes(ds), name="enhanced.dcm").slice_spacing_mm == 1.0


def test_padding_value_inside_tissue_is_not_used() -> None:
    """PixelPaddingValue 0 with intercept 0 is 0 HU (water): it must not blank the soft tissue at 0 HU."""
    stored = _pixels() - 1024
    stored[:, 4:12, 4:12] = 0
    ds = _slice(pixels=stored)
    ds.RescaleIntercept = 0
    ds.add_new(0x00280120, "SS", 0)
    study = read_ct(_bytes(ds), name="slice.dcm")
    assert study.hu[0, 5, 5] == 0 and any("not used" in n for n in study.notes)


def test_series_with_a_mirrored_row_direction_still_runs_feet_to_head() -> None:
    """ImageOrientationPatient (-1, 0, 0, 0, 1, 0) has its normal towards the feet: sorting along it put the head
    first, against CTStudy's inferior-to-superior order."""
    study = read_ct(_zip(_marked_series([4.0, 0.0, 2.0], orientation=(-1, 0, 0, 0, 1, 0))), name="series.zip")
    assert study.hu[:, 0, 0].tolist() == [-1000, -998, -996] and study.slice_spacing_mm == 2.0


def test_localizer_in_its_own_series_is_left_out() -> None:
    """PACS exports often hold the scout as its own series beside the axial one: the zip was refused as two series."""
    scout = _slice(position=(0.0, 200.0, 100.0), orientation=(1, 0, 0, 0, 0, -1), series="1.2.826.0.1.3680043.8.498.9")
    scout.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    study = read_ct(_zip([*_marked_series([0.0, 2.0, 4.0]), scout]), name="export.zip")
    assert study.shape[0] == 3 and any("1 localizer" in n for n in study.notes)


def test_zip_of_localizers_only_is_refused() -> None:
    scout = _slice()
    scout.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    with pytest.raises(ImageInputError, match="only localizer"):
        read_ct(_zip([scout]), name="scout.zip")


def test_per_slice_padding_notes_are_summed_over_the_series() -> None:
    slices = []
    for k in range(3):
        stored = _pixels()
        stored[:, :, -(k + 1) :] = -2000  # 32, 64 and 96 padding pixels
        ds = _slice(2.0 * k, pixels=stored, instance=k + 1)
        ds.add_new(0x00280120, "SS", -2000)
        slices.append(ds)
    study = read_ct(_zip(slices), name="series.zip")
    assert study.hu.min() == -1024
    assert [n for n in study.notes if "padding" in n] == [
        f"{SIDE * 6} padding pixel(s) outside the scanned field (PixelPaddingValue) set to -1024 HU (air)"
    ]


def test_enhanced_ct_in_a_zip_is_ordered_as_when_read_alone() -> None:
    """A zipped Enhanced CT file kept its frames head first and had no slice spacing."""
    ds = _enhanced()
    ds.PerFrameFunctionalGroupsSequence[2].PixelValueTransformationSequence[0].RescaleIntercept = -1000
    alone = read_ct(_bytes(ds), name="enhanced.dcm")
    zipped = read_ct(_zip([ds]), name="enhanced.zip")
    assert zipped.hu[:, 0, 0].tolist() == alone.hu[:, 0, 0].tolist() == [-976, -1000, -1000]
    assert zipped.slice_spacing_mm == alone.slice_spacing_mm == 1.0
    assert zipped.source_format == "DICOM multi-frame (zip)"


def test_multiframe_beside_single_slices_in_one_zip_is_refused() -> None:
    multi = _slice(pixels=_pixels(3), instance=1)
    multi.NumberOfFrames = 3
    with pytest.raises(ImageInputError, match="multi-frame"):
        read_ct(_zip([multi, _slice(4.0, instance=2)]), name="mixed.zip")


def test_slope_without_intercept_is_noted() -> None:
    """RescaleSlope present, RescaleIntercept absent: the intercept 0 was assumed silently (air read at +24 HU)."""
    ds = _slice()
    del ds.RescaleIntercept
    with pytest.raises(ImageInputError, match=r"no RescaleIntercept.*no air or lung"):
        read_ct(_bytes(ds), name="slice.dcm")
    ds.PixelData = (_pixels() - 1024).astype("<i2").tobytes()  # stored values already in HU: read, with the note
    study = read_ct(_bytes(ds), name="slice.dcm")
    assert study.hu[0, 0, 0] == -1000 and any("no RescaleIntercept" in n for n in study.notes)


def test_per_frame_slope_without_intercept_is_noted() -> None:
    ds = _enhanced()
    del ds.PerFrameFunctionalGroupsSequence[0].PixelValueTransformationSequence[0].RescaleIntercept
    assert any("no RescaleIntercept" in n for n in read_ct(_bytes(ds), name="enhanced.dcm").notes)


def test_typed_pixel_size_replaces_the_missing_dicom_spacing_note() -> None:
    ds = _slice()
    del ds.PixelSpacing
    ds.ImagerPixelSpacing = [0.5, 0.5]
    study = read_ct(_bytes(ds), name="slice.dcm", pixel_mm=0.7)
    assert study.spacing_mm == (0.7, 0.7) and not study.needs_pixel_size
    assert not any("pixel size unknown" in n for n in study.notes)


def test_modality_lut_is_refused_not_ignored() -> None:
    """A ModalityLUTSequence instead of the rescale was ignored: stored values were taken as HU (air at +24)."""
    ds = _slice()
    del ds.RescaleSlope, ds.RescaleIntercept
    lut = Dataset()
    lut.LUTDescriptor = [4096, 0, 16]
    lut.ModalityLUTType = "HU"
    lut.add_new(0x00283006, "OW", np.arange(4096, dtype="<u2").tobytes())  # LUTData
    ds.ModalityLUTSequence = Sequence([lut])
    with pytest.raises(ImageInputError, match="look-up table"):
        read_ct(_bytes(ds), name="lut.dcm")


def test_a_rescale_that_makes_every_pixel_padding_is_refused() -> None:
    """Fuzz seed 25 case 1107: intercept -99999 put every pixel below the padding value, and the whole slice was set
    to air (a flat -1024 HU volume) instead of being refused."""
    ds = _slice()
    ds.add_new(0x00280120, "SS", -2000)
    ds.RescaleIntercept = -99999
    with pytest.raises(ImageInputError, match="100% of the pixels would be padding"):
        read_ct(_bytes(ds), name="slice.dcm")
