"""Biomarker definitions: what a knowledge-base row requires of a call, and whether a call meets it.

A definition is one of (one table-driven test shows each at its edges):

* exact protein changes, ``V600E`` or ``V600E|V600K``;
* codons, ``codon V600`` or ``codon G12|G13``: a *missense* call at that codon to another amino acid (a bare
  ``G13`` among alternatives is a codon too, since it names no new amino acid);
* ``missense 310-547``: a missense call in that range of codons;
* ``exon 19 deletion``, ``exon 20 insertion``, ``exon 14 skipping``, ``exon 18 mutation``: the gene's exon as a range
  of codons (:data:`EXONS`), with the call class the word names;
* ``oncogenic mutation``: a known hotspot (Chang et al. 2018: the observed amino acid at a single-residue hotspot,
  or an in-frame indel starting in an indel hotspot), or a truncating call (nonsense, frameshift, splice site) in a
  tumour suppressor (:func:`gene_role`); ``activating mutation``: the hotspot part only;
* ``truncating mutation``: nonsense, frameshift or splice-site call;
* ``amplification``, ``deletion``, ``fusion`` (optionally ``fusion FGFR3-TACC3|FGFR3-BAIAP2L1``: one of these
  pairs), and the signature ``TMB-high``.

Any other call does not meet the definition: a non-hotspot missense in an oncogene, or a truncating call in an
oncogene, is of unknown significance (tier III), never "oncogenic".
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from medai_core.errors import PanelInputError

__all__ = [
    "CLASS_WORDS",
    "EXONS",
    "Biomarker",
    "gene_role",
    "hotspot_kind",
    "parse_biomarker",
    "table_source",
]

TRUNCATING = frozenset({"Nonsense_Mutation", "Frame_Shift_Del", "Frame_Shift_Ins", "Splice_Site"})
#: (gene, exon) -> first and last codon (canonical transcript) used by ``exon N ...`` definitions.
EXONS: dict[tuple[str, int], tuple[int, int]] = {
    ("EGFR", 19): (729, 761),
    ("EGFR", 20): (762, 823),
    ("MET", 14): (960, 1012),
    ("PDGFRA", 18): (814, 854),
}
#: Words of class-level definitions -> their meaning.
CLASS_WORDS: dict[str, str] = {
    "oncogenic mutation": "oncogenic",
    "activating mutation": "activating",
    "truncating mutation": "truncating",
    "amplification": "Amplification",
    "deletion": "Deletion",
    "fusion": "Fusion",
    "tmb-high": "TMB-high",
}
_EXACT = re.compile(r"^[A-Z]\d+(?:[A-Z*]|_[A-Z]\d+(?:del|ins|delins|dup)[A-Z]*|del|dup|fs\*?\d*)$")
_CODON = re.compile(r"^(?:codon )?([A-Z])(\d+)$")
_EXON = re.compile(r"^exon (\d+) (deletion|insertion|skipping|mutation)$")
_MISSENSE_RANGE = re.compile(r"^missense (\d+)-(\d+)$")
_CALL_CHANGE = re.compile(r"^([A-Z*])(\d+)([A-Z*]?)")


@dataclass(frozen=True)
class Biomarker:
    """A parsed definition.

    Attributes:
        text: the definition as written in the table.
        alternatives: one or more (kind, value) pairs; the call meets the biomarker when it meets one of them.
            Kinds: ``exact`` (protein change), ``codon`` ((ref, position)), ``exon`` ((first, last, word)),
            ``missense`` ((first, last)), ``class`` (a :data:`CLASS_WORDS` meaning), ``fusion`` (a gene pair).
    """

    text: str
    alternatives: tuple[tuple[str, Any], ...]

    def met_by(self, gene: str, change: str, classification: str) -> str | None:
        """How a call meets this definition, in words (``exact change V600E``), or None."""
        for kind, value in self.alternatives:
            how = _meets(kind, value, gene, change, classification)
            if how:
                return how
        return None


def parse_biomarker(gene: str, text: str) -> Biomarker:
    """Parse one definition (module rules).

    Raises:
        PanelInputError: the text is not a definition this module knows, or names an exon not in :data:`EXONS`.
    """
    raw = " ".join(text.strip().split())
    low = raw.lower()
    if low in CLASS_WORDS:
        return Biomarker(raw, (("class", CLASS_WORDS[low]),))
    if low.startswith("fusion "):
        pairs = tuple(("fusion", p.strip().upper()) for p in raw[len("fusion ") :].split("|") if p.strip())
        return Biomarker(raw, pairs)
    missense = _MISSENSE_RANGE.match(low)
    if missense:
        return Biomarker(raw, (("missense", (int(missense.group(1)), int(missense.group(2)))),))
    out: list[tuple[str, Any]] = []
    for part in (p.strip() for p in raw.split("|")):
        exon = _EXON.match(part.lower())
        codon = _CODON.match(part)
        if exon:
            key = (gene, int(exon.group(1)))
            if key not in EXONS:
                raise PanelInputError(f"{gene} {part}: exon {key[1]} of {gene} has no codon range in EXONS.")
            out.append(("exon", (*EXONS[key], exon.group(2))))
        elif codon:
            out.append(("codon", (codon.group(1), int(codon.group(2)))))
        elif _EXACT.match(part):
            out.append(("exact", part))
        else:
            raise PanelInputError(f"{gene}: {part!r} is not a biomarker definition (see knowledge.biomarkers).")
    return Biomarker(raw, tuple(out))


def _position(change: str) -> int | None:
    match = _CALL_CHANGE.match(change)
    return int(match.group(2)) if match else None


def _meets_codon(value: tuple[str, int], change: str, cls: str) -> str | None:
    """A missense call at codon ``value`` (reference, position) to another amino acid."""
    ref, pos = value
    call = _CALL_CHANGE.match(change)
    at_codon = cls == "Missense_Mutation" and call and (call.group(1), int(call.group(2))) == (ref, pos)
    if at_codon and call and call.group(3) and call.group(3) not in {ref, "*"}:
        return f"missense at codon {ref}{pos}"
    return None


_EXON_CLASSES: dict[str, set[str]] = {
    "deletion": {"In_Frame_Del"},
    "insertion": {"In_Frame_Ins"},
    "skipping": {"Splice_Site"},
    "mutation": {"Missense_Mutation", "In_Frame_Del", "In_Frame_Ins"},
}


def _meets_range(kind: str, value: Any, change: str, cls: str) -> str | None:
    """A missense call in a codon range, or an exon deletion/insertion/skipping/mutation by codon range."""
    pos = _position(change)
    if pos is None:
        return None
    call = _CALL_CHANGE.match(change)
    if kind == "missense":
        first, last = value
        ok = cls == "Missense_Mutation" and first <= pos <= last and call is not None and call.group(3) not in {"", "*"}
        return f"missense in codons {first}-{last}" if ok and call and call.group(3) != call.group(1) else None
    if kind == "exon":
        first, last, word = value
        if not first <= pos <= last:
            return None
        return f"exon {word} (codons {first}-{last})" if cls in _EXON_CLASSES[word] else None
    return None


def _meets(kind: str, value: Any, gene: str, change: str, cls: str) -> str | None:
    if kind == "class":
        return _meets_class(str(value), gene, change, cls)
    if kind == "fusion":
        partners = set(re.split(r"[^A-Z0-9]+", change.upper())) if change else set()
        return f"fusion {value}" if cls == "Fusion" and set(str(value).split("-")) <= partners else None
    if cls in {"Amplification", "Deletion", "Fusion"}:
        return None
    if kind == "exact":
        return f"exact change {value} named by the source" if change.upper() == value else None
    if kind == "codon":
        return _meets_codon(value, change, cls)
    return _meets_range(kind, value, change, cls)


def _meets_class(meaning: str, gene: str, change: str, cls: str) -> str | None:
    if meaning in {"Amplification", "Deletion", "Fusion"}:
        return meaning.lower() if cls == meaning else None
    if meaning == "TMB-high":
        return "TMB-high (>= 10 mut/Mb)" if gene == "TMB" and change.upper() == "TMB-HIGH" else None
    if meaning == "truncating":
        return "truncating call (nonsense, frameshift or splice site)" if cls in TRUNCATING else None
    hot = hotspot_kind(gene, change, cls)
    if hot:
        return hot
    if meaning == "oncogenic" and cls in TRUNCATING and gene_role(gene) == "tumour suppressor":
        return "truncating call in a tumour suppressor"
    return None


# ---------------------------------------------------------------- shipped tables


def table_source(name: str) -> str:
    """The first (``#``) line of a shipped table: its source, licence and release."""
    text = resources.files("medai_core.genomics").joinpath(f"data/{name}").read_text(encoding="utf-8")
    first = text.split("\n", 1)[0]
    return first.lstrip("# ").strip() if first.startswith("#") else ""


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("medai_core.genomics").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return list(csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t"))


@lru_cache(maxsize=1)
def _roles() -> dict[str, str]:
    return {r["gene"]: r["role"] for r in _rows("gene_roles.tsv")}


@lru_cache(maxsize=1)
def _hotspots() -> dict[str, tuple[dict[int, str], tuple[tuple[int, int], ...]]]:
    singles: dict[str, dict[int, str]] = {}
    indels: dict[str, list[tuple[int, int]]] = {}
    for r in _rows("cancer_hotspots.tsv"):
        if r["kind"] == "single":
            singles.setdefault(r["gene"], {})[int(r["start"])] = r["variants"]
        else:
            indels.setdefault(r["gene"], []).append((int(r["start"]), int(r["end"])))
    genes = set(singles) | set(indels)
    return {g: (singles.get(g, {}), tuple(indels.get(g, ()))) for g in genes}


def gene_role(gene: str) -> str | None:
    """``oncogene``, ``tumour suppressor`` or None (not in the shipped role table: only hotspots count)."""
    return _roles().get(gene)


def hotspot_kind(gene: str, change: str, cls: str) -> str | None:
    """Words saying how a call is a Cancer Hotspots hotspot (Chang et al. 2018), or None: a missense call whose
    amino acid was observed at a single-residue hotspot, or an in-frame insertion/deletion starting inside an indel
    hotspot's residues."""
    found = _hotspots().get(gene)
    call = _CALL_CHANGE.match(change)
    if found is None or call is None:
        return None
    singles, indels = found
    pos = int(call.group(2))
    if cls == "Missense_Mutation" and call.group(3) and call.group(3) in singles.get(pos, ""):
        return f"known hotspot {gene} {call.group(1)}{pos}{call.group(3)} (Cancer Hotspots)"
    if cls in {"In_Frame_Del", "In_Frame_Ins"} and any(a <= pos <= b for a, b in indels):
        return f"in-frame indel in a {gene} indel hotspot (Cancer Hotspots)"
    return None
