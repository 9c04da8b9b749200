"""The gene-panel vocabularies, one table each: MAF ``Variant_Classification`` classes, Sequence Ontology consequence
terms (VEP, SnpEff) with vcf2maf's severity order and classes, other annotators' MAF terms, and HGVS protein
changes (3-letter, 1-letter, ``p.(...)`` predicted forms) normalised to one 1-letter form.

Readers (:mod:`medai_core.genomics.readers`), TMB and the evidence rules read calls through these tables only.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "ALTERATION_CLASSES",
    "MAF_SYNONYMS",
    "NONSYNONYMOUS_CLASSES",
    "NON_CODING_CLASSES",
    "SO_TERMS",
    "UNRANKED",
    "VCF2MAF_DIFFERENCES",
    "classification_from_consequence",
    "classification_from_protein",
    "consequence_rank",
    "is_nonsynonymous",
    "normalise_classification",
    "normalise_protein_change",
    "protein_from_amino_acids",
    "splice_site_protein",
]

#: MAF Variant_Classification values that change the protein (counted for TMB and as "mutated" features).
NONSYNONYMOUS_CLASSES: frozenset[str] = frozenset(
    {
        "Missense_Mutation",
        "Nonsense_Mutation",
        "Frame_Shift_Del",
        "Frame_Shift_Ins",
        "In_Frame_Del",
        "In_Frame_Ins",
        "Splice_Site",
        "Translation_Start_Site",
        "Nonstop_Mutation",
    }
)

_ALL_CLASSES: tuple[str, ...] = (
    *sorted(NONSYNONYMOUS_CLASSES),
    "Silent",
    "Splice_Region",
    "Intron",
    "5'UTR",
    "3'UTR",
    "5'Flank",
    "3'Flank",
    "IGR",
    "RNA",
    "Targeted_Region",
    "Amplification",
    "Deletion",
    "Fusion",
    "Unknown",
)
#: Classes that are not point mutations or indels but copy-number or structural alterations.
ALTERATION_CLASSES: frozenset[str] = frozenset({"Amplification", "Deletion", "Fusion"})
#: Classes that never change the protein (silent, non-coding): no evidence, tier IV when nothing else is known.
NON_CODING_CLASSES: frozenset[str] = frozenset(
    {"Silent", "Splice_Region", "Intron", "5'UTR", "3'UTR", "5'Flank", "3'Flank", "IGR", "RNA", "Targeted_Region"}
)
_CLASS_BY_LOWER = {c.lower(): c for c in _ALL_CLASSES}

#: Variant_Classification values written by other annotators (GATK Funcotator, Broad Oncotator) -> the MAF term
#: vcf2maf writes for the same effect: a changed or shifted start codon is ``Translation_Start_Site``, an indel over
#: the stop codon ``Nonstop_Mutation``, a new upstream start in the 5' UTR ``5'UTR``, a lincRNA change ``RNA``.
MAF_SYNONYMS: dict[str, str] = {
    "start_codon_snp": "Translation_Start_Site",
    "start_codon_dnp": "Translation_Start_Site",
    "start_codon_onp": "Translation_Start_Site",
    "start_codon_ins": "Translation_Start_Site",
    "start_codon_del": "Translation_Start_Site",
    "stop_codon_ins": "Nonstop_Mutation",
    "stop_codon_del": "Nonstop_Mutation",
    "de_novo_start_inframe": "5'UTR",
    "de_novo_start_outofframe": "5'UTR",
    "lincrna": "RNA",
}

#: Sequence Ontology term (VEP, SnpEff) -> (severity rank, MAF ``Variant_Classification``): vcf2maf's
#: ``GetEffectPriority`` and ``GetVariantClassification`` (mskcc/vcf2maf ``vcf2maf.pl``, Apache-2.0; read where a Perl
#: hash names a term twice, the later value wins, as in Perl). A lower rank is more severe, and the most severe term
#: of an ``&``-joined list wins (so ``splice_region_variant&synonymous_variant`` is ``Splice_Region``, rank 8 before
#: 9). ``Frame_Shift`` and ``Protein_Altering`` are resolved to Ins/Del (and in-frame or not) from the alleles.
#: ``tests/unit/test_genomics_vcf2maf.py`` checks every rank and class against the extracted copy of vcf2maf's table
#: in ``tests/data/vcf2maf/``; the few deliberate differences are :data:`VCF2MAF_DIFFERENCES`.
SO_TERMS: dict[str, tuple[int, str]] = {
    "transcript_ablation": (1, "Splice_Site"),
    "exon_loss_variant": (1, "Splice_Site"),
    "feature_ablation": (1, "Targeted_Region"),
    "chromosome_number_variation": (1, "Targeted_Region"),
    "splice_donor_variant": (2, "Splice_Site"),
    "splice_acceptor_variant": (2, "Splice_Site"),
    "gene_fusion": (2, "Fusion"),
    "bidirectional_gene_fusion": (2, "Fusion"),
    "duplication": (2, "Targeted_Region"),
    "stop_gained": (3, "Nonsense_Mutation"),
    "frameshift_variant": (3, "Frame_Shift"),
    "stop_lost": (3, "Nonstop_Mutation"),
    "inversion": (3, "Targeted_Region"),
    "start_lost": (4, "Translation_Start_Site"),
    "initiator_codon_variant": (4, "Translation_Start_Site"),
    "rearranged_at_DNA_level": (4, "Targeted_Region"),
    "disruptive_inframe_insertion": (5, "In_Frame_Ins"),
    "disruptive_inframe_deletion": (5, "In_Frame_Del"),
    "conservative_inframe_insertion": (5, "In_Frame_Ins"),
    "conservative_inframe_deletion": (5, "In_Frame_Del"),
    "inframe_insertion": (5, "In_Frame_Ins"),
    "inframe_deletion": (5, "In_Frame_Del"),
    "missense_variant": (6, "Missense_Mutation"),
    "conservative_missense_variant": (6, "Missense_Mutation"),
    "rare_amino_acid_variant": (6, "Missense_Mutation"),
    "transcript_amplification": (7, "Intron"),
    "protein_altering_variant": (7, "Protein_Altering"),
    "protein_protein_contact": (8, "Targeted_Region"),
    "structural_interaction_variant": (8, "Targeted_Region"),
    "splice_branch_variant": (8, "Targeted_Region"),
    "splice_region_variant": (8, "Splice_Region"),
    "splice_donor_5th_base_variant": (8, "Splice_Region"),
    "splice_donor_region_variant": (8, "Splice_Region"),
    "splice_polypyrimidine_tract_variant": (8, "Splice_Region"),
    "start_retained_variant": (9, "Silent"),
    "stop_retained_variant": (9, "Silent"),
    "synonymous_variant": (9, "Silent"),
    "start_retained": (9, "Silent"),
    "incomplete_terminal_codon_variant": (10, "Silent"),
    "coding_sequence_variant": (11, "Missense_Mutation"),
    "exon_variant": (11, "RNA"),
    "transcript_variant": (11, "Targeted_Region"),
    "5_prime_UTR_variant": (12, "5'UTR"),
    "5_prime_UTR_premature_start_codon_gain_variant": (12, "5'UTR"),
    "3_prime_UTR_variant": (12, "3'UTR"),
    "non_coding_exon_variant": (13, "RNA"),
    "non_coding_transcript_exon_variant": (13, "RNA"),
    "non_coding_transcript_variant": (14, "RNA"),
    "nc_transcript_variant": (14, "RNA"),
    "intron_variant": (14, "Intron"),
    "intragenic_variant": (14, "Intron"),
    "INTRAGENIC": (14, "Intron"),
    "NMD_transcript_variant": (15, "Silent"),
    "coding_transcript_variant": (15, "Targeted_Region"),
    "upstream_gene_variant": (16, "5'Flank"),
    "downstream_gene_variant": (16, "3'Flank"),
    "TFBS_ablation": (17, "Targeted_Region"),
    "TFBS_amplification": (17, "Targeted_Region"),
    "TF_binding_site_variant": (17, "IGR"),
    "regulatory_region_ablation": (17, "Targeted_Region"),
    "regulatory_region_amplification": (17, "Targeted_Region"),
    "regulatory_region_variant": (17, "IGR"),
    "regulatory_region": (17, "IGR"),
    "mature_miRNA_variant": (17, "RNA"),
    "miRNA": (17, "Targeted_Region"),
    "feature_elongation": (18, "Targeted_Region"),
    "feature_truncation": (18, "Targeted_Region"),
    "intergenic_variant": (19, "IGR"),
    "intergenic_region": (19, "IGR"),
    "sequence_feature": (19, "Targeted_Region"),
    "conserved_intron_variant": (19, "Targeted_Region"),
    "gene_variant": (19, "Targeted_Region"),
    "conserved_intergenic_variant": (20, "Targeted_Region"),
    "custom": (20, "Targeted_Region"),
    "5_prime_UTR_truncation": (20, "5'UTR"),
    "3_prime_UTR_truncation": (20, "3'UTR"),
}
#: Where :data:`SO_TERMS` deliberately differs from vcf2maf, and why (checked by the vcf2maf table test).
VCF2MAF_DIFFERENCES: dict[str, str] = {
    "gene_fusion": "Fusion, not Targeted_Region: fusion evidence (e.g. ALK, ROS1) is matched by this class",
    "bidirectional_gene_fusion": "Fusion, not Targeted_Region (as gene_fusion)",
    "protein_altering_variant": "a length-preserving change (an MNV, a delins of equal length) is Missense_Mutation "
    "(vcf2maf writes Targeted_Region for SNP/DNP/ONP); length-changing ones follow vcf2maf",
    "splice_donor_5th_base_variant": "Splice_Region: an SO child of splice_region_variant (VEP 105+); vcf2maf ranks "
    "it with splice_region_variant but its class rules name only that term (Targeted_Region)",
    "splice_donor_region_variant": "Splice_Region (as splice_donor_5th_base_variant)",
    "splice_polypyrimidine_tract_variant": "Splice_Region (as splice_donor_5th_base_variant)",
    "start_retained_variant": "Silent: the start codon is kept and the protein unchanged; as Targeted_Region (vcf2maf) "
    "its protein change (p.Met1?) would be read instead",
    "start_retained": "Silent (as start_retained_variant)",
    "5_prime_UTR_truncation": "not in vcf2maf's table (rank 20 there, as every unknown term); 5'UTR by its name",
    "3_prime_UTR_truncation": "not in vcf2maf's table (rank 20 there, as every unknown term); 3'UTR by its name",
}
#: Rank of a term the table does not know (below every known term; vcf2maf gives such terms its lowest rank, 20).
UNRANKED = 99
_SO_BY_LOWER = {term.lower(): term for term in SO_TERMS}

#: Friendly consequence words accepted in simple CSV panels.
_FRIENDLY: dict[str, str] = {
    "missense": "Missense_Mutation",
    "nonsense": "Nonsense_Mutation",
    "stop gained": "Nonsense_Mutation",
    "frameshift": "Frame_Shift",
    "frame shift": "Frame_Shift",
    "inframe deletion": "In_Frame_Del",
    "inframe insertion": "In_Frame_Ins",
    "splice": "Splice_Site",
    "splice site": "Splice_Site",
    "synonymous": "Silent",
    "silent": "Silent",
    "intronic": "Intron",
    "intron": "Intron",
    "utr": "3'UTR",
    "amplification": "Amplification",
    "amplified": "Amplification",
    "amp": "Amplification",
    "gain": "Amplification",
    "copy number gain": "Amplification",
    "deletion": "Deletion",
    "homozygous deletion": "Deletion",
    "homdel": "Deletion",
    "deep deletion": "Deletion",
    "copy number loss": "Deletion",
    "fusion": "Fusion",
    "rearrangement": "Fusion",
    "translocation": "Fusion",
    "structural variant": "Fusion",
}


def is_nonsynonymous(classification: str) -> bool:
    """True when a MAF ``Variant_Classification`` changes the protein (counted for TMB)."""
    return classification in NONSYNONYMOUS_CLASSES


@lru_cache(maxsize=65536)
def normalise_classification(value: str) -> str | None:
    """A MAF ``Variant_Classification`` spelled in any case, or a friendly word (``missense``), as the MAF term.

    Returns None when the value is not recognised.
    """
    text = value.strip()
    if not text:
        return None
    if text.lower() in _CLASS_BY_LOWER:
        return _CLASS_BY_LOWER[text.lower()]
    if text.lower() in MAF_SYNONYMS:
        return MAF_SYNONYMS[text.lower()]
    friendly = _FRIENDLY.get(text.lower().replace("_", " "))
    if friendly is not None:
        return "Frame_Shift_Del" if friendly == "Frame_Shift" else friendly
    return classification_from_consequence(text)


def _resolve(maf: str, *, ref: str, alt: str, variant_type: str = "") -> str:
    """Ins/Del and in-frame resolution of the table's ``Frame_Shift`` and ``Protein_Altering`` (vcf2maf's rules)."""
    if maf not in {"Frame_Shift", "Protein_Altering"}:
        return maf
    vtype = variant_type.strip().upper()
    r, a = ref.strip().replace("-", ""), alt.strip().replace("-", "")
    inserted = vtype == "INS" or (vtype not in {"DEL", "INS"} and len(a) > len(r))
    if maf == "Protein_Altering":
        inframe = abs(len(a) - len(r)) % 3 == 0
        if vtype in {"SNP", "DNP", "TNP", "ONP"} or (inframe and len(a) == len(r)):
            return "Missense_Mutation"
        if inframe:
            return "In_Frame_Ins" if inserted else "In_Frame_Del"
    return "Frame_Shift_Ins" if inserted else "Frame_Shift_Del"


@lru_cache(maxsize=65536)
def consequence_rank(consequence: str) -> int:
    """Severity rank of a consequence (``&``-joined SO terms): that of its most severe known term (lower is more
    severe; :data:`UNRANKED` when no term is known)."""
    ranks = [SO_TERMS[_SO_BY_LOWER[t.lower()]][0] for t in _terms(consequence) if t.lower() in _SO_BY_LOWER]
    return min(ranks, default=UNRANKED)


def _terms(consequence: str) -> list[str]:
    return [t.strip() for t in consequence.replace(",", "&").split("&") if t.strip()]


@lru_cache(maxsize=65536)
def classification_from_consequence(
    consequence: str, *, ref: str = "", alt: str = "", variant_type: str = ""
) -> str | None:
    """Map a VEP/SnpEff consequence (``&``-joined SO terms) to a MAF ``Variant_Classification``.

    The most severe known term wins (vcf2maf order). Frameshifts become ``Frame_Shift_Ins`` when the variant is an
    insertion (``variant_type`` ``INS``, or the alternate allele longer than the reference), else
    ``Frame_Shift_Del``. Returns None when no term is known.
    """
    known = sorted(
        (SO_TERMS[_SO_BY_LOWER[t.lower()]] for t in _terms(consequence) if t.lower() in _SO_BY_LOWER),
        key=lambda item: item[0],
    )
    if not known:
        return None
    return _resolve(known[0][1], ref=ref, alt=alt, variant_type=variant_type)


# ---------------------------------------------------------------- HGVS protein changes

_AA3 = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G", "His": "H",
    "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W",
    "Tyr": "Y", "Val": "V", "Ter": "*", "Sec": "U", "Pyl": "O", "Asx": "B", "Glx": "Z", "Xaa": "X",
}  # fmt: skip
_AA3_RE = re.compile("|".join(_AA3))
_AA3_ANY_CASE = {k.lower(): v for k, v in _AA3.items()}
_AA3_ANY_CASE_RE = re.compile("|".join(_AA3), re.IGNORECASE)
_LOWER_SIMPLE_CHANGE = re.compile(r"^[a-z]\d+[a-z*=]$")
_SIMPLE_CHANGE = re.compile(r"^([A-Z*])(\d+)([A-Z*=?]|fs.*)$")
#: ``E746_A750`` or ``N771`` before ``delins``, and the inserted residues after it.
_DELINS = re.compile(r"^[A-Z*](\d+)(?:_[A-Z*](\d+))?delins([A-Z*]+)$")


@lru_cache(maxsize=65536)
def normalise_protein_change(text: str) -> str:
    """A protein change in one-letter form without ``p.``.

    ``p.Leu858Arg`` / ``p.L858R`` / ``ENSP...:p.(Leu858Arg)`` / ``(p.Leu858Arg)`` / ``p.[Leu858Arg]`` -> ``L858R``;
    3-letter codes in any case (``p.val600glu``, ``p.VAL600GLU``) -> ``V600E``; ``p.Val600%3D`` (VEP's URL-encoded
    ``=``) and ``p.Val600=`` -> ``V600=``; ``p.Val600GlufsTer5`` -> ``V600Efs*5``; ``p.?`` -> ``?`` (effect unknown);
    ``p.=`` -> ``=``; a one-letter change typed in lower case (``v600e``) -> ``V600E``. An empty value or ``.``
    gives ``""``. Two changes in one value (``p.G12C;p.G13D``) are left as written: no class follows from them.
    """
    value = text.strip().replace("%3D", "=").replace("%3d", "=")
    if ":" in value:
        value = value.split(":", 1)[1]
    if value.startswith("(") and value.endswith(")") and value[1:3].lower() == "p.":
        value = value[1:-1]  # "(p.Val600Glu)"
    value = value.removeprefix("p.").removeprefix("P.").strip()
    for opening, closing in (("(", ")"), ("[", "]")):
        if value.startswith(opening) and value.endswith(closing) and ";" not in value:
            value = value[1:-1].strip()
    if value in {"", "."}:
        return ""
    if _LOWER_SIMPLE_CHANGE.match(value):  # "v600e" typed in a table is V600E, not free text
        return value.upper()
    if value[:3].lower() in _AA3_ANY_CASE and value[3:4].isdigit() and not value[:3].istitle():
        # 3-letter codes in lower or upper case: "val600glu", "VAL600GLU"
        return _AA3_ANY_CASE_RE.sub(lambda m: _AA3_ANY_CASE[m.group(0).lower()], value)
    return _AA3_RE.sub(lambda m: _AA3[m.group(0)], value)


def _delins_class(change: str) -> str | None:
    """The class of a ``delins`` by its net length: residues inserted minus residues deleted > 0 is an in-frame
    insertion (``N771delinsGY``, one residue for two: an EGFR exon 20 insertion), < 0 an in-frame deletion
    (``E746_A750delinsQ``), 0 a missense-like change of several residues (``V600_K601delinsED``); None when the
    residues are not spelled out (``delins4``)."""
    match = _DELINS.match(change)
    if not match:
        return None
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else start
    deleted, inserted = end - start + 1, len(match.group(3))
    if deleted <= 0:
        return None
    if inserted > deleted:
        return "In_Frame_Ins"
    if inserted < deleted:
        return "In_Frame_Del"
    return "Missense_Mutation"


def _indel_class(change: str) -> str | None:
    """The class of a change that names a frameshift, ``delins``, deletion, insertion or duplication."""
    if "fs" in change:
        return "Frame_Shift_Del"
    if "delins" in change:
        return _delins_class(change)
    if "del" in change:
        return "In_Frame_Del"
    return "In_Frame_Ins"


def classification_from_protein(change: str) -> str | None:
    """The MAF class a one-letter protein change implies (``V600E`` missense, ``V600=`` silent, ``R213*`` nonsense,
    ``Q100fs`` frameshift, ``E746_A750del`` in-frame deletion, ``delins`` by net length (:func:`_delins_class`),
    ``*394Qext*?`` nonstop), or None where it implies nothing definite (empty, ``?``, ``M1?``, free text)."""
    p = change.strip()
    if p.startswith("*") and ("ext" in p or re.match(r"^\*\d+[A-Z]", p)):
        return "Nonstop_Mutation"
    if not p or p.endswith("?") or p == "=":
        return "Silent" if p == "=" else None
    if "fs" in p or "del" in p or "ins" in p or "dup" in p:
        return _indel_class(p)
    match = _SIMPLE_CHANGE.match(p)
    if not match:
        return None
    ref, alt = match.group(1), match.group(3)
    if alt == "=" or alt == ref:
        return "Silent"
    if alt == "*":
        return "Nonsense_Mutation"
    if match.group(2) == "1" and ref == "M":
        return "Translation_Start_Site"
    return "Missense_Mutation"


# ---------------------------------------------------------------- protein changes from other fields


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
