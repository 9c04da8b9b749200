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

__all__ = ["get_card", "get_grad_cam", "get_model"]


@st.cache_resource(show_spinner="Loading model…")
def get_model(model_id: str, version: str) -> LoadedModel:
    """The verified, warmed model ``model_id``; ``version`` is part of the cache key so new weights reload."""
    loaded = load_model(model_id)
    if loaded.card.version != version:
        st.cache_resource.clear()
        loaded = load_model(model_id)
    return loaded


@st.cache_data(ttl=60, show_spinner=False)
def get_card(model_id: str) -> ModelCard:
    """The validated card of ``model_id`` (re-read at most once a minute)."""
    return read_card(model_dir(model_id))


@st.cache_resource(show_spinner=False)
def get_grad_cam(model_id: str, version: str) -> GradCam:
    """The Grad-CAM explainer of ``model_id`` (a separate gradient sub-model, built once)."""
    from medai_core.explain import make_grad_cam

    return make_grad_cam(get_model(model_id, version).keras_model)


# --- ct begin ---
# --- ct end ---

# --- glucose begin ---
# --- glucose end ---

# --- genomics begin ---
# --- genomics end ---
