"""predict genes on a file with no calls gives no survival (model tier: the whole analysis with the shipped model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.test_genomics_duplicates import EMPTY


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_predict_genes_on_a_file_with_no_calls_gives_no_survival(name: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from medai_core.cli import main

    path = tmp_path / name
    path.write_text(EMPTY[name])
    assert main(["predict", "genes", str(path), "--tumour-type", "Melanoma", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("survival", "os_12m", "os_24m", "os_12m_interval", "os_24m_interval", "baseline_os_24m"):
        assert key in doc and doc[key] is None, key
    assert doc["by_drug_class"] == {} and doc["attributions"] == []
    assert doc["survival_modelled"] is False and "no calls" in doc["survival_note"]
    assert any("holds no calls" in n for n in doc["notes"])
    assert doc["tmb"] == 0 and doc["n_nonsynonymous"] == 0
