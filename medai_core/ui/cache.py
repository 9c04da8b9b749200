"""Streamlit caches: models (``st.cache_resource``, keyed by id + version) and analyses (``st.cache_data``).

Every caching decorator of the app lives here. Models are cached as resources and never mutated; analyses return
frozen, picklable result dataclasses keyed by the upload's bytes and the options.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

import streamlit as st

from medai_core.models import LoadedModel, ModelCard, read_card
from medai_core.models.registry import model_dir

if TYPE_CHECKING:
    from medai_core.explain import GradCam

__all__ = [
    "analyse_ct",
    "analyse_gene_panel",
    "analyse_glucose",
    "analyse_glucose_demo",
    "CTVolumeStore",
    "ct_demo_bytes",
    "get_ct_volume_store",
    "get_card",
    "get_ct_grad_cam",
    "get_gene_evidence",
    "get_model",
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


@st.cache_data(ttl=60, show_spinner=False)
def get_card(model_id: str) -> ModelCard:
    """The validated card of ``model_id`` (re-read at most once a minute)."""
    return read_card(model_dir(model_id))


# --- ct begin ---
if TYPE_CHECKING:
    from medai_core.ct.analysis import NoduleAnalysis
    from medai_core.ct.io import CTStudy


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

    def get(self, key: str) -> CTStudy | None:
        """The study with float32 HU (a fresh array the caller may change), or None when not cached (or expired)."""
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
        return dataclasses.replace(compact, hu=compact.hu.astype(np.float32))

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


def read_ct_upload(data: bytes, name: str) -> CTStudy:
    """The upload read in an isolated worker and de-identified (:func:`medai_core.ct.io.read_ct`).

    Cached in :func:`get_ct_volume_store` by the sha256 of the bytes (the name only words error messages).

    Raises:
        ImageInputError: the upload cannot be used, or could not be read safely (crash, time or memory limit).
    """
    from medai_core.ct.io import read_ct
    from medai_core.isolation import read_isolated

    key = hashlib.sha256(data).hexdigest()
    store = get_ct_volume_store()
    study = store.get(key)
    if study is None:
        study = read_isolated(read_ct, data, name, label=name)
        store.put(key, study)
    return study


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
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
    typed for an image that carries none)."""
    from medai_core.ct.analysis import analyse_nodule
    from medai_core.ct.io import with_pixel_size
    from medai_core.ct.prepare import Seed

    study = with_pixel_size(read_ct_upload(data, name), pixel_mm)
    point = None if seed is None else Seed(*seed)
    model = get_model(model_id, version)
    return analyse_nodule(model, get_ct_grad_cam(model_id, version), study, point, threshold_hu=threshold_hu)


@st.cache_data(max_entries=8, show_spinner=False)
def ct_demo_bytes(case: str) -> tuple[bytes, str]:
    """Demo inputs as upload bytes: ``"ct_small"`` (pydicom's real CT slice) or ``"phantom:<kind>:<mm>"``."""
    from medai_core.ct.demo import demo_bytes

    return demo_bytes(case)


# --- ct end ---

# --- glucose begin ---
if TYPE_CHECKING:
    from medai_core.glucose.analysis import GlucoseAnalysis


@st.cache_data(show_spinner=False, max_entries=16)
def analyse_glucose(
    model_id: str, version: str, data: bytes, patient: str | None, timezone: str | None = None
) -> GlucoseAnalysis:
    """AGP, forecast, attributions and backtest of an uploaded CGM file (keyed by bytes + patient + time zone +
    model); ``timezone`` (IANA name) applies to timestamps that carry a UTC offset."""
    from medai_core.glucose.analysis import analyse
    from medai_core.glucose.io import read_cgm
    from medai_core.isolation import read_isolated

    record = read_isolated(
        read_cgm, data, name="The uploaded file", patient=patient, timezone=timezone, label="The uploaded file"
    )
    return analyse(record, get_model(model_id, version))


@st.cache_data(show_spinner=False, max_entries=4)
def analyse_glucose_demo(model_id: str, version: str, days: int, seed: int) -> tuple[GlucoseAnalysis, bytes]:
    """The analysis of the simulated demo patient and the demo series as CSV bytes (for provenance and download)."""
    from medai_core.glucose.analysis import analyse
    from medai_core.glucose.simulate import simulated_csv, simulated_patient

    record = simulated_patient(days=days, seed=seed)
    return analyse(record, get_model(model_id, version)), simulated_csv(record)


# --- glucose end ---

# --- genomics begin ---
if TYPE_CHECKING:
    from medai_core.genomics.analysis import GeneResult
    from medai_core.genomics.evidence import EvidenceBase
    from medai_core.genomics.io import PanelFile


def get_gene_evidence() -> EvidenceBase:
    """The CIViC + FDA evidence base: the newest installed release, re-read only when that file changes (the
    core caches each release by path and modification time, so an ``evidence import`` is picked up at once)."""
    from medai_core.genomics.evidence import load_evidence

    return load_evidence()


@st.cache_data(show_spinner=False, max_entries=16)
def read_gene_panel(data: bytes, filename: str) -> PanelFile:
    """An uploaded panel parsed once, in an isolated worker (a file that crashes, hangs or exhausts memory in the
    parser is a PanelInputError, never a dead server); shared by the sample picker and the analysis."""
    from medai_core.genomics.io import read_panel
    from medai_core.isolation import read_isolated

    return read_isolated(read_panel, data, filename, label=filename or "The file")


def list_panel_samples(data: bytes, filename: str) -> tuple[str, ...]:
    """Tumour sample ids of an uploaded panel (for the sample picker); raises PanelInputError on a bad file.

    The page calls this first for every upload; the parse (:func:`read_gene_panel`, isolated and cached) is the one
    :func:`analyse_gene_panel` reuses.
    """
    return read_gene_panel(data, filename).samples


@st.cache_data(show_spinner=False, max_entries=32)
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
    """The frozen :class:`~medai_core.genomics.analysis.GeneResult` of one panel, keyed by bytes and options."""
    from medai_core.genomics.analysis import analyse_bytes

    return analyse_bytes(
        data,
        filename,
        model=get_model(model_id, version),
        tumour_type=tumour_type,
        panel=panel,
        sample=sample,
        drug_class=drug_class,
        age_group=age_group,
        sex=sex,
        evidence_base=get_gene_evidence(),
        panel_file=read_gene_panel(data, filename),
    )


# --- genomics end ---
