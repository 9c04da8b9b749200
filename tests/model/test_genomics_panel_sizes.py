"""predict genes on an 11-call panel reads TMB 9.7 and offers no TMB-high drug (model tier: the shipped model)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.test_genomics_panel_sizes import ELEVEN_MISSENSE


def test_predict_genes_json_reads_tmb_9_7_and_offers_no_tmb_high_drug(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from medai_core.cli import main

    path = tmp_path / "eleven.maf"
    path.write_text(ELEVEN_MISSENSE)
    args = ["predict", "genes", str(path), "--tumour-type", "Non-Small Cell Lung Cancer", "--panel", "IMPACT468"]
    assert main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert round(doc["tmb"], 1) == 9.7 and doc["tmb_high"] is False
    assert not any("pembrolizumab" in " ".join(map(str, o["drugs"])).lower() for o in doc["therapy_options"])
