"""De-identification of DICOM datasets by allow-list, following DICOM PS3.15 Annex E.

The Basic Application Level Confidentiality Profile (PS3.15 Table E.1-1) names the attributes that can identify a
patient and an action for each: D (replace with a dummy value), Z (zero length), X (remove), K (keep),
C (clean), U (replace the UID consistently). A deny-list built from that table misses whatever the table does not
name (vendor text in an unlisted field, a name inside a sequence it does not descend into). So this module works
the other way round: :data:`ALLOWED` lists the few attributes the CT pixel pipeline and the page need (pixel
module, rescale, spacing, geometry, modality, the multi-frame functional groups) and everything else is dropped,
at every depth of every sequence; private tags, curves and overlays included.

The profile's table is held once, in :mod:`medai_core.deid_profile`. It is used to check the allow-list (an
allowed attribute must be one the profile keeps, or a UID the profile replaces) and by the tests, which walk every
pydicom test file and find none of the profile's attributes left with a value. Kept UIDs are replaced by UIDs
derived one-way with an HMAC keyed by a per-install secret (:func:`medai_core.install_keys.install_key`), so the
slices of one series still share one series UID, and nobody without the key can map a known original UID to its
replacement. Dates and times are removed (none is on the allow-list); the patient and study attributes of type 2
that the profile zeroes (Z) are written back empty at the top level, so the result is still a valid object a PACS
will import.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from typing import TYPE_CHECKING

from medai_core.deid_profile import PROFILE
from medai_core.errors import ImageInputError

if TYPE_CHECKING:
    from pydicom.dataset import Dataset, FileMetaDataset

__all__ = [
    "ALLOWED",
    "DEIDENTIFICATION_METHOD",
    "deidentify_dataset",
    "replacement_uid",
]

DEIDENTIFICATION_METHOD = "DICOM PS3.15 E.1 basic profile, allow-list (MedAI Dashboard)"
"""Written into (0012,0063) Deidentification Method of every de-identified dataset."""

_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
UID_ROOT = "2.25."
"""Replacement UIDs are 128-bit integers under the UUID-derived root of PS3.5 B.2 (no registered root needed)."""

ALLOWED: frozenset[str] = frozenset(
    {
        # identity of the object (UIDs replaced consistently) and what it is
        "SOPClassUID",
        "SOPInstanceUID",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "FrameOfReferenceUID",
        "Modality",
        "ImageType",
        "SpecificCharacterSet",
        "Manufacturer",
        "ManufacturerModelName",
        "BodyPartExamined",
        "KVP",
        "ConvolutionKernel",
        "PatientPosition",
        "SeriesNumber",
        "InstanceNumber",
        "AcquisitionNumber",
        # geometry
        "PixelSpacing",
        "SliceThickness",
        "SpacingBetweenSlices",
        "ImagePositionPatient",
        "ImageOrientationPatient",
        "SliceLocation",
        "PixelAspectRatio",
        # image pixel module and the values that turn stored values into Hounsfield units
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "PlanarConfiguration",
        "NumberOfFrames",
        "FrameIncrementPointer",
        "Rows",
        "Columns",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
        "PixelPaddingValue",
        "PixelPaddingRangeLimit",
        "SmallestImagePixelValue",
        "LargestImagePixelValue",
        "RescaleIntercept",
        "RescaleSlope",
        "RescaleType",
        "WindowCenter",
        "WindowWidth",
        "VOILUTFunction",
        "LossyImageCompression",
        "LossyImageCompressionRatio",
        "LossyImageCompressionMethod",
        "BurnedInAnnotation",
        "RecognizableVisualFeatures",
        "PixelData",
        "FloatPixelData",
        "DoubleFloatPixelData",
        "ExtendedOffsetTable",
        "ExtendedOffsetTableLengths",
        # enhanced (multi-frame) CT: the functional groups the reader walks, and their geometry items
        "SharedFunctionalGroupsSequence",
        "PerFrameFunctionalGroupsSequence",
        "PixelMeasuresSequence",
        "PlanePositionSequence",
        "PlaneOrientationSequence",
        "PixelValueTransformationSequence",
        "FrameVOILUTSequence",
        "FrameContentSequence",
        "DimensionIndexValues",
        "StackID",
        "InStackPositionNumber",
        "TemporalPositionIndex",
        # the record of what was done
        "PatientIdentityRemoved",
        "DeidentificationMethod",
        "LongitudinalTemporalInformationModified",
    }
)
"""Every attribute a de-identified dataset may hold, at any depth. All else is dropped."""

_ZEROED_TYPE2 = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
)
"""Type 2 attributes of the patient and study modules that the profile zeroes (Z): written back empty at the top
level so the copy stays a valid object. Their values never survive."""


def _check_allow_list() -> None:
    """An allowed attribute must be one the profile keeps or a UID it replaces; checked once at import."""
    conflicts = sorted(k for k in ALLOWED if PROFILE.get(k) not in (None, "K", "U"))
    if conflicts:
        raise RuntimeError(f"the allow-list holds attributes the PS3.15 basic profile removes: {conflicts}")


_check_allow_list()


def replacement_uid(uid: str, key: bytes) -> str:
    """The new UID that replaces ``uid``: ``2.25.<128 bits of HMAC-SHA256(key, uid)>``.

    Deterministic for one install (one key), so every slice of a series keeps one series UID and references
    between objects stay consistent; one-way and keyed, so a known original cannot be matched to its replacement.
    """
    digest = hmac.new(key, uid.strip().encode("ascii", "replace"), hashlib.sha256).digest()
    return UID_ROOT + str(int.from_bytes(digest[:16], "big"))


def _default_key() -> bytes:
    from medai_core.install_keys import install_key

    return install_key("deid")


def _clean_copy(ds: Dataset, key: bytes) -> Dataset:
    """A new dataset with only the allowed elements of ``ds``, UIDs replaced, sequences cleaned recursively.

    Values are shared, not copied (bytes and strings are immutable; lists are copied), so a large pixel data
    element costs no second copy of its memory.
    """
    from pydicom.dataelem import DataElement
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    out = Dataset()
    for elem in ds:
        keyword = "" if elem.tag.is_private else elem.keyword
        if keyword not in ALLOWED:
            continue
        if elem.VR == "SQ":
            out.add(DataElement(elem.tag, "SQ", Sequence([_clean_copy(item, key) for item in elem.value])))
            continue
        # Binary values (pixel data) are immutable bytes: shared. Everything else is small: copied, as it was read
        # (no re-validation, so a value pydicom accepted on reading is not refused here).
        new = copy.copy(elem) if elem.VR in _BINARY_VRS else copy.deepcopy(elem)
        if elem.VR == "UI" and PROFILE.get(keyword) == "U" and elem.value:
            replaced = [replacement_uid(str(v), key) for v in (elem.value if elem.VM > 1 else [elem.value])]
            new.value = replaced if elem.VM > 1 else replaced[0]
        out.add(new)
    return out


def deidentify_dataset(ds: Dataset, key: bytes | None = None, *, allow_burned_in: bool = False) -> Dataset:
    """A de-identified copy of ``ds`` (the original is left untouched).

    Args:
        ds: any DICOM dataset, with or without file meta.
        key: the secret that derives replacement UIDs; default the per-install key.
        allow_burned_in: accept pixel data marked BurnedInAnnotation YES (for a header shown beside the image,
            never for a copy to share); the copy then says PatientIdentityRemoved ``NO``, which is the truth.

    Returns:
        A copy holding only :data:`ALLOWED` attributes at every depth, UIDs replaced, the type 2 patient and study
        attributes present but empty, PatientIdentityRemoved ``YES`` and the method recorded.

    Raises:
        ImageInputError: the pixel data carries burned-in annotation (BurnedInAnnotation YES), which no header
            edit removes; such images must be cleaned at the source (unless ``allow_burned_in``).
    """
    burned_in = str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES"
    if burned_in and not allow_burned_in:
        raise ImageInputError(
            "this DICOM image has text burned into its pixels (BurnedInAnnotation YES), which may name the patient; "
            "it cannot be de-identified by cleaning the header. Export the series without annotations."
        )
    secret = key if key is not None else _default_key()
    clean = _clean_copy(ds, secret)
    for keyword in (k for k in _ZEROED_TYPE2 if k in ds):
        setattr(clean, keyword, "")
    clean.PatientIdentityRemoved = "NO" if burned_in else "YES"
    clean.DeidentificationMethod = DEIDENTIFICATION_METHOD
    clean.LongitudinalTemporalInformationModified = "REMOVED"
    original_meta = getattr(ds, "file_meta", None)
    if original_meta is not None:
        clean.file_meta = _clean_file_meta(original_meta, clean, secret)
    return clean


def _clean_file_meta(original: Dataset, clean: Dataset, key: bytes) -> FileMetaDataset:
    """Keep the transfer syntax and SOP class; the instance UID follows the dataset's; names and AE titles go."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID

    meta = FileMetaDataset()
    for keyword in ("FileMetaInformationVersion", "MediaStorageSOPClassUID", "TransferSyntaxUID"):
        if keyword in original:
            setattr(meta, keyword, original[keyword].value)
    if "SOPInstanceUID" in clean:
        meta.MediaStorageSOPInstanceUID = clean.SOPInstanceUID
    elif "MediaStorageSOPInstanceUID" in original:
        meta.MediaStorageSOPInstanceUID = UID(replacement_uid(str(original.MediaStorageSOPInstanceUID), key))
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return meta
