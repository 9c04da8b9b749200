"""Analyses run in a pool of worker processes, so that the server process only lays out results.

A page's analysis (read the upload, prepare, run the model, explain) is CPU-bound Python and TensorFlow work. Run
in the Streamlit process, every session's analysis competes with every other session's page layout for one
interpreter (one core in practice). :func:`run_job` sends it to an :class:`~medai_core.isolation.IsolationPool` of
fresh interpreters instead (spawned with ``python -c``, never forked from the server, which has TensorFlow
loaded), sized by the cores, with a bounded queue. Each worker keeps the models it has loaded (verified against
their cards, warmed) for its lifetime, so only its first analysis of a model pays the load. With
``MEDAI_SERVE_ADDRESS`` set, the workers reach the models through the Serve client like any other caller
(:mod:`medai_core.inference`).

Jobs are named in :data:`JOBS`: each domain's page analysis under the domain's name, taken from the registry
(:attr:`medai_core.domains.Domain.job`), plus the demo and device jobs. Each is a module-level function of plain,
picklable arguments (upload bytes, options, the model's id and version) returning the frozen result dataclass the
page lays out. Results are the same objects an in-process call returns: the same functions run on the same inputs,
only in another process.

Settings (environment): ``MEDAI_ANALYSIS_WORKERS`` (default: the usable cores, at most 4; ``0`` runs every job in
the calling process, as before), ``MEDAI_ANALYSIS_QUEUE`` (default 64: analyses that may wait for a worker before
one more is refused with "the server is busy"), ``MEDAI_ANALYSIS_TIME_S`` (default 300: seconds one analysis may
take before its worker is stopped and replaced), ``MEDAI_ANALYSIS_MEMORY_MB`` (default :data:`ANALYSIS_MEMORY_MB`,
4096: the resident memory in MiB a worker may hold while it runs an analysis, its loaded models included, before
it is stopped and replaced; the analysis fails with the domain's ``InputError`` "... needed more than N MiB of
memory"). The memory limit is on resident memory, sampled by the pool (:class:`~medai_core.isolation.IsolationPool`
``resident_mb``), not on address space (``RLIMIT_AS``, as for the readers): TensorFlow reserves far more address
space than it uses. With ``MEDAI_ANALYSIS_WORKERS=0`` neither limit applies (the job runs in the calling process).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from medai_core.domains import CT, DOMAINS, GLUCOSE, resolve
from medai_core.errors import InputError, MedaiError

if TYPE_CHECKING:
    from medai_core.ct.analysis import NoduleAnalysis
    from medai_core.ct.readers import CTStudy
    from medai_core.explain import GradCam
    from medai_core.genomics.analysis import GeneResult
    from medai_core.genomics.readers import PanelFile
    from medai_core.glucose.analysis import GlucoseAnalysis
    from medai_core.isolation import IsolationPool
    from medai_core.models import DeviceInfo, LoadedModel

__all__ = [
    "ANALYSIS_MEMORY_MB",
    "JOBS",
    "analysis_pool",
    "analysis_memory_mb",
    "analysis_workers",
    "ct_job",
    "device_job",
    "gene_job",
    "glucose_demo_job",
    "glucose_job",
    "load_models",
    "run_job",
    "shutdown_analysis_pool",
]

MAX_DEFAULT_WORKERS = 4
"""The default pool never exceeds this many workers (each holds every model: about 400 MiB)."""

ANALYSIS_MEMORY_MB = 4096
"""Default resident-memory limit of an analysis worker in MiB (``MEDAI_ANALYSIS_MEMORY_MB``): a warm worker holds
about 870 MiB (measured: 771 MiB after loading the three models, 867 MiB peak after one analysis of each domain)
and gets the readers' 3072 MiB budget (``MEDAI_ISOLATION_MEMORY_MB``) on top, rounded up."""

PRELOAD: tuple[str, ...] = ("medai_core.workers", *(f"medai_core.{d.package}.analysis" for d in DOMAINS))
"""Imported by every analysis worker when it starts (TensorFlow included), before its first job."""


# ------------------------------------------------------------------------------------------------ worker side


@functools.cache
def _model(model_id: str, version: str) -> LoadedModel:
    """The verified, warmed model, loaded once per worker (``version`` keys new weights)."""
    from medai_core.inference import get_predictor

    return get_predictor().model(model_id)


@functools.cache
def _ct_grad_cam(model_id: str, version: str) -> GradCam:
    from medai_core.ct.analysis import make_ensemble_grad_cam

    return make_ensemble_grad_cam(_model(model_id, version))


