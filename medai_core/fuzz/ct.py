"""The CT domain's part of the fuzz command: seeds (the demo series and phantoms, the fixtures, pydicom's bundled
test files relabelled CT), the mutation step (zip members, DICOM tags, PNG headers, re-encoded images, bytes), the
worker's check (segmentation and the training crop) and the generated cases (a synthetic phantom stored other ways,
or with a header no CT holds)."""

from __future__ import annotations

import copy
import io
import random
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from medai_core.domains import CT, resolve
from medai_core.fuzz.mutations import bytes_op, dicom_op, image_op, png_op, zip_op
from medai_core.fuzz.report import StructuredCase
from medai_core.fuzz.target import FuzzTarget, Seed, finite, fixture_files

__all__ = ["HU_RANGE", "TARGET", "check_ct"]

HU_RANGE = (-32768.0, 32767.0)
"""Hounsfield units a decoded CT volume may hold (signed 16 bit, the cache format); anything else is a decoding
error (a wrong slope, intercept or pixel representation)."""
_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm", ".zip"}
_HU_TOLERANCE = 0.5  # HU: the same stored study read two ways differs by rounding at most


# ------------------------------------------------------------------------------------------------ seeds


def _ct_seeds() -> list[Seed]:
    from pydicom.data.data_manager import DATA_ROOT

    from medai_core.ct.demo import demo_bytes, demo_seed

    seeds: list[Seed] = []
    for case in ("ct_small", "phantom:solid:8", "phantom:spiculated:14"):
        data, name = demo_bytes(case)
        point = demo_seed(case)
        seeds.append((name, data, (point.row, point.col, point.slice_index)))
    for path in fixture_files(CT.name, _SUFFIXES):
        seeds.append((path.name, path.read_bytes(), None))
    for path in sorted((Path(DATA_ROOT) / "test_files").rglob("*.dcm")):  # bundled with pydicom; no download
        if path.stat().st_size <= 600_000:
            seeds.append((path.name, _as_ct(path.read_bytes()), None))
    return seeds


def _as_ct(data: bytes) -> bytes:
    """A pydicom test image relabelled ``Modality CT`` (so cases reach the pixel and geometry code, not only the
    modality check); files without pixel data, or that pydicom cannot parse, unchanged."""
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=True)
            if "PixelData" not in ds or ds.get("Modality") == "CT":
                return data
            ds.Modality = "CT"
            out = io.BytesIO()
            ds.save_as(out, enforce_file_format=False)
            return out.getvalue()
    except Exception:
        return data


# ------------------------------------------------------------------------------------------------ mutation


def _mutate_step(rng: random.Random, data: bytes, other: bytes) -> tuple[bytes, str]:
    """Zip members of a series, DICOM tags, PNG headers or re-encoded images where the data is one; else bytes."""
    if data[:4] == b"PK\x03\x04" and rng.random() < 0.7:
        return zip_op(rng, data)
    if len(data) >= 132 and data[128:132] == b"DICM" and rng.random() < 0.6:
        return dicom_op(rng, data)
    if data.startswith(b"\x89PNG") and len(data) > 33 and rng.random() < 0.2:
        return png_op(rng, data)
    if data.startswith(b"\x89PNG") and rng.random() < 0.6:
        return image_op(rng, data)
    return bytes_op(rng, data, other)


def _case_name(seed_name: str) -> str:
    """An upload's name with the seed's suffix (the reader must not lean on the name)."""
    return "upload" + (Path(seed_name.split(" ")[0]).suffix or ".dcm")


# ------------------------------------------------------------------------------------------------ check (worker)


