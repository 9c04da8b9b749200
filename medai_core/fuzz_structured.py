"""Structure-aware fuzzing: valid-looking files built with a known meaning, beside the byte mutations of
:mod:`medai_core.fuzz` (``python -m medai_core fuzz <domain>`` runs both).

Byte mutations find crashes; they rarely build a file that is well formed and means something else. Each case here
is a small family of files generated from one random, valid study (a synthetic CT phantom written with pydicom, a
simulated CGM record in a vendor CSV layout, a MAF or VCF of random calls) with a known expected outcome per file:

=============  ==================================================================================================
role           what the reader and first analysis step must do with the file
=============  ==================================================================================================
reference      read it (the study stored the plain way)
same           read it and give the reference's answer (CT: the same Hounsfield volume and spacings; CGM: the same
               readings; genes: the same TMB per sample): the same study stored another way
refused        refuse it with an ``InputError``: a file whose header or values mean something no study holds
               (PixelSpacing with 4 values, byte-swapped pixels, slices 0.002 mm apart, ...)
consistent     the same outcome for each of its files (CGM: ``nan``, ``inf`` and an empty value in the same place:
               all refused, or all read with that reading left out and a note)
empty          refuse it, or read it with a note that it holds no calls (a header-only panel)
=============  ==================================================================================================

A file read with exit 0 and a wrong answer is a *defect*, as are crashes, hangs and memory blow-ups; each case runs
in the isolated worker (:mod:`medai_core.isolation`) like the byte mutations, and the outcome table is
:class:`medai_core.fuzz.FuzzReport`'s. Every case is reproducible from the seed.
"""

from __future__ import annotations

import copy
import gzip
import io
import math
import random
import re
import subprocess
import time
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medai_core.errors import InputError

__all__ = ["ROLES", "StructuredCase", "check_structured", "generate_case", "run_structured"]

ROLES = ("reference", "same", "refused", "consistent", "empty")
_HU_TOLERANCE = 0.5  # HU: the same stored study read two ways differs by rounding at most
_MG_DL_TOLERANCE = 1.0  # mg/dL: a mmol/L export rounds to 0.1 mmol/L (0.9 mg/dL)
_NO_CALLS = re.compile(r"no (?:calls|variants|mutations)|holds no|empty|header only|0 calls", re.IGNORECASE)


@dataclass(frozen=True)
class StructuredCase:
    """One generated case: files with a role each (see the module docstring).

    Attributes:
        index: 0-based case number.
        family: what was varied, e.g. ``"ct storage"``.
        files: (label, file name, bytes, role) per file; the first is the reference where there is one.
    """

    index: int
    family: str
    files: tuple[tuple[str, str, bytes, str], ...]


# ------------------------------------------------------------------------------------------------ CT


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


