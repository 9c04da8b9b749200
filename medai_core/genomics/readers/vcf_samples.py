"""The sample columns of a VCF: which is the tumour and which the matched normal, each record checked as text
before htslib parses it (fixed columns, sample columns, genotypes), and the VAF and depth callers write in FORMAT."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from medai_core.errors import PanelInputError
from medai_core.genomics.readers import common
from medai_core.genomics.readers.common import float_or_none, too_many_rows

__all__ = [
    "SampleRoles",
    "allele_vaf",
    "alleles_in",
    "check_genotype",
    "check_vcf_lines",
    "read_depth",
    "sample_roles",
]


_GT_RE = re.compile(r"^(?:\.|\d{1,9})(?:[/|](?:\.|\d{1,9}))*$")
"""A VCF 4.x genotype: allele indices (or ``.``) joined by ``/`` or ``|`` (``0/1``, ``1|0``, ``./.``, ``1``)."""


_GT_SEPARATOR = re.compile(r"[/|]")


@lru_cache(maxsize=4096)
def check_genotype(value: str, n_alt: int) -> str | None:
    """What is wrong with one sample's ``GT`` value, or None when it is valid for a record with ``n_alt`` ALT alleles.

    htslib cannot parse malformed genotypes (an index past the ALT alleles, a negative or 20-digit index, a
    dangling separator as in ``0|``): it prints "Couldn't read GT data" and cyvcf2 then reads freed memory in
    ``Variant.format`` (a segmentation fault), so every GT is checked here before cyvcf2 sees the record.
    """
    if value == ".":
        return None
    if not value:
        return "the genotype (GT) is empty; a missing genotype is written '.' or './.'"
    if not _GT_RE.match(value):
        return f"genotype {value[:30]!r} is not allele indices joined by / or | (e.g. 0/1)"
    for allele in _GT_SEPARATOR.split(value):
        if allele != "." and int(allele) > n_alt:
            return f"genotype {value[:30]!r} names allele {allele} but the record has {n_alt} ALT allele(s)"
    return None


def check_vcf_lines(text: str, filename: str, n_samples: int) -> None:
    """Validate the VCF body as text before htslib parses it: the fixed columns, the number of records
    (:data:`~medai_core.genomics.readers.common.MAX_VARIANT_ROWS`, read from its module: one limit for
    every layout) and every sample's ``GT`` (see :func:`check_genotype`). A record written again
    (the same line) is checked once.

    Args:
        text: the whole VCF.
        filename: the uploaded name, for messages.
        n_samples: the number of sample columns in the ``#CHROM`` line.

    Raises:
        PanelInputError: naming the line and what was wrong.
    """
    records = 0
    checked: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line.startswith("#"):
            continue
        records += 1
        if records > common.MAX_VARIANT_ROWS:
            raise too_many_rows(filename)
        if line in checked:
            continue
        problem = _record_problem(line, n_samples)
        if problem:
            raise PanelInputError(f"{filename or 'The VCF'}, line {number}: {problem}")
        checked.add(line)


def _record_problem(line: str, n_samples: int) -> str | None:
    """What is wrong with one record line (the end of the message), or None when htslib may parse it."""
    fields = line.split("\t")
    if len(fields) < 8 or not fields[1].isdigit() or not fields[3] or not fields[4]:
        return (
            "malformed record (expected tab-separated CHROM, POS (a number), ID, REF, ALT, QUAL, FILTER, INFO; got "
            f"{len(fields)} fields). Fix or remove the line."
        )
    if "\x00" in line:
        return "holds NUL bytes (binary data, e.g. a damaged copy). Export the VCF again."
    # a record may stop after INFO (no FORMAT, no samples: genotypes unknown); once FORMAT is there, every sample
    # the #CHROM line names must have its column, or htslib reads genotypes that are not there (a crash)
    if len(fields) >= 9 and len(fields) != 9 + n_samples:
        return (
            f"{len(fields) - 9} sample columns where the #CHROM header names {n_samples}. The line is malformed; fix "
            "or remove it."
        )
    if len(fields) < 10:
        return None
    if not all(fields[9:]):
        return "a sample column is empty (a missing value is written '.'). The line is malformed; fix or remove it."
    keys = fields[8].split(":")
    if "GT" not in keys:
        return None
    if keys[0] != "GT":
        return f"GT must be the first FORMAT key (VCF 4.x); got {fields[8][:60]!r}."
    n_alt = 0 if fields[4] == "." else fields[4].count(",") + 1
    for column in fields[9:]:
        problem = check_genotype(column.split(":", 1)[0], n_alt)
        if problem:
            return f"{problem}. Fix or remove the record and upload again."
    return None


_TUMOUR_NAME = re.compile(r"tumou?r|somatic|^t$|[-_]t\d*$|^TCGA-\w\w-\w{4}-0\d", re.IGNORECASE)
_NORMAL_NAME = re.compile(r"normal|germline|blood|^n$|[-_]n\d*$|^TCGA-\w\w-\w{4}-1\d", re.IGNORECASE)
"""Sample names that mark a tumour or a normal column (TCGA barcodes: sample type 01-09 tumour, 10-19 normal)."""


@dataclass(frozen=True)
class SampleRoles:
    """Which VCF sample columns hold the tumour and which the matched normal.

    Attributes:
        tumours: indices of the tumour columns (several only when the file does not say which is the tumour).
        normal: index of the matched normal column, or None.
        how: how the tumour column was told, for the note (never a sample name: names may identify a patient).
    """

    tumours: tuple[int, ...]
    normal: int | None
    how: str


def sample_roles(samples: list[str], header_text: str, body: str) -> SampleRoles:
    """Tell the tumour and normal columns of a VCF: the ``##tumor_sample=`` / ``##normal_sample=`` header lines
    (GATK Mutect2), else the column names (``TUMOR``/``NORMAL`` of Strelka2 and VarScan, ``..._Somatic``/
    ``..._Germline`` of SnpEff ``-cancer``), else, for two unlabelled columns, the genotypes (only the tumour
    carries somatic ALT alleles while the normal is 0/0). Otherwise every column is a candidate tumour and the user
    chooses.
    """
    named = _roles_from_header(samples, header_text)
    if named is not None:
        return named
    if len(samples) == 1:
        only_normal = bool(_NORMAL_NAME.search(samples[0])) and not _TUMOUR_NAME.search(samples[0])
        return SampleRoles((0,), None, "only sample column is named like a normal sample" if only_normal else "")
    by_names, candidates = _roles_from_names(samples)
    if by_names is not None:
        return by_names
    if len(samples) == 2 and len(candidates) == 2:
        by_genotypes = _roles_from_genotypes(body)
        if by_genotypes is not None:
            return by_genotypes
    return SampleRoles(tuple(candidates), None, "")


def _roles_from_names(samples: list[str]) -> tuple[SampleRoles | None, list[int]]:
    """The roles several columns' names tell (one tumour-like name, or every name but one normal-like), else None
    and the candidate tumour columns."""
    tumour_like = [i for i, s in enumerate(samples) if _TUMOUR_NAME.search(s)]
    normal_like = [i for i, s in enumerate(samples) if _NORMAL_NAME.search(s) and i not in tumour_like]
    if len(tumour_like) == 1 or (not tumour_like and len(normal_like) == len(samples) - 1):
        tumour = tumour_like[0] if tumour_like else next(i for i in range(len(samples)) if i not in normal_like)
        normal = normal_like[0] if len(normal_like) == 1 else None
        return SampleRoles((tumour,), normal, "told by the tumour/normal labels in the sample names"), []
    candidates = tumour_like if len(tumour_like) > 1 else [i for i in range(len(samples)) if i not in normal_like]
    return None, candidates or list(range(len(samples)))  # every name normal-like: nothing told apart


def _roles_from_header(samples: list[str], header_text: str) -> SampleRoles | None:
    """The roles the ``##tumor_sample=`` / ``##normal_sample=`` header lines give, or None without such a line."""
    named_tumours = [
        samples.index(n) for n in re.findall(r"^##tumou?r_sample=(\S+)", header_text, re.M) if n in samples
    ]
    named_normals = [samples.index(n) for n in re.findall(r"^##normal_sample=(\S+)", header_text, re.M) if n in samples]
    if not named_tumours:
        return None
    normal = named_normals[0] if len(named_normals) == 1 else None
    if normal is None and len(samples) == 2 and len(named_tumours) == 1:
        normal = 1 - named_tumours[0]
    how = "named by the ##tumor_sample header line" if len(named_tumours) == 1 else ""
    return SampleRoles(tuple(dict.fromkeys(named_tumours)), normal, how)


