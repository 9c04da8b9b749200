"""Streamlit caches: models (``st.cache_resource``, keyed by id + version) and analyses (``st.cache_data``).

Every caching decorator of the app lives here. Models are cached as resources and never mutated; analyses return
frozen, picklable result dataclasses keyed by the upload's bytes and the options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from medai_core.models import LoadedModel, ModelCard, load_model, read_card
from medai_core.models.registry import model_dir

if TYPE_CHECKING:
    from medai_core.explain import GradCam

__all__ = [
    "analyse_ct",
    "analyse_gene_panel",
    "analyse_glucose",
    "analyse_glucose_demo",
    "ct_demo_bytes",
    "get_card",
    "get_ct_grad_cam",
    "get_gene_evidence",
    "get_model",
    "list_panel_samples",
    "read_ct_upload",
]


@st.cache_resource(show_spinner="Loading model…")
def get_model(model_id: str, version: str) -> LoadedModel:
    """The verified, warmed model ``model_id``; ``version`` is part of the cache key so new weights reload."""
    return load_model(model_id)


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


@st.cache_data(max_entries=16, show_spinner=False)
def read_ct_upload(data: bytes, name: str) -> CTStudy:
    """The upload read and de-identified (:func:`medai_core.ct.io.read_ct`), keyed by its bytes."""
    from medai_core.ct.io import read_ct

    return read_ct(data, name)


@st.cache_data(max_entries=32, show_spinner=False)
def analyse_ct(
    model_id: str, version: str, data: bytes, name: str, seed: tuple[int, int, int] | None, threshold_hu: float
) -> NoduleAnalysis:
    """Analyse one nodule (keyed by the upload's bytes, the seed (row, col, slice) and the threshold)."""
    from medai_core.ct.analysis import analyse_nodule
    from medai_core.ct.prepare import Seed

    study = read_ct_upload(data, name)
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
def analyse_glucose(model_id: str, version: str, data: bytes, patient: str | None) -> GlucoseAnalysis:
    """AGP, forecast, attributions and backtest of an uploaded CGM file (keyed by bytes + patient + model)."""
    from medai_core.glucose.analysis import analyse
    from medai_core.glucose.io import read_cgm

    return analyse(read_cgm(data, name="The uploaded file", patient=patient), get_model(model_id, version))


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


@st.cache_resource(show_spinner="Loading knowledge-base evidence…")
def get_gene_evidence(evidence_dir: str) -> EvidenceBase:
    """The CIViC + FDA evidence base (a resource: read once per configured evidence folder, the cache key)."""
    from medai_core.genomics.evidence import load_evidence

    return load_evidence()


@st.cache_data(show_spinner=False, max_entries=32)
def list_panel_samples(data: bytes, filename: str) -> tuple[str, ...]:
    """Tumour sample ids of an uploaded panel (for the sample picker); raises PanelInputError on a bad file."""
    from medai_core.genomics.io import read_panel

    return read_panel(data, filename).samples


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
    from medai_core.config import get_settings
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
        evidence_base=get_gene_evidence(str(get_settings().evidence_dir)),
    )


# --- genomics end ---
