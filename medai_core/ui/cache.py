"""Streamlit caches: models (``st.cache_resource``, keyed by id + version) and analyses (:class:`SharedResults`).

Every caching decorator of the app lives here. Models are cached as resources and never mutated. Analyses run in
the analysis worker pool (:mod:`medai_core.workers`; the Streamlit process only lays out their results) and are
kept in one store shared by every session, keyed by the sha256 of the upload's bytes (or the demo's name) and the
options: the demo analyses, the same for everyone, are computed once per server, and a second session asking for
an analysis that is being computed waits for that one instead of starting its own.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import streamlit as st

from medai_core.domains import CT, GENES, GLUCOSE
from medai_core.models import DeviceInfo, LoadedModel, ModelCard, ModelStatus, model_statuses, read_card
from medai_core.models.registry import model_dir

if TYPE_CHECKING:
    from medai_core.explain import GradCam

T = TypeVar("T")

__all__ = [
    "SharedResults",
    "analyse_ct",
    "analyse_gene_panel",
    "analyse_glucose",
    "analyse_glucose_demo",
    "clear_shared_results",
    "CTVolumeStore",
    "ct_demo_bytes",
    "ct_demo_seed",
    "ct_slice_view",
    "get_ct_views",
    "get_ct_volume_store",
    "get_card",
    "get_ct_grad_cam",
    "get_device_info",
    "get_gene_evidence",
    "get_model",
    "get_model_statuses",
    "get_shared_results",
    "per_result",
    "start_analysis_pool",
    "timezone_names",
    "list_panel_samples",
    "read_ct_upload",
    "read_gene_panel",
]


@st.cache_resource(show_spinner="Loading model…")
def get_model(model_id: str, version: str) -> LoadedModel:
    """The verified, warmed model ``model_id``; ``version`` is part of the cache key so new weights reload.

    Reached through the inference seam: in this process by default, or a Ray Serve client when
    ``MEDAI_SERVE_ADDRESS`` is set (:mod:`medai_core.inference`; explanations still use the local copy).
    """
    from medai_core.inference import get_predictor

    return get_predictor().model(model_id)


@st.cache_resource(show_spinner=False)
def _device_lookup() -> Future[DeviceInfo]:
    """The analysis workers' device, asked once per server in a background thread (the job waits for a worker to
    start and import TensorFlow: about 5 s after the server starts on 2 cores), as a background call of the pool:
    the demo analyses started with the workers, and users' analyses, go first."""
    from medai_core.workers import run_job

    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medai-device")
    future: Future[DeviceInfo] = executor.submit(run_job, "device", background=True)
    executor.shutdown(wait=False)
    return future


def get_device_info() -> DeviceInfo | None:
    """The device the models run on, as the analysis workers see it (the Streamlit process itself never imports
    TensorFlow or Keras with the pool on: Streamlit clears a loaded Keras session after every script run); None
    while the workers are still starting, so that no page waits for TensorFlow to load just to name the device.

    Raises:
        InputError: the workers could not say (the next call asks again).
    """
    future = _device_lookup()
    if not future.done():
        return None
    try:
        return future.result()
    except Exception:
        _device_lookup.clear()  # a failed lookup is not kept: the next page run asks again
        raise


@st.cache_resource(ttl=60, show_spinner=False)
def get_card(model_id: str) -> ModelCard:
    """The validated card of ``model_id`` (re-read at most once a minute), one frozen object for every session (not
    a copy per call, as ``st.cache_data`` would make: what pages derive from the card is kept per object)."""
    return read_card(model_dir(model_id))


@st.cache_resource(ttl=60, show_spinner=False)
def _model_statuses(models_dir: str) -> tuple[ModelStatus, ...]:
    return tuple(model_statuses(Path(models_dir)))


def get_model_statuses() -> tuple[ModelStatus, ...]:
    """The status of every installed model (:func:`medai_core.models.model_statuses`), re-read at most once a
    minute like :func:`get_card`: the sidebar shows it on every run of every page, and reading and validating each
    card from disk was a tenth of a cached page run. Keyed by the models folder (``MEDAI_MODELS_DIR``)."""
    from medai_core.config import get_settings

    return _model_statuses(str(get_settings().models_dir))


@st.cache_resource(show_spinner=False)
def timezone_names() -> tuple[str, ...]:
    """The IANA time zone names of this system, sorted (read from the tz database once per server)."""
    from zoneinfo import available_timezones

    return tuple(sorted(available_timezones()))


