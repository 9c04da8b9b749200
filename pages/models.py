"""Models: every model card in full (intended use, data, metrics with baselines, calibration, limits, sha256)."""

from __future__ import annotations

import streamlit as st

from medai_core.models import model_statuses
from medai_core.ui.components import model_card_body

st.title("Model cards")
st.markdown(
    "Each shipped model, with what it is for, what it was trained on, how it did on **held-out** data beside "
    "simple baselines, how well calibrated it is, and where it fails. Weights are verified against the sha256 here "
    "before every load."
)
statuses = model_statuses()
if not statuses:
    st.info("No models are installed in the models folder (MEDAI_MODELS_DIR).")
for status in statuses:
    st.divider()
    if status.card is None:
        st.subheader(status.model_id)
        st.error(f"This model cannot be used: {status.problem}")
        continue
    st.subheader(status.card.name)
    if not status.available:
        st.error(f"This model cannot be used: {status.problem}")
    model_card_body(status.card)
