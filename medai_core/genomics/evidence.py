"""Knowledge-base evidence for panel alterations: CIViC predictive evidence (Griffith et al., Nat Genet 2017; CC0)
and a small shipped table of FDA-approved biomarker-therapy pairs (``data/fda_biomarkers.csv``, label citations).

Matching, most specific first: the exact protein change (``V600E``); a codon (``V600`` matches ``V600K``);
gene-level entries (``MUTATION`` for any nonsynonymous call, ``TRUNCATING``/``LOSS-OF-FUNCTION`` for nonsense,
frameshift and splice-site calls, ``AMPLIFICATION``, ``FUSION``); and EGFR exon 19 deletions / exon 20 insertions
and MET exon 14 splice-site calls. Each item says whether its disease is the patient's tumour type.
"""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from medai_core.config import get_settings, user_data_dir
from medai_core.errors import PanelInputError
from medai_core.genomics.io import Variant
from medai_core.genomics.tumours import disease_matches

__all__ = [
    "EvidenceBase",
    "EvidenceItem",
    "evidence_import",
    "find_civic_export",
    "load_evidence",
    "match_evidence",
]

_LEVEL_ORDER = {"FDA": 0, "A": 1, "B": 2, "C": 3, "D": 4, "E": 5}
_TRUNCATING = frozenset({"Nonsense_Mutation", "Frame_Shift_Del", "Frame_Shift_Ins", "Splice_Site", "Nonstop_Mutation"})
_CIVIC_COLUMNS = (
    "gene",
    "variant",
    "disease",
    "drugs",
    "evidence_type",
    "evidence_direction",
    "evidence_level",
    "clinical_significance",
)
# CIViC variant names that cover a class of calls rather than one protein change.
_GENE_LEVEL = {
    "MUTATION": "any",
    "MUTATIONS": "any",
    "OVEREXPRESSION": "none",
    "LOSS-OF-FUNCTION": "truncating",
    "TRUNCATING MUTATION": "truncating",
    "TRUNCATING": "truncating",
    "FRAMESHIFT TRUNCATION": "truncating",
    "FRAMESHIFT MUTATION": "truncating",
    "NONSENSE MUTATION": "truncating",
    "DELETERIOUS MUTATION": "truncating",
    "AMPLIFICATION": "amplification",
    "COPY NUMBER GAIN": "amplification",
    "DELETION": "deletion",
    "LOSS": "deletion",
    "FUSION": "fusion",
    "FUSIONS": "fusion",
    "REARRANGEMENT": "fusion",
}
_CODON_RE = re.compile(r"^([A-Z])(\d+)$")
_CHANGE_RE = re.compile(r"^([A-Z*])(\d+)")


