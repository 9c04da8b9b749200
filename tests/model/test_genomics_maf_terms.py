"""predict genes states the genome build (model tier: the whole analysis with the shipped model)."""

from __future__ import annotations


def test_predict_genes_json_states_the_genome_build(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    from medai_core.cli import main

    header = "Hugo_Symbol\tVariant_Classification\tHGVSp_Short\tNCBI_Build\tTumor_Sample_Barcode"
    path = tmp_path / "b38.maf"
    path.write_text(f"{header}\nBRAF\tMissense_Mutation\tp.V600E\tGRCh38\tT1\n")
    assert main(["predict", "genes", str(path), "--tumour-type", "Melanoma", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["genome_build"] == "GRCh38"
    path.write_text("Hugo_Symbol\tVariant_Classification\tHGVSp_Short\nBRAF\tMissense_Mutation\tp.V600E\n")
    assert main(["predict", "genes", str(path), "--tumour-type", "Melanoma", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["genome_build"] is None