def _ct_refused(rng: random.Random, slices: list[Any]) -> tuple[str, str, bytes]:
    """One file that stores the study with a header or values no CT holds (label, name, bytes)."""
    import numpy as np
    from pydicom.datadict import tag_for_keyword

    spacing = float(slices[0].PixelSpacing[0])
    which = rng.randrange(9)
    if which == 0:
        text = f"{spacing / 2:g}\\{spacing / 2:g}\\{spacing:g}\\{spacing:g}"
        return (
            "PixelSpacing with 4 values",
            "series.zip",
            _series_zip(_restore(slices, lambda ds: ds.add_new(tag_for_keyword("PixelSpacing"), "DS", text))),
        )
    if which == 1:

        def two_rescales(ds: Any) -> None:
            ds.add_new(tag_for_keyword("RescaleSlope"), "DS", "2\\1")
            ds.add_new(tag_for_keyword("RescaleIntercept"), "DS", "-1024\\0")

        return "RescaleSlope 2\\1, RescaleIntercept -1024\\0", "series.zip", _series_zip(_restore(slices, two_rescales))
    if which == 2:
        k = rng.randrange(len(slices))

        def four_positions(ds: Any) -> None:
            if int(ds.InstanceNumber) == k + 1:
                z = float(ds.ImagePositionPatient[2])
                ds.add_new(tag_for_keyword("ImagePositionPatient"), "DS", f"0\\0\\{z:g}\\1")

        return "ImagePositionPatient with 4 values", "series.zip", _series_zip(_restore(slices, four_positions))
    if which == 3:

        def swap(ds: Any) -> None:
            ds.PixelData = np.frombuffer(ds.PixelData, "<i2").astype(">i2").tobytes()

        if rng.random() < 0.5:
            return "pixel bytes big-endian, header little endian", "series.zip", _series_zip(_restore(slices, swap))
        one = _restore(slices[len(slices) // 2 : len(slices) // 2 + 1], swap)[0]
        return "pixel bytes big-endian, header little endian (one file)", "slice.dcm", _dicom_bytes(one)
    if which == 4:
        step = round(rng.uniform(0.0015, 0.09), 4)

        def close(ds: Any) -> None:
            ds.ImagePositionPatient = [0.0, 0.0, (int(ds.InstanceNumber) - 1) * step]

        return f"positions {step:g} mm apart", "series.zip", _series_zip(_restore(slices, close))
    if which == 5:
        step = round(rng.uniform(0.0015, 0.09), 4)
        volume = _multiframe(slices, [k * step for k in range(len(slices))])
        return f"Enhanced CT frame positions {step:g} mm apart", "volume.dcm", _dicom_bytes(volume)
    if which == 6:
        volume = _multiframe(slices, None)
        volume.SliceThickness = round(rng.uniform(0.001, 0.09), 3)
        return f"SliceThickness {volume.SliceThickness} mm, no positions", "volume.dcm", _dicom_bytes(volume)
    if which == 7:

        def bits10(ds: Any) -> None:
            ds.BitsStored, ds.HighBit = 10, 9

        return "values beyond BitsStored 10", "series.zip", _series_zip(_restore(slices, bits10))
    return (
        "RescaleSlope stored as FD",
        "series.zip",
        _series_zip(_restore(slices, lambda ds: ds.add_new(tag_for_keyword("RescaleSlope"), "FD", 1.0))),
    )


def _ct_case(rng: random.Random, index: int) -> StructuredCase:
    slices = _ct_slices(rng)
    files = [("stored plainly", "series.zip", _series_zip(slices), "reference")]
    if rng.random() < 0.5:
        files += [(*f, "same") for f in _ct_same(rng, slices)]
        return StructuredCase(index, "ct storage", tuple(files))
    files.append((*_ct_refused(rng, slices), "refused"))
    return StructuredCase(index, "ct header meaning", tuple(files))


# ------------------------------------------------------------------------------------------------ CGM


def _cgm_case(rng: random.Random, index: int) -> StructuredCase:
    import numpy as np

    from medai_core.fuzz import _DEXCOM_HEADER
    from medai_core.glucose.simulate import simulated_patient

    record = simulated_patient(days=rng.randint(1, 3), seed=rng.randrange(10**6))
    stamps = [str(s) for s in np.datetime_as_string(record.times.astype("datetime64[s]"))]
    values = [round(float(v)) for v in record.glucose_mg_dl]
    generic = "timestamp,glucose_mg_dl\n" + "".join(f"{t},{v}\n" for t, v in zip(stamps, values, strict=True))
    files = [("generic mg/dL", "cgm.csv", generic.encode(), "reference")]
    if rng.random() < 0.5:
        mmol = "timestamp,glucose_mmol_l\n" + "".join(
            f"{t},{v / 18.016:.1f}\n" for t, v in zip(stamps, values, strict=True)
        )
        dexcom = [_DEXCOM_HEADER, "1,,Device,,,Dexcom G6 Mobile App,,,,,,,,"]
        dexcom += [
            f"{i + 2},{t},EGV,,,,iOS G6,{v},,,,,{i},8G1234" for i, (t, v) in enumerate(zip(stamps, values, strict=True))
        ]
        layouts = [
            ("mmol/L", "cgm.csv", mmol.encode()),
            ("Dexcom-like export", "dexcom.csv", ("\n".join(dexcom) + "\n").encode()),
            ("semicolon separated", "cgm.csv", generic.replace(",", ";").encode()),
            ("CRLF line ends", "cgm.csv", generic.replace("\n", "\r\n").encode()),
            ("gzip", "cgm.csv.gz", gzip.compress(generic.encode(), mtime=0)),
        ]
        files += [(*f, "same") for f in rng.sample(layouts, 2)]
        return StructuredCase(index, "cgm layouts", tuple(files))
    k = rng.randrange(1, len(values) - 1)
    lines = generic.split("\n")
    for token in ("nan", "inf", "-inf", ""):
        changed = list(lines)
        changed[k + 1] = f"{stamps[k]},{token}"
        files.append((f"reading {k} is {token or 'empty'!r}", "cgm.csv", "\n".join(changed).encode(), "consistent"))
    return StructuredCase(index, "cgm non-finite", tuple(files))


# ------------------------------------------------------------------------------------------------ genes

_MAF_COLUMNS = (
    "Hugo_Symbol", "Chromosome", "Start_Position", "End_Position", "Reference_Allele", "Tumor_Seq_Allele2",
    "Tumor_Sample_Barcode", "Variant_Classification", "Variant_Type", "HGVSp_Short", "t_ref_count", "t_alt_count",
)  # fmt: skip
_CLASSES = (
    ("Missense_Mutation", "missense_variant"),
    ("Nonsense_Mutation", "stop_gained"),
    ("Silent", "synonymous_variant"),
    ("Splice_Site", "splice_donor_variant"),
)
_AMINO = "ACDEFGHIKLMNPQRSTVWY"


def _calls(rng: random.Random) -> list[dict[str, str]]:
    from medai_core.genomics.panels import panel_genes

    genes = sorted(panel_genes("IMPACT468"))
    samples = [f"SYN-{s + 1:02d}-T" for s in range(rng.randint(1, 2))]
    calls = []
    for sample in samples:
        for _ in range(rng.randint(1, 30)):
            cls, _ = rng.choice(_CLASSES)
            ref, alt = rng.sample("ACGT", 2)
            aa = rng.choice(_AMINO)
            change = {"Silent": "=", "Nonsense_Mutation": "*"}.get(cls, rng.choice(_AMINO))
            depth = rng.randint(80, 900)
            alt_count = max(5, int(depth * rng.uniform(0.05, 0.6)))
            position = rng.randint(10**5, 10**8)
            calls.append({
                "Hugo_Symbol": rng.choice(genes), "Chromosome": str(rng.randint(1, 22)),
                "Start_Position": str(position), "End_Position": str(position), "Reference_Allele": ref,
                "Tumor_Seq_Allele2": alt, "Tumor_Sample_Barcode": sample, "Variant_Classification": cls,
                "Variant_Type": "SNP", "HGVSp_Short": f"p.{aa}{rng.randint(2, 1500)}{change}",
                "t_ref_count": str(depth - alt_count), "t_alt_count": str(alt_count),
            })  # fmt: skip
    # one identity per call: a random draw may repeat a position, which is then one call, not two
    unique = {(c["Chromosome"], c["Start_Position"], c["Tumor_Sample_Barcode"]): c for c in calls}
    return list(unique.values())


def _maf(calls: Sequence[dict[str, str]], columns: Sequence[str] = _MAF_COLUMNS) -> bytes:
    lines = ["#version 2.4", "\t".join(columns)]
    lines += ["\t".join(call[c] for c in columns) for call in calls]
    return ("\n".join(lines) + "\n").encode()


def _vep_vcf(calls: Sequence[dict[str, str]]) -> bytes:
    """The calls of one sample as a VEP-annotated VCF (GT:AD per call; the CSQ consequence of each class)."""
    consequence = dict(_CLASSES)
    chromosomes = sorted({int(c["Chromosome"]) for c in calls})
    sample = calls[0]["Tumor_Sample_Barcode"]
    lines = [
        "##fileformat=VCFv4.2",
        *(f"##contig=<ID={k}>" for k in chromosomes),
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: '
        'Allele|Consequence|IMPACT|SYMBOL|HGVSp">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
        f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}",
    ]
    for c in sorted(calls, key=lambda c: (int(c["Chromosome"]), int(c["Start_Position"]))):
        csq = f"{c['Tumor_Seq_Allele2']}|{consequence[c['Variant_Classification']]}|MODERATE|{c['Hugo_Symbol']}|"
        fields = [c["Chromosome"], c["Start_Position"], ".", c["Reference_Allele"], c["Tumor_Seq_Allele2"], ".", "PASS"]
        lines.append("\t".join([*fields, f"CSQ={csq}ENSP1:{c['HGVSp_Short']}", "GT:AD",
                                 f"0/1:{c['t_ref_count']},{c['t_alt_count']}"]))  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


def _genes_case(rng: random.Random, index: int) -> StructuredCase:
    calls = _calls(rng)
    files = [("MAF", "panel.maf", _maf(calls), "reference")]
    roll = rng.random()
    if roll < 0.7:
        shuffled = list(calls)
        rng.shuffle(shuffled)
        columns = list(_MAF_COLUMNS)
        rng.shuffle(columns)
        twice = []
        for call in calls:  # a second caller or a re-export: the same call with other read counts
            depth = int(call["t_ref_count"]) + int(call["t_alt_count"]) + rng.randint(-40, 40)
            alt = max(5, int(call["t_alt_count"]) + rng.randint(-10, 10))
            twice += [call, {**call, "t_ref_count": str(max(1, depth - alt)), "t_alt_count": str(alt)}]
        options = [
            ("rows shuffled", "panel.maf", _maf(shuffled)),
            ("columns reordered", "panel.maf", _maf(calls, columns)),
            ("every call written twice, identically", "panel.maf", _maf([c for c in calls for _ in (0, 1)])),
            ("every call written twice with other read counts", "panel.maf", _maf(twice)),
            ("CRLF line ends", "panel.maf", _maf(calls).replace(b"\n", b"\r\n")),
        ]
        if len({c["Tumor_Sample_Barcode"] for c in calls}) == 1:
            options.append(("the same calls as a VEP-annotated VCF", "panel.vcf", _vep_vcf(calls)))
        files += [(*f, "same") for f in rng.sample(options, 2)]
        return StructuredCase(index, "genes same calls", tuple(files))
    header_vcf = (
        '##fileformat=VCFv4.2\n##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from '
        'Ensembl VEP. Format: Allele|Consequence|IMPACT|SYMBOL">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n'
    )
    empty = [
        ("MAF with a header and no calls", "panel.maf", _maf([])),
        ("VCF with a header and no records", "panel.vcf", header_vcf.encode()),
        ("CSV with a header and no rows", "panel.csv", b"gene,protein_change,consequence,vaf\n"),
    ]
    files.append((*rng.choice(empty), "empty"))
    return StructuredCase(index, "genes empty panel", tuple(files))


_GENERATORS: dict[str, Callable[[random.Random, int], StructuredCase]] = {
    "ct": _ct_case,
    "glucose": _cgm_case,
    "genes": _genes_case,
}


def generate_case(domain: str, rng: random.Random, index: int) -> StructuredCase:
    """One generated case of ``domain`` (``ct``, ``glucose`` or ``genes``), drawn from ``rng``."""
    return _GENERATORS[domain](rng, index)


# ------------------------------------------------------------------------------------------------ checks (worker)


def _ct_answer(data: bytes, name: str) -> tuple[Any, tuple[str, ...]]:
    from medai_core.ct.readers import read_ct

    study = read_ct(data, name=name)
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


def _cgm_answer(data: bytes, name: str) -> tuple[Any, tuple[str, ...]]:
    import numpy as np

    from medai_core.glucose.readers import read_cgm

    record = read_cgm(data, name=name)
    g = np.asarray(record.glucose_mg_dl, dtype=np.float64)
    times = np.asarray(record.times).astype("datetime64[s]")
    return (g.size, float(g.mean()) if g.size else math.nan, str(times.min()), str(times.max())), record.notes


def _cgm_differs(a: Any, b: Any) -> str | None:
    if a[0] != b[0]:
        return f"{b[0]} readings instead of {a[0]}"
    if not abs(a[1] - b[1]) <= _MG_DL_TOLERANCE:
        return f"mean {b[1]:.1f} mg/dL instead of {a[1]:.1f}"
    if a[2:] != b[2:]:
        return f"readings from {b[2]} to {b[3]} instead of {a[2]} to {a[3]}"
    return None


def _genes_answer(data: bytes, name: str) -> tuple[Any, tuple[str, ...]]:
    from medai_core.genomics.io import read_panel
    from medai_core.genomics.panels import resolve_panel
    from medai_core.genomics.tmb import compute_tmb

    panel_file = read_panel(data, name)
    panel = resolve_panel("IMPACT468")
    answer = {}
    for sample in panel_file.samples:
        tmb = compute_tmb(panel_file.for_sample(sample), panel, cancer_type="Melanoma")
        answer[sample] = (round(float(tmb.tmb_per_mb), 6), tmb.n_nonsynonymous, bool(tmb.high))
    return answer, panel_file.notes


def _genes_differs(a: Any, b: Any) -> str | None:
    if a == b:
        return None
    shown = [f"{s}: TMB {b.get(s, ('-',))[0]} instead of {a[s][0]}" for s in a if a[s] != b.get(s)]
    return "; ".join(shown) or f"samples {sorted(b)} instead of {sorted(a)}"


_ANSWERS: dict[str, tuple[Callable[[bytes, str], tuple[Any, tuple[str, ...]]], Callable[[Any, Any], str | None]]] = {
    "ct": (_ct_answer, _ct_differs),
    "glucose": (_cgm_answer, _cgm_differs),
    "genes": (_genes_answer, _genes_differs),
}


def check_structured(domain: str, files: Sequence[tuple[str, str, bytes, str]]) -> list[str]:
    """Read every file of one case and compare each outcome with its role; the violations found (worker entry).

    Args:
        domain: ``ct``, ``glucose`` or ``genes``.
        files: (label, file name, bytes, role) per file, as :class:`StructuredCase` holds them.

    Returns:
        one line per file whose outcome is not what its role requires (empty: the case passed).
    """
    answer, differs = _ANSWERS[domain]
    outcomes: list[tuple[str, str, Any, tuple[str, ...]]] = []  # label, role, answer or the refusal, notes
    for label, name, data, role in files:
        try:
            value, notes = answer(data, name)
            outcomes.append((label, role, value, notes))
        except InputError as exc:
            outcomes.append((label, role, exc, ()))
    problems: list[str] = []
    reference = next((o for o in outcomes if o[1] == "reference"), None)
    ref_value = None if reference is None or isinstance(reference[2], InputError) else reference[2]
    if reference is not None and ref_value is None:
        return [f"the reference ({reference[0]}) was refused: {str(reference[2])[:200]}"]
    consistent = []
    for label, role, value, notes in outcomes:
        refused = isinstance(value, InputError)
        if role == "same" and refused:
            problems.append(f"{label}: refused although it stores the reference study ({str(value)[:160]})")
        elif role == "same" and (diff := differs(ref_value, value)) is not None:
            problems.append(f"{label}: read with exit 0 but {diff}")
        elif role == "refused" and not refused:
            problems.append(f"{label}: read with exit 0, where no study holds such a file")
        elif role == "empty" and not refused and not any(_NO_CALLS.search(n) for n in notes):
            problems.append(f"{label}: read with exit 0 and no note that it holds no calls")
        elif role == "consistent":
            consistent.append((label, value, notes))
    if consistent:
        problems += _consistency(consistent, ref_value, reference[3] if reference is not None else ())
    return problems


def _consistency(
    outcomes: list[tuple[str, Any, tuple[str, ...]]], ref_value: Any, ref_notes: Sequence[str]
) -> list[str]:
    """Files that differ in one reading only (nan, inf, empty): one rule for all, and a note where one is dropped."""
    kinds = {label: "refused" if isinstance(value, InputError) else "read" for label, value, _ in outcomes}
    if len(set(kinds.values())) > 1:
        shown = ", ".join(f"{label} {kind}" for label, kind in kinds.items())
        return [f"one bad reading handled two ways: {shown}"]
    problems = []
    for label, value, notes in outcomes:
        if isinstance(value, InputError) or ref_value is None:
            continue
        if value[0] != ref_value[0] - 1:
            problems.append(f"{label}: {value[0]} readings kept of the reference's {ref_value[0]}")
        elif not set(notes) - set(ref_notes):
            problems.append(f"{label}: the reading was left out without a note")
    return problems


# ------------------------------------------------------------------------------------------------ driver


def run_structured(
    domain: str,
    cases: int,
    *,
    seed: int = 0,
    time_limit_s: float = 20.0,
    memory_mb: int = 3072,
    out: Path | None = None,
    progress: Callable[[int, Any], None] | None = None,
) -> Any:
    """Run ``cases`` generated cases of ``domain`` through the isolated readers; a
    :class:`medai_core.fuzz.FuzzReport` whose domain is ``"<domain>-gen"``.

    A case counts as a result when every file met its role (a refusal a role requires is part of the result), and
    as a defect otherwise (see :func:`check_structured`); clean rejections stay 0.

    Args:
        domain: ``ct``, ``glucose`` or ``genes``.
        cases: number of cases.
        seed: random seed (the same seed gives the same cases).
        time_limit_s: worker time limit per case (all its files).
        memory_mb: worker address-space limit.
        out: folder for ``<domain>-gen-defects.json`` and each defect's files (None: not saved).
        progress: called after each case with (index, report so far).
    """
    import json

    from medai_core.fuzz import FuzzReport, _document
    from medai_core.isolation import IsolationPool

    if domain not in _GENERATORS:
        raise ValueError(f"unknown fuzz domain {domain!r}; use one of {', '.join(_GENERATORS)}")
    rng = random.Random(f"structured-{domain}-{seed}")
    report = FuzzReport(domain=f"{domain}-gen", seed=seed, time_limit_s=time_limit_s, memory_mb=memory_mb)
    pool = IsolationPool(workers=1, time_limit_s=time_limit_s, memory_mb=memory_mb, stderr=subprocess.DEVNULL)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    try:
        pool.run(len, b"")  # the worker's imports do not count as the first case's time
        for index in range(cases):
            case = generate_case(domain, rng, index)
            start = time.monotonic()
            kind, detail, peak = _classify(pool, domain, case)
            wall = time.monotonic() - start
            report.cases += 1
            report.peak_memory_mb = max(report.peak_memory_mb, peak)
            if wall > report.slowest_s:
                report.slowest_s, report.slowest_case = wall, index
            if kind == "result":
                report.results += 1
            else:
                report.defects += 1
                entry: dict[str, Any] = {
                    "case": index,
                    "kind": kind,
                    "detail": detail,
                    "seed_name": case.family,
                    "mutations": [f"{label} ({role})" for label, _, _, role in case.files],
                    "size": sum(len(data) for _, _, data, _ in case.files),
                }
                if out is not None:
                    names = []
                    for k, (_, name, data, _) in enumerate(case.files):
                        path = out / f"{domain}-gen-{index:05d}-{k}{Path(name).suffix or '.bin'}"
                        if name.endswith(".gz"):
                            path = path.with_suffix(".csv.gz")
                        path.write_bytes(data)
                        names.append(path.name)
                    entry["file"] = ", ".join(names)
                report.defect_list.append(entry)
            if progress is not None:
                progress(index, report)
    finally:
        pool.close()
    if out is not None:
        (out / f"{domain}-gen-defects.json").write_text(json.dumps(_document(report), indent=2) + "\n")
    return report


def _classify(pool: Any, domain: str, case: StructuredCase) -> tuple[str, str, float]:
    """(outcome, detail, worker peak MiB) of one case: ``result`` or a defect kind."""
    try:
        run = pool.run(check_structured, domain, case.files, label=f"{domain} case {case.index}")
    except InputError as exc:  # the worker crashed, hung or ran out of memory on one of the files
        text = str(exc)
        kind = "timeout" if "longer than" in text else "memory" if "memory" in text else "crash"
        return kind, f"{case.family}: {text[:240]}", 0.0
    except Exception as exc:
        return "exception", f"{case.family}: {type(exc).__qualname__}: {exc}"[:300], 0.0
    if run.value:
        return "wrong answer", f"{case.family}: " + "; ".join(run.value)[:400], run.worker_peak_rss_mb
    return "result", "", run.worker_peak_rss_mb
