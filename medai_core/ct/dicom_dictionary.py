"""The DICOM attributes the CT reader uses, with their value representation (VR) and value multiplicity (VM) as
DICOM PS3.6 (Data Dictionary, table 6-1; file meta elements table 7-1) fixes them.

One table: every attribute :mod:`medai_core.ct.readers` and :mod:`medai_core.ct.dicom_checks` read is a row here, and
:func:`check_attribute` refuses a value whose VR or number of values is not what PS3.6 gives, with the attribute's
name (``PixelSpacing`` holds 2 values, never 4; ``RescaleSlope`` 1, never ``2\\1``). Silently using the first values
of a longer list is how a 0.35 mm pixel becomes a 0.7 mm one.

Source: DICOM PS3.6 2025b (NEMA, https://dicom.nema.org/medical/dicom/current/output/html/part06.html), the
public DICOM standard; the rows are checked against pydicom's copy of the same dictionary in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ATTRIBUTES", "Attribute", "vm_text"]


@dataclass(frozen=True)
class Attribute:
    """One row of PS3.6 table 6-1 (or 7-1).

    Attributes:
        tag: (group, element).
        vrs: the value representations PS3.6 allows (two for ``US or SS``, ``OB or OW``); pydicom's spelling of an
            ambiguous VR it has not resolved (``'US or SS'``) is also accepted.
        vm_min: the fewest values.
        vm_max: the most values (None: no limit, PS3.6's ``n``).
        section: where PS3.6 lists it.
    """

    tag: tuple[int, int]
    vrs: tuple[str, ...]
    vm_min: int
    vm_max: int | None
    section: str = "PS3.6 table 6-1"


def _row(group: int, element: int, vr: str, vm: str, section: str = "PS3.6 table 6-1") -> Attribute:
    """A row as PS3.6 writes it: VR ``'US or SS'``, VM ``'1'``, ``'2-n'``."""
    vrs = tuple(vr.split(" or "))
    low, _, high = vm.partition("-")
    vm_max = None if high == "n" else int(high or low)
    return Attribute((group, element), (*vrs, vr) if len(vrs) > 1 else vrs, int(low), vm_max, section)


ATTRIBUTES: dict[str, Attribute] = {
    # file meta information (PS3.6 table 7-1)
    "TransferSyntaxUID": _row(0x0002, 0x0010, "UI", "1", "PS3.6 table 7-1"),
    # identification and image type
    "ImageType": _row(0x0008, 0x0008, "CS", "2-n"),
    "SOPClassUID": _row(0x0008, 0x0016, "UI", "1"),
    "Modality": _row(0x0008, 0x0060, "CS", "1"),
    "SeriesInstanceUID": _row(0x0020, 0x000E, "UI", "1"),
    "InstanceNumber": _row(0x0020, 0x0013, "IS", "1"),
    # geometry
    "SliceThickness": _row(0x0018, 0x0050, "DS", "1"),
    "SpacingBetweenSlices": _row(0x0018, 0x0088, "DS", "1"),
    "ImagerPixelSpacing": _row(0x0018, 0x1164, "DS", "2"),
    "ImagePositionPatient": _row(0x0020, 0x0032, "DS", "3"),
    "ImageOrientationPatient": _row(0x0020, 0x0037, "DS", "6"),
    "PixelSpacing": _row(0x0028, 0x0030, "DS", "2"),
    # image pixel module
    "SamplesPerPixel": _row(0x0028, 0x0002, "US", "1"),
    "PhotometricInterpretation": _row(0x0028, 0x0004, "CS", "1"),
    "NumberOfFrames": _row(0x0028, 0x0008, "IS", "1"),
    "Rows": _row(0x0028, 0x0010, "US", "1"),
    "Columns": _row(0x0028, 0x0011, "US", "1"),
    "BitsAllocated": _row(0x0028, 0x0100, "US", "1"),
    "BitsStored": _row(0x0028, 0x0101, "US", "1"),
    "HighBit": _row(0x0028, 0x0102, "US", "1"),
    "PixelRepresentation": _row(0x0028, 0x0103, "US", "1"),
    "PixelPaddingValue": _row(0x0028, 0x0120, "US or SS", "1"),
    "PixelPaddingRangeLimit": _row(0x0028, 0x0121, "US or SS", "1"),
    # rescale to Hounsfield units
    "RescaleIntercept": _row(0x0028, 0x1052, "DS", "1"),
    "RescaleSlope": _row(0x0028, 0x1053, "DS", "1"),
    "RescaleType": _row(0x0028, 0x1054, "LO", "1"),
    "ModalityLUTSequence": _row(0x0028, 0x3000, "SQ", "1"),
    # enhanced CT functional groups
    "PlanePositionSequence": _row(0x0020, 0x9113, "SQ", "1"),
    "PlaneOrientationSequence": _row(0x0020, 0x9116, "SQ", "1"),
    "PixelMeasuresSequence": _row(0x0028, 0x9110, "SQ", "1"),
    "PixelValueTransformationSequence": _row(0x0028, 0x9145, "SQ", "1"),
    "SharedFunctionalGroupsSequence": _row(0x5200, 0x9229, "SQ", "1"),
    "PerFrameFunctionalGroupsSequence": _row(0x5200, 0x9230, "SQ", "1"),
    # pixel data
    "FloatPixelData": _row(0x7FE0, 0x0008, "OF", "1"),
    "DoubleFloatPixelData": _row(0x7FE0, 0x0009, "OD", "1"),
    "PixelData": _row(0x7FE0, 0x0010, "OB or OW", "1"),
}
"""The one table of DICOM attributes the CT reader uses: keyword -> PS3.6 tag, VR and VM."""


def vm_text(attribute: Attribute) -> str:
    """The multiplicity as PS3.6 writes it: ``'1'``, ``'2'``, ``'2-n'``."""
    if attribute.vm_max == attribute.vm_min:
        return str(attribute.vm_min)
    return f"{attribute.vm_min}-{'n' if attribute.vm_max is None else attribute.vm_max}"
