"""Knowledge-base evidence for panel alterations, AMP/ASCO/CAP 2017 tiers (Li et al., J Mol Diagn 2017) and the
therapy options they support.

Two kinds of knowledge, indexed by gene (the evidence step is linear in the number of calls):

* **therapy-level assertions** (:mod:`medai_core.genomics.knowledge.assertions`: FDA labels and NCCN guidelines, each
  with its biomarker definition, OncoTree tumour types, exclusions, line and citation). Only these make tier I: I-A
  where the row covers the patient's OncoTree node (itself or an ancestor; ``SOLID`` rows cover every solid tumour)
  and does not exclude it; II-C where the call meets an assertion made for another tumour type.
* **CIViC predictive evidence items** (Griffith et al., Nat Genet 2017; CC0), tier II-D at best and never a tier-I
  option: shown as evidence, and offered as a (II-D) option only when its disease is the patient's tumour type on the
  OncoTree (``data/civic_diseases.tsv``) and it names a specific drug.

Biomarker definitions are explicit (:mod:`medai_core.genomics.knowledge.biomarkers`). CIViC variant names are read
as: the exact protein change; a codon (``V600``, ``G12/G13``: a missense call at that codon to another amino acid);
EGFR exon 19 deletions / exon 20 insertions and MET exon 14 skipping by codon range; ``AMPLIFICATION``,
``DELETION``/``LOSS`` and fusions for calls of that type; truncating entries (``LOSS-OF-FUNCTION``, ``TRUNCATING
MUTATION``, ...) for nonsense, frameshift and splice-site calls in tumour suppressors only. Gene-wide ``MUTATION``
entries match nothing (CIViC uses them for a gene's sensitising mutations, which the entry does not list), nor do
compound or expression entries, silent, non-coding or ``Unknown`` calls.

Resistance: a resistance assertion, or CIViC level A/B resistance, in the patient's tumour type removes the drug (an
option all of whose drugs are resisted) from the options and says why. Ranking: tier, then a tumour-type-specific
approval before a tumour-agnostic one, then support in this tumour type.

Where the CIViC export comes from: a folder given explicitly (tests, scripts); otherwise the newest release, by
the ``DD-Mon-YYYY`` date in its name, among the ``MEDAI_EVIDENCE_DIR`` folder (if set) and the exports installed
with ``evidence import`` in the user data folder; without any, the dated snapshot shipped in ``data/`` (built by
``scripts/build_civic_snapshot.py``). No default path lies outside the repository.
"""

from __future__ import annotations

import csv
import gzip
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from medai_core.config import get_settings, user_data_dir
from medai_core.errors import PanelInputError
from medai_core.genomics.knowledge.assertions import Assertion, load_assertions
from medai_core.genomics.knowledge.biomarkers import TRUNCATING, gene_role, hotspot_kind
from medai_core.genomics.panels import NON_CODING_CLASSES, NONSYNONYMOUS_CLASSES
from medai_core.genomics.readers import Variant
from medai_core.genomics.tumours import TumourType, oncotree, resolve_tumour

__all__ = [
    "CIVIC_COLUMNS",
    "LIKELY_BENIGN_CLASSES",
    "SNAPSHOT_COLUMNS",
    "TIERS",
    "EvidenceBase",
    "EvidenceItem",
    "TherapyOption",
    "call_tier",
    "call_tiers",
    "civic_release_date",
    "evidence_import",
    "find_civic_export",
    "load_evidence",
    "distinct_calls",
    "evidence_rows",
    "match_evidence",
    "ranked_options",
    "read_civic_rows",
    "therapy_options",
]

_LEVEL_ORDER = {"FDA": 0, "NCCN": 0, "A": 1, "B": 2, "C": 3, "D": 4, "E": 5}
#: AMP/ASCO/CAP 2017 tiers, best first.
TIERS: tuple[str, ...] = ("I-A", "I-B", "II-C", "II-D", "III", "IV")
_TRUNCATING = TRUNCATING
#: Therapy names that are not one drug or regimen: shown as evidence, never offered as an option.
GENERIC_THERAPIES = frozenset(
    {"chemotherapy", "radiation therapy", "radiotherapy", "immunotherapy", "platinum compound", "surgery"}
)
CIVIC_COLUMNS: tuple[str, ...] = (
    "gene",
    "variant",
    "disease",
    "drugs",
    "evidence_type",
    "evidence_direction",
    "evidence_level",
    "clinical_significance",
)
#: Columns of the shipped snapshot (one accepted predictive item per row).
SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "gene",
    "variant",
    "disease",
    "drugs",
    "direction",
    "significance",
    "level",
    "evidence_id",
    "citation_id",
)
# CIViC variant names that cover a class of calls rather than one protein change: name -> the calls they fit.
_GENE_LEVEL: dict[str, str] = {
    "MUTATION": "unspecified",
    "MUTATIONS": "unspecified",
    "LOSS-OF-FUNCTION": "truncating",
    "TRUNCATING MUTATION": "truncating",
    "TRUNCATING": "truncating",
    "FRAMESHIFT TRUNCATION": "truncating",
    "FRAMESHIFT MUTATION": "truncating",
    "NONSENSE MUTATION": "truncating",
    "DELETERIOUS MUTATION": "truncating",
    "AMPLIFICATION": "Amplification",
    "COPY NUMBER GAIN": "Amplification",
    "DELETION": "Deletion",
    "LOSS": "Deletion",
    "COPY NUMBER LOSS": "Deletion",
    "HOMOZYGOUS DELETION": "Deletion",
    "FUSION": "Fusion",
    "FUSIONS": "Fusion",
    "REARRANGEMENT": "Fusion",
}
_CODON_RE = re.compile(r"^([A-Z])(\d+)$")
_CHANGE_RE = re.compile(r"^([A-Z*])(\d+)")
_MISSENSE_RE = re.compile(r"^([A-Z])(\d+)([A-Z])$")
_PAIR_FUSION_RE = re.compile(r"^([A-Z0-9]+)-([A-Z0-9]+)$")
_DATE_RE = re.compile(r"(\d{1,2}-[A-Za-z]{3}-\d{4})")
_SNAPSHOT_RE = re.compile(r"^civic_predictive_(\d{1,2}-[A-Za-z]{3}-\d{4})\.tsv\.gz$")