def ct_job(
    model_id: str,
    version: str,
    data: bytes | CTStudy,
    name: str,
    seed: tuple[int, int, int] | None,
    threshold_hu: float,
    pixel_mm: float | None,
) -> NoduleAnalysis:
    """Read a CT upload (or take the study ``read_ct`` already made of it) and analyse one nodule with Grad-CAM on
    every slice and the deletion check (the page's analysis; ``seed`` is (row, col, slice))."""
    from medai_core.ct.analysis import analyse_nodule
    from medai_core.ct.prepare import Seed
    from medai_core.ct.readers import CTStudy, read_ct, with_pixel_size

    study = with_pixel_size(data if isinstance(data, CTStudy) else read_ct(data, name=name), pixel_mm)
    point = None if seed is None else Seed(*seed)
    model = _model(model_id, version)
    return analyse_nodule(model, _ct_grad_cam(model_id, version), study, point, threshold_hu=threshold_hu)


def glucose_job(model_id: str, version: str, data: bytes, patient: str | None, timezone: str | None) -> GlucoseAnalysis:
    """Read a CGM upload and run the AGP, forecast, attributions and backtest."""
    from medai_core.glucose.analysis import analyse
    from medai_core.glucose.readers import read_cgm

    record = read_cgm(data, name="The uploaded file", patient=patient, timezone=timezone)
    return analyse(record, _model(model_id, version))


def glucose_demo_job(model_id: str, version: str, days: int, seed: int) -> tuple[GlucoseAnalysis, bytes]:
    """The simulated demo patient's analysis and its series as CSV bytes."""
    from medai_core.glucose.analysis import analyse
    from medai_core.glucose.simulate import simulated_csv, simulated_patient

    record = simulated_patient(days=days, seed=seed)
    return analyse(record, _model(model_id, version)), simulated_csv(record)


def gene_job(
    model_id: str,
    version: str,
    data: bytes,
    filename: str,
    panel_file: PanelFile | None,
    options: dict[str, Any],
) -> GeneResult:
    """One panel's analysis (``options``: the keyword arguments of
    :func:`~medai_core.genomics.analysis.analyse_bytes`); ``panel_file`` is the panel already read, if any."""
    from medai_core.genomics.analysis import analyse_bytes
    from medai_core.genomics.evidence import load_evidence

    return analyse_bytes(
        data,
        filename,
        model=_model(model_id, version),
        evidence_base=load_evidence(),
        panel_file=panel_file,
        **options,
    )


def device_job() -> DeviceInfo:
    """The device the worker's models run on (TensorFlow configured once per worker)."""
    from medai_core.models import configure_runtime

    return configure_runtime()


CT_WARM_CASES: tuple[str, ...] = ("phantom:solid:8", "phantom:solid:20")
"""Demo cases of two crop depths each worker analyses once when it loads the CT model: TensorFlow traces a model
function again at the first batch of a new size (and then for any size), about 0.3 s that the first users'
analyses would otherwise pay. The results do not depend on it (the same bits in either order)."""


def _warm_ct(model_id: str, version: str) -> None:
    """Analyse :data:`CT_WARM_CASES` in full (Grad-CAM, deletion curve, out-of-distribution check); results unused."""
    from medai_core.ct.demo import demo_bytes, demo_seed
    from medai_core.ct.prepare import DEFAULT_THRESHOLD_HU

    for case in CT_WARM_CASES:
        data, name = demo_bytes(case)
        seed = demo_seed(case)
        ct_job(model_id, version, data, name, (seed.row, seed.col, seed.slice_index), DEFAULT_THRESHOLD_HU, None)


_WARM_UPS: dict[str, Callable[[str, str], None]] = {CT.model_id: _warm_ct}


def load_models(models: tuple[tuple[str, str], ...]) -> int:
    """Load (and warm) each ``(model_id, version)`` in this worker, the CT model with full analyses of
    :data:`CT_WARM_CASES`; the worker's process id."""
    for model_id, version in models:
        _model(model_id, version)
        warm = _WARM_UPS.get(model_id)
        if warm is not None:
            try:
                warm(model_id, version)
            except MedaiError:  # the same failure reaches the first user's analysis, with its message
                continue
    return os.getpid()


JOBS: dict[str, tuple[Callable[..., Any], type[InputError]]] = {
    # Each domain's job is named in the registry; resolving a job of this module while it is being imported finds
    # the function defined above (the module is already in sys.modules).
    **{domain.name: (resolve(domain.job), domain.error) for domain in DOMAINS},
    "glucose_demo": (glucose_demo_job, GLUCOSE.error),
    "device": (device_job, InputError),
}
"""Job name (a domain's name, or ``glucose_demo``, ``device``) -> the job function and the ``InputError`` its
failures raise."""


