"""The inference seam: the one way pages, the command line and ``batch`` reach a model.

Two implementations of :class:`Predictor`, chosen by the ``MEDAI_SERVE_ADDRESS`` setting:

- :class:`InProcessPredictor` (the default, setting unset): the verified model is loaded in this process
  (:func:`medai_core.models.load_model`: sha256 against the card, ``safe_mode=True``) and run by its compiled
  inference function. This is the embedded default for one clinician on one machine.
- :class:`ServePredictor` (setting set to ``http://host:port``): every ``predict`` batch is sent over HTTP to the
  Ray Serve deployment of that model (``python -m medai_core serve``), which batches requests from all clients
  dynamically and may run on a GPU elsewhere. Every response carries the served model's id, version and weights
  sha256, and the client refuses a response whose sha256 differs from its own card.

Both hand out the object the analyses already call, a :class:`~medai_core.models.LoadedModel`
(:meth:`Predictor.model`), so ``analyse_nodule``, the glucose ``analyse`` and the gene-panel analysis run unchanged:
``loaded.predict(...)`` goes to Serve, while ``loaded.keras_model`` is the locally verified copy used only for
gradients. Explanations (Grad-CAM, integrated gradients) stay local on purpose: they need the gradient tape over
the model (dozens of forward and backward passes per analysis on inputs the client already holds), the shipped
models are a few MB, and running them in the replica would put a second, explanation-specific API between the
analyses and the model; the measured cost is in the README ("Beyond one machine").

Wire format (no pickle): the request body is an ``.npz`` archive of the input arrays ``input_0``, ``input_1``, ...
(batch axis first, float32); the response is an ``.npz`` of ``output_0``, ... with the model identity in the
``X-Medai-Model-Id``, ``X-Medai-Model-Version`` and ``X-Medai-Weights-Sha256`` headers. A JSON body
``{"inputs": [nested lists, ...]}`` is accepted too (for curl and other languages) and answered in JSON.

Nothing here imports Ray: the client speaks plain HTTP.
"""

from __future__ import annotations

import io
import json
import threading
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from medai_core.errors import ModelError, ModelIntegrityError
from medai_core.models.registry import LoadedModel, load_model

__all__ = [
    "DEFAULT_SERVE_TIMEOUT_S",
    "HEADER_MODEL_ID",
    "HEADER_MODEL_VERSION",
    "HEADER_WEIGHTS_SHA256",
    "InProcessPredictor",
    "Predictor",
    "ServePredictor",
    "decode_arrays",
    "encode_arrays",
    "get_predictor",
    "serve_address",
]

HEADER_MODEL_ID = "X-Medai-Model-Id"
HEADER_MODEL_VERSION = "X-Medai-Model-Version"
HEADER_WEIGHTS_SHA256 = "X-Medai-Weights-Sha256"
DEFAULT_SERVE_TIMEOUT_S = 120.0
"""Seconds one HTTP call to the model server may take (a large backtest batch on a busy CPU replica)."""

Outputs = NDArray[np.float32] | list[NDArray[np.float32]]


def serve_address() -> str | None:
    """The Serve base URL from the ``MEDAI_SERVE_ADDRESS`` setting (trailing slash removed), or None when unset.

    Raises:
        ValueError: the variable is set but is not an http(s) URL.
    """
    from medai_core.config import get_settings

    return get_settings().serve_address


def encode_arrays(arrays: list[NDArray[Any]], prefix: str) -> bytes:
    """Arrays as an uncompressed ``.npz`` archive with keys ``<prefix>_0``, ``<prefix>_1``, ... (float32)."""
    buffer = io.BytesIO()
    named: dict[str, Any] = {f"{prefix}_{i}": np.asarray(a, dtype=np.float32) for i, a in enumerate(arrays)}
    np.savez(buffer, **named)
    return buffer.getvalue()


def decode_arrays(data: bytes, prefix: str) -> list[NDArray[np.float32]]:
    """The arrays of an ``.npz`` archive written by :func:`encode_arrays`, in key order (pickle refused).

    Raises:
        ValueError: the bytes are not such an archive.
    """
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"not an .npz archive of arrays: {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError("not an .npz archive of arrays (a single .npy array)")
    with archive:
        names = list(archive.files)
        keys = [f"{prefix}_{i}" for i in range(len(names))]
        if not names or sorted(names) != sorted(keys):
            raise ValueError(f"expected arrays named {prefix}_0, {prefix}_1, ...; found {names}")
        try:
            return [np.asarray(archive[k], dtype=np.float32) for k in keys]
        except ValueError as exc:  # object arrays (pickle) or non-numeric content
            raise ValueError(f"array content is not numeric: {exc}") from None


class Predictor(Protocol):
    """How the app reaches a model: by id, a batch in, float32 outputs out."""

    def model(self, model_id: str) -> LoadedModel:
        """The drop-in model object the analyses call (``.card``, ``.predict(...)``, ``.keras_model``)."""
        ...

    def predict(self, model_id: str, *inputs: NDArray[Any]) -> Outputs:
        """Run model ``model_id`` on one batch (one array per model input, batch axis first)."""
        ...


class InProcessPredictor:
    """Models loaded and run in this process (the default), one verified copy per id."""

    def __init__(self, models_dir: Path | None = None) -> None:
        self._models_dir = models_dir
        self._loaded: dict[tuple[str, str, str], LoadedModel] = {}
        self._lock = threading.Lock()

    def model(self, model_id: str) -> LoadedModel:
        """The verified, warmed model, loaded once per models folder and weights (new weights load again)."""
        key = _cache_key(model_id, self._models_dir)
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = load_model(model_id, Path(key[0]))
            return self._loaded[key]

    def predict(self, model_id: str, *inputs: NDArray[Any]) -> Outputs:
        """Run the in-process model on a batch."""
        return self.model(model_id).predict(*inputs)


