"""Ray Serve deployments of the shipped models (``python -m medai_core serve``); imports Ray, so import it lazily.

One Serve application per model folder under ``models/`` (route ``/<model_id>``), each replica loading the model
with the same verified path as the app (:func:`medai_core.models.load_model`: sha256 against the card,
``safe_mode=True``), plus a ``/health`` application that asks every model for its identity.

Routes (the client is :class:`medai_core.inference.ServePredictor`):

- ``GET /<model_id>``: ``{"model_id", "model_version", "weights_sha256", "inputs": [[dims], ...]}``.
- ``POST /<model_id>``: one batch (``.npz`` of ``input_0``, ... or JSON ``{"inputs": [...]}``), answered with the
  outputs in the same format and the model identity in the ``X-Medai-*`` headers (and in the JSON body).
  Requests from all clients are merged by ``@serve.batch`` (up to :data:`MAX_BATCH_REQUESTS` requests, waiting
  at most :data:`BATCH_WAIT_S`) into one call of the compiled inference function.
- ``GET /health``: 200 ``{"status": "ok", "models": [...]}`` when every model answers, 503 otherwise.

Bad batches (wrong number of arrays, wrong shape, non-finite values) get a 400 with a message, never a guess.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ray import serve
from ray.serve.handle import DeploymentHandle
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from medai_core.inference import (
    HEADER_MODEL_ID,
    HEADER_MODEL_VERSION,
    HEADER_WEIGHTS_SHA256,
    decode_arrays,
    encode_arrays,
)
from medai_core.models.registry import LoadedModel, list_model_ids, load_model

__all__ = [
    "BATCH_WAIT_S",
    "DEFAULT_PORT",
    "HEALTH_APP",
    "MAX_BATCH_REQUESTS",
    "ModelDeployment",
    "deploy_models",
    "health_application",
    "model_application",
    "validate_batch",
]

MAX_BATCH_REQUESTS = 16
"""Most requests merged into one model call by ``@serve.batch``."""
BATCH_WAIT_S = 0.005
"""Longest wait for more requests before a partial batch runs (5 ms: small against a 10-100 ms model call)."""
DEFAULT_PORT = 8000
HEALTH_APP = "health"


def validate_batch(arrays: list[NDArray[np.float32]], shapes: list[tuple[int | None, ...]]) -> None:
    """Check one request's arrays against the model's input shapes (batch axis excluded).

    Raises:
        ValueError: the number of arrays, a shape, the batch sizes or the values do not fit the model.
    """
    if len(arrays) != len(shapes):
        raise ValueError(f"the model takes {len(shapes)} input array(s), the request holds {len(arrays)}")
    sizes = {a.shape[0] if a.ndim else -1 for a in arrays}
    if len(sizes) != 1 or -1 in sizes or 0 in sizes:
        raise ValueError(
            f"every input array needs the same batch size >= 1 on axis 0; got shapes {[a.shape for a in arrays]}"
        )
    for i, (array, shape) in enumerate(zip(arrays, shapes, strict=True)):
        fits = array.ndim == len(shape) + 1 and all(
            d is None or d == s for d, s in zip(shape, array.shape[1:], strict=True)
        )
        if not fits:
            raise ValueError(
                f"input {i} has shape {array.shape}; the model expects (batch, {', '.join(map(str, shape))})"
            )
        if not np.isfinite(array).all():
            raise ValueError(f"input {i} holds NaN or infinite values")


def _identity(loaded: LoadedModel) -> dict[str, str]:
    return {
        HEADER_MODEL_ID: loaded.card.id,
        HEADER_MODEL_VERSION: loaded.card.version,
        HEADER_WEIGHTS_SHA256: loaded.card.weights_sha256,
    }


@serve.deployment(max_ongoing_requests=64)
class ModelDeployment:
    """One shipped model behind ``/<model_id>``, with dynamic batching across clients.

    Args:
        model_id: the model folder name.
        models_dir: the models folder (None: the replica's ``MEDAI_MODELS_DIR`` or ``<repo>/models``).
    """

    def __init__(self, model_id: str, models_dir: str | None = None) -> None:
        self._loaded = load_model(model_id, Path(models_dir) if models_dir else None)
        self._shapes = [
            tuple(None if d is None else int(d) for d in t.shape[1:]) for t in self._loaded.keras_model.inputs
        ]

    def info(self) -> dict[str, Any]:
        """The identity of the model this replica serves."""
        card = self._loaded.card
        return {
            "model_id": card.id,
            "model_version": card.version,
            "weights_sha256": card.weights_sha256,
            "inputs": [list(s) for s in self._shapes],
        }

    @serve.batch(max_batch_size=MAX_BATCH_REQUESTS, batch_wait_timeout_s=BATCH_WAIT_S)
    async def predict_batched(self, requests: list[list[NDArray[np.float32]]]) -> list[list[NDArray[np.float32]]]:
        """Merge the requests' batches along axis 0, run the model once, and split the outputs back."""
        sizes = [r[0].shape[0] for r in requests]
        merged = [np.concatenate([r[i] for r in requests], axis=0) for i in range(len(self._shapes))]
        out = await asyncio.to_thread(self._loaded.predict, *merged)
        outputs = out if isinstance(out, list) else [out]
        bounds = np.cumsum([0, *sizes])
        return [[o[bounds[k] : bounds[k + 1]] for o in outputs] for k in range(len(requests))]

    async def __call__(self, request: Request) -> Response:
        """GET: identity; POST: one batch (``.npz`` or JSON) to outputs in the same format."""
        headers = _identity(self._loaded)
        if request.method == "GET":
            return JSONResponse(self.info(), headers=headers)
        body = await request.body()
        as_json = request.headers.get("content-type", "").startswith("application/json")
        try:
            if as_json:
                inputs = json.loads(body)["inputs"]
                arrays = [np.asarray(x, dtype=np.float32) for x in inputs]
            else:
                arrays = decode_arrays(body, "input")
            validate_batch(arrays, self._shapes)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"bad batch for {self._loaded.card.id}: {exc}", **self.info()}, 400, headers)
        outputs = await self.predict_batched(arrays)
        if as_json:
            return JSONResponse({"outputs": [o.tolist() for o in outputs], **self.info()}, headers=headers)
        return Response(encode_arrays(outputs, "output"), media_type="application/octet-stream", headers=headers)


