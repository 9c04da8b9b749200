"""Ray Serve: the three shipped models deployed on a local Ray answer like the in-process models (to 1e-5)."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from medai_core.errors import ModelError, ModelIntegrityError
from medai_core.inference import InProcessPredictor, ServePredictor
from medai_core.models import list_model_ids

MODEL_IDS = ("ct_nodule", "gene_ici_survival", "glucose_forecast")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def address(ray_session: None) -> Iterator[str]:
    from ray import serve

    from medai_core.serve import deploy_models

    url, deployed = deploy_models(num_cpus=0.25, port=_free_port())
    assert deployed == list_model_ids()
    yield url
    serve.shutdown()


@pytest.fixture(scope="module")
def local() -> InProcessPredictor:
    return InProcessPredictor()


def _batch(model: object, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, *[int(d) for d in t.shape[1:]])).astype(np.float32) for t in model.keras_model.inputs]  # type: ignore[attr-defined]


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_served_predictions_equal_in_process(address: str, local: InProcessPredictor, model_id: str) -> None:
    served = ServePredictor(address).model(model_id)
    inputs = _batch(local.model(model_id), 7, seed=len(model_id))
    a, b = served.predict(*inputs), local.predict(model_id, *inputs)
    for x, y in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b], strict=True):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, atol=1e-5, rtol=0)


def test_analyses_through_serve_equal_in_process(address: str, local: InProcessPredictor) -> None:
    from medai_core.ct.analysis import analyse_nodule
    from medai_core.ct.phantom import make_phantom, phantom_dicom_zip
    from medai_core.ct.readers import read_ct
    from medai_core.genomics.analysis import analyse_bytes
    from medai_core.genomics.demo import DEMO_FILENAME, demo_maf
    from medai_core.glucose.analysis import analyse
    from medai_core.glucose.simulate import simulated_patient

    serve = ServePredictor(address)
    phantom = make_phantom("spiculated", 14.0)
    study = read_ct(phantom_dicom_zip(phantom), name="phantom.zip")
    ct = [analyse_nodule(p.model("ct_nodule"), None, study, phantom.seed, explain="none") for p in (serve, local)]
    assert ct[0].probability == pytest.approx(ct[1].probability, abs=1e-5)
    np.testing.assert_allclose(ct[0].member_probabilities, ct[1].member_probabilities, atol=1e-5)
    record = simulated_patient(days=2, seed=4)
    cgm = [analyse(record, p.model("glucose_forecast")) for p in (serve, local)]
    assert cgm[0].forecast is not None and cgm[1].forecast is not None
    np.testing.assert_allclose(cgm[0].forecast.p50, cgm[1].forecast.p50, atol=1e-3)  # mg/dL: 25 x model units
    assert cgm[0].backtest is not None and cgm[1].backtest is not None
    assert cgm[0].backtest.model["rmse_avg"] == pytest.approx(cgm[1].backtest.model["rmse_avg"], abs=1e-3)
    genes = [
        analyse_bytes(demo_maf(), DEMO_FILENAME, model=p.model("gene_ici_survival"), tumour_type="Melanoma")
        for p in (serve, local)
    ]
    np.testing.assert_allclose(genes[0].selected.probability, genes[1].selected.probability, atol=1e-5)


def test_health_and_identity_in_every_response(address: str, local: InProcessPredictor) -> None:
    with urllib.request.urlopen(f"{address}/health", timeout=30) as response:
        health = json.loads(response.read())
    assert health["status"] == "ok"
    assert {m["model_id"]: m["weights_sha256"] for m in health["models"]} == {
        m: local.model(m).card.weights_sha256 for m in MODEL_IDS
    }
    body = json.dumps({"inputs": [np.zeros((2, 36, 4)).tolist()]}).encode()
    request = urllib.request.Request(
        f"{address}/glucose_forecast", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        doc = json.loads(response.read())
        assert response.headers["X-Medai-Weights-Sha256"] == local.model("glucose_forecast").card.weights_sha256
    assert doc["model_id"] == "glucose_forecast" and doc["model_version"]
    np.testing.assert_allclose(
        np.asarray(doc["outputs"][0]), local.predict("glucose_forecast", np.zeros((2, 36, 4))), atol=1e-5
    )


def test_bad_batches_are_refused_with_a_reason(address: str) -> None:
    client = ServePredictor(address)
    with pytest.raises(ModelError, match=r"400.*expects \(batch, 36, 4\)"):
        client.predict("glucose_forecast", np.zeros((2, 12, 4), dtype=np.float32))
    with pytest.raises(ModelError, match=r"400.*NaN"):
        client.predict("gene_ici_survival", np.full((1, 107), np.nan, dtype=np.float32))
    with pytest.raises(ModelError, match=r"400.*takes 1 input"):
        client.predict("ct_nodule", np.zeros((1, 64, 64, 3)), np.zeros((1, 64, 64, 3)))
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{address}/no_such_model", timeout=30)


def test_a_response_from_other_weights_is_refused(address: str) -> None:
    client = ServePredictor(address)
    model = client.model("gene_ici_survival")
    client._expected["gene_ici_survival"] = "0" * 64  # as if the server had been redeployed with other weights
    with pytest.raises(ModelIntegrityError, match=r"other|answered"):
        model.predict(np.zeros((1, 107), dtype=np.float32))


def test_validate_batch_edges() -> None:
    from medai_core.serve import validate_batch

    validate_batch([np.zeros((3, 36, 4), np.float32)], [(36, 4)])
    for arrays, message in (
        ([np.zeros((0, 36, 4), np.float32)], "batch size"),
        ([np.zeros((36, 4), np.float32)], "shape"),
        ([np.zeros((2, 36, 4), np.float32), np.zeros((3, 36, 4), np.float32)], "takes 1"),
        ([np.array(np.inf, np.float32)], "batch size"),
    ):
        with pytest.raises(ValueError, match=message):
            validate_batch(arrays, [(36, 4)])
    validate_batch([np.zeros((2, 5, 4), np.float32)], [(None, 4)])


def test_models_dir_can_be_given(tmp_path: Path) -> None:
    from medai_core.errors import ModelError as Missing
    from medai_core.serve import deploy_models

    with pytest.raises(Missing, match="nothing to serve"):
        deploy_models(models_dir=tmp_path, port=_free_port())