@dataclass(frozen=True)
class EvidenceItem:
    """One knowledge-base statement matched to a call.

    Attributes:
        gene: gene symbol; variant: the knowledge-base variant name or biomarker definition (``V600E``,
            ``exon 19 deletion|L858R``).
        matched: the patient's call it was matched to (``BRAF V600E``) and match_kind how (``variant``, ``codon``,
            ``exon``, ``gene-level``, ``definition``).
        level: CIViC evidence level A-E, or ``FDA`` / ``NCCN`` for a therapy-level assertion.
        drugs: therapies: ``A + B`` a combination, ``A; B`` alternatives.
        direction: ``Supports`` or ``Does Not Support``.
        significance: ``Sensitivity/Response``, ``Resistance``, ``Reduced Sensitivity``, ``Adverse Response``.
        disease: the disease the evidence is for; same_tumour_type: whether that is the patient's OncoTree node or
            an ancestor of it (``SOLID`` for a tumour-agnostic assertion that does not exclude it).
        source: ``CIViC EID1409 (PubMed 22608338)`` or the label / guideline citation.
        kind: ``assertion`` (FDA label or guideline) or ``civic``.
        biomarker: how the call meets the definition (``exact change V600E named by the source``).
        date: approval, label or guideline date of an assertion; url: link to the source.
        agnostic: a tumour-agnostic assertion; excluded: the assertion excludes the patient's tumour type.
        line: line of therapy of an assertion; assertion_id: its id.
    """

    gene: str
    variant: str
    matched: str
    match_kind: str
    level: str
    drugs: str
    direction: str
    significance: str
    disease: str
    same_tumour_type: bool
    source: str
    kind: str = "civic"
    biomarker: str = ""
    date: str = ""
    url: str = ""
    agnostic: bool = False
    excluded: bool = False
    line: str = ""
    assertion_id: str = ""

    @property
    def is_resistance(self) -> bool:
        """Evidence supporting resistance (or reduced sensitivity) to the drugs."""
        return self.direction == "Supports" and self.significance in {"Resistance", "Reduced Sensitivity"}

    @property
    def is_sensitivity(self) -> bool:
        """Evidence supporting response to the drugs."""
        return self.direction == "Supports" and self.significance == "Sensitivity/Response"

    @property
    def tier(self) -> str | None:
        """AMP/ASCO/CAP tier this item supports: an assertion gives ``I-A`` in the patient's tumour type and
        ``II-C`` for another type (None where it excludes the patient's type, or for resistance in another type); a
        CIViC item gives ``II-D`` in the
        patient's tumour type (levels A-D) and nothing elsewhere: off-tumour CIViC evidence is shown, not tiered
        (level E and evidence that does not support the association give None)."""
        if self.direction != "Supports":
            return None
        if self.kind == "assertion":
            if self.excluded or (self.is_resistance and not self.same_tumour_type):
                return None  # excluded by the label; resistance in another tumour type says nothing here
            return "I-A" if self.same_tumour_type else "II-C"
        return "II-D" if self.same_tumour_type and self.level in {"A", "B", "C", "D"} else None


@dataclass(frozen=True)
class _Entry:
    gene: str
    variant: str
    disease: str
    drugs: str
    direction: str
    significance: str
    level: str
    source: str


