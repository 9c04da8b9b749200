"""De-identification by allow-list (PS3.15 basic profile): every pydicom test file, nested sequences, UIDs."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file, get_testdata_files
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from medai_core.ct.readers import read_ct
from medai_core.deid import ALLOWED, DEIDENTIFICATION_METHOD, deidentify_dataset, replacement_uid
from medai_core.deid_profile import PROFILE, profile_leaks
from medai_core.errors import ImageInputError, InputError

KEY = b"k" * 32
CT_SMALL = Path(get_testdata_file("CT_small.dcm"))


def _read_any(path: str) -> Dataset | None:
    """The dataset, fully parsed, or None where pydicom itself cannot read the file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for force in (False, True):
            try:
                ds = pydicom.dcmread(path, force=force)
                list(_all_elements(ds))  # parse lazily read sequences now
            except Exception:  # pydicom's own failures on its deliberately broken fixtures
                continue
            if len(ds) or getattr(ds, "file_meta", None):
                return ds
    return None


def _all_elements(ds: Dataset) -> list[pydicom.DataElement]:
    out = []
    for elem in ds:
        out.append(elem)
        if elem.VR == "SQ":
            for item in elem.value:
                out.extend(_all_elements(item))
    return out


def _uids(ds: Dataset) -> frozenset[str]:
    found = set()
    for elem in _all_elements(ds) + (list(ds.file_meta) if getattr(ds, "file_meta", None) else []):
        if elem.VR == "UI" and PROFILE.get(elem.keyword) == "U" and elem.value:
            found.update(str(v) for v in (elem.value if elem.VM > 1 else [elem.value]))
    return frozenset(found)


def test_profile_table_names_real_attributes_with_known_actions() -> None:
    for keyword, action in PROFILE.items():
        known = keyword in pydicom.datadict.keyword_dict or pydicom.datadict.repeater_has_keyword(keyword)
        assert known, keyword
        assert action in "DZXKCU"
    assert len(PROFILE) > 250
    assert {PROFILE[k] for k in ("PatientName", "PatientID", "StudyDate")} == {"Z"}
    assert PROFILE["InstanceCreatorUID"] == "U" and PROFILE["TimezoneOffsetFromUTC"] == "X"
    assert PROFILE["SourceImageSequence"] == "X" and PROFILE["DeviceSerialNumber"] == "X"


def test_allow_list_holds_nothing_the_profile_removes() -> None:
    assert all(PROFILE.get(k) in (None, "K", "U") for k in ALLOWED)
    assert all(k in pydicom.datadict.keyword_dict for k in ALLOWED)


def test_every_pydicom_test_file_is_left_with_no_profile_attribute() -> None:
    checked, skipped, leaks = 0, 0, {}
    for path in get_testdata_files():
        ds = _read_any(path)
        if ds is None:
            skipped += 1
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # pydicom on its deliberately invalid fixtures
                clean = deidentify_dataset(ds, KEY)
                found = profile_leaks(clean, _uids(ds))
        except ImageInputError:  # burned-in annotation: refused, nothing written
            assert str(ds.get("BurnedInAnnotation", "")).upper() == "YES"
            continue
        checked += 1
        strangers = [e.keyword or str(e.tag) for e in _all_elements(clean) if e.keyword not in ALLOWED]
        strangers = [k for k in strangers if k not in {"PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                                                        "StudyDate", "StudyTime", "ReferringPhysicianName",
                                                        "StudyID", "AccessionNumber"}]  # fmt: skip
        if found or strangers:
            leaks[Path(path).name] = found + strangers
    assert not leaks, leaks
    assert checked >= 150, (checked, skipped)


def _nested_rt_dataset() -> Dataset:
    ds = Dataset()
    ds.Modality = "RTPLAN"
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.InstanceCreatorUID = "1.2.3.99"
    ds.TimezoneOffsetFromUTC = "-0500"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "MRN123"
    beam = Dataset()
    beam.InstitutionName = "St Elsewhere"
    beam.DeviceSerialNumber = "SN-42"
    beam.Manufacturer = "Acme"
    ds.BeamSequence = Sequence([beam])
    source = Dataset()
    source.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    source.ReferencedSOPInstanceUID = "1.2.3.4.6"
    ds.SourceImageSequence = Sequence([source])
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = [0.5, 0.5]
    measures.SliceThickness = 1.0
    shared.PixelMeasuresSequence = Sequence([measures])
    shared.FrameContentSequence = Sequence([Dataset()])
    shared.FrameContentSequence[0].FrameAcquisitionDateTime = "20200101120000"
    shared.FrameContentSequence[0].StackID = "1"
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.add_new(0x00091001, "LO", "private vendor text")
    return ds