@dataclass(frozen=True)
class EvidenceItem:
    """One knowledge-base statement matched to a call.

    Attributes:
        gene: gene symbol; variant: the knowledge-base variant name (``V600E``, ``MUTATION``).
        matched: the patient's call it was matched to (``BRAF V600E``) and how (``variant``, ``codon``,
            ``gene-level``).
        level: CIViC evidence level A-E, or ``FDA`` for the shipped label table.
        drugs: therapies, ``; ``-joined.
        direction: ``Supports`` or ``Does Not Support``.
        significance: ``Sensitivity/Response``, ``Resistance``, ``Reduced Sensitivity``, ``Adverse Response``.
        disease: the disease the evidence is for; same_tumour_type: whether that is the patient's type.
        source: ``CIViC EID1409 (PubMed 22608338)`` or the FDA label citation.
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

    @property
    def is_resistance(self) -> bool:
        """Evidence supporting resistance (or reduced sensitivity) to the drugs."""
        return self.direction == "Supports" and self.significance in {"Resistance", "Reduced Sensitivity"}


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
class EvidenceBase:
    """Predictive evidence indexed by gene.

    Attributes:
        entries: gene -> entries; civic_release: the CIViC export's name, or None when only the FDA table is loaded.
    """

    entries: dict[str, tuple[_Entry, ...]]
    civic_release: str | None

    @property
    def description(self) -> str:
        """One line naming the sources, for the page and the report."""
        civic = f"CIViC {self.civic_release} (CC0)" if self.civic_release else "CIViC not installed"
        return f"{civic}; FDA label table shipped with MedAI Dashboard"


def find_civic_export(folder: Path) -> Path | None:
    """The newest ``*ClinicalEvidenceSummaries.tsv`` in ``folder`` (by name, which starts with the date), or None."""
    if not Path(folder).is_dir():
        return None
    found = sorted(Path(folder).glob("*ClinicalEvidenceSummaries.tsv"))
    return found[-1] if found else None


def _read_fda() -> list[_Entry]:
    text = resources.files("medai_core.genomics").joinpath("data/fda_biomarkers.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return [
        _Entry(
            r["gene"],
            r["variant"].upper(),
            r["disease"],
            r["drugs"],
            "Supports",
            r["significance"],
            "FDA",
            f"FDA label: {r['label_citation']}",
        )
        for r in rows
    ]


def _read_civic(path: Path) -> list[_Entry]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [c for c in _CIVIC_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise PanelInputError(
                f"{path.name} is not a CIViC ClinicalEvidenceSummaries export: columns {missing} are missing. "
                "Download 'ClinicalEvidenceSummaries.tsv' from civicdb.org (Releases)."
            )
        out = []
        for row in reader:
            if row["evidence_type"] != "Predictive" or row.get("evidence_status", "accepted") != "accepted":
                continue
            eid = row.get("evidence_id", "")
            pmid = row.get("citation_id", "")
            out.append(
                _Entry(
                    row["gene"].strip().upper(),
                    row["variant"].strip().upper(),
                    row["disease"].strip(),
                    row["drugs"].replace(",", ";").strip(),
                    row["evidence_direction"].strip(),
                    row["clinical_significance"].strip(),
                    row["evidence_level"].strip(),
                    f"CIViC EID{eid}" + (f" (PubMed {pmid})" if pmid else ""),
                )
            )
    return out


@lru_cache(maxsize=4)
def _load(civic_path: str | None, mtime: float) -> EvidenceBase:
    entries = _read_fda()
    release = None
    if civic_path:
        entries.extend(_read_civic(Path(civic_path)))
        release = Path(civic_path).name.split("-ClinicalEvidence")[0]
    by_gene: dict[str, list[_Entry]] = {}
    for entry in entries:
        by_gene.setdefault(entry.gene, []).append(entry)
    return EvidenceBase({g: tuple(v) for g, v in by_gene.items()}, release)


def load_evidence(folder: Path | None = None) -> EvidenceBase:
    """The FDA table plus the CIViC export from ``folder`` (default: the configured evidence folder, then the
    user data folder where ``evidence import`` copies it). Cached per file and modification time."""
    candidates = [Path(folder)] if folder is not None else [get_settings().evidence_dir, user_data_dir() / "civic"]
    path = next((p for p in (find_civic_export(c) for c in candidates) if p is not None), None)
    return _load(str(path) if path else None, path.stat().st_mtime if path else 0.0)


def _position(change: str) -> int | None:
    match = _CHANGE_RE.match(change)
    return int(match.group(2)) if match else None


def _match_kind(entry_variant: str, gene: str, call: Variant) -> str | None:
    change = call.protein_change.upper()
    if change and entry_variant == change:
        return "variant"
    for part in entry_variant.split("/"):
        codon = _CODON_RE.match(part.strip())
        if codon and change.startswith(part.strip()) and len(change) > len(part.strip()):
            nxt = change[len(part.strip())]
            if not nxt.isdigit():
                return "codon"
    kind = _GENE_LEVEL.get(entry_variant)
    position = _position(change)
    if kind == "any" and call.nonsynonymous:
        return "gene-level"
    if kind == "truncating" and call.classification in _TRUNCATING:
        return "gene-level"
    if kind == "amplification" and call.classification == "Amplification":
        return "gene-level"
    if kind == "deletion" and call.classification == "Deletion":
        return "gene-level"
    if kind == "fusion" and call.classification == "Fusion":
        return "gene-level"
    if entry_variant.endswith("FUSIONS") or entry_variant.endswith("FUSION"):
        return "gene-level" if call.classification == "Fusion" else None
    if gene == "EGFR" and position is not None:
        if entry_variant == "EXON 19 DELETION" and call.classification == "In_Frame_Del" and 729 <= position <= 761:
            return "exon"
        if entry_variant == "EXON 20 INSERTION" and call.classification == "In_Frame_Ins" and 762 <= position <= 823:
            return "exon"
    if gene == "MET" and entry_variant.startswith("EXON 14 SKIPPING") and call.classification == "Splice_Site":
        return "exon"
    return None


def match_evidence(
    base: EvidenceBase, variants: Iterable[Variant], tumour_type: str, *, tmb_high: bool = False
) -> tuple[EvidenceItem, ...]:
    """Every evidence entry that matches one of the calls, sorted: same tumour type first, then level
    (FDA, A..E), then variant-level before gene-level. ``tmb_high`` adds the TMB-high label entries."""
    items: list[EvidenceItem] = []
    seen: set[tuple[str, str, str]] = set()
    calls: list[Variant] = [v for v in variants if v.classification not in {"Intron", "IGR", "RNA"}]
    if tmb_high:
        calls.append(Variant("TMB", "TMB-HIGH", "Targeted_Region", None, ""))
    for call in calls:
        for entry in base.entries.get(call.gene, ()):
            kind = (
                "variant"
                if call.gene == "TMB" and entry.variant == "TMB-HIGH"
                else _match_kind(entry.variant, call.gene, call)
            )
            if kind is None:
                continue
            label = f"{call.gene} {call.protein_change or call.classification}"
            key = (label, entry.source, entry.disease)
            if key in seen:
                continue
            seen.add(key)
            same = entry.disease == "Solid Tumor" or disease_matches(tumour_type, entry.disease)
            items.append(
                EvidenceItem(
                    call.gene,
                    entry.variant,
                    label,
                    kind,
                    entry.level,
                    entry.drugs,
                    entry.direction,
                    entry.significance,
                    entry.disease,
                    same,
                    entry.source,
                )
            )
    specificity = {"variant": 0, "exon": 1, "codon": 1, "gene-level": 2}
    items.sort(key=lambda e: (not e.same_tumour_type, _LEVEL_ORDER.get(e.level, 9), specificity[e.match_kind], e.gene))
    return tuple(items)


def evidence_import(source: Path, dest_dir: Path | None = None) -> tuple[Path, int]:
    """Validate a downloaded CIViC ``ClinicalEvidenceSummaries.tsv`` and copy it into the user data folder.

    Returns:
        (the installed path, the number of accepted predictive evidence items).

    Raises:
        PanelInputError: the file is missing or not a CIViC clinical evidence export.
    """
    source = Path(source)
    if not source.is_file():
        raise PanelInputError(
            f"{source} does not exist. Give the path of the downloaded ClinicalEvidenceSummaries.tsv."
        )
    entries = _read_civic(source)
    if not entries:
        raise PanelInputError(f"{source.name} holds no accepted predictive evidence items; is it the right export?")
    target_dir = Path(dest_dir) if dest_dir is not None else user_data_dir() / "civic"
    target_dir.mkdir(parents=True, exist_ok=True)
    name = (
        source.name
        if source.name.endswith("ClinicalEvidenceSummaries.tsv")
        else "imported-ClinicalEvidenceSummaries.tsv"
    )
    target = target_dir / name
    shutil.copyfile(source, target)
    return target, len(entries)


def evidence_rows(items: Sequence[EvidenceItem]) -> list[dict[str, object]]:
    """JSON rows in the CLI contract's keys."""
    return [
        {
            "gene": e.gene,
            "variant": e.variant,
            "matched": e.matched,
            "level": e.level,
            "drugs": e.drugs,
            "direction": e.direction,
            "significance": e.significance,
            "disease": e.disease,
            "same_tumour_type": e.same_tumour_type,
            "source": e.source,
        }
        for e in items
    ]
