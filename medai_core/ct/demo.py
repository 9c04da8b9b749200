"""Demo inputs that work on a fresh machine, returned as upload bytes so they take the same path as an upload.

- ``"ct_small"``: pydicom's bundled real CT slice (``CT_small.dcm``, 128 x 128, 0.66 mm pixels). It holds no
  nodule; the suggested seed is a small lung vessel, so the demo shows the DICOM path, not a finding.
- ``"phantom:<kind>:<mm>"``: a synthetic nodule phantom (:mod:`medai_core.ct.phantom`) as a zipped DICOM series.
  Labelled synthetic wherever shown.
"""

from __future__ import annotations

from pathlib import Path

from medai_core.ct.phantom import PHANTOM_KINDS, make_phantom, phantom_dicom_zip
from medai_core.ct.prepare import Seed

__all__ = ["CT_SMALL_SEED", "demo_bytes", "demo_seed"]

CT_SMALL_SEED = Seed(row=24, col=5, slice_index=0)  # a small vessel in the lung on the left of the image


def demo_bytes(case: str) -> tuple[bytes, str]:
    """(bytes, file name) of a demo case.

    Raises:
        ValueError: an unknown case name.
    """
    if case == "ct_small":
        from pydicom.data import get_testdata_file

        path = get_testdata_file("CT_small.dcm")
        if path is None:  # pragma: no cover - pydicom always bundles it
            raise ValueError("pydicom's CT_small.dcm test file is missing")
        return Path(str(path)).read_bytes(), "CT_small.dcm (pydicom test file)"
    kind, diameter = _phantom_case(case)
    return phantom_dicom_zip(make_phantom(kind, diameter)), f"synthetic_{kind}_{diameter:g}mm.zip"  # type: ignore[arg-type]


def demo_seed(case: str) -> Seed:
    """The suggested seed point of a demo case (the nodule centre for phantoms)."""
    if case == "ct_small":
        return CT_SMALL_SEED
    kind, diameter = _phantom_case(case)
    return make_phantom(kind, diameter).seed  # type: ignore[arg-type]


def _phantom_case(case: str) -> tuple[str, float]:
    parts = case.split(":")
    if len(parts) != 3 or parts[0] != "phantom" or parts[1] not in PHANTOM_KINDS:
        raise ValueError(f"unknown demo case {case!r}; use 'ct_small' or 'phantom:<{'|'.join(PHANTOM_KINDS)}>:<mm>'")
    return parts[1], float(parts[2])