def test_the_issue_findings_are_gone_at_every_depth() -> None:
    ds = _nested_rt_dataset()
    clean = deidentify_dataset(ds, KEY)
    for keyword in ("InstanceCreatorUID", "TimezoneOffsetFromUTC", "BeamSequence", "SourceImageSequence"):
        assert keyword not in clean
    text = repr(clean)
    for secret in ("St Elsewhere", "SN-42", "1.2.3.4.6", "1.2.3.99", "Doe", "MRN123", "private vendor", "2020"):
        assert secret not in text
    assert str(clean.PatientName) == "" and clean.PatientID == ""
    item = clean.SharedFunctionalGroupsSequence[0]
    assert item.PixelMeasuresSequence[0].PixelSpacing == [0.5, 0.5]
    assert "FrameAcquisitionDateTime" not in item.FrameContentSequence[0]
    assert item.FrameContentSequence[0].StackID == "1"
    assert clean.PatientIdentityRemoved == "YES" and clean.DeidentificationMethod == DEIDENTIFICATION_METHOD
    assert profile_leaks(clean, _uids(ds)) == []
    assert ds.BeamSequence[0].InstitutionName == "St Elsewhere"  # the original is untouched


def test_profile_leaks_finds_what_was_left() -> None:
    ds = _nested_rt_dataset()
    leaks = profile_leaks(ds, frozenset({"1.2.3.4.5"}))
    joined = "\n".join(leaks)
    assert "BeamSequence[0].InstitutionName" in joined and "BeamSequence[0].DeviceSerialNumber" in joined
    assert "SOPInstanceUID: original UID kept" in joined and "private" in joined
    assert "FrameAcquisitionDateTime: a DT value" in joined


def test_uids_are_replaced_consistently_and_keyed() -> None:
    a, b = _nested_rt_dataset(), _nested_rt_dataset()
    b.SOPInstanceUID = "1.2.3.4.7"
    ca, cb = deidentify_dataset(a, KEY), deidentify_dataset(b, KEY)
    assert ca.SOPInstanceUID == replacement_uid("1.2.3.4.5", KEY) != cb.SOPInstanceUID
    assert deidentify_dataset(a, b"other" * 7).SOPInstanceUID != ca.SOPInstanceUID  # another install, another UID
    uid = replacement_uid("1.2.3", KEY)
    assert uid.startswith("2.25.") and len(uid) <= 64 and pydicom.uid.UID(uid).is_valid


def test_series_uid_stays_one_series_and_file_meta_follows() -> None:
    ds = pydicom.dcmread(CT_SMALL)
    first, second = deidentify_dataset(ds, KEY), deidentify_dataset(ds, KEY)
    assert first.SeriesInstanceUID == second.SeriesInstanceUID != ds.SeriesInstanceUID
    assert first.file_meta.MediaStorageSOPInstanceUID == first.SOPInstanceUID
    assert first.PixelData is ds.PixelData  # shared, not copied: no second copy of a large volume in memory
    assert "SourceApplicationEntityTitle" not in first.file_meta


def test_ct_pipeline_reads_the_deidentified_slice_to_the_same_pixels() -> None:
    original = read_ct(CT_SMALL.read_bytes(), name="CT_small.dcm")
    clean = deidentify_dataset(pydicom.dcmread(CT_SMALL), KEY)
    buffer = io.BytesIO()
    clean.save_as(buffer, enforce_file_format=True)
    again = read_ct(buffer.getvalue(), name="clean.dcm")
    np.testing.assert_array_equal(again.hu, original.hu)
    assert again.spacing_mm == original.spacing_mm
    assert again.metadata["Modality"] == "CT"
    for secret in (b"CompressedSamples", b"1CT1", b"JFK IMAGING", b"CT01_OC0", b"20040119", b"GEMS_", b"CLUNIE1"):
        assert secret not in buffer.getvalue()


def test_burned_in_annotation_is_refused() -> None:
    ds = _nested_rt_dataset()
    ds.BurnedInAnnotation = "YES"
    with pytest.raises(InputError, match="burned into its pixels"):
        deidentify_dataset(ds, KEY)
    shown = deidentify_dataset(ds, KEY, allow_burned_in=True)  # a header shown beside the image, never shared
    assert shown.PatientIdentityRemoved == "NO" and "St Elsewhere" not in repr(shown)


def test_default_key_is_per_install_and_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAI_DEID_KEY", str(tmp_path / "k" / "deid.key"))
    ds = Dataset()
    ds.SOPInstanceUID = "1.2.3"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    first = deidentify_dataset(ds).SOPInstanceUID
    assert deidentify_dataset(ds).SOPInstanceUID == first
    assert (tmp_path / "k" / "deid.key").stat().st_mode & 0o777 == 0o600