def check_ct(data: bytes, name: str, point: tuple[int, int, int] | None) -> list[str]:
    """Read a CT input and segment it; the violations found (empty when everything is finite and in range).

    Raises:
        InputError: what the reader or the segmentation raised for input it rejects.
    """
    from medai_core.ct.analysis import prepare_nodule
    from medai_core.ct.prepare import Seed as NoduleSeed

    study = resolve(CT.reader)(data, name=name)
    problems = _volume_problems(study)
    if problems:
        return problems
    d, h, w = study.shape
    seed = None
    if not study.is_masked_crop:
        row, col, index = point if point is not None else (h // 2, w // 2, d // 2)
        seed = NoduleSeed(min(row, h - 1), min(col, w - 1), min(index, d - 1))
    return _nodule_problems(prepare_nodule(study, seed))


def _volume_problems(study: Any) -> list[str]:
    """What is wrong with a decoded study's volume and spacings (empty: nothing)."""
    import numpy as np

    hu = study.hu
    if hu.ndim != 3 or 0 in hu.shape:
        return [f"volume shape {hu.shape} is not (D, H, W) with D, H, W >= 1"]
    problems: list[str] = []
    if not np.isfinite(hu).all():
        problems.append(f"{int((~np.isfinite(hu)).sum())} non-finite HU values")
    elif hu.min() < HU_RANGE[0] or hu.max() > HU_RANGE[1]:
        problems.append(f"HU outside {HU_RANGE}: min {float(hu.min()):g}, max {float(hu.max()):g}")
    elif "DICOM" in study.source_format and float(hu.max()) == float(hu.min()) and hu.size > 1:
        problems.append(f"a flat volume: every voxel is {float(hu.min()):g} HU")
    if study.spacing_mm is not None and not all(finite(s) and 0 < s < 100 for s in study.spacing_mm):
        problems.append(f"pixel spacing {study.spacing_mm} mm is not finite and in (0, 100)")
    if study.slice_spacing_mm is not None and not (finite(study.slice_spacing_mm) and study.slice_spacing_mm > 0):
        problems.append(f"slice spacing {study.slice_spacing_mm} mm is not finite and positive")
    return problems


def _nodule_problems(prepared: Any) -> list[str]:
    """What is wrong with a segmented nodule's training crop and measurements (empty: nothing)."""
    import numpy as np

    problems: list[str] = []
    crop = prepared.crop_u8
    if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[1:] != (64, 64):
        problems.append(f"training crop {crop.dtype} {crop.shape} is not uint8 (D, 64, 64)")
    for label, value in (
        ("long axis", prepared.long_axis_mm),
        ("short axis", prepared.short_axis_mm),
        ("volume", prepared.volume_mm3),
    ):
        if value is not None and not (finite(value) and value >= 0):
            problems.append(f"{label} {value} is not finite and >= 0")
    return problems


# ------------------------------------------------------------------------------------------------ generated cases


def _ct_slices(rng: random.Random) -> list[Any]:
    """A random synthetic phantom as parsed pydicom slices (Explicit VR Little Endian, signed, intercept -1024)."""
    import pydicom

    from medai_core.ct.phantom import PHANTOM_KINDS, make_phantom, phantom_dicom_files

    phantom = make_phantom(
        rng.choice(PHANTOM_KINDS),
        round(rng.uniform(5.0, 18.0), 1),
        size=rng.choice((48, 64)),
        slices=rng.randint(4, 8),
        spacing_mm=rng.choice((0.5, 0.625, 0.7, 0.8)),
        slice_mm=rng.choice((0.625, 1.0, 1.25, 2.5)),
        seed=rng.randrange(10**6),
    )
    return [pydicom.dcmread(io.BytesIO(data)) for data in phantom_dicom_files(phantom)]


def _dicom_bytes(ds: Any, syntax: str | None = None) -> bytes:
    """``ds`` written as a file, in ``syntax`` (pixel bytes converted for big endian) where given."""
    import numpy as np
    import pydicom
    from pydicom import config
    from pydicom.uid import ExplicitVRBigEndian

    if syntax is not None:
        ds = copy.deepcopy(ds)
        if syntax == ExplicitVRBigEndian:
            dtype = "<u2" if int(ds.PixelRepresentation) == 0 else "<i2"
            ds.PixelData = np.frombuffer(ds.PixelData, dtype).astype(dtype.replace("<", ">")).tobytes()
        ds.file_meta.TransferSyntaxUID = syntax
    old = config.settings.writing_validation_mode
    config.settings.writing_validation_mode = config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            buffer = io.BytesIO()
            pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
            return buffer.getvalue()
    finally:
        config.settings.writing_validation_mode = old


def _series_zip(slices: Sequence[Any], syntax: str | None = None, reverse: bool = False) -> bytes:
    buffer = io.BytesIO()
    members = [(f"series/IM{k:04d}.dcm", _dicom_bytes(ds, syntax)) for k, ds in enumerate(slices)]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in reversed(members) if reverse else members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _stored(ds: Any) -> Any:
    import numpy as np

    return np.frombuffer(ds.PixelData, "<i2").astype(np.int32)


def _restore(slices: list[Any], change: Callable[[Any], None]) -> list[Any]:
    """Copies of ``slices`` with ``change`` applied to each (pydicom's lenient writing for invalid values)."""
    from pydicom import config

    out = []
    old = config.settings.writing_validation_mode
    config.settings.writing_validation_mode = config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for ds in slices:
                changed = copy.deepcopy(ds)
                change(changed)
                out.append(changed)
    finally:
        config.settings.writing_validation_mode = old
    return out


def _multiframe(slices: Sequence[Any], positions_mm: Sequence[float] | None) -> Any:
    """The slices as one Enhanced CT multi-frame dataset, with per-frame positions where given."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence as DicomSequence
    from pydicom.uid import EnhancedCTImageStorage

    ds = copy.deepcopy(slices[0])
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = EnhancedCTImageStorage
    ds.NumberOfFrames = len(slices)
    ds.PixelData = b"".join(s.PixelData for s in slices)
    del ds.ImagePositionPatient
    if positions_mm is None:
        return ds
    del ds.SliceThickness
    groups = []
    for z in positions_mm:
        plane = Dataset()
        plane.ImagePositionPatient = [0.0, 0.0, float(z)]
        group = Dataset()
        group.PlanePositionSequence = DicomSequence([plane])
        groups.append(group)
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(groups)
    return ds


def _set_stored(ds: Any, values: Any, dtype: str = "<i2") -> None:
    import numpy as np

    ds.PixelData = np.asarray(values).astype(dtype).tobytes()


def _ct_same(rng: random.Random, slices: list[Any]) -> list[tuple[str, str, bytes]]:
    """The reference study stored other ways a scanner or PACS writes it (label, name, bytes)."""
    from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian

    positions = [float(ds.ImagePositionPatient[2]) for ds in slices]

    def unsigned(ds: Any) -> None:
        ds.PixelRepresentation = 0
        _set_stored(ds, _stored(ds), "<u2")

    def slope_half(ds: Any) -> None:
        _set_stored(ds, _stored(ds) * 2)
        ds.RescaleSlope = "0.5"

    def intercept_1000(ds: Any) -> None:
        _set_stored(ds, _stored(ds) - 24)
        ds.RescaleIntercept = "-1000"

    def bits12(ds: Any) -> None:
        ds.BitsStored, ds.HighBit = 12, 11

    def monochrome1(ds: Any) -> None:
        ds.PhotometricInterpretation = "MONOCHROME1"

    def instance_reversed(ds: Any) -> None:
        ds.InstanceNumber = len(slices) + 1 - int(ds.InstanceNumber)

    options: list[Callable[[], tuple[str, str, bytes]]] = [
        lambda: ("implicit VR little endian", "series.zip", _series_zip(slices, ImplicitVRLittleEndian)),
        lambda: ("explicit VR big endian", "series.zip", _series_zip(slices, ExplicitVRBigEndian)),
        lambda: ("unsigned stored values", "series.zip", _series_zip(_restore(slices, unsigned))),
        lambda: ("slope 0.5, stored values doubled", "series.zip", _series_zip(_restore(slices, slope_half))),
        lambda: ("intercept -1000", "series.zip", _series_zip(_restore(slices, intercept_1000))),
        lambda: ("BitsStored 12", "series.zip", _series_zip(_restore(slices, bits12))),
        lambda: ("MONOCHROME1", "series.zip", _series_zip(_restore(slices, monochrome1))),
        lambda: (
            "members and instance numbers reversed",
            "series.zip",
            _series_zip(_restore(slices, instance_reversed), reverse=True),
        ),
        lambda: ("Enhanced CT multi-frame", "volume.dcm", _dicom_bytes(_multiframe(slices, positions))),
    ]
    return [make() for make in rng.sample(options, rng.randint(2, 3))]


_Refusal = Callable[[random.Random, list[Any]], tuple[str, str, bytes]]
"""One kind of file no CT holds, built from the reference slices: (label, name, bytes)."""


def _four_spacings(rng: random.Random, slices: list[Any]) -> tuple[str, str, bytes]:
    from pydicom.datadict import tag_for_keyword

    spacing = float(slices[0].PixelSpacing[0])
    text = f"{spacing / 2:g}\\{spacing / 2:g}\\{spacing:g}\\{spacing:g}"
    return (
        "PixelSpacing with 4 values",
        "series.zip",
        _series_zip(_restore(slices, lambda ds: ds.add_new(tag_for_keyword("PixelSpacing"), "DS", text))),
    )


def _two_rescales(rng: random.Random, slices: list[Any]) -> tuple[str, str, bytes]:
    from pydicom.datadict import tag_for_keyword

    def two_rescales(ds: Any) -> None:
        ds.add_new(tag_for_keyword("RescaleSlope"), "DS", "2\\1")
        ds.add_new(tag_for_keyword("RescaleIntercept"), "DS", "-1024\\0")

    return "RescaleSlope 2\\1, RescaleIntercept -1024\\0", "series.zip", _series_zip(_restore(slices, two_rescales))


def _four_positions(rng: random.Random, slices: list[Any]) -> tuple[str, str, bytes]:
    from pydicom.datadict import tag_for_keyword

    k = rng.randrange(len(slices))

    def four_positions(ds: Any) -> None:
        if int(ds.InstanceNumber) == k + 1:
            z = float(ds.ImagePositionPatient[2])
            ds.add_new(tag_for_keyword("ImagePositionPatient"), "DS", f"0\\0\\{z:g}\\1")

    return "ImagePositionPatient with 4 values", "series.zip", _series_zip(_restore(slices, four_positions))


def _swapped_pixels(rng: random.Random, slices: list[Any]) -> tuple[str, str, bytes]:
    import numpy as np

    def swap(ds: Any) -> None:
        ds.PixelData = np.frombuffer(ds.PixelData, "<i2").astype(">i2").tobytes()

    if rng.random() < 0.5:
        return "pixel bytes big-endian, header little endian", "series.zip", _series_zip(_restore(slices, swap))
    one = _restore(slices[len(slices) // 2 : len(slices) // 2 + 1], swap)[0]
    return "pixel bytes big-endian, header little endian (one file)", "slice.dcm", _dicom_bytes(one)


def _close_positions(rng: random.Random, slices: list[Any]) -> tuple[str, str, bytes]:
    step = round(rng.uniform(0.0015, 0.09), 4)

    def close(ds: Any) -> None:
        ds.ImagePositionPatient = [0.0, 0.0, (int(ds.InstanceNumber) - 1) * step]

    return f"positions {step:g} mm apart", "series.zip", _series_zip(_restore(slices, close))


def _close_frames(rng: random.Random, slices: list[Any]) -> tuple[str, str, bytes]:
    step = round(rng.uniform(0.0015, 0.09), 4)
    volume = _multiframe(slices, [k * step for k in range(len(slices))])
    return f"Enhanced CT frame positions {step:g} mm apart", "volume.dcm", _dicom_bytes(volume)


def _thin_frames(rng: random.Random, slices: list[Any]) -> tuple[str, str, bytes]:
    volume = _multiframe(slices, None)
    volume.SliceThickness = round(rng.uniform(0.001, 0.09), 3)
    return f"SliceThickness {volume.SliceThickness} mm, no positions", "volume.dcm", _dicom_bytes(volume)


def _beyond_bits_stored(rng: random.Random, slices: list[Any]) -> tuple[str, str, bytes]:
    def bits10(ds: Any) -> None:
        ds.BitsStored, ds.HighBit = 10, 9

    return "values beyond BitsStored 10", "series.zip", _series_zip(_restore(slices, bits10))


def _slope_as_fd(rng: random.Random, slices: list[Any]) -> tuple[str, str, bytes]:
    from pydicom.datadict import tag_for_keyword

    return (
        "RescaleSlope stored as FD",
        "series.zip",
        _series_zip(_restore(slices, lambda ds: ds.add_new(tag_for_keyword("RescaleSlope"), "FD", 1.0))),
    )


_REFUSALS: tuple[_Refusal, ...] = (
    _four_spacings,
    _two_rescales,
    _four_positions,
    _swapped_pixels,
    _close_positions,
    _close_frames,
    _thin_frames,
    _beyond_bits_stored,
    _slope_as_fd,
)


def _ct_refused(rng: random.Random, slices: list[Any]) -> tuple[str, str, bytes]:
    """One file that stores the study with a header or values no CT holds (label, name, bytes)."""
    return _REFUSALS[rng.randrange(len(_REFUSALS))](rng, slices)


def _ct_case(rng: random.Random, index: int) -> StructuredCase:
    slices = _ct_slices(rng)
    files = [("stored plainly", "series.zip", _series_zip(slices), "reference")]
    if rng.random() < 0.5:
        files += [(*f, "same") for f in _ct_same(rng, slices)]
        return StructuredCase(index, "ct storage", tuple(files))
    files.append((*_ct_refused(rng, slices), "refused"))
    return StructuredCase(index, "ct header meaning", tuple(files))


def _ct_answer(data: bytes, name: str) -> tuple[Any, tuple[str, ...]]:
    study = resolve(CT.reader)(data, name=name)
    return (study.hu, study.spacing_mm, study.slice_spacing_mm), study.notes


def _ct_differs(a: Any, b: Any) -> str | None:
    import numpy as np

    (hu_a, px_a, sl_a), (hu_b, px_b, sl_b) = a, b
    if hu_a.shape != hu_b.shape:
        return f"volume {hu_b.shape} instead of {hu_a.shape}"
    if px_a != px_b or (sl_a is None) != (sl_b is None) or (sl_a is not None and abs(sl_a - sl_b) > 1e-4):
        return f"spacing {px_b} mm / {sl_b} mm instead of {px_a} mm / {sl_a} mm"
    worst = float(np.abs(hu_a.astype(np.float64) - hu_b).max()) if hu_a.size else 0.0
    if worst > _HU_TOLERANCE:
        return f"Hounsfield units differ by up to {worst:g} HU"
    return None


TARGET = FuzzTarget(
    seeds=_ct_seeds,
    mutate_step=_mutate_step,
    check=check_ct,
    generate=_ct_case,
    answer=_ct_answer,
    differs=_ct_differs,
    case_name=_case_name,
)
"""The CT domain's fuzz target (the registry's ``CT.fuzz``)."""