@dataclass(frozen=True)
class _GeneIndex:
    """One gene's CIViC entries: by exact protein change, by (reference, codon), entries for structural calls
    (amplification, deletion, fusion names) and the rest (loss-of-function and exon names), so that a call is
    compared with the few entries that can match it. Gene-wide ``MUTATION`` entries, which match nothing, are left
    out."""

    exact: dict[str, tuple[_Entry, ...]]
    codon: dict[tuple[str, int], tuple[_Entry, ...]]
    structural: tuple[_Entry, ...]
    sequence: tuple[_Entry, ...]

    @staticmethod
    def build(entries: Iterable[_Entry]) -> _GeneIndex:
        exact: dict[str, list[_Entry]] = {}
        codon: dict[tuple[str, int], list[_Entry]] = {}
        structural: list[_Entry] = []
        sequence: list[_Entry] = []
        for entry in entries:
            name = entry.variant
            kind = _GENE_LEVEL.get(name)
            parts = [_CODON_RE.match(p.strip()) for p in name.split("/")]
            if kind == "unspecified":
                continue
            if all(parts) and not _is_compound(name):
                for part in parts:
                    assert part is not None
                    codon.setdefault((part.group(1), int(part.group(2))), []).append(entry)
            elif kind in {"Amplification", "Deletion", "Fusion"}:
                structural.append(entry)
            elif kind is not None or name.startswith("EXON"):
                sequence.append(entry)
            elif "-" in name or "FUSION" in name:
                structural.append(entry)
            else:
                exact.setdefault(name, []).append(entry)
        return _GeneIndex(
            {k: tuple(v) for k, v in exact.items()},
            {k: tuple(v) for k, v in codon.items()},
            tuple(structural),
            tuple(sequence),
        )

    def candidates(self, call: Variant) -> tuple[_Entry, ...]:
        """The entries that can match ``call`` (a superset of those :func:`_match_kind` accepts)."""
        cls = call.classification
        if cls in {"Amplification", "Deletion", "Fusion"}:
            return self.structural
        change = call.protein_change.upper()
        found = self.exact.get(change, ())
        missense = _MISSENSE_RE.match(change) if cls == "Missense_Mutation" else None
        if missense:
            found = found + self.codon.get((missense.group(1), int(missense.group(2))), ())
        if cls in _TRUNCATING or cls in {"In_Frame_Del", "In_Frame_Ins"}:
            found = found + self.sequence
        return found


@dataclass(frozen=True)
class EvidenceBase:
    """Predictive evidence indexed by gene.

    Attributes:
        entries: gene -> CIViC entries.
        assertions: gene -> therapy-level assertions (FDA labels, guidelines).
        civic_release: the CIViC release date (``01-Aug-2021``), or None when only the FDA table is loaded.
        civic_origin: ``shipped snapshot``, ``imported`` (user data folder), or ``folder`` (given explicitly).
    """

    entries: dict[str, tuple[_Entry, ...]]
    civic_release: str | None
    civic_origin: str = ""
    assertions: Mapping[str, tuple[Assertion, ...]] = field(default_factory=dict)

    @cached_property
    def index(self) -> dict[str, _GeneIndex]:
        """gene -> its CIViC entries indexed by exact change and by codon (built once per base)."""
        return {gene: _GeneIndex.build(entries) for gene, entries in self.entries.items()}

    @property
    def description(self) -> str:
        """One line naming the sources, for the page and the report."""
        if self.civic_release:
            origin = f", {self.civic_origin}" if self.civic_origin else ""
            civic = f"CIViC predictive evidence, release {self.civic_release} (CC0{origin}; tier II-D at best)"
        else:
            civic = "CIViC not loaded"
        if not self.assertions:
            return civic
        return f"{civic}; therapy-level assertions from FDA labels and NCCN guidelines (MedAI table, to 2025-12-31)"


def civic_release_date(name: str) -> date | None:
    """The release date in a CIViC export or snapshot name (``01-Aug-2021-ClinicalEvidenceSummaries.tsv``), or
    None when the name carries no ``DD-Mon-YYYY`` date."""
    match = _DATE_RE.search(name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1).title(), "%d-%b-%Y").date()
    except ValueError:
        return None


def _export_date(path: Path) -> date:
    return civic_release_date(path.name) or date.fromtimestamp(path.stat().st_mtime)


def find_civic_export(folder: Path) -> Path | None:
    """The most recent ``*ClinicalEvidenceSummaries.tsv`` in ``folder`` by the release date parsed from its name
    (``DD-Mon-YYYY``; the file's modification date where the name has none), or None."""
    if not Path(folder).is_dir():
        return None
    found = list(Path(folder).glob("*ClinicalEvidenceSummaries.tsv"))
    return max(found, key=lambda p: (_export_date(p), p.name)) if found else None


def _shipped_snapshot() -> tuple[str, str] | None:
    """(resource name, release) of the newest CIViC snapshot shipped in ``data/``, or None."""
    folder = resources.files("medai_core.genomics").joinpath("data")
    found = [(m.group(1), item.name) for item in folder.iterdir() if (m := _SNAPSHOT_RE.match(item.name))]
    if not found:
        return None
    release, name = max(found, key=lambda f: civic_release_date(f[0]) or date.min)
    return name, release


