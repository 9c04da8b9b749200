"""Models: one card per model (intended use, held-out headline beside its baseline, data, limits, version and date),
with metrics, calibration and the full card JSON one click away."""

from __future__ import annotations

import streamlit as st

from medai_core.ui.cache import get_model_statuses
from medai_core.ui.components import model_card_body

st.title("Model cards")
st.markdown(
    "Each shipped model, with what it is for, how it did on **held-out** data beside a simple baseline, what it "
    "was trained on and where it fails. Weights are verified against the card's sha256 before every load."
)
statuses = get_model_statuses()
if not statuses:
    st.info("No models are installed in the models folder (MEDAI_MODELS_DIR).")
for status in statuses:
    with st.container(border=True):
        if status.card is None:
            st.header(status.model_id.replace("_", " "))
            st.error(f"This model cannot be used: {status.problem}")
            continue
        st.header(status.card.name)
        model_card_body(status.card, available=status.available, problem=status.problem or "")
