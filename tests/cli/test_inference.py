"""The inference seam without Ray: settings, the wire format, and the Serve client against a stand-in server."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from medai_core.errors import ModelError, ModelIntegrityError
from medai_core.inference import (
    InProcessPredictor,
    ServePredictor,
    decode_arrays,
    encode_arrays,
    get_predictor,
    serve_address,
)
from medai_core.models import load_model

MODEL_ID = "gene_ici_survival"  # the fastest shipped model to load


def test_serve_address_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDAI_SERVE_ADDRESS", raising=False)
    assert serve_address() is None
    assert isinstance(get_predictor(), InProcessPredictor)
    monkeypatch.setenv("MEDAI_SERVE_ADDRESS", "  ")
    assert serve_address() is None
    monkeypatch.setenv("MEDAI_SERVE_ADDRESS", "http://127.0.0.1:8000/")
    assert serve_address() == "http://127.0.0.1:8000"
    predictor = get_predictor()
    assert isinstance(predictor, ServePredictor) and predictor.address == "http://127.0.0.1:8000"
    monkeypatch.setenv("MEDAI_SERVE_ADDRESS", "127.0.0.1:8000")
    with pytest.raises(ValueError, match="http"):
        serve_address()


def test_default_install_does_not_import_ray() -> None:
    import subprocess
    import sys

    code = "import medai_core.inference, medai_core.cli, medai_core.ui.cache, sys; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_wire_format_round_trip_and_refusals() -> None:
    arrays = [np.arange(6, dtype=np.float64).reshape(2, 3), np.ones((2, 1), np.float32)]
    back = decode_arrays(encode_arrays(arrays, "input"), "input")
    assert [a.dtype for a in back] == [np.float32, np.float32]
    np.testing.assert_array_equal(back[0], arrays[0])
    many = decode_arrays(encode_arrays([np.full((1,), i) for i in range(12)], "output"), "output")
    assert [float(a[0]) for a in many] == list(range(12))  # numeric, not lexical, order
    with pytest.raises(ValueError, match="npz"):
        decode_arrays(b"not an archive", "input")
    with pytest.raises(ValueError, match="input_0"):
        decode_arrays(encode_arrays([np.zeros(1)], "output"), "input")
    buffer = io.BytesIO()
    np.savez(buffer, input_0=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError):
        decode_arrays(buffer.getvalue(), "input")


class _Stub(BaseHTTPRequestHandler):
    """A stand-in for the Serve deployment: answers with the in-process model, or misbehaves on request."""

    model: Any = None
    mode = "ok"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _identity(self) -> dict[str, str]:
        card = self.model.card
        sha = "f" * 64 if self.mode == "other-weights" else card.weights_sha256
        return {"model_id": card.id, "model_version": card.version, "weights_sha256": sha}

    def do_GET(self) -> None:
        self._send(200, json.dumps(self._identity()).encode(), {"Content-Type": "application/json"})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.mode == "refuse":
            self._send(400, b'{"error": "bad batch: input 0 has shape (1, 3)"}', {})
            return
        out = self.model.predict(*decode_arrays(body, "input"))
        headers = {"X-Medai-Weights-Sha256": self._identity()["weights_sha256"]}
        if self.mode == "no-identity":
            headers = {}
        self._send(200, encode_arrays(out if isinstance(out, list) else [out], "output"), headers)


@pytest.fixture(scope="module")
def stub() -> Iterator[type[_Stub]]:
    _Stub.model = load_model(MODEL_ID)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Stub.address = f"http://127.0.0.1:{server.server_port}"  # type: ignore[attr-defined]
    yield _Stub
    server.shutdown()


def test_serve_client_is_a_drop_in_for_the_loaded_model(stub: type[_Stub]) -> None:
    stub.mode = "ok"
    client = ServePredictor(stub.address)  # type: ignore[attr-defined]
    remote = client.model(MODEL_ID)
    local = InProcessPredictor().model(MODEL_ID)
    assert remote.card == local.card and remote.keras_model is not None
    x = np.random.default_rng(0).normal(size=(3, 107)).astype(np.float32)
    np.testing.assert_allclose(remote.predict(x), local.predict(x), atol=1e-6)
    assert client.model(MODEL_ID) is remote


@pytest.mark.parametrize(
    ("mode", "error", "message"),
    [
        ("other-weights", ModelIntegrityError, "local card says"),
        ("refuse", ModelError, "refused.*400.*shape"),
    ],
)
def test_serve_client_refuses(stub: type[_Stub], mode: str, error: type[Exception], message: str) -> None:
    stub.mode = mode
    client = ServePredictor(stub.address)  # type: ignore[attr-defined]
    with pytest.raises(error, match=message):
        if mode == "other-weights":
            client.model(MODEL_ID)
        else:
            client.predict(MODEL_ID, np.zeros((1, 107), np.float32))


def test_serve_client_refuses_an_anonymous_answer(stub: type[_Stub]) -> None:
    stub.mode = "ok"
    client = ServePredictor(stub.address)  # type: ignore[attr-defined]
    model = client.model(MODEL_ID)
    stub.mode = "no-identity"
    with pytest.raises(ModelIntegrityError, match="answered"):
        model.predict(np.zeros((1, 107), np.float32))


def test_unreachable_server_says_what_to_do() -> None:
    client = ServePredictor("http://127.0.0.1:9", timeout_s=5)
    with pytest.raises(ModelError, match=r"cannot be reached.*medai_core serve.*unset MEDAI_SERVE_ADDRESS"):
        client.predict(MODEL_ID, np.zeros((1, 107), np.float32))


def test_in_process_copies_follow_the_models_folder(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from medai_core.config import REPO_ROOT

    predictor = InProcessPredictor()
    shipped = predictor.model(MODEL_ID)
    shutil.copytree(REPO_ROOT / "models" / MODEL_ID, tmp_path / MODEL_ID)
    monkeypatch.setenv("MEDAI_MODELS_DIR", str(tmp_path))
    copied = predictor.model(MODEL_ID)
    assert copied is not shipped and copied.path.parent == tmp_path / MODEL_ID
    assert predictor.model(MODEL_ID) is copied