def _join_drugs(drugs: str, interaction: str) -> str:
    names = [d.strip() for d in drugs.split(",") if d.strip()]
    return (" + " if interaction.strip().lower() == "combination" else "; ").join(names)


def read_civic_rows(path: Path) -> list[dict[str, str]]:
    """Accepted predictive items of a CIViC ``ClinicalEvidenceSummaries.tsv`` as :data:`SNAPSHOT_COLUMNS` rows.

    Raises:
        PanelInputError: the file is not a CIViC clinical evidence export.
    """
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            missing = [c for c in CIVIC_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise PanelInputError(
                    f"{Path(path).name} is not a CIViC ClinicalEvidenceSummaries export: columns {missing} are "
                    "missing. Download 'ClinicalEvidenceSummaries.tsv' from civicdb.org (Releases)."
                )
            out = []
            for row in reader:
                if row["evidence_type"] != "Predictive" or (row.get("evidence_status") or "accepted") != "accepted":
                    continue
                out.append(
                    {
                        "gene": row["gene"].strip().upper(),
                        "variant": " ".join(row["variant"].upper().split()),
                        "disease": row["disease"].strip(),
                        "drugs": _join_drugs(row["drugs"], row.get("drug_interaction_type") or ""),
                        "direction": row["evidence_direction"].strip(),
                        "significance": row["clinical_significance"].strip(),
                        "level": row["evidence_level"].strip(),
                        "evidence_id": (row.get("evidence_id") or "").strip(),
                        "citation_id": (row.get("citation_id") or "").strip(),
                    }
                )
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PanelInputError(f"{Path(path).name} cannot be read as a CIViC export ({exc}).") from None
    return out


def _entries_from_rows(rows: Iterable[dict[str, str]]) -> list[_Entry]:
    return [
        _Entry(
            r["gene"],
            r["variant"],
            r["disease"],
            r["drugs"],
            r["direction"],
            r["significance"],
            r["level"],
            f"CIViC EID{r['evidence_id']}" + (f" (PubMed {r['citation_id']})" if r["citation_id"] else ""),
        )
        for r in rows
    ]


def _read_snapshot(name: str) -> list[_Entry]:
    blob = resources.files("medai_core.genomics").joinpath(f"data/{name}").read_bytes()
    text = gzip.decompress(blob).decode("utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    return _entries_from_rows(rows)


@lru_cache(maxsize=4)
def _load(kind: str, location: str | None, stamp: float) -> EvidenceBase:
    entries: list[_Entry] = []
    release = None
    if kind == "snapshot" and location:
        snapshot = _shipped_snapshot()
        if snapshot is not None:
            entries.extend(_read_snapshot(snapshot[0]))
            release = snapshot[1]
    elif location:
        entries.extend(_entries_from_rows(read_civic_rows(Path(location))))
        found = civic_release_date(Path(location).name)
        release = found.strftime("%d-%b-%Y") if found else Path(location).name.split("-ClinicalEvidence")[0]
    by_gene: dict[str, list[_Entry]] = {}
    for entry in entries:
        by_gene.setdefault(entry.gene, []).append(entry)
    origin = {"snapshot": "snapshot shipped with MedAI Dashboard", "imported": "imported", "folder": "given folder"}
    return EvidenceBase(
        {g: tuple(v) for g, v in by_gene.items()}, release, origin[kind] if release else "", load_assertions()
    )


def load_evidence(folder: Path | None = None) -> EvidenceBase:
    """The therapy-level assertions plus one CIViC release.

    Args:
        folder: read the newest export in this folder only (no fallback; an empty folder gives the assertions
            alone). Default: the newest export by the date in its name among ``MEDAI_EVIDENCE_DIR`` (if set) and
            the exports installed by ``evidence import`` in the user data folder; without any, the snapshot shipped
            in the package.
    """
    if folder is not None:
        path = find_civic_export(Path(folder))
        return _load("folder", str(path) if path else None, path.stat().st_mtime if path else 0.0)
    extra = get_settings().evidence_dir
    folders = ([extra] if extra is not None else []) + [user_data_dir() / "civic"]
    found = [path for folder in folders if (path := find_civic_export(folder)) is not None]
    if found:
        path = max(found, key=_export_date)  # the newest release by its parsed date, wherever it is installed
        return _load("imported", str(path), path.stat().st_mtime)
    snapshot = _shipped_snapshot()
    return _load("snapshot", snapshot[0] if snapshot else None, 0.0)


# ---------------------------------------------------------------- matching


def _position(change: str) -> int | None:
    match = _CHANGE_RE.match(change)
    return int(match.group(2)) if match else None


def _is_compound(name: str) -> bool:
    return " AND " in f" {name} " or ";" in name


def _match_kind(entry_variant: str, gene: str, call: Variant) -> str | None:
    """How a CIViC entry matches a call (``variant``, ``codon``, ``exon``, ``gene-level``), or None (module rules)."""
    cls = call.classification
    change = call.protein_change.upper()
    name = entry_variant
    if cls in {"Amplification", "Deletion", "Fusion"}:
        kind = _GENE_LEVEL.get(name)
        if kind == cls:
            return "gene-level"
        if cls == "Fusion":
            if name in {f"{gene} FUSION", f"{gene} FUSIONS"}:
                return "gene-level"
            pair = _PAIR_FUSION_RE.match(name)
            partners = set(re.split(r"[^A-Z0-9]+", change)) if change else set()
            if pair and gene in pair.groups() and set(pair.groups()) <= partners:
                return "variant"
        return None
    if cls not in NONSYNONYMOUS_CLASSES:
        return None  # silent, non-coding, Unknown: nothing
    if _is_compound(name):
        return None
    if change and name == change:
        return "variant"
    missense = _MISSENSE_RE.match(change) if cls == "Missense_Mutation" else None
    if missense and missense.group(1) != missense.group(3):
        for part in name.split("/"):
            codon = _CODON_RE.match(part.strip())
            if codon and codon.groups() == missense.groups()[:2]:
                return "codon"
    kind = _GENE_LEVEL.get(name)
    if kind == "truncating":
        return "gene-level" if cls in _TRUNCATING and gene_role(gene) == "tumour suppressor" else None
    position = _position(change)
    if gene == "EGFR" and position is not None:
        if name == "EXON 19 DELETION" and cls == "In_Frame_Del" and 729 <= position <= 761:
            return "exon"
        if name == "EXON 20 INSERTION" and cls == "In_Frame_Ins" and 762 <= position <= 823:
            return "exon"
    met_exon14 = gene == "MET" and name.startswith("EXON 14 SKIPPING") and cls == "Splice_Site"
    if met_exon14 and position is not None and 960 <= position <= 1012:
        return "exon"
    return None


def _label(call: Variant) -> str:
    if call.gene == "TMB":
        return "TMB-high"
    if call.classification in {"Amplification", "Deletion", "Fusion"}:
        what = call.classification.lower() + (f" {call.protein_change}" if call.protein_change else "")
        return f"{call.gene} {what}"
    return f"{call.gene} {call.protein_change or call.classification}"


def _call_key(call: Variant) -> tuple[str, str, str]:
    """What evidence matching and tiering read from a call: gene, protein change and class."""
    return call.gene, call.protein_change, call.classification


def distinct_calls(variants: Iterable[Variant]) -> dict[Variant, int]:
    """The distinct calls for evidence matching, in first-seen order, each with how many rows repeat it.

    Args:
        variants: calls, possibly repeated (the same gene, protein change and class on several rows).

    Returns:
        first call of each (gene, protein change, class) -> the number of rows with that key.
    """
    first: dict[tuple[str, str, str], Variant] = {}
    counts: dict[tuple[str, str, str], int] = {}
    for call in variants:
        key = (call.gene, call.protein_change, call.classification)
        if key not in first:
            first[key] = call
            counts[key] = 0
        counts[key] += 1
    return {first[key]: n for key, n in counts.items()}


@lru_cache(maxsize=1)
def _civic_disease_codes() -> dict[str, str]:
    text = resources.files("medai_core.genomics").joinpath("data/civic_diseases.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    return {r["civic_disease"].lower(): r["oncotree"] for r in rows}


@lru_cache(maxsize=4096)
def disease_code(disease: str) -> str | None:
    """The OncoTree code of a knowledge-base disease name: the curated CIViC mapping, else an exact OncoTree name
    or code; None for anything else (``Cancer``, ``Solid Tumor``: never the patient's tumour type)."""
    key = " ".join(disease.lower().split())
    if key in _civic_disease_codes():
        return _civic_disease_codes()[key]
    tree = oncotree()
    return tree.code_for_name(key) or (disease.strip().upper() if disease.strip().upper() in tree.nodes else None)


def _assertion_item(a: Assertion, call: Variant, how: str, tumour: TumourType) -> EvidenceItem:
    tree = oncotree()
    excluded = bool(a.exclude) and tree.within(tumour.code, a.exclude)
    same = tree.within(tumour.code, a.oncotree) and not excluded
    names = [tree.nodes[c][0] if c in tree.nodes else "any solid tumour" for c in a.oncotree]
    disease = ", ".join(names)
    if a.exclude:
        disease += " (except " + ", ".join(tree.nodes[c][0] for c in a.exclude if c in tree.nodes) + ")"
    return EvidenceItem(
        a.gene,
        a.biomarker.text,
        _label(call),
        "definition",
        a.level,
        a.drugs,
        "Supports",
        "Resistance" if a.significance == "Resistance" else "Sensitivity/Response",
        disease,
        same,
        f"{a.citation} [{a.id}]",
        kind="assertion",
        biomarker=how,
        date=a.date,
        url=a.url,
        agnostic=a.agnostic,
        excluded=excluded,
        line=a.line,
        assertion_id=a.id,
    )


def _civic_item(entry: _Entry, call: Variant, kind: str, tumour: TumourType) -> EvidenceItem:
    code = disease_code(entry.disease)
    same = code is not None and oncotree().within(tumour.code, [code])
    eid = entry.source.split()[1] if entry.source.startswith("CIViC EID") else ""
    return EvidenceItem(
        call.gene,
        entry.variant,
        _label(call),
        kind,
        entry.level,
        entry.drugs,
        entry.direction,
        entry.significance,
        entry.disease,
        same,
        entry.source,
        biomarker=f"CIViC {entry.variant.lower()} ({kind} match)",
        url=f"https://civicdb.org/evidence/{eid.removeprefix('EID')}" if eid else "",
    )


def match_evidence(
    base: EvidenceBase, variants: Iterable[Variant], tumour_type: str | TumourType, *, tmb_high: bool = False
) -> tuple[EvidenceItem, ...]:
    """Every assertion and CIViC item that matches one of the calls, sorted: same tumour type first, then level
    (FDA/NCCN, A..E), then specificity. ``tmb_high`` adds the TMB-high assertions.

    Args:
        base: from :func:`load_evidence`.
        variants: the calls; identical calls (same gene, protein change and class) are matched once.
        tumour_type: an OncoTree code, name or synonym (resolved by
            :func:`~medai_core.genomics.tumours.resolve_tumour`) or a resolved :class:`TumourType`.

    The knowledge is indexed by gene, so the cost is linear in the number of distinct calls.

    Raises:
        PanelInputError: an unknown tumour type.
    """
    tumour = tumour_type if isinstance(tumour_type, TumourType) else resolve_tumour(tumour_type)
    items: list[EvidenceItem] = []
    seen: set[tuple[str, str, str]] = set()
    calls: list[Variant] = list(distinct_calls(variants))
    if tmb_high:
        calls.append(Variant("TMB", "TMB-HIGH", "Targeted_Region", None, ""))
    for call in calls:
        for assertion in base.assertions.get(call.gene, ()):
            how = assertion.biomarker.met_by(call.gene, call.protein_change, call.classification)
            if how is not None:
                items.append(_assertion_item(assertion, call, how, tumour))
        if call.gene == "TMB":
            continue
        index = base.index.get(call.gene)
        for entry in index.candidates(call) if index is not None else ():
            kind = _match_kind(entry.variant, call.gene, call)
            if kind is None:
                continue
            key = (_label(call), entry.source, entry.disease)
            if key in seen:
                continue
            seen.add(key)
            items.append(_civic_item(entry, call, kind, tumour))
    specificity = {"definition": 0, "variant": 0, "exon": 1, "codon": 1, "gene-level": 2}
    items.sort(key=lambda e: (not e.same_tumour_type, _LEVEL_ORDER.get(e.level, 9), specificity[e.match_kind], e.gene))
    return tuple(items)


#: Classes that get tier IV (benign or likely benign for therapy) when no evidence matches: synonymous, intronic,
#: intergenic, non-coding RNA, 3' UTR and downstream calls. Promoter/5' calls (e.g. TERT promoter mutations), splice
#: region, interaction-only and Unknown calls stay tier III: their significance is unknown, not benign.
LIKELY_BENIGN_CLASSES: frozenset[str] = frozenset({"Silent", "Intron", "IGR", "RNA", "3'UTR", "3'Flank"})


def _best_by_call(evidence: Sequence[EvidenceItem]) -> dict[str, tuple[int, str, EvidenceItem]]:
    best: dict[str, tuple[int, str, EvidenceItem]] = {}
    for e in evidence:
        tier = e.tier
        if tier is None:
            continue
        rank = TIERS.index(tier)
        if e.matched not in best or rank < best[e.matched][0]:
            best[e.matched] = (rank, tier, e)
    return best


def _tier_of_call(call: Variant, best: Mapping[str, tuple[int, str, EvidenceItem]]) -> tuple[str, str]:
    found = best.get(_label(call))
    if found is not None:
        _, tier, e = found
        what = "resistance" if e.is_resistance else "response"
        where = "this tumour type" if e.same_tumour_type else f"another tumour type ({e.disease})"
        if e.kind == "assertion":
            return tier, f"{e.level} {what} assertion in {where}; {e.biomarker} ({e.source})"
        return tier, f"CIViC level {e.level} {what} evidence in {e.disease}, tier II-D at most ({e.source})"
    if call.classification in LIKELY_BENIGN_CLASSES:
        return "IV", "no protein change and no evidence: likely benign for therapy (synonymous or non-coding)"
    if call.classification in NON_CODING_CLASSES:
        return "III", "no evidence matched; non-coding call near a promoter or splice site: unknown significance"
    hot = hotspot_kind(call.gene, call.protein_change.upper(), call.classification)
    if hot:
        return "III", f"{hot}, but no therapy-level evidence for it in this tumour type"
    return "III", "no therapeutic evidence matched: unknown clinical significance"


def call_tier(call: Variant, evidence: Sequence[EvidenceItem]) -> tuple[str, str]:
    """AMP/ASCO/CAP 2017 tier of one call and the reason.

    The best tier of the evidence matched to this call (tier I only from therapy-level assertions in this tumour
    type, II-C from assertions for another type, II-D from CIViC); without any: ``IV`` for
    :data:`LIKELY_BENIGN_CLASSES` (no protein change, away from promoters and splice sites), else ``III``
    (unknown significance, including ``Unknown`` calls and hotspots without therapy evidence). Population
    frequencies are not available here, so no protein-changing call is ever called benign.
    """
    return _tier_of_call(call, _best_by_call(evidence))


def call_tiers(calls: Sequence[Variant], evidence: Sequence[EvidenceItem]) -> tuple[tuple[str, str], ...]:
    """:func:`call_tier` of every call, with the evidence indexed once (linear in calls + evidence).

    Returns:
        one (tier, reason) per call, in the order of ``calls``.
    """
    best = _best_by_call(evidence)
    memo: dict[tuple[str, str, str], tuple[str, str]] = {}
    out = []
    for call in calls:
        key = _call_key(call)
        if key not in memo:
            memo[key] = _tier_of_call(call, best)
        out.append(memo[key])
    return tuple(out)


@dataclass(frozen=True)
class TherapyOption:
    """One drug (or combination) supported by the matched evidence.

    Attributes:
        drugs: ``Dabrafenib + Trametinib``.
        tier: best AMP/ASCO/CAP tier among its supporting items.
        same_tumour_type: some support is in the patient's tumour type.
        calls: the calls that support it (``BRAF V600E``).
        sources: citations of the supporting items (label section, guideline, CIViC EID + PubMed).
        resistance: lines describing evidence of resistance to any of its drugs among the patient's calls.
        biomarkers: the biomarker definitions met (``V600E|V600K: exact change V600E named by the source``).
        dates: approval / label / guideline dates of the supporting assertions; urls: links to the sources.
        agnostic: its tier comes only from tumour-agnostic assertions (ranked after a tumour-specific approval).
        line: line of therapy of the best supporting assertion.
        removed_by: why the option is withheld (resistance in this tumour type); empty for an offered option.
    """

    drugs: str
    tier: str
    same_tumour_type: bool
    calls: tuple[str, ...]
    sources: tuple[str, ...]
    resistance: tuple[str, ...]
    biomarkers: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    agnostic: bool = False
    line: str = ""
    removed_by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON row (``drugs``, ``tier``, ``calls``, ``sources``, ``resistance``, ``same_tumour_type``,
        ``biomarkers``, ``dates``, ``urls``, ``tumour_agnostic``, ``line``, ``removed_by``)."""
        return {
            "drugs": self.drugs,
            "tier": self.tier,
            "calls": list(self.calls),
            "sources": list(self.sources),
            "resistance": list(self.resistance),
            "same_tumour_type": self.same_tumour_type,
            "biomarkers": list(self.biomarkers),
            "dates": list(self.dates),
            "urls": list(self.urls),
            "tumour_agnostic": self.agnostic,
            "line": self.line,
            "removed_by": list(self.removed_by),
        }


def _drug_key(option: str) -> frozenset[str]:
    return frozenset(d.strip().lower() for d in option.split("+") if d.strip())


def _offerable(item: EvidenceItem) -> bool:
    """Whether an item may put a drug on the list: an assertion that does not exclude this tumour type, or a CIViC
    clinical (level A/B) item in this tumour type naming specific drugs (off-tumour, case-report and preclinical
    CIViC evidence stays evidence)."""
    if not item.is_sensitivity or item.tier is None:
        return False
    if item.kind == "assertion":
        return True
    return item.same_tumour_type and item.level in {"A", "B"} and bool(item.drugs)


def ranked_options(evidence: Sequence[EvidenceItem]) -> tuple[tuple[TherapyOption, ...], tuple[TherapyOption, ...]]:
    """(offered, removed) therapy options. Offered: best first, by tier, then tumour-type-specific before
    tumour-agnostic, then support in this tumour type, then fewer resistance findings, then more sources.
    Removed: options all of whose drugs have resistance evidence in this tumour type (a resistance assertion, or
    CIViC level A/B), or that a label excludes for this tumour type (the BRAF V600E tumour-agnostic label and
    colorectal cancer), each with ``removed_by`` saying why. Alternatives (``A; B``) become separate options; a
    combination (``A + B``) stays one."""
    groups: dict[frozenset[str], dict[str, Any]] = {}
    for item in evidence:
        if not _offerable(item):
            continue
        tier = str(item.tier)
        for option in (o.strip() for o in item.drugs.split(";")):
            key = _drug_key(option)
            if not option or key <= GENERIC_THERAPIES:
                continue
            group = groups.setdefault(
                key,
                {
                    "drugs": option,
                    "tier": tier,
                    "same": False,
                    "calls": [],
                    "sources": [],
                    "bio": [],
                    "dates": [],
                    "urls": [],
                    "specific": False,
                    "line": "",
                    "best": 99,
                },
            )
            rank = TIERS.index(tier)
            if rank < group["best"]:
                group.update(best=rank, tier=tier, line=item.line)
            if tier.startswith("I-") and not item.agnostic:
                group["specific"] = True
            group["same"] = group["same"] or item.same_tumour_type
            for name, value in (
                ("calls", item.matched),
                ("sources", item.source),
                ("dates", item.date),
                ("urls", item.url),
                ("bio", f"{item.variant}: {item.biomarker}"),
            ):
                if value and value not in group[name]:
                    group[name].append(value)
    resistance = [e for e in evidence if e.is_resistance]
    blocking = [e for e in resistance if e.same_tumour_type and e.level in {"FDA", "NCCN", "A", "B"}]
    offered: list[tuple[TherapyOption, int]] = []
    removed: list[tuple[TherapyOption, int]] = []
    for key, group in groups.items():
        against, same_type = [], 0
        for e in resistance:
            drugs = set().union(*(_drug_key(o) for o in e.drugs.split(";"))) if e.drugs else set()
            if drugs & key:
                line = f"{e.matched}: {e.significance.lower()} to {e.drugs}, level {e.level}, {e.disease} ({e.source})"
                if line not in against:
                    against.append(line)
                    same_type += e.same_tumour_type
        blocked = [
            f"{e.matched}: the label excludes this tumour type for {e.drugs} ({e.source})"
            for e in evidence
            if e.excluded and e.is_sensitivity and _drug_key(e.drugs) == key
        ]
        for e in blocking:
            drugs = set().union(*(_drug_key(o) for o in e.drugs.split(";")))
            if key <= drugs:
                why = f"{e.matched}: {e.significance.lower()} to {e.drugs} in {e.disease} (level {e.level}; {e.source})"
                if why not in blocked:
                    blocked.append(why)
        made = TherapyOption(
            group["drugs"],
            group["tier"],
            group["same"],
            tuple(group["calls"]),
            tuple(group["sources"]),
            tuple(against),
            tuple(group["bio"]),
            tuple(group["dates"]),
            tuple(group["urls"]),
            group["tier"].startswith("I-") and not group["specific"],
            group["line"],
            tuple(blocked),
        )
        (removed if blocked else offered).append((made, same_type))

    def order(pair: tuple[TherapyOption, int]) -> tuple[Any, ...]:
        o, same_type = pair
        return (TIERS.index(o.tier), o.agnostic, not o.same_tumour_type, same_type, -len(o.sources), o.drugs)

    return tuple(o for o, _ in sorted(offered, key=order)), tuple(o for o, _ in sorted(removed, key=order))


def therapy_options(evidence: Sequence[EvidenceItem]) -> tuple[TherapyOption, ...]:
    """The offered options of :func:`ranked_options`, best first."""
    return ranked_options(evidence)[0]


def evidence_import(source: Path, dest_dir: Path | None = None) -> tuple[Path, int]:
    """Validate a downloaded CIViC ``ClinicalEvidenceSummaries.tsv`` and copy it into the user data folder, where
    it takes precedence over the shipped snapshot (the newest installed release by the date in its name wins).

    Returns:
        (the installed path, the number of accepted predictive evidence items).

    Raises:
        PanelInputError: the file is missing or not a CIViC clinical evidence export.
    """
    source = Path(source)
    if not source.is_file():
        raise PanelInputError(
            f"{source.name} does not exist. Give the path of the downloaded ClinicalEvidenceSummaries.tsv."
        )
    rows = read_civic_rows(source)
    if not rows:
        raise PanelInputError(f"{source.name} holds no accepted predictive evidence items; is it the right export?")
    target_dir = Path(dest_dir) if dest_dir is not None else user_data_dir() / "civic"
    target_dir.mkdir(parents=True, exist_ok=True)
    released = civic_release_date(source.name)
    stamp = (released or date.today()).strftime("%d-%b-%Y")
    target = target_dir / f"{stamp}-ClinicalEvidenceSummaries.tsv"
    shutil.copyfile(source, target)
    return target, len(rows)


def evidence_rows(items: Sequence[EvidenceItem]) -> list[dict[str, object]]:
    """JSON rows in the CLI contract's keys (plus ``matched``, ``match_kind``, ``tier``, ``kind``, ``biomarker``,
    ``date``, ``url``, ``excluded``)."""
    return [
        {
            "gene": e.gene,
            "variant": e.variant,
            "matched": e.matched,
            "match_kind": e.match_kind,
            "level": e.level,
            "tier": e.tier,
            "drugs": e.drugs,
            "direction": e.direction,
            "significance": e.significance,
            "disease": e.disease,
            "same_tumour_type": e.same_tumour_type,
            "source": e.source,
            "kind": e.kind,
            "biomarker": e.biomarker,
            "date": e.date,
            "url": e.url,
            "excluded": e.excluded,
        }
        for e in items
    ]
