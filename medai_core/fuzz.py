"""``python -m medai_core fuzz ct|glucose|genes --cases N``: mutation fuzzing of the readers and their first step.

Seed files (the project's fixtures under ``tests/data/<domain>/``, the demo generators, and for CT pydicom's bundled
test files) are mutated (byte flips, splices, truncation, interesting numbers in text fields, structured DICOM tag
edits, PNG headers that claim huge sizes, re-encoded images with changed pixels, size or mode, very wide headers
and long lines, gzip wrapping) and each case runs through the isolated reader (:mod:`medai_core.isolation`)
followed by the domain's first analysis step (CT: segmentation and the training crop; CGM: the AGP report; genes:
TMB and evidence matching), all inside the worker.

Each case is one of:

=================  ===========================================================================================
result             the reader and the step returned, and every value checked is finite and in range
clean rejection    an ``InputError`` with its message (what the project promises for bad input)
defect             anything else: another exception, a worker crash, time or memory limit, or a returned value
                   that is non-finite or out of range (see :data:`HU_RANGE` and the checks in ``_check_*``)
=================  ===========================================================================================

The table gives cases, results, clean rejections, defects, the slowest case and the worker's peak memory. With
``--out DIR`` every defect's bytes are saved as ``DIR/<domain>-<case>.bin`` next to ``DIR/defects.json`` (kind,
message, seed, mutations), so each is a reproducer: ``python -m medai_core predict <domain> DIR/<file>``. Exit code
0 when there is no defect, 1 otherwise.

Beside the byte mutations, each domain also runs as many generated cases (:mod:`medai_core.fuzz_structured`:
valid-looking files built with a known meaning, e.g. the same CT stored two ways, or a header no CT holds); their
rows are ``<domain>-gen`` in the table and ``structured`` in the JSON. ``--no-generated`` leaves them out.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import random
import re
import struct
import subprocess
import time
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medai_core.config import REPO_ROOT
from medai_core.domains import DOMAINS as REGISTRY
from medai_core.errors import InputError

__all__ = [
    "DOMAINS",
    "HU_RANGE",
    "MAX_CASE_BYTES",
    "FuzzCase",
    "FuzzReport",
    "check_ct",
    "classify",
    "check_genes",
    "check_glucose",
    "mutate",
    "run_fuzz",
    "seed_corpus",
]

DOMAINS = tuple(domain.name for domain in REGISTRY)
HU_RANGE = (-32768.0, 32767.0)
"""Hounsfield units a decoded CT volume may hold (signed 16 bit, the cache format); anything else is a decoding
error (a wrong slope, intercept or pixel representation)."""
MAX_CASE_BYTES = 8 * 1024 * 1024
"""Largest mutated case; a longer one is cut (wide headers and long lines stay well within it)."""
TMB_REFERENCE_PANEL = "IMPACT468"
TUMOUR_TYPE = "Melanoma"
_INTERESTING_NUMBERS = (
    "0", "-0", "-1", "1", "nan", "NaN", "inf", "-inf", "1e308", "-1e308", "1e-320", "99999999999999999999",
    "2147483648", "-2147483649", "65535", "", " ", "0.0000001", "1,5", "abc", "3.5.1",
)  # fmt: skip
_INTERESTING_BYTES = (0x00, 0xFF, 0x7F, 0x80, 0x0A, 0x0D, 0x2C, 0x09, 0x22, 0x5C)
_INTERESTING_TIMES = (
    "2025-03-03T00:00:00Z", "2025-03-03T00:00:00+05:00", "2025-03-31T02:30:00+02:00", "1900-01-01 00:00",
    "2125-01-01 00:00", "9999-12-31T23:59:59", "2025-13-45 25:61", "03/04/2025 12:00 AM", "", "NaT", "0",
)  # fmt: skip
_VCF_VALUES = (
    "99999999999999999999/0", "./.", "1/2/3", "0|", "", ".", "-5,3", "2147483648,1", "1", "nan", "-1", "2",
    "0/1:", ":::", "0/1:60,40,7",
)  # fmt: skip
_DICOM_TAGS: dict[str, tuple[str, ...]] = {
    "RescaleSlope": ("0", "-1", "NaN", "inf", "1e308", "", "abc", "0.0000001"),
    "RescaleIntercept": ("NaN", "-inf", "1e308", "", "-99999"),
    "PixelSpacing": ("0\\0", "-1\\-1", "NaN\\1", "inf\\inf", "1e308\\1e308", "", "1", "0.5\\0.5\\0.5"),
    "SliceThickness": ("0", "-1", "NaN", "1e308"),
    "ImagePositionPatient": ("NaN\\0\\0", "0\\0", "", "1e308\\1e308\\1e308", "0\\0\\0"),
    "ImageOrientationPatient": ("0\\0\\0\\0\\0\\0", "1\\0\\0", "", "NaN\\0\\0\\0\\1\\0"),
    "Rows": ("0", "1", "65535", "2"),
    "Columns": ("0", "1", "65535", "3"),
    "NumberOfFrames": ("0", "-1", "99999", "2"),
    "BitsAllocated": ("0", "1", "7", "32", "64"),
    "BitsStored": ("0", "17", "1"),
    "PixelRepresentation": ("1", "0", "2"),
    "SamplesPerPixel": ("0", "3", "4"),
    "PhotometricInterpretation": ("RGB", "PALETTE COLOR", "", "YBR_FULL"),
}


@dataclass(frozen=True)
class FuzzCase:
    """One case: where it came from and how it was made.

    Attributes:
        index: 0-based case number.
        seed_name: the seed file's name.
        mutations: the mutation operators applied, in order.
        data: the mutated bytes.
        point: a (row, col, slice) point inside the CT seed's nodule, where known (CT only).
    """

    index: int
    seed_name: str
    mutations: tuple[str, ...]
    data: bytes
    point: tuple[int, int, int] | None = None


@dataclass
class FuzzReport:
    """Outcome counts of one run (the table) and the defects.

    Attributes:
        domain: ``ct``, ``glucose`` or ``genes``.
        cases: cases run; results, clean_rejections, defects: how each ended (they add up to ``cases``).
        slowest_case: index of the slowest case; slowest_s: its wall time in seconds (worker round trip).
        peak_memory_mb: the highest peak resident memory of a worker (MiB, the interpreter included).
        seed: the random seed; time_limit_s, memory_mb: the worker limits.
        seeds: seed files; seeds_accepted: those read and analysed without mutation (drawn 4 times as often).
        defect_list: one dict per defect: case, kind, detail, seed_name, mutations, file (when saved).
        rejection_reasons: clean rejections counted by message shape (to see which code paths the cases reach).
    """

    domain: str
    cases: int = 0
    results: int = 0
    clean_rejections: int = 0
    defects: int = 0
    slowest_case: int | None = None
    slowest_s: float = 0.0
    peak_memory_mb: float = 0.0
    seed: int = 0
    time_limit_s: float = 0.0
    memory_mb: int = 0
    seeds: int = 0
    seeds_accepted: int = 0
    defect_list: list[dict[str, Any]] = field(default_factory=list)
    rejection_reasons: Counter[str] = field(default_factory=Counter)

    def signatures(self) -> Counter[str]:
        """Defects grouped by kind and message shape (digits and quoted text blanked)."""
        return Counter(_signature(d) for d in self.defect_list)


def _signature(defect: dict[str, Any]) -> str:
    detail = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", str(defect["detail"]).split("\n")[0])
    return f"{defect['kind']}: {re.sub(r'[0-9]+', 'N', detail)[:140]}"


# ------------------------------------------------------------------------------------------------ seeds


def _fixture_files(domain: str) -> list[Path]:
    folder = REPO_ROOT / "tests" / "data" / domain
    if not folder.is_dir():
        return []
    suffixes = {
        "ct": {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm", ".zip"},
        "glucose": {".csv", ".gz", ".txt", ".tsv"},
        "genes": {".maf", ".vcf", ".csv", ".tsv", ".gz", ".txt"},
    }[domain]
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if domain == "genes":
        files = [p for p in files if "civic" not in p.parts]
    small = [p for p in files if p.stat().st_size <= 2_000_000]
    step = max(1, len(small) // 40)  # at most about 40 fixtures per domain
    return small[::step]


def _ct_seeds() -> list[tuple[str, bytes, tuple[int, int, int] | None]]:
    from pydicom.data.data_manager import DATA_ROOT

    from medai_core.ct.demo import demo_bytes, demo_seed

    seeds: list[tuple[str, bytes, tuple[int, int, int] | None]] = []
    for case in ("ct_small", "phantom:solid:8", "phantom:spiculated:14"):
        data, name = demo_bytes(case)
        point = demo_seed(case)
        seeds.append((name, data, (point.row, point.col, point.slice_index)))
    for path in _fixture_files("ct"):
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


_DEXCOM_HEADER = (
    "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,Source Device ID,"
    "Glucose Value (mg/dL),Insulin Value (u),Carb Value (grams),Duration (hh:mm:ss),"
    "Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),Transmitter ID"
)


def _glucose_seeds() -> list[tuple[str, bytes, None]]:
    import numpy as np

    from medai_core.glucose.simulate import simulated_csv, simulated_patient

    record = simulated_patient(days=2, seed=3)
    stamps = np.datetime_as_string(record.times.astype("datetime64[s]"))
    values = [f"{v:.0f}" for v in record.glucose_mg_dl]
    generic = simulated_csv(record)
    mmol = "timestamp,glucose_mmol_l\n" + "".join(
        f"{t},{v / 18.016:.1f}\n" for t, v in zip(stamps, record.glucose_mg_dl, strict=True)
    )
    research = "id,time,gl\n" + "".join(
        f"{p},{t.replace('T', ' ')},{v}\n" for p in ("1", "2") for t, v in zip(stamps, values, strict=True)
    )
    dexcom = [_DEXCOM_HEADER, "1,,Device,,,Dexcom G6 Mobile App,,,,,,,,", "2,,FirstName,,Jane,,,,,,,,,"]
    dexcom += [
        f"{i + 3},{t},EGV,,,,iOS G6,{v},,,,,{i},8G1234" for i, (t, v) in enumerate(zip(stamps, values, strict=True))
    ]
    dexcom[10] = dexcom[10].replace(f",{values[7]},", ",Low,")
    libre = ["Glucose Data,Generated on,03-06-2025 10:00 AM UTC,Generated by,Jane", "Device,Serial Number,"
             "Device Timestamp,Record Type,Historic Glucose mg/dL,Scan Glucose mg/dL,Notes"]  # fmt: skip
    for i, (t, v) in enumerate(zip(stamps[::3], values[::3], strict=True)):
        day, clock = t.split("T")
        y, m, d = day.split("-")
        hh, mm = int(clock[:2]), clock[3:5]
        stamp = f"{m}-{d}-{y} {(hh % 12) or 12:02d}:{mm} {'AM' if hh < 12 else 'PM'}"
        libre.append(f"FreeStyle LibreLink,ABC-123,{stamp},0,{v},,")
        if i % 7 == 0:
            libre.append(f"FreeStyle LibreLink,ABC-123,{stamp},1,,{v},")
    seeds: list[tuple[str, bytes, None]] = [
        ("simulated.csv", generic, None),
        ("simulated_mmol.csv", mmol.encode(), None),
        ("research_id_time_gl.csv", research.encode(), None),
        ("dexcom_like.csv", ("\n".join(dexcom) + "\n").encode(), None),
        ("libre_like.csv", ("\n".join(libre) + "\n").encode(), None),
        ("simulated.csv.gz", gzip.compress(generic, mtime=0), None),
    ]
    seeds += [(p.name, p.read_bytes(), None) for p in _fixture_files("glucose")]
    return seeds


_CSQ = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|BIOTYPE|HGVSc|HGVSp|Protein_position|Amino_acids|CANONICAL"
_VEP_VCF = (
    "##fileformat=VCFv4.2\n"
    f'##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: {_CSQ}">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    "##tumor_sample=TUMOR\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\tTUMOR\n"
    "7\t140453136\t.\tA\tT\t.\tPASS\tCSQ=T|missense_variant|MODERATE|BRAF|ENSG1|ENST1|protein_coding|c.1799T>A|"
    "ENSP1:p.Val600Glu|600|V/E|YES\tGT:AD\t0/0:50,0\t0/1:60,40\n"
    "17\t7577120\t.\tC\tT\t.\tPASS\tCSQ=T|synonymous_variant|LOW|TP53|ENSG2|ENST2|protein_coding|c.1C>T|"
    "ENSP2:p.Arg273%3D|273|R|YES\tGT:AD\t0/0:40,0\t0/1:30,10\n"
)
_ANN_VCF = (
    "##fileformat=VCFv4.2\n"
    "##INFO=<ID=ANN,Number=.,Type=String,Description=\"Functional annotations: 'Allele | Annotation | "
    "Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c | "
    "HGVS.p | cDNA.pos / cDNA.length | CDS.pos / CDS.length | AA.pos / AA.length'\">\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tsample1\n"
    "7\t55259515\t.\tT\tG\t.\tPASS\tANN=G|missense_variant|MODERATE|EGFR|ENSG|transcript|ENST|protein_coding|21/28|"
    "c.2573T>G|p.Leu858Arg|1|1|1||\tGT:AF\t0/1:0.25\n"
)
_CSV_PANEL = "gene,protein_change,consequence,vaf\nBRAF,V600E,missense_variant,0.4\nERBB2,,amplification,\n"


def _gene_seeds() -> list[tuple[str, bytes, None]]:
    from medai_core.genomics.demo import demo_maf

    seeds: list[tuple[str, bytes, None]] = [
        ("demo.maf", demo_maf(), None),
        ("demo_3_samples.maf", demo_maf(samples=3), None),
        ("vep.vcf", _VEP_VCF.encode(), None),
        ("snpeff.vcf", _ANN_VCF.encode(), None),
        ("panel.csv", _CSV_PANEL.encode(), None),
        ("panel.tsv", _CSV_PANEL.replace(",", "\t").encode(), None),
        ("vep.vcf.gz", gzip.compress(_VEP_VCF.encode(), mtime=0), None),
    ]
    seeds += [(p.name, p.read_bytes(), None) for p in _fixture_files("genes")]
    return seeds


_SEEDS: dict[str, Callable[[], Sequence[tuple[str, bytes, tuple[int, int, int] | None]]]] = {
    "ct": _ct_seeds,
    "glucose": _glucose_seeds,
    "genes": _gene_seeds,
}
"""The seed generator of each registered domain (a test keeps the keys equal to the registry's names)."""


def seed_corpus(domain: str) -> list[tuple[str, bytes, tuple[int, int, int] | None]]:
    """The seed files of ``domain``: (name, bytes, nodule point or None)."""
    if domain in _SEEDS:
        return list(_SEEDS[domain]())
    raise ValueError(f"unknown fuzz domain {domain!r}; use one of {', '.join(DOMAINS)}")


# ------------------------------------------------------------------------------------------------ mutation


def _bytes_op(rng: random.Random, data: bytes, other: bytes) -> tuple[bytes, str]:
    b = bytearray(data)
    n = len(b)
    op = rng.choice(("flip", "byte", "insert", "delete", "duplicate", "truncate", "splice", "zero_run"))
    if n == 0:
        return bytes(rng.randbytes(rng.randint(1, 64))), "random"
    i = rng.randrange(n)
    if op == "flip":
        for _ in range(rng.randint(1, 8)):
            j = rng.randrange(n)
            b[j] ^= 1 << rng.randrange(8)
    elif op == "byte":
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(n)] = rng.choice(_INTERESTING_BYTES)
    elif op == "insert":
        b[i:i] = rng.randbytes(rng.randint(1, 256))
    elif op == "delete":
        del b[i : i + rng.randint(1, max(1, n // 8))]
    elif op == "duplicate":
        j = min(n, i + rng.randint(1, 4096))
        b[j:j] = b[i:j] * rng.randint(1, 16)
    elif op == "truncate":
        del b[i:]
    elif op == "splice":
        k = rng.randrange(len(other)) if other else 0
        b = b[:i] + bytearray(other[k:])
    else:
        b[i : i + rng.randint(1, 4096)] = bytes(rng.randint(1, 4096))
    return bytes(b), op


_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_TIME = re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?|\d{2}-\d{2}-\d{4} \d{2}:\d{2} [AP]M")


def _text_op(rng: random.Random, data: bytes, domain: str) -> tuple[bytes, str]:
    lines = data.split(b"\n")
    op = rng.choice(("number", "number", "time", "wide_header", "long_line", "repeat_line", "blank_field",
                     "vcf_value", "encoding", "header_name", "drop_lines"))  # fmt: skip
    if op == "number":
        found = list(_NUMBER.finditer(data))
        if found:
            m = rng.choice(found)
            return data[: m.start()] + rng.choice(_INTERESTING_NUMBERS).encode() + data[m.end() :], op
    if op == "time":
        found = list(_TIME.finditer(data))
        if found:
            for m in sorted(rng.sample(found, min(len(found), rng.randint(1, 20))), key=lambda m: -m.start()):
                data = data[: m.start()] + rng.choice(_INTERESTING_TIMES).encode() + data[m.end() :]
            return data, op
    if op == "wide_header":
        sep = b"\t" if b"\t" in lines[0] else b","
        k = rng.randrange(len(lines))
        lines[k] = lines[k] + sep * rng.choice((200, 5_000, 170_000))
        return b"\n".join(lines), op
    if op == "long_line":
        k = rng.randrange(len(lines))
        lines[k] = lines[k] + b"A" * rng.choice((70_000, 140_000, 300_000))
        return b"\n".join(lines), op
    if op == "repeat_line":
        k = rng.randrange(len(lines))
        lines[k:k] = [lines[k]] * rng.choice((2, 100, 20_000))
        return b"\n".join(lines), op
    if op == "blank_field" and len(lines) > 1:
        k = rng.randrange(1, len(lines))
        sep = b"\t" if b"\t" in lines[k] else b","
        parts = lines[k].split(sep)
        parts[rng.randrange(len(parts))] = rng.choice((b"", b" ", b"NA", b"nan", b'"', b"-"))
        lines[k] = sep.join(parts)
        return b"\n".join(lines), op
    if op == "vcf_value" and domain == "genes":
        found = list(re.finditer(rb"\t(0/1|0/0|0\|1):([^\t\n]*)", data))
        if found:
            m = rng.choice(found)
            value = rng.choice(_VCF_VALUES).encode()
            repl = value if b":" in value or rng.random() < 0.5 else m.group(1) + b":" + value
            return data[: m.start() + 1] + repl + data[m.end() :], op
    if op == "encoding":
        text = data.decode("utf-8", errors="replace")
        return text.encode(rng.choice(("utf-16", "utf-8-sig", "latin-1")), errors="replace"), op
    if op == "header_name" and lines:
        sep = b"\t" if b"\t" in lines[0] else b","
        parts = lines[0].split(sep)
        if parts:
            j = rng.randrange(len(parts))
            parts[j] = rng.choice((b"", parts[j].upper(), parts[j] + b" ", b"Glucose Value", b"Event Type", b"gene"))
            lines[0] = sep.join(parts)
            return b"\n".join(lines), op
    if op == "drop_lines" and len(lines) > 2:
        i = rng.randrange(1, len(lines))
        del lines[i : i + rng.randint(1, len(lines))]
        return b"\n".join(lines), op
    return _bytes_op(rng, data, b"")


def _dicom_op(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    import pydicom
    from pydicom import config

    old = config.settings.writing_validation_mode
    config.settings.writing_validation_mode = config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=True)
            ds.decode()  # raises for a seed pydicom cannot parse: the caller falls back to byte mutations
            keyword = rng.choice(tuple(_DICOM_TAGS))
            value = rng.choice(_DICOM_TAGS[keyword])
            vr = pydicom.datadict.dictionary_VR(keyword)
            if vr in ("US", "SS", "UL", "SL") and value.lstrip("-").isdigit():
                setattr(ds, keyword, int(value) & 0xFFFF if vr == "US" else int(value))
            else:
                ds.add_new(keyword, vr, value)  # raw text (DS/IS/CS): exactly what a hostile file can hold
            out = io.BytesIO()
            ds.save_as(out, enforce_file_format=False)
            return out.getvalue(), f"dicom:{keyword}={value!r}"
    finally:
        config.settings.writing_validation_mode = old


def _png_op(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    width, height = rng.choice(((20000, 20000), (65535, 1), (1, 65535), (0, 64), (100000, 100000)))
    body = b"IHDR" + struct.pack(">II", width, height) + data[24:29]
    return data[:12] + body + struct.pack(">I", zlib.crc32(body)) + data[33:], f"png_ihdr:{width}x{height}"


def _image_op(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Change the decoded pixels or the image mode and re-encode (byte flips alone fail the PNG checksums)."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        pixels = np.asarray(opened.convert("L"), dtype=np.uint8).copy()
    how = rng.choice(("rectangle", "noise", "constant", "resize", "rgb", "16bit", "tiny", "transpose"))
    h, w = pixels.shape
    if how == "rectangle":
        r, c = rng.randrange(h), rng.randrange(w)
        pixels[r : r + rng.randint(1, h), c : c + rng.randint(1, w)] = rng.choice((0, 1, 128, 255))
    elif how == "noise":
        pixels = np.random.default_rng(rng.randrange(2**32)).integers(0, 256, pixels.shape, dtype=np.uint8)
    elif how == "constant":
        pixels[:] = rng.choice((0, 1, 255))
    elif how == "resize":
        size = (rng.choice((1, 7, 33, 64, 300, 1024)), rng.choice((1, 7, 33, 64, 300, 1024)))
        pixels = np.asarray(Image.fromarray(pixels).resize(size), dtype=np.uint8)
    elif how == "tiny":
        pixels = pixels[: rng.randint(1, 4), : rng.randint(1, 4)]
    elif how == "transpose":
        pixels = np.ascontiguousarray(pixels.T)
    image = Image.fromarray(pixels)
    if how == "rgb":
        image = image.convert("RGB")
    elif how == "16bit":
        image = Image.fromarray(pixels.astype(np.uint16) * 257)
    out = io.BytesIO()
    image.save(out, format=rng.choice(("PNG", "PNG", "TIFF", "JPEG")) if how != "16bit" else "PNG")
    return out.getvalue(), f"image:{how}"


def _zip_op(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    k = rng.randrange(len(members))
    name, member = members[k]
    how = rng.choice(("dicom", "dicom", "drop", "duplicate", "truncate", "junk_member", "nested_path"))
    if how == "dicom":
        member, op = _dicom_op(rng, member)
        members[k] = (name, member)
    elif how == "drop":
        del members[k]
        op = "drop_member"
    elif how == "duplicate":
        members.append((name + "_copy.dcm", member))
        op = "duplicate_member"
    elif how == "truncate":
        members[k] = (name, member[: rng.randrange(len(member) + 1)])
        op = "truncate_member"
    elif how == "junk_member":
        members.append(("notes.txt", rng.randbytes(100)))
        op = "junk_member"
    else:
        members[k] = ("../../" + name, member)
        op = "unsafe_path"
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")  # duplicate member names are one of the mutations, not a mistake
        for member_name, content in members:
            archive.writestr(member_name, content)
    return out.getvalue(), f"zip:{op}"


def mutate(rng: random.Random, data: bytes, domain: str, other: bytes = b"") -> tuple[bytes, tuple[str, ...]]:
    """Apply 1-3 mutation operators suited to ``domain`` and the data's format.

    Args:
        rng: the seeded random source (a run is reproducible from its seed).
        data: the seed bytes.
        domain: ``ct``, ``glucose`` or ``genes``.
        other: another seed, for splicing.

    Returns:
        (mutated bytes, names of the operators applied).
    """
    ops: list[str] = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        try:
            if domain == "ct" and data[:4] == b"PK\x03\x04" and rng.random() < 0.7:
                data, op = _zip_op(rng, data)
            elif domain == "ct" and len(data) >= 132 and data[128:132] == b"DICM" and rng.random() < 0.6:
                data, op = _dicom_op(rng, data)
            elif domain == "ct" and data.startswith(b"\x89PNG") and len(data) > 33 and rng.random() < 0.2:
                data, op = _png_op(rng, data)
            elif domain == "ct" and data.startswith(b"\x89PNG") and rng.random() < 0.6:
                data, op = _image_op(rng, data)
            elif domain != "ct" and rng.random() < 0.7:
                gz = data[:2] == b"\x1f\x8b"
                if gz:
                    data = gzip.decompress(data)
                data, op = _text_op(rng, data, domain)
                if gz or rng.random() < 0.05:
                    data, op = gzip.compress(data, mtime=0), op + "+gzip"
            else:
                data, op = _bytes_op(rng, data, other)
        except Exception:  # a seed the structured operator cannot handle: mutate its bytes instead
            data, op = _bytes_op(rng, data, other)
        if len(data) > MAX_CASE_BYTES:  # several growing operators in a row: keep cases at upload-like sizes
            data, op = data[:MAX_CASE_BYTES], op + "+cut"
        ops.append(op)
    return data, tuple(ops)


# ------------------------------------------------------------------------------------------------ checks (worker)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def check_ct(data: bytes, name: str, point: tuple[int, int, int] | None) -> list[str]:
    """Read a CT input and segment it; the violations found (empty when everything is finite and in range).

    Raises:
        InputError: what the reader or the segmentation raised for input it rejects.
    """
    import numpy as np

    from medai_core.ct.analysis import prepare_nodule
    from medai_core.ct.prepare import Seed
    from medai_core.ct.readers import read_ct

    study = read_ct(data, name=name)
    problems: list[str] = []
    hu = study.hu
    if hu.ndim != 3 or 0 in hu.shape:
        problems.append(f"volume shape {hu.shape} is not (D, H, W) with D, H, W >= 1")
        return problems
    if not np.isfinite(hu).all():
        problems.append(f"{int((~np.isfinite(hu)).sum())} non-finite HU values")
    elif hu.min() < HU_RANGE[0] or hu.max() > HU_RANGE[1]:
        problems.append(f"HU outside {HU_RANGE}: min {float(hu.min()):g}, max {float(hu.max()):g}")
    elif "DICOM" in study.source_format and float(hu.max()) == float(hu.min()) and hu.size > 1:
        problems.append(f"a flat volume: every voxel is {float(hu.min()):g} HU")
    if study.spacing_mm is not None and not all(_finite(s) and 0 < s < 100 for s in study.spacing_mm):
        problems.append(f"pixel spacing {study.spacing_mm} mm is not finite and in (0, 100)")
    if study.slice_spacing_mm is not None and not (_finite(study.slice_spacing_mm) and study.slice_spacing_mm > 0):
        problems.append(f"slice spacing {study.slice_spacing_mm} mm is not finite and positive")
    if problems:
        return problems
    d, h, w = study.shape
    seed = None
    if not study.is_masked_crop:
        row, col, index = point if point is not None else (h // 2, w // 2, d // 2)
        seed = Seed(min(row, h - 1), min(col, w - 1), min(index, d - 1))
    prepared = prepare_nodule(study, seed)
    crop = prepared.crop_u8
    if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[1:] != (64, 64):
        problems.append(f"training crop {crop.dtype} {crop.shape} is not uint8 (D, 64, 64)")
    for label, value in (
        ("long axis", prepared.long_axis_mm),
        ("short axis", prepared.short_axis_mm),
        ("volume", prepared.volume_mm3),
    ):
        if value is not None and not (_finite(value) and value >= 0):
            problems.append(f"{label} {value} is not finite and >= 0")
    return problems


def check_glucose(data: bytes, name: str, point: object = None) -> list[str]:
    """Read a CGM export and build its AGP report; the violations found.

    Raises:
        InputError: what the reader raised for input it rejects.
    """
    import numpy as np

    from medai_core.glucose import readers as glucose_readers
    from medai_core.glucose.agp import agp_report

    record = glucose_readers.read_cgm(data, name=name)
    low, high = getattr(glucose_readers, "PLAUSIBLE_MG_DL", (20.0, 600.0))
    problems: list[str] = []
    g = np.asarray(record.glucose_mg_dl, dtype=np.float64)
    if g.size == 0:
        return ["a record with no readings"]
    if not np.isfinite(g).all():
        problems.append(f"{int((~np.isfinite(g)).sum())} non-finite glucose values")
    elif g.min() < low or g.max() > high:
        problems.append(f"glucose outside {low:g}-{high:g} mg/dL: {float(g.min()):g}..{float(g.max()):g}")
    times = np.asarray(record.times)
    if np.isnat(times).any():
        problems.append("NaT reading times")
    elif (np.diff(times.astype("datetime64[ns]").astype(np.int64)) < 0).any():
        problems.append("reading times not sorted")
    if problems:
        return problems
    recorded = getattr(record, "glucose_recorded", record.glucose_mg_dl)
    report = agp_report(record.times, recorded, record.grid(), record.unit_detected)
    m = report.metrics
    for key, value in m.items():
        if value is not None and not math.isnan(value) and not math.isfinite(value):
            problems.append(f"metric {key} = {value}")
    bands = [m[k] for k in m if k.startswith(("tbr_", "tir_", "tar_"))]
    if bands and not all(0 <= b <= 100 for b in bands):
        problems.append(f"time-in-range bands outside 0-100 %: {bands}")
    elif bands and abs(sum(bands) - 100) > 0.1:
        problems.append(f"time-in-range bands add up to {sum(bands):.2f} %")
    if _finite(m.get("mean_mg_dl")) and not low <= m["mean_mg_dl"] <= high:
        problems.append(f"mean {m['mean_mg_dl']:g} mg/dL out of range")
    if _finite(m.get("active_percent")) and not 0 <= m["active_percent"] <= 100:
        problems.append(f"active {m['active_percent']:g} % out of range")
    if (
        g.size >= 2
        and any(math.isnan(m[k]) for k in ("sd_mg_dl", "cv_percent") if k in m)
        and not any("SD" in s or "variab" in s.lower() for s in (*record.notes, *report.sufficiency))
    ):
        problems.append(f"SD/CV not computed from {g.size} readings and no note says why")
    return problems


def check_genes(data: bytes, name: str, point: object = None) -> list[str]:
    """Read a panel, then TMB and evidence matching for up to three samples; the violations found.

    Raises:
        InputError: what the reader raised for input it rejects.
    """
    from medai_core.genomics.evidence import load_evidence, match_evidence
    from medai_core.genomics.io import read_panel
    from medai_core.genomics.panels import resolve_panel
    from medai_core.genomics.tmb import compute_tmb

    panel_file = read_panel(data, name)
    problems: list[str] = []
    if not panel_file.samples:
        problems.append("no samples")
    for v in panel_file.variants:
        if v.vaf is not None and not (_finite(v.vaf) and 0 <= v.vaf <= 1):
            problems.append(f"VAF {v.vaf} of {v.gene} outside [0, 1]")
        if not v.gene.strip():
            problems.append("a call with an empty gene")
    panel = resolve_panel(TMB_REFERENCE_PANEL)
    base = load_evidence()
    for sample in panel_file.samples[:3]:
        calls = panel_file.for_sample(sample)
        tmb = compute_tmb(calls, panel, cancer_type=TUMOUR_TYPE)
        if not (_finite(tmb.tmb_per_mb) and tmb.tmb_per_mb >= 0 and tmb.n_nonsynonymous >= 0):
            problems.append(f"TMB {tmb.tmb_per_mb} ({tmb.n_nonsynonymous} calls) is not finite and >= 0")
        if tmb.percentile is not None and not 0 <= tmb.percentile <= 100:
            problems.append(f"TMB percentile {tmb.percentile} outside 0-100")
        match_evidence(base, calls, TUMOUR_TYPE, tmb_high=tmb.high)
    return problems[:5]


_CHECKS: dict[str, Callable[[bytes, str, Any], list[str]]] = {
    "ct": check_ct,
    "glucose": check_glucose,
    "genes": check_genes,
}


def _run_case(domain: str, data: bytes, name: str, point: tuple[int, int, int] | None) -> list[str]:
    """Worker entry: the domain check of one case (module-level so the worker imports it by reference)."""
    return _CHECKS[domain](data, name, point)


# ------------------------------------------------------------------------------------------------ driver


def _case_name(domain: str, seed_name: str, data: bytes) -> str:
    return seed_name if domain != "ct" else "upload" + (Path(seed_name.split(" ")[0]).suffix or ".dcm")


def run_fuzz(
    domain: str,
    cases: int,
    *,
    seed: int = 0,
    time_limit_s: float = 10.0,
    memory_mb: int = 3072,
    out: Path | None = None,
    progress: Callable[[int, FuzzReport], None] | None = None,
) -> FuzzReport:
    """Run ``cases`` mutated inputs of ``domain`` through the isolated reader and first step.

    Args:
        domain: ``ct``, ``glucose`` or ``genes``.
        cases: number of cases.
        seed: random seed (the same seed gives the same cases).
        time_limit_s: worker time limit per case.
        memory_mb: worker address-space limit.
        out: folder for ``defects.json`` and the defects' bytes (None: not saved).
        progress: called after each case with (index, report so far).
    """
    from medai_core.isolation import IsolationPool

    if domain not in DOMAINS:
        raise ValueError(f"unknown fuzz domain {domain!r}; use one of {', '.join(DOMAINS)}")
    corpus = seed_corpus(domain)
    rng = random.Random(seed)
    report = FuzzReport(domain=domain, seed=seed, time_limit_s=time_limit_s, memory_mb=memory_mb)
    pool = IsolationPool(workers=1, time_limit_s=time_limit_s, memory_mb=memory_mb, stderr=subprocess.DEVNULL)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    try:
        pool.run(len, b"")  # wait for the worker's imports, so that they do not count as the first case's time
        # Seeds the reader and step accept unmutated are drawn 4 times as often: their mutants reach deeper code.
        weights = [
            4.0 if classify(pool, domain, data, _case_name(domain, name, data), point)[0] == "result" else 1.0
            for name, data, point in corpus
        ]
        report.seeds, report.seeds_accepted = len(corpus), sum(w > 1 for w in weights)
        for index in range(cases):
            seed_name, data, point = rng.choices(corpus, weights)[0]
            other = rng.choice(corpus)[1]
            mutated, ops = mutate(rng, data, domain, other)
            case = FuzzCase(index, seed_name, ops, mutated, point)
            _run_one(pool, report, case, domain, out)
            if progress is not None:
                progress(index, report)
    finally:
        pool.close()
    if out is not None:
        (out / f"{domain}-defects.json").write_text(json.dumps(_document(report), indent=2) + "\n")
    return report


def classify(
    pool: Any, domain: str, data: bytes, name: str, point: tuple[int, int, int] | None = None
) -> tuple[str, str, float]:
    """Run one input through the isolated reader and first step of ``domain``; how it ended.

    Args:
        pool: an :class:`~medai_core.isolation.IsolationPool`.
        domain: ``ct``, ``glucose`` or ``genes``.
        data: the input's bytes; name: its file name; point: a nodule point (CT).

    Returns:
        (outcome, detail, worker peak MiB): ``("result", "", mb)``, ``("rejected", message, 0)``, or a defect:
        ``("crash" | "timeout" | "memory" | "exception" | "out of range", what happened, mb or 0)``.
    """
    try:
        run = pool.run(_run_case, domain, data, name, point, label=name)
    except InputError as exc:
        text = str(exc)
        if "could not be read safely" not in text:
            return "rejected", f"{type(exc).__name__}: {text}", 0.0
        kind = "timeout" if "longer than" in text else "memory" if "memory" in text else "crash"
        return kind, text.split("could not be read safely: ", 1)[1].split(". Check that")[0], 0.0
    except Exception as exc:  # any other exception is a defect: say where it came from
        kind_name = type(exc).__qualname__
        module = type(exc).__module__
        kind_name = kind_name if module in ("builtins", "") else f"{module}.{kind_name}"
        cause = exc.__cause__
        where = _innermost_frame(str(cause)) if cause is not None else ""
        return "exception", f"{kind_name}: {exc}"[:300] + (f" at {where}" if where else ""), 0.0
    if run.value:
        return "out of range", "; ".join(run.value), run.worker_peak_rss_mb
    return "result", "", run.worker_peak_rss_mb


def _run_one(pool: Any, report: FuzzReport, case: FuzzCase, domain: str, out: Path | None) -> None:
    report.cases += 1
    name = _case_name(domain, case.seed_name, case.data)
    start = time.monotonic()
    kind, detail, peak_mb = classify(pool, domain, case.data, name, case.point)
    wall = time.monotonic() - start
    report.peak_memory_mb = max(report.peak_memory_mb, peak_mb)
    if kind == "result":
        report.results += 1
    elif kind == "rejected":
        report.clean_rejections += 1
        report.rejection_reasons[_signature({"kind": "", "detail": detail})[2:102]] += 1
    if wall > report.slowest_s:
        report.slowest_s, report.slowest_case = wall, case.index
    if kind not in ("result", "rejected"):
        report.defects += 1
        entry: dict[str, Any] = {
            "case": case.index,
            "kind": kind,
            "detail": detail,
            "seed_name": case.seed_name,
            "mutations": list(case.mutations),
            "size": len(case.data),
        }
        if out is not None:
            path = out / f"{domain}-{case.index:05d}.bin"
            path.write_bytes(case.data)
            entry["file"] = path.name
        report.defect_list.append(entry)


def _innermost_frame(traceback_text: str) -> str:
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', traceback_text)
    if not frames:
        return ""
    path, line, func = frames[-1]
    return f"{Path(path).name}:{line} {func}"


def _document(report: FuzzReport) -> dict[str, Any]:
    doc = {k: v for k, v in asdict(report).items() if k != "rejection_reasons"}
    doc["signatures"] = dict(report.signatures().most_common())
    doc["rejection_reasons"] = dict(report.rejection_reasons.most_common())
    return doc


def format_table(reports: Sequence[FuzzReport]) -> str:
    """The fuzz table: one row per domain, then each domain's defects grouped by signature."""
    head = (
        f"{'reader':<8} {'cases':>6} {'results':>8} {'rejected':>9} {'defects':>8} {'slowest case':>18} {'peak MiB':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in reports:
        slowest = f"#{r.slowest_case} {r.slowest_s:.2f} s" if r.slowest_case is not None else "-"
        lines.append(
            f"{r.domain:<8} {r.cases:>6} {r.results:>8} {r.clean_rejections:>9} {r.defects:>8} {slowest:>18} "
            f"{r.peak_memory_mb:>9.0f}"
        )
    for r in reports:
        for signature, count in r.signatures().most_common():
            first = next(d for d in r.defect_list if _signature(d) == signature)
            lines.append(f"  {r.domain} defect x{count} (first: case {first['case']}): {signature}")
    return "\n".join(lines)