@serve.deployment(max_ongoing_requests=16)
class HealthDeployment:
    """``/health``: asks each model application for its identity (503 when one does not answer in 10 s)."""

    def __init__(self, model_ids: list[str]) -> None:
        self._model_ids = model_ids

    async def __call__(self, request: Request) -> Response:
        """200 with every model's identity, or 503 naming the model that did not answer."""
        models = []
        for model_id in self._model_ids:
            try:
                handle: DeploymentHandle = serve.get_app_handle(model_id)
                models.append(await asyncio.wait_for(handle.info.remote(), timeout=10.0))
            except Exception as exc:  # any failure of a replica is an unhealthy answer, not a crash
                return JSONResponse({"status": "unavailable", "model_id": model_id, "error": str(exc)}, 503)
        return JSONResponse({"status": "ok", "models": models})


def model_application(
    model_id: str,
    *,
    models_dir: Path | None = None,
    replicas: int = 1,
    num_cpus: float = 1.0,
    num_gpus: float = 0.0,
) -> Any:
    """The bound Serve application of one model (``replicas`` copies, each with ``num_cpus``/``num_gpus``)."""
    deployment: Any = ModelDeployment  # a serve.Deployment once decorated
    options = deployment.options(
        name=model_id,
        num_replicas=replicas,
        ray_actor_options={"num_cpus": num_cpus, "num_gpus": num_gpus},
    )
    return options.bind(model_id, str(models_dir) if models_dir else None)


def health_application(model_ids: list[str]) -> Any:
    """The bound ``/health`` application (no CPU reserved: it only forwards)."""
    health: Any = HealthDeployment  # a serve.Deployment once decorated
    return health.options(ray_actor_options={"num_cpus": 0}).bind(model_ids)


def deploy_models(
    *,
    models_dir: Path | None = None,
    replicas: int = 1,
    num_cpus: float = 1.0,
    num_gpus: float = 0.0,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
) -> tuple[str, list[str]]:
    """Start Serve on the connected Ray cluster and deploy every model under ``models_dir`` plus ``/health``.

    Ray must already be initialised (``ray.init``). Returns the HTTP base URL and the deployed model ids.

    Raises:
        ModelError: no model folder is installed (nothing to serve).
    """
    from medai_core.errors import ModelError

    model_ids = list_model_ids(models_dir)
    if not model_ids:
        raise ModelError(f"no model folders under {models_dir or 'models/'}: nothing to serve")
    serve.start(http_options={"host": host, "port": port})
    for model_id in model_ids:
        app = model_application(
            model_id, models_dir=models_dir, replicas=replicas, num_cpus=num_cpus, num_gpus=num_gpus
        )
        serve.run(app, name=model_id, route_prefix=f"/{model_id}", blocking=False)
    serve.run(health_application(model_ids), name=HEALTH_APP, route_prefix="/health", blocking=False)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{shown}:{port}", model_ids
