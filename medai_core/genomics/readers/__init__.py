"""Read tumour gene panels: MAF, annotated VCF (VEP ``CSQ`` or SnpEff ``ANN``) and simple CSV/TSV tables.

Every reader returns a :class:`PanelFile` of :class:`Variant` calls with normalised gene symbols (``MLL2`` ->
``KMT2D``), MAF ``Variant_Classification`` terms and one-letter protein changes (``L858R``), or raises
:class:`~medai_core.errors.PanelInputError` with a message that names what was wrong and what is accepted.
Uploads stay in memory: VCFs are handed to cyvcf2 (htslib) through an in-memory file descriptor. The bytes go
through :mod:`medai_core.untrusted` (gzip members, NUL bytes, text decoding) before a format is chosen by content.

=================  ========================================================================================
module             reads
=================  ========================================================================================
``maf``            MAF (a tab-separated header line with ``Hugo_Symbol``)
``vcf``            VCF 4.x annotated by VEP or SnpEff (``vcf_header``: its header; ``vcf_samples``: the
                   tumour/normal columns, genotypes, VAF and depth)
``table``          CSV/TSV tables (any other header line)
``common``         the call and file model, row limits and splitting, duplicate merging, the empty-file note
=================  ========================================================================================

What is read from files other tools write (fixtures and their sources: ``tests/data/genes/external/``):

* VCF tumour column: ``##tumor_sample`` (Mutect2), else TUMOR/NORMAL-like or TCGA sample names, else, for two
  unlabelled columns, the genotypes; otherwise every column is kept apart and the user chooses. Notes give the
  column by position, never by name.
* each ALT allele of a multi-allelic record is its own call, with its own annotation entry and VAF; alleles the
  tumour genotype does not carry, the normal genotype does carry, or VarScan/MuTect ``SS`` marks germline/LOH are
  left out; symbolic structural-variant alleles are left out; non-PASS records are left out (all with notes).
* VAF from the FORMAT fields of the common somatic callers (:func:`allele_vaf`); genome build from the header or
  the MAF ``NCBI_Build`` column (:attr:`PanelFile.genome_build`).
* a VCF from a germline caller alone is refused; MAF rows with a non-PASS ``FILTER`` or a Germline/LOH
  ``Mutation_Status`` are left out with a note.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

from medai_core import untrusted
from medai_core.errors import PanelInputError
from medai_core.genomics.readers.common import (
    MAX_LINE_CHARS,
    MAX_VARIANT_ROWS,
    NO_CALLS_NOTE,
    PanelFile,
    Variant,
    merge_duplicate_calls,
    not_a_panel,
    say_when_empty,
)
from medai_core.genomics.readers.maf import read_maf
from medai_core.genomics.readers.table import read_table
from medai_core.genomics.readers.vcf import read_vcf

__all__ = ["MAX_LINE_CHARS", "MAX_VARIANT_ROWS", "NO_CALLS_NOTE", "PanelFile", "Variant", "read_panel"]


def read_panel(data: bytes, *, name: str) -> PanelFile:
    """Parse a panel file from its bytes (gzip-compressed files are accepted).

    Args:
        data: the file's bytes.
        name: the uploaded name, used only to word messages (``""``: "The file"). The gene-panel reader takes no
            other option.

    Raises:
        PanelInputError: not a MAF, VCF or CSV/TSV panel; required columns missing; a malformed line (named);
            a VCF with no samples or no VEP/SnpEff annotation.
    """
    with _cyclic_gc_paused():
        return _read_panel(data, name)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a panel is parsed: parsing creates millions of short strings
    and lists but no reference cycles, and the collector's passes over them took a third of the time of a
    100,000-row MAF. Reference counting still frees everything; the collector resumes (if it was on) afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_panel(data: bytes, filename: str) -> PanelFile:
    """:func:`read_panel` without the collector pause."""
    if untrusted.sniff(data) == "gzip":
        data = untrusted.gunzip(data, name=filename or "The file", error=PanelInputError)
    if not data.strip():
        raise PanelInputError(
            f"{filename or 'The file'} is empty. Upload a MAF, an annotated VCF, or a CSV with columns gene, "
            "protein_change."
        )
    if b"\x00" in data[: untrusted.SNIFF_BYTES]:
        raise not_a_panel(filename)
    text = untrusted.decode_text(data)
    if text.lstrip().startswith("##fileformat=VCF"):
        return say_when_empty(merge_duplicate_calls(read_vcf(data, filename)))
    lines = text.splitlines()
    _refuse_other_text(lines[:50], filename)
    header_index = next((i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")), None)
    if header_index is None:
        raise not_a_panel(filename)
    header_line = lines[header_index]
    if "Hugo_Symbol" in header_line.split("\t"):
        return say_when_empty(merge_duplicate_calls(read_maf(lines, header_index, filename)))
    return say_when_empty(merge_duplicate_calls(read_table(lines, header_index, filename)))


def _refuse_other_text(head: list[str], filename: str) -> None:
    """Refuse text that is near a panel format but not one: VEP's tab-separated output, or a VCF with lines above
    its ``##fileformat`` line (``head``: the first 50 lines).

    Raises:
        PanelInputError: saying what the file is and what to upload instead.
    """
    if any(line.startswith(("## ENSEMBL VARIANT EFFECT PREDICTOR", "#Uploaded_variation")) for line in head):
        raise PanelInputError(
            f"{filename or 'The file'} is Ensembl VEP's tab-separated output, which this reader does not read (its "
            "header line starts with #, and genes and protein changes sit in the Extra column). Run VEP with --vcf "
            "and upload that VCF, or convert it to a MAF with vcf2maf."
        )
    late = next((i for i, line in enumerate(head) if line.startswith("##fileformat=VCF")), None)
    if late is not None:
        raise PanelInputError(
            f"{filename or 'The file'} looks like a VCF, but {late} line(s) come before its ##fileformat line (e.g. a "
            "log message written into the file). A VCF must begin with ##fileformat=VCFv4.x; delete the lines above "
            "it and upload again."
        )
