"""The VCF reader: VCF 4.x annotated by Ensembl VEP (``CSQ``) or SnpEff 4.1+ (``ANN``), parsed by cyvcf2 (htslib)
from memory after every record was checked as text (:func:`~medai_core.genomics.readers.vcf_samples.check_vcf_lines`).

* VCF tumour column: ``##tumor_sample`` (Mutect2), else TUMOR/NORMAL-like or TCGA sample names, else, for two
  unlabelled columns, the genotypes; otherwise every column is kept apart and the user chooses. Notes give the
  column by position, never by name.
* each ALT allele of a multi-allelic record is its own call, with its own annotation entry and VAF; alleles the
  tumour genotype does not carry, the normal genotype does carry, or VarScan/MuTect ``SS`` marks germline/LOH are
  left out; symbolic structural-variant alleles are left out; non-PASS records are left out (all with notes).
* VAF from the FORMAT fields of the common somatic callers
  (:func:`~medai_core.genomics.readers.vcf_samples.allele_vaf`); genome build from the header.
* a VCF from a germline caller alone is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from medai_core.errors import PanelInputError
from medai_core.genomics.panels import normalise_gene
from medai_core.genomics.readers.common import PanelFile, Tally, Variant, normalise_chromosome
from medai_core.genomics.readers.vcf_header import (
    annotation_fields,
    germline_status_key,
    refuse_germline_vcf,
    unfiltered,
    vcf_genome_build,
)
from medai_core.genomics.readers.vcf_samples import (
    SampleRoles,
    allele_vaf,
    alleles_in,
    check_vcf_lines,
    read_depth,
    sample_roles,
)
from medai_core.genomics.vocabulary import (
    UNRANKED,
    consequence_rank,
    normalise_protein_change,
    protein_from_amino_acids,
    splice_site_protein,
)

__all__ = ["read_vcf"]


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
    tally: Tally | None = None,
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
    pool = _allele_entries(entries, alt, vep_allele=vep_allele, allele_number=allele_number, n_alts=n_alts)
    if not pool:
        return None
    pool = _reference_transcripts(pool, tally)
    ranked = sorted(enumerate(pool), key=lambda item: (consequence_rank(item[1].get("Consequence", "")), item[0]))
    return ranked[0][1]


def _allele_entries(
    entries: list[dict[str, str]], alt: str, *, vep_allele: str, allele_number: int, n_alts: int
) -> list[dict[str, str]]:
    """The entries of one ALT allele (see :func:`_pick_entry`); all entries for a single-ALT record that names no
    matching allele, none for a multi-allelic one."""
    if not entries:
        return []
    if any(e.get("ALLELE_NUM", "").strip() for e in entries):
        pool = [e for e in entries if e.get("ALLELE_NUM", "").strip() == str(allele_number)]
    else:
        names = {alt, vep_allele or alt}
        pool = [e for e in entries if e.get("Allele", alt) in names]
    if not pool and n_alts <= 1:
        return entries
    return pool


def _reference_transcripts(pool: list[dict[str, str]], tally: Tally | None) -> list[dict[str, str]]:
    """The entries on the reference transcript: ``MANE_SELECT``, else ``CANONICAL=YES``, else ``PICK``, else
    protein-coding transcripts (counted in ``tally`` when their protein changes differ), else all of ``pool``."""
    flagged = [e for e in pool if e.get("MANE_SELECT", "").strip()]
    if flagged:
        return flagged
    for key, value in (("CANONICAL", "YES"), ("PICK", "1"), ("BIOTYPE", "protein_coding")):
        chosen = [e for e in pool if e.get(key) == value]
        if chosen:
            if key == "BIOTYPE" and tally is not None:
                changes = {e.get("HGVSp", "").split(":")[-1] for e in chosen if e.get("HGVSp", "").strip()}
                tally.no_canonical += len(changes) > 1
            return chosen
    return pool


def read_vcf(data: bytes, filename: str) -> PanelFile:
    """The somatic calls of a VEP- or SnpEff-annotated VCF (the module docstring lists what is read and left out).

    Raises:
        PanelInputError: no ``#CHROM`` line, no sample columns, no ``CSQ``/``ANN`` annotation, a germline caller's
            VCF, a malformed record (named by line), or a file htslib cannot read.
    """
    text = data.decode("utf-8", errors="replace")
    header = _vcf_header(text, filename)
    refuse_germline_vcf(header.text, filename)
    check_vcf_lines(text, filename, header.n_samples)
    tally = Tally()
    counts = dict.fromkeys(("filtered", "absent", "germline", "split", "unannotated", "structural"), 0)
    samples, roles, variants = _read_records(data, header, filename, tally, counts)
    notes = _vcf_notes(samples, roles, counts)
    if unfiltered(header.body):
        notes.append(
            "No record carries a FILTER verdict ('.' throughout, no PASS): the calls look unfiltered (e.g. Mutect2 "
            "output before FilterMutectCalls), so artefacts and germline variants may be counted in TMB. Upload the "
            "filtered VCF"
        )
    build, where = vcf_genome_build(header.text)
    if build:
        notes.append(f"Genome build {build} (from {where})")
    elif where:
        notes.append(f"Genome build unclear: {where}")
    else:
        notes.append("Genome build not stated in the VCF header (no ##reference, ##assembly or contig lengths)")
    notes.extend(tally.notes())
    source = "VCF (VEP CSQ)" if header.csq_fields is not None else "VCF (SnpEff ANN)"
    tumours = tuple(samples[i] for i in roles.tumours)
    return PanelFile(source, tumours, tuple(variants), tuple(notes), genome_build=build)


@dataclass(frozen=True)
class _Header:
    """A VCF's meta-information lines and what the reader takes from them.

    Attributes:
        text: the ``##`` lines (up to the ``#CHROM`` line); body: the ``#CHROM`` line and the records.
        n_samples: sample columns in the ``#CHROM`` line.
        csq_fields, ann_fields: the VEP ``CSQ`` / SnpEff ``ANN`` field names (None where not defined).
        status_key: (``INFO`` or ``FORMAT``, ``SS``) where the caller writes a somatic status, else None.
    """

    text: str
    body: str
    n_samples: int
    csq_fields: list[str] | None
    ann_fields: list[str] | None
    status_key: tuple[str, str] | None


def _vcf_header(text: str, filename: str) -> _Header:
    """The header of a VCF.

    Raises:
        PanelInputError: no ``#CHROM`` line, no sample columns, or no VEP/SnpEff annotation (naming the annotator
            when it is one this reader does not read).
    """
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
    csq_fields = annotation_fields(header_text, "CSQ")
    ann_fields = annotation_fields(header_text, "ANN")
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
    return _Header(
        header_text,
        text[header_end + 1 :],
        len(chrom_line) - 9,
        csq_fields,
        ann_fields,
        germline_status_key(header_text),
    )


def _read_records(
    data: bytes, header: _Header, filename: str, tally: Tally, counts: dict[str, int]
) -> tuple[list[str], SampleRoles, list[Variant]]:
    """(sample names, tumour/normal columns, calls) of the records htslib parses from ``data``; what was left out
    is counted in ``counts`` and ``tally``.

    Raises:
        PanelInputError: htslib cannot read the file, or a record holds bytes that are not UTF-8.
    """
    from cyvcf2 import VCF

    handle = _InMemoryPath(data)
    variants: list[Variant] = []
    try:
        vcf = VCF(handle.path, lazy=True)
        samples = list(vcf.samples)
        roles = sample_roles(samples, header.text, header.body)
        calls = _RecordCalls(samples, roles, header, tally, counts)
        for record in vcf:
            if record.FILTER not in (None, "PASS", "."):
                counts["filtered"] += 1
                continue
            variants.extend(calls.of(record))
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
    return samples, roles, variants


class _RecordCalls:
    """The calls of each PASS record, worked out once per distinct record.

    A record written again (the same line, e.g. a file concatenated to itself, or a line repeated by a broken
    export) gives the same calls and adds the same counts and tally; they are replayed from a memo keyed by a
    128-bit BLAKE2 digest of the record's text instead of being parsed again (a 3 MB VCF of one record written
    20,000 times took 6 s, most of it in this step). Duplicate calls are merged later, with their note, as for any
    other file.
    """

    def __init__(
        self, samples: list[str], roles: SampleRoles, header: _Header, tally: Tally, counts: dict[str, int]
    ) -> None:
        self.samples, self.roles, self.header = samples, roles, header
        self.tally, self.counts = tally, counts
        self.memo: dict[bytes, tuple[tuple[Variant, ...], tuple[int, ...], Tally | None]] = {}

    def of(self, record: Any) -> tuple[Variant, ...]:
        """The somatic calls of one PASS record (see :func:`_record_calls`)."""
        line = str(record)
        key = hashlib.blake2b(line.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        known = self.memo.get(key)
        if known is None:
            counts = dict.fromkeys(self.counts, 0)
            tally = Tally()
            calls = tuple(_record_calls(record, line, self.samples, self.roles, self.header, tally, counts))
            # kept small: a memo entry per distinct record of a 100,000-record file
            known = self.memo[key] = (calls, tuple(counts.values()), tally if tally.counted() else None)
        calls, counts_added, tally_added = known
        for name, n in zip(self.counts, counts_added, strict=True):
            self.counts[name] += n
        if tally_added is not None:
            self.tally.add(tally_added)
        return calls


def _vcf_notes(samples: list[str], roles: SampleRoles, counts: dict[str, int]) -> list[str]:
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
    return bool(alt) and _BASES.fullmatch(alt) is not None


_BASES = re.compile(r"[ACGTNacgtn]+")


def _record_calls(
    record: Any,
    line: str,
    samples: list[str],
    roles: SampleRoles,
    header: _Header,
    tally: Tally,
    counts: dict[str, int],
) -> list[Variant]:
    """The somatic calls of one PASS record (``line``: its text): one per ALT allele carried by each tumour column,
    leaving out alleles the matched normal carries or the caller marks germline (counted in ``counts``)."""
    fields = line.rstrip("\n").split("\t")
    keys = fields[8].split(":") if len(fields) > 8 else []
    columns = [dict(zip(keys, column.split(":"), strict=False)) for column in fields[9:]]
    columns += [{} for _ in range(len(samples) - len(columns))]  # a record may omit FORMAT and sample columns
    alts = list(record.ALT)
    if len([a for a in alts if _is_sequence_allele(a)]) > 1:
        counts["split"] += 1
    site = _Site(record, alts, _annotation_entries(record, header.csq_fields, header.ann_fields))
    status_key = header.status_key
    info_status = str(record.INFO.get("SS") or "") if status_key and status_key[0] == "INFO" else ""
    normal = alleles_in(columns[roles.normal].get("GT")) if roles.normal is not None else None
    calls = []
    for tumour in roles.tumours:
        values = columns[tumour]
        status = values.get("SS", "") if status_key and status_key[0] == "FORMAT" else info_status
        germline = status.strip() in {"1", "3"}
        calls += _tumour_calls(site, values, samples[tumour], normal, germline, len(roles.tumours), tally, counts)
    return calls


@dataclass(frozen=True)
class _Site:
    """One record, its ALT alleles and its annotation entries.

    ``record.REF``, ``CHROM`` and ``POS`` are read only where an allele becomes a call: htslib hands over a record
    it failed to parse (e.g. a second ``#CHROM`` line in the body, "Could not parse the position") before it raises
    on the next one, and reading its position or chromosome then crashes the process.
    """

    record: Any
    alts: list[str]
    entries: list[dict[str, str]]


def _tumour_calls(
    site: _Site,
    values: dict[str, str],
    sample: str,
    normal: frozenset[int] | None,
    germline: bool,
    n_tumours: int,
    tally: Tally,
    counts: dict[str, int],
) -> list[Variant]:
    """One tumour column's calls at ``site``: each sequence ALT allele it carries that the normal (genotype
    ``normal``) does not and the caller's somatic status does not mark ``germline``."""
    carried = alleles_in(values.get("GT"))
    record, alts = site.record, site.alts
    calls = []
    for allele, alt in enumerate(alts, start=1):
        if not _is_sequence_allele(alt):
            counts["structural"] += alt not in _PLACEHOLDER_ALLELES
            continue
        if carried is not None and allele not in carried:
            counts["absent"] += n_tumours == 1
            continue
        if (normal is not None and allele in normal) or germline:
            counts["germline"] += 1
            continue
        vaf = allele_vaf(values, allele, len(alts), record.REF, alt)
        entry = _pick_entry(
            site.entries,
            alt,
            vep_allele=_vep_allele(record.REF, [a for a in alts if _is_sequence_allele(a)], alt),
            allele_number=allele,
            n_alts=len(alts),
            tally=tally,
        )
        if entry is None and len(alts) > 1:
            counts["unannotated"] += 1
            continue
        call = _annotated_variant(entry, record.REF, alt, vaf, sample, tally)
        calls.append(
            Variant(
                call.gene,
                call.protein_change,
                call.classification,
                call.vaf,
                call.sample,
                chromosome=normalise_chromosome(str(record.CHROM)),
                position=int(record.POS),
                ref=str(record.REF),
                alt=alt,
                read_depth=read_depth(values),
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
    entry: dict[str, str] | None, ref: str, alt: str, vaf: float | None, sample: str, tally: Tally
) -> Variant:
    """The call one annotation entry describes (gene, protein change, MAF class); ``Unknown`` without an entry."""
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