def _cache_key(model_id: str, models_dir: Path | None) -> tuple[str, str, str]:
    """(models folder, id, weights sha256 of the card): what a loaded copy is valid for (reads only the card)."""
    from medai_core.config import get_settings
    from medai_core.models.card import read_card
    from medai_core.models.registry import model_dir

    root = Path(models_dir) if models_dir is not None else get_settings().models_dir
    return str(root), model_id, read_card(model_dir(model_id, root)).weights_sha256


class _RemoteInference:
    """The ``_infer`` function of a Serve-backed :class:`LoadedModel`: one HTTP call per batch."""

    def __init__(self, predictor: ServePredictor, model_id: str) -> None:
        self._predictor = predictor
        self._model_id = model_id

    def __call__(self, x: Any) -> Outputs:
        arrays = list(x) if isinstance(x, (list, tuple)) else [x]
        outputs = self._predictor.predict(self._model_id, *arrays)
        return outputs


class ServePredictor:
    """Models served by ``python -m medai_core serve`` at ``address``; explanations use a local verified copy.

    Args:
        address: base URL, e.g. ``http://127.0.0.1:8000``.
        models_dir: where the local cards (and the weights for gradients) are.
        timeout_s: seconds one HTTP call may take.
    """

    def __init__(
        self, address: str, models_dir: Path | None = None, timeout_s: float = DEFAULT_SERVE_TIMEOUT_S
    ) -> None:
        self.address = address.rstrip("/")
        self._models_dir = models_dir
        self._timeout_s = timeout_s
        self._expected: dict[str, str] = {}
        self._loaded: dict[tuple[str, str, str], LoadedModel] = {}
        self._lock = threading.Lock()

    def info(self, model_id: str) -> dict[str, Any]:
        """The served model's identity ``{"model_id", "model_version", "weights_sha256", ...}`` (GET on its route).

        Raises:
            ModelError: the server cannot be reached or does not serve ``model_id``.
        """
        body, _ = self._call(f"/{model_id}", None, None)
        return dict(json.loads(body))

    def model(self, model_id: str) -> LoadedModel:
        """A :class:`LoadedModel` whose ``predict`` goes to Serve, and whose ``keras_model`` is local (gradients).

        The served weights' sha256 must equal the local card's, so explanations and predictions come from the
        same weights.

        Raises:
            ModelIntegrityError: the server runs other weights than the local card names.
            ModelError: the server cannot be reached or does not serve ``model_id``.
        """
        key = _cache_key(model_id, self._models_dir)
        with self._lock:
            if key in self._loaded:
                return self._loaded[key]
        local = load_model(model_id, Path(key[0]))
        served = self.info(model_id)
        if served.get("weights_sha256") != local.card.weights_sha256:
            raise ModelIntegrityError(
                f"model {model_id!r}: the server at {self.address} runs weights "
                f"{str(served.get('weights_sha256'))[:12]}…, the local card says {local.card.weights_sha256[:12]}…; "
                "deploy the same models/ folder on both sides."
            )
        remote = replace(local, _infer=_RemoteInference(self, model_id))
        with self._lock:
            self._expected[model_id] = local.card.weights_sha256
            return self._loaded.setdefault(key, remote)

    def predict(self, model_id: str, *inputs: NDArray[Any]) -> Outputs:
        """Send one batch to the deployment of ``model_id``; one output array, or a list for several outputs.

        Raises:
            ModelIntegrityError: the response comes from weights other than the card this client checked.
            ModelError: the server cannot be reached or refused the batch.
        """
        body, headers = self._call(
            f"/{model_id}", encode_arrays([np.asarray(x) for x in inputs], "input"), "application/octet-stream"
        )
        expected = self._expected.get(model_id)
        served = headers.get(HEADER_WEIGHTS_SHA256.lower())
        if served is None or (expected is not None and served != expected):
            raise ModelIntegrityError(
                f"model {model_id!r}: the server answered with weights {str(served)[:12]}…, expected "
                f"{str(expected)[:12]}…"
            )
        outputs = decode_arrays(body, "output")
        return outputs[0] if len(outputs) == 1 else outputs

    def _call(self, path: str, data: bytes | None, content_type: str | None) -> tuple[bytes, dict[str, str]]:
        request = urllib.request.Request(self.address + path, data=data, method="POST" if data else "GET")
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                return response.read(), {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise ModelError(f"the model server at {self.address} refused {path} ({exc.code}): {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ModelError(
                f"the model server at {self.address} (MEDAI_SERVE_ADDRESS) cannot be reached: {exc}. Start it with "
                "`python -m medai_core serve`, or unset MEDAI_SERVE_ADDRESS to run the models in this process."
            ) from None


_predictors: dict[str | None, Predictor] = {}
_predictors_lock = threading.Lock()


def get_predictor(address: str | None = None) -> Predictor:
    """The process-wide predictor: Serve at ``address`` (default: ``MEDAI_SERVE_ADDRESS``), else in-process.

    Raises:
        ValueError: ``MEDAI_SERVE_ADDRESS`` is set to something that is not an http(s) URL.
    """
    target = address.rstrip("/") if address else serve_address()
    with _predictors_lock:
        if target not in _predictors:
            _predictors[target] = InProcessPredictor() if target is None else ServePredictor(target)
        return _predictors[target]
