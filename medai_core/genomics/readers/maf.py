"""The MAF reader: Hugo_Symbol and Variant_Classification rows (TCGA/GDC, cBioPortal, vcf2maf, Funcotator and
Oncotator exports), with read counts, genome build and the filter and germline columns where present."""

from __future__ import annotations

from medai_core.errors import PanelInputError
from medai_core.genomics.panels import normalise_gene
from medai_core.genomics.readers.common import (
    PanelFile,
    Tally,
    Variant,
    build_from_text,
    data_rows,
    float_or_none,
    no_gene_error,
    no_gene_note,
    normalise_chromosome,
    parse_position,
    split_row,
)
from medai_core.genomics.vocabulary import normalise_protein_change, splice_site_protein

__all__ = ["read_maf"]


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
    value = float_or_none(text)
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
        fraction = float_or_none(fields[col["tumor_f"]]) if "tumor_f" in col else None
        return (fraction if fraction is not None and 0 <= fraction <= 1 else None), total or None
    if alt > total:
        raise PanelInputError(
            f"{filename or 'The MAF'}, line {number}: t_alt_count {alt:g} is larger than the depth {total:g}; the "
            "read counts are inconsistent."
        )
    return alt / total, total


def read_maf(lines: list[str], header_index: int, filename: str) -> PanelFile:
    """The calls of a MAF whose header line is ``lines[header_index]`` (the caller found ``Hugo_Symbol`` in it).

    Raises:
        PanelInputError: a required column missing, a malformed row or read count (named by line), or no row with a
            gene.
    """
    header = split_row(lines[header_index], "\t", filename, header_index + 1)
    col = {name: i for i, name in enumerate(header)}
    missing = [c for c in ("Hugo_Symbol", "Variant_Classification") if c not in col]
    if missing:
        raise PanelInputError(
            f"{filename or 'The MAF'} lacks the required column(s) {missing}. A MAF needs Hugo_Symbol and "
            f"Variant_Classification (and Tumor_Sample_Barcode for several samples). Found: {header[:8]}..."
        )
    scan = _MafScan(col, len(header), filename)
    for number, fields in data_rows(lines, header_index, "\t", filename):
        scan.add(number, fields)
    if scan.no_gene and not scan.variants:
        raise no_gene_error(filename, "Hugo_Symbol")
    build = next(iter(scan.builds)) if len(scan.builds) == 1 else None
    return PanelFile(
        "MAF", tuple(scan.samples) or ("",), tuple(scan.variants), tuple(scan.notes(build)), genome_build=build
    )


class _MafScan:
    """The rows of one MAF read so far: the calls kept, the samples in file order, and what was left out."""

    def __init__(self, col: dict[str, int], width: int, filename: str) -> None:
        self.col = col
        self.filename = filename
        self.protein_cols = [c for c in ("HGVSp_Short", "Protein_Change", "HGVSp", "Amino_Acid_Change") if c in col]
        # each row gets one empty field appended, where the columns the MAF lacks point (one index per column
        # instead of a lookup per cell)
        self.at = {name: col.get(name, width) for name in _MAF_OPTIONAL}
        self.tally = Tally()
        self.samples: list[str] = []
        self.seen: set[str] = set()
        self.variants: list[Variant] = []
        self.no_gene = self.filtered = self.germline = 0
        self.builds: dict[str, int] = {}
        self.build_of: dict[str, str | None] = {}  # NCBI_Build value -> build (one regex search per distinct value)

    def add(self, number: int, fields: list[str]) -> None:
        """Read one data row (line ``number``): keep its call, or count why it was left out."""
        at = self.at
        fields.append("")
        gene = normalise_gene(fields[self.col["Hugo_Symbol"]])
        if not gene:
            self.no_gene += 1
            return
        if fields[at["FILTER"]].strip() not in {"", ".", "PASS"}:
            self.filtered += 1
            return
        if fields[at["Mutation_Status"]].strip().lower() in _GERMLINE_STATUSES:
            self.germline += 1
            return
        self._count_build(fields[at["NCBI_Build"]])
        sample = fields[at["Tumor_Sample_Barcode"]].strip()
        if sample not in self.seen:
            self.seen.add(sample)
            self.samples.append(sample)
        self.variants.append(self._variant(number, fields, gene, sample))

    def _count_build(self, build_text: str) -> None:
        if build_text not in self.build_of:
            self.build_of[build_text] = build_from_text(build_text)
        build = self.build_of[build_text]
        if build:
            self.builds[build] = self.builds.get(build, 0) + 1

    def _variant(self, number: int, fields: list[str], gene: str, sample: str) -> Variant:
        at, col = self.at, self.col
        # the first protein column filled on this row: cBioPortal MAFs leave HGVSp_Short empty on some rows and
        # fill Protein_Change or Amino_Acid_Change instead
        protein = next((p for c in self.protein_cols if (p := normalise_protein_change(fields[col[c]]))), "")
        ref, alt = fields[at["Reference_Allele"]].strip(), fields[at["Tumor_Seq_Allele2"]].strip()
        classification = self.tally.classify(
            fields[col["Variant_Classification"]], protein, ref=ref, alt=alt, variant_type=fields[at["Variant_Type"]]
        )
        if classification == "Splice_Site" and not protein:
            protein = splice_site_protein(fields[at["HGVSc"]])
        vaf, depth = _maf_vaf(fields, col, self.filename, number)
        return Variant(
            gene=gene,
            protein_change=protein,
            classification=classification,
            vaf=vaf,
            sample=sample,
            chromosome=normalise_chromosome(fields[at["Chromosome"]]),
            position=parse_position(fields[at["Start_Position"]]),
            ref=ref,
            alt=alt,
            read_depth=depth,
        )

    def notes(self, build: str | None) -> list[str]:
        """What the reader did, in words (rows left out, the genome build, the classification tally)."""
        notes = [no_gene_note(self.no_gene)] if self.no_gene else []
        if "Tumor_Sample_Barcode" not in self.col and self.variants:
            notes.append(
                "The MAF has no Tumor_Sample_Barcode column: every row is read as one tumour's call (TMB counts them "
                "all). If the file holds several tumours, add the column"
            )
        if self.filtered:
            notes.append(
                f"{self.filtered} row(s) whose FILTER column is not PASS (e.g. vcf2maf's common_variant, a likely "
                "germline polymorphism) were left out"
            )
        if self.germline:
            notes.append(
                f"{self.germline} row(s) with Mutation_Status Germline or LOH (germline variants) were left out"
            )
        if len(self.builds) > 1:
            notes.append(f"The NCBI_Build column names several genome builds ({', '.join(sorted(self.builds))})")
        elif build:
            notes.append(f"Genome build {build} (from the NCBI_Build column)")
        else:
            notes.append("Genome build not stated in the MAF (no NCBI_Build value)")
        notes.extend(self.tally.notes())
        return notes


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
