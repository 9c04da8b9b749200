"""The conformance table (``tests/data/genes/conformance.tsv``): for each (calls, tumour type) case, the tier of the
first call and the drugs that must and must not be offered at tier I, each row citing what settles it."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from medai_core.genomics.evidence import EvidenceBase, call_tier, load_evidence, match_evidence, ranked_options
from medai_core.genomics.readers import Variant

TABLE = Path(__file__).resolve().parents[1] / "data" / "genes" / "conformance.tsv"


def _cases() -> list[dict[str, str]]:
    lines = [line for line in TABLE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


CASES = _cases()


def _calls(text: str) -> list[Variant]:
    out = []
    for part in (p.strip() for p in text.split(";")):
        if part == "TMB-high":
            continue
        gene, change, cls = part.split(" ")
        out.append(Variant(gene, change, cls, None, "S"))
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> EvidenceBase:
    """The shipped assertions and CIViC snapshot, whatever is installed in the user data folder."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MEDAI_EVIDENCE_DIR", raising=False)
        mp.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg")))
        loaded = load_evidence()
    assert loaded.civic_release == "01-Aug-2021"
    return loaded


@pytest.mark.parametrize("case", CASES, ids=[f"{c['rule']}:{c['calls']}@{c['tumour']}" for c in CASES])
def test_conformance(case: dict[str, str], base: EvidenceBase) -> None:
    calls = _calls(case["calls"])
    items = match_evidence(base, calls, case["tumour"], tmb_high="TMB-high" in case["calls"])
    offered, _ = ranked_options(items)
    tier_one = {o.drugs for o in offered if o.tier.startswith("I-")}
    if case["tier"] != "-":
        assert call_tier(calls[0], items)[0] == case["tier"], case["citation"]
    must = {d for d in case["offer_tier1"].split("|") if d}
    must_not = {d for d in case["not_tier1"].split("|") if d}
    assert must <= tier_one, (must - tier_one, case["citation"])
    assert not must_not & tier_one, (must_not & tier_one, case["citation"])
    assert not must_not & {o.drugs for o in offered if o.tier == "II-D"} or not case["rule"].startswith("off")


def test_the_table_covers_every_rule() -> None:
    assert len(CASES) >= 80 and all(c["citation"] for c in CASES)
    by_rule = Counter(c["rule"] for c in CASES)
    assert set(by_rule) == {
        "exact change",
        "region",
        "oncogenic",
        "truncating",
        "amplification",
        "fusion",
        "tree",
        "agnostic",
        "resistance",
        "off-tumour",
    }
    tiers = {c["tier"] for c in CASES}
    assert tiers >= {"I-A", "II-C", "II-D", "III", "IV"}
