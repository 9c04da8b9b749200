"""What a VCF header says: the VEP ``CSQ`` / SnpEff ``ANN`` field layout, the genome build, the caller (a germline
caller alone is refused) and whether the caller marks germline calls (VarScan/MuTect ``SS``)."""

from __future__ import annotations

import re

from medai_core.errors import PanelInputError
from medai_core.genomics.readers.common import build_from_text

__all__ = ["annotation_fields", "germline_status_key", "refuse_germline_vcf", "unfiltered", "vcf_genome_build"]


def annotation_fields(header_text: str, key: str) -> list[str] | None:
    """The field names of the ``CSQ`` (VEP) or ``ANN`` (SnpEff) INFO field, from its header description, or None
    when the header does not define it."""
    match = re.search(rf'##INFO=<ID={key},[^\n]*?Description="([^"]*)"', header_text)
    if not match:
        return None
    description = match.group(1)
    if key == "CSQ":
        part = description.split("Format:", 1)[-1]
    else:
        part = description.split(":", 1)[-1] if ":" in description else description
    return [f.strip().strip("'").strip() for f in part.split("|")]


_CHR1_LENGTH_BUILD = {249250621: "GRCh37", 248956422: "GRCh38", 247249719: "NCBI36"}
"""Length of chromosome 1 in each build, as ``##contig`` lines give it."""


def vcf_genome_build(header_text: str) -> tuple[str | None, str]:
    """The genome build a VCF header states and where it comes from (``##reference``, ``##assembly``, VEP's cache,
    the SnpEff database, the GATK ``--reference``, else the length of chromosome 1). A header whose lines name
    different builds gives None and says which (a VCF annotated twice, e.g. VEP GRCh37 and GRCh38 caches)."""
    found: dict[str, str] = {}
    for prefix, where in (
        ("##reference=", "the ##reference line"),
        ("##assembly=", "the ##assembly line"),
        ("##VEP=", "the VEP header line"),
        ("##SnpEffCmd=", "the SnpEff database in the header"),
        ("##GATKCommandLine", "the GATK reference in the header"),
    ):
        for line in header_text.splitlines():
            if line.startswith(prefix) and (build := build_from_text(line)):
                found.setdefault(build, where)
    if len(found) > 1:
        return None, f"the header names several builds ({', '.join(sorted(found))})"
    if found:
        return next(iter(found.items()))
    for match in re.finditer(r"^##contig=<ID=(?:chr)?1,length=(\d+)", header_text, re.MULTILINE):
        build = _CHR1_LENGTH_BUILD.get(int(match.group(1)))
        if build:
            return build, "the length of chromosome 1 in the ##contig lines"
    return None, ""


_GERMLINE_CALLERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("GATK HaplotypeCaller", re.compile(r"^##GATKCommandLine(?:\.HaplotypeCaller)?=<ID=HaplotypeCaller", re.M)),
    ("GATK GenotypeGVCFs", re.compile(r"^##GATKCommandLine(?:\.GenotypeGVCFs)?=<ID=GenotypeGVCFs", re.M)),
    ("DeepVariant", re.compile(r"^##source=DeepVariant", re.M | re.I)),
    ("Strelka2 germline", re.compile(r"^##content=strelka germline", re.M | re.I)),
)
"""Callers whose VCFs hold germline genotypes (a person's inherited variants), told by their header lines."""

_SOMATIC_CALLERS = re.compile(
    r"^##(?:GATKCommandLine[^\n]*ID=Mutect2|source=Mutect2|source=strelka|source=VarScan|tumou?r_sample=|"
    r"content=strelka somatic)",
    re.M | re.I,
)


def refuse_germline_vcf(header_text: str, filename: str) -> None:
    """Refuse a VCF made by a germline caller and by no somatic caller: its calls are mostly inherited variants
    (tens of thousands in an exome), so TMB and tumour evidence read from them would be wrong.

    Raises:
        PanelInputError: naming the germline caller.
    """
    if _SOMATIC_CALLERS.search(header_text):
        return
    for name, pattern in _GERMLINE_CALLERS:
        if pattern.search(header_text):
            raise PanelInputError(
                f"{filename or 'The VCF'} was made by {name}, a germline caller: its calls are inherited variants, "
                "not the tumour's somatic mutations, so TMB and tumour evidence cannot be read from it. Upload the "
                "somatic caller's VCF (e.g. Mutect2, Strelka2 somatic, VarScan somatic) or its MAF."
            )


def germline_status_key(header_text: str) -> tuple[str, str] | None:
    """(``INFO`` or ``FORMAT``, ``SS``) when the header defines VarScan/MuTect's somatic-status field
    (1 = germline, 2 = somatic, 3 = LOH), else None."""
    for kind in ("INFO", "FORMAT"):
        match = re.search(rf'^##{kind}=<ID=SS,[^\n]*Description="([^"]*)"', header_text, re.MULTILINE)
        if match and "germline" in match.group(1).lower():
            return kind, "SS"
    return None


def unfiltered(body: str) -> bool:
    """True when the VCF has records and every one's FILTER is ``.`` (no caller or filter step gave a verdict)."""
    filters = {line.split("\t", 7)[6] for line in body.splitlines()[1:] if line and not line.startswith("#")}
    return filters == {"."}