# ------------------------------------------------------------------------------------------------ server side

_pool: IsolationPool | None = None
_pool_env: dict[str, str] = {}
_pool_lock = threading.Lock()


WORKER_SETTINGS: tuple[str, ...] = (
    "MEDAI_MODELS_DIR",
    "MEDAI_SERVE_ADDRESS",
    "MEDAI_EVIDENCE_DIR",
    "MEDAI_DEVICE",
    "MEDAI_ANALYSIS_TIME_S",
    "MEDAI_ANALYSIS_MEMORY_MB",
    "MEDAI_ANALYSIS_QUEUE",
)
"""The settings an analysis reads in the worker (taken from the environment when the worker starts) and the pool's
limits: a change of one replaces the pool."""


def _medai_env() -> dict[str, str]:
    return {k: os.environ.get(k, "") for k in WORKER_SETTINGS}


def _env_int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise MedaiError(f"{name}={raw!r}: expected a whole number >= {minimum}")
    return value


def analysis_workers() -> int:
    """The pool size: ``MEDAI_ANALYSIS_WORKERS``, else the usable cores (at most :data:`MAX_DEFAULT_WORKERS`)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return _env_int("MEDAI_ANALYSIS_WORKERS", max(1, min(cores, MAX_DEFAULT_WORKERS)), 0)


def analysis_memory_mb() -> int:
    """The analysis workers' resident-memory limit in MiB: ``MEDAI_ANALYSIS_MEMORY_MB``, else
    :data:`ANALYSIS_MEMORY_MB`.

    Raises:
        MedaiError: the setting is not a whole number >= 256.
    """
    return _env_int("MEDAI_ANALYSIS_MEMORY_MB", ANALYSIS_MEMORY_MB, 256)


def analysis_pool() -> IsolationPool | None:
    """The process-wide analysis pool (started on first use), or None when ``MEDAI_ANALYSIS_WORKERS=0``.

    Workers read their settings (:data:`WORKER_SETTINGS`) when they start, so a change of one replaces the pool.
    """
    global _pool, _pool_env
    workers = analysis_workers()
    if workers == 0:
        return None
    env = _medai_env()
    with _pool_lock:
        if _pool is None or _pool_env != env or _pool.workers != workers:
            from medai_core.isolation import IsolationPool

            if _pool is not None:
                _pool.close()
            _pool = IsolationPool(
                workers,
                float(_env_int("MEDAI_ANALYSIS_TIME_S", 300, 1)),
                None,
                preload=PRELOAD,
                max_waiting=_env_int("MEDAI_ANALYSIS_QUEUE", 64, 0),
                resident_mb=analysis_memory_mb(),
            )
            _pool_env = env
        return _pool


def shutdown_analysis_pool() -> None:
    """Stop the analysis workers (the next job starts new ones)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool = None


def warm_pool(models: tuple[tuple[str, str], ...]) -> None:
    """Start every worker and load ``models`` in each, in background threads (returns at once).

    The loads are background calls of the pool (:meth:`~medai_core.isolation.IsolationPool.run`): a user's job, or
    the app's demo analyses started at the same time, takes the next free worker before them.
    """
    pool = analysis_pool()
    if pool is None:
        return
    for _ in range(pool.workers):
        threading.Thread(target=_warm_one, args=(pool, models), daemon=True).start()


def _warm_one(pool: IsolationPool, models: tuple[tuple[str, str], ...]) -> None:
    try:
        pool.run(load_models, models, error=InputError, label="Loading the models", step="analysis", background=True)
    except Exception:  # warming is best effort: the first job surfaces a real failure
        return


def run_job(job: str, *args: Any, label: str = "The file", background: bool = False) -> Any:
    """Run the job ``job`` of :data:`JOBS` with ``args`` in the analysis pool (in place when it is off);
    ``background``: after every job waiting for a worker (:meth:`~medai_core.isolation.IsolationPool.run`).

    Raises:
        InputError: the domain subclass: what the job raised, or the worker crashed or passed the time or memory
            limit ("... could not be analysed safely: ...").
        PoolBusyError: every worker is busy and the queue is full.
    """
    function, error = JOBS[job]
    pool = analysis_pool()
    if pool is None:
        return function(*args)
    return pool.run(function, *args, error=error, label=label, step="analysis", background=background).value
