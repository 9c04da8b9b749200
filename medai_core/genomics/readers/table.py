"""The CSV/TSV reader: simple panel tables with a gene column and a protein change or alteration type column
(optional consequence, VAF, sample and genomic position columns), as lab reports and spreadsheets write them."""

from __future__ import annotations

import re
from collections.abc import Sequence

from medai_core.errors import PanelInputError
from medai_core.genomics.panels import normalise_gene
from medai_core.genomics.readers.common import (
    PanelFile,
    Tally,
    Variant,
    data_rows,
    float_or_none,
    no_gene_error,
    no_gene_note,
    normalise_chromosome,
    not_a_panel,
    parse_position,
    split_row,
)
from medai_core.genomics.vocabulary import ALTERATION_CLASSES, normalise_protein_change, splice_site_protein

__all__ = ["read_table"]


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


def _vaf_in_percent(header: list[str], index: int | None, rows: list[tuple[int, list[str]]]) -> bool:
    """True when the table has a VAF column on the 0-100 scale: ``%`` in its name, or its values
    (:func:`_vaf_column_is_percent`)."""
    return index is not None and ("%" in header[index] or _vaf_column_is_percent([fields[index] for _, fields in rows]))


def _vaf_column_is_percent(values: Sequence[str]) -> bool:
    """True when a table's VAF column is on the 0-100 scale: some value above 1 (``35``) or written with ``%``.
    Decided once for the column, so that ``1`` in a column of percentages is 1%, not 100%, and ``0.5`` is 0.5%."""
    numbers = [float_or_none(v.strip().rstrip("%")) for v in values if v.strip() not in _MISSING_VAF]
    return any(v.strip().endswith("%") for v in values) or any(n is not None and n > 1 for n in numbers)


def _cell(fields: list[str], index: int | None) -> str:
    """The stripped value of an optional column (``""`` where the table has no such column)."""
    return fields[index].strip() if index is not None else ""


def read_table(lines: list[str], header_index: int, filename: str) -> PanelFile:
    """The calls of a CSV/TSV table whose header line is ``lines[header_index]`` (columns by the names of
    :data:`_TABLE_COLUMNS`, in any case and spacing).

    Raises:
        PanelInputError: no gene or protein change column, a malformed row, an unknown alteration type or a VAF
            outside 0-1 and 0-100 (named by line), or no row with a gene.
    """
    header_line = lines[header_index]
    delimiter = "\t" if header_line.count("\t") >= header_line.count(",") and "\t" in header_line else ","
    header = [h.strip() for h in split_row(header_line, delimiter, filename, header_index + 1)]
    i_gene, col = _table_columns(header, delimiter, filename)
    tally = Tally()
    samples: list[str] = []
    seen_samples: set[str] = set()
    variants: list[Variant] = []
    no_gene = 0
    rows = list(data_rows(lines, header_index, delimiter, filename))
    vaf_percent = _vaf_in_percent(header, col["vaf"], rows)
    for number, fields in rows:
        gene = normalise_gene(fields[i_gene])
        if not gene:
            no_gene += 1
            continue
        classification, protein = _class_and_protein(fields, col, number, filename, tally)
        vaf = _row_vaf(fields, col["vaf"], vaf_percent, number, filename)
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
                chromosome=normalise_chromosome(_cell(fields, col["chromosome"])),
                position=parse_position(_cell(fields, col["position"])),
                ref=_cell(fields, col["ref"]),
                alt=_cell(fields, col["alt"]),
            )
        )
    if no_gene and not variants:
        raise no_gene_error(filename, header[i_gene])
    notes = ([no_gene_note(no_gene)] if no_gene else []) + tally.notes()
    if vaf_percent and col["vaf"] is not None:
        notes.append(
            f"The {header[col['vaf']]} column is in percent (its name or values above 1), so all its values were "
            "read as percentages (1 is 1%, not 100%)"
        )
    return PanelFile("CSV", tuple(samples) or ("",), tuple(variants), tuple(notes))