class SharedResults:
    """Analysis results shared by every session: least recently used out beyond ``max_entries``, each computed once.

    :meth:`get` runs ``compute`` for a key not held yet; concurrent callers of the same key wait for that one
    computation (an exception reaches each of them and nothing is kept). Results are frozen dataclasses handed out
    as they are (no copy per session, unlike ``st.cache_data``), so callers never mutate them.

    Args:
        max_entries: the most results kept.
        ttl_s: seconds a result lives after it was computed.
    """

    def __init__(self, max_entries: int, ttl_s: float) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._entries: OrderedDict[str, tuple[float, object]] = OrderedDict()
        self._running: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        """Drop every result (running computations finish and are kept)."""
        with self._lock:
            self._entries.clear()

    def get(self, key: str, compute: Callable[[], T]) -> T:
        """The result under ``key``, computing it with ``compute()`` (once, whoever asks) when not held."""
        while True:
            with self._lock:
                now = time.monotonic()
                entry = self._entries.get(key)
                if entry is not None and now - entry[0] <= self.ttl_s:
                    self._entries.move_to_end(key)
                    return entry[1]  # type: ignore[return-value]
                running = self._running.get(key)
                if running is None:
                    running = self._running[key] = threading.Event()
                    break
            running.wait()  # then look again: kept, or failed (and the next caller computes it)
        try:
            value = compute()
            with self._lock:
                self._entries[key] = (time.monotonic(), value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            return value
        finally:
            with self._lock:
                self._running.pop(key, None)
            running.set()


def result_key(*parts: object) -> str:
    """A cache key from the parts: bytes by their sha256, everything else by ``repr``."""
    digest = hashlib.sha256()
    for part in parts:
        text = hashlib.sha256(part).hexdigest() if isinstance(part, bytes) else repr(part)
        digest.update(text.encode() + b"\x00")
    return digest.hexdigest()


@st.cache_resource(show_spinner=False)
def get_shared_results() -> SharedResults:
    """The process-wide store of analysis results (256 entries, an hour each)."""
    return SharedResults(max_entries=256, ttl_s=3600.0)


def clear_shared_results() -> None:
    """Forget every analysis result and what was derived from them (benchmarks measure cold analyses with it)."""
    get_shared_results().clear()
    get_derived_results().clear()
    get_ct_views().clear()


@st.cache_resource(show_spinner=False)
def get_derived_results() -> SharedResults:
    """The process-wide store of what pages derive from a result alone (figures, tables): 512 entries, an hour."""
    return SharedResults(max_entries=512, ttl_s=3600.0)


def per_result(result: object, name: str, compute: Callable[[], T]) -> T:
    """``compute()``, a value that depends only on ``result`` and ``name``, computed once per server.

    For what a page builds from an analysis result on every run (figures, tables): every session shows the same
    result object (:func:`get_shared_results` hands out one object per analysis), so the value is built once for
    all of them. ``name`` carries everything else the value depends on (the display unit, a chosen view). The
    store keeps ``result`` alive with the value, so no other object can take its ``id`` while the entry lives.
    The value is shared: callers never mutate it.
    """
    key = f"{id(result)}:{name}"
    owner, value = get_derived_results().get(key, lambda: (result, compute()))
    if owner is not result:  # cannot happen while the entry holds its owner; never hand out another's value
        return compute()
    return value  # type: ignore[no-any-return]


DemoRequest = tuple[str, str, Callable[[], tuple[object, ...]], str]
"""One page's opening demo analysis: (job of :data:`medai_core.workers.JOBS`, result key, a function giving the job's
arguments (run in the background thread, only when the result is not held), label)."""


@st.cache_resource(show_spinner=False)
def start_analysis_pool() -> bool:
    """Start the analysis workers, once per server, in the background (the frame calls this when the server's first
    session opens): first each page's opening demo analysis (:func:`prefetch_demo_analyses`), then every model
    loaded and warmed in each worker (background calls of the pool: a user's analysis goes before them)."""
    from medai_core.workers import analysis_pool, warm_pool

    loaded = tuple((s.model_id, s.card.version) for s in model_statuses() if s.available and s.card is not None)
    pool = analysis_pool()
    if pool is None:  # analyses run in this process: nothing is run ahead
        return True
    pool.warm(pool.workers)  # the processes start now, while the demos' inputs are made here

    def then_warm(demos: list[threading.Thread]) -> None:
        for thread in demos:  # the demos first: the warm-up would otherwise take the workers they wait for
            thread.join()
        warm_pool(loaded)

    demos = prefetch_demo_analyses(dict(loaded))
    threading.Thread(target=then_warm, args=(demos,), name="medai-warm-up", daemon=True).start()
    return True


def prefetch_demo_analyses(versions: dict[str, str]) -> list[threading.Thread]:
    """Compute each page's opening demo analysis (the real CT slice at its suggested seed, the simulated glucose
    patient, the demo gene panel with the page's first options) into the shared results, each in a background
    thread, for the installed model ``versions`` (model id -> version); returns the threads.

    The demos are the same for everyone, so the first visitor of a page finds its answer computed, or waits for
    this computation rather than starting a second one. The keys are made as the pages' calls make them
    (:func:`result_key` of the same arguments; a test opens each page after this and finds no analysis left to
    run). The requests are made here, in the calling script thread, which imports what they need: modules imported
    by a background thread while a page's thread imports the same ones can hand one of them a half-made module
    (seen with pydicom and pandas). Only the jobs, and the gene panel's isolated read, run in the threads. Best
    effort: a demo that fails here is computed, and its error shown, when a page asks for it.
    """
    from medai_core.workers import run_job  # bound now: a later change of the module's name does not reach here

    results = get_shared_results()
    requests = [make(versions[model_id]) for model_id, make in _DEMO_REQUESTS if model_id in versions]

    def compute(request: DemoRequest) -> None:
        job, key, job_args, label = request
        try:
            results.get(_shared_key(job, key), lambda: run_job(job, *job_args(), label=label))
        except Exception:  # best effort: the page's own call shows the failure
            return

    threads = [
        threading.Thread(target=compute, args=(request,), name=f"medai-demo-{request[0]}", daemon=True)
        for request in requests
    ]
    for thread in threads:
        thread.start()
    return threads


def _shared_key(job: str, key: str) -> str:
    """The key of job ``job``'s result ``key`` in :func:`get_shared_results`."""
    return f"{job}:{key}"


def run_analysis(
    job: str,
    key: str,
    *args: object,
    label: str = "The file",
    job_args: Callable[[], tuple[object, ...]] | None = None,
) -> Any:
    """The result of the analysis ``job`` (:data:`medai_core.workers.JOBS`) on ``args``, shared under ``key``.

    Runs in the analysis worker pool; while every worker is busy the page shows how many analyses are ahead.
    ``job_args``: the arguments to send instead of ``args``, made only when the result is not held (e.g. an upload
    already read, in place of its bytes).
    """
    from medai_core.workers import analysis_pool, run_job

    start_analysis_pool()

    def compute() -> Any:
        pool = analysis_pool()
        notice = None
        if pool is not None and pool.busy >= pool.workers:
            notice = st.empty()
            ahead = pool.waiting + 1
            notice.info(
                f"Queued: {ahead} analysis{'es' if ahead != 1 else ''} ahead of you (the server runs "
                f"{pool.workers} at a time).",
                icon=":material/hourglass_top:",
            )
        try:
            return run_job(job, *(args if job_args is None else job_args()), label=label)
        finally:
            if notice is not None:
                notice.empty()

    return get_shared_results().get(_shared_key(job, key), compute)


# --- ct begin ---
if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from medai_core.ct.analysis import NoduleAnalysis
    from medai_core.ct.prepare import Seed
    from medai_core.ct.readers import CTStudy


@st.cache_resource(show_spinner=False)
def get_ct_grad_cam(model_id: str, version: str) -> GradCam:
    """The CT ensemble's Grad-CAM (ensemble-mean logit over all members' last convolutions), built once."""
    from medai_core.ct.analysis import make_ensemble_grad_cam

    return make_ensemble_grad_cam(get_model(model_id, version))


class CTVolumeStore:
    """Decoded CT volumes shared by every session, keyed by the upload's sha256, bounded in bytes and time.

    Volumes are held as int16 HU where that is lossless (DICOM with integer rescale: the usual case, half the size
    of float32), otherwise as float32, read-only. The least recently used entries go first when the total passes
    ``max_bytes``; an entry unused for ``ttl_s`` seconds is dropped; a volume larger than ``max_bytes`` alone is
    not cached at all. Identical uploads in different sessions share one entry.

    Args:
        max_bytes: the cap on the total of the cached volumes' bytes.
        ttl_s: seconds an entry lives after its last use.
    """

    def __init__(self, max_bytes: int, ttl_s: float) -> None:
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self._entries: OrderedDict[str, tuple[float, CTStudy]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def total_bytes(self) -> int:
        """Bytes held by the cached volumes now."""
        with self._lock:
            return sum(study.hu.nbytes for _, study in self._entries.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        """Drop every cached volume."""
        with self._lock:
            self._entries.clear()

    def get(self, key: str, *, copy: bool = True) -> CTStudy | None:
        """The study, or None when not cached (or expired).

        Args:
            key: the upload's sha256.
            copy: True: with float32 HU, a fresh array the caller may change. False: the cached study itself, its
                HU read-only and possibly int16 (no copy of the volume: for display, which windows one slice).
        """
        import dataclasses

        import numpy as np

        now = time.monotonic()
        with self._lock:
            self._expire(now)
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries[key] = (now, entry[1])
            self._entries.move_to_end(key)
            compact = entry[1]
        return dataclasses.replace(compact, hu=compact.hu.astype(np.float32)) if copy else compact

    def put(self, key: str, study: CTStudy) -> None:
        """Keep ``study`` (compacted) under ``key``, evicting the least recently used entries beyond the cap."""
        import dataclasses

        import numpy as np

        hu: np.ndarray = study.hu
        if np.isfinite(hu).all() and hu.size and hu.min() >= -32768 and hu.max() <= 32767:
            as16 = hu.astype(np.int16)
            if np.array_equal(as16, hu):
                hu = as16
        hu = hu.copy() if hu is study.hu else hu
        hu.flags.writeable = False
        if hu.nbytes > self.max_bytes:
            return
        now = time.monotonic()
        with self._lock:
            self._entries[key] = (now, dataclasses.replace(study, hu=hu))
            self._entries.move_to_end(key)
            self._expire(now)
            total = sum(s.hu.nbytes for _, s in self._entries.values())
            while total > self.max_bytes and self._entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                total -= dropped.hu.nbytes

    def _expire(self, now: float) -> None:
        for key in [k for k, (used, _) in self._entries.items() if now - used > self.ttl_s]:
            del self._entries[key]


@st.cache_resource(show_spinner=False)
def get_ct_volume_store() -> CTVolumeStore:
    """The process-wide store of decoded CT volumes (sizes from :mod:`medai_core.config`)."""
    from medai_core.config import CT_CACHE_MAX_MB, CT_CACHE_TTL_S

    return CTVolumeStore(CT_CACHE_MAX_MB * 1024 * 1024, CT_CACHE_TTL_S)


def read_ct_upload(data: bytes, name: str, *, copy: bool = True) -> CTStudy:
    """The upload read in an isolated worker and de-identified (:func:`medai_core.ct.readers.read_ct`).

    Cached in :func:`get_ct_volume_store` by the sha256 of the bytes (the name only words error messages). With
    ``copy=False`` a cached study comes back as it is held (HU read-only, int16 where lossless), without the float32
    copy of the whole volume: what the page needs to show a slice on every rerun.

    Raises:
        ImageInputError: the upload cannot be used, or could not be read safely (crash, time or memory limit).
    """
    from medai_core.ct.readers import read_ct
    from medai_core.isolation import read_isolated

    key = hashlib.sha256(data).hexdigest()
    store = get_ct_volume_store()
    study = store.get(key, copy=copy)
    if study is None:
        study = read_isolated(read_ct, data, name=name, label=name)
        store.put(key, study)
    return study


def analyse_ct(
    model_id: str,
    version: str,
    data: bytes,
    name: str,
    seed: tuple[int, int, int] | None,
    threshold_hu: float,
    pixel_mm: float | None = None,
) -> NoduleAnalysis:
    """Analyse one nodule (keyed by the upload's bytes, the seed (row, col, slice), the threshold and the pixel size
    typed for an image that carries none), in the analysis pool.

    The worker is sent the study the page has already read (:func:`read_ct_upload`: the same ``read_ct`` of the
    same bytes, in the isolated reader), not the bytes to read a second time.
    """
    args = (model_id, version, data, name, seed, float(threshold_hu), pixel_mm)

    def with_study() -> tuple[object, ...]:
        return (model_id, version, read_ct_upload(data, name), name, seed, float(threshold_hu), pixel_mm)

    result: NoduleAnalysis = run_analysis("ct", result_key(*args), *args, label=name or "The file", job_args=with_study)
    return result


def _ct_demo_request(version: str) -> DemoRequest:
    """The CT page's opening demo: pydicom's real CT slice at its suggested seed, the default threshold."""
    from medai_core.ct.demo import demo_bytes, demo_seed
    from medai_core.ct.prepare import DEFAULT_THRESHOLD_HU

    data, name = demo_bytes("ct_small")
    seed = demo_seed("ct_small")
    args = (CT.model_id, version, data, name, (seed.row, seed.col, seed.slice_index), float(DEFAULT_THRESHOLD_HU), None)
    return "ct", result_key(*args), lambda: args, name  # the arguments of analyse_ct's key


@st.cache_data(max_entries=8, show_spinner=False)
def ct_demo_bytes(case: str) -> tuple[bytes, str]:
    """Demo inputs as upload bytes: ``"ct_small"`` (pydicom's real CT slice) or ``"phantom:<kind>:<mm>"``."""
    from medai_core.ct.demo import demo_bytes

    return demo_bytes(case)


@st.cache_data(max_entries=64, show_spinner=False)
def ct_demo_seed(case: str) -> Seed:
    """The suggested seed of a demo case (:func:`medai_core.ct.demo.demo_seed`: a phantom is generated to find it),
    once per server."""
    from medai_core.ct.demo import demo_seed

    return demo_seed(case)


@st.cache_resource(show_spinner=False)
def get_ct_views() -> SharedResults:
    """The process-wide store of CT slice-view figures (64, ten minutes): sessions showing the same slice of the
    same input, window, seed and outline share one figure, and a page rerun that changes none of them (a threshold,
    a Grad-CAM option, a second visitor) builds none."""
    return SharedResults(max_entries=64, ttl_s=600.0)


def ct_slice_view(
    input_sha256: str, view: tuple[object, ...], outline: NDArray[np.bool_] | None, build: Callable[[], T]
) -> T:
    """``build()``, the slice view of the input with sha256 ``input_sha256``, kept in :func:`get_ct_views`.

    ``view`` holds everything else the figure shows (slice, window, seed, title...); the outline is keyed by its
    content (shape and a digest of its bits), so a figure is never shared between different segmentations.
    """
    import numpy as np

    outline_key = (
        None if outline is None else (outline.shape, hashlib.sha256(np.packbits(outline).tobytes()).hexdigest())
    )
    return get_ct_views().get(result_key(input_sha256, view, outline_key), build)


# --- ct end ---

# --- glucose begin ---
if TYPE_CHECKING:
    from medai_core.glucose.analysis import GlucoseAnalysis


def analyse_glucose(
    model_id: str, version: str, data: bytes, patient: str | None, timezone: str | None = None
) -> GlucoseAnalysis:
    """AGP, forecast, attributions and backtest of an uploaded CGM file (keyed by bytes + patient + time zone +
    model); ``timezone`` (IANA name) applies to timestamps that carry a UTC offset. Read and analysed in the
    analysis pool."""
    args = (model_id, version, data, patient, timezone)
    result: GlucoseAnalysis = run_analysis("glucose", result_key(*args), *args, label="The uploaded file")
    return result


def analyse_glucose_demo(model_id: str, version: str, days: int, seed: int) -> tuple[GlucoseAnalysis, bytes]:
    """The analysis of the simulated demo patient and the demo series as CSV bytes (for provenance and download);
    computed once per server for every session."""
    args = (model_id, version, days, seed)
    result: tuple[GlucoseAnalysis, bytes] = run_analysis("glucose_demo", result_key(*args), *args)
    return result


def _glucose_demo_request(version: str) -> DemoRequest:
    """The glucose page's opening demo: the simulated patient (:data:`~medai_core.glucose.simulate.DEMO_DAYS` days,
    seed :data:`~medai_core.glucose.simulate.DEMO_SEED`)."""
    from medai_core.glucose.simulate import DEMO_DAYS, DEMO_SEED

    args = (GLUCOSE.model_id, version, DEMO_DAYS, DEMO_SEED)
    return "glucose_demo", result_key(*args), lambda: args, "The demo"


# --- glucose end ---

# --- genomics begin ---
if TYPE_CHECKING:
    from medai_core.genomics.analysis import GeneResult
    from medai_core.genomics.evidence import EvidenceBase
    from medai_core.genomics.readers import PanelFile


def get_gene_evidence() -> EvidenceBase:
    """The CIViC + FDA evidence base: the newest installed release, re-read only when that file changes (the
    core caches each release by path and modification time, so an ``evidence import`` is picked up at once)."""
    from medai_core.genomics.evidence import load_evidence

    return load_evidence()


@st.cache_data(show_spinner=False, max_entries=16)
def read_gene_panel(data: bytes, filename: str) -> PanelFile:
    """An uploaded panel parsed once, in an isolated worker (a file that crashes, hangs or exhausts memory in the
    parser is a PanelInputError, never a dead server); shared by the sample picker and the analysis."""
    from medai_core.genomics.readers import read_panel
    from medai_core.isolation import read_isolated

    return read_isolated(read_panel, data, name=filename, label=filename or "The file")


def list_panel_samples(data: bytes, filename: str) -> tuple[str, ...]:
    """Tumour sample ids of an uploaded panel (for the sample picker); raises PanelInputError on a bad file.

    The page calls this first for every upload; the parse (:func:`read_gene_panel`, isolated and cached) is the one
    :func:`analyse_gene_panel` reuses.
    """
    return read_gene_panel(data, filename).samples


def analyse_gene_panel(
    model_id: str,
    version: str,
    data: bytes,
    filename: str,
    tumour_type: str,
    panel: str,
    sample: str | None,
    drug_class: str,
    age_group: str | None,
    sex: str | None,
) -> GeneResult:
    """The frozen :class:`~medai_core.genomics.analysis.GeneResult` of one panel, keyed by bytes and options
    (and the installed evidence release), analysed in the analysis pool on the panel read once here."""
    options: dict[str, str | None] = {
        "tumour_type": tumour_type,
        "panel": panel,
        "sample": sample,
        "drug_class": drug_class,
        "age_group": age_group,
        "sex": sex,
    }
    result: GeneResult = run_analysis(
        "genes",
        _gene_key(model_id, version, data, filename, options),
        model_id,
        version,
        data,
        filename,
        read_gene_panel(data, filename),
        options,
        label=filename or "The file",
    )
    return result


def _gene_key(model_id: str, version: str, data: bytes, filename: str, options: dict[str, str | None]) -> str:
    """The ``genes`` job's result key: bytes, options and the installed evidence release."""
    evidence = get_gene_evidence()
    return result_key(model_id, version, data, filename, sorted(options.items()), evidence.description)


def _gene_demo_request(version: str) -> DemoRequest:
    """The gene page's opening demo: the synthetic panel as :data:`~medai_core.genomics.demo.DEMO_TUMOUR` on
    :data:`~medai_core.genomics.demo.DEMO_PANEL`, the first drug class, no age or sex (the panel is read, isolated,
    when the job's arguments are made)."""
    from medai_core.genomics.demo import DEMO_FILENAME, DEMO_PANEL, DEMO_TUMOUR, demo_maf
    from medai_core.genomics.prepare import DRUG_CLASSES
    from medai_core.genomics.readers import read_panel
    from medai_core.isolation import read_isolated

    data = demo_maf()
    options: dict[str, str | None] = {
        "tumour_type": DEMO_TUMOUR,
        "panel": DEMO_PANEL,
        "sample": None,
        "drug_class": next(iter(DRUG_CLASSES)),
        "age_group": None,
        "sex": None,
    }

    def job_args() -> tuple[object, ...]:
        panel_file = read_isolated(read_panel, data, name=DEMO_FILENAME, label=DEMO_FILENAME)
        return (GENES.model_id, version, data, DEMO_FILENAME, panel_file, options)

    return "genes", _gene_key(GENES.model_id, version, data, DEMO_FILENAME, options), job_args, DEMO_FILENAME


# --- genomics end ---

_DEMO_REQUESTS: tuple[tuple[str, Callable[[str], DemoRequest]], ...] = (
    (CT.model_id, _ct_demo_request),
    (GLUCOSE.model_id, _glucose_demo_request),
    (GENES.model_id, _gene_demo_request),
)
"""(model id, the request maker) of each page's opening demo analysis, run ahead by :func:`prefetch_demo_analyses`."""