def _roles_from_genotypes(body: str) -> SampleRoles | None:
    """The roles of two unlabelled columns told from their genotypes (one alone carries ALT alleles), or None."""
    somatic = _somatic_genotype_counts(body, 2)
    if not (min(somatic) == 0 and max(somatic) > 0):
        return None
    tumour = somatic.index(max(somatic))
    return SampleRoles(
        (tumour,),
        1 - tumour,
        f"told from the genotypes: it alone carries the ALT allele in {max(somatic)} PASS record(s) where "
        "the other column is 0/0",
    )


def _somatic_genotype_counts(body: str, n_samples: int) -> list[int]:
    """For each sample column, the PASS records in which it alone carries an ALT allele while every other column's
    genotype is homozygous reference (the pattern of a somatic call in a tumour/normal VCF)."""
    counts = [0] * n_samples
    for line in body.splitlines():
        fields = line.split("\t")
        if len(fields) < 9 + n_samples or line.startswith("#") or fields[6] not in {"PASS", "."}:
            continue
        keys = fields[8].split(":")
        if keys[0] != "GT":
            continue
        carried = [alleles_in(column.split(":", 1)[0]) for column in fields[9 : 9 + n_samples]]
        carriers = [i for i, alleles in enumerate(carried) if alleles and any(a > 0 for a in alleles)]
        if len(carriers) == 1 and all(alleles == {0} for i, alleles in enumerate(carried) if i != carriers[0]):
            counts[carriers[0]] += 1
    return counts


