"""A worker crash in analyse_bytes is an input error (model tier: it loads the shipped gene model)."""

from __future__ import annotations

import pytest

from medai_core.errors import PanelInputError


@pytest.fixture(scope="module")
def loaded() -> object:
    from medai_core.models import load_model

    return load_model("gene_ici_survival")


def test_a_worker_crash_in_analyse_bytes_is_an_input_error(loaded: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from medai_core import isolation
    from medai_core.genomics.analysis import analyse_bytes

    monkeypatch.setenv("MEDAI_ISOLATION", "on")

    def crashed(reader: object, *args: object, label: str = "", **kwargs: object) -> None:
        raise PanelInputError(f"{label} could not be read safely: the reading process crashed (SIGSEGV).")

    monkeypatch.setattr(isolation, "read_isolated", crashed)
    with pytest.raises(PanelInputError, match="could not be read safely"):
        analyse_bytes(b"gene,protein_change\n", "p.csv", model=loaded, tumour_type="Melanoma")  # type: ignore[arg-type]
