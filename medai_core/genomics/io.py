"""Read tumour gene panels: MAF, annotated VCF (VEP ``CSQ`` or SnpEff ``ANN``) and simple CSV/TSV tables.

Every reader returns a :class:`PanelFile` of :class:`Variant` calls with normalised gene symbols (``MLL2`` ->
``KMT2D``), MAF ``Variant_Classification`` terms and one-letter protein changes (``L858R``), or raises
:class:`~medai_core.errors.PanelInputError` with a message that names what was wrong and what is accepted.
Uploads stay in memory: VCFs are handed to cyvcf2 (htslib) through an in-memory file descriptor.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from medai_core.errors import PanelInputError
from medai_core.genomics.panels import (
    classification_from_consequence,
    is_nonsynonymous,
    normalise_classification,
    normalise_gene,
)

__all__ = ["PanelFile", "Variant", "normalise_protein_change", "read_panel"]

_AA3 = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G", "His": "H",
    "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W",
    "Tyr": "Y", "Val": "V", "Ter": "*", "Sec": "U", "Xaa": "X",
}  # fmt: skip
_AA3_RE = re.compile("|".join(_AA3))


@dataclass(frozen=True)
class Variant:
    """One somatic call.

    Attributes:
        gene: normalised HGNC symbol.
        protein_change: one-letter protein change without ``p.`` (``L858R``, ``E746_A750del``), or ``""``.
        classification: MAF ``Variant_Classification``.
        vaf: tumour variant allele fraction in [0, 1], or None when the file does not give it.
        sample: tumour sample id (``""`` for single-sample tables without one).
    """

    gene: str
    protein_change: str
    classification: str
    vaf: float | None
    sample: str

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
    """

    source_format: str
    samples: tuple[str, ...]
    variants: tuple[Variant, ...]
    notes: tuple[str, ...] = ()

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


def normalise_protein_change(text: str) -> str:
    """``p.Leu858Arg`` / ``p.L858R`` / ``ENSP...:p.(Leu858Arg)`` -> ``L858R``; ``p.=`` and ``p.?`` stay as given."""
    value = text.strip()
    if ":" in value:
        value = value.split(":", 1)[1]
    value = value.removeprefix("p.").strip("()")
    if value in {"", "."}:
        return ""
    return _AA3_RE.sub(lambda m: _AA3[m.group(0)], value)