@lru_cache(maxsize=4096)
def alleles_in(genotype: str | None) -> frozenset[int] | None:
    """The allele indices a ``GT`` value carries (``0/1`` -> {0, 1}), or None when there is no called genotype."""
    if genotype is None or not genotype.strip(".|/ "):
        return None
    return frozenset(int(a) for a in _GT_SEPARATOR.split(genotype) if a.isdigit())


def _numbers(value: str | None) -> list[float] | None:
    """A comma-separated FORMAT value as numbers, or None when absent, missing (``.``) or not all non-negative."""
    if value is None:
        return None
    numbers = [float_or_none(v) for v in value.split(",")]
    if not numbers or any(n is None or n < 0 for n in numbers):
        return None
    return [n for n in numbers if n is not None]


def allele_vaf(values: dict[str, str], allele: int, n_alts: int, ref: str, alt: str) -> float | None:
    """One sample's variant allele fraction of ALT allele ``allele`` (1-based) from the FORMAT fields callers write.

    In order: ``AF`` (GATK Mutect2, Number=A; VarDict, DRAGEN), ``FA`` (MuTect 1) or ``VF`` (Illumina Pisces);
    VarScan's ``FREQ`` (``"12.5%"``); Strelka2's tier-1 counts (SNVs: ``{ALT}U`` over ``AU+CU+GU+TU``; indels:
    ``TIR`` over ``TAR+TIR``); Platypus' ``NV`` over ``NR``; FreeBayes' ``AO`` over ``RO+AO``; ``AD`` (Number=R:
    this allele's reads over all reads). None when none of these is given.
    """
    for source in _VAF_SOURCES:
        vaf = source(values, allele, n_alts, ref, alt)
        if vaf is not None:
            return vaf
    return None


