"""The structure-aware generator (medai_core.fuzz_structured): reproducible cases, the roles checked, and the
families it builds passing on the readers (its CT findings are regression tests in test_ct_dicom_dictionary.py)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from medai_core.errors import CGMInputError
from medai_core.fuzz_structured import ROLES, _consistency, check_structured, generate_case, run_structured

ROLE_SET = set(ROLES)


@pytest.mark.parametrize("domain", ["glucose", "genes"])
def test_cases_are_reproducible_from_the_seed(domain: str) -> None:
    first = [generate_case(domain, random.Random(11), k) for k in range(6)]
    again = [generate_case(domain, random.Random(11), k) for k in range(6)]
    assert first == again
    for case in first:
        assert case.files[0][3] == "reference" and {f[3] for f in case.files} <= ROLE_SET and len(case.files) >= 2


def test_generated_ct_cases_pass_on_the_readers() -> None:
    """Each CT case is the phantom stored plainly, then stored another way (same volume) or with a header no CT
    holds (refused): a wrong answer with exit 0 on any of them is a defect."""
    rng = random.Random(5)
    families = set()
    for k in range(4):
        case = generate_case("ct", rng, k)
        families.add(case.family)
        assert check_structured("ct", case.files) == [], (case.family, [f[0] for f in case.files])
    assert families == {"ct storage", "ct header meaning"}


@pytest.mark.parametrize(("domain", "cases"), [("genes", 12), ("glucose", 4)])
def test_generated_gene_and_cgm_cases_pass_on_the_readers(domain: str, cases: int) -> None:
    """What the generator first found there: every MAF call written twice with other read counts counted twice
    (TMB doubled), a header-only panel read as TMB 0 without a word, and one ``inf`` reading dropped silently where
    ``nan`` was refused. The families of each domain all appear in these seeds."""
    rng = random.Random(8)
    found = [generate_case(domain, rng, k) for k in range(cases)]
    assert len({case.family for case in found}) == 2
    for case in found:
        assert check_structured(domain, case.files) == [], (case.family, [f[0] for f in case.files])


def test_a_refused_role_read_with_exit_zero_is_a_defect() -> None:
    case = generate_case("ct", random.Random(5), 0)
    label, name, data, _ = case.files[0]
    problems = check_structured("ct", [(label, name, data, "reference"), ("the same file", name, data, "refused")])
    assert problems == ["the same file: read with exit 0, where no study holds such a file"]


def test_a_same_role_with_another_answer_is_a_defect() -> None:
    reference = b"timestamp,glucose_mg_dl\n" + b"".join(
        f"2025-03-03T{h:02d}:{m:02d}:00,{100 + m}\n".encode() for h in range(3) for m in range(0, 60, 5)
    )
    shifted = reference.replace(b",1", b",2")  # every reading 100 mg/dL higher
    problems = check_structured(
        "glucose", [("plain", "a.csv", reference, "reference"), ("shifted", "a.csv", shifted, "same")]
    )
    assert len(problems) == 1 and problems[0].startswith("shifted: read with exit 0 but mean")


def test_an_empty_role_read_without_a_note_is_a_defect() -> None:
    maf = generate_case("genes", random.Random(2), 0).files[0]
    problems = check_structured("genes", [maf, ("calls, labelled empty", maf[1], maf[2], "empty")])
    assert problems == ["calls, labelled empty: read with exit 0 and no note that it holds no calls"]


def test_one_bad_reading_must_have_one_rule() -> None:
    refused = CGMInputError("reading 3 is not a number")
    reference = (10, 120.0, "a", "b")
    mixed = _consistency([("nan", refused, ()), ("inf", (9, 120.0, "a", "b"), ("dropped 1",))], reference, ())
    assert mixed == ["one bad reading handled two ways: nan refused, inf read"]
    assert _consistency([("nan", refused, ()), ("inf", refused, ())], reference, ()) == []
    silent = _consistency([("inf", (9, 120.0, "a", "b"), ())], reference, ())
    assert silent == ["inf: the reading was left out without a note"]
    noted = _consistency([("inf", (9, 120.0, "a", "b"), ("1 reading left out: inf",))], reference, ())
    assert noted == []


def test_run_structured_counts_add_up_and_saves_defects(tmp_path: Path) -> None:
    report = run_structured("genes", 6, seed=4, time_limit_s=30, out=tmp_path)
    assert report.domain == "genes-gen" and report.cases == 6 == report.results + report.defects
    doc = json.loads((tmp_path / "genes-gen-defects.json").read_text())
    assert doc["cases"] == 6 and len(doc["defect_list"]) == report.defects
    for defect in doc["defect_list"]:
        assert all((tmp_path / name).is_file() for name in defect["file"].split(", "))