def read_panel(data: bytes, filename: str = "") -> PanelFile:
    """Parse a panel file from its bytes (gzip-compressed files are accepted).

    Args:
        data: the file's bytes.
        filename: the uploaded name, used only to word messages.

    Raises:
        PanelInputError: not a MAF, VCF or CSV/TSV panel; required columns missing; a malformed line (named);
            a VCF with no samples or no VEP/SnpEff annotation.
    """
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise PanelInputError(
                f"{filename or 'The file'} looks gzip-compressed but cannot be unpacked ({exc})."
            ) from None
    if not data.strip():
        raise PanelInputError(
            f"{filename or 'The file'} is empty. Upload a MAF, an annotated VCF, or a CSV with columns gene, "
            "protein_change."
        )
    if b"\x00" in data[:4096]:
        raise _not_a_panel(filename)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if text.lstrip().startswith("##fileformat=VCF"):
        return _read_vcf(data, filename)
    lines = text.splitlines()
    header_index = next((i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")), None)
    if header_index is None:
        raise _not_a_panel(filename)
    header_line = lines[header_index]
    if "Hugo_Symbol" in header_line.split("\t"):
        return _read_maf(lines, header_index, filename)
    return _read_table(lines, header_index, filename)


def _not_a_panel(filename: str) -> PanelInputError:
    return PanelInputError(
        f"{filename or 'The file'} is not a MAF, VCF or CSV/TSV gene panel. Accepted: a MAF (tab-separated, "
        "Hugo_Symbol and Variant_Classification columns), a VCF 4.x annotated by VEP or SnpEff, or a CSV/TSV "
        "with columns gene, protein_change (optional consequence, vaf)."
    )


def _rows(lines: list[str], header_index: int, delimiter: str, filename: str) -> Iterator[tuple[int, list[str]]]:
    width = len(next(csv.reader([lines[header_index]], delimiter=delimiter)))
    for number, line in enumerate(lines[header_index + 1 :], start=header_index + 2):
        if not line.strip() or line.startswith("#"):
            continue
        fields = next(csv.reader([line], delimiter=delimiter))
        if len(fields) != width:
            raise PanelInputError(
                f"{filename or 'The file'}, line {number}: {len(fields)} fields where the header has {width}. "
                "The line is malformed (a missing or extra separator); fix or remove it and upload again."
            )
        yield number, fields


def _float_or_none(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value else None


def _read_maf(lines: list[str], header_index: int, filename: str) -> PanelFile:
    header = lines[header_index].split("\t")
    col = {name: i for i, name in enumerate(header)}
    missing = [c for c in ("Hugo_Symbol", "Variant_Classification") if c not in col]
    if missing:
        raise PanelInputError(
            f"{filename or 'The MAF'} lacks the required column(s) {missing}. A MAF needs Hugo_Symbol and "
            f"Variant_Classification (and Tumor_Sample_Barcode for several samples). Found: {header[:8]}..."
        )
    protein_col = next((c for c in ("HGVSp_Short", "Protein_Change", "HGVSp", "Amino_Acid_Change") if c in col), None)
    samples: list[str] = []
    seen: set[str] = set()
    variants: list[Variant] = []
    for number, fields in _rows(lines, header_index, "\t", filename):
        sample = fields[col["Tumor_Sample_Barcode"]].strip() if "Tumor_Sample_Barcode" in col else ""
        if sample not in seen:
            seen.add(sample)
            samples.append(sample)
        raw_class = fields[col["Variant_Classification"]]
        classification = normalise_classification(raw_class)
        if classification is None:
            raise PanelInputError(
                f"{filename or 'The MAF'}, line {number}: unknown Variant_Classification {raw_class!r}. Expected MAF "
                "terms such as Missense_Mutation, Nonsense_Mutation, Frame_Shift_Del, Silent, Intron."
            )
        vaf = None
        if "t_alt_count" in col:
            alt = _float_or_none(fields[col["t_alt_count"]])
            ref = _float_or_none(fields[col["t_ref_count"]]) if "t_ref_count" in col else None
            depth = _float_or_none(fields[col["t_depth"]]) if "t_depth" in col else None
            total = depth if depth else (alt + ref if alt is not None and ref is not None else None)
            vaf = alt / total if alt is not None and total else None
        variants.append(
            Variant(
                gene=normalise_gene(fields[col["Hugo_Symbol"]]),
                protein_change=normalise_protein_change(fields[col[protein_col]]) if protein_col else "",
                classification=classification,
                vaf=vaf,
                sample=sample,
            )
        )
    return PanelFile("MAF", tuple(samples) or ("",), tuple(variants))


_TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "gene": ("gene", "hugo_symbol", "symbol", "gene_symbol"),
    "protein": ("protein_change", "protein", "hgvsp_short", "hgvsp", "alteration", "variant", "aa_change", "mutation"),
    "consequence": ("consequence", "variant_classification", "classification", "effect", "type"),
    "vaf": ("vaf", "af", "allele_frequency", "variant_allele_frequency"),
    "sample": ("sample", "sample_id", "tumor_sample_barcode"),
}


def _infer_classification(protein: str) -> str:
    p = protein.lower()
    if not p:
        return "Missense_Mutation"
    if p in {"amplification", "amp"}:
        return "Amplification"
    if p in {"deletion", "homdel", "loss"}:
        return "Deletion"
    if "fusion" in p or ("-" in p and p.replace("-", "").isalpha()):
        return "Fusion"
    if "fs" in p:
        return "Frame_Shift_Del"
    if "splice" in p or p.endswith("_splice"):
        return "Splice_Site"
    if p.endswith("=") or (len(p) > 2 and p[0] == p[-1] and p[1:-1].isdigit()):
        return "Silent"
    if p.endswith("*") or (p.endswith("x") and p[:-1][-1:].isdigit()):
        return "Nonsense_Mutation"
    if "delins" in p or "del" in p:
        return "In_Frame_Del"
    if "ins" in p or "dup" in p:
        return "In_Frame_Ins"
    return "Missense_Mutation"


def _read_table(lines: list[str], header_index: int, filename: str) -> PanelFile:
    header_line = lines[header_index]
    delimiter = "\t" if header_line.count("\t") >= header_line.count(",") and "\t" in header_line else ","
    header = [h.strip() for h in next(csv.reader([header_line], delimiter=delimiter))]
    lower = {h.lower(): i for i, h in enumerate(header)}
    col = {key: next((lower[n] for n in names if n in lower), None) for key, names in _TABLE_COLUMNS.items()}
    if col["gene"] is None or (len(header) < 2 and delimiter == ","):
        if len(header) < 2:
            raise _not_a_panel(filename)
        raise PanelInputError(
            f"{filename or 'The table'} has no gene column. Found columns: {header[:10]}. Expected a CSV/TSV with "
            "columns gene, protein_change (e.g. EGFR,L858R) and optionally consequence and vaf."
        )
    if col["protein"] is None:
        raise PanelInputError(
            f"{filename or 'The table'} has no protein change column. Found columns: {header[:10]}. Expected "
            "gene, protein_change (e.g. EGFR,L858R), optional consequence and vaf."
        )
    samples: list[str] = []
    variants: list[Variant] = []
    for number, fields in _rows(lines, header_index, delimiter, filename):
        gene = fields[col["gene"]].strip()
        if not gene:
            raise PanelInputError(f"{filename or 'The table'}, line {number}: the gene is empty.")
        protein = normalise_protein_change(fields[col["protein"]])
        classification = None
        if col["consequence"] is not None and fields[col["consequence"]].strip():
            raw = fields[col["consequence"]].strip()
            classification = normalise_classification(raw)
            if classification is None:
                raise PanelInputError(
                    f"{filename or 'The table'}, line {number}: unknown consequence {raw!r}. Use a MAF term "
                    "(Missense_Mutation, Frame_Shift_Del, Silent, ...), a VEP term (missense_variant, ...) or a word "
                    "such as missense, nonsense, frameshift, splice, synonymous, intronic."
                )
        vaf = None
        if col["vaf"] is not None and fields[col["vaf"]].strip():
            vaf = _float_or_none(fields[col["vaf"]].strip().rstrip("%"))
            if vaf is None or vaf < 0 or vaf > 100:
                raise PanelInputError(
                    f"{filename or 'The table'}, line {number}: VAF {fields[col['vaf']]!r} is not a fraction (0-1) "
                    "or a percentage (0-100)."
                )
            vaf = vaf / 100 if vaf > 1 else vaf
        sample = fields[col["sample"]].strip() if col["sample"] is not None else ""
        if sample not in samples:
            samples.append(sample)
        variants.append(
            Variant(normalise_gene(gene), protein, classification or _infer_classification(protein), vaf, sample)
        )
    return PanelFile("CSV", tuple(samples) or ("",), tuple(variants))


# ---------------------------------------------------------------- VCF


def _check_vcf_lines(text: str, filename: str) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 8 or not fields[1].isdigit() or not fields[3] or not fields[4]:
            raise PanelInputError(
                f"{filename or 'The VCF'}, line {number}: malformed record (expected tab-separated CHROM, POS "
                f"(a number), ID, REF, ALT, QUAL, FILTER, INFO; got {len(fields)} fields). Fix or remove the line."
            )


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


def _pick_csq(entries: list[dict[str, str]], alt: str) -> dict[str, str]:
    matching = [e for e in entries if e.get("Allele", alt) in {alt, "-", alt[1:] or "-"}] or entries
    for flag, value in (("PICK", "1"), ("CANONICAL", "YES")):
        picked = [e for e in matching if e.get(flag) == value]
        if picked:
            return picked[0]
    return matching[0]


def _tumour_index(samples: list[str], header_text: str) -> tuple[int, str | None]:
    match = re.search(r"^##tumou?r_sample=(\S+)", header_text, re.MULTILINE)
    if match and match.group(1) in samples:
        return samples.index(match.group(1)), None
    if len(samples) == 1:
        return 0, None
    tumour_like = [i for i, s in enumerate(samples) if re.search(r"tumou?r|^t$|[-_]t\d*$", s, re.IGNORECASE)]
    if tumour_like:
        return tumour_like[0], None
    normal_like = [i for i, s in enumerate(samples) if re.search(r"normal|germline|blood|^n$", s, re.IGNORECASE)]
    if len(normal_like) == len(samples) - 1:
        index = next(i for i in range(len(samples)) if i not in normal_like)
        return index, None
    return 0, f"no tumour/normal labels in the sample names; the first sample ({samples[0]}) was used as the tumour"


def _vaf(variant: Any, index: int) -> float | None:
    import numpy as np

    try:
        af = variant.format("AF")
    except KeyError:
        af = None
    if af is not None and np.issubdtype(af.dtype, np.floating):
        value = float(af[index][0])
        if value == value and 0 <= value <= 1:
            return value
    try:
        ad = variant.format("AD")
    except KeyError:
        ad = None
    if ad is not None and ad.shape[1] >= 2:
        ref, alt = float(ad[index][0]), float(ad[index][1])
        if ref >= 0 and alt >= 0 and ref + alt > 0:
            return alt / (ref + alt)
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
        raise PanelInputError(
            f"{filename or 'The VCF'} is not annotated: it has no VEP CSQ or SnpEff ANN field, so genes and protein "
            "changes are unknown. Annotate it with Ensembl VEP (--vcf) or SnpEff, or upload the MAF made by vcf2maf."
        )
    _check_vcf_lines(text, filename)
    handle = _InMemoryPath(data)
    notes: list[str] = []
    variants: list[Variant] = []
    try:
        vcf = VCF(handle.path, lazy=True)
        samples = list(vcf.samples)
        index, note = _tumour_index(samples, header_text)
        if note:
            notes.append(note)
        tumour = samples[index]
        filtered = 0
        for record in vcf:
            if record.FILTER not in (None, "PASS", "."):
                filtered += 1
                continue
            alt = record.ALT[0] if record.ALT else ""
            variants.append(_annotated_variant(record, alt, csq_fields, ann_fields, tumour, index, filename))
        vcf.close()
    except PanelInputError:
        raise
    except Exception as exc:  # htslib raises plain Exceptions for broken files
        raise PanelInputError(f"{filename or 'The VCF'} could not be read as VCF 4.x: {exc}") from None
    finally:
        handle.close()
    if filtered:
        notes.append(f"{filtered} call(s) not marked PASS in the FILTER column were left out")
    source = "VCF (VEP CSQ)" if csq_fields is not None else "VCF (SnpEff ANN)"
    return PanelFile(source, (tumour,), tuple(variants), tuple(notes))


def _annotated_variant(
    record: Any,
    alt: str,
    csq_fields: list[str] | None,
    ann_fields: list[str] | None,
    tumour: str,
    index: int,
    filename: str,
) -> Variant:
    vaf = _vaf(record, index)
    if csq_fields is not None:
        raw = record.INFO.get("CSQ")
        if raw:
            entries = [dict(zip(csq_fields, item.split("|"), strict=False)) for item in str(raw).split(",")]
            entry = _pick_csq(entries, alt)
            gene = entry.get("SYMBOL", "") or entry.get("Gene", "")
            classification = classification_from_consequence(entry.get("Consequence", ""), ref=record.REF, alt=alt)
            protein = normalise_protein_change(entry.get("HGVSp", ""))
            if not protein and entry.get("Amino_acids") and entry.get("Protein_position"):
                aa = entry["Amino_acids"].split("/")
                if len(aa) == 2:
                    protein = f"{aa[0]}{entry['Protein_position'].split('-')[0]}{aa[1]}"
            return Variant(
                normalise_gene(gene) if gene else "Unknown", protein, classification or "Unknown", vaf, tumour
            )
    if ann_fields is not None:
        raw = record.INFO.get("ANN")
        if raw:
            ann_entries = [item.split("|") for item in str(raw).split(",")]
            matching = [e for e in ann_entries if e and e[0] == alt] or ann_entries
            entry = dict(zip(["Allele", "Annotation", "Impact", "Gene_Name"], matching[0][:4], strict=False))
            hgvs_p = matching[0][10] if len(matching[0]) > 10 else ""
            classification = classification_from_consequence(entry.get("Annotation", ""), ref=record.REF, alt=alt)
            gene = entry.get("Gene_Name", "")
            return Variant(
                normalise_gene(gene) if gene else "Unknown",
                normalise_protein_change(hgvs_p),
                classification or "Unknown",
                vaf,
                tumour,
            )
    return Variant("Unknown", "", "Unknown", vaf, tumour)


def panel_from_text(text: str, filename: str = "") -> PanelFile:
    """Convenience for tests and scripts: :func:`read_panel` on a string."""
    return read_panel(io.BytesIO(text.encode("utf-8")).getvalue(), filename)
