"""What every panel reader shares: the call and file model (:class:`Variant`, :class:`PanelFile`), the row limits,
the row splitter of MAF and CSV/TSV tables, the classification tally and its notes, and the two steps every file
goes through after its reader (:func:`merge_duplicate_calls`, :func:`say_when_empty`)."""

from __future__ import annotations

import csv
import dataclasses
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from medai_core.errors import PanelInputError
from medai_core.genomics.vocabulary import (
    classification_from_consequence,
    classification_from_protein,
    is_nonsynonymous,
    normalise_classification,
)

__all__ = [
    "MAX_LINE_CHARS",
    "MAX_VARIANT_ROWS",
    "NO_CALLS_NOTE",
    "PanelFile",
    "Tally",
    "Variant",
    "build_from_text",
    "data_rows",
    "float_or_none",
    "merge_duplicate_calls",
    "no_gene_error",
    "no_gene_note",
    "normalise_chromosome",
    "not_a_panel",
    "parse_position",
    "say_when_empty",
    "split_row",
    "too_many_rows",
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


NO_CALLS_NOTE = (
    "The file holds no calls: {why}. TMB 0 here counts nothing, and no survival estimate is given for a file "
    "without calls (a tumour with no somatic call in the panel is rare; check the export)"
)
"""The note of a panel file with no calls (``{why}``: a header only, or every row left out)."""


def say_when_empty(panel: PanelFile) -> PanelFile:
    """``panel`` with :data:`NO_CALLS_NOTE` added when it holds no call."""
    if panel.variants:
        return panel
    why = (
        "every row was left out (see the notes above)"
        if panel.notes and any("left out" in n for n in panel.notes)
        else "a header and no call rows"
    )
    return dataclasses.replace(panel, notes=(*panel.notes, NO_CALLS_NOTE.format(why=why)))


def merge_duplicate_calls(panel: PanelFile) -> PanelFile:
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


def not_a_panel(filename: str) -> PanelInputError:
    return PanelInputError(
        f"{filename or 'The file'} is not a MAF, VCF or CSV/TSV gene panel. Accepted: a MAF (tab-separated, "
        "Hugo_Symbol and Variant_Classification columns), a VCF 4.x annotated by VEP or SnpEff, or a CSV/TSV "
        "with columns gene, protein_change (optional consequence, vaf)."
    )


def split_row(line: str, delimiter: str, filename: str, number: int) -> list[str]:
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


def data_rows(lines: list[str], header_index: int, delimiter: str, filename: str) -> Iterator[tuple[int, list[str]]]:
    width = len(split_row(lines[header_index], delimiter, filename, header_index + 1))
    count = 0
    for number, line in enumerate(lines[header_index + 1 :], start=header_index + 2):
        if not line.strip() or line.startswith("#"):
            continue
        count += 1
        if count > MAX_VARIANT_ROWS:
            raise too_many_rows(filename)
        fields = split_row(line, delimiter, filename, number)
        if len(fields) != width:
            raise PanelInputError(
                f"{filename or 'The file'}, line {number}: {len(fields)} fields where the header has {width}. "
                "The line is malformed (a missing or extra separator); fix or remove it and upload again."
            )
        yield number, fields


def too_many_rows(filename: str) -> PanelInputError:
    return PanelInputError(
        f"{filename or 'The file'} holds more than {MAX_VARIANT_ROWS:,} variant rows, more than a tumour panel or "
        "exome has. Upload one sample's calls (e.g. filter the MAF by Tumor_Sample_Barcode) or the PASS calls only."
    )


def no_gene_note(n: int) -> str:
    return f"{n} row(s) with an empty gene column were left out (a call needs its gene to be analysed)"


def no_gene_error(filename: str, what: str) -> PanelInputError:
    return PanelInputError(
        f"{filename or 'The file'}: no row has a gene in its {what} column, so no call can be analysed. Fill in "
        "the gene symbol (e.g. EGFR) of each call and upload again."
    )


def float_or_none(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value and abs(value) != float("inf") else None


class Tally:
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

    def counted(self) -> bool:
        """True when anything was counted."""
        return bool(
            self.unknown_terms or self.from_protein or self.unknown or self.no_canonical or self.splice_no_position
        )

    def add(self, other: Tally) -> None:
        """Add the counts of ``other`` (the tally of one record, replayed for each copy of it)."""
        for term, n in other.unknown_terms.items():
            self.unknown_terms[term] = self.unknown_terms.get(term, 0) + n
        self.from_protein += other.from_protein
        self.unknown += other.unknown
        self.no_canonical += other.no_canonical
        self.splice_no_position += other.splice_no_position

    def notes(self) -> list[str]:
        """The tally in words, one note per kind of call the user should know about."""
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


def normalise_chromosome(text: str) -> str:
    """A chromosome name without ``chr`` (``chr7`` and ``7`` are one chromosome)."""
    value = text.strip()
    return value[3:] if value[:3].lower() == "chr" else value


def parse_position(text: str) -> int | None:
    """A 1-based genomic position, or None where the field is empty or not a whole number."""
    value = text.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


_BUILD_NAMES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("GRCh38", re.compile(r"(?<![a-z0-9])(grch38|hg38|b38|hs38\w*|homo_sapiens_assembly38)(?![0-9])", re.IGNORECASE)),
    (
        "GRCh37",
        re.compile(r"(?<![a-z0-9])(grch37|hg19|b37|hs37\w*|human_g1k_v37\w*|homo_sapiens_assembly19)(?![0-9])", re.I),
    ),
    ("NCBI36", re.compile(r"(?<![a-z0-9])(ncbi36|hg18|b36)(?![0-9])", re.IGNORECASE)),
)
"""Genome build names and the spellings headers, MAF ``NCBI_Build`` values and reference file names use."""


def build_from_text(text: str) -> str | None:
    """The genome build a header line, file name or ``NCBI_Build`` value names, or None."""
    value = text.strip()
    if value in {"37", "38", "36"}:
        return {"37": "GRCh37", "38": "GRCh38", "36": "NCBI36"}[value]
    return next((build for build, pattern in _BUILD_NAMES if pattern.search(value)), None)