def _vaf_fraction(values: dict[str, str], allele: int, n_alts: int, ref: str, alt: str) -> float | None:
    """``AF``, ``FA`` or ``VF``: one fraction per ALT allele."""
    for key in ("AF", "FA", "VF"):
        fractions = _numbers(values.get(key))
        if fractions is not None and len(fractions) == n_alts and fractions[allele - 1] <= 1:
            return fractions[allele - 1]
    return None


def _vaf_varscan(values: dict[str, str], allele: int, n_alts: int, ref: str, alt: str) -> float | None:
    """VarScan's ``FREQ`` (a percentage, with or without ``%``) of a single-ALT record."""
    freq = values.get("FREQ", "").strip()
    if not freq or n_alts != 1:
        return None
    value = float_or_none(freq.rstrip("%"))
    if value is not None and 0 <= value <= 100:
        return value / 100 if freq.endswith("%") or value > 1 else value
    return None


def _vaf_strelka(values: dict[str, str], allele: int, n_alts: int, ref: str, alt: str) -> float | None:
    """Strelka2's tier-1 counts: ``{ALT}U`` over ``AU+CU+GU+TU`` for SNVs, else ``TIR`` over ``TAR+TIR``."""
    base = alt.upper()
    if len(ref) == 1 and base in {"A", "C", "G", "T"} and all(f"{b}U" in values for b in "ACGT"):
        tier1 = {b: _numbers(values[f"{b}U"]) for b in "ACGT"}
        counts = {b: v[0] for b, v in tier1.items() if v}
        if len(counts) == 4 and sum(counts.values()) > 0:
            return counts[base] / sum(counts.values())
    tir, tar = _numbers(values.get("TIR")), _numbers(values.get("TAR"))
    if tir and tar and tir[0] + tar[0] > 0:
        return tir[0] / (tir[0] + tar[0])
    return None


def _vaf_reads(values: dict[str, str], allele: int, n_alts: int, ref: str, alt: str) -> float | None:
    """Read counts: Platypus' ``NV`` over ``NR``, FreeBayes' ``AO`` over ``RO+AO``, else ``AD``."""
    variant_reads, total_reads = _numbers(values.get("NV")), _numbers(values.get("NR"))
    if (
        variant_reads
        and total_reads
        and len(variant_reads) == len(total_reads) == n_alts
        and 0 <= variant_reads[allele - 1] <= total_reads[allele - 1]
        and total_reads[allele - 1] > 0
    ):
        return variant_reads[allele - 1] / total_reads[allele - 1]
    ao, ro = _numbers(values.get("AO")), _numbers(values.get("RO"))
    if ao is not None and ro is not None and len(ao) == n_alts and len(ro) == 1 and ro[0] + sum(ao) > 0:
        return ao[allele - 1] / (ro[0] + sum(ao))
    depths = _numbers(values.get("AD"))
    if depths is not None and len(depths) == n_alts + 1 and sum(depths) > 0:
        return depths[allele] / sum(depths)
    return None


_VAF_SOURCES = (_vaf_fraction, _vaf_varscan, _vaf_strelka, _vaf_reads)
"""The FORMAT fields a VAF is read from, in the order of :func:`allele_vaf`."""


def read_depth(values: dict[str, str]) -> float | None:
    """One sample's reads over the site: the sum of ``AD`` (all alleles), else ``DP``; None when neither is given."""
    depths = _numbers(values.get("AD"))
    if depths:
        return sum(depths)
    depth = _numbers(values.get("DP"))
    return depth[0] if depth else None
