"""The full analysis with the shipped model, the report, and the CLI contract of the genes commands."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from medai_core.cli import main
from medai_core.genomics.analysis import analyse_bytes
from medai_core.genomics.demo import demo_maf
from medai_core.genomics.evidence import load_evidence
from medai_core.genomics.report import gene_report
from medai_core.models import load_model
from medai_core.reports import render_html, render_pdf

PREDICT_KEYS = {
    "tmb",
    "tmb_high",
    "n_nonsynonymous",
    "variants",
    "evidence",
    "survival",
    "os_12m",
    "os_24m",
    "by_drug_class",
    "attributions",
    "therapy_options",
    "model_id",
    "model_version",
    "weights_sha256",
}


@pytest.fixture(scope="module")
def loaded():  # type: ignore[no-untyped-def]
    return load_model("gene_ici_survival")


def test_demo_panel_full_result(loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = analyse_bytes(
        demo_maf(),
        "demo.maf",
        model=loaded,
        tumour_type="Melanoma",
        panel="IMPACT410",
        evidence_base=load_evidence(tmp_path),
    )
    assert result.tmb.n_nonsynonymous == 9  # 11 demo calls minus the TERT promoter and the silent BRCA2 call
    assert result.n_nonsynonymous == 9 and len(result.variants) == 11
    for s in result.survival:
        assert np.all(np.diff(s.probability) <= 1e-6)
        assert s.low[7] <= s.os_24m[0] <= s.high[7]
        assert 0 <= s.os_24m[1] <= s.os_24m[0] <= s.os_24m[2] <= 1
    names = [f for f, _ in result.attributions]
    assert "cancer type: Melanoma" in names and "BRAF mutated" in names
    assert "TP53 mutated" in names and not any("ZZZ" in n for n in names)
    assert "Completeness error" in result.attribution_note
    assert any(e.gene == "BRAF" and e.level == "FDA" for e in result.evidence)
    assert 0 < result.baseline_os_24m < 1
    report = gene_report(result, loaded.card, demo_maf())
    assert "Gene panel analysis" in render_html(report)
    assert render_pdf(report)[:4] == b"%PDF"


def test_more_tmb_is_not_worse_and_unobserved_is_not_wild_type(loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = load_evidence(tmp_path)
    low = analyse_bytes(
        b"gene,protein_change\nTP53,R273H\n", "a.csv", model=loaded, tumour_type="NSCLC", evidence_base=base
    )
    rows = "".join(f"\nPTPRT,A{i}V" for i in range(40))
    high = analyse_bytes(
        ("gene,protein_change\nTP53,R273H" + rows + "\n").encode(),
        "b.csv",
        model=loaded,
        tumour_type="NSCLC",
        evidence_base=base,
    )
    assert high.tmb.high and not low.tmb.high
    assert high.selected.os_24m[0] > low.selected.os_24m[0]  # Samstein 2019: higher TMB, longer survival
    # A gene off IMPACT341 is unobserved there: the same file gives a different model input than on IMPACT410.
    zfhx3 = b"gene,protein_change\nZFHX3,A10V\n"
    on341 = analyse_bytes(zfhx3, "c.csv", model=loaded, tumour_type="NSCLC", panel="IMPACT341", evidence_base=base)
    assert on341.tmb.n_nonsynonymous == 0


def test_empty_panel_is_a_result(loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = analyse_bytes(
        b"gene,protein_change\n", "e.csv", model=loaded, tumour_type="Glioma", evidence_base=load_evidence(tmp_path)
    )
    assert result.variants == () and result.evidence == () and result.tmb.tmb_per_mb == 0


def test_cli_predict_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "demo.maf"
    path.write_bytes(demo_maf())
    assert main(["predict", "genes", str(path), "--tumour-type", "Melanoma", "--panel", "IMPACT468", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= PREDICT_KEYS
    assert set(doc["survival"]) == {"months", "probability", "low", "high"}
    assert set(doc["variants"][0]) == {"gene", "protein_change", "classification", "vaf", "tier", "tier_reason"}
    assert all(v["tier"] in {"I-A", "I-B", "II-C", "II-D", "III", "IV"} for v in doc["variants"])
    assert {
        "gene",
        "variant",
        "level",
        "drugs",
        "direction",
        "significance",
        "disease",
        "same_tumour_type",
        "source",
    } <= set(doc["evidence"][0])
    assert set(doc["by_drug_class"]) == {"PD-1/PD-L1", "CTLA-4", "Combination"}
    assert all("os_24m" in v for v in doc["by_drug_class"].values())
    assert set(doc["attributions"][0]) == {"feature", "value"}
    assert doc["model_id"] == "gene_ici_survival" and len(doc["weights_sha256"]) == 64


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tumour-type", "Martian"], "Unknown tumour type"),
        (["--tumour-type", "Melanoma", "--panel", "BIGPANEL"], "Unknown panel"),
        (["--tumour-type", "Melanoma", "--sample", "X"], "not in the file"),
    ],
)
def test_cli_predict_bad_input_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    path = tmp_path / "demo.maf"
    path.write_bytes(demo_maf())
    assert main(["predict", "genes", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.full_data
def test_cli_predict_unannotated_vcf_and_missing_file(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vcf = shared_data / "genes" / "fixtures" / "vcf2maf_test.vcf"
    assert main(["predict", "genes", str(vcf), "--tumour-type", "Melanoma"]) == 2
    assert "VEP" in capsys.readouterr().err
    assert main(["predict", "genes", "/nonexistent.maf", "--tumour-type", "Melanoma"]) == 2


def _small_cohort(shared: Path, out: Path, n: int = 120) -> Path:
    src = shared / "genes" / "samstein2019"
    samples = (src / "sequenced_samples.txt").read_text().split()[:n]
    keep = set(samples)
    out.mkdir()
    (out / "sequenced_samples.txt").write_text("\n".join(samples) + "\n")
    lines = (src / "clinical.tsv").read_text().splitlines()
    sid = lines[0].split("\t").index("Sample ID")
    (out / "clinical.tsv").write_text("\n".join([lines[0], *[x for x in lines[1:] if x.split("\t")[sid] in keep]]))
    with gzip.open(src / "mutations.maf.gz", "rt") as handle:
        maf = handle.read().splitlines()
    with gzip.open(out / "mutations.maf.gz", "wt") as handle:
        handle.write("\n".join([maf[0], *[x for x in maf[1:] if x.split("\t")[1] in keep]]) + "\n")
    return out


@pytest.mark.full_data
def test_cli_evaluate_contract(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _small_cohort(shared_data, tmp_path / "cohort")
    preds = tmp_path / "p.csv"
    assert main(["evaluate", "genes", "--data", str(data), "--json", "--predictions", str(preds)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"n", "c_index", "auc_12m", "auc_24m"} <= set(doc)
    assert doc["n"] == 120 and 0.5 < doc["c_index"] <= 1
    assert set(doc["baselines"]) == {"cox_tmb", "cox_type_tmb"} and doc["n_in_training"] > 0
    rows = list(csv.reader(preds.open()))
    assert rows[0] == ["sample_id", "risk", "os_12m", "os_24m"] and len(rows) == 121


@pytest.mark.full_data
def test_cli_evaluate_held_out_reproduces_the_card(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = shared_data / "genes" / "samstein2019"
    assert main(["evaluate", "genes", "--data", str(data), "--held-out-only", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    card = load_model("gene_ici_survival").card
    held_out = card.metrics["held_out"]
    assert doc["n"] == held_out["model"]["n"] and doc["n_in_training"] == 0 and doc["n_in_validation"] == 0
    assert doc["n_in_test"] == doc["n"] and doc["n_new"] == 0 and doc["n_left_out"] == 0
    assert doc["c_index"] == pytest.approx(held_out["model"]["c_index"], abs=1e-3)
    assert doc["auc_24m"] == pytest.approx(held_out["model"]["auc_24m"], abs=1e-3)
    for name in ("cox_tmb", "cox_type_tmb"):
        assert doc["baselines"][name]["c_index"] == pytest.approx(held_out[name]["c_index"], abs=1e-3)
    assert card.headline.value == pytest.approx(held_out["model"]["c_index"])


def test_cli_evaluate_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "genes", "--data", str(tmp_path)]) == 2
    assert "clinical.tsv" in capsys.readouterr().err


@pytest.mark.full_data
def test_cli_evidence_import(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    src = shared_data / "genes" / "civic" / "01-Aug-2021-ClinicalEvidenceSummaries.tsv"
    assert main(["evidence", "import", str(src), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert Path(doc["installed"]).is_file() and str(tmp_path) in doc["installed"]
    assert main(["evidence", "import", str(tmp_path / "nope.tsv")]) == 2


# ---------------------------------------------------------------- issue 8 "Done means", from tests/data alone

DATA = Path(__file__).resolve().parents[1] / "data" / "genes"
BRAF_INHIBITORS = ("dabrafenib", "vemurafenib", "encorafenib")


@pytest.fixture
def fresh_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No CIViC folder configured and an empty user data folder: only what ships in the repository."""
    monkeypatch.delenv("MEDAI_EVIDENCE_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def _predict(capsys: pytest.CaptureFixture[str], name: str, *args: str) -> dict:  # type: ignore[type-arg]
    assert main(["predict", "genes", str(DATA / name), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_braf_v600e_melanoma_without_shared_data(fresh_clone: None, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _predict(capsys, "braf_v600e_melanoma.maf", "--tumour-type", "Melanoma")
    braf = next(v for v in doc["variants"] if v["gene"] == "BRAF")
    assert braf["tier"] == "I-A"
    levels = {e["level"] for e in doc["evidence"] if e["gene"] == "BRAF"}
    assert "FDA" in levels and "A" in levels
    assert any(e["source"].startswith("CIViC") for e in doc["evidence"])
    assert "CIViC" in doc["evidence_sources"] and "01-Aug-2021" in doc["evidence_sources"]
    drugs = [o["drugs"] for o in doc["therapy_options"]]
    assert "Dabrafenib + Trametinib" in drugs and doc["therapy_options"][0]["tier"] == "I-A"
    assert set(doc["therapy_options"][0]) >= {"drugs", "tier", "calls", "sources", "resistance"}


def test_braf_v600_synonymous_lists_no_braf_inhibitor(fresh_clone: None, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _predict(capsys, "braf_v600_synonymous.maf", "--tumour-type", "Melanoma")
    braf = next(v for v in doc["variants"] if v["gene"] == "BRAF")
    assert braf["classification"] == "Silent" and braf["tier"] == "IV"
    assert not [e for e in doc["evidence"] if e["gene"] == "BRAF"]
    assert not [o for o in doc["therapy_options"] if any(d in o["drugs"].lower() for d in BRAF_INHIBITORS)]


def test_predict_vep_maf_and_snpeff_vcf_give_the_right_protein_changes(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _predict(capsys, "vep_so_terms.maf", "--tumour-type", "Breast Cancer")
    changes = {(v["gene"], v["protein_change"], v["classification"]) for v in doc["variants"]}
    assert ("TP53", "R175H", "Missense_Mutation") in changes and ("PIK3CA", "E545K", "Missense_Mutation") in changes
    assert doc["n_nonsynonymous"] == 5
    doc = _predict(capsys, "snpeff_interaction_first.vcf", "--tumour-type", "NSCLC")
    assert [(v["gene"], v["protein_change"]) for v in doc["variants"]] == [("TP53", "R175H"), ("KRAS", "G12V")]


def test_report_and_notes_carry_no_vcf_sample_name(loaded, fresh_clone: None) -> None:  # type: ignore[no-untyped-def]
    data = (DATA / "vep_canonical.vcf").read_text().replace("PATIENT-NAME-NORMAL\tPATIENT-NAME-TUMOR", "JDOE\tJANE")
    result = analyse_bytes(data.encode(), "x.vcf", model=loaded, tumour_type="Melanoma")
    html = render_html(gene_report(result, loaded.card, data.encode()))
    assert "JANE" not in html and "JDOE" not in html
    assert all("JANE" not in n for n in (*result.notes, *result.panel_notes))
    assert "Therapy options" in html and "Dabrafenib + Trametinib" in html


def test_calls_outside_the_panel_and_exome_caveats(loaded) -> None:  # type: ignore[no-untyped-def]
    rows = "".join(f"OR{i}A1\tA{i + 10}V\n" for i in range(1, 31))
    data = ("gene\tprotein_change\n" + rows).encode()
    result = analyse_bytes(data, "x.tsv", model=loaded, tumour_type="Melanoma", panel="IMPACT468")
    assert result.tmb.tmb_per_mb == 0.0
    assert any("30 nonsynonymous call(s) lie in genes outside the IMPACT468 panel" in n for n in result.panel_notes)
    wes = analyse_bytes(data, "x.tsv", model=loaded, tumour_type="Melanoma", panel="WES")
    assert wes.tmb.tmb_per_mb == pytest.approx(1.0)
    assert any("not on the MSK-IMPACT scale" in n for n in wes.panel_notes)
    assert any("reads only the" in n for n in wes.panel_notes)


def test_evaluate_any_vocabulary_and_panel_from_tests_data(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    preds = tmp_path / "p.csv"
    folder = DATA / "cohort_so_terms"
    assert main(["evaluate", "genes", "--data", str(folder), "--json", "--predictions", str(preds)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n"] == 46 and doc["n_left_out"] == 2 and doc["left_out"] == {"no overall survival time": 2}
    assert doc["n_new"] == 46 and doc["n_in_training"] == doc["n_in_validation"] == doc["n_in_test"] == 0
    risks = [float(r[1]) for r in list(csv.reader(preds.open()))[1:]]
    assert len(set(risks)) > 30  # predictions vary by patient
    assert main(["evaluate", "genes", "--data", str(folder), "--held-out-only", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 46


def test_disagreement_is_about_immunotherapy_only() -> None:
    from dataclasses import replace

    from medai_core.genomics.analysis import _disagreement
    from medai_core.genomics.evidence import EvidenceItem

    mek = EvidenceItem(
        "BRAF", "V600E", "BRAF V600E", "variant", "C", "Refametinib", "Supports", "Resistance", "Melanoma", True, "X"
    )
    assert _disagreement(0.5, 0.4, [mek], "PD-1/PD-L1") is None  # resistance to a MEK inhibitor is not about ICI
    line = _disagreement(0.5, 0.4, [replace(mek, drugs="Pembrolizumab")], "PD-1/PD-L1")
    assert line is not None and "immunotherapy" in line


def test_cli_unannotated_vcf_missing_file_and_import_from_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (DATA / "snpeff_interaction_first.vcf").read_text()
    plain = tmp_path / "plain.vcf"
    plain.write_text("\n".join(line for line in text.splitlines() if "ID=ANN" not in line) + "\n")
    assert main(["predict", "genes", str(plain), "--tumour-type", "Melanoma"]) == 2
    assert "VEP" in capsys.readouterr().err
    assert main(["predict", "genes", str(tmp_path / "absent.maf"), "--tumour-type", "Melanoma"]) == 2
    capsys.readouterr()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    src = DATA / "civic" / "01-Aug-2021-ClinicalEvidenceSummaries.tsv"
    assert main(["evidence", "import", str(src), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert Path(doc["installed"]).is_file() and str(tmp_path) in doc["installed"] and doc["predictive_items"] > 100
    assert main(["evidence", "import", str(tmp_path / "nope.tsv")]) == 2