def _table_columns(header: list[str], delimiter: str, filename: str) -> tuple[int, dict[str, int | None]]:
    """The gene column's index, and the index of each column of :data:`_TABLE_COLUMNS` in ``header`` (None where
    absent).

    Raises:
        PanelInputError: a one-column CSV (not a panel), no gene column, or neither a protein change nor an
            alteration type column.
    """
    # "Protein Change", "VAF (%)", "Allele Frequency" -> protein_change, vaf, allele_frequency
    lower: dict[str, int] = {}
    for i, h in enumerate(header):
        lower.setdefault(re.sub(r"[^a-z0-9]+", "_", h.lower()).strip("_"), i)
    col = {key: next((lower[n] for n in names if n in lower), None) for key, names in _TABLE_COLUMNS.items()}
    i_gene = col["gene"]
    if i_gene is None or (len(header) < 2 and delimiter == ","):
        if len(header) < 2:
            raise not_a_panel(filename)
        raise PanelInputError(
            f"{filename or 'The table'} has no gene column. Found columns: {header[:10]}. Expected a CSV/TSV with "
            "columns gene, protein_change (e.g. EGFR,L858R) and optionally consequence, alteration_type and vaf."
        )
    if col["protein"] is None and col["alteration"] is None:
        raise PanelInputError(
            f"{filename or 'The table'} has no protein change column. Found columns: {header[:10]}. Expected "
            "gene, protein_change (e.g. EGFR,L858R), optional consequence, alteration_type and vaf."
        )
    return i_gene, col


def _class_and_protein(
    fields: list[str], col: dict[str, int | None], number: int, filename: str, tally: Tally
) -> tuple[str, str]:
    """(MAF class, protein change) of one row: the alteration type column, else an alteration word written as the
    protein change (``amplification``, ``EML4-ALK``), else the consequence and protein change."""
    raw_protein = fields[col["protein"]] if col["protein"] is not None else ""
    classification = _alteration_class(fields, col["alteration"], number, filename)
    if classification is None:
        classification = _protein_word(raw_protein)
    protein = "" if classification in ALTERATION_CLASSES and _protein_word(raw_protein) else raw_protein
    protein = normalise_protein_change(protein) if classification not in {"Fusion"} else raw_protein.strip()
    if classification is None:
        consequence = fields[col["consequence"]] if col["consequence"] is not None else ""
        classification = tally.classify(consequence, protein)
    if classification == "Splice_Site" and protein.startswith("c."):
        protein = splice_site_protein(protein)
    return classification, protein


def _alteration_class(fields: list[str], index: int | None, number: int, filename: str) -> str | None:
    """The class an alteration type cell names (None: empty, absent, or a point-mutation word).

    Raises:
        PanelInputError: a word outside :data:`_ALTERATION_TYPES`.
    """
    if index is None or not fields[index].strip():
        return None
    word = " ".join(fields[index].strip().lower().replace("_", " ").split())
    if word not in _ALTERATION_TYPES:
        raise PanelInputError(
            f"{filename or 'The table'}, line {number}: unknown alteration type "
            f"{fields[index].strip()!r}. Accepted: amplification, deletion, fusion (or "
            "mutation/SNV/indel for point mutations, described by the protein change)."
        )
    return _ALTERATION_TYPES[word]


def _row_vaf(fields: list[str], index: int | None, percent: bool, number: int, filename: str) -> float | None:
    """One row's VAF as a fraction (None where the column is absent or the cell says not measured).

    Raises:
        PanelInputError: a value that is neither a fraction (0-1) nor a percentage (0-100).
    """
    if index is None or fields[index].strip() in _MISSING_VAF:
        return None
    text = fields[index].strip()
    vaf = float_or_none(text.rstrip("%"))
    if vaf is None or vaf < 0 or vaf > 100:
        raise PanelInputError(
            f"{filename or 'The table'}, line {number}: VAF {text!r} is not a fraction (0-1) or a percentage (0-100)."
        )
    return vaf / 100 if (percent or text.endswith("%")) else vaf
