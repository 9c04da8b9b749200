"""Model registry: save/load round trip, integrity and card validation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from medai_core.errors import ModelCardError, ModelIntegrityError, ModelNotFoundError
from medai_core.models import (
    ModelCard,
    file_sha256,
    list_model_ids,
    load_model,
    model_statuses,
    read_card,
)
from medai_core.models.testing import make_tiny_model_dir, tiny_card_dict


def test_round_trip_predicts_the_same(tmp_path: Path) -> None:
    import keras

    folder = make_tiny_model_dir(tmp_path)
    card = read_card(folder)
    assert card.weights_sha256 == file_sha256(folder / "model.keras")
    original = keras.saving.load_model(folder / "model.keras", compile=False)
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    loaded = load_model("tiny_test", models_dir=tmp_path)
    np.testing.assert_allclose(loaded.predict(x), original.predict(x, verbose=0), rtol=1e-6)
    assert loaded.card == card
    assert list_model_ids(tmp_path) == ["tiny_test"]


def test_changed_weights_are_refused(tmp_path: Path) -> None:
    folder = make_tiny_model_dir(tmp_path)
    with open(folder / "model.keras", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        load_model("tiny_test", models_dir=tmp_path)


def test_missing_model_and_weights(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no model 'absent'"):
        load_model("absent", models_dir=tmp_path)
    folder = make_tiny_model_dir(tmp_path)
    (folder / "model.keras").unlink()
    with pytest.raises(ModelNotFoundError, match="missing"):
        load_model("tiny_test", models_dir=tmp_path)
    (status,) = model_statuses(tmp_path)
    assert not status.available and "missing" in (status.problem or "")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("intended_use"), "missing fields \\['intended_use'\\]"),
        (lambda d: d.update(surprise=1), "unknown fields \\['surprise'\\]"),
        (lambda d: d.update(weights_sha256="xyz"), "64 lowercase hex"),
        (lambda d: d.update(limitations="none"), "list of strings"),
        (lambda d: d["headline"].pop("split"), "headline"),
        (lambda d: d.update(inputs={"tensors": []}), "inputs.tensors"),
        (lambda d: d.update(version=""), "'version' must be a non-empty string"),
    ],
)
def test_malformed_cards_raise_model_card_error(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    data = tiny_card_dict()
    edit(data)
    with pytest.raises(ModelCardError, match=message):
        ModelCard.from_dict(data)


def test_card_file_problems(tmp_path: Path) -> None:
    folder = make_tiny_model_dir(tmp_path)
    (folder / "model_card.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelCardError, match="not valid JSON"):
        read_card(folder)
    (status,) = model_statuses(tmp_path)
    assert status.card is None and not status.available
    renamed = tmp_path / "other_name"
    shutil.copytree(make_tiny_model_dir(tmp_path / "again"), renamed)
    with pytest.raises(ModelCardError, match="differs from its folder name"):
        read_card(renamed)


def test_card_round_trips_through_json() -> None:
    card = ModelCard.from_dict(tiny_card_dict())
    assert ModelCard.from_dict(json.loads(json.dumps(card.to_dict()))) == card


def test_written_cards_are_strict_json(tmp_path: Path) -> None:
    from medai_core.models import write_card

    folder = tmp_path / "tiny_test"
    folder.mkdir()
    card = ModelCard.from_dict({**tiny_card_dict(), "metrics": {"baseline": {"coverage_80": float("nan")}}})
    write_card(card, folder)
    text = (folder / "model_card.json").read_text(encoding="utf-8")
    assert "NaN" not in text
    assert read_card(folder).metrics == {"baseline": {"coverage_80": None}}
