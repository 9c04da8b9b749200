"""Read tumour gene panels: MAF, annotated VCF (VEP ``CSQ`` or SnpEff ``ANN``) and simple CSV/TSV tables.

Every reader returns a :class:`PanelFile` of :class:`Variant` calls with normalised gene symbols (``MLL2`` ->
``KMT2D``), MAF ``Variant_Classification`` terms and one-letter protein changes (``L858R``), or raises
:class:`~medai_core.errors.PanelInputError` with a message that names what was wrong and what is accepted.
Uploads stay in memory: VCFs are handed to cyvcf2 (htslib) through an in-memory file descriptor.

What is read from files other tools write (fixtures and their sources: ``tests/data/genes/external/``):

* VCF tumour column: ``##tumor_sample`` (Mutect2), else TUMOR/NORMAL-like or TCGA sample names, else, for two
  unlabelled columns, the genotypes; otherwise every column is kept apart and the user chooses. Notes give the
  column by position, never by name.
* each ALT allele of a multi-allelic record is its own call, with its own annotation entry and VAF; alleles the
  tumour genotype does not carry, the normal genotype does carry, or VarScan/MuTect ``SS`` marks germline/LOH are
  left out; symbolic structural-variant alleles are left out; non-PASS records are left out (all with notes).
* VAF from the FORMAT fields of the common somatic callers (:func:`_allele_vaf`); genome build from the header or
  the MAF ``NCBI_Build`` column (:attr:`PanelFile.genome_build`).
* a VCF from a germline caller alone is refused; MAF rows with a non-PASS ``FILTER`` or a Germline/LOH
  ``Mutation_Status`` are left out with a note.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import gc
import io
import os
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from medai_core import untrusted
from medai_core.errors import PanelInputError
from medai_core.genomics.panels import normalise_gene
from medai_core.genomics.vocabulary import (
    ALTERATION_CLASSES,
    UNRANKED,
    classification_from_consequence,
    classification_from_protein,
    consequence_rank,
    is_nonsynonymous,
    normalise_classification,
    normalise_protein_change,
)

__all__ = [
    "MAX_LINE_CHARS",
    "MAX_VARIANT_ROWS",
    "NO_CALLS_NOTE",
    "PanelFile",
    "Variant",
    "classification_from_protein",
    "normalise_protein_change",
    "protein_from_amino_acids",
    "read_panel",
    "splice_site_protein",
]

MAX_LINE_CHARS = 100_000
"""Longest line a panel table may hold (a MAF line is a few hundred characters; VCF INFO fields can be long)."""

MAX_VARIANT_ROWS = 100_000
"""Most call rows (MAF/CSV rows, VCF records) a panel file may hold: a tumour exome has a few thousand somatic
calls, a large multi-sample MAF some tens of thousands. Larger files are refused rather than analysed slowly."""


@dataclass(frozen=True)
class Variant:
    """One somatic call.

    Attributes:
        gene: normalised HGNC symbol.
        protein_change: one-letter protein change without ``p.`` (``L858R``, ``E746_A750del``), or ``""``.
        classification: MAF ``Variant_Classification``.
        vaf: tumour variant allele fraction in [0, 1], or None when the file does not give it.
        sample: tumour sample id (``""`` for single-sample tables without one).
        chromosome, position, ref, alt: the call's genomic identity where the file gives it (MAF ``Chromosome``,
            ``Start_Position``, ``Reference_Allele``, ``Tumor_Seq_Allele2``; VCF ``CHROM``/``POS``/``REF``/ALT;
            table columns of those names), else ``""``/None. Chromosomes are written without ``chr``.
        read_depth: tumour reads over the site where the file gives them (MAF ``t_depth`` or ref + alt counts, VCF
            ``AD``/``DP``), else None; decides which of two rows of one call is kept.
    """

    gene: str
    protein_change: str
    classification: str
    vaf: float | None
    sample: str
    chromosome: str = ""
    position: int | None = None
    ref: str = ""
    alt: str = ""
    read_depth: float | None = None

    @property
    def identity(self) -> tuple[str | int, ...] | None:
        """What makes two rows the same call: (sample, chromosome, position, ref, alt) where the position is known,
        else (sample, gene, protein change) where the protein change is known, else None (not comparable)."""
        if self.chromosome and self.position is not None:
            return (self.sample, self.chromosome, self.position, self.ref.upper(), self.alt.upper())
        if self.protein_change:
            return (self.sample, self.gene, self.protein_change)
        return None

    @property
    def nonsynonymous(self) -> bool:
        """True when the call changes the protein (counted for TMB and as a mutated gene)."""
        return is_nonsynonymous(self.classification)


@dataclass(frozen=True)
class PanelFile:
    """A parsed panel file.

    Attributes:
        source_format: ``"MAF"``, ``"VCF (VEP CSQ)"``, ``"VCF (SnpEff ANN)"`` or ``"CSV"``.
        samples: tumour sample ids in file order (one ``""`` entry for single-sample tables without ids).
        variants: every call of every sample.
        notes: what the reader did that the user should know (filtered calls, the tumour column chosen, ...).
        genome_build: ``GRCh37``, ``GRCh38`` or ``NCBI36`` where the file states it (VCF header, MAF
            ``NCBI_Build``), else None.
    """

    source_format: str
    samples: tuple[str, ...]
    variants: tuple[Variant, ...]
    notes: tuple[str, ...] = ()
    genome_build: str | None = None

    def for_sample(self, sample: str | None = None) -> tuple[Variant, ...]:
        """The calls of one sample.

        Raises:
            PanelInputError: several samples and none chosen, or an unknown sample id.
        """
        if sample is None or sample == "":
            if len(self.samples) > 1:
                raise PanelInputError(
                    f"The file holds {len(self.samples)} tumour samples ({_preview(self.samples)}); choose one "
                    "(the sample picker on the page, or --sample ID on the command line)."
                )
            return self.variants
        if sample not in self.samples:
            raise PanelInputError(f"Sample {sample!r} is not in the file. Samples found: {_preview(self.samples)}.")
        return tuple(v for v in self.variants if v.sample == sample)


def _preview(items: Sequence[str], n: int = 5) -> str:
    shown = ", ".join(items[:n])
    return shown + (f", ... ({len(items)} in all)" if len(items) > n else "")


_HGVSC_CODING_START = re.compile(r"^c\.(\d+)")


def splice_site_protein(hgvsc: str) -> str:
    """The protein position of a splice-site call as vcf2maf writes it (``X1010_splice`` for ``c.3028+1G>A``: codon
    ``round((c + c mod 3) / 3)`` of the coding position before the intron offset), or ``""`` when the HGVSc has no
    coding position (``c.-5-1G>A``, ``c.*10+1G>A``, empty). Evidence for splice-site alterations at given codons
    (MET exon 14 skipping) needs it; VEP and SnpEff leave the protein change of a splice variant empty."""
    value = hgvsc.strip().rsplit(":", 1)[-1]
    match = _HGVSC_CODING_START.match(value)
    if not match:
        return ""
    position = max(int(match.group(1)), 1)
    return f"X{round((position + position % 3) / 3)}_splice"


def protein_from_amino_acids(amino_acids: str, protein_position: str, consequence: str = "") -> str:
    """A one-letter protein change from VEP's ``Amino_acids`` and ``Protein_position`` fields, for CSQ written
    without ``--hgvs`` (no ``HGVSp``).

    ``V/E`` at 600 -> ``V600E``; ``V`` at 600 -> ``V600=``; ``ELREA/-`` at 746-750 -> ``E746_A750del``;
    ``ELREA/D`` at 746-750 -> ``E746_A750delinsD``; ``-/ASV`` at 769-770 -> ``X769_X770insASV`` (VEP does not give
    the flanking residues; ``X`` stands for them, as in vcf2maf's ``X_splice``); a frameshift -> ``E746fs``.
    ``""`` when the fields are empty or not of this form.
    """
    aa = amino_acids.strip().split("/")
    span = protein_position.strip().split("/")[0].split("-")
    if not amino_acids.strip() or not all(p.isascii() and p.isdigit() for p in span):
        return ""
    start, end = int(span[0]), int(span[-1])
    ref = aa[0].replace("-", "")
    alt = aa[1].replace("-", "") if len(aa) == 2 else None
    if "frameshift" in consequence:
        return f"{ref[:1] or 'X'}{start}fs"
    if alt is None:
        return f"{ref}{start}=" if len(ref) == 1 else ""
    if len(ref) == 1 and len(alt) == 1:
        return f"{ref}{start}{alt}"
    first, last = (f"{ref[0]}{start}", f"{ref[-1]}{end}") if ref else (f"X{start}", f"X{end}")
    where = first if start == end else f"{first}_{last}"
    if not ref:
        return f"{first}_{last}ins{alt}"
    if not alt:
        return f"{where}del"
    return f"{where}delins{alt}"


def read_panel(data: bytes, name: str = "") -> PanelFile:
    """Parse a panel file from its bytes (gzip-compressed files are accepted).

    Args:
        data: the file's bytes.
        name: the uploaded name, used only to word messages (the ``name`` every reader takes).

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
        raise _not_a_panel(filename)
    text = untrusted.decode_text(data)
    if text.lstrip().startswith("##fileformat=VCF"):
        return _say_when_empty(_merge_duplicate_calls(_read_vcf(data, filename)))
    head = text.splitlines()[:50]
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
    lines = text.splitlines()
    header_index = next((i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")), None)
    if header_index is None:
        raise _not_a_panel(filename)
    header_line = lines[header_index]
    if "Hugo_Symbol" in header_line.split("\t"):
        return _say_when_empty(_merge_duplicate_calls(_read_maf(lines, header_index, filename)))
    return _say_when_empty(_merge_duplicate_calls(_read_table(lines, header_index, filename)))


NO_CALLS_NOTE = (
    "The file holds no calls: {why}. TMB 0 here counts nothing, and no survival estimate is given for a file "
    "without calls (a tumour with no somatic call in the panel is rare; check the export)"
)
"""The note of a panel file with no calls (``{why}``: a header only, or every row left out)."""


def _say_when_empty(panel: PanelFile) -> PanelFile:
    """``panel`` with :data:`NO_CALLS_NOTE` added when it holds no call."""
    if panel.variants:
        return panel
    why = (
        "every row was left out (see the notes above)"
        if panel.notes and any("left out" in n for n in panel.notes)
        else "a header and no call rows"
    )
    return dataclasses.replace(panel, notes=(*panel.notes, NO_CALLS_NOTE.format(why=why)))


def _merge_duplicate_calls(panel: PanelFile) -> PanelFile:
    """``panel`` with each call kept once, with a note: rows of the same call (same sample, chromosome, position,
    reference and alternate allele; same sample, gene and protein change where the file gives no position), e.g.
    written by two callers or exported twice with different read counts, would count twice in TMB. Of the rows of
    one call the one with the most tumour reads is kept (the first on ties or without read counts), in the place of
    the first row. Calls with neither a position nor a protein change are left as they are."""
    kept: list[Variant] = []
    where: dict[tuple[str | int, ...], int] = {}
    merged = 0
    by_depth = False
    for variant in panel.variants:
        key = variant.identity
        if key is None:
            kept.append(variant)
            continue
        index = where.get(key)
        if index is None:
            where[key] = len(kept)
            kept.append(variant)
            continue
        merged += 1
        current = kept[index]
        if variant.read_depth is not None and current.read_depth is not None:
            by_depth = True
            if variant.read_depth > current.read_depth:
                kept[index] = variant
    if not merged:
        return panel
    rule = (
        "the row with the most tumour reads was kept (the first row where read counts are missing); its VAF is the "
        "one shown"
        if by_depth
        else "the first row's read counts and VAF were kept"
    )
    note = (
        f"{merged} duplicate row(s) of calls already in the file (same sample, chromosome, position and alleles, or "
        f"the same gene and protein change where no position is given) were merged, so each call counts once in "
        f"TMB: {rule}"
    )
    return dataclasses.replace(panel, variants=tuple(kept), notes=(*panel.notes, note))


def _not_a_panel(filename: str) -> PanelInputError:
    return PanelInputError(
        f"{filename or 'The file'} is not a MAF, VCF or CSV/TSV gene panel. Accepted: a MAF (tab-separated, "
        "Hugo_Symbol and Variant_Classification columns), a VCF 4.x annotated by VEP or SnpEff, or a CSV/TSV "
        "with columns gene, protein_change (optional consequence, vaf)."
    )


def _split(line: str, delimiter: str, filename: str, number: int) -> list[str]:
    if len(line) > MAX_LINE_CHARS:
        raise PanelInputError(
            f"{filename or 'The file'}, line {number}: {len(line):,} characters, more than the {MAX_LINE_CHARS:,} "
            "a panel line may hold. The file is damaged or not a panel table."
        )
    if delimiter == "\t":
        # MAF/TSV: quotes are literal characters, so a tab-separated row is its tabs (csv's QUOTE_NONE reading,
        # without building a reader per line; the lines come from splitlines and hold no line break)
        return line.split("\t")
    try:
        return next(csv.reader([line], delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration) as exc:
        raise PanelInputError(
            f"{filename or 'The file'}, line {number} cannot be read as a {'tab' if delimiter == chr(9) else 'comma'}"
            f"-separated row ({exc}). Fix or remove the line and upload again."
        ) from None


def _rows(lines: list[str], header_index: int, delimiter: str, filename: str) -> Iterator[tuple[int, list[str]]]:
    width = len(_split(lines[header_index], delimiter, filename, header_index + 1))
    count = 0
    for number, line in enumerate(lines[header_index + 1 :], start=header_index + 2):
        if not line.strip() or line.startswith("#"):
            continue
        count += 1
        if count > MAX_VARIANT_ROWS:
            raise _too_many_rows(filename)
        fields = _split(line, delimiter, filename, number)
        if len(fields) != width:
            raise PanelInputError(
                f"{filename or 'The file'}, line {number}: {len(fields)} fields where the header has {width}. "
                "The line is malformed (a missing or extra separator); fix or remove it and upload again."
            )
        yield number, fields


def _too_many_rows(filename: str) -> PanelInputError:
    return PanelInputError(
        f"{filename or 'The file'} holds more than {MAX_VARIANT_ROWS:,} variant rows, more than a tumour panel or "
        "exome has. Upload one sample's calls (e.g. filter the MAF by Tumor_Sample_Barcode) or the PASS calls only."
    )


def _no_gene_note(n: int) -> str:
    return f"{n} row(s) with an empty gene column were left out (a call needs its gene to be analysed)"


def _no_gene_error(filename: str, what: str) -> PanelInputError:
    return PanelInputError(
        f"{filename or 'The file'}: no row has a gene in its {what} column, so no call can be analysed. Fill in "
        "the gene symbol (e.g. EGFR) of each call and upload again."
    )


def _float_or_none(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value and abs(value) != float("inf") else None


class _Tally:
    """What the reader did to calls that the user should know, as counts (no identifiers)."""

    def __init__(self) -> None:
        self.unknown_terms: dict[str, int] = {}
        self.from_protein = 0
        self.unknown = 0
        self.no_canonical = 0
        self.splice_no_position = 0

    def classify(self, consequence: str, protein: str, *, ref: str = "", alt: str = "", variant_type: str = "") -> str:
        """One call's MAF class from its consequence (MAF or SO terms, or a friendly word) and protein change."""
        classification = None
        if consequence.strip():
            classification = normalise_classification(consequence)
            if classification in {"Frame_Shift_Del", "Frame_Shift_Ins"} or classification is None:
                resolved = classification_from_consequence(consequence, ref=ref, alt=alt, variant_type=variant_type)
                classification = resolved or classification
            if classification is None:
                term = consequence.strip()[:60]
                self.unknown_terms[term] = self.unknown_terms.get(term, 0) + 1
        if classification in {None, "Targeted_Region", "Unknown"}:
            implied = classification_from_protein(protein)
            if implied is not None:
                if classification is not None or consequence.strip():
                    self.from_protein += 1
                classification = implied
        if classification is None or classification == "Unknown":
            self.unknown += 1
            return "Unknown"
        return classification

    def notes(self) -> list[str]:
        out = []
        if self.unknown_terms:
            shown = ", ".join(f"{t!r} ({n})" for t, n in sorted(self.unknown_terms.items())[:5])
            out.append(
                f"{sum(self.unknown_terms.values())} call(s) had a consequence term outside the MAF and Sequence "
                f"Ontology vocabularies: {shown}"
            )
        if self.from_protein:
            out.append(
                f"{self.from_protein} call(s) had only a non-protein consequence term (e.g. protein_protein_contact) "
                "or an unknown one, and were classified from their protein change"
            )
        if self.unknown:
            out.append(
                f"{self.unknown} call(s) have neither a protein change nor a known consequence: kept as 'Unknown', "
                "not counted in TMB, not model inputs, and matched to no evidence"
            )
        if self.splice_no_position:
            out.append(
                f"{self.splice_no_position} splice-site call(s) have no HGVSc to place them in the protein (VEP run "
                "without --hgvs): evidence tied to codons, such as MET exon 14 skipping, cannot be matched to them"
            )
        if self.no_canonical:
            out.append(
                f"{self.no_canonical} call(s) are annotated on several protein-coding transcripts with different "
                "protein changes and none is flagged canonical (VEP --canonical, --mane or --pick): the most severe "
                "was used, and its protein position may not be the reference isoform's (check against the report)"
            )
        return out


def _count(fields: list[str], col: dict[str, int], name: str, filename: str, number: int) -> float | None:
    """A read-count cell as a number, None where the column is absent or the cell empty (``.``, ``NA``)."""
    index = col.get(name)
    if index is None:
        return None
    text = fields[index].strip()
    if text.isascii() and text.isdigit():  # the common case: a whole number of reads
        return float(text)
    if not text or text in _MISSING_COUNTS:
        return None
    value = _float_or_none(text)
    if value is None or value < 0:
        raise PanelInputError(
            f"{filename or 'The MAF'}, line {number}: {name} is {fields[col[name]]!r}; read counts must be whole "
            "numbers of reads, 0 or more. Fix the value or leave it empty."
        )
    return value


_MISSING_COUNTS = frozenset({".", "NA", "NaN"})


def _maf_vaf(fields: list[str], col: dict[str, int], filename: str, number: int) -> tuple[float | None, float | None]:
    """(VAF, tumour depth) of one MAF row: ``t_alt_count`` over ``t_depth`` (or ref + alt counts), else
    Oncotator/Funcotator's ``tumor_f``; either is None where the row does not give it."""
    alt = _count(fields, col, "t_alt_count", filename, number)
    ref = _count(fields, col, "t_ref_count", filename, number)
    depth = _count(fields, col, "t_depth", filename, number)
    total = depth if depth else (alt + ref if alt is not None and ref is not None else None)
    if alt is None or not total:
        fraction = _float_or_none(fields[col["tumor_f"]]) if "tumor_f" in col else None
        return (fraction if fraction is not None and 0 <= fraction <= 1 else None), total or None
    if alt > total:
        raise PanelInputError(
            f"{filename or 'The MAF'}, line {number}: t_alt_count {alt:g} is larger than the depth {total:g}; the "
            "read counts are inconsistent."
        )
    return alt / total, total


def _chromosome(text: str) -> str:
    """A chromosome name without ``chr`` (``chr7`` and ``7`` are one chromosome)."""
    value = text.strip()
    return value[3:] if value[:3].lower() == "chr" else value


def _position(text: str) -> int | None:
    """A 1-based genomic position, or None where the field is empty or not a whole number."""
    value = text.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


def _read_maf(lines: list[str], header_index: int, filename: str) -> PanelFile:
    header = _split(lines[header_index], "\t", filename, header_index + 1)
    col = {name: i for i, name in enumerate(header)}
    missing = [c for c in ("Hugo_Symbol", "Variant_Classification") if c not in col]
    if missing:
        raise PanelInputError(
            f"{filename or 'The MAF'} lacks the required column(s) {missing}. A MAF needs Hugo_Symbol and "
            f"Variant_Classification (and Tumor_Sample_Barcode for several samples). Found: {header[:8]}..."
        )
    protein_cols = [c for c in ("HGVSp_Short", "Protein_Change", "HGVSp", "Amino_Acid_Change") if c in col]
    tally = _Tally()
    samples: list[str] = []
    seen: set[str] = set()
    variants: list[Variant] = []

    # each row gets one empty field appended, where the columns the MAF lacks point (one index per column instead
    # of a lookup per cell)
    absent = len(header)
    at = {name: col.get(name, absent) for name in _MAF_OPTIONAL}
    i_gene, i_class = col["Hugo_Symbol"], col["Variant_Classification"]
    no_gene = filtered = germline = 0
    builds: dict[str, int] = {}
    build_of: dict[str, str | None] = {}  # NCBI_Build value -> build (one regex search per distinct value)
    for number, fields in _rows(lines, header_index, "\t", filename):
        fields.append("")
        gene = normalise_gene(fields[i_gene])
        if not gene:
            no_gene += 1
            continue
        if fields[at["FILTER"]].strip() not in {"", ".", "PASS"}:
            filtered += 1
            continue
        if fields[at["Mutation_Status"]].strip().lower() in _GERMLINE_STATUSES:
            germline += 1
            continue
        build_text = fields[at["NCBI_Build"]]
        if build_text not in build_of:
            build_of[build_text] = _build_from_text(build_text)
        build = build_of[build_text]
        if build:
            builds[build] = builds.get(build, 0) + 1
        sample = fields[at["Tumor_Sample_Barcode"]].strip()
        if sample not in seen:
            seen.add(sample)
            samples.append(sample)
        # the first protein column filled on this row: cBioPortal MAFs leave HGVSp_Short empty on some rows and
        # fill Protein_Change or Amino_Acid_Change instead
        protein = next((p for c in protein_cols if (p := normalise_protein_change(fields[col[c]]))), "")
        ref, alt = fields[at["Reference_Allele"]].strip(), fields[at["Tumor_Seq_Allele2"]].strip()
        classification = tally.classify(
            fields[i_class], protein, ref=ref, alt=alt, variant_type=fields[at["Variant_Type"]]
        )
        if classification == "Splice_Site" and not protein:
            protein = splice_site_protein(fields[at["HGVSc"]])
        vaf, depth = _maf_vaf(fields, col, filename, number)
        variants.append(
            Variant(
                gene=gene,
                protein_change=protein,
                classification=classification,
                vaf=vaf,
                sample=sample,
                chromosome=_chromosome(fields[at["Chromosome"]]),
                position=_position(fields[at["Start_Position"]]),
                ref=ref,
                alt=alt,
                read_depth=depth,
            )
        )
    if no_gene and not variants:
        raise _no_gene_error(filename, "Hugo_Symbol")
    notes = [_no_gene_note(no_gene)] if no_gene else []
    if "Tumor_Sample_Barcode" not in col and variants:
        notes.append(
            "The MAF has no Tumor_Sample_Barcode column: every row is read as one tumour's call (TMB counts them "
            "all). If the file holds several tumours, add the column"
        )
    if filtered:
        notes.append(
            f"{filtered} row(s) whose FILTER column is not PASS (e.g. vcf2maf's common_variant, a likely germline "
            "polymorphism) were left out"
        )
    if germline:
        notes.append(f"{germline} row(s) with Mutation_Status Germline or LOH (germline variants) were left out")
    build = next(iter(builds)) if len(builds) == 1 else None
    if len(builds) > 1:
        notes.append(f"The NCBI_Build column names several genome builds ({', '.join(sorted(builds))})")
    elif build:
        notes.append(f"Genome build {build} (from the NCBI_Build column)")
    else:
        notes.append("Genome build not stated in the MAF (no NCBI_Build value)")
    notes.extend(tally.notes())
    return PanelFile("MAF", tuple(samples) or ("",), tuple(variants), tuple(notes), genome_build=build)


_MAF_OPTIONAL = (
    "FILTER",
    "Mutation_Status",
    "NCBI_Build",
    "Tumor_Sample_Barcode",
    "Reference_Allele",
    "Tumor_Seq_Allele2",
    "Variant_Type",
    "HGVSc",
    "Chromosome",
    "Start_Position",
)
"""MAF columns the reader uses where present."""

_GERMLINE_STATUSES = frozenset({"germline", "loh"})
"""MAF ``Mutation_Status`` values of germline variants (TCGA: LOH is a germline heterozygous variant whose other
allele the tumour lost); Somatic, Unknown and empty rows are kept."""


_TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "gene": ("gene", "hugo_symbol", "symbol", "gene_symbol"),
    "protein": (
        "protein_change",
        "protein",
        "hgvsp_short",
        "hgvsp",
        "hgvs_p",
        "variant",
        "aa_change",
        "amino_acid_change",
        "mutation",
    ),
    "consequence": ("consequence", "variant_classification", "classification", "effect"),
    "alteration": (
        "alteration_type",
        "alteration",
        "alteration_class",
        "event_type",
        "type",
        "variant_type",
        "cna",
        "cnv",
        "sv_type",
    ),
    "vaf": (
        "vaf",
        "af",
        "allele_frequency",
        "variant_allele_frequency",
        "allele_fraction",
        "variant_allele_fraction",
        "tumor_f",
    ),
    "sample": ("sample", "sample_id", "tumor_sample_barcode"),
    "chromosome": ("chromosome", "chrom", "chr"),
    "position": ("position", "pos", "start_position", "start"),
    "ref": ("ref", "reference", "reference_allele"),
    "alt": ("alt_allele", "alternate", "alternate_allele", "tumor_seq_allele2", "alt"),
}
#: Alteration-type words -> class. Point mutations and indels (``mutation``, ``snv``, ``indel``, ...) -> None: the
#: protein change or consequence decides.
_ALTERATION_TYPES: dict[str, str | None] = {
    "amplification": "Amplification",
    "amp": "Amplification",
    "gain": "Amplification",
    "copy number gain": "Amplification",
    "deletion": "Deletion",
    "homdel": "Deletion",
    "homozygous deletion": "Deletion",
    "deep deletion": "Deletion",
    "loss": "Deletion",
    "copy number loss": "Deletion",
    "fusion": "Fusion",
    "rearrangement": "Fusion",
    "translocation": "Fusion",
    "structural variant": "Fusion",
    "sv": "Fusion",
    "mutation": None,
    "snv": None,
    "snp": None,
    "mnv": None,
    "dnp": None,
    "indel": None,
    "ins": None,
    "del": None,
    "short variant": None,
    "point mutation": None,
}
_PROTEIN_WORDS: dict[str, str] = {
    "amplification": "Amplification",
    "amp": "Amplification",
    "deletion": "Deletion",
    "homdel": "Deletion",
    "loss": "Deletion",
    "fusion": "Fusion",
}


def _protein_word(protein: str) -> str | None:
    """``amplification``/``fusion``/``EML4-ALK`` written in the protein column: the alteration type it names."""
    p = protein.strip().lower()
    if p in _PROTEIN_WORDS:
        return _PROTEIN_WORDS[p]
    if "fusion" in p or re.fullmatch(r"[a-z0-9]+-[a-z0-9]+", p):
        return "Fusion"
    return None


_MISSING_VAF = frozenset({"", ".", "NA", "N/A", "na", "n/a", "NaN", "nan", "-"})
"""How tables write a VAF that was not measured (VCF's ``.``, R's ``NA``, spreadsheets' ``-``): read as unknown."""


def _vaf_column_is_percent(values: Sequence[str]) -> bool:
    """True when a table's VAF column is on the 0-100 scale: some value above 1 (``35``) or written with ``%``.
    Decided once for the column, so that ``1`` in a column of percentages is 1%, not 100%, and ``0.5`` is 0.5%."""
    numbers = [_float_or_none(v.strip().rstrip("%")) for v in values if v.strip() not in _MISSING_VAF]
    return any(v.strip().endswith("%") for v in values) or any(n is not None and n > 1 for n in numbers)


def _cell(fields: list[str], index: int | None) -> str:
    """The stripped value of an optional column (``""`` where the table has no such column)."""
    return fields[index].strip() if index is not None else ""


def _read_table(lines: list[str], header_index: int, filename: str) -> PanelFile:
    header_line = lines[header_index]
    delimiter = "\t" if header_line.count("\t") >= header_line.count(",") and "\t" in header_line else ","
    header = [h.strip() for h in _split(header_line, delimiter, filename, header_index + 1)]
    # "Protein Change", "VAF (%)", "Allele Frequency" -> protein_change, vaf, allele_frequency
    lower: dict[str, int] = {}
    for i, h in enumerate(header):
        lower.setdefault(re.sub(r"[^a-z0-9]+", "_", h.lower()).strip("_"), i)
    col = {key: next((lower[n] for n in names if n in lower), None) for key, names in _TABLE_COLUMNS.items()}
    if col["gene"] is None or (len(header) < 2 and delimiter == ","):
        if len(header) < 2:
            raise _not_a_panel(filename)
        raise PanelInputError(
            f"{filename or 'The table'} has no gene column. Found columns: {header[:10]}. Expected a CSV/TSV with "
            "columns gene, protein_change (e.g. EGFR,L858R) and optionally consequence, alteration_type and vaf."
        )
    if col["protein"] is None and col["alteration"] is None:
        raise PanelInputError(
            f"{filename or 'The table'} has no protein change column. Found columns: {header[:10]}. Expected "
            "gene, protein_change (e.g. EGFR,L858R), optional consequence, alteration_type and vaf."
        )
    tally = _Tally()
    samples: list[str] = []
    seen_samples: set[str] = set()
    variants: list[Variant] = []
    no_gene = 0
    rows = list(_rows(lines, header_index, delimiter, filename))
    vaf_percent = col["vaf"] is not None and (
        "%" in header[col["vaf"]] or _vaf_column_is_percent([fields[col["vaf"]] for _, fields in rows])
    )
    for number, fields in rows:
        gene = normalise_gene(fields[col["gene"]])
        if not gene:
            no_gene += 1
            continue
        raw_protein = fields[col["protein"]] if col["protein"] is not None else ""
        classification: str | None = None
        if col["alteration"] is not None and fields[col["alteration"]].strip():
            word = " ".join(fields[col["alteration"]].strip().lower().replace("_", " ").split())
            if word not in _ALTERATION_TYPES:
                raise PanelInputError(
                    f"{filename or 'The table'}, line {number}: unknown alteration type "
                    f"{fields[col['alteration']].strip()!r}. Accepted: amplification, deletion, fusion (or "
                    "mutation/SNV/indel for point mutations, described by the protein change)."
                )
            classification = _ALTERATION_TYPES[word]
        if classification is None:
            classification = _protein_word(raw_protein)
        protein = "" if classification in ALTERATION_CLASSES and _protein_word(raw_protein) else raw_protein
        protein = normalise_protein_change(protein) if classification not in {"Fusion"} else raw_protein.strip()
        if classification is None:
            consequence = fields[col["consequence"]] if col["consequence"] is not None else ""
            classification = tally.classify(consequence, protein)
        if classification == "Splice_Site" and protein.startswith("c."):
            protein = splice_site_protein(protein)
        vaf = None
        if col["vaf"] is not None and fields[col["vaf"]].strip() not in _MISSING_VAF:
            text = fields[col["vaf"]].strip()
            vaf = _float_or_none(text.rstrip("%"))
            if vaf is None or vaf < 0 or vaf > 100:
                raise PanelInputError(
                    f"{filename or 'The table'}, line {number}: VAF {text!r} is not a fraction (0-1) or a "
                    "percentage (0-100)."
                )
            vaf = vaf / 100 if (vaf_percent or text.endswith("%")) else vaf
        sample = fields[col["sample"]].strip() if col["sample"] is not None else ""
        if sample not in seen_samples:
            seen_samples.add(sample)
            samples.append(sample)
        variants.append(
            Variant(
                gene,
                protein,
                classification,
                vaf,
                sample,
                chromosome=_chromosome(_cell(fields, col["chromosome"])),
                position=_position(_cell(fields, col["position"])),
                ref=_cell(fields, col["ref"]),
                alt=_cell(fields, col["alt"]),
            )
        )
    if no_gene and not variants:
        raise _no_gene_error(filename, header[col["gene"]])
    notes = ([_no_gene_note(no_gene)] if no_gene else []) + tally.notes()
    if vaf_percent and col["vaf"] is not None:
        notes.append(
            f"The {header[col['vaf']]} column is in percent (its name or values above 1), so all its values were "
            "read as percentages (1 is 1%, not 100%)"
        )
    return PanelFile("CSV", tuple(samples) or ("",), tuple(variants), tuple(notes))


# ---------------------------------------------------------------- VCF


_GT_RE = re.compile(r"^(?:\.|\d{1,9})(?:[/|](?:\.|\d{1,9}))*$")
"""A VCF 4.x genotype: allele indices (or ``.``) joined by ``/`` or ``|`` (``0/1``, ``1|0``, ``./.``, ``1``)."""


def _check_genotype(value: str, n_alt: int) -> str | None:
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
    for allele in re.split(r"[/|]", value):
        if allele != "." and int(allele) > n_alt:
            return f"genotype {value[:30]!r} names allele {allele} but the record has {n_alt} ALT allele(s)"
    return None


def _check_vcf_lines(text: str, filename: str, n_samples: int) -> None:
    """Validate the VCF body as text before htslib parses it: the fixed columns, the number of records
    (:data:`MAX_VARIANT_ROWS`) and every sample's ``GT`` (see :func:`_check_genotype`).

    Args:
        text: the whole VCF.
        filename: the uploaded name, for messages.
        n_samples: the number of sample columns in the ``#CHROM`` line.

    Raises:
        PanelInputError: naming the line and what was wrong.
    """
    what = filename or "The VCF"
    records = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line.startswith("#"):
            continue
        records += 1
        if records > MAX_VARIANT_ROWS:
            raise _too_many_rows(filename)
        fields = line.split("\t")
        if len(fields) < 8 or not fields[1].isdigit() or not fields[3] or not fields[4]:
            raise PanelInputError(
                f"{what}, line {number}: malformed record (expected tab-separated CHROM, POS "
                f"(a number), ID, REF, ALT, QUAL, FILTER, INFO; got {len(fields)} fields). Fix or remove the line."
            )
        if "\x00" in line:
            raise PanelInputError(
                f"{what}, line {number}: holds NUL bytes (binary data, e.g. a damaged copy). Export the VCF again."
            )
        # a record may stop after INFO (no FORMAT, no samples: genotypes unknown); once FORMAT is there, every sample
        # the #CHROM line names must have its column, or htslib reads genotypes that are not there (a crash)
        if len(fields) >= 9 and len(fields) != 9 + n_samples:
            raise PanelInputError(
                f"{what}, line {number}: {len(fields) - 9} sample columns where the #CHROM header names "
                f"{n_samples}. The line is malformed; fix or remove it."
            )
        if len(fields) < 10:
            continue
        if not all(fields[9:]):
            raise PanelInputError(
                f"{what}, line {number}: a sample column is empty (a missing value is written '.'). The line is "
                "malformed; fix or remove it."
            )
        keys = fields[8].split(":")
        if "GT" not in keys:
            continue
        if keys[0] != "GT":
            raise PanelInputError(
                f"{what}, line {number}: GT must be the first FORMAT key (VCF 4.x); got {fields[8][:60]!r}."
            )
        n_alt = 0 if fields[4] == "." else fields[4].count(",") + 1
        for column in fields[9:]:
            problem = _check_genotype(column.split(":", 1)[0], n_alt)
            if problem:
                raise PanelInputError(f"{what}, line {number}: {problem}. Fix or remove the record and upload again.")


class _InMemoryPath:
    """A path to the bytes that htslib can open, without writing the upload to disk (memfd, or a pipe)."""

    def __init__(self, data: bytes) -> None:
        self._thread: threading.Thread | None = None
        if hasattr(os, "memfd_create"):
            self.fd = os.memfd_create("panel.vcf")
            os.write(self.fd, data)
            os.lseek(self.fd, 0, os.SEEK_SET)
        else:  # pragma: no cover - non-Linux
            read_fd, write_fd = os.pipe()
            self.fd = read_fd

            def feed() -> None:
                with os.fdopen(write_fd, "wb") as handle:
                    handle.write(data)

            self._thread = threading.Thread(target=feed, daemon=True)
            self._thread.start()
        self.path = f"/dev/fd/{self.fd}"

    def close(self) -> None:
        os.close(self.fd)
        if self._thread is not None:
            self._thread.join(timeout=1)


def _annotation_fields(header_text: str, key: str) -> list[str] | None:
    match = re.search(rf'##INFO=<ID={key},[^\n]*?Description="([^"]*)"', header_text)
    if not match:
        return None
    description = match.group(1)
    if key == "CSQ":
        part = description.split("Format:", 1)[-1]
    else:
        part = description.split(":", 1)[-1] if ":" in description else description
    return [f.strip().strip("'").strip() for f in part.split("|")]


def _vep_allele(ref: str, alts: Sequence[str], alt: str) -> str:
    """The allele as VEP writes it in ``CSQ``: when every allele of the record (REF and each ALT) starts with the
    same base, VEP drops that base (``CA>C`` is ``-``, ``C>CT`` is ``T``); otherwise the ALT as it is."""
    if all(a[:1] == ref[:1] for a in alts):
        return alt[1:] or "-"
    return alt


def _pick_entry(
    entries: list[dict[str, str]],
    alt: str,
    *,
    vep_allele: str = "",
    allele_number: int = 1,
    n_alts: int = 1,
    tally: _Tally | None = None,
) -> dict[str, str] | None:
    """The annotation entry that describes the call of one ALT allele.

    The entries of that allele (VEP ``ALLELE_NUM`` where present, else the ``Allele`` field, which VEP writes without
    the shared first base and SnpEff as the ALT), then those on the reference transcript (VEP ``MANE_SELECT``; else
    ``CANONICAL=YES``; else VEP's ``PICK``; else protein-coding transcripts, counted in ``tally`` when their protein
    changes differ; else all), then the most severe *mapped* consequence (vcf2maf
    ranks; terms vcf2maf does not rank, such as ``protein_protein_contact``, come last), first in file order on ties.
    A single-ALT record whose entries name no matching allele uses all of them; a multi-allelic one gets None (an
    entry of another ALT must not describe this one).
    """
    if not entries:
        return None
    if any(e.get("ALLELE_NUM", "").strip() for e in entries):
        pool = [e for e in entries if e.get("ALLELE_NUM", "").strip() == str(allele_number)]
    else:
        names = {alt, vep_allele or alt}
        pool = [e for e in entries if e.get("Allele", alt) in names]
    if not pool:
        if n_alts > 1:
            return None
        pool = entries
    flagged = [e for e in pool if e.get("MANE_SELECT", "").strip()]
    for key, value in (("CANONICAL", "YES"), ("PICK", "1"), ("BIOTYPE", "protein_coding")):
        if flagged:
            break
        chosen = [e for e in pool if e.get(key) == value]
        if chosen:
            pool = chosen
            if key == "BIOTYPE" and tally is not None:
                changes = {e.get("HGVSp", "").split(":")[-1] for e in chosen if e.get("HGVSp", "").strip()}
                tally.no_canonical += len(changes) > 1
            break
    pool = flagged or pool
    ranked = sorted(enumerate(pool), key=lambda item: (consequence_rank(item[1].get("Consequence", "")), item[0]))
    return ranked[0][1]


_TUMOUR_NAME = re.compile(r"tumou?r|somatic|^t$|[-_]t\d*$|^TCGA-\w\w-\w{4}-0\d", re.IGNORECASE)
_NORMAL_NAME = re.compile(r"normal|germline|blood|^n$|[-_]n\d*$|^TCGA-\w\w-\w{4}-1\d", re.IGNORECASE)
"""Sample names that mark a tumour or a normal column (TCGA barcodes: sample type 01-09 tumour, 10-19 normal)."""


@dataclass(frozen=True)
class _SampleRoles:
    """Which VCF sample columns hold the tumour and which the matched normal.

    Attributes:
        tumours: indices of the tumour columns (several only when the file does not say which is the tumour).
        normal: index of the matched normal column, or None.
        how: how the tumour column was told, for the note (never a sample name: names may identify a patient).
    """

    tumours: tuple[int, ...]
    normal: int | None
    how: str


def _sample_roles(samples: list[str], header_text: str, body: str) -> _SampleRoles:
    """Tell the tumour and normal columns of a VCF: the ``##tumor_sample=`` / ``##normal_sample=`` header lines
    (GATK Mutect2), else the column names (``TUMOR``/``NORMAL`` of Strelka2 and VarScan, ``..._Somatic``/
    ``..._Germline`` of SnpEff ``-cancer``), else, for two unlabelled columns, the genotypes (only the tumour
    carries somatic ALT alleles while the normal is 0/0). Otherwise every column is a candidate tumour and the user
    chooses.
    """
    named_tumours = [
        samples.index(n) for n in re.findall(r"^##tumou?r_sample=(\S+)", header_text, re.M) if n in samples
    ]
    named_normals = [samples.index(n) for n in re.findall(r"^##normal_sample=(\S+)", header_text, re.M) if n in samples]
    if named_tumours:
        normal = named_normals[0] if len(named_normals) == 1 else None
        if normal is None and len(samples) == 2 and len(named_tumours) == 1:
            normal = 1 - named_tumours[0]
        how = "named by the ##tumor_sample header line" if len(named_tumours) == 1 else ""
        return _SampleRoles(tuple(dict.fromkeys(named_tumours)), normal, how)
    if len(samples) == 1:
        only_normal = bool(_NORMAL_NAME.search(samples[0])) and not _TUMOUR_NAME.search(samples[0])
        return _SampleRoles((0,), None, "only sample column is named like a normal sample" if only_normal else "")
    tumour_like = [i for i, s in enumerate(samples) if _TUMOUR_NAME.search(s)]
    normal_like = [i for i, s in enumerate(samples) if _NORMAL_NAME.search(s) and i not in tumour_like]
    if len(tumour_like) == 1 or (not tumour_like and len(normal_like) == len(samples) - 1):
        tumour = tumour_like[0] if tumour_like else next(i for i in range(len(samples)) if i not in normal_like)
        normal = normal_like[0] if len(normal_like) == 1 else None
        return _SampleRoles((tumour,), normal, "told by the tumour/normal labels in the sample names")
    candidates = tumour_like if len(tumour_like) > 1 else [i for i in range(len(samples)) if i not in normal_like]
    candidates = candidates or list(range(len(samples)))  # every name normal-like: nothing told apart
    if len(samples) == 2 and len(candidates) == 2:
        somatic = _somatic_genotype_counts(body, 2)
        if min(somatic) == 0 and max(somatic) > 0:
            tumour = somatic.index(max(somatic))
            return _SampleRoles(
                (tumour,),
                1 - tumour,
                f"told from the genotypes: it alone carries the ALT allele in {max(somatic)} PASS record(s) where "
                "the other column is 0/0",
            )
    return _SampleRoles(tuple(candidates), None, "")


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
        carried = [_alleles_in(column.split(":", 1)[0]) for column in fields[9 : 9 + n_samples]]
        carriers = [i for i, alleles in enumerate(carried) if alleles and any(a > 0 for a in alleles)]
        if len(carriers) == 1 and all(alleles == {0} for i, alleles in enumerate(carried) if i != carriers[0]):
            counts[carriers[0]] += 1
    return counts


def _alleles_in(genotype: str | None) -> set[int] | None:
    """The ALT allele indices a ``GT`` value carries (``0/1`` -> {1}), or None when there is no called genotype."""
    if genotype is None or not genotype.strip(".|/ "):
        return None
    return {int(a) for a in re.split(r"[/|]", genotype) if a.isdigit()}


def _numbers(value: str | None) -> list[float] | None:
    """A comma-separated FORMAT value as numbers, or None when absent, missing (``.``) or not all non-negative."""
    if value is None:
        return None
    numbers = [_float_or_none(v) for v in value.split(",")]
    if not numbers or any(n is None or n < 0 for n in numbers):
        return None
    return [n for n in numbers if n is not None]


def _allele_vaf(values: dict[str, str], allele: int, n_alts: int, ref: str, alt: str) -> float | None:
    """One sample's variant allele fraction of ALT allele ``allele`` (1-based) from the FORMAT fields callers write.

    In order: ``AF`` (GATK Mutect2, Number=A; VarDict, DRAGEN), ``FA`` (MuTect 1) or ``VF`` (Illumina Pisces);
    VarScan's ``FREQ`` (``"12.5%"``); Strelka2's tier-1 counts (SNVs: ``{ALT}U`` over ``AU+CU+GU+TU``; indels:
    ``TIR`` over ``TAR+TIR``); Platypus' ``NV`` over ``NR``; FreeBayes' ``AO`` over ``RO+AO``; ``AD`` (Number=R:
    this allele's reads over all reads). None when none of these is given.
    """
    for key in ("AF", "FA", "VF"):
        fractions = _numbers(values.get(key))
        if fractions is not None and len(fractions) == n_alts and fractions[allele - 1] <= 1:
            return fractions[allele - 1]
    freq = values.get("FREQ", "").strip()
    if freq and n_alts == 1:
        value = _float_or_none(freq.rstrip("%"))
        if value is not None and 0 <= value <= 100:
            return value / 100 if freq.endswith("%") or value > 1 else value
    base = alt.upper()
    if len(ref) == 1 and base in {"A", "C", "G", "T"} and all(f"{b}U" in values for b in "ACGT"):
        tier1 = {b: _numbers(values[f"{b}U"]) for b in "ACGT"}
        counts = {b: v[0] for b, v in tier1.items() if v}
        if len(counts) == 4 and sum(counts.values()) > 0:
            return counts[base] / sum(counts.values())
    tir, tar = _numbers(values.get("TIR")), _numbers(values.get("TAR"))
    if tir and tar and tir[0] + tar[0] > 0:
        return tir[0] / (tir[0] + tar[0])
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


def _read_depth(values: dict[str, str]) -> float | None:
    """One sample's reads over the site: the sum of ``AD`` (all alleles), else ``DP``; None when neither is given."""
    depths = _numbers(values.get("AD"))
    if depths:
        return sum(depths)
    depth = _numbers(values.get("DP"))
    return depth[0] if depth else None


_BUILD_NAMES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("GRCh38", re.compile(r"(?<![a-z0-9])(grch38|hg38|b38|hs38\w*|homo_sapiens_assembly38)(?![0-9])", re.IGNORECASE)),
    (
        "GRCh37",
        re.compile(r"(?<![a-z0-9])(grch37|hg19|b37|hs37\w*|human_g1k_v37\w*|homo_sapiens_assembly19)(?![0-9])", re.I),
    ),
    ("NCBI36", re.compile(r"(?<![a-z0-9])(ncbi36|hg18|b36)(?![0-9])", re.IGNORECASE)),
)
"""Genome build names and the spellings headers, MAF ``NCBI_Build`` values and reference file names use."""

_CHR1_LENGTH_BUILD = {249250621: "GRCh37", 248956422: "GRCh38", 247249719: "NCBI36"}
"""Length of chromosome 1 in each build, as ``##contig`` lines give it."""


def _build_from_text(text: str) -> str | None:
    """The genome build a header line, file name or ``NCBI_Build`` value names, or None."""
    value = text.strip()
    if value in {"37", "38", "36"}:
        return {"37": "GRCh37", "38": "GRCh38", "36": "NCBI36"}[value]
    return next((build for build, pattern in _BUILD_NAMES if pattern.search(value)), None)


def _vcf_genome_build(header_text: str) -> tuple[str | None, str]:
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
            if line.startswith(prefix) and (build := _build_from_text(line)):
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


def _refuse_germline_vcf(header_text: str, filename: str) -> None:
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


def _germline_status_key(header_text: str) -> tuple[str, str] | None:
    """(``INFO`` or ``FORMAT``, ``SS``) when the header defines VarScan/MuTect's somatic-status field
    (1 = germline, 2 = somatic, 3 = LOH), else None."""
    for kind in ("INFO", "FORMAT"):
        match = re.search(rf'^##{kind}=<ID=SS,[^\n]*Description="([^"]*)"', header_text, re.MULTILINE)
        if match and "germline" in match.group(1).lower():
            return kind, "SS"
    return None


def _read_vcf(data: bytes, filename: str) -> PanelFile:
    from cyvcf2 import VCF

    text = data.decode("utf-8", errors="replace")
    header_end = text.find("\n#CHROM")
    if header_end < 0:
        raise PanelInputError(f"{filename or 'The VCF'} has no #CHROM header line; it is not a valid VCF 4.x file.")
    header_text = text[: header_end + 1]
    chrom_line = text[header_end + 1 :].split("\n", 1)[0].rstrip("\r").split("\t")
    if len(chrom_line) <= 9:
        raise PanelInputError(
            f"{filename or 'The VCF'} has no samples (no FORMAT and sample columns after INFO). A tumour panel VCF "
            "needs the tumour sample column (single or tumour/normal); export the VCF with its sample genotypes."
        )
    csq_fields = _annotation_fields(header_text, "CSQ")
    ann_fields = _annotation_fields(header_text, "ANN")
    if csq_fields is None and ann_fields is None:
        for key, tool in (("EFF", "SnpEff's old EFF field (SnpEff before 4.1)"), ("FUNCOTATION", "GATK Funcotator")):
            if re.search(rf"^##INFO=<ID={key},", header_text, re.MULTILINE):
                raise PanelInputError(
                    f"{filename or 'The VCF'} is annotated by {tool}, which this reader does not read. Annotate it "
                    "with Ensembl VEP (--vcf) or SnpEff 4.1+ (ANN field), or upload the MAF Funcotator/vcf2maf writes."
                )
        raise PanelInputError(
            f"{filename or 'The VCF'} is not annotated: it has no VEP CSQ or SnpEff ANN field, so genes and protein "
            "changes are unknown. Annotate it with Ensembl VEP (--vcf) or SnpEff, or upload the MAF made by vcf2maf."
        )
    _refuse_germline_vcf(header_text, filename)
    _check_vcf_lines(text, filename, len(chrom_line) - 9)
    status_key = _germline_status_key(header_text)
    handle = _InMemoryPath(data)
    variants: list[Variant] = []
    tally = _Tally()
    counts = {"filtered": 0, "absent": 0, "germline": 0, "split": 0, "unannotated": 0, "structural": 0}
    try:
        vcf = VCF(handle.path, lazy=True)
        samples = list(vcf.samples)
        roles = _sample_roles(samples, header_text, text[header_end + 1 :])
        for record in vcf:
            if record.FILTER not in (None, "PASS", "."):
                counts["filtered"] += 1
                continue
            variants.extend(_record_calls(record, samples, roles, csq_fields, ann_fields, status_key, tally, counts))
        vcf.close()
    except PanelInputError:
        raise
    except UnicodeDecodeError:
        raise PanelInputError(
            f"{filename or 'The VCF'} holds bytes that are not UTF-8 text in a record (a damaged or binary file). "
            "Export the VCF again as plain text or bgzip."
        ) from None
    except Exception as exc:  # htslib raises plain Exceptions for broken files
        raise PanelInputError(f"{filename or 'The VCF'} could not be read as VCF 4.x: {exc}") from None
    finally:
        handle.close()
    notes = _vcf_notes(samples, roles, counts)
    if _unfiltered(text[header_end + 1 :]):
        notes.append(
            "No record carries a FILTER verdict ('.' throughout, no PASS): the calls look unfiltered (e.g. Mutect2 "
            "output before FilterMutectCalls), so artefacts and germline variants may be counted in TMB. Upload the "
            "filtered VCF"
        )
    build, where = _vcf_genome_build(header_text)
    if build:
        notes.append(f"Genome build {build} (from {where})")
    elif where:
        notes.append(f"Genome build unclear: {where}")
    else:
        notes.append("Genome build not stated in the VCF header (no ##reference, ##assembly or contig lengths)")
    notes.extend(tally.notes())
    source = "VCF (VEP CSQ)" if csq_fields is not None else "VCF (SnpEff ANN)"
    tumours = tuple(samples[i] for i in roles.tumours)
    return PanelFile(source, tumours, tuple(variants), tuple(notes), genome_build=build)


def _unfiltered(body: str) -> bool:
    """True when the VCF has records and every one's FILTER is ``.`` (no caller or filter step gave a verdict)."""
    filters = {line.split("\t", 7)[6] for line in body.splitlines()[1:] if line and not line.startswith("#")}
    return filters == {"."}


def _vcf_notes(samples: list[str], roles: _SampleRoles, counts: dict[str, int]) -> list[str]:
    """What the VCF reader did, in words (sample columns by position, never by name)."""
    notes = []
    if len(samples) == 1 and roles.how:
        notes.append(
            f"The VCF's {roles.how} (germline/normal/blood): its calls were read as the tumour's. If it is the "
            "matched normal, its variants are inherited, not somatic, and TMB and evidence do not apply"
        )
    if len(samples) > 1 and len(roles.tumours) == 1:
        normal = (
            f"; column {roles.normal + 10} is the matched normal" if roles.normal is not None else "; no normal column"
        )
        notes.append(
            f"Tumour/normal VCF with {len(samples)} sample columns: calls and VAFs are read from the tumour column "
            f"(VCF column {roles.tumours[0] + 10}, {roles.how}){normal}"
        )
    elif len(roles.tumours) > 1 and roles.normal is not None:
        notes.append(
            f"{len(roles.tumours)} tumour sample columns (several ##tumor_sample lines) with one matched normal "
            f"(VCF column {roles.normal + 10}): each tumour's calls are kept apart; choose the tumour sample"
        )
    elif len(roles.tumours) > 1:
        notes.append(
            f"{len(roles.tumours)} sample columns and no single tumour told by ##tumor_sample lines, TUMOR/NORMAL "
            "names or genotypes: each column's calls are kept apart; choose the tumour sample"
        )
    if counts["split"]:
        notes.append(
            f"{counts['split']} multi-allelic record(s) were split: each ALT allele is its own call with its own "
            "annotation and VAF"
        )
    if counts["unannotated"]:
        notes.append(
            f"{counts['unannotated']} ALT allele(s) of multi-allelic records have no annotation entry of their own "
            "(no CSQ/ANN entry for that allele) and were left out: their gene and effect are unknown"
        )
    if counts["structural"]:
        notes.append(
            f"{counts['structural']} structural-variant allele(s) (symbolic ALT such as <DEL>, or breakends) were "
            "left out: TMB and the point-mutation evidence read SNVs and small indels. Give copy-number and fusion "
            "calls as a table with an alteration_type column"
        )
    if counts["filtered"]:
        notes.append(f"{counts['filtered']} call(s) not marked PASS in the FILTER column were left out")
    if counts["germline"]:
        notes.append(
            f"{counts['germline']} call(s) present in the matched normal's genotype, or marked germline/LOH by the "
            "caller's somatic status (SS), were left out as germline"
        )
    if counts["absent"]:
        notes.append(
            f"{counts['absent']} ALT allele(s) not carried by the tumour's genotype (GT 0/0 or another ALT of a "
            "multi-allelic record) were left out"
        )
    return notes


_ANN_KEYS = ("Allele", "Consequence", "IMPACT", "SYMBOL", "Gene", "Feature_type", "Feature", "BIOTYPE", "Rank")


_PLACEHOLDER_ALLELES = frozenset({"*", ".", "<NON_REF>", "<*>", ""})
"""ALT alleles that are no variant of their own: GATK's spanning deletion ``*``, gVCF ``<NON_REF>``/``<*>``."""


def _is_sequence_allele(alt: str) -> bool:
    """True for an ALT written as bases (an SNV, MNV or small indel); False for placeholders (``*``,
    ``<NON_REF>``), symbolic structural variants (``<DEL>``, ``<DUP:TANDEM>``) and breakends (``N[chr2:321[``)."""
    return bool(alt) and re.fullmatch(r"[ACGTNacgtn]+", alt) is not None


def _record_calls(
    record: Any,
    samples: list[str],
    roles: _SampleRoles,
    csq_fields: list[str] | None,
    ann_fields: list[str] | None,
    status_key: tuple[str, str] | None,
    tally: _Tally,
    counts: dict[str, int],
) -> list[Variant]:
    """The somatic calls of one PASS record: one per ALT allele carried by each tumour column, leaving out alleles
    the matched normal carries or the caller marks germline (counted in ``counts``)."""
    line = str(record).rstrip("\n").split("\t")
    keys = line[8].split(":") if len(line) > 8 else []
    columns = [dict(zip(keys, column.split(":"), strict=False)) for column in line[9:]]
    columns += [{} for _ in range(len(samples) - len(columns))]  # a record may omit FORMAT and sample columns
    alts = list(record.ALT)
    if len([a for a in alts if _is_sequence_allele(a)]) > 1:
        counts["split"] += 1
    entries = _annotation_entries(record, csq_fields, ann_fields)
    info_status = str(record.INFO.get("SS") or "") if status_key and status_key[0] == "INFO" else ""
    calls = []
    for tumour in roles.tumours:
        values = columns[tumour]
        carried = _alleles_in(values.get("GT"))
        normal = _alleles_in(columns[roles.normal].get("GT")) if roles.normal is not None else None
        status = values.get("SS", "") if status_key and status_key[0] == "FORMAT" else info_status
        for allele, alt in enumerate(alts, start=1):
            if not _is_sequence_allele(alt):
                counts["structural"] += alt not in _PLACEHOLDER_ALLELES
                continue
            if carried is not None and allele not in carried:
                counts["absent"] += len(roles.tumours) == 1
                continue
            if (normal is not None and allele in normal) or status.strip() in {"1", "3"}:
                counts["germline"] += 1
                continue
            vaf = _allele_vaf(values, allele, len(alts), record.REF, alt)
            entry = _pick_entry(
                entries,
                alt,
                vep_allele=_vep_allele(record.REF, [a for a in alts if _is_sequence_allele(a)], alt),
                allele_number=allele,
                n_alts=len(alts),
                tally=tally,
            )
            if entry is None and len(alts) > 1:
                counts["unannotated"] += 1
                continue
            call = _annotated_variant(entry, record.REF, alt, vaf, samples[tumour], tally)
            calls.append(
                dataclasses.replace(
                    call,
                    chromosome=_chromosome(str(record.CHROM)),
                    position=int(record.POS),
                    ref=str(record.REF),
                    alt=alt,
                    read_depth=_read_depth(values),
                )
            )
    return calls


def _annotation_entries(
    record: Any, csq_fields: list[str] | None, ann_fields: list[str] | None
) -> list[dict[str, str]]:
    """The record's VEP ``CSQ`` or SnpEff ``ANN`` entries as field -> value."""
    if csq_fields is not None and record.INFO.get("CSQ"):
        return [dict(zip(csq_fields, item.split("|"), strict=False)) for item in str(record.INFO.get("CSQ")).split(",")]
    entries = []
    if ann_fields is not None and record.INFO.get("ANN"):
        for item in str(record.INFO.get("ANN")).split(","):
            parts = item.split("|")
            entry = dict(zip(_ANN_KEYS, parts, strict=False))
            # SnpEff's initiator_codon_variant (LOW impact) is a start codon mutated into another start codon
            # (ATG>CTG): translation still begins with Met, so it is start_retained; VEP used the same term for
            # start_lost before release 78, which is how the shared vocabulary reads it.
            entry["Consequence"] = entry.get("Consequence", "").replace(
                "initiator_codon_variant", "start_retained_variant"
            )
            entry["HGVSc"] = parts[9] if len(parts) > 9 else ""
            entry["HGVSp"] = parts[10] if len(parts) > 10 else ""
            entries.append(entry)
    return entries


def _annotated_variant(
    entry: dict[str, str] | None, ref: str, alt: str, vaf: float | None, sample: str, tally: _Tally
) -> Variant:
    if entry is None:
        tally.unknown += 1
        return Variant("Unknown", "", "Unknown", vaf, sample)
    gene = entry.get("SYMBOL", "") or entry.get("Gene", "")
    protein = normalise_protein_change(entry.get("HGVSp", ""))
    if not protein:
        protein = protein_from_amino_acids(
            entry.get("Amino_acids", ""), entry.get("Protein_position", ""), entry.get("Consequence", "")
        )
    consequence = entry.get("Consequence", "")
    if consequence_rank(consequence) == UNRANKED and consequence:
        tally.unknown_terms[consequence[:60]] = tally.unknown_terms.get(consequence[:60], 0) + 1
        consequence = ""
    classification = tally.classify(consequence, protein, ref=ref, alt=alt)
    if classification == "Splice_Site" and not protein:
        protein = splice_site_protein(entry.get("HGVSc", ""))
        tally.splice_no_position += not protein
    return Variant(normalise_gene(gene) or "Unknown", protein, classification, vaf, sample)


def panel_from_text(text: str, filename: str = "") -> PanelFile:
    """Convenience for tests and scripts: :func:`read_panel` on a string."""
    return read_panel(io.BytesIO(text.encode("utf-8")).getvalue(), filename)
